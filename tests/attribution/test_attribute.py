"""attribute(): values against the papers' formulas, meaning on a trained CNN, errors, reuse; every backend.

Values: a nested Xception fine-tuning model (preprocessing outside the
base, a softmax head). The gradient of the logits with respect to the last
block's activations is computed here independently, with the backend's own
autodiff on a head written out by hand (global average pooling, then the
Dense layer's weights before its softmax), and the maps with the published
formulas; the library's maps must match to 1e-4 of their maximum.

Meaning: a small CNN trained here to name the object in a picture (a disc,
a hollow square, or nothing) wherever it lies; with a class for "nothing",
the evidence for a shape is where the shape is, by construction of the
task. Each method's maximum must fall on the object in at least 80 % of
test pictures (all do, on every backend, as measured).
"""

import numpy as np
import pytest

import keras

from tb_featureviz.attribution import attribute
from tb_featureviz.attribution.attributor import Attributor
from tb_featureviz.model.activations import ActivationExtractor
from tb_featureviz.model.layers import select_layers
from tests.autodiff import backend_gradient

pytestmark = pytest.mark.backends

XCEPTION_SIZE = 96  # Xception takes 71 px and more; 96 keeps the test quick
SHAPES = 48


@pytest.fixture(scope="module")
def finetune():
    """``Rescaling -> Xception (nested, no top) -> GAP -> Dense(5, softmax)``, random weights, and 3 pictures."""
    keras.utils.set_random_seed(0)
    base = keras.applications.Xception(weights=None, include_top=False,
                                       input_shape=(XCEPTION_SIZE, XCEPTION_SIZE, 3))
    inputs = keras.Input((XCEPTION_SIZE, XCEPTION_SIZE, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1, name="preprocess")(inputs)
    x = base(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(5, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="finetune")
    pictures = np.random.default_rng(1).integers(0, 256, (3, XCEPTION_SIZE, XCEPTION_SIZE, 3)).astype(np.uint8)
    return model, base, pictures


def reference(model, base, pictures, classes):
    """Activations, gradients of each target logit and logits, computed without the library."""
    rescaled = keras.ops.convert_to_tensor(pictures.astype(np.float32) / 127.5 - 1.0)
    activations = keras.ops.convert_to_numpy(base(rescaled, training=False)).astype(np.float64)
    kernel, bias = model.get_layer("predictions").get_weights()
    logits = activations.mean(axis=(1, 2)) @ kernel + bias
    gradients = []
    for t in range(classes.shape[1]):
        pick = np.zeros((len(pictures), kernel.shape[1]), np.float32)
        pick[np.arange(len(pictures)), classes[:, t]] = 1.0

        def head(a, pick=keras.ops.convert_to_tensor(pick)):  # each picture's target logit, from the activations
            pooled = keras.ops.mean(a, axis=(1, 2))
            scores = keras.ops.matmul(pooled, keras.ops.convert_to_tensor(kernel)) + keras.ops.convert_to_tensor(bias)
            return keras.ops.sum(scores * pick, axis=1)

        gradients.append(backend_gradient(head, activations.astype(np.float32)))
    return activations, np.stack(gradients, axis=1).astype(np.float64), logits


def paper_grad_cam(a, g):
    return np.maximum(np.einsum("nhwc,ntc->nthw", a, g.mean(axis=(2, 3))), 0)


def paper_grad_cam_plus_plus(a, g):
    # Chattopadhay et al. 2018, eq. 19 with the exponential score: alpha = g^2 / (2 g^2 + sum_ab A g^3).
    out = np.zeros(g.shape[:4])
    for n in range(g.shape[0]):
        for t in range(g.shape[1]):
            weights = np.zeros(a.shape[-1])
            for k in range(a.shape[-1]):
                grad, act = g[n, t, ..., k], a[n, ..., k]
                denominator = 2 * grad ** 2 + act.sum() * grad ** 3
                alpha = np.where(grad != 0, grad ** 2 / np.where(denominator != 0, denominator, 1), 0)
                weights[k] = (alpha * np.maximum(grad, 0)).sum()
            out[n, t] = np.maximum((a[n] * weights).sum(axis=-1), 0)
    return out


def paper_layer_cam(a, g):
    return np.maximum((np.maximum(g, 0) * a[:, None]).sum(axis=-1), 0)


@pytest.mark.parametrize("method,formula", [("gradcam", paper_grad_cam), ("gradcam++", paper_grad_cam_plus_plus),
                                            ("layercam", paper_layer_cam)])
def test_maps_equal_the_published_formulas_on_a_nested_xception(finetune, method, formula):
    model, base, pictures = finetune
    result = attribute(model, pictures, method=method, targets="top2")
    assert result.layer == "xception/block14_sepconv2_act" and result.class_name == "Activation"
    activations, gradients, logits = reference(model, base, pictures, result.classes)
    np.testing.assert_allclose(result.logits, logits, rtol=1e-4, atol=1e-4)
    assert result.classes.tolist() == np.argsort(-logits, axis=1, kind="stable")[:, :2].tolist()
    probabilities = keras.ops.convert_to_numpy(model(pictures.astype(np.float32)))
    np.testing.assert_allclose(result.probabilities, np.take_along_axis(probabilities, result.classes, 1), rtol=1e-4)
    np.testing.assert_allclose(result.scores, np.take_along_axis(logits, result.classes, 1), rtol=1e-4, atol=1e-4)
    want = formula(activations, gradients)
    assert result.heatmaps.shape == want.shape == (3, 2, 3, 3)
    assert want.max() > 0
    np.testing.assert_allclose(result.heatmaps, want, rtol=0, atol=1e-4 * want.max())


def test_a_layer_inside_the_base_behind_a_skip_connection(finetune):
    """The model's own graph is run: the layer's activations and the logits equal the model's."""
    model, _, pictures = finetune
    name = "xception/block13_sepconv2_bn"  # added to the residual branch after it
    result = attribute(model, pictures, targets=[0, 4], layer=name)
    info = select_layers(model, name).layers[0]
    assert result.layer == name and result.heatmaps.shape == (3, 2, 6, 6)
    probabilities = keras.ops.convert_to_numpy(model(pictures.astype(np.float32)))
    np.testing.assert_allclose(np.exp(result.logits) / np.exp(result.logits).sum(1, keepdims=True), probabilities,
                               rtol=1e-4, atol=1e-6)
    extracted = ActivationExtractor(model, [info])(pictures.astype(np.float32))[name]
    attributor = Attributor(model, name)
    activations = attributor.capture(attributor.load(pictures), [0])[0]
    np.testing.assert_allclose(activations, extracted, rtol=1e-4, atol=1e-4)


def small_classifier(channels=6, seed=2):
    """A nested classifier small enough for Score-CAM's slow loop: Rescaling, base (conv, conv), GAP, softmax."""
    keras.utils.set_random_seed(seed)
    base_inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(base_inputs)
    x = keras.layers.Conv2D(channels, 3, strides=2, padding="same", activation="relu", name="c2")(x)
    base = keras.Model(base_inputs, x, name="base")
    inputs = keras.Input((16, 16, 3))
    x = base(keras.layers.Rescaling(1 / 255.0, name="scale")(inputs))
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="predictions")(x), name="small")


