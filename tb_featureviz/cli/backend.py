"""Which Keras backend a command runs on, chosen before Keras is first imported.

Keras reads its backend once, at import: from ``KERAS_BACKEND``, else from
``~/.keras/keras.json`` (``$KERAS_HOME/keras.json``), else "tensorflow".
The command line adds two things: ``--backend`` (which sets
``KERAS_BACKEND``), and, when nothing is configured or the configured backend
is not installed, a pick among the installed ones (TensorFlow, then JAX,
then PyTorch) that it names in one note.

Example:
    >>> choose_backend("jax", environ={}, installed=lambda name: True)
    Choice(backend='jax', note=None)
"""

import collections
import importlib.util
import json
import os
import re
import sys

from tb_featureviz.cli.common import EXIT_FAILURE, CommandError

#: The backends the command line picks from, in order of preference.
BACKENDS = ("tensorflow", "jax", "torch")

Choice = collections.namedtuple("Choice", ["backend", "note"])


def is_installed(backend):
    """Whether the backend's package can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(backend) is not None
    except (ImportError, ValueError):
        return False


def keras_config_path(environ=None):
    """Where Keras reads ``keras.json``: ``$KERAS_HOME`` or ``~/.keras``."""
    environ = os.environ if environ is None else environ
    home = environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "keras.json")


def _configured(path):
    """The backend ``keras.json`` names, or None when the file is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            backend = json.load(handle).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    return backend if isinstance(backend, str) else None


def _shown(path):
    home = os.path.expanduser("~")
    return "~" + path[len(home):] if home not in ("", "/") and path.startswith(home + os.sep) else path


def choose_backend(flag=None, environ=None, installed=is_installed):
    """The backend to run on, and a note when the command line picked it.

    Args:
        flag: the ``--backend`` value, or None.
        environ: the environment (default ``os.environ``); only read.
        installed: ``backend -> bool``.

    Returns:
        ``Choice(backend, note)``: ``backend`` None leaves the choice to
        Keras (``keras.json`` names an installed backend, or one the command
        line doesn't know); ``note`` is a line to show, or None.

    Raises:
        CommandError: ``--backend`` or ``KERAS_BACKEND`` names a backend that
            is not installed (2), or none is installed (1).
    """
    environ = os.environ if environ is None else environ
    available = [name for name in BACKENDS if installed(name)]
    listed = ", ".join(available) or "none"
    if flag is not None:
        if not installed(flag):
            raise CommandError(
                f"--backend expects an installed Keras backend (installed: {listed}). Received: {flag!r}, "
                f"which is not installed (pip install 'tb-featureviz[{flag}]')"
            )
        return Choice(flag, None)
    from_env = environ.get("KERAS_BACKEND")
    if from_env:
        if from_env in BACKENDS and not installed(from_env):
            raise CommandError(
                f"KERAS_BACKEND expects an installed Keras backend (installed: {listed}). Received: "
                f"KERAS_BACKEND={from_env!r}, which is not installed; unset it or pass --backend"
            )
        return Choice(None, None)
    path = keras_config_path(environ)
    configured = _configured(path)
    if configured is not None and (configured not in BACKENDS or installed(configured)):
        return Choice(None, None)
    if not available:
        raise CommandError(
            "tb-featureviz expects a Keras backend: tensorflow, jax or torch. Received: none of them is "
            "installed (pip install 'tb-featureviz[tensorflow]', '[jax]' or '[torch]')",
            status=EXIT_FAILURE,
        )
    why = (f"{_shown(path)} names {configured!r}, which is not installed" if configured is not None
           else f"there is no {_shown(path)}")
    return Choice(available[0], f"using the {available[0]} backend: KERAS_BACKEND is not set and {why} "
                                "(pass --backend to choose)")


# TensorFlow 2.21 logs these at import and at its first operation, before
# absl's logging is set up, so TF_CPP_MIN_LOG_LEVEL can't silence them
# (checked here): info lines, and on a machine without a GPU, cuInit's error.
_IMPORT_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} [\d:.]+\s+\d+ \w+\.cc:\d+\] .*"
    r"|E\d{4} [\d:.]+\s+\d+ cuda_\w+\.cc:\d+\] failed call to cuInit: .*"
    r"|To enable the following instructions: .* in other operations, rebuild TensorFlow with the "
    r"appropriate compiler flags\.)$"
)


def import_keras(choice, debug=False):
    """Set ``KERAS_BACKEND`` and import Keras, keeping its start-up info lines off stderr.

    Lines written to file descriptor 2 while Keras loads and runs its first
    operation are held back and written again, less the lines that match
    ``_IMPORT_NOISE`` (all of them with ``debug``).

    Returns:
        the backend Keras runs on.

    Raises:
        CommandError: Keras is missing (1), or it was imported earlier in
            this process with another backend (1).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "keras" in sys.modules:
        import keras

        running = keras.backend.backend()
        if choice.backend is not None and running != choice.backend:
            raise CommandError(
                f"--backend {choice.backend} must be set before Keras is imported. Received: a process that "
                f"already runs Keras on {running}", status=EXIT_FAILURE,
            )
        return running
    if choice.backend is not None:
        os.environ["KERAS_BACKEND"] = choice.backend
    with _HeldStderr(drop=None if debug else _IMPORT_NOISE):
        try:
            import keras
        except ImportError as error:
            raise CommandError(
                "tb-featureviz expects Keras 3 with a backend (pip install 'tb-featureviz[tensorflow]'). "
                f"Received: {type(error).__name__}: {error}", status=EXIT_FAILURE,
            ) from error
        keras.ops.zeros((1,))  # TensorFlow sets up its devices (and logs about it) at the first operation
        return keras.backend.backend()


class _HeldStderr:
    """Redirects file descriptor 2 to a temporary file; writes it back, filtered, on exit."""

    def __init__(self, drop):
        self.drop = drop

    def __enter__(self):
        import tempfile

        sys.stderr.flush()
        self._file = tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc_info):
        sys.stderr.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._file.seek(0)
        text = self._file.read().decode("utf-8", "replace")
        self._file.close()
        kept = [line for line in text.splitlines() if not (self.drop and self.drop.match(line))]
        if kept:
            sys.stderr.write("\n".join(kept) + "\n")
            sys.stderr.flush()
