"""Shared pytest set-up: quiet TensorFlow, the TensorFlow backend unless one is set.

Test helpers are modules of the ``tests`` package, imported one way:
``from tests import plugin_fixtures as pf``, ``from tests.models import small_cnn``.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
