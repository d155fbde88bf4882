"""Feature visualization of layers with a built-in activation: ``Conv2D(..., activation="relu")``.

Most Keras models (``keras.applications.VGG16`` among them) fuse the ReLU
into the conv layer. On a trained network most channels of such a layer
are off everywhere on the flat grey start image, so their output passes no
gradient: the visualizer must reach the pre-activation. The networks are
trained here (``tests/trained_cnn.py``) and 16 channels of the layer are
made to be off on grey and on for some training picture, by construction,
so the hard case holds on every backend.
"""

import warnings

import numpy as np
import pytest

import keras

from tb_featureviz.featurevis import visualizer as featurevis, target as featurevis_target
from tb_featureviz.featurevis import objectives, optimiser
from tests import trained_cnn

pytestmark = pytest.mark.backends  # also run in .venv-jax and .venv-torch (.ci/run)

SIZE = trained_cnn.SIZE
STEPS = 256


@pytest.fixture(scope="module", params=["fused", "fused_separable"])
def fused(request):
    """``(model, layer, channels, result)``: 16 constructed channels of conv3 (Conv2D) or sep2 (SeparableConv2D)."""
    model, layer, channels = trained_cnn.trained(request.param)
    weights = [w.copy() for w in model.get_weights()]
    result = featurevis.visualize_features(model, layer, channels, steps=STEPS, size=SIZE, input_range=(0.0, 1.0))
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)  # nothing written into the model
    return model, layer, channels, result


def test_every_channel_off_on_the_start_image_is_optimised_tenfold_above_noise(fused):
    model, layer, channels, result = fused
    assert result.redirected and result.layer == layer and len(channels) == 16
    assert (result.history[0] == 0).all(), result.history[0]  # the hard case: no gradient through the ReLU
    quality = result.quality()
    ratio, objective = np.array(quality["ratio"]), np.array(quality["objective"])
    assert np.isfinite(ratio).all() and (ratio >= 10).all(), quality
    assert (objective > 0).all() and "dead" not in quality["status"], quality
    # Not flat: every image has structure (grey levels spread by more than 10).
    spread = result.images.reshape(len(channels), -1).astype(np.float64).std(axis=1)
    assert (spread > 10).all(), spread


def test_without_reaching_the_pre_activation_the_same_channels_stay_grey(fused, monkeypatch):
    """What the issue found: the fused ReLU's output alone gives no gradient from the grey start."""
    model, layer, channels, _ = fused
    monkeypatch.setattr(featurevis_target, "redirect_for", lambda info, owner: None)
    plain = featurevis.visualize_features(model, layer, channels, steps=32, size=SIZE, input_range=(0.0, 1.0))
    assert not plain.redirected and (plain.history == 0).all()
    assert (np.asarray(plain.objective_values) == 0).all()
    assert plain.images.reshape(len(channels), -1).astype(np.float64).std(axis=1).max() < 2  # flat grey


def test_a_channel_that_no_image_turns_on_is_reported_dead():
    model = trained_cnn.fused_cnn()  # untrained: numpy-drawn kernels
    conv3 = model.get_layer("conv3")
    kernel, bias = conv3.get_weights()
    bias[0] = -1e4  # far beyond anything an image in [0, 1] reaches
    conv3.set_weights([kernel, bias])
    result = featurevis.visualize_features(model, "conv3", [0, 1], steps=48, size=SIZE, input_range=(0.0, 1.0))
    quality = result.quality()
    assert quality["status"][0] == "dead" and quality["ratio"][0] == 0.0 and quality["objective"][0] == 0.0
    assert quality["status"][1] != "dead" and quality["objective"][1] > 0
    assert featurevis.quality_record(result)["status"] == quality["status"]
    assert result.stayed_off().tolist() == [True, False]


