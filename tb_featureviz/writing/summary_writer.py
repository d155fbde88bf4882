"""SummaryWriter: the only writer of featureviz summaries (grids, records, structure, scalars).

Everything goes through this package's own event file, never TensorFlow's
default summary writer: Keras' ``TensorBoard`` callback installs its own
writer as the default around every batch, and a bare ``tf.summary`` call
would land in its run. Events are built as protobufs directly and appended
by :class:`tb_featureviz.writing.eventfile.EventFileWriter`, which needs no
TensorFlow: that costs microseconds per summary instead of an eager op per
``tf.summary`` call. The file is created lazily, on the first write.

The on-disk layout is documented in ``docs/format.md``.
"""

import contextlib
import threading
import time

import numpy as np

from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

from tb_featureviz.writing import eventfile, logdirs
from tb_featureviz import jsontext, metadata, names


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
        self._file = eventfile.EventFileWriter(logdir)
        self._tags_seen = set()  # tags whose metadata the current file holds
        self._lock = threading.Lock()
        self.bytes_written = 0

    @property
    def path(self):
        """The current (or last) event file; None before the first write."""
        return self._file.path

    def reopen_if_missing(self):
        """Start a new event file if the open one was deleted (e.g. its run folder removed).

        Writing on into a deleted file would lose every later step without a
        word. The new file carries every tag's metadata again.

        Returns:
            the path of the deleted file, or None when nothing was missing.
        """
        with self._lock:
            missing = self._file.path if self._file.is_open and not logdirs.exists(self._file.path) else None
            if missing is not None:
                self._file.close()
                self._tags_seen.clear()
        return missing

    def _write(self, tag, tensor, summary_metadata, step):
        """Append one summary; ``summary_metadata`` may be a function making it."""
        with self._lock:
            value = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
            # Readers keep the metadata of a tag's first event only, so later
            # events neither carry nor build it.
            if tag not in self._tags_seen:
                value.metadata.CopyFrom(summary_metadata() if callable(summary_metadata) else summary_metadata)
            event = event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary_pb2.Summary(value=[value]))
            with self._forgetting_tags_on_failure():
                self._file.write(event.SerializeToString())
            self._tags_seen.add(tag)

    @contextlib.contextmanager
    def _forgetting_tags_on_failure(self):
        # A failed write drops the events not yet flushed, first events of a
        # tag (its metadata) included, or gives the file up: every tag sends
        # its metadata again. Readers keep the first, so a repeat costs bytes only.
        try:
            yield
        except BaseException:
            self._tags_seen.clear()
            raise

    def write_grid(self, layer, kind, step, pngs, width, height, record):
        """Write one grid: its PNGs (one per sample) and its JSON record.

        Args:
            layer, kind: what the grid shows; they make the tags.
            step: global step (int).
            pngs: list of PNG ``bytes``, one per probe image.
            width, height: largest image size, as the images plugin stores it
                (the tensor's layout is :func:`metadata.image_blob`'s).
            record: the record describing the pixels: a JSON-serialisable
                dict, or its JSON text already encoded.
        """
        image_tag = names.image_tag(layer, kind)
        text = (record if isinstance(record, str) else jsontext.dumps(record)).encode("utf-8")
        blob = metadata.image_blob(width, height, pngs)
        self._write(
            image_tag,
            _string_tensor(blob),
            lambda: metadata.create_image_metadata(layer, kind, f"featureviz {kind} of layer {layer}"),
            step,
        )
        self._write(
            names.record_tag(layer, kind),
            _scalar_string_tensor(text),
            lambda: metadata.create_record_metadata(layer, kind, image_tag),
            step,
        )
        self.bytes_written += sum(len(p) for p in metadata.image_blob_pngs(blob)) + len(text)

    def write_json(self, tag, summary_metadata, document, step):
        """Write a JSON document as a scalar string tensor."""
        text = jsontext.dumps(document).encode("utf-8")
        self._write(tag, _scalar_string_tensor(text), summary_metadata, step)
        self.bytes_written += len(text)

    def write_structure(self, structure, step):
        """Write the model-structure document (once per run)."""
        self.write_json(names.STRUCTURE_TAG, metadata.create_structure_metadata(), structure, step)

    def write_scalar(self, tag, value, step):
        """Write a standard scalar summary, shown by the Scalars dashboard."""
        tensor = tensor_pb2.TensorProto(
            dtype=types_pb2.DT_FLOAT, tensor_shape=tensor_shape_pb2.TensorShapeProto(), float_val=[float(value)]
        )
        self._write(tag, tensor, _scalar_metadata, step)
        self.bytes_written += 4

    def write_histogram(self, layer, buckets, step):
        """Write the histogram of a layer's activations: ``buckets`` ``[k, 3]`` (left, right, count), float64."""
        from tensorboard.util import tensor_util

        buckets = np.asarray(buckets, np.float64).reshape(-1, 3)
        self._write(names.histogram_tag(layer), tensor_util.make_tensor_proto(buckets),
                    lambda: metadata.create_histogram_metadata(layer, f"featureviz: activations of {layer}"), step)
        self.bytes_written += buckets.nbytes

    def flush(self):
        """Hand every event to the file system.

        Raises:
            OSError: the events since the last flush couldn't be written
                (e.g. a full disk); they are dropped, the file keeps whole
                records only (see :class:`tb_featureviz.writing.eventfile.EventFileWriter`).
        """
        with self._lock, self._forgetting_tags_on_failure():
            self._file.flush()

    def discard(self):
        """Drop the events written since the last flush: a step that failed half-way.

        Every tag sends its metadata again with its next event.
        """
        with self._lock:
            self._file.discard()
            self._tags_seen.clear()

    def close(self):
        """Flush and close the event file; a later write opens a new one.

        Raises:
            OSError: the last events couldn't be written or the file system
                failed to close the file; it is closed anyway.
        """
        with self._lock:
            try:
                self._file.close()
            finally:
                self._tags_seen.clear()
