"""Log directories anywhere: which file system serves a path, and checks before writing.

Where a log directory lives is decided in one place, :func:`filesystem`:

* a local path (no ``scheme://``): Python's own ``os`` and ``open``;
* a URL (``gs://bucket/logs``, ``s3://...``, ``ram://...``): TensorFlow's
  ``tf.io.gfile`` where TensorFlow is installed and has a file system for
  that scheme (``tf.io.gfile.get_registered_schemes()``);
* otherwise `fsspec <https://filesystem-spec.readthedocs.io>`_
  (``pip install 'tb-featureviz[remote]'``, plus the file system's own
  package, e.g. ``gcsfs`` for ``gs://`` or ``s3fs`` for ``s3://``);
* neither: an ``ImportError`` naming the URL and what to install.

TensorFlow is imported only for a URL, and only when it is installed.
Object stores reached through fsspec upload whole blocks, so there events
may appear only when a file is closed.

Example:
    >>> join("gs://bucket/logs/", "run")
    'gs://bucket/logs/run'
"""

import os
import uuid

_WRITE_TEST_PREFIX = ".featureviz-write-test-"


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
        # Unbuffered: EventFileWriter already hands over a whole step per write,
        # and after a failed write it cuts the file back (truncate), which a
        # buffer still holding bytes would undo when it is flushed.
        return open(path, "wb", buffering=0)

    def truncate(self, handle, size):
        """Cut the file of ``handle`` (from :meth:`open_write`) to ``size`` bytes; write on from there."""
        handle.truncate(size)
        handle.seek(size)
        return True

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

    def truncate(self, handle, size):
        return False  # a GFile can't be cut back: EventFileWriter starts a new file

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

    def truncate(self, handle, size):
        return False  # object stores upload whole blocks: EventFileWriter starts a new file

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


def filesystem(path):
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
    filesystem(path).makedirs(path)


def exists(path):
    """Whether a file or directory exists at ``path`` (local path or URL).

    Example:
        >>> exists("/")
        True
    """
    path = os.fspath(path)
    return filesystem(path).exists(path)


def join(directory, name):
    """``directory/name``: ``os.path.join`` locally, ``/``-joined for URLs.

    Example:
        >>> join("gs://bucket/logs/", "run")
        'gs://bucket/logs/run'
    """
    directory = os.fspath(directory)
    return filesystem(directory).join(directory, name)


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
    fs = filesystem(directory)
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


def check_creatable(logdir, owner="tb_featureviz"):
    """Fail early for a local ``logdir`` that can never hold a directory; creates nothing.

    Walks up to the nearest existing path: it must be a writable directory.
    URLs are checked when first written (:func:`check_writable`).

    Raises:
        ValueError: an existing path on the way is a file.
        PermissionError: the nearest existing directory is not writable.
    """
    logdir = os.fspath(logdir)
    if _is_url(logdir):
        return
    probe = os.path.abspath(logdir)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if os.path.exists(probe) and not os.path.isdir(probe):
        raise ValueError(
            f"{owner} expects a writable log directory. Received: logdir={logdir!r}, "
            f"but {probe!r} is a file, not a directory"
        )
    if os.path.isdir(probe) and not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(
            f"{owner} expects a writable log directory. Received: logdir={logdir!r}, "
            f"but {probe!r} is not writable"
        )