def test_score_cam_equals_a_slow_loop():
    from PIL import Image

    model = small_classifier()
    pictures = np.random.default_rng(3).integers(0, 256, (2, 16, 16, 3)).astype(np.uint8)
    calls = []
    result = attribute(model, pictures, method="scorecam", targets="top2", chunk=4,
                       progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 6), (6, 6)]
    base = model.get_layer("base")
    activations = keras.ops.convert_to_numpy(base(pictures.astype(np.float32) / 255.0)).astype(np.float64)

    def probabilities(batch):
        return keras.ops.convert_to_numpy(model(batch.astype(np.float32))).astype(np.float64)

    baseline = probabilities(np.zeros((1, 16, 16, 3)))[0]
    want = np.zeros(result.heatmaps.shape)
    for n in range(2):
        for t, c in enumerate(result.classes[n]):
            total = np.zeros(activations.shape[1:3])
            for k in range(activations.shape[-1]):
                channel = activations[n, ..., k]
                spread = channel.max() - channel.min()
                mask = (channel - channel.min()) / spread if spread > 1e-12 else np.zeros_like(channel)
                mask = np.asarray(Image.fromarray(mask.astype(np.float32), "F").resize((16, 16), Image.BILINEAR))
                rise = probabilities(pictures[n:n + 1] * mask[None, ..., None])[0, c] - baseline[c]
                total += rise * channel
            want[n, t] = np.maximum(total, 0)
    assert want.max() > 0
    np.testing.assert_allclose(result.heatmaps, want, rtol=0, atol=1e-4 * want.max())


