"""A data-set pass on every backend: planted patterns found exactly, boxes equal to gradient supports, data sources.

Exactness needs no training: a conv channel whose kernel is set here to
detect a pattern, over pictures with the pattern planted in five, must
return exactly those five with the pattern's boxes. The boxes of deeper
layers (strides, dilation, pooling, "same" padding, a nested base model, a
skip connection) are checked against the support of each unit's gradient
with respect to the input, computed here by the backend's own autodiff on a
linear network with positive kernels (no unit is off, so the support is the
receptive field, clipped to the picture).
"""

import tracemalloc

import numpy as np
import pytest

import keras

from tb_featureviz.examples.scan import ExampleScan
from tb_featureviz.model.activations import ActivationExtractor
from tb_featureviz.model.layers import select_layers
from tests.autodiff import backend_gradient

pytestmark = pytest.mark.backends

PATTERN = np.array([[1, 0, 1, 0, 1], [0, 1, 1, 1, 0], [1, 1, 0, 1, 1], [0, 1, 1, 1, 0], [1, 0, 1, 0, 1]], np.float32)
PLANTED = {17: (3, 9), 64: (20, 2), 111: (0, 27), 198: (27, 27), 250: (11, 14)}  # index -> (top, left)


def detector():
    """A 5x5 valid conv whose channel 0 is the zero-mean pattern in every colour: largest where it is."""
    inputs = keras.Input((32, 32, 3))
    conv = keras.layers.Conv2D(2, 5, use_bias=False, name="detect")
    model = keras.Model(inputs, keras.layers.GlobalMaxPooling2D()(conv(inputs)))
    kernel = np.zeros((5, 5, 3, 2), np.float32)
    kernel[..., 0] = (PATTERN - PATTERN.mean())[..., None]
    kernel[..., 1] = np.random.default_rng(0).normal(size=(5, 5, 3))
    conv.set_weights([kernel])
    return model


def planted_pictures(count=300):
    rng = np.random.default_rng(2)
    pictures = rng.integers(100, 140, (count, 32, 32, 3)).astype(np.uint8)  # faint noise
    for index, (top, left) in PLANTED.items():
        if index >= count:
            continue
        pictures[index, top:top + 5, left:left + 5] = (PATTERN * 255).astype(np.uint8)[..., None]
    return pictures


def test_a_planted_pattern_is_found_exactly():
    model = detector()
    scan = ExampleScan(model, select_layers(model, "detect").layers, k=5)
    result = scan.run(planted_pictures(), batch_size=32)
    layer = result.layers["detect"]
    found = layer.boxes(0)
    assert sorted(e["index"] for e in found) == sorted(PLANTED)
    for entry in found:
        top, left = PLANTED[entry["index"]]
        assert entry["box"] == [top, left, top + 5, left + 5]
    assert [e["value"] for e in found] == sorted((e["value"] for e in found), reverse=True)
    assert result.pictures == 300 and layer.top.count == 300


def linear_nested():
    """Outer padding, then a nested base: conv same, average pool, strided same conv, dilated conv, a skip add."""
    keras.utils.set_random_seed(3)
    base_in = keras.Input((22, 22, 3))
    a = keras.layers.Conv2D(3, 3, padding="same", name="c1")(base_in)
    a = keras.layers.AveragePooling2D(2, name="pool")(a)
    b = keras.layers.Conv2D(3, 3, strides=2, padding="same", name="stride")(a)
    c = keras.layers.Conv2D(3, 3, dilation_rate=2, padding="same", name="dilated")(b)
    d = keras.layers.Add(name="skip")([b, c])
    e = keras.layers.Conv2D(2, 2, padding="valid", name="last")(d)
    base = keras.Model(base_in, e, name="base")
    inputs = keras.Input((20, 20, 3))
    x = keras.layers.ZeroPadding2D(1, name="pad")(inputs)
    model = keras.Model(inputs, base(x), name="outer")
    rng = np.random.default_rng(4)
    for layer in base.layers:
        if layer.weights:
            layer.set_weights([rng.uniform(0.1, 1.0, w.shape).astype(np.float32) if w.ndim > 1
                               else np.zeros(w.shape, np.float32) for w in layer.get_weights()])
    return model


def gradient_box(model, info, picture, position, channel):
    """Bounding box ``[top, left, bottom, right]`` of the input pixels the unit's gradient reaches."""
    extractor = ActivationExtractor(model, [info]).keras_model
    out_width = int(extractor.outputs[0].shape[2])
    row, col = divmod(position, out_width)

    def unit(x):
        return extractor(x)[:, row, col, channel]

    gradient = backend_gradient(unit, picture[None].astype(np.float32))[0]
    rows, cols = np.nonzero(np.abs(gradient).sum(axis=-1))
    return [int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1]


