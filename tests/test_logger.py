"""FeatureVizLogger: round trips through real event files, exact tags, errors."""

import io
import json
import os
import warnings

import numpy as np
import pytest
from PIL import Image

from tb_featureviz import FeatureVizLogger, metadata
from tb_featureviz.render import caps, grids
from tests.eventfiles import metadata_by_tag, tensors_by_tag
from tests.models import gradient_image, nested_cnn, small_cnn

pytestmark = pytest.mark.backends  # also run in .venv-jax and .venv-torch (.ci/run)


def run_dir(tmp_path):
    return os.path.join(tmp_path, "featureviz")


def test_activation_round_trip_exact_tags_and_values(tmp_path):
    import keras

    model = small_cnn()
    image = gradient_image()
    before = image.copy()
    with FeatureVizLogger(tmp_path) as logger:
        records = logger.log_activations(model, image, step=3)
    np.testing.assert_array_equal(image, before)

    written = tensors_by_tag(run_dir(tmp_path))
    layers = ["conv1", "sep2", "dw3", "point4"]
    expected = {"featureviz/_model", "featureviz/_probe/probe", "featureviz/_probe/probe/record"}
    expected |= {f"featureviz/{name}/activations" for name in layers}
    expected |= {f"featureviz/{name}/activations/record" for name in layers}
    assert set(written) == expected
    assert [r["tag"] for r in records] == ["featureviz/_probe/probe"] + [f"featureviz/{n}/activations" for n in layers]

    reference = keras.Model(model.inputs[0], [model.get_layer(n).output for n in layers]).predict_on_batch(
        image[None].astype(np.float32)
    )
    for record, fmap in zip(records[1:], reference):
        (step, tensor), = written[record["tag"]]
        assert step == 3
        width, height, png_bytes = tensor
        decoded = np.asarray(Image.open(io.BytesIO(png_bytes)))
        np.testing.assert_array_equal(decoded, record["image"])
        assert (int(width), int(height)) == (decoded.shape[1], decoded.shape[0])
        (_, text), = written[record["tag"] + "/record"]
        document = json.loads(text.item())
        assert document["layer"] == record["layer"] and document["kind"] == "activations"
        assert document["samples"][0]["lo"] == record["lo"] and document["samples"][0]["hi"] == record["hi"]
        channels = fmap.shape[-1]
        assert record["channels"] == list(range(channels)) == document["channels"]
        assert record["total_channels"] == channels and record["layout"] == "tiles"
        # Every tile decodes back to the layer's real output.
        grid = grids.Grid(record["image"], record["rows"], record["cols"], record["tile_height"],
                          record["tile_width"], record["pad"], np.array(record["lo"]), np.array(record["hi"]), 0)
        for tile_index, channel in enumerate(record["channels"]):
            span = record["hi"][tile_index] - record["lo"][tile_index]
            np.testing.assert_allclose(grids.decode_tile(grid, tile_index), fmap[0, :, :, channel],
                                       atol=span / 510 + 1e-5)
        np.testing.assert_allclose(record["stats"]["mean"], fmap[0].mean(axis=(0, 1)), rtol=1e-5, atol=1e-6)


def test_metadata_plugin_names_and_data_classes(tmp_path):
    from tensorboard.compat.proto import summary_pb2

    with FeatureVizLogger(tmp_path) as logger:
        logger.log_filters(small_cnn(), step=0, layers=["conv1"])
    meta = metadata_by_tag(run_dir(tmp_path))
    image = meta["featureviz/conv1/filters"]
    record = meta["featureviz/conv1/filters/record"]
    assert image.plugin_data.plugin_name == "images"
    assert image.data_class == summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    assert record.plugin_data.plugin_name == "featureviz"
    assert record.data_class == summary_pb2.DATA_CLASS_TENSOR
    assert metadata.parse_plugin_content(record.plugin_data.content) == {
        "version": 1, "content": "record", "layer": "conv1", "kind": "filters",
        "image_tag": "featureviz/conv1/filters",
    }
    assert meta["featureviz/_model"].data_class == summary_pb2.DATA_CLASS_TENSOR