@pytest.mark.parametrize("name,clipping", [
    ("relu", True), ("relu6", True), ("hard_sigmoid", True), ("hard_silu", True),
    ("linear", False), ("sigmoid", False), ("tanh", False), ("elu", False), ("gelu", False), ("silu", False),
    ("softplus", False),
])
def test_which_activations_clip(name, clipping):
    assert featurevis_target.clips(keras.activations.get(name)) is clipping


def _built(layer, shape=(None, None, 3)):
    inputs = keras.Input(shape)
    return keras.Model(inputs, layer(inputs)), layer


@pytest.mark.parametrize("make", [
    lambda: keras.layers.Conv2D(5, 3, activation="relu6", name="target"),
    lambda: keras.layers.SeparableConv2D(5, 3, activation="relu", name="target"),
    lambda: keras.layers.DepthwiseConv2D(3, activation="hard_sigmoid", name="target"),
    lambda: keras.layers.Conv2DTranspose(5, 3, strides=2, activation="relu", name="target"),
    lambda: keras.layers.Dense(5, activation="relu", name="target"),
], ids=["Conv2D-relu6", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose", "Dense"])
def test_the_truncated_model_ends_in_the_pre_activation_of_the_layers_own_weights(make):
    keras.utils.set_random_seed(1)
    model, layer = _built(make())
    layer.set_weights([np.random.default_rng(2).normal(size=w.shape).astype(np.float32) for w in layer.get_weights()])
    vis = featurevis.FeatureVisualizer(model, "target", size=12)
    assert vis.redirect is not None and vis.redirect.fused
    # The layer's own variables, not copies.
    assert {id(v) for v in layer.weights} <= {id(v) for v in vis.truncated.weights}
    x = keras.ops.convert_to_tensor(np.random.default_rng(3).normal(size=(2, 12, 12, 3)).astype(np.float32))
    pre = keras.ops.convert_to_numpy(vis.truncated(x))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(vis.redirect.activation(pre)),
                               keras.ops.convert_to_numpy(model(x)), rtol=1e-5, atol=1e-5)
    assert pre.min() < 0  # unclipped
    result = vis.run([0, 1], steps=4)
    assert result.redirected and result.images.shape == (2, 12, 12, 3)


def test_the_step_reads_the_layers_current_weights():
    """The compiled step (a stateless call on JAX) maps the fused layer's variables: new weights are seen."""
    model, layer = _built(keras.layers.Conv2D(3, 3, activation="relu", name="target"), shape=(None, None, 3))
    vis = featurevis.FeatureVisualizer(model, "target", size=10, input_range=(0.0, 1.0))
    step = optimiser.make_optimiser(vis)
    images = np.random.default_rng(4).random((2, 10, 10, 3)).astype(np.float32)
    vectors = objectives.objective_vectors("channel", [0, 2], 3)

    def direct():
        out = keras.ops.convert_to_numpy(model(keras.ops.convert_to_tensor(images)))
        return np.array([out[0, ..., 0].mean(), out[1, ..., 2].mean()])

    for seed in (5, 6):
        layer.set_weights([np.abs(np.random.default_rng(seed).normal(size=w.shape)).astype(np.float32)
                           for w in layer.get_weights()])
        np.testing.assert_allclose(step.evaluate(images, vectors), direct(), rtol=1e-5)


def test_a_layer_whose_activation_cant_be_separated_is_optimised_directly_with_a_warning():
    class SquaredRelu(keras.layers.Conv2D):  # its call does more than the base class' call
        def call(self, inputs):
            return keras.ops.square(super().call(inputs))

    model, _ = _built(SquaredRelu(4, 3, activation="relu", name="target"), shape=(None, None, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vis = featurevis.FeatureVisualizer(model, "target", size=10)
    assert vis.redirect is None
    assert [str(w.message) for w in caught] == [
        "visualize_features: the activation of layer 'target' (SquaredRelu) could not be separated from its "
        "call, so its output is optimised directly: a channel that is off everywhere on the start image may "
        "stay flat grey."]
