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
:mod:`tb_featureviz.writing.logdirs`.

A failed write (a full disk) never leaves a torn record for later records to
follow: TensorBoard stops reading a file at the first record it can't read,
so everything appended after one would be lost. Records wait in memory until
:meth:`EventFileWriter.flush` hands them over in one write; if that fails,
the file is cut back to where the last successful flush ended (one logger
step is in the file whole or not at all) or, where the file system can't
cut a file back (``gs://`` and other object stores), the next write starts
a new file.

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

import google_crc32c
from tensorboard.compat.proto import event_pb2

from tb_featureviz.writing import logdirs

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
    :meth:`write`, which also queues the ``brain.Event:2`` header event.
    Records are kept in memory until :meth:`flush` (or until
    ``MAX_PENDING_BYTES`` wait) and then written in one call. :meth:`close`
    ends the file; a later :meth:`write` starts a new one (with a new name),
    as TensorFlow's writers do. All methods are thread-safe.

    When writing fails (``OSError``, e.g. ``ENOSPC``), the error is raised
    and the records not yet flushed are dropped; the file is cut back to
    the end of the last successful :meth:`flush`, so it holds whole records
    only. Where it can't be cut back, or holds nothing flushed, it is closed
    (and, if it holds nothing, removed) and the next :meth:`write` starts a
    new file.

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

    #: Bytes of records kept in memory before they are written without a flush.
    MAX_PENDING_BYTES = 1 << 23

    def __init__(self, logdir):
        self.logdir = os.fspath(logdir)
        self.path = None
        self._fs = None
        self._file = None
        self._pending = []  # header, data and CRC of each record not yet written
        self._pending_bytes = 0
        self._written = 0  # bytes handed to the file
        self._flushed = 0  # bytes up to the end of the last successful flush: whole records
        self._lock = threading.Lock()

    def _open(self):
        fs = logdirs.filesystem(self.logdir)
        fs.makedirs(self.logdir)
        path = fs.join(self.logdir, _next_file_name())
        self._file = fs.open_write(path)
        self._fs, self.path = fs, path
        self._written = self._flushed = 0
        self._queue(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())

    @property
    def is_open(self):
        """Whether a file is open (written to since the last :meth:`close`)."""
        return self._file is not None

    def write(self, record):
        """Queue one record (a serialized ``Event``), opening the file if needed.

        Args:
            record: ``bytes``.

        Raises:
            OSError: the file couldn't be created, or queued records that
                reached ``MAX_PENDING_BYTES`` couldn't be written (see the
                class docstring for what is kept).
        """
        with self._lock:
            if self._file is None:
                self._open()
            self._queue(record)
            if self._pending_bytes >= self.MAX_PENDING_BYTES:
                self._commit(flush=False)

    def flush(self):
        """Hand every record written so far to the file system.

        Raises:
            OSError: they couldn't be written; the file is cut back to the
                last successful flush (see the class docstring).
        """
        with self._lock:
            if self._file is not None:
                self._commit(flush=True)

    def discard(self):
        """Drop the records written since the last :meth:`flush`, as a failed flush would."""
        with self._lock:
            if self._file is not None and (self._pending or self._written != self._flushed):
                self._roll_back()

    def close(self):
        """Flush and close the file; does nothing if none is open.

        Raises:
            OSError: the last records couldn't be written, or the file system
                reported an error when closing (some report a full disk only
                then). The file is closed anyway.
        """
        with self._lock:
            if self._file is None:
                return
            try:
                self._commit(flush=True)
            finally:
                handle, self._file = self._file, None
                if handle is not None:
                    handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _queue(self, data):
        # Header, data and CRC stay separate until _commit joins them: a large
        # record is copied once.
        self._pending += (_header(data), data, _CRC.pack(masked_crc32c(data)))
        self._pending_bytes += len(data) + 16

    def _commit(self, flush):
        """Write the queued records in one call; after a failure, roll back and raise."""
        try:
            if self._pending:
                data = b"".join(self._pending)
                self._pending, self._pending_bytes = [], 0
                _write_all(self._file, data, self.path)
                self._written += len(data)
            if flush:
                self._file.flush()
                self._flushed = self._written
        except BaseException:
            self._roll_back()
            raise

    def _roll_back(self):
        """After a failed write: cut the file back to its last flush, or give it up."""
        self._pending, self._pending_bytes = [], 0
        handle = self._file
        if self._flushed:
            try:
                if self._fs.truncate(handle, self._flushed):
                    self._written = self._flushed
                    return
            except OSError:
                pass  # then the file is given up below, torn tail and all
        # Nothing may follow a torn record: the next write starts a new file.
        self._file = None
        try:
            handle.close()
        except Exception:  # noqa: BLE001 - the write's own error is the one raised
            pass
        if not self._flushed:
            try:
                self._fs.remove(self.path)  # it holds no whole record: not even a header
            except Exception:  # noqa: BLE001 - a stray empty file is harmless
                pass


def _write_all(handle, data, path):
    """Write every byte of ``data``: an unbuffered file may take only part of it (a nearly full disk)."""
    done = 0
    while done < len(data):
        count = handle.write(data if done == 0 else memoryview(data)[done:])
        if count is None:  # GFile and the like write everything or raise
            return
        if count <= 0:
            raise OSError(f"EventFileWriter expects the file system to take at least one byte per write. "
                          f"Received: {count} of {len(data) - done} bytes written to {path!r}")
        done += count
