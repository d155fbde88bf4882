"""Shared pytest set-up: quiet TensorFlow, one Keras backend per process, the suites and markers.

The tests mirror the package: ``tests/render/`` tests ``tb_featureviz/render``,
and so on for ``scalars``, ``model``, ``writing``, ``featurevis``, ``plugin``
and ``cli``; ``tests/browser/`` drives the panel (``frontend/``) in Chromium;
the tests of the top-level modules (logger, callback, metadata, ...) and of
the whole (backends, Xception, examples, install) sit in ``tests/`` itself.
Test helpers are modules of the ``tests`` package, imported one way:
``from tests import plugin_fixtures as pf``, ``from tests.models import small_cnn``.
Fixtures are registered by conftest.py files (``tests/browser/conftest.py``:
``browser``, ``page``), never imported by name into a test module.

The Keras backend is chosen before Keras is first imported: ``KERAS_BACKEND``
when it is set, else the first of TensorFlow, JAX and PyTorch that is
installed (so ``.venv-jax/bin/python -m pytest tests/test_logger.py`` runs
on JAX without ``~/.keras/keras.json`` deciding). Each backend's suite runs
in its own process.

The suites (``.ci/run``):

* the main one, in ``.venv`` (TensorFlow): everything under ``testpaths``
  (pytest.ini), the docstring examples of ``tb_featureviz`` included;
* one per other backend, in ``.venv-jax`` and ``.venv-torch`` (no TensorFlow,
  no Playwright): ``pytest -m backends``, the modules marked
  ``pytestmark = pytest.mark.backends``. Every other module must still
  import there (collection comes before selection); the browser folder,
  which needs Playwright, is left out where neither Playwright nor
  TensorFlow is installed (``collect_ignore`` below).

Markers (declared in pytest.ini; ``--strict-markers`` refuses others):

* ``backends``: the module runs on every Keras backend (selected by
  ``-m backends`` in the JAX and torch suites).
* ``tensorflow``: the test needs TensorFlow installed (``tf.io.gfile``,
  Keras' own ``TensorBoard`` callback); skipped where it is not.
* ``backend(name, ...)``: the test runs only on these Keras backends.
"""

import importlib.util
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BACKENDS = ("tensorflow", "jax", "torch")
HAS_TENSORFLOW = importlib.util.find_spec("tensorflow") is not None
HAS_PLAYWRIGHT = importlib.util.find_spec("playwright") is not None


def _default_backend():
    for name in BACKENDS:
        if importlib.util.find_spec(name) is not None:
            return name
    return "tensorflow"


os.environ.setdefault("KERAS_BACKEND", _default_backend())

# Playwright comes with TensorFlow in the [test] extra (.venv); the
# per-backend environments ([test-backend]) have neither. There the browser
# tests and their helpers are not collected; where TensorFlow is installed a
# missing Playwright stays a collection error: the main suite runs them all.
collect_ignore = [] if HAS_PLAYWRIGHT or HAS_TENSORFLOW else ["browser", "browser_fixtures.py"]


def pytest_report_header(config):
    lines = [f"Keras backend: {os.environ['KERAS_BACKEND']}"]
    if collect_ignore:
        lines.append("browser tests: not collected (neither Playwright nor TensorFlow is installed here)")
    return lines


def pytest_collection_modifyitems(config, items):
    active = os.environ["KERAS_BACKEND"]
    for item in items:
        if item.get_closest_marker("tensorflow") and not HAS_TENSORFLOW:
            item.add_marker(pytest.mark.skip(reason="needs TensorFlow, which is not installed here"))
        marker = item.get_closest_marker("backend")
        if marker and active not in marker.args:
            item.add_marker(pytest.mark.skip(
                reason=f"runs on the {'/'.join(marker.args)} backend; this process runs {active}"))
