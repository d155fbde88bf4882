"""The event-file writer: TFRecord bytes, names, file systems, error text."""

import os
import re
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import uuid

import pytest
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub import errors as stub_errors
from tensorboard.compat.tensorflow_stub import pywrap_tensorflow as stub

from tb_featureviz.writing import eventfile, logdirs
from tests import ROOT

pytestmark = pytest.mark.backends  # also run in .venv-jax and .venv-torch (.ci/run)

PAYLOADS = [
    b"",
    b"a",
    b"123456789",
    bytes(range(256)) * 7,
    os.urandom(65537),
    os.urandom(1 << 20),
]


def _event(step, text=b""):
    return event_pb2.Event(step=step, wall_time=1.5, file_version=text.decode()).SerializeToString()


def _stub_records(path):
    """Every record of a file, through TensorBoard's pure-Python reader (checks both CRCs)."""
    reader = stub.PyRecordReader_New(path)
    records = []
    while True:
        try:
            reader.GetNext()
        except stub_errors.OutOfRangeError:
            return records
        records.append(reader.record())


def _parse_frames(data):
    """Records of TFRecord bytes, checking the framing independently of the module."""
    records, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack("<Q", data[offset : offset + 8])
        assert struct.unpack("<I", data[offset + 8 : offset + 12])[0] == stub.masked_crc32c(data[offset : offset + 8])
        record = data[offset + 12 : offset + 12 + length]
        assert struct.unpack("<I", data[offset + 12 + length : offset + 16 + length])[0] == stub.masked_crc32c(record)
        records.append(record)
        offset += 16 + length
    return records


def _memory_url():
    return f"memory://featureviz-test-{uuid.uuid4().hex}/run"


# --- Framing ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, crc",
    [
        # RFC 3720 (iSCSI) appendix B.4 and the usual "123456789" check value.
        (b"123456789", 0xE3069283),
        (bytes(32), 0x8A9136AA),
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
        (bytes(range(31, -1, -1)), 0x113FDB5C),
    ],
)
def test_masked_crc32c_known_vectors(data, crc):
    masked = (((crc >> 15) | (crc << 17)) + 0xA282EAD8) % 2**32
    assert eventfile.masked_crc32c(data) == masked


@pytest.mark.parametrize("size", [0, 1, 8, 100, 4097])
def test_masked_crc32c_matches_tensorboard(size):
    data = os.urandom(size)
    assert eventfile.masked_crc32c(data) == stub.masked_crc32c(data)


def test_crc32c_runs_in_c():
    assert eventfile.CRC32C_IMPLEMENTATION == "c"


