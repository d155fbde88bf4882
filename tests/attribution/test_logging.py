"""Attribution logged: the record and pixels through a real event file, the errors before any write, the callback."""

import glob
import json
import os
import warnings

import numpy as np
import pytest

import keras

from tb_featureviz import FeatureVizCallback, FeatureVizLogger
from tb_featureviz.attribution import attribute
from tb_featureviz.attribution.attributor import Attributor
from tb_featureviz.render import heatmaps
from tests.attribution.test_attribute import small_classifier
from tests.eventfiles import tensors_by_tag

pytestmark = pytest.mark.backends

NAMES = ["red", "green", "blue"]


def pictures(count=2, seed=5):
    return np.random.default_rng(seed).integers(0, 256, (count, 16, 16, 3)).astype(np.uint8)


def decode(png_bytes):
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png_bytes)))


def test_the_record_and_pixels_round_trip_through_an_event_file(tmp_path):
    model = small_classifier()
    with FeatureVizLogger(tmp_path, "run") as logger:
        records = logger.log_attributions(model, pictures(), 7, method="layercam", targets="top2",
                                          class_names=NAMES)
    result = attribute(model, pictures(), method="layercam", targets="top2")
    assert [(r["layer"], r["kind"], r["sample"]) for r in records] == [
        ("_probe", "probe", 0), ("_probe", "probe", 1), ("base/c2", "attribution", 0), ("base/c2", "attribution", 1)]
    tensors = tensors_by_tag(os.path.join(tmp_path, "run"))
    assert sorted(tensors) == ["featureviz/_model", "featureviz/_probe/probe", "featureviz/_probe/probe/record",
                               "featureviz/base/c2/attribution", "featureviz/base/c2/attribution/record"]
    ((step, value),) = tensors["featureviz/base/c2/attribution/record"]
    record = json.loads(value.item())
    assert step == 7 and record["kind"] == "attribution" and record["layer"] == "base/c2"
    assert record["attribution"] == {"method": "layercam", "targets": "top2", "map_height": 8, "map_width": 8,
                                     "opacity": 0.5, "colormap": "viridis"}
    assert (record["rows"], record["cols"], record["channels"], record["scale"]) == (1, 2, [0, 1], "fixed")
    ((_, blob),) = tensors["featureviz/base/c2/attribution"]
    for n, sample in enumerate(record["samples"]):
        assert [t["class"] for t in sample["targets"]] == result.classes[n].tolist()
        assert [t["name"] for t in sample["targets"]] == [NAMES[c] for c in result.classes[n]]
        for t, target in enumerate(sample["targets"]):
            heatmap = result.heatmaps[n, t]
            np.testing.assert_allclose(target["heatmap"], heatmap, rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(target["range"], [heatmap.min(), heatmap.max()], rtol=1e-5)
            np.testing.assert_allclose(target["score"], result.scores[n, t], rtol=1e-5)
            np.testing.assert_allclose(target["probability"], result.probabilities[n, t], rtol=1e-5)
        # The PNG: each tile the map over the picture, as heatmaps.overlay draws it.
        grid = decode(blob[2 + n])
        for t in range(2):
            left = t * (16 + record["pad"])
            want = heatmaps.overlay(pictures()[n], result.heatmaps[n, t], 0.0, float(result.heatmaps[n, t].max()))
            np.testing.assert_array_equal(grid[:16, left:left + 16, :3], want)


def run_files(logdir):
    return glob.glob(os.path.join(logdir, "**", "events.out.tfevents.*"), recursive=True)


@pytest.mark.parametrize("call,error,text", [
    (lambda logger, model: logger.log_attributions(model, pictures(), 0, layer="pool"), ValueError,
     "Layer 'pool' (GlobalAveragePooling2D) cannot be logged: its output has shape (None, 6), "
     "not (batch, height, width, channels)."),
    (lambda logger, model: logger.log_attributions(model, pictures(), 0, targets=[1, 3]), ValueError,
     "FeatureVizLogger expects targets to be class indices in [0, 3). Received: [3]"),
    (lambda logger, model: logger.log_attributions(model, pictures(), 0, targets="label", labels=[1, 2, 0]),
     ValueError, "FeatureVizLogger expects one label per picture (2 labels). Received: labels of shape (3,)"),
    (lambda logger, model: logger.log_attributions(model, pictures(), 0, class_names=["a", "b"]), ValueError,
     "FeatureVizLogger expects class_names as a list of 3 names (one per class) or a dict by class index. "
     "Received: 2"),
    (lambda logger, model: logger.log_attributions(model, pictures(), 0, method="gradcam3"), ValueError,
     "FeatureVizLogger expects method in ['gradcam', 'gradcam++', 'layercam', 'scorecam']. "
     "Received: method='gradcam3'"),
    (lambda logger, model: logger.log_attributions(model.get_layer("base"), pictures(), 0), ValueError,
     "FeatureVizLogger expects a classification model: one output of class scores [batch, classes]. "
     "Received: output shape (None, 8, 8, 6) from layer 'c2'"),
])
def test_errors_come_before_anything_is_written(tmp_path, call, error, text):
    model = small_classifier()
    with FeatureVizLogger(tmp_path) as logger:
        with pytest.raises(error) as raised:
            call(logger, model)
    assert str(raised.value) == text
    assert run_files(tmp_path) == []


def test_a_regression_model_is_not_a_classifier():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1, name="regression")(x))
    with pytest.raises(ValueError) as raised:
        Attributor(model)
    assert str(raised.value) == ("attribute expects a classification model: one output of class scores "
                                 "[batch, classes]. Received: output shape (None, 1) from layer 'regression'")


