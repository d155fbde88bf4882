"""``--backend`` and the backend the CLI picks when none is configured.

Runs ``tb-featureviz log`` in subprocesses (Keras reads its backend once,
at import). The TensorFlow cases use this environment; the JAX case uses
``.venv-jax`` (where TensorFlow is not installed) and is skipped without it.
"""

import importlib.util
import json
import os
import subprocess

import pytest

from tests import ROOT
from tests.cli_helpers import cli_env, run_cli, small_model_path
from tests.eventfiles import tensors_by_tag

JAX_PYTHON = os.path.join(ROOT, ".venv-jax", "bin", "python")


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return small_model_path(tmp_path_factory)


def log_conv1(model_path, logdir, env, python=None):
    return run_cli("log", "--model", model_path, "--layers", "conv1", "--logdir", logdir, env=env, python=python)


def assert_logged_on(result, backend, logdir):
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith(f"(Keras on {backend})")
    assert "featureviz/conv1/activations" in tensors_by_tag(str(logdir / "featureviz"))


@pytest.mark.skipif(importlib.util.find_spec("jax") is not None, reason="needs an environment without JAX")
def test_backend_flag_wins_over_the_environment(tmp_path, model_path):
    # KERAS_BACKEND names JAX, which is not installed here: the flag decides before Keras loads.
    result = log_conv1(model_path, tmp_path / "logs", cli_env(KERAS_BACKEND="jax"))
    assert result.returncode == 2  # without the flag: refused, JAX is not installed ...
    result = run_cli("log", "--backend", "tensorflow", "--model", model_path, "--layers", "conv1",
                     "--logdir", tmp_path / "logs", env=cli_env(KERAS_BACKEND="jax"))
    assert result.stderr == ""  # ... with it: no note, no error
    assert_logged_on(result, "tensorflow", tmp_path / "logs")


def test_keras_json_naming_a_missing_backend(tmp_path, model_path):
    missing = "torch" if not _importable("torch") else "jax" if not _importable("jax") else None
    if missing is None:
        pytest.skip("JAX and torch are both installed here")
    home = tmp_path / "keras-home"
    home.mkdir()
    (home / "keras.json").write_text(json.dumps({"backend": missing}))
    result = log_conv1(model_path, tmp_path / "logs", cli_env(KERAS_BACKEND=None, KERAS_HOME=str(home)))
    assert result.stderr.splitlines() == [
        f"tb-featureviz log: note: using the tensorflow backend: KERAS_BACKEND is not set and "
        f"{home / 'keras.json'} names {missing!r}, which is not installed (pass --backend to choose)"
    ]
    assert_logged_on(result, "tensorflow", tmp_path / "logs")


def test_no_keras_json(tmp_path, model_path):
    home = tmp_path / "keras-home"
    home.mkdir()
    result = log_conv1(model_path, tmp_path / "logs", cli_env(KERAS_BACKEND=None, KERAS_HOME=str(home)))
    assert result.stderr.splitlines() == [
        f"tb-featureviz log: note: using the tensorflow backend: KERAS_BACKEND is not set and there is no "
        f"{home / 'keras.json'} (pass --backend to choose)"
    ]
    assert_logged_on(result, "tensorflow", tmp_path / "logs")


def _importable(module, python=None):
    import sys

    check = subprocess.run([python or sys.executable, "-c", f"import importlib.util, sys; "
                            f"sys.exit(importlib.util.find_spec({module!r}) is None)"], capture_output=True)
    return check.returncode == 0


def _jax_env_ready():
    return os.path.exists(JAX_PYTHON) and _importable("jax", JAX_PYTHON) and not _importable("tensorflow", JAX_PYTHON)


@pytest.mark.skipif(not _jax_env_ready(), reason=".venv-jax (JAX without TensorFlow) is not set up")
def test_picks_jax_where_tensorflow_is_not_installed(tmp_path, model_path):
    home = tmp_path / "keras-home"
    home.mkdir()
    (home / "keras.json").write_text(json.dumps({"backend": "tensorflow"}))  # what Keras writes by default
    env = cli_env(KERAS_BACKEND=None, KERAS_HOME=str(home), PYTHONPATH=ROOT)
    result = log_conv1(model_path, tmp_path / "logs", env, python=JAX_PYTHON)
    assert result.stderr.splitlines() == [
        f"tb-featureviz log: note: using the jax backend: KERAS_BACKEND is not set and {home / 'keras.json'} "
        "names 'tensorflow', which is not installed (pass --backend to choose)"
    ]
    assert_logged_on(result, "jax", tmp_path / "logs")
