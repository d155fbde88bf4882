"""Feature visualization: the pure recipe with exact values, and the optimiser on a trained CNN.

The CNN (``tests/trained_cnn.py``, conv-BN-``Activation("relu")``) is
trained here, in a few seconds, to tell stripes from discs drawn over
noise; then 16 channels of ``relu3`` are made to be off everywhere on a
flat grey picture and on for some training picture, by construction, on
every backend: the case a trained network's deep channels present. There
an optimised image must beat noise tenfold.
"""

import numpy as np
import pytest

import keras

from tb_featureviz.featurevis import visualizer as featurevis, target as featurevis_target
from tb_featureviz.render import jobs
from tb_featureviz import jsontext
from tb_featureviz.featurevis import objectives, optimiser, parametrization, quality, transforms
from tests import trained_cnn
from tests.autodiff import backend_gradient

pytestmark = pytest.mark.backends  # also run in .venv-jax and .venv-torch (.ci/run)

SIZE = trained_cnn.SIZE  # image side, and the canvas the size-free model sees
STEPS = 128
CHANNELS = 8
WIDTH = 24  # channels of relu3


@pytest.fixture(scope="module")
def trained():
    """The trained CNN, 8 of its constructed channels of ``relu3``, their mean over training pictures."""
    model, layer, channels = trained_cnn.trained("separate")
    assert layer == "relu3"
    channels = channels[:CHANNELS]
    probe = keras.Model(model.inputs[0], model.get_layer(layer).output)
    pictures = keras.ops.convert_to_numpy(probe(trained_cnn.patterns(256, SIZE, 0)[0]))
    return model, channels, pictures.mean(axis=(0, 1, 2))[channels]


@pytest.fixture(scope="module")
def visualizer(trained):
    return featurevis.FeatureVisualizer(trained[0], "relu3", size=SIZE, input_range=(0.0, 1.0))


@pytest.fixture(scope="module")
def optimised(trained, visualizer):
    """One batched run of the 8 channels, with the model's state before and after."""
    model, channels, _ = trained
    weights = [w.copy() for w in model.get_weights()]
    flags = [layer.trainable for layer in model.layers]
    calls = []
    result = visualizer.run(channels, steps=STEPS, seed=3, progress=lambda done, total: calls.append((done, total)))
    return result, weights, flags, calls


# ---- the pure recipe, exact values ----

def test_colour_constants_are_lucids():
    assert parametrization.COLOR_CORRELATION_SVD_SQRT.tolist() == np.float32(
        [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]]).tolist()
    assert parametrization.MAX_NORM_SVD_SQRT == pytest.approx(np.sqrt(0.26 ** 2 + 0.27 ** 2 + 0.27 ** 2), rel=1e-7)
    np.testing.assert_allclose(parametrization.COLOR_CORRELATION_NORMALIZED, parametrization.COLOR_CORRELATION_SVD_SQRT / 0.4619523, rtol=1e-6)
    assert transforms.ZOOMS[0] == 0.9 and transforms.ZOOMS[5] == 1.0 and transforms.ZOOMS[-1] == 1.1 and len(transforms.ZOOMS) == 11
    assert transforms.ANGLES.count(0) == 6 and min(transforms.ANGLES) == -10 and max(transforms.ANGLES) == 10
    assert transforms.canvas_size(128) == 128 and transforms.canvas_size(20, 32) == 32


def test_spectrum_frequencies_and_scale():
    np.testing.assert_allclose(parametrization.spectrum_frequencies(4, 4), [
        [0.0, 0.25, 0.5], [0.25, 0.25 * 2 ** 0.5, (0.25 ** 2 + 0.5 ** 2) ** 0.5],
        [0.5, (0.25 ** 2 + 0.5 ** 2) ** 0.5, 0.5 * 2 ** 0.5], [0.25, 0.25 * 2 ** 0.5, (0.25 ** 2 + 0.5 ** 2) ** 0.5]],
        rtol=1e-15)
    assert parametrization.spectrum_frequencies(5, 7).shape == (5, 4)
    scale = parametrization.spectrum_scale(4, 4)
    assert scale.dtype == np.float32 and scale[0, 0] == 4.0 and scale[0, 1] == 4.0 and scale[0, 2] == 2.0


