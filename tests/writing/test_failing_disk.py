"""A full disk during fit: fit returns, two warnings say what was lost, the written steps stay readable.

Two disks, each filled at a known step so that the lost steps and the
warning texts are exact:

* ``tmpfs``: a real 100 KB tmpfs (``mount -t tmpfs``; needs root, skipped
  with the reason where it can't be mounted). A step here is ~8.5 KB, more
  than a page, so a full disk can't take it into a file's last page: the
  write is short, then fails with ENOSPC, as on any full file system.
* ``fake``: real files behind logdirs' file-opening seam, with a byte budget
  shared by every file: once it runs out a write takes what fits, then raises
  ENOSPC; closing raises ENOSPC while the disk is full (as NFS reports a full
  disk only then).

Every event file written is read back through TensorBoard's own loader and
parsed strictly: whole records only, no torn tail.
"""

import errno
import glob
import json
import os
import struct
import subprocess
import warnings

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub import pywrap_tensorflow as stub

from tb_featureviz import FeatureVizCallback, FeatureVizLogger, failures
from tb_featureviz.writing import eventfile, logdirs
from tests.eventfiles import metadata_by_tag, tensors_by_tag
from tests.models import gradient_image, small_cnn

pytestmark = pytest.mark.backends  # also run in .venv-jax and .venv-torch (.ci/run)

ENOSPC = "OSError: [Errno 28] No space left on device"
FIRST_WARNING = (f"FeatureVizCallback could not log step 4: {ENOSPC}. Training goes on; pass strict=True to stop "
                 "instead. Later failures are summarised when training ends.")
# Two layers: a step of ~8.5 KB, more than a tmpfs page.
LAYERS = ["conv1", "sep2"]
ACTIVATIONS = "featureviz/conv1/activations"


# ------------------------------------------------------------------- disks


class TmpfsDisk:
    """A mounted 100 KB tmpfs: fill() takes every free page with a filler file, free() removes it."""

    closing_fails = False

    def __init__(self, root):
        self.root = str(root)
        self._filler = os.path.join(self.root, "filler")

    def fill(self):
        descriptor = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while True:
                os.write(descriptor, bytes(4096))
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
        finally:
            os.close(descriptor)

    def free(self):
        os.remove(self._filler)


class FakeDisk:
    """Real files with a shared free-space budget; ``None`` is unlimited."""

    closing_fails = True

    def __init__(self, root):
        self.root = str(root)
        self.space = None

    def fill(self):
        self.space = 100  # room for part of a record: the next write tears one

    def free(self):
        self.space = None

    def open_write(self, path):
        return FullDiskFile(self, path)


def _enospc():
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FullDiskFile:
    """A file on a FakeDisk: short writes, then ENOSPC, when its space runs out; ENOSPC on close while full."""

    def __init__(self, disk, path):
        self._disk = disk
        self._file = open(path, "wb", buffering=0)

    def write(self, data):
        data = bytes(data)
        if self._disk.space is not None:
            if self._disk.space == 0:
                raise _enospc()
            data = data[: self._disk.space]
            self._disk.space -= len(data)
        return self._file.write(data)

    def truncate(self, size):
        end = self._file.seek(0, os.SEEK_END)
        if self._disk.space is not None:
            self._disk.space += max(0, end - size)
        return self._file.truncate(size)

    def seek(self, offset, whence=os.SEEK_SET):
        return self._file.seek(offset, whence)

    def flush(self):
        pass

    def close(self):
        self._file.close()
        if self._disk.space is not None:
            raise _enospc()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


@pytest.fixture
def fake_disk(tmp_path, monkeypatch):
    disk = FakeDisk(tmp_path / "disk")
    os.makedirs(disk.root)
    monkeypatch.setattr(logdirs._LocalFileSystem, "open_write", lambda self, path: disk.open_write(path))
    return disk


@pytest.fixture
def tmpfs_disk(tmp_path):
    root = tmp_path / "disk"
    root.mkdir()
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=100k", "tmpfs", str(root)],
                                 capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"can't mount a 100 KB tmpfs here (needs root and mount(8)): {error}")
    if mounted.returncode != 0:
        pytest.skip(f"can't mount a 100 KB tmpfs here (needs root and mount(8)): {mounted.stderr.strip()}")
    try:
        yield TmpfsDisk(root)
    finally:
        if subprocess.run(["umount", str(root)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(root)], check=True)


@pytest.fixture(params=["tmpfs", "fake"])
def disk(request):
    return request.getfixturevalue(f"{request.param}_disk")


# ----------------------------------------------------------------- helpers


def whole_records(path):
    """The records of an event file, failing if it holds anything but whole, valid records."""
    with open(path, "rb") as handle:
        data = handle.read()
    records, offset = [], 0
    while offset < len(data):
        assert len(data) - offset >= 16, f"{path} ends in a torn record at byte {offset}"
        (length,) = struct.unpack("<Q", data[offset : offset + 8])
        assert struct.unpack("<I", data[offset + 8 : offset + 12])[0] == stub.masked_crc32c(data[offset : offset + 8])
        end = offset + 12 + length
        assert end + 4 <= len(data), f"{path} ends in a torn record at byte {offset}"
        assert struct.unpack("<I", data[end : end + 4])[0] == stub.masked_crc32c(data[offset + 12 : end])
        records.append(data[offset + 12 : end])
        offset = end + 4
    return records