@pytest.mark.parametrize("name", ["base/c1", "base/pool", "base/stride", "base/dilated", "base/skip", "base/last"])
def test_boxes_equal_the_gradient_support_of_each_unit(name):
    model = linear_nested()
    pictures = np.random.default_rng(5).uniform(0, 1, (12, 20, 20, 3)).astype(np.float32)
    info = select_layers(model, name).layers[0]
    scan = ExampleScan(model, [info], k=3)
    layer = scan.run(pictures).layers[name]
    assert layer.field.exact
    for channel in range(layer.top.channels):
        for index, position, _ in layer.top.entries(channel):
            box = layer.field.box(position, 20, 20)
            assert box == gradient_box(model, info, pictures[index], position, channel), (name, channel, index)


def test_every_unit_of_a_layer_not_only_the_top_ones():
    """The field rule, unit by unit, on the layer where padding, stride and dilation all count."""
    model = linear_nested()
    info = select_layers(model, "base/dilated").layers[0]
    field = ExampleScan(model, [info], k=1)._fields_for(20, 20)["base/dilated"]
    picture = np.ones((20, 20, 3), np.float32)
    for position in range(field.height * field.width):
        assert field.box(position, 20, 20) == gradient_box(model, info, picture, position, 0), position


def pictures_16(count, seed=6):
    return np.random.default_rng(seed).integers(0, 256, (count, 16, 16, 3)).astype(np.uint8)


def small_cnn():
    keras.utils.set_random_seed(7)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="c1")(keras.layers.Rescaling(1 / 255.0)(inputs))
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="c2")(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))


def summary(result):
    return {name: (layer.top.indices.tolist(), layer.top.positions.tolist(), layer.counts.tolist(),
                   np.round(layer.stats.sums, 3).tolist()) for name, layer in result.layers.items()}


def test_every_data_source_gives_the_same_pass():
    model = small_cnn()
    pictures = pictures_16(50)
    labels = np.arange(50) % 3
    scan = ExampleScan(model, select_layers(model, ["c1", "c2"]).layers, k=4, max_channels=2)
    want = summary(scan.run(pictures, batch_size=8))

    class Pictures(keras.utils.PyDataset):
        def __len__(self):
            return 7

        def __getitem__(self, index):
            return pictures[index * 8:(index + 1) * 8], labels[index * 8:(index + 1) * 8]

    sources = {
        "generator of (pictures, labels)": ((pictures[i:i + 8], labels[i:i + 8]) for i in range(0, 50, 8)),
        "list of float batches": [pictures[i:i + 8].astype(np.float32) for i in range(0, 50, 8)],
        "PyDataset": Pictures(),
    }
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        sources["tf.data"] = tf.data.Dataset.from_tensor_slices((pictures, labels)).batch(8)
    if backend == "torch":
        import torch

        data = torch.utils.data.TensorDataset(torch.tensor(pictures).permute(0, 3, 1, 2), torch.tensor(labels))
        sources["torch DataLoader (channels first)"] = torch.utils.data.DataLoader(data, batch_size=8)
    for name, source in sources.items():
        assert summary(scan.run(source)) == want, name
    limited = scan.run(pictures, max_pictures=20, batch_size=8)
    assert limited.pictures == 20 and limited.layers["c1"].top.indices.max() < 20