def shapes(count, seed, with_empty):
    """Pictures of a disc (0), a hollow square (1) or nothing (2) at a random place, and the object's box."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SHAPES, 0:SHAPES]
    images = (rng.random((count, SHAPES, SHAPES, 3)) * 0.15 * 255).astype(np.float32)
    labels = rng.integers(0, 3 if with_empty else 2, count)
    boxes = np.zeros((count, 4), int)
    for i in range(count):
        if labels[i] == 2:
            continue
        r = rng.integers(5, 9)
        cy, cx = rng.integers(r, SHAPES - r, 2)
        if labels[i] == 0:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        else:
            square = (abs(yy - cy) <= r) & (abs(xx - cx) <= r)
            mask = square & ((abs(yy - cy) >= r - 2) | (abs(xx - cx) >= r - 2))
        images[i][mask] = rng.uniform(0.6, 1.0, 3) * 255
        boxes[i] = [cy - r, cx - r, cy + r + 1, cx + r + 1]
    return images, labels, boxes


@pytest.fixture(scope="module")
def shapes_cnn():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SHAPES, SHAPES, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="last")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    images, labels, _ = shapes(2000, 0, with_empty=True)
    model.fit(images, labels, batch_size=50, epochs=6, verbose=0, shuffle=False)
    return model


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "layercam", "scorecam"])
def test_the_maps_maximum_falls_on_the_object(shapes_cnn, method):
    images, labels, boxes = shapes(100, 1, with_empty=False)
    result = attribute(shapes_cnn, images, method=method, targets="label", labels=labels)
    assert result.layer == "last" and result.heatmaps.shape == (100, 1, 12, 12)
    cell = SHAPES / 12
    hits = 0
    for heatmap, (top, left, bottom, right) in zip(result.heatmaps[:, 0], boxes):
        row, col = np.unravel_index(np.argmax(heatmap), heatmap.shape)  # the map's cell holds the object?
        hits += row * cell < bottom and (row + 1) * cell > top and col * cell < right and (col + 1) * cell > left
    assert hits >= 80, hits


def test_the_pass_is_compiled_once_and_the_model_never_cloned():
    model = small_classifier()
    pictures = np.random.default_rng(4).integers(0, 256, (2, 16, 16, 3)).astype(np.uint8)
    attributor = Attributor(model)
    layers_before = [id(layer) for layer in model.layers]
    first = attributor(pictures)
    for _ in range(2):
        again = attributor(pictures)
    np.testing.assert_array_equal(first.heatmaps, again.heatmaps)
    assert [id(layer) for layer in model.layers] == layers_before
    compiled = attributor._pass
    backend = keras.backend.backend()
    if backend == "tensorflow":
        assert compiled._top.experimental_get_tracing_count() == 1
    elif backend == "jax":
        assert compiled._run._cache_size() == 1
    # New weights are seen by the kept pass (JAX passes them as arguments).
    dense = model.get_layer("predictions")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel * 0 + 1.0, bias])  # every class the same logit: top class is class 0
    assert attributor(pictures).classes.tolist() == [[0], [0]]