def event_files(run_dir):
    return sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*")))


def readable_steps(run_dir, tag=ACTIVATIONS):
    """Steps of ``tag`` read back by TensorBoard, after checking every event file is whole records."""
    for path in event_files(run_dir):
        whole_records(path)
    return [step for step, _ in tensors_by_tag(run_dir).get(tag, [])]


def callback_warnings(caught):
    return [str(w.message) for w in caught if str(w.message).startswith("FeatureVizCallback")]


def fit(viz, *callbacks, seed=0, epochs=12):
    """Epochs of one batch each (step == epoch), ``viz`` last; returns (History, the callback's warnings)."""
    import keras

    model = small_cnn(seed)
    model.compile(keras.optimizers.SGD(0.01), "mse")
    x = np.random.default_rng(0).random((4, 16, 16, 3)).astype(np.float32)
    y = np.zeros((4, 2), np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, batch_size=4, epochs=epochs, verbose=0, callbacks=[*callbacks, viz])
    return history, callback_warnings(caught)


def featureviz(disk, **kwargs):
    return FeatureVizCallback(disk.root, gradient_image(), layers=LAYERS, **kwargs)


def fill_after_step(disk, step):
    """An ``on_logged_step`` that fills the disk once ``step`` is written (on the writer thread, in order)."""
    return lambda written, records: disk.fill() if written == step else None


# ------------------------------------------------------- fit on a full disk


def test_full_disk_fit_returns_with_one_warning_and_one_summary(disk):
    history, said = fit(featureviz(disk, on_logged_step=fill_after_step(disk, 3)))
    assert len(history.history["loss"]) == 12
    summary = (f"FeatureVizCallback could not log 9 of 13 steps (steps 4 to 12): {ENOSPC}. "
               "Logging did not recover before training ended.")
    if disk.closing_fails:
        summary += f" Closing the event file failed too: {ENOSPC}."
    assert said == [FIRST_WARNING, summary]
    run_dir = os.path.join(disk.root, "featureviz")
    assert readable_steps(run_dir) == [0, 1, 2, 3]
    assert {step for values in tensors_by_tag(run_dir).values() for step, _ in values} == {0, 1, 2, 3}
    meta = metadata_by_tag(run_dir)
    assert meta[ACTIVATIONS].plugin_data.plugin_name == "images"
    assert meta[ACTIVATIONS + "/record"].plugin_data.plugin_name == "featureviz"


