"""Shared pytest set-up: quiet TensorFlow, small models, event-file readers."""

import os
import sys

# Test helpers import either as `tests.models` or plainly as `models`.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402


@pytest.fixture
def small_cnn():
    """A 3-conv CNN on 16x16 RGB with fixed, deterministic weights."""
    from tests.models import small_cnn as build

    return build()