@pytest.mark.tensorflow
def test_frame_is_byte_identical_to_tensorflow(tmp_path):
    import tensorflow as tf

    path = str(tmp_path / "tf.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for payload in PAYLOADS:
            writer.write(payload)
    with open(path, "rb") as handle:
        assert b"".join(eventfile.frame(p) for p in PAYLOADS) == handle.read()


@pytest.mark.tensorflow
def test_event_file_is_byte_identical_to_tensorflow(tmp_path):
    import tensorflow as tf

    writer = eventfile.EventFileWriter(str(tmp_path / "ours"))
    for payload in PAYLOADS:
        writer.write(payload)
    writer.close()
    header = _stub_records(writer.path)[0]
    theirs = str(tmp_path / "theirs.tfrecord")
    with tf.io.TFRecordWriter(theirs) as tf_writer:
        for payload in [header] + PAYLOADS:
            tf_writer.write(payload)
    with open(writer.path, "rb") as ours_file, open(theirs, "rb") as theirs_file:
        assert ours_file.read() == theirs_file.read()


# --- Reading back through TensorBoard -----------------------------------------


def test_read_back_through_tensorboard_loaders(tmp_path):
    writer = eventfile.EventFileWriter(tmp_path)
    events = [event_pb2.Event(step=step, wall_time=10.0 + step) for step in range(5)]
    events[2].summary.value.add(tag="x", simple_value=2.5)
    for event in events:
        writer.write(event.SerializeToString())
    writer.close()

    loaded = list(event_file_loader.EventFileLoader(writer.path).Load())
    assert loaded[0].file_version == "brain.Event:2"
    assert [(e.step, e.wall_time) for e in loaded[1:]] == [(e.step, e.wall_time) for e in events]
    # The loader migrates simple_value to a scalar tensor.
    assert loaded[3].summary.value[0].tag == "x"
    assert list(loaded[3].summary.value[0].tensor.float_val) == [2.5]
    raw = list(event_file_loader.RawEventFileLoader(writer.path).Load())
    assert raw[1:] == [e.SerializeToString() for e in events]
    raw = _stub_records(writer.path)
    assert raw[1:] == [e.SerializeToString() for e in events]
    assert event_pb2.Event.FromString(raw[0]).file_version == "brain.Event:2"


def test_flush_makes_records_readable_before_close(tmp_path):
    writer = eventfile.EventFileWriter(tmp_path)
    writer.write(_event(1))
    writer.write(_event(2))
    writer.flush()
    assert _stub_records(writer.path)[1:] == [_event(1), _event(2)]
    writer.close()


def test_concurrent_writes_stay_whole_records(tmp_path):
    writer = eventfile.EventFileWriter(tmp_path)
    records = [[f"thread {t} record {i}".encode() * (1 + i % 50) for i in range(200)] for t in range(6)]

    def run(mine):
        for record in mine:
            writer.write(record)

    threads = [threading.Thread(target=run, args=(mine,)) for mine in records]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    written = _stub_records(writer.path)[1:]
    assert sorted(written) == sorted(r for mine in records for r in mine)


# --- Names, lazy open, close --------------------------------------------------


def test_nothing_is_created_before_the_first_write(tmp_path):
    writer = eventfile.EventFileWriter(tmp_path / "run")
    writer.flush()
    writer.close()
    assert writer.path is None
    assert not (tmp_path / "run").exists()


def test_file_names_are_zero_padded_and_sort_in_write_order(tmp_path, monkeypatch):
    # Crossing 999 -> 1000: unpadded, ".1000.v2" would sort before ".999.v2".
    monkeypatch.setattr(eventfile, "_FILE_COUNTER", 997)
    paths = []
    for step in range(4):
        writer = eventfile.EventFileWriter(tmp_path)
        writer.write(_event(step))
        writer.close()
        paths.append(writer.path)
    assert sorted(paths) == paths
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(p) for p in paths]
    pattern = rf"events\.out\.tfevents\.\d{{10}}\.{re.escape(socket.gethostname())}\.{os.getpid()}\.(\d{{6}})\.v2"
    counters = [re.fullmatch(pattern, os.path.basename(p)).group(1) for p in paths]
    assert counters == ["000998", "000999", "001000", "001001"]


def test_close_is_idempotent_and_a_later_write_opens_a_new_file(tmp_path):
    writer = eventfile.EventFileWriter(tmp_path)
    writer.write(_event(1))
    writer.close()
    writer.close()
    first = writer.path
    writer.write(_event(2))
    with writer:  # closes on exit
        pass
    writer.close()
    assert writer.path != first
    assert _stub_records(first)[1:] == [_event(1)]
    assert _stub_records(writer.path)[1:] == [_event(2)]
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(first), os.path.basename(writer.path)])


def test_local_paths_never_import_tensorflow(tmp_path, monkeypatch):
    def no_tensorflow():
        raise AssertionError("a local path must not reach for TensorFlow")

    monkeypatch.setattr(logdirs, "_tensorflow", no_tensorflow)
    logdirs.check_writable(tmp_path / "run")
    writer = eventfile.EventFileWriter(tmp_path / "run")
    writer.write(_event(1))
    writer.close()
    assert logdirs.exists(writer.path)
    assert logdirs.join(tmp_path, "x") == os.path.join(str(tmp_path), "x")


# --- Errors -------------------------------------------------------------------


def test_unwritable_directory_error_names_owner_and_directory(tmp_path):
    # A directory below a regular file can't be created, even as root.
    (tmp_path / "afile").write_text("not a directory")
    run_dir = str(tmp_path / "afile" / "run")
    with pytest.raises(PermissionError) as raised:
        logdirs.check_writable(run_dir, owner="FeatureVizCallback")
    message = str(raised.value)
    expected = f"FeatureVizCallback expects a writable log directory. Received: {run_dir!r}, which can't be written: "
    assert message.startswith(expected)
    assert isinstance(raised.value.__cause__, OSError)


def test_check_writable_leaves_no_test_file(tmp_path):
    logdirs.check_writable(tmp_path / "new" / "run")
    assert os.listdir(tmp_path / "new" / "run") == []


def test_url_without_tensorflow_or_fsspec_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    monkeypatch.setitem(sys.modules, "fsspec", None)
    url = "memory://featureviz-missing/run"
    calls = [
        lambda: logdirs.makedirs(url),
        lambda: logdirs.exists(url),
        lambda: logdirs.check_writable(url, owner="FeatureVizCallback"),
        lambda: eventfile.EventFileWriter(url).write(_event(1)),
    ]
    for call in calls:
        with pytest.raises(ImportError) as raised:
            call()
        message = str(raised.value)
        assert url in message
        assert "neither TensorFlow nor fsspec is installed" in message
        assert "pip install 'tb-featureviz[remote]'" in message