def test_filters_every_rule_and_exact_weights(tmp_path):
    model = small_cnn()
    with FeatureVizLogger(tmp_path) as logger:
        records = logger.log_filters(model, step=0)
    assert [(r["layer"], r["kind"], r["layout"]) for r in records] == [
        ("conv1", "filters", "tiles"),
        ("sep2", "filters", "tiles"),
        ("sep2", "pointwise", "matrix"),
        ("dw3", "filters", "tiles"),
        ("point4", "filters", "matrix"),
    ]
    conv1 = records[0]
    kernel = model.get_layer("conv1").kernel.numpy()
    assert conv1["image"].shape[2] == 3  # RGB tiles for 3 input channels
    assert conv1["symmetric"] and conv1["lo"] == [-h for h in conv1["hi"]]
    np.testing.assert_allclose(conv1["hi"], np.abs(kernel).max(axis=(0, 1, 2)), rtol=1e-6)
    point = records[4]
    weights = model.get_layer("point4").kernel.numpy()[0, 0]
    assert (point["tile_height"], point["tile_width"], point["pad"]) == (6 * 2, 5, 0)
    assert point["input_channels"] == list(range(12)) and point["channels"] == list(range(5))
    grid = grids.Grid(point["image"], 1, 1, 12, 5, 0, np.array(point["lo"]), np.array(point["hi"]), 0)
    np.testing.assert_allclose(grids.decode_tile(grid, 0), weights, atol=point["hi"][0] / 255 + 1e-6)


def test_structure_logged_once_in_model_order(tmp_path):
    model = nested_cnn()
    with FeatureVizLogger(tmp_path) as logger:
        logger.log_filters(model, step=0)
        logger.log_filters(model, step=1)
    written = tensors_by_tag(run_dir(tmp_path))
    (step, text), = written["featureviz/_model"]
    structure = json.loads(text.item())
    assert step == 0 and structure["version"] == 1 and structure["model"] == "finetune"
    assert [(l["name"], l["class"], l["path"]) for l in structure["layers"]] == [
        ("rescale", "Rescaling", []),
        ("base", "Functional", []),
        ("base/block1_conv1", "Conv2D", ["base"]),
        ("base/block1_act", "Activation", ["base"]),
        ("base/block2_sepconv1", "SeparableConv2D", ["base"]),
        ("gap", "GlobalAveragePooling2D", []),
        ("head", "Dense", []),
    ]
    conv = structure["layers"][2]
    assert conv["output_shape"] == [None, 14, 14, 4] and conv["kernel_shapes"] == {"kernel": [3, 3, 3, 4]}
    assert [s for s, _ in written["featureviz/base/block1_conv1/filters"]] == [0, 1]


def test_nested_activations_apply_outer_preprocessing(tmp_path):
    import keras

    model = nested_cnn()
    image = gradient_image()
    with FeatureVizLogger(tmp_path, log_probe=False) as logger:
        records = logger.log_activations(model, image, step=0, layers=["block1_conv1", "base/block2_sepconv1"])
    base = model.get_layer("base")
    x = model.get_layer("rescale")(image[None].astype(np.float32))
    expected = keras.ops.convert_to_numpy(keras.Model(base.inputs[0], base.get_layer("block2_sepconv1").output)(x))[0]
    assert [r["layer"] for r in records] == ["base/block1_conv1", "base/block2_sepconv1"]
    np.testing.assert_allclose(records[1]["hi"], expected.max(axis=(0, 1)), rtol=1e-5)
    np.testing.assert_allclose(records[1]["lo"], expected.min(axis=(0, 1)), rtol=1e-5, atol=1e-7)


def test_several_probe_images_of_mixed_types(tmp_path):
    model = small_cnn()
    picture = Image.fromarray(gradient_image(20, 24))
    path = os.path.join(tmp_path, "probe.png")
    picture.save(path)
    floats = gradient_image().astype(np.float32) / 255.0
    with FeatureVizLogger(tmp_path) as logger:
        records = logger.log_activations(model, [picture, path, floats], step=0, layers=["conv1"])
    assert [(r["layer"], r["sample"], r["num_samples"]) for r in records] == [
        ("_probe", 0, 3), ("_probe", 1, 3), ("_probe", 2, 3),
        ("conv1", 0, 3), ("conv1", 1, 3), ("conv1", 2, 3),
    ]
    # PIL image and its file give the same probe; float [0, 1] shows like uint8.
    np.testing.assert_array_equal(records[0]["image"], records[1]["image"])
    np.testing.assert_array_equal(records[2]["image"], gradient_image())
    (_, tensor), = tensors_by_tag(run_dir(tmp_path))["featureviz/conv1/activations"]
    assert len(tensor) == 2 + 3


def test_max_channels_caps_and_says_so(tmp_path):
    model = small_cnn()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with FeatureVizLogger(tmp_path, max_channels=4, log_probe=False) as logger:
            records = logger.log_activations(model, gradient_image(), step=0, layers=["sep2", "dw3"])
    assert [(r["layer"], r["channels"], r["total_channels"]) for r in records] == [
        ("sep2", [0, 1, 2, 3], 6), ("dw3", [0, 1, 2, 3], 12)
    ]
    messages = [str(w.message) for w in caught if issubclass(w.category, caps.CapWarning)]
    assert messages == ["2 layers have more channels than max_channels=4: 'sep2' (6), 'dw3' (12). "
                        "Logging channels 0..3 of each; records list the channels they hold."]


