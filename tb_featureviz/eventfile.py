"""Event files for every Keras backend: TFRecord framing, one file-system choice.

An event file is a TFRecord file of serialized ``Event`` protos. Each record is

=================  ==============================================
``uint64``         length of ``data``, little-endian
``uint32``         ``masked_crc32c`` of those 8 length bytes
``bytes``          ``data`` (a serialized ``Event``)
``uint32``         ``masked_crc32c(data)``
=================  ==============================================

with ``masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8`` (mod 2**32) and
every CRC stored little-endian. The first record is an ``Event`` with
``file_version="brain.Event:2"``. This is byte for byte what
``tf.io.TFRecordWriter`` writes, so no TensorFlow is needed: the CRC32C comes
from ``google-crc32c``'s C implementation (hardware CRC instructions where the
CPU has them), several GB/s where TensorBoard's pure-Python writer manages
about 5 MB/s. Where only google-crc32c's pure-Python fallback is available
(``CRC32C_IMPLEMENTATION == "python"``; the package warns when imported) the
files are the same, only written slowly.

File names are ``events.out.tfevents.<time>.<host>.<pid>.<counter>.v2``:
unique per host, process and file, with the counter zero-padded because
TensorBoard's Python loader reads a directory's files in name order and
skips a file that sorts before one it has already read.

Where a log directory lives is decided in one place, :func:`_filesystem`:

* a local path (no ``scheme://``): Python's own ``os`` and ``open``;
* a URL (``gs://bucket/logs``, ``s3://...``, ``ram://...``): TensorFlow's
  ``tf.io.gfile`` where TensorFlow is installed and has a file system for
  that scheme (``tf.io.gfile.get_registered_schemes()``);
* otherwise `fsspec <https://filesystem-spec.readthedocs.io>`_
  (``pip install 'tb-featureviz[remote]'``, plus the file system's own
  package, e.g. ``gcsfs`` for ``gs://`` or ``s3fs`` for ``s3://``);
* neither: an ``ImportError`` naming the URL and what to install.

TensorFlow is imported only for a URL, and only when it is installed.
``flush()`` hands the events to the file system: on a local disk they are
then visible to TensorBoard. Object stores reached through fsspec upload
whole blocks, so there events may appear only at ``close()``.

Example:
    >>> import tempfile
    >>> from tensorboard.compat.proto import event_pb2
    >>> logdir = tempfile.mkdtemp()
    >>> with EventFileWriter(logdir) as writer:
    ...     writer.write(event_pb2.Event(step=1).SerializeToString())
    >>> os.path.basename(writer.path).startswith("events.out.tfevents.")
    True
"""

import os
import socket
import struct
import threading
import time
import uuid

import google_crc32c
from tensorboard.compat.proto import event_pb2

#: ``"c"`` where google-crc32c's C extension is used, ``"python"`` where it
#: fell back to its (much slower) pure-Python implementation.
CRC32C_IMPLEMENTATION = google_crc32c.implementation

_crc32c = google_crc32c.value
_MASK_DELTA = 0xA282EAD8
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")

# Large enough that a step's small summaries (scalars, JSON records) reach the
# OS in a few system calls; records larger than the buffer bypass it.
_BUFFER_BYTES = 1 << 16

_COUNTER_LOCK = threading.Lock()
_FILE_COUNTER = 0

_WRITE_TEST_PREFIX = ".featureviz-write-test-"


def masked_crc32c(data):
    """The masked CRC32C that TFRecord files store for ``data``.

    Example:
        >>> hex(masked_crc32c(b"123456789"))
        '0xc78ab0e5'

    Args:
        data: bytes-like object.

    Returns:
        int in ``[0, 2**32)``: ``((crc >> 15) | (crc << 17)) + 0xa282ead8``
        (mod 2**32) of the CRC32C (Castagnoli) of ``data``.
    """
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def _header(data):
    length = _LENGTH.pack(len(data))
    return length + _CRC.pack(masked_crc32c(length))


def frame(data):
    """One TFRecord: ``data`` with its length and both checksums.

    Example:
        >>> frame(b"abc").hex()
        '0300000000000000b099490e6162636e57f121'

    Args:
        data: ``bytes`` of the record (a serialized ``Event``).

    Returns:
        ``bytes``: length (8), its masked CRC (4), ``data``, its masked CRC (4).
    """
    return b"".join((_header(data), data, _CRC.pack(masked_crc32c(data))))


