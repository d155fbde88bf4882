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

Where the file lives (local disk, ``gs://``, ``s3://``, ...) is decided by
:mod:`tb_featureviz.logdirs`.

Example:
    >>> import tempfile
    >>> from tensorboard.compat.proto import event_pb2

from tb_featureviz import logdirs
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

import google_crc32c
from tensorboard.compat.proto import event_pb2

from tb_featureviz import logdirs

#: ``"c"`` where google-crc32c's C extension is used, ``"python"`` where it
#: fell back to its (much slower) pure-Python implementation.
CRC32C_IMPLEMENTATION = google_crc32c.implementation

_crc32c = google_crc32c.value
_MASK_DELTA = 0xA282EAD8
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")

_COUNTER_LOCK = threading.Lock()
_FILE_COUNTER = 0


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

from tb_featureviz import logdirs
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
        fs = logdirs.filesystem(self.logdir)
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

    @property
    def is_open(self):
        """Whether a file is open (written to since the last :meth:`close`)."""
        return self._file is not None

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