def test_pattern_skips_and_reports_non_spatial_layers_once(tmp_path):
    model = small_cnn()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with FeatureVizLogger(tmp_path, log_probe=False) as logger:
            first = logger.log_activations(model, gradient_image(), step=0, layers=["*"])
            logger.log_activations(model, gradient_image(), step=1, layers=["*"])
    assert [r["layer"] for r in first] == ["conv1", "relu1", "sep2", "dw3", "point4"]
    messages = sorted(str(w.message) for w in caught)
    assert messages == [
        "Not logging activations of layer 'gap' (GlobalAveragePooling2D): its output has shape (None, 5), "
        "not (batch, height, width, channels).",
        "Not logging activations of layer 'head' (Dense): its output has shape (None, 2), "
        "not (batch, height, width, channels).",
    ]


def assert_nothing_written(tmp_path):
    assert not os.path.exists(run_dir(tmp_path)) or not os.listdir(run_dir(tmp_path))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"layers": ["conv"]}, ValueError, "No layer named 'conv' in model 'small_cnn'. Closest names: ['conv1']."),
        ({"layers": ["head"]}, ValueError,
         "Layer 'head' (Dense) cannot be logged: its output has shape (None, 2), not (batch, height, width, channels)."),
        ({"layers": ["blah*"]}, ValueError, "Pattern 'blah*' matches no layer of model 'small_cnn'."),
        ({"layers": [3]}, TypeError,
         "layers expects names, glob patterns, layer classes or layer objects. Received: 3 of type int"),
        ({"images": np.zeros((16, 16, 4), np.uint8)}, ValueError,
         "Probe images expect 3 channels (the model's input). Received: an image of shape (16, 16, 4)"),
        ({"images": np.zeros((0, 16, 16, 3), np.uint8)}, ValueError,
         "Probe images expect at least one image. Received: an empty batch of shape (0, 16, 16, 3)"),
        ({"images": []}, ValueError, "Probe images expect at least one image. Received: an empty list"),
        ({"images": np.zeros((2, 2, 16, 16, 3))}, ValueError,
         "Probe images expect an array of shape (H, W, C) or (N, H, W, C). Received: shape=(2, 2, 16, 16, 3)"),
        ({"images": "/nonexistent/cat.png"}, FileNotFoundError, "Probe image file not found: '/nonexistent/cat.png'"),
        ({"step": -1}, ValueError, "step expects an int >= 0. Received: step=-1"),
        ({"step": 1.5}, ValueError, "step expects an int >= 0. Received: step=1.5"),
    ],
)
def test_bad_input_clear_error_and_nothing_written(tmp_path, kwargs, error, message):
    arguments = {"images": gradient_image(), "step": 0, "layers": None}
    arguments.update(kwargs)
    with FeatureVizLogger(tmp_path) as logger:
        with pytest.raises(error) as raised:
            logger.log_activations(small_cnn(), arguments["images"], arguments["step"], layers=arguments["layers"])
    assert str(raised.value) == message
    assert_nothing_written(tmp_path)


def test_model_without_image_input(tmp_path):
    import keras

    unbuilt = keras.Sequential([keras.layers.Dense(2)], name="plain")
    vector = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2)], name="vector")
    with FeatureVizLogger(tmp_path) as logger:
        with pytest.raises(ValueError) as first:
            logger.log_activations(unbuilt, gradient_image(), step=0)
        with pytest.raises(ValueError) as second:
            logger.log_activations(vector, np.zeros((1, 8)), step=0, layers=[keras.layers.Dense])
    assert str(first.value) == (
        "FeatureVizLogger expects a built model with an input (start it with keras.Input). "
        "Received: model 'plain' without inputs"
    )
    assert str(second.value).startswith("None of the selected layers (class Dense) can be logged (dense")
    assert_nothing_written(tmp_path)


def test_ambiguous_plain_name_and_decreasing_steps(tmp_path):
    import keras

    first = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(3, 3, name="conv")], name="first")
    second = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Conv2D(2, 3, name="conv")], name="second")
    outer = keras.Sequential([keras.Input((8, 8, 3)), first, second], name="outer")
    with FeatureVizLogger(tmp_path) as logger:
        with pytest.raises(ValueError) as ambiguous:
            logger.log_filters(outer, step=0, layers=["conv"])
        assert str(ambiguous.value) == (
            "Layer name 'conv' is ambiguous; use a qualified name. Candidates: ['first/conv', 'second/conv']"
        )
        assert [(r["layer"], r["kind"]) for r in logger.log_filters(outer, step=5, layers=["second/conv"])] == [
            ("second/conv", "filters")
        ]
        with pytest.raises(ValueError) as backwards:
            logger.log_filters(outer, step=4)
    assert str(backwards.value) == (
        "FeatureVizLogger expects steps that never decrease (TensorBoard drops data after an out-of-order step). "
        "Received: step=4 after step=5"
    )