def test_logging_recovers_when_space_is_freed(disk):
    import keras

    class FillThenFree(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 3:  # before the callback logs step 4
                disk.fill()
            if epoch == 8:  # before step 9
                disk.free()

    # Synchronous writes: the disk changes exactly between two logged steps.
    history, said = fit(featureviz(disk, background=False), FillThenFree())
    assert len(history.history["loss"]) == 12
    assert said == [FIRST_WARNING, f"FeatureVizCallback could not log 5 of 13 steps (steps 4 to 8): {ENOSPC}. "
                                   "Logging recovered at step 9."]
    run_dir = os.path.join(disk.root, "featureviz")
    # Steps after the failures are readable: the torn writes were cut off the file.
    assert readable_steps(run_dir) == [0, 1, 2, 3, 9, 10, 11, 12]
    assert len(event_files(run_dir)) == 1
    records = tensors_by_tag(run_dir)[ACTIVATIONS + "/record"]
    assert [json.loads(value.item())["sequence"] for _, value in records] == list(range(8))  # no gap for lost steps


def test_strict_stops_fit_with_a_runtime_error(disk):
    viz = featureviz(disk, on_logged_step=fill_after_step(disk, 3), strict=True)
    with pytest.raises(RuntimeError) as raised:
        fit(viz)
    assert str(raised.value) == f"FeatureVizCallback could not log step 4: {ENOSPC}"
    assert not viz.logger.writer._file.is_open  # closed, though Keras skips on_train_end
    assert readable_steps(os.path.join(disk.root, "featureviz")) == [0, 1, 2, 3]


def test_a_second_fit_with_a_new_model_on_a_full_disk_still_trains(disk):
    viz = featureviz(disk)
    assert fit(viz, epochs=4)[1] == []
    disk.fill()
    # A new model is set up again, without the log directory's write test.
    history, said = fit(viz, seed=1, epochs=2)
    assert len(history.history["loss"]) == 2
    # No file holds anything of the second fit: nothing is left to close.
    assert said == [
        "FeatureVizCallback was used with model 'small_cnn' and now with 'small_cnn': drift restarts from the new "
        "model's kernels.",
        FIRST_WARNING.replace("step 4", "step 5"),
        f"FeatureVizCallback could not log 2 of 2 steps (steps 5 and 6): {ENOSPC}. "
        "Logging did not recover before training ended.",
    ]
    assert readable_steps(os.path.join(disk.root, "featureviz")) == [0, 1, 2, 3, 4]


# ------------------------------------------------------- the event file


def _event(step, size=0):
    return event_pb2.Event(step=step, wall_time=1.5, file_version="x" * size).SerializeToString()


def _loaded_steps(path):
    return [event.step for event in event_file_loader.EventFileLoader(path).Load()][1:]  # after the header


def test_a_failed_flush_cuts_the_file_back_to_its_last_flush(fake_disk):
    writer = eventfile.EventFileWriter(fake_disk.root)
    writer.write(_event(1))
    writer.write(_event(2))
    writer.flush()
    with open(writer.path, "rb") as handle:
        before = handle.read()
    fake_disk.fill()
    writer.write(_event(3, size=1000))
    with pytest.raises(OSError) as raised:
        writer.flush()
    assert raised.value.errno == errno.ENOSPC
    with open(writer.path, "rb") as handle:
        assert handle.read() == before  # the 100 bytes that fitted are gone again
    fake_disk.free()
    writer.write(_event(4))
    writer.close()
    assert whole_records(writer.path)[1:] == [_event(1), _event(2), _event(4)]
    assert _loaded_steps(writer.path) == [1, 2, 4]


def test_where_a_file_cannot_be_cut_back_the_next_write_starts_a_new_file(fake_disk, monkeypatch):
    monkeypatch.setattr(logdirs._LocalFileSystem, "truncate", lambda self, handle, size: False)  # as gs://
    writer = eventfile.EventFileWriter(fake_disk.root)
    writer.write(_event(1))
    writer.flush()
    first = writer.path
    fake_disk.fill()
    writer.write(_event(2, size=1000))
    with pytest.raises(OSError):
        writer.flush()
    assert not writer.is_open
    fake_disk.free()
    writer.write(_event(3))
    writer.close()
    assert writer.path != first
    # The given-up file keeps its torn tail, and TensorBoard reads it up to there; nothing follows it.
    assert _loaded_steps(first) == [1]
    with pytest.raises(AssertionError, match="torn record"):
        whole_records(first)
    assert whole_records(writer.path)[1:] == [_event(3)]


def test_a_first_flush_that_fails_leaves_no_file(fake_disk):
    fake_disk.fill()
    writer = eventfile.EventFileWriter(fake_disk.root)
    writer.write(_event(1, size=200))
    with pytest.raises(OSError):
        writer.flush()
    assert os.listdir(fake_disk.root) == []
    fake_disk.free()
    writer.write(_event(2))
    writer.close()
    assert _loaded_steps(writer.path) == [2]


def test_after_a_failed_step_a_new_file_carries_every_tag_metadata_again(fake_disk, monkeypatch):
    monkeypatch.setattr(logdirs._LocalFileSystem, "truncate", lambda self, handle, size: False)
    model = small_cnn()
    logger = FeatureVizLogger(fake_disk.root)
    logger.log_filters(model, 0, layers=["conv1"])
    fake_disk.fill()
    with pytest.raises(OSError):
        logger.log_filters(model, 1, layers=["conv1"])
    fake_disk.free()
    (record,) = logger.log_filters(model, 2, layers=["conv1"])
    logger.close()
    assert record["sequence"] == 1  # step 1 never counted
    first, second = event_files(os.path.join(fake_disk.root, "featureviz"))
    plugins = {}
    for event in event_file_loader.EventFileLoader(second).Load():
        for value in event.summary.value:
            plugins.setdefault(value.tag, (event.step, value.metadata.plugin_data.plugin_name))
    # Read alone, the new file says what each tag is.
    assert plugins == {"featureviz/conv1/filters": (2, "images"), "featureviz/conv1/filters/record": (2, "featureviz")}


# ---------------------------------------------------------- the report


def test_summary_of_failures_recovery_and_failing_again_and_a_failed_close():
    report = failures.LoggingFailures("FeatureVizCallback", max_causes=2)
    report.written(0)
    report.failed(8, OSError(28, "No space left on device"))  # reported before step 4: any order
    assert report.failed(4, OSError(5, "Input/output error")) is None  # the first failure spoke already
    report.written(12)
    report.failed(16, MemoryError("probe"))
    report.failed(20, OSError(28, "No space left on device"))
    report.close_failed(OSError(28, "No space left on device"))
    assert report.finish() == (
        "FeatureVizCallback could not log 4 of 6 steps (steps 4 to 20): OSError: [Errno 5] Input/output error; "
        f"{ENOSPC}; and 1 more. Logging recovered at step 12, then failed again from step 16 on. "
        f"Closing the event file failed too: {ENOSPC}."
    )


def test_a_failed_close_alone_is_summarised_too():
    report = failures.LoggingFailures("FeatureVizCallback")
    report.written(0)
    report.close_failed(OSError(28, "No space left on device"))
    assert report.finish() == f"FeatureVizCallback could not close its event file at the end of training: {ENOSPC}."
    assert report.finish() is None