def test_memory_stays_flat_over_the_data():
    model = small_cnn()
    scan = ExampleScan(model, select_layers(model, ["c1", "c2"]).layers, k=9, max_channels=4)
    scan.run(pictures_16(64))  # compiled once, outside the measure

    def peak(count):
        stream = (pictures_16(50, seed) for seed in range(count // 50))  # the data is never all in memory
        tracemalloc.start()
        result = scan.run(stream)
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        state = sum(layer.top.values.nbytes + layer.top.indices.nbytes + layer.crops.nbytes
                    for layer in result.layers.values())
        return size, state, result.pictures

    small, large = peak(1000), peak(5000)
    assert (small[2], large[2]) == (1000, 5000)
    assert large[1] == small[1]  # the kept state: the same bytes
    assert large[0] < 1.25 * small[0], (small, large)  # the peak of the whole pass: independent of the count


@pytest.mark.parametrize("data,error,text", [
    (np.zeros((0, 16, 16, 3), np.uint8), ValueError, "log_examples expects at least one picture. "
                                                      "Received: an empty data set"),
    (np.zeros((4, 16, 16), np.uint8), ValueError, "A data-set pass expects an array of pictures [N, H, W, C]. "
                                                  "Received: shape (4, 16, 16)"),
    (5, TypeError, "A data-set pass expects a numpy array, a tf.data.Dataset, a keras.utils.PyDataset, a torch "
                   "DataLoader or an iterable of batches. Received: int"),
])
def test_bad_data_is_refused(data, error, text):
    model = small_cnn()
    with pytest.raises(error) as raised:
        ExampleScan(model, select_layers(model, "c1").layers).run(data)
    assert str(raised.value) == text


def reference_reductions(activations, lo, hi):
    """The reductions of ``[N, H, W, C]`` float32 values in numpy, one value at a time where order matters."""
    from tb_featureviz.examples.reductions import BUCKETS

    batch, height, width, channels = activations.shape
    flat = activations.reshape(batch, height * width, channels).astype(np.float64)
    finite = np.isfinite(flat)
    ranked = np.where(np.isnan(flat), -np.inf, flat) + 0.0  # -0.0 + 0.0 is 0.0: the sign of a zero does not rank
    positions = np.argmax(ranked, axis=1)  # numpy's argmax: the first of equal values
    width_of_bucket = (hi - lo) / BUCKETS
    buckets = np.clip(np.floor((flat[finite] - lo) / width_of_bucket) + 1, 0, BUCKETS + 1).astype(int)
    return {
        "maxima": np.max(np.where(np.isnan(flat), -np.inf, flat), axis=1), "positions": positions,
        "sums": np.where(finite, flat, 0).sum(axis=(0, 1)), "zeros": (flat == 0).sum(axis=(0, 1)),
        "nonfinite": (~finite).sum(axis=(0, 1)),
        "lows": np.where(finite, flat, np.inf).min(axis=(0, 1)),
        "highs": np.where(finite, flat, -np.inf).max(axis=(0, 1)),
        "counts": np.bincount(buckets, minlength=BUCKETS + 2),
    }


def tricky_activations(nonfinite):
    """``[3, 5, 6, 4]``: ReLU-like values, ties for the maximum, -0.0, maps of zeros; NaN and inf if asked."""
    rng = np.random.default_rng(11)
    values = np.maximum(rng.normal(size=(3, 5, 6, 4)), 0).astype(np.float32)
    values[0, 1, 4, 0] = values[0, 3, 2, 0] = values[0, 3, 1, 0] = 9.0  # three equal maxima: the first one wins
    values[1, :, :, 1] = 0.0
    values[1, 2, 3, 1] = -0.0  # ties with the zeros around it
    values[2, :, :, 2] = -0.0
    values[2, 4, 5, 2] = 0.0
    if nonfinite:
        values[0, 0, 0, 3] = np.nan
        values[1, 1, 1, 3] = np.inf
        values[2, 2, 2, 0] = -np.inf
    return values


@pytest.mark.parametrize("nonfinite", [False, True], ids=["finite", "nan and inf"])
def test_the_reductions_equal_numpy_one_value_at_a_time(nonfinite):
    from tb_featureviz.examples import reductions

    activations = tricky_activations(nonfinite)
    want = reference_reductions(activations, -1.0, 5.0)
    names = ["maxima", "positions", "sums", "zeros", "nonfinite", "lows", "highs", "counts"]
    passes = {"reduce_layer": reductions.reduce_layer}
    if not nonfinite:
        passes["reduce_finite_layer"] = reductions.reduce_finite_layer
    for name, reduce in passes.items():
        got = dict(zip(names, (keras.ops.convert_to_numpy(part) for part in reduce(activations, -1.0, 5.0))))
        for part in ("positions", "zeros", "nonfinite", "counts"):
            assert got[part].tolist() == want[part].tolist(), (name, part)
        for part in ("maxima", "sums", "lows", "highs"):
            np.testing.assert_allclose(got[part], want[part], rtol=1e-6, err_msg=f"{name} {part}")
    assert want["positions"][0, 0] == 1 * 6 + 4  # the first of the three nines in row-major order
    # Channels first gives the same as channels last.
    transposed = reductions.reduce_layer(np.transpose(activations, (0, 3, 1, 2)), -1.0, 5.0, channels_first=True)
    assert keras.ops.convert_to_numpy(transposed[1]).tolist() == want["positions"].tolist()


def test_a_batch_with_nan_is_reduced_without_it():
    """The fast pass sees the non-finite sums and hands that batch to the pass that masks them."""
    keras.utils.set_random_seed(8)
    inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, name="linear")(inputs))  # no ReLU to swallow the NaN
    pictures = pictures_16(24).astype(np.float32)
    pictures[9, 4, 4] = np.nan  # picture 9 (second batch): NaN in the 3x3 units that see pixel (4, 4)
    scan = ExampleScan(model, select_layers(model, "linear").layers, k=3)
    layer = scan.run(pictures, batch_size=8).layers["linear"]
    assert layer.stats.nonfinite.tolist() == [9.0] * 4
    assert np.isfinite(layer.stats.sums).all() and np.isfinite(layer.top.values).all()
    assert layer.counts.sum() == 24 * 14 * 14 * 4 - 36  # the histogram leaves the NaN out


def test_every_drawn_crop_is_its_box_cut_from_its_picture():
    """Crops cut late (when their batch leaves the window) equal the box cut from the picture, in every slot."""
    from tb_featureviz.examples.scan import CROP_WINDOW, crop

    model = small_cnn()
    pictures = pictures_16(200, seed=12)
    scan = ExampleScan(model, select_layers(model, ["c1", "c2"]).layers, k=5, max_channels=3)
    result = scan.run(pictures, batch_size=8)  # 25 batches: far more than the window
    assert 200 // 8 > 2 * CROP_WINDOW
    for name, layer in result.layers.items():
        assert layer.crops.shape[:2] == (5, 3)
        for channel in range(3):
            for slot, entry in enumerate(layer.boxes(channel)):
                np.testing.assert_array_equal(layer.crops[slot, channel], crop(pictures[entry["index"]], entry["box"]),
                                              err_msg=f"{name} channel {channel} slot {slot}")
