"""The pure subpackages import without Keras or any backend: every module of render/ and scalars/.

``tb_featureviz.render`` and ``tb_featureviz.scalars`` are numpy only (grids
are drawn on worker threads, from a step already captured), so each of their
modules must import in a process where ``import keras``, ``import tensorflow``,
``import jax`` and ``import torch`` raise ImportError, as a meta-path hook
makes them do here (the way tests/plugin/test_plugin_no_tensorflow.py blocks
TensorFlow). The modules are found by walking the package folders, so a new
module is covered without editing this file.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests import ROOT

PURE = ("render", "scalars")
BLOCKED = ("keras", "tensorflow", "jax", "torch")

SCRIPT = textwrap.dedent(
    """
    import importlib, json, sys

    BLOCKED = tuple(json.loads(sys.argv[1]))

    class BlockBackends:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name.split('.')[0]} is blocked in this test (import {name})")
            return None

    sys.meta_path.insert(0, BlockBackends())
    for name in BLOCKED:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
        else:
            raise AssertionError(f"the hook did not block {name}")

    errors = {}
    for module in json.loads(sys.argv[2]):
        try:
            importlib.import_module(module)
        except Exception as error:
            errors[module] = f"{type(error).__name__}: {error}"
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print(json.dumps({"errors": errors, "blocked_modules_loaded": loaded}))
    """
)


def modules_of(package):
    """``tb_featureviz.<package>`` and every module in its folder, by file name."""
    folder = os.path.join(ROOT, "tb_featureviz", package)
    names = sorted(name[:-3] for name in os.listdir(folder) if name.endswith(".py") and name != "__init__.py")
    return [f"tb_featureviz.{package}"] + [f"tb_featureviz.{package}.{name}" for name in names]


def test_the_walk_finds_the_modules():
    assert {"tb_featureviz.render.grids", "tb_featureviz.render.png", "tb_featureviz.render.kernels"} <= set(
        modules_of("render"))
    assert {"tb_featureviz.scalars.drift", "tb_featureviz.scalars.health"} <= set(modules_of("scalars"))


@pytest.mark.parametrize("package", PURE)
def test_every_module_imports_with_keras_and_the_backends_blocked(package):
    modules = modules_of(package)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(BLOCKED), json.dumps(modules)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"errors": {}, "blocked_modules_loaded": []}