def fit_with_attribution(tmp_path, **options):
    model = small_classifier()
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).integers(0, 256, (16, 16, 16, 3)).astype(np.float32)
    y = np.arange(16) % 3
    callback = FeatureVizCallback(tmp_path, pictures(), layers=["base/c1"], attribution_every=1,
                                  class_names=NAMES, **options)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    return model, callback


def test_the_callback_logs_attribution_at_every_logged_step(tmp_path):
    model, callback = fit_with_attribution(tmp_path, attribution_targets="top2")
    tensors = tensors_by_tag(callback.run_dir)
    steps = [step for step, _ in tensors["featureviz/base/c2/attribution/record"]]
    assert steps == [0, 2, 4]
    last = json.loads(tensors["featureviz/base/c2/attribution/record"][-1][1].item())
    # The maps of the trained model at the last step: what attribute() gives now.
    now = attribute(model, pictures(), targets="top2")
    for n, sample in enumerate(last["samples"]):
        assert [t["class"] for t in sample["targets"]] == now.classes[n].tolist()
        np.testing.assert_allclose([t["heatmap"] for t in sample["targets"]], now.heatmaps[n], rtol=1e-4, atol=1e-6)
        assert [t["name"] for t in sample["targets"]] == [NAMES[c] for c in now.classes[n]]


@pytest.mark.parametrize("options,text", [
    ({"attribution_method": "scorecam"},
     "FeatureVizCallback expects attribution_method in ['gradcam', 'gradcam++', 'layercam'] (Score-CAM costs a "
     "forward pass per channel: log it with FeatureVizLogger.log_attributions outside fit). "
     "Received: attribution_method='scorecam'"),
    ({"attribution_every": 0}, "FeatureVizCallback expects attribution_every >= 1 or None. Received: attribution_every=0"),
    ({"attribution_targets": "label"}, "FeatureVizCallback expects targets='label' with labels= (one class index per "
                                       "picture). Received: labels=None"),
])
def test_callback_arguments_are_checked_when_it_is_made(tmp_path, options, text):
    with pytest.raises(ValueError) as raised:
        FeatureVizCallback(tmp_path, pictures(), **options)
    assert str(raised.value) == text


def test_callback_checks_the_model_at_the_first_train_begin(tmp_path):
    with pytest.raises(ValueError) as raised, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_with_attribution(tmp_path, attribution_targets=[5])
    assert str(raised.value) == "FeatureVizCallback expects targets to be class indices in [0, 3). Received: [5]"
    assert run_files(tmp_path) == []