# --- File systems -----------------------------------------------------------


def _is_url(path):
    return "://" in path


def _url_join(directory, name):
    return directory.rstrip("/") + "/" + name


class _LocalFileSystem:
    kind = "local"
    errors = (OSError,)

    def makedirs(self, path):
        os.makedirs(path, exist_ok=True)

    def exists(self, path):
        return os.path.exists(path)

    def open_write(self, path):
        return open(path, "wb", buffering=_BUFFER_BYTES)

    def remove(self, path):
        os.remove(path)

    def join(self, directory, name):
        return os.path.join(directory, name)


class _TensorFlowFileSystem:
    kind = "tensorflow"

    def __init__(self, tf):
        self._gfile = tf.io.gfile
        self.errors = (OSError, tf.errors.OpError)

    def makedirs(self, path):
        self._gfile.makedirs(path)

    def exists(self, path):
        return self._gfile.exists(path)

    def open_write(self, path):
        return self._gfile.GFile(path, "wb")

    def remove(self, path):
        self._gfile.remove(path)

    def join(self, directory, name):
        return _url_join(directory, name)


class _FsspecFileSystem:
    kind = "fsspec"
    errors = (OSError,)

    def __init__(self, fsspec):
        self._url_to_fs = fsspec.core.url_to_fs

    def _resolve(self, url):
        try:
            return self._url_to_fs(url)
        except ImportError as error:  # e.g. "Install s3fs to access S3"
            raise ImportError(
                f"tb_featureviz expects an installed fsspec file system for the log directory. "
                f"Received: {url!r}; fsspec says: {error}"
            ) from error
        except ValueError as error:  # "Protocol not known: ..."
            raise ValueError(
                f"tb_featureviz expects a log directory URL that fsspec knows. Received: {url!r}: {error}"
            ) from error

    def makedirs(self, path):
        fs, bare = self._resolve(path)
        fs.makedirs(bare, exist_ok=True)

    def exists(self, path):
        fs, bare = self._resolve(path)
        return fs.exists(bare)

    def open_write(self, path):
        fs, bare = self._resolve(path)
        return fs.open(bare, "wb")

    def remove(self, path):
        fs, bare = self._resolve(path)
        fs.rm(bare)

    def join(self, directory, name):
        return _url_join(directory, name)


_LOCAL = _LocalFileSystem()


def _tensorflow():
    """TensorFlow if it is installed, else None; imported only when asked."""
    try:
        import tensorflow as tf
    except ImportError:
        return None
    return tf


def _fsspec():
    try:
        import fsspec
    except ImportError:
        return None
    return fsspec


def _filesystem(path):
    """The one place that decides which file system serves ``path``."""
    if not _is_url(path):
        return _LOCAL
    scheme = path.split("://", 1)[0]
    tf = _tensorflow()
    tf_schemes = None
    if tf is not None:
        registered = getattr(tf.io.gfile, "get_registered_schemes", None)
        tf_schemes = registered() if registered is not None else None
        if tf_schemes is None or scheme in tf_schemes:
            return _TensorFlowFileSystem(tf)
    fsspec = _fsspec()
    if fsspec is not None:
        return _FsspecFileSystem(fsspec)
    if tf is None:
        found = "neither TensorFlow nor fsspec is installed"
    else:
        found = (
            f"TensorFlow has no file system for {scheme!r} (it has {', '.join(sorted(s for s in tf_schemes if s))}) "
            f"and fsspec is not installed"
        )
    raise ImportError(
        f"tb_featureviz expects TensorFlow or fsspec to write to a URL. Received: {path!r}, but {found}. "
        f"Install fsspec with the file system's own package (pip install 'tb-featureviz[remote]' gcsfs, "
        f"or s3fs, ...) or TensorFlow."
    )


def makedirs(path):
    """Create directory ``path`` and its parents; nothing if it exists.

    Example:
        >>> makedirs("memory://featureviz-doc/run")  # doctest: +SKIP

    Args:
        path: local path or URL (see the module docstring).

    Raises:
        ImportError: ``path`` is a URL no installed file system serves.
    """
    path = os.fspath(path)
    _filesystem(path).makedirs(path)