def test_constructor_validation():
    with pytest.raises(ValueError, match=r"FeatureVizLogger expects max_channels >= 1 or None. Received: max_channels=0"):
        FeatureVizLogger("logs", max_channels=0)
    with pytest.raises(ValueError, match=r"FeatureVizLogger expects run to be a folder name. Received: run='a/b'"):
        FeatureVizLogger("logs", run="a/b")
    with pytest.raises(ValueError, match=r"value_range expects finite lo <= hi"):
        FeatureVizLogger("logs", activation_scale="fixed", activation_range=(1, 0))


def test_constructing_touches_no_file(tmp_path):
    FeatureVizLogger(os.path.join(tmp_path, "never")).close()
    assert not os.path.exists(os.path.join(tmp_path, "never"))


def test_half_precision_and_nonfinite_activations(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(2, 3, name="half", dtype="mixed_float16")(inputs)
    x = keras.layers.Lambda(lambda t: keras.ops.log(t), name="log")(x)  # NaN where x < 0
    model = keras.Model(inputs, x)
    with FeatureVizLogger(tmp_path, log_probe=False) as logger:
        records = logger.log_activations(model, np.random.default_rng(0).normal(size=(8, 8, 3)), step=0, layers=["half", "log"])
    half, log = records
    assert half["image"].ndim == 2 and half["nonfinite"] == 0
    assert log["nonfinite"] > 0 and log["image"].shape[-1] == 2
    fraction = np.array(log["stats"]["nonfinite_fraction"])
    assert fraction.sum() * 36 == pytest.approx(log["nonfinite"])
    assert all(v is None or np.isfinite(v) for v in log["lo"] + log["hi"])


def test_channels_first_outputs_are_tiled_per_channel(tmp_path):
    import keras

    # TensorFlow runs no NCHW convolution on the CPU; padding and upsampling
    # layers take data_format and run anywhere.
    model = keras.Sequential(
        [
            keras.Input((2, 4, 5)),
            keras.layers.ZeroPadding2D(1, data_format="channels_first", name="pad"),
            keras.layers.UpSampling2D(2, data_format="channels_first", name="up"),
        ],
        name="nchw",
    )
    picture = np.stack([np.full((4, 5), 10.0), np.arange(20.0).reshape(4, 5)], axis=-1)  # HWC, 2 channels
    with FeatureVizLogger(tmp_path) as logger:
        records = logger.log_activations(model, picture, step=0, layers=["pad", "up"])
    pad, up = records[1:]
    assert pad["source_shape"] == [1, 6, 7, 2] and (pad["tile_height"], pad["tile_width"]) == (6, 7)
    assert pad["channels"] == [0, 1] and pad["hi"] == [10.0, 19.0] and pad["lo"] == [0.0, 0.0]
    assert up["source_shape"] == [1, 12, 14, 2]


def test_conv1d_drawn_and_conv3d_reported(tmp_path):
    import keras

    seq = keras.Sequential([keras.Input((10, 3)), keras.layers.Conv1D(4, 5, name="c1d")], name="seq")
    volume = keras.Sequential([keras.Input((4, 4, 4, 1)), keras.layers.Conv3D(2, 3, name="c3d")], name="vol")
    with FeatureVizLogger(tmp_path) as logger:
        (conv1d,) = logger.log_filters(seq, step=0)
        assert (conv1d["tile_height"], conv1d["tile_width"], conv1d["channels"]) == (3, 5, [0, 1, 2, 3])
        with pytest.raises(ValueError) as error:
            logger.log_filters(volume, step=1, layers=["c3d"])
    assert str(error.value) == (
        "Layer 'c3d' (Conv3D) cannot be logged: no filter drawing rule for class Conv3D "
        "with kernels {'kernel': (3, 3, 3, 1, 2)}."
    )


def test_public_names_resolve_to_their_owners():
    import tb_featureviz
    from tb_featureviz import callback, logger
    from tb_featureviz.attribution import attributor
    from tb_featureviz.featurevis import visualizer as featurevis

    assert tb_featureviz.__all__ == ["CapWarning", "FeatureVisualizer", "FeatureVizCallback", "FeatureVizLogger",
                                     "attribute", "visualize_features", "__version__"]
    assert (tb_featureviz.FeatureVizLogger, tb_featureviz.FeatureVizCallback, tb_featureviz.CapWarning,
            tb_featureviz.FeatureVisualizer, tb_featureviz.visualize_features, tb_featureviz.attribute) == (
        logger.FeatureVizLogger, callback.FeatureVizCallback, caps.CapWarning, featurevis.FeatureVisualizer,
        featurevis.visualize_features, attributor.attribute)
    with pytest.raises(AttributeError, match=r"^module 'tb_featureviz' has no attribute 'Missing'$"):
        tb_featureviz.Missing
