"""Shared pytest set-up: quiet TensorFlow, one Keras backend per process, backend markers.

Test helpers are modules of the ``tests`` package, imported one way:
``from tests import plugin_fixtures as pf``, ``from tests.models import small_cnn``.

The Keras backend is chosen before Keras is first imported: ``KERAS_BACKEND``
when it is set, else the first of TensorFlow, JAX and PyTorch that is
installed (so ``.venv-jax/bin/python -m pytest tests/test_logger.py`` runs
on JAX without ``~/.keras/keras.json`` deciding). Each backend's suite runs
in its own process; ``.ci/run`` lists the files.

Markers:

* ``tensorflow``: the test needs TensorFlow installed (``tf.io.gfile``,
  Keras' own ``TensorBoard`` callback); skipped where it is not.
* ``backend(name, ...)``: the test runs only on these Keras backends.
"""

import importlib.util
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BACKENDS = ("tensorflow", "jax", "torch")


def _default_backend():
    for name in BACKENDS:
        if importlib.util.find_spec(name) is not None:
            return name
    return "tensorflow"


os.environ.setdefault("KERAS_BACKEND", _default_backend())


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "tensorflow: needs TensorFlow installed; skipped where it is not (the JAX and torch suites)")
    config.addinivalue_line("markers", "backend(*names): runs only on these Keras backends")


def pytest_report_header(config):
    return f"Keras backend: {os.environ['KERAS_BACKEND']}"


def pytest_collection_modifyitems(config, items):
    has_tensorflow = importlib.util.find_spec("tensorflow") is not None
    active = os.environ["KERAS_BACKEND"]
    for item in items:
        if item.get_closest_marker("tensorflow") and not has_tensorflow:
            item.add_marker(pytest.mark.skip(reason="needs TensorFlow, which is not installed here"))
        marker = item.get_closest_marker("backend")
        if marker and active not in marker.args:
            item.add_marker(pytest.mark.skip(
                reason=f"runs on the {'/'.join(marker.args)} backend; this process runs {active}"))