def exists(path):
    """Whether a file or directory exists at ``path`` (local path or URL).

    Example:
        >>> exists("/")
        True
    """
    path = os.fspath(path)
    return _filesystem(path).exists(path)


def join(directory, name):
    """``directory/name``: ``os.path.join`` locally, ``/``-joined for URLs.

    Example:
        >>> join("gs://bucket/logs/", "run")
        'gs://bucket/logs/run'
    """
    directory = os.fspath(directory)
    return _filesystem(directory).join(directory, name)


def check_writable(directory, owner="tb_featureviz"):
    """Create ``directory`` and write, then remove, a uniquely named file in it.

    Call it before training starts so that a log directory that can't be
    written fails at once, not at the first logged step.

    Example:
        >>> check_writable("/proc/featureviz", owner="FeatureVizCallback")  # doctest: +SKIP
        Traceback (most recent call last):
        PermissionError: FeatureVizCallback expects a writable log directory. Received: ...

    Args:
        directory: local path or URL.
        owner: who asks, for the error message (e.g. ``"FeatureVizCallback"``).

    Raises:
        PermissionError: the directory can't be created or written.
        ImportError: ``directory`` is a URL no installed file system serves.
    """
    directory = os.fspath(directory)
    fs = _filesystem(directory)
    test_file = fs.join(directory, f"{_WRITE_TEST_PREFIX}{os.getpid()}-{uuid.uuid4().hex}")
    try:
        fs.makedirs(directory)
        with fs.open_write(test_file) as handle:
            handle.write(b"ok")
        fs.remove(test_file)
    except fs.errors as error:
        raise PermissionError(
            f"{owner} expects a writable log directory. Received: {directory!r}, which can't be "
            f"written: {getattr(error, 'message', None) or error}"
        ) from error


def _next_file_name():
    global _FILE_COUNTER
    with _COUNTER_LOCK:
        _FILE_COUNTER += 1
        counter = _FILE_COUNTER
    # TensorFlow's naming, plus a zero-padded counter: ".000010.v2" must sort
    # after ".000009.v2" for TensorBoard's Python loader.
    return f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{counter:06d}.v2"


class EventFileWriter:
    """Appends records to an event file in ``logdir``, opened on the first write.

    The directory and the file are created lazily by the first
    :meth:`write`, which also writes the ``brain.Event:2`` header event.
    :meth:`close` ends the file; a later :meth:`write` starts a new one (with
    a new name), as TensorFlow's writers do. All methods are thread-safe.

    Example:
        >>> import tempfile
        >>> from tensorboard.compat.proto import event_pb2
        >>> writer = EventFileWriter(tempfile.mkdtemp())
        >>> writer.write(event_pb2.Event(step=0).SerializeToString())
        >>> writer.flush()   # the events are now in the file system
        >>> writer.close()
        >>> writer.close()   # closing twice is fine

    Args:
        logdir: directory of the run, local path or URL (see the module
            docstring for which file system serves it).

    Attributes:
        logdir: the directory, as given (``str``).
        path: the current (or last) event file; ``None`` before the first write.
    """

    def __init__(self, logdir):
        self.logdir = os.fspath(logdir)
        self.path = None
        self._file = None
        self._lock = threading.Lock()

    def _open(self):
        fs = _filesystem(self.logdir)
        fs.makedirs(self.logdir)
        path = fs.join(self.logdir, _next_file_name())
        header = event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
        handle = fs.open_write(path)
        try:
            _write_record(handle, header.SerializeToString())
        except BaseException:
            handle.close()
            raise
        self._file, self.path = handle, path

    def write(self, record):
        """Append one record (a serialized ``Event``), opening the file if needed.

        Args:
            record: ``bytes``.
        """
        with self._lock:
            if self._file is None:
                self._open()
            _write_record(self._file, record)

    def flush(self):
        """Hand every record written so far to the file system."""
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def close(self):
        """Flush and close the file; does nothing if none is open."""
        with self._lock:
            handle, self._file = self._file, None
            if handle is not None:
                handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _write_record(handle, data):
    # Three writes rather than frame(): a large record is not copied again.
    handle.write(_header(data))
    handle.write(data)
    handle.write(_CRC.pack(masked_crc32c(data)))