@pytest.mark.parametrize("height,width", [(8, 8), (7, 9), (6, 5), (2, 3)])
def test_irfft2_on_the_backend_equals_numpy_and_so_does_its_gradient(height, width):
    rng = np.random.default_rng(0)
    spectrum = rng.normal(size=(2, 3, height, width // 2 + 1)).astype(np.float32)  # imaginary DC/Nyquist too
    want = np.fft.irfft2(spectrum[0] + 1j * spectrum[1], s=(height, width), norm="ortho")
    np.testing.assert_allclose(parametrization.irfft2(spectrum[0], spectrum[1], height, width), want, atol=1e-6)
    got = parametrization.irfft2(keras.ops.convert_to_tensor(spectrum[0]), keras.ops.convert_to_tensor(spectrum[1]),
                   height, width, ops=keras.ops)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got), want, atol=2e-6)
    # Linear, so the gradient of sum(weights * irfft2(x)) is the adjoint applied to the weights,
    # here from numpy's irfft2 of each basis vector (the parts numpy ignores get none).
    weights = rng.normal(size=(3, height, width)).astype(np.float32)
    adjoint = np.zeros(spectrum.shape)
    for index in np.ndindex(*spectrum.shape):
        basis = np.zeros(spectrum.shape)
        basis[index] = 1.0
        adjoint[index] = (np.fft.irfft2(basis[0] + 1j * basis[1], s=(height, width), norm="ortho") * weights).sum()

    def weighted(x):
        return keras.ops.multiply(parametrization.irfft2(x[0], x[1], height, width, ops=keras.ops),
                                  keras.ops.convert_to_tensor(weights))

    gradient = backend_gradient(weighted, spectrum)
    used = adjoint != 0  # the zero and Nyquist columns' imaginary parts: numpy ignores them
    np.testing.assert_allclose(gradient[used], adjoint[used], atol=2e-5)


def test_spectrum_to_image_follows_the_recipe():
    param = parametrization.parametrization(6, 6)
    assert param.spectrum_shape == (2, 3, 6, 4)
    np.testing.assert_array_equal(parametrization.spectrum_to_image(np.zeros((1, 2, 3, 6, 4), np.float32), param), 0.5)
    spectrum = np.random.default_rng(1).normal(size=(2, 2, 3, 6, 4)).astype(np.float32)
    scaled = spectrum * parametrization.spectrum_scale(6, 6)
    pixels = np.fft.irfft2(scaled[:, 0] + 1j * scaled[:, 1], s=(6, 6), norm="ortho") / 4.0  # [B, 3, H, W]
    colours = np.moveaxis(pixels, 1, -1) @ parametrization.COLOR_CORRELATION_NORMALIZED.T
    np.testing.assert_allclose(parametrization.spectrum_to_image(spectrum, param), 1 / (1 + np.exp(-colours)), atol=1e-6)


def test_initial_spectrum_is_seeded_per_key():
    param = parametrization.parametrization(8, 8)
    first = parametrization.initial_spectrum(0, 5, param)
    assert first.dtype == np.float32 and first.shape == (2, 3, 8, 5)
    np.testing.assert_array_equal(first, parametrization.initial_spectrum(0, 5, param))
    assert not np.array_equal(first, parametrization.initial_spectrum(0, 6, param))
    assert not np.array_equal(first, parametrization.initial_spectrum(1, 5, param))
    assert 0.005 < first.std() < 0.02


def test_random_draws_cover_the_schedule():
    draws = transforms.random_draws(0, 7, 4000)
    np.testing.assert_array_equal(draws, transforms.random_draws(0, 7, 4000))
    assert set(draws[:, 0]) == set(draws[:, 1]) == set(range(-4, 5))
    assert set(np.round(draws[:, 2], 2)) == {round(s, 2) for s in transforms.ZOOMS}
    assert set(draws[:, 3]) == set(range(-10, 11))
    assert abs((draws[:, 3] == 0).mean() - 6 / 26) < 0.03
    assert set(draws[:, 4]) == set(draws[:, 5]) == set(range(-2, 3))
    np.testing.assert_array_equal(transforms.random_draws(0, 7, 10), draws[:10])


