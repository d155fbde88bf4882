"""Integration on keras.applications.Xception(weights=None), flat and nested."""

import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from tb_featureviz import FeatureVizLogger
from tb_featureviz.model.layers import select_layers, walk_layers
from tests.eventfiles import tensors_by_tag

pytestmark = pytest.mark.backends  # also run in .venv-jax and .venv-torch (.ci/run)

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "tb_featureviz", "data", "chelsea.png")


@pytest.fixture(scope="module")
def xception():
    import keras

    keras.utils.set_random_seed(0)
    return keras.applications.Xception(weights=None, include_top=False, input_shape=(299, 299, 3))


@pytest.fixture(scope="module")
def nested(xception):
    import keras

    return keras.Sequential(
        [
            keras.Input((299, 299, 3)),
            keras.layers.Rescaling(1 / 127.5, offset=-1, name="preprocess"),
            xception,
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2),
        ],
        name="finetune",
    )


def test_default_selection_is_the_40_conv_layers(xception):
    selection = select_layers(xception)
    classes = [info.class_name for info in selection.layers]
    assert len(classes) == 40
    assert classes.count("Conv2D") == 6 and classes.count("SeparableConv2D") == 34
    assert selection.layers[0].name == "block1_conv1" and selection.layers[-1].name == "block14_sepconv2"


def test_nested_names_and_patterns(nested):
    names = [info.name for info in walk_layers(nested)]
    assert names[:3] == ["preprocess", "xception", "xception/block1_conv1"]
    assert len(names) == 1 + 1 + 131 + 2  # outer layers, xception, its 131 non-input layers
    chosen = select_layers(nested, ["block1*", "*sepconv2_act"]).layers
    assert [info.name for info in chosen][:4] == [
        "xception/block1_conv1", "xception/block1_conv1_bn", "xception/block1_conv1_act", "xception/block1_conv2"
    ]
    assert "xception/block14_sepconv2_act" in [info.name for info in chosen]


def test_filters_cover_every_kernel_weight(xception, tmp_path):
    with FeatureVizLogger(tmp_path) as logger:
        records = logger.log_filters(xception, step=0)
    by_layer = {}
    for record in records:
        by_layer.setdefault(record["layer"], []).append(record)
    assert len(by_layer) == 40
    first = by_layer["block1_conv1"][0]
    assert (first["kind"], first["image"].shape[2], len(first["channels"])) == ("filters", 3, 32)
    depthwise = by_layer["block14_sepconv2"][0]
    assert (depthwise["kind"], len(depthwise["channels"]), depthwise["tile_height"], depthwise["tile_width"]) == (
        "filters", 1536, 3, 3
    )
    pointwise = by_layer["block14_sepconv2"][1]
    assert (pointwise["kind"], pointwise["tile_height"], pointwise["tile_width"]) == ("pointwise", 1536, 2048)
    mosaic = by_layer["block1_conv2"][1]
    assert (mosaic["kind"], mosaic["rows"], mosaic["cols"]) == ("filters_mosaic", 32, 64)


def test_flat_and_nested_feature_maps_agree(xception, nested, tmp_path):
    from keras.applications.xception import preprocess_input

    picture = Image.open(SAMPLE)
    flat_dir, nested_dir = os.path.join(tmp_path, "flat"), os.path.join(tmp_path, "nested")
    layers = ["block1_conv1", "block14_sepconv2_act"]
    with FeatureVizLogger(flat_dir) as logger:
        flat = logger.log_activations(xception, picture, step=0, layers=layers, preprocess=preprocess_input)
    with FeatureVizLogger(nested_dir) as logger:
        inside = logger.log_activations(nested, picture, step=0, layers=layers)
    assert [r["layer"] for r in inside] == ["_probe", "xception/block1_conv1", "xception/block14_sepconv2_act"]
    for a, b in zip(flat[1:], inside[1:]):
        assert a["source_shape"] == b["source_shape"]
        np.testing.assert_allclose(a["hi"], b["hi"], rtol=1e-3, atol=1e-4)
    last = inside[2]
    assert last["source_shape"] == [1, 10, 10, 2048] and len(last["channels"]) == 2048
    written = tensors_by_tag(os.path.join(nested_dir, "featureviz"))
    (_, tensor), = written["featureviz/xception/block14_sepconv2_act/activations"]
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(tensor[2]))), last["image"])
    (_, text), = written["featureviz/_model"]
    assert len(json.loads(text.item())["layers"]) == 135
