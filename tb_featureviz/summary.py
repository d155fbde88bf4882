"""The only module that writes summaries: grids, records, structure, scalars.

Everything goes through this package's own ``tf.summary`` file writer,
never the default one: Keras' ``TensorBoard`` callback installs its own
writer as the default around every batch, and a bare ``tf.summary`` call
would land in its run. The writer is created lazily, so constructing a
logger touches no file, and ``tf.io.gfile`` paths (``gs://``, ``s3://``)
work as they do for ``tf.summary``.

The on-disk layout is documented in ``docs/format.md``.
"""

import io
import json
import math

import numpy as np

from tb_featureviz import metadata


def encode_png(image, compress_level=1):
    """PNG bytes of a uint8 image ``[H, W]`` or ``[H, W, C]`` (C in 1..4).

    Level 1 compresses grids of smooth tiles nearly as well as level 6, at a
    fraction of the time; Pillow releases the GIL while it encodes, so
    several grids encode in parallel.

    Example:
        >>> import numpy as np
        >>> encode_png(np.zeros((2, 3), np.uint8))[:8]
        b'\\x89PNG\\r\\n\\x1a\\n'
    """
    from PIL import Image

    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def json_floats(values, digits=7):
    """Finite floats rounded to ``digits`` significant digits; others None.

    JSON has no NaN or infinity (``JSON.parse`` rejects them), so they are
    written as ``null``.

    Example:
        >>> json_floats(np.array([1/3, np.nan, np.inf]), 3)
        [0.333, None, None]
    """
    spec = f".{digits}g"
    return [
        float(format(v, spec)) if math.isfinite(v) else None
        for v in np.asarray(values, dtype=np.float64).ravel().tolist()
    ]


def dumps(document):
    """Compact JSON text of a record, structure or events document."""
    return json.dumps(document, separators=(",", ":"), allow_nan=False)


class SummaryWriter:
    """Writes featureviz summaries into one run directory.

    Example:
        >>> writer = SummaryWriter("/tmp/logs/featureviz")   # doctest: +SKIP
        >>> writer.write_scalar("featureviz/x/drift", 0.5, step=3)  # doctest: +SKIP
        >>> writer.close()  # doctest: +SKIP

    Args:
        logdir: directory of the run; created on the first write.
    """

    def __init__(self, logdir):
        self.logdir = logdir
        self._writer = None
        self.bytes_written = 0

    def _file_writer(self):
        if self._writer is None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(self.logdir)
        return self._writer

    def _write(self, tag, tensor, summary_metadata, step):
        import tensorflow as tf

        with self._file_writer().as_default(step=step):
            tf.summary.write(tag, tensor=tensor, metadata=summary_metadata, step=step)

    def write_grid(self, layer, kind, step, pngs, width, height, record):
        """Write one grid: its PNGs (one per sample) and its JSON record.

        Args:
            layer, kind: what the grid shows; they make the tags.
            step: global step (int).
            pngs: list of PNG ``bytes``, one per probe image.
            width, height: largest image size, as the images plugin stores it.
            record: JSON-serialisable dict describing the pixels.
        """
        import tensorflow as tf

        image_tag = metadata.image_tag(layer, kind)
        image_tensor = tf.constant([str(width).encode(), str(height).encode()] + list(pngs))
        text = dumps(record).encode("utf-8")
        self._write(
            image_tag,
            image_tensor,
            metadata.create_image_metadata(layer, kind, f"featureviz {kind} of layer {layer}"),
            step,
        )
        self._write(
            metadata.record_tag(layer, kind),
            tf.constant(text),
            metadata.create_record_metadata(layer, kind, image_tag),
            step,
        )
        self.bytes_written += sum(len(p) for p in pngs) + len(text)

    def write_json(self, tag, summary_metadata, document, step):
        """Write a JSON document as a scalar string tensor."""
        import tensorflow as tf

        text = dumps(document).encode("utf-8")
        self._write(tag, tf.constant(text), summary_metadata, step)
        self.bytes_written += len(text)

    def write_structure(self, structure, step):
        """Write the model-structure document (once per run)."""
        self.write_json(metadata.STRUCTURE_TAG, metadata.create_structure_metadata(), structure, step)

    def write_scalar(self, tag, value, step):
        """Write a standard scalar summary, shown by the Scalars dashboard."""
        import tensorflow as tf

        with self._file_writer().as_default(step=step):
            tf.summary.scalar(tag, float(value), step=step)
        self.bytes_written += 8

    def flush(self):
        if self._writer is not None:
            self._writer.flush()

    def close(self):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