def test_affine_from_draws_exact():
    # Centred: canvas pixel 6 of a 44-pixel canvas is pixel 0 of a 32-pixel image.
    np.testing.assert_array_equal(transforms.centred_affine(32, 44), [[[1, 0, -6], [0, 1, -6]]])
    # Shifts of (1, -2) before and (3, 1) after: canvas pixel p shows image pixel p - (4, -1).
    shifted = transforms.affine_from_draws([[1, -2, 1.0, 0, 3, 1]], 4, 4)[0]
    np.testing.assert_allclose(shifted, [[1, 0, -4], [0, 1, 1]], atol=1e-6)
    scaled = transforms.affine_from_draws([[0, 0, 2.0, 0, 0, 0]], 5, 5)[0]  # zoom about the centre (2, 2)
    np.testing.assert_allclose(scaled, [[0.5, 0, 1], [0, 0.5, 1]], atol=1e-6)
    rotated = transforms.affine_from_draws([[0, 0, 1.0, 90, 0, 0]], 3, 3)[0]
    np.testing.assert_allclose(rotated @ [1, 2, 1], [2, 1], atol=1e-6)  # a quarter turn about (1, 1)
    # An odd margin puts the image at a whole pixel: 1 before, 2 after.
    assert transforms.canvas_padding(5, 8) == (1, 2) and transforms.canvas_padding(128, 140) == (6, 6)
    np.testing.assert_array_equal(transforms.centred_affine(5, 8), [[[1, 0, -1], [0, 1, -1]]])
    # The same maps for keras.ops.image.affine_transform: (x, y) order, on the padded image.
    np.testing.assert_allclose(transforms.projective_transforms(transforms.centred_affine(5, 8), 5, 8), [[1, 0, 0, 0, 1, 0, 0, 0]])
    np.testing.assert_allclose(transforms.projective_transforms(shifted, 4, 4), [1, 0, 1, 0, 1, -4, 0, 0], atol=1e-6)


def reference_sample(images, affine, canvas):
    """Plain-loop bilinear sampling with FILL outside the image."""
    batch, height, width, depth = images.shape
    out = np.empty((batch, canvas, canvas, depth), np.float64)

    def pixel(b, r, c):
        return images[b, r, c] if 0 <= r < height and 0 <= c < width else np.full(depth, transforms.FILL)

    for b in range(batch):
        for i in range(canvas):
            for j in range(canvas):
                r, c = affine[b, :, :2] @ [i, j] + affine[b, :, 2]
                r0, c0 = int(np.floor(r)), int(np.floor(c))
                fr, fc = r - r0, c - c0
                out[b, i, j] = ((1 - fr) * ((1 - fc) * pixel(b, r0, c0) + fc * pixel(b, r0, c0 + 1))
                                + fr * ((1 - fc) * pixel(b, r0 + 1, c0) + fc * pixel(b, r0 + 1, c0 + 1)))
    return out


def test_sample_canvas_matches_reference_and_identity():
    images = np.random.default_rng(2).random((3, 6, 6, 3)).astype(np.float32)
    np.testing.assert_array_equal(transforms.sample_canvas(images, transforms.centred_affine(6, 6, 3), 6), images)
    padded = transforms.sample_canvas(images, transforms.centred_affine(6, 10, 3), 10)
    np.testing.assert_array_equal(padded[:, 2:8, 2:8], images)
    assert (padded[:, :2] == 0.5).all() and (padded[:, :, 8:] == 0.5).all()
    affine = transforms.affine_from_draws(transforms.random_draws(0, 1, 3), 6, 9)
    affine[2, :, 2] += 30.0  # far outside: all fill
    got = transforms.sample_canvas(images, affine, 9)
    np.testing.assert_allclose(got, reference_sample(images, affine, 9), atol=1e-5)
    assert (got[2] == 0.5).all()


def test_objectives_exact():
    acts = np.arange(2 * 3 * 3 * 4, dtype=np.float32).reshape(2, 3, 3, 4)
    onehot = objectives.objective_vectors("channel", [1, 3], 4)
    assert onehot.tolist() == [[0, 1, 0, 0], [0, 0, 0, 1]]
    assert objectives.objective_values(acts, "channel", onehot).tolist() == [17.0, 55.0]
    assert objectives.objective_values(acts, "neuron", onehot).tolist() == [17.0, 55.0]  # centre == mean here
    acts[:, 1, 1] = 0.0
    assert objectives.objective_values(acts, "neuron", onehot).tolist() == [0.0, 0.0]
    direction = objectives.objective_vectors("direction", [0, 1], 4, directions=[[1, 0, 0, 1], [0.5, 0, 0, 0]])
    values = objectives.objective_values(acts, "direction", direction)
    np.testing.assert_allclose(values, [acts[0].mean((0, 1)) @ [1, 0, 0, 1], acts[1].mean((0, 1))[0] * 0.5])