@pytest.mark.tensorflow
def test_scheme_tensorflow_lacks_without_fsspec_names_both(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)
    url = "memory://featureviz-missing/run"
    expected = r"TensorFlow has no file system for 'memory' \(it has .*ram.*\) and fsspec is not installed"
    with pytest.raises(ImportError, match=expected):
        logdirs.makedirs(url)


def test_unknown_fsspec_protocol_names_the_url(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    with pytest.raises(ValueError, match=r"Received: 'nosuchfs://x/run'.*nosuchfs"):
        logdirs.makedirs("nosuchfs://x/run")


# --- Remote file systems --------------------------------------------------------


def test_join_for_urls():
    assert logdirs.join("ram://logs", "run") == "ram://logs/run"
    assert logdirs.join("ram://logs/", "run") == "ram://logs/run"
    assert logdirs.join(_memory_url(), "x").endswith("/run/x")


@pytest.mark.tensorflow
def test_ram_url_goes_through_tensorflow_gfile():
    import tensorflow as tf

    logdir = f"ram://featureviz-test-{uuid.uuid4().hex}/run"
    assert logdirs.filesystem(logdir).kind == "tensorflow"
    logdirs.check_writable(logdir)
    assert tf.io.gfile.listdir(logdir) == []
    writer = eventfile.EventFileWriter(logdir)
    writer.write(_event(1))
    writer.write(_event(2))
    writer.close()
    assert writer.path.startswith(logdir + "/events.out.tfevents.")
    assert logdirs.exists(writer.path)
    with tf.io.gfile.GFile(writer.path, "rb") as handle:
        assert _parse_frames(handle.read())[1:] == [_event(1), _event(2)]
    # TensorBoard's loader reads it through TensorFlow's C++ reader.
    steps = [e.step for e in event_file_loader.EventFileLoader(writer.path).Load()]
    assert steps == [0, 1, 2]


def test_scheme_unknown_to_tensorflow_falls_back_to_fsspec():
    import fsspec

    logdir = _memory_url()
    assert logdirs.filesystem(logdir).kind == "fsspec"
    writer = eventfile.EventFileWriter(logdir)
    writer.write(_event(3))
    writer.close()
    with fsspec.open(writer.path, "rb") as handle:
        assert _parse_frames(handle.read())[1:] == [_event(3)]
    fsspec.filesystem("memory").rm(logdir.split("://")[1], recursive=True)


def test_memory_url_round_trip_without_tensorflow(monkeypatch):
    import fsspec

    monkeypatch.setitem(sys.modules, "tensorflow", None)
    logdir = _memory_url()
    assert logdirs.filesystem(logdir).kind == "fsspec"
    logdirs.check_writable(logdir, owner="FeatureVizCallback")
    assert fsspec.filesystem("memory").ls(logdir) == []
    writer = eventfile.EventFileWriter(logdir)
    writer.write(_event(1))
    writer.flush()
    writer.write(_event(2))
    writer.close()
    assert logdirs.exists(writer.path)
    with fsspec.open(writer.path, "rb") as handle:
        records = _parse_frames(handle.read())
    assert event_pb2.Event.FromString(records[0]).file_version == "brain.Event:2"
    assert records[1:] == [_event(1), _event(2)]
    fsspec.filesystem("memory").rm(logdir.split("://")[1], recursive=True)


def test_module_works_in_a_process_without_tensorflow():
    # A fresh interpreter where `import tensorflow` fails: the module must
    # import, write locally and to memory://, and never have TensorFlow.
    script = textwrap.dedent(
        """
        import sys, tempfile
        sys.modules["tensorflow"] = None
        import fsspec
        from tensorboard.compat.proto import event_pb2
        from tb_featureviz.writing import eventfile, logdirs

        event = event_pb2.Event(step=7).SerializeToString()
        for logdir in (tempfile.mkdtemp(), "memory://featureviz-subprocess/run"):
            logdirs.check_writable(logdir)
            with eventfile.EventFileWriter(logdir) as writer:
                writer.write(event)
            with fsspec.open(writer.path, "rb") as handle:
                data = handle.read()
            assert data.endswith(eventfile.frame(event)), logdir
            print(logdirs.filesystem(logdir).kind)
        print(sys.modules["tensorflow"])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["local", "fsspec", "None"]
