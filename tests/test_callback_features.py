"""FeatureVizCallback(features_every=N): feature visualizations on a schedule, written with the step."""

import json
import os

import numpy as np
import pytest

from tb_featureviz import FeatureVizCallback
from tests.eventfiles import tensors_by_tag
from tests.models import gradient_image, small_cnn

pytestmark = pytest.mark.backends  # also run in .venv-jax and .venv-torch (.ci/run)


def fit(tmp_path, **kwargs):
    import keras

    model = small_cnn()
    model.compile(keras.optimizers.SGD(0.01), "mse")
    x = np.random.default_rng(0).random((8, 16, 16, 3)).astype(np.float32)
    y = np.zeros((8, 2), np.float32)
    callback = FeatureVizCallback(tmp_path, gradient_image(), layers=["conv1", "sep2"], **kwargs)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[callback])
    return tensors_by_tag(os.path.join(tmp_path, "featureviz"))


def test_features_on_every_other_logged_step(tmp_path):
    written = fit(tmp_path, features_every=2, features_channels=[1, 3], features_steps=4, features_size=8)
    # Logged steps 0, 2, 4: the first and the third get feature visualizations
    # of the last feature-map layer.
    assert [step for step, _ in written["featureviz/sep2/activations"]] == [0, 2, 4]
    assert [step for step, _ in written["featureviz/sep2/features"]] == [0, 4]
    assert "featureviz/conv1/features" not in written
    record = json.loads(written["featureviz/sep2/features/record"][-1][1].item())
    assert (record["channels"], record["total_channels"], record["tile_height"]) == ([1, 3], 6, 8)
    assert record["optimisation"]["steps"] == 4 and len(record["quality"]["ratio"]) == 2


def test_features_are_off_by_default(tmp_path):
    written = fit(tmp_path)
    assert not [tag for tag in written if tag.endswith("/features")]


@pytest.mark.parametrize("kwargs, message", [
    ({"features_every": 0}, "FeatureVizCallback expects features_every >= 1 or None. Received: features_every=0"),
    ({"features_steps": 0}, "FeatureVizCallback expects features_steps >= 1. Received: features_steps=0"),
    ({"features_channels": [2, -1]}, "FeatureVizCallback expects features_channels >= 0. Received: features_channels=-1"),
])
def test_feature_arguments_are_checked(tmp_path, kwargs, message):
    with pytest.raises(ValueError) as raised:
        FeatureVizCallback(tmp_path, gradient_image(), **kwargs)
    assert str(raised.value) == message