def test_objective_errors():
    with pytest.raises(ValueError, match=r"objective must be one of \['channel', 'neuron', 'direction'\]. "
                                         r"Received: objective='max'"):
        objectives.objective_vectors("max", [0], 4)
    with pytest.raises(ValueError, match=r"channels must lie in \[0, 4\). Received: \[4, -1\]"):
        objectives.objective_vectors("channel", [0, 4, -1], 4)
    with pytest.raises(ValueError, match=r"directions of shape \(2, 4\). Received: shape \(2, 3\)"):
        objectives.objective_vectors("direction", [0, 1], 4, directions=np.ones((2, 3)))


def test_adam_quality_and_uint8_exact():
    param, m, v = optimiser.adam_update(np.float64(1.0), np.float64(-3.0), 0.0, 0.0, 1)
    assert param == pytest.approx(1.0 + 0.05 * 3.0 / (3.0 + 1e-8)) and m == pytest.approx(-0.3) and v == pytest.approx(0.009)
    assert quality.quality_figures([2.0, -1.0, 3.0, 0.0, 5e4, np.nan], [0.5, 0.5, 0.0, 0.0, 1.0, 1.0],
                             dead=[False, False, False, True, False, False]) == {
        "objective": [2.0, -1.0, 3.0, 0.0, 5e4, pytest.approx(np.nan, nan_ok=True)],
        "noise_objective": [0.5, 0.5, 0.0, 0.0, 1.0, 1.0], "ratio": [4.0, -2.0, 1000.0, 0.0, 1000.0, 0.0],
        "status": ["ok", "ok", "noise_off", "dead", "ok", "nonfinite"]}
    assert parametrization.to_uint8([0.0, 0.5, 1.0, 1.2, -0.1]).tolist() == [0, 128, 255, 255, 0]
    noise = quality.noise_image(0, 3, 5)
    assert noise.shape == (5, 5, 3) and noise.dtype == np.float32 and 0 <= noise.min() and noise.max() < 1
    np.testing.assert_array_equal(noise, quality.noise_image(0, 3, 5))


def test_keras_ops_graph_code_equals_numpy():
    """The step runs the same functions with ``keras.ops``: same values as numpy."""
    param = parametrization.parametrization(8, 8)
    spectrum = np.random.default_rng(4).normal(size=(2, 2, 3, 8, 5)).astype(np.float32)
    image = parametrization.spectrum_to_image(spectrum, param)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(parametrization.spectrum_to_image(spectrum, param, ops=keras.ops)),
                               image, atol=1e-6)
    affine = transforms.affine_from_draws(transforms.random_draws(0, 2, 2), 8, 12)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(transforms.sample_canvas(image, affine, 12, ops=keras.ops)),
                               transforms.sample_canvas(image, affine, 12), atol=1e-6)
    acts = np.random.default_rng(5).random((2, 5, 5, 4)).astype(np.float32)
    vectors = objectives.objective_vectors("channel", [2, 0], 4)
    for objective in ("channel", "neuron"):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(objectives.objective_values(acts, objective, vectors, ops=keras.ops)),
            objectives.objective_values(acts, objective, vectors), rtol=1e-6)


def fixed_size_cnn(side):
    """A conv layer behind a Reshape: a graph that needs its input size, so never size-free."""
    return keras.Sequential([keras.Input((side, side, 3)), keras.layers.Reshape((side, side, 3)),
                             keras.layers.Conv2D(2, 3, name="c")])


@pytest.mark.parametrize("size,canvas", [(SIZE, SIZE), (30, 37)])
def test_compiled_transform_equals_reference(size, canvas):
    """The step's transform (a native op) gives the values of the reference sampler."""
    vis = featurevis.FeatureVisualizer(fixed_size_cnn(canvas), "c", size=size)
    assert (vis.size, vis.canvas, vis.size_free) == (size, canvas, False)
    images = np.random.default_rng(6).random((4, size, size, 3)).astype(np.float32)
    affine = transforms.affine_from_draws(transforms.random_draws(0, 3, 4), size, canvas)
    got = vis.transform(images, vis.transform_inputs(affine))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got), transforms.sample_canvas(images, affine, canvas), atol=2e-5)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(vis.pad(images)),
                                  transforms.sample_canvas(images, transforms.centred_affine(size, canvas, 4), canvas))


# ---- the optimiser on the trained CNN ----

