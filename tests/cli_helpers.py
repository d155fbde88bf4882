"""Helpers of the command line tests: run ``python -m tb_featureviz`` and check what it printed."""

import os
import signal
import subprocess
import sys
import time

from tests import ROOT

_SMALL_MODEL = {}


def cli_env(**extra):
    """The environment of a CLI run: the TensorFlow backend, TensorFlow's C++ logs quiet.

    ``name=None`` removes a variable.
    """
    environment = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    for name, value in extra.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


def run_cli(*args, env=None, timeout=300, python=None, cwd=None):
    """``python -m tb_featureviz ARGS`` in a subprocess; the CompletedProcess (text)."""
    return subprocess.run(
        [python or sys.executable, "-m", "tb_featureviz", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env=env if env is not None else cli_env(),
        cwd=cwd or ROOT,
    )


def assert_error(result, status, line):
    """Exit ``status``, no traceback, and exactly ``line`` on stderr."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines() == [line], result.stderr
    assert result.returncode == status, (result.returncode, result.stderr)


def small_model_path(tmp_path_factory):
    """A saved ``tests.models.small_cnn`` (``.keras``), written once per test session."""
    if "path" not in _SMALL_MODEL:
        from tests.models import small_cnn

        path = tmp_path_factory.mktemp("cli-model") / "small.keras"
        small_cnn().save(path)
        _SMALL_MODEL["path"] = str(path)
    return _SMALL_MODEL["path"]


def start_board(command, env=None, cwd=None, timeout=240):
    """Start a ``tb-featureviz board ...`` command line; wait for "Press Ctrl-C".

    Returns:
        ``(process, stdout lines so far)``.
    """
    process = subprocess.Popen([str(part) for part in command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env if env is not None else cli_env(), cwd=cwd or ROOT)
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            return process, lines
    process.kill()
    raise AssertionError(f"board did not start: {lines} {process.stderr.read()}")


def stop_board(process):
    """SIGINT, as Ctrl-C would; returns ``(exit status, rest of stdout, stderr)``."""
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, out, err

