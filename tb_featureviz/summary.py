"""The only module that writes summaries: grids, records, structure, scalars.

Everything goes through this package's own event file, never TensorFlow's
default summary writer: Keras' ``TensorBoard`` callback installs its own
writer as the default around every batch, and a bare ``tf.summary`` call
would land in its run. Events are built as protobufs directly and appended
with ``tf.io.TFRecordWriter`` (an event file is a TFRecord file): that
costs microseconds per summary instead of an eager op per ``tf.summary``
call, checksums run in C++ (TensorBoard's pure-Python writer spends
seconds on them for a full Xception step), and paths go through
``tf.io.gfile`` (``gs://``, ``s3://``). The file is created lazily, on the
first write.

The on-disk layout is documented in ``docs/format.md``.
"""

import json
import math
import os
import socket
import threading
import time

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

from tb_featureviz import metadata, png


def encode_png(image, compress_level=1):
    """PNG bytes of a uint8 grid image (see :mod:`tb_featureviz.png`).

    Example:
        >>> import numpy as np
        >>> encode_png(np.zeros((2, 3), np.uint8))[:8]
        b'\\x89PNG\\r\\n\\x1a\\n'
    """
    return png.encode(image, compress_level)


def json_floats(values, digits=7):
    """Floats rounded to ``digits`` significant digits; NaN and infinities as None.

    JSON has no NaN or infinity (``JSON.parse`` rejects them), so they are
    written as ``null``. Rounding is vectorised: ``round(v * 10**k) / 10**k``
    is the double nearest to the short decimal, so ``json`` prints it short.

    Example:
        >>> json_floats(np.array([1/3, -2500.25, 0.0, np.nan, np.inf]), 3)
        [0.333, -2500.0, 0.0, None, None]
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    out = v.copy()
    finite = np.isfinite(v)
    nonzero = finite & (v != 0)
    if nonzero.any():
        x = v[nonzero]
        k = digits - 1 - np.floor(np.log10(np.abs(x))).astype(np.int64)
        rounded = np.empty_like(x)
        up = k >= 0
        scale = np.power(10.0, np.abs(k))
        rounded[up] = np.round(x[up] * scale[up]) / scale[up]
        rounded[~up] = np.round(x[~up] / scale[~up]) * scale[~up]
        # Powers of ten past 1e22 are not exact doubles: format those few.
        extreme = np.abs(k) > 22
        if extreme.any():
            rounded[extreme] = [float(format(val, f".{digits}g")) for val in x[extreme]]
        out[nonzero] = rounded
    listed = out.tolist()
    if not finite.all():
        listed = [val if math.isfinite(val) else None for val in listed]
    return listed


def dumps(document):
    """Compact JSON text of a record, structure or events document."""
    return json.dumps(document, separators=(",", ":"), allow_nan=False)


_COUNTER_LOCK = threading.Lock()
_FILE_COUNTER = 0


def _string_tensor(values):
    return tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(values))]
        ),
        string_val=list(values),
    )


def _scalar_string_tensor(value):
    return tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING, tensor_shape=tensor_shape_pb2.TensorShapeProto(), string_val=[value]
    )


def _scalar_metadata():
    from tensorboard.plugins.scalar import metadata as scalar_metadata

    meta = scalar_metadata.create_summary_metadata(display_name="", description="")
    meta.data_class = summary_pb2.DATA_CLASS_SCALAR
    return meta


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
        self.path = None
        self._tags_seen = set()
        self._lock = threading.Lock()
        self.bytes_written = 0

    def _event_writer(self):
        if self._writer is None:
            import tensorflow as tf

            tf.io.gfile.makedirs(self.logdir)
            with _COUNTER_LOCK:
                global _FILE_COUNTER
                _FILE_COUNTER += 1
                counter = _FILE_COUNTER
            # The name TensorFlow's writers use: unique per host, process and
            # writer. The counter is zero-padded because TensorBoard's Python
            # loader reads files in name order and skips one that sorts before
            # a file it has already read (".9.v2" would follow ".10.v2").
            name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{counter:06d}.v2"
            self.path = os.path.join(self.logdir, name)
            self._writer = tf.io.TFRecordWriter(self.path)
            self._writer.write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
        return self._writer

    def _write(self, tag, tensor, summary_metadata, step):
        """Append one summary; ``summary_metadata`` may be a function making it."""
        with self._lock:
            writer = self._event_writer()
            value = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
            # Readers keep the metadata of a tag's first event only, so later
            # events neither carry nor build it.
            if tag not in self._tags_seen:
                value.metadata.CopyFrom(summary_metadata() if callable(summary_metadata) else summary_metadata)
                self._tags_seen.add(tag)
            event = event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary_pb2.Summary(value=[value]))
            writer.write(event.SerializeToString())

    def write_grid(self, layer, kind, step, pngs, width, height, record):
        """Write one grid: its PNGs (one per sample) and its JSON record.

        Args:
            layer, kind: what the grid shows; they make the tags.
            step: global step (int).
            pngs: list of PNG ``bytes``, one per probe image.
            width, height: largest image size, as the images plugin stores it.
            record: the record describing the pixels: a JSON-serialisable
                dict, or its JSON text already encoded.
        """
        image_tag = metadata.image_tag(layer, kind)
        text = (record if isinstance(record, str) else dumps(record)).encode("utf-8")
        self._write(
            image_tag,
            _string_tensor([str(width).encode(), str(height).encode()] + list(pngs)),
            lambda: metadata.create_image_metadata(layer, kind, f"featureviz {kind} of layer {layer}"),
            step,
        )
        self._write(
            metadata.record_tag(layer, kind),
            _scalar_string_tensor(text),
            lambda: metadata.create_record_metadata(layer, kind, image_tag),
            step,
        )
        self.bytes_written += sum(len(p) for p in pngs) + len(text)

    def write_json(self, tag, summary_metadata, document, step):
        """Write a JSON document as a scalar string tensor."""
        text = dumps(document).encode("utf-8")
        self._write(tag, _scalar_string_tensor(text), summary_metadata, step)
        self.bytes_written += len(text)

    def write_structure(self, structure, step):
        """Write the model-structure document (once per run)."""
        self.write_json(metadata.STRUCTURE_TAG, metadata.create_structure_metadata(), structure, step)

    def write_scalar(self, tag, value, step):
        """Write a standard scalar summary, shown by the Scalars dashboard."""
        tensor = tensor_pb2.TensorProto(
            dtype=types_pb2.DT_FLOAT, tensor_shape=tensor_shape_pb2.TensorShapeProto(), float_val=[float(value)]
        )
        self._write(tag, tensor, _scalar_metadata, step)
        self.bytes_written += 4

    def flush(self):
        """Hand every event to the file system."""
        with self._lock:
            if self._writer is not None:
                self._writer.flush()

    def close(self):
        """Flush and close the event file; a later write opens a new one."""
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
                self._tags_seen.clear()