def test_objective_rises(optimised):
    result = optimised[0]
    assert result.history.shape == (STEPS, CHANNELS)
    first, last = result.history[:8].mean(axis=0), result.history[-8:].mean(axis=0)
    # Some channels respond to flat grey, the starting image, and have little left to gain.
    assert (last >= 0.95 * first).all(), (first, last)
    assert last.mean() > 2 * first.mean(), (first, last)
    assert (last > 2 * first).sum() >= CHANNELS // 2, (first, last)


def test_optimised_images_beat_noise_tenfold_and_the_training_pictures(trained, optimised):
    result = optimised[0]
    quality = result.quality()
    objective, noise = np.array(quality["objective"]), np.array(quality["noise_objective"])
    assert objective.mean() >= 10 * np.abs(noise).mean(), (objective, noise)
    assert objective.mean() > trained[2].mean(), (objective, trained[2])
    assert result.images.dtype == np.uint8 and result.images.shape == (CHANNELS, SIZE, SIZE, 3)
    assert result.canvas == SIZE and result.total_channels == WIDTH


def test_weights_and_trainable_flags_unchanged(trained, optimised):
    model = trained[0]
    _, weights, flags, _ = optimised
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert [layer.trainable for layer in model.layers] == flags


def test_progress_hook_counts_steps(optimised):
    assert optimised[3] == [(i, STEPS) for i in range(1, STEPS + 1)]


def assert_nearly_same_images(first, second):
    """Equal but for float noise grown over the steps: rare pixels a few levels apart."""
    diff = np.abs(first.astype(int) - second.astype(int))
    assert diff.mean() <= 0.3 and np.percentile(diff, 99) <= 4 and diff.max() <= 12, (
        diff.mean(), np.percentile(diff, 99), diff.max())


def test_batch_equals_one_channel_at_a_time(trained, visualizer):
    # Per-sample randomness and objective: only the convolutions' float rounding depends on
    # the batch (identical here on TensorFlow; a few levels on rare pixels with XLA).
    channels = trained[1]
    batched = visualizer.run(channels, steps=48, seed=1)
    alone = [visualizer.run([c], steps=48, seed=1) for c in channels]
    assert_nearly_same_images(batched.images, np.concatenate([r.images for r in alone]))
    np.testing.assert_allclose(batched.history, np.concatenate([r.history for r in alone], axis=1),
                               rtol=2e-2, atol=2e-3)
    # batch_size splits the channels into batches with the same results.
    split = visualizer.run(channels, steps=48, seed=1, batch_size=3)
    assert_nearly_same_images(split.images, batched.images)


def test_deterministic_given_a_seed(trained, visualizer):
    channels = trained[1][:4]
    first = visualizer.run(channels, steps=16, seed=5)
    again = visualizer.run(channels, steps=16, seed=5)
    other = visualizer.run(channels, steps=16, seed=6)
    np.testing.assert_array_equal(first.images, again.images)
    np.testing.assert_array_equal(first.history, again.history)
    assert not np.array_equal(first.images, other.images)


