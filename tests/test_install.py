"""The wheel, installed into a fresh virtual environment: ``tb-featureviz log`` and ``board`` from it.

How the environment is made, and why (offline-ish, honest about what is reused):

* The wheel is built from a copy of the sources (``pip wheel --no-deps``),
  so nothing of the checkout is imported at run time.
* The fresh environment is ``python -m venv --without-pip``: its own
  ``site-packages`` holds only what is installed into it.
* The dependencies (TensorFlow is about 600 MB) are not downloaded again:
  a ``.pth`` file puts a folder of links to the test environment's
  installed packages on its ``sys.path``, leaving out that environment's
  own (editable) tb-featureviz. pip then installs the wheel WITH dependency
  resolution and ``--no-index``: every requirement of ``setup.py`` must be
  met by what is there, or the install fails.
* Everything runs from a temporary directory with no ``PYTHONPATH``, and
  the test checks that ``tb_featureviz`` is imported from the new
  environment's ``site-packages``.

About 20 s here (the wheel builds without build isolation, from the test
environment's setuptools), so it is not marked slow.
"""

import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

from tests import ROOT
from tests.cli_helpers import cli_env, small_model_path, start_board, stop_board
from tests.eventfiles import tensors_by_tag
from tests.plugin_fixtures import fetch_json
from tests.ports import free_port, port_is_free


def _own_distribution(name):
    """Whether a site-packages entry belongs to the test environment's own tb-featureviz install."""
    lowered = name.lower()
    return lowered.startswith(("tb_featureviz", "tb-featureviz", "__editable__.tb_featureviz",
                               "__editable___tb_featureviz"))


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    source.mkdir()
    for name in ("setup.py", "README.md", "pyproject.toml"):
        shutil.copy(os.path.join(ROOT, name), source / name)
    for name in ("tb_featureviz", "frontend"):
        shutil.copytree(os.path.join(ROOT, name), source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheels = base / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheels), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("tb_featureviz-*.whl")

    env_dir = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    deps = base / "deps"
    deps.mkdir()
    for folder in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        for name in os.listdir(folder):
            if not _own_distribution(name) and not name.endswith(".pth") and not (deps / name).exists():
                os.symlink(os.path.join(folder, name), deps / name)
    with open(os.path.join(site, "test-dependencies.pth"), "w", encoding="utf-8") as handle:
        handle.write(str(deps) + "\n")

    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "-q",
                                str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return env_dir


def _env():
    return cli_env(PYTHONPATH=None)


def test_wheel_installs_the_package_and_its_data(venv, tmp_path):
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import os, tb_featureviz; from tb_featureviz.cli import SAMPLES; "
         "print(tb_featureviz.__file__); print(os.path.isfile(SAMPLES['cat']) and SAMPLES['cat'])"],
        capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=120)
    assert where.returncode == 0, where.stderr
    package, cat = where.stdout.splitlines()
    assert package.startswith(str(venv)) and cat.startswith(str(venv)) and cat.endswith("chelsea.png")
    assert os.access(venv / "bin" / "tb-featureviz", os.X_OK)


def test_log_and_board_from_the_installed_command(venv, tmp_path, tmp_path_factory):
    command = str(venv / "bin" / "tb-featureviz")
    logdir = tmp_path / "logs"
    model = small_model_path(tmp_path_factory)
    result = subprocess.run([command, "log", "--sample", "cat", "--model", model, "--layers", "conv1",
                             "--logdir", str(logdir)], capture_output=True, text=True, cwd=tmp_path, env=_env(),
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    written = tensors_by_tag(str(logdir / "featureviz"))
    assert {"featureviz/conv1/activations", "featureviz/conv1/filters", "featureviz/_probe/probe"} <= set(written)

    port = free_port()
    process, lines = start_board([command, "board", "--logdir", logdir, "--port", port], env=_env(), cwd=tmp_path)
    try:
        assert lines[-2:] == [f"Feature maps: http://127.0.0.1:{port}/#featureviz", "Press Ctrl-C to stop."]
        assert fetch_json(f"http://127.0.0.1:{port}/data/plugin/featureviz/runs") == {
            "runs": ["featureviz"], "sampling": {"images": 0, "featureviz": 0}}
    finally:
        code, _out, err = stop_board(process)
    assert code == 0, err
    assert port_is_free(port)