def test_nested_model_applies_the_outer_preprocessing(trained):
    """A fine-tuning shape: [Input 0..255, Rescaling, base]; equals the base on 0..1 inputs."""
    base, channels, _ = trained
    nested = keras.Sequential([keras.Input((3 * SIZE, 3 * SIZE, 3)), keras.layers.Rescaling(1 / 255.0, name="rescale"),
                               base], name="finetune")
    weights = [w.copy() for w in nested.get_weights()]
    # Its input is fixed at 96 pixels; the graph up to relu3 takes any size, so 32 is optimised on a 32 canvas.
    result = featurevis.visualize_features(nested, "patterns_cnn/relu3", channels[:4], steps=24, seed=2, size=SIZE)
    direct = featurevis.visualize_features(base, "relu3", channels[:4], steps=24, seed=2, size=SIZE,
                                           input_range=(0.0, 1.0))
    assert result.layer == "patterns_cnn/relu3" and (result.size, result.canvas) == (SIZE, SIZE)
    # The optimisation carries float rounding of two graphs over 24 steps: a few grey levels.
    assert np.abs(result.images.astype(int) - direct.images).max() <= 3
    np.testing.assert_allclose(result.history, direct.history, rtol=1e-3, atol=1e-4)
    for before, after in zip(weights, nested.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_neuron_and_direction_objectives_rise(trained):
    model, channels, _ = trained
    # The centre units are off on the grey start: the redirected ReLU gradient turns them on.
    # The random transforms move the pattern off the centre at some steps: judge the final image.
    neuron = featurevis.visualize_features(model, "relu3", channels[:4], objective="neuron", steps=128,
                                           size=SIZE, input_range=(0.0, 1.0))
    assert (neuron.history[:4] == 0).all() and (neuron.objective_values > 0.1).all(), neuron.objective_values
    directions = np.zeros((2, WIDTH), np.float32)
    directions[0, channels[:2]] = 1.0
    directions[1] = np.random.default_rng(0).normal(size=WIDTH)
    direction = featurevis.visualize_features(model, "bn3", objective="direction", directions=directions,
                                              steps=32, size=SIZE, input_range=(0.0, 1.0))
    assert direction.channels == [0, 1]
    gain = direction.history[-4:].mean(0) - direction.history[:4].mean(0)
    assert (gain > 0.04).all() and gain.mean() > 0.1, direction.history


def test_redirected_relu_gradient():
    """A sample whose ReLU passes no gradient gets its soft maximum's gradient; others the ReLU's."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the gradient is taken with tf.GradientTape here")
    import tensorflow as tf

    pre = tf.constant([[-1.0, -2.0], [3.0, -1.0]])[:, None, :, None]  # [2 samples, 1, 2 positions, 1 channel]
    vectors = np.ones((2, 1), np.float32)
    with tf.GradientTape() as tape:
        tape.watch(pre)
        values = featurevis_target.redirected_objective(pre, keras.activations.relu, "channel", vectors)
        total = tf.reduce_sum(values)
    np.testing.assert_allclose(values.numpy(), [0.0, 1.5])
    # Sample 0: d/dx of t * logsumexp(x / t), t = std(x) = 0.5 held: softmax(x / t) = softmax([-2, -4]).
    soft = np.exp([-2.0, -4.0]) / np.exp([-2.0, -4.0]).sum()
    np.testing.assert_allclose(tape.gradient(total, pre).numpy()[:, 0, :, 0], [soft, [0.5, 0.0]], rtol=1e-5)


def test_soft_strongest_lies_between_the_mean_and_the_maximum():
    maps = np.random.default_rng(3).normal(size=(3, 4, 5, 2)).astype(np.float32)
    vectors = np.float32([[1, 0], [0, 1], [0.5, -2]])
    got = keras.ops.convert_to_numpy(featurevis_target.soft_strongest(maps, "channel", vectors))
    positions = np.einsum("bhwc,bc->bhw", maps, vectors).reshape(3, -1)
    t = positions.std(axis=1) + 1e-6
    want = t * np.log(np.exp(positions / t[:, None]).sum(axis=1))
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert (got >= positions.max(axis=1)).all()  # a soft maximum is at least the maximum
    centre = keras.ops.convert_to_numpy(featurevis_target.soft_strongest(maps, "neuron", vectors))
    np.testing.assert_allclose(centre, np.einsum("bc,bc->b", maps[:, 2, 2], vectors), rtol=1e-6)


def test_fixed_input_models_run_size_free_where_the_graph_allows():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((40, 40, 3))
    x = keras.layers.Conv2D(3, 3, name="c2")(keras.layers.Conv2D(4, 3, name="c1")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x)))
    native = featurevis.FeatureVisualizer(model, "c2")  # 128 is more than the input's 40: 40 on 40
    assert (native.size, native.canvas, native.size_free) == (40, 40, False)
    free = featurevis.FeatureVisualizer(model, "c2", size=16)
    assert (free.size, free.canvas, free.size_free) == (16, 16, True)
    # The same layers and weights, nothing copied: equal outputs at the model's own size.
    assert [id(v) for v in free.truncated.weights] == [id(v) for v in native.truncated.weights]
    x = keras.ops.convert_to_tensor(np.random.default_rng(0).random((2, 40, 40, 3)).astype(np.float32) * 255)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(free.truncated(x)),
                               keras.ops.convert_to_numpy(native.truncated(x)), rtol=1e-5, atol=1e-4)
    assert tuple(free.truncated(keras.ops.zeros((1, 16, 16, 3))).shape) == (1, 12, 12, 3)
    result = free.run([0, 2], steps=4)
    assert result.images.shape == (2, 16, 16, 3) and featurevis.features_job(result).record_extra[
        "optimisation"]["canvas"] == 16
    assert featurevis.FeatureVisualizer(model, "c2", size=64).canvas == 64  # larger than the input, too
    # The user's model still checks its input size.
    with pytest.raises(ValueError, match=r"expected shape=\(None, 40, 40, 3\), found shape=\(1, 16, 16, 3\)"):
        model(keras.ops.zeros((1, 16, 16, 3)))
    # A graph that needs its size keeps the model's canvas, the image centred on it.
    kept = featurevis.FeatureVisualizer(fixed_size_cnn(24), "c", size=16)
    assert (kept.size, kept.canvas, kept.size_free) == (16, 24, False)


def test_clipping_activations_are_cut_at_their_input(trained, visualizer):
    assert visualizer.redirect is not None and visualizer.redirect.fused is False
    assert featurevis.FeatureVisualizer(trained[0], "bn3").redirect is None
    fused = featurevis.FeatureVisualizer(trained[0], "conv2")  # Conv2D(..., activation="relu")
    assert fused.redirect is not None and fused.redirect.fused is True
    # The truncated model ends in the pre-activation: the activation of it is the layer's output.
    x = keras.ops.convert_to_tensor(np.random.default_rng(0).random((2, SIZE, SIZE, 3)).astype(np.float32))
    want = keras.Model(trained[0].inputs[0], trained[0].get_layer("conv2").output)(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fused.redirect.activation(fused.truncated(x))),
                               keras.ops.convert_to_numpy(want), rtol=1e-5, atol=1e-5)
    assert float(keras.ops.min(fused.truncated(x))) < 0  # not clipped: the pre-activation


def test_features_job_draws_the_images(optimised):
    result = optimised[0]
    job = featurevis.features_job(result)
    assert (job.kind, job.layout, job.scale, job.value_range) == ("features", "tiles", "fixed", (0.0, 255.0))
    assert job.channels == list(result.channels) and job.total_channels == WIDTH and job.class_name == "Activation"
    drawn = jobs.draw_job(job)
    grid = drawn.grids[0]
    assert drawn.samples[0]["lo"] == [0.0] * CHANNELS and drawn.samples[0]["hi"] == [255.0] * CHANNELS
    for tile, image in enumerate(result.images):
        row, col = divmod(tile, grid.cols)
        top, left = row * (grid.tile_height + grid.pad), col * (grid.tile_width + grid.pad)
        np.testing.assert_array_equal(grid.image[top:top + SIZE, left:left + SIZE, :3], image)
    record = featurevis.quality_record(result)
    assert set(record) == {"objective", "noise_objective", "ratio", "status"}
    assert jsontext.loads(jsontext.dumps(record)) == record
    assert record["objective"] == jsontext.rounded_floats(result.objective_values, 6)


def test_errors_name_what_was_expected(trained, visualizer):
    model = trained[0]
    with pytest.raises(ValueError, match=r"visualize_features expects steps >= 1. Received: steps=0"):
        visualizer.run([0], steps=0)
    with pytest.raises(ValueError, match=r"visualize_features expects seed >= 0. Received: seed=-1"):
        visualizer.run([0], seed=-1)
    with pytest.raises(ValueError, match=r"channels must lie in \[0, 24\). Received: \[40\]"):
        visualizer.run([40], steps=1)
    with pytest.raises(ValueError, match=r"visualize_features expects one layer. Received: 'conv\*'"):
        featurevis.FeatureVisualizer(model, "conv*")
    with pytest.raises(ValueError, match=r"objective must be one of"):
        featurevis.FeatureVisualizer(model, "relu3", objective="max")
    with pytest.raises(ValueError, match=r"No layer named 'relu9'"):
        featurevis.FeatureVisualizer(model, "relu9")
    with pytest.raises(ValueError, match=r"visualize_features expects 2 <= size <= 16 \(the model input size\). "
                                         r"Received: size=20"):
        featurevis.FeatureVisualizer(fixed_size_cnn(16), "c", size=20)
    with pytest.raises(ValueError, match=r"^visualize_features expects size >= 2 or None. Received: size=1$"):
        featurevis.FeatureVisualizer(model, "relu3", size=1)
    with pytest.raises(ValueError, match=r"^visualize_features expects size >= 2 or None. Received: size='64'$"):
        featurevis.FeatureVisualizer(model, "relu3", size="64")
    with pytest.raises(TypeError, match=r"visualize_features expects a keras.Model. Received: str"):
        featurevis.FeatureVisualizer("model", "c")
