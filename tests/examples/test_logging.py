"""Dataset examples logged: records, crops and histograms through real event files, served; callback; CLI."""

import json
import os

import numpy as np
import pytest

import keras

from tb_featureviz import FeatureVizCallback, FeatureVizLogger
from tb_featureviz.examples.scan import CROP_SIZE, crop
from tests.eventfiles import metadata_by_tag, tensors_by_tag
from tests.examples.test_scan import PLANTED, detector, pictures_16, planted_pictures, small_cnn

pytestmark = pytest.mark.backends


def decode(png_bytes):
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png_bytes)))


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("examples"))
    pictures = planted_pictures()
    with FeatureVizLogger(logdir, "run", max_channels=1) as logger:
        records = logger.log_examples(detector(), pictures, 4, layers="detect", k=5)
    return logdir, pictures, records


def test_the_record_lists_every_channel_and_the_crops_are_the_boxes(logged):
    logdir, pictures, records = logged
    tensors = tensors_by_tag(os.path.join(logdir, "run"))
    assert sorted(tensors) == ["featureviz/_data/pictures", "featureviz/_data/pictures/record", "featureviz/_model",
                               "featureviz/detect/data/dead_fraction", "featureviz/detect/data/nonfinite_fraction",
                               "featureviz/detect/data/saturated_fraction", "featureviz/detect/examples",
                               "featureviz/detect/examples/record", "featureviz/detect/histogram"]
    ((step, value),) = tensors["featureviz/detect/examples/record"]
    record = json.loads(value.item())
    assert (step, record["kind"], record["channels"], record["total_channels"]) == (4, "examples", [0], 2)
    examples = record["examples"]
    assert (examples["k"], examples["pictures"], examples["picture_height"], examples["crop_size"]) == (5, 300, 32,
                                                                                                      CROP_SIZE)
    assert examples["receptive_field"] == {"jump": [1, 1], "start": [0, 0], "size": [5, 5], "exact": True}
    assert len(examples["per_channel"]) == 2 and all(len(c) == 5 for c in examples["per_channel"])  # every channel
    first = examples["per_channel"][0]
    assert {e["index"] for e in first} == set(PLANTED)
    for entry in first:
        top, left = PLANTED[entry["index"]]
        assert entry["box"] == [top, left, top + 5, left + 5]
    assert set(examples["stats"]) == {"mean", "max", "zero_fraction"} and len(examples["stats"]["max"]) == 2
    assert examples["health"] == {"dead_fraction": 0.0, "saturated_fraction": 0.0, "nonfinite_fraction": 0.0}
    # The tile of channel 0: its crops, strongest first, as crop() cuts them.
    ((_, blob),) = tensors["featureviz/detect/examples"]
    tile = decode(blob[2])
    assert tile.shape[:2] == (2 * CROP_SIZE + 1, 3 * CROP_SIZE + 2)  # 5 crops: 2 rows of 3
    for slot, entry in enumerate(first):
        row, col = divmod(slot, 3)
        top, left = row * (CROP_SIZE + 1), col * (CROP_SIZE + 1)
        np.testing.assert_array_equal(tile[top:top + CROP_SIZE, left:left + CROP_SIZE, :3],
                                      crop(pictures[entry["index"]], entry["box"]))
    assert records[0]["examples"]["per_channel"][0] == first


def test_the_pictures_behind_the_crops_are_logged_once(logged):
    logdir, pictures, _ = logged
    tensors = tensors_by_tag(os.path.join(logdir, "run"))
    record = json.loads(tensors["featureviz/_data/pictures/record"][0][1].item())
    assert record["indices"] == sorted(PLANTED) and (record["picture_height"], record["picture_width"]) == (32, 32)
    grid = decode(tensors["featureviz/_data/pictures"][0][1][2])
    for tile, index in enumerate(record["indices"]):
        row, col = divmod(tile, record["cols"])
        top, left = row * (32 + record["pad"]), col * (32 + record["pad"])
        np.testing.assert_array_equal(grid[top:top + 32, left:left + 32, :3], pictures[index])


def test_the_histogram_is_tensorboards_and_counts_every_value(logged):
    logdir, _, _ = logged
    run = os.path.join(logdir, "run")
    meta = metadata_by_tag(run)["featureviz/detect/histogram"]
    assert meta.plugin_data.plugin_name == "histograms" and meta.data_class == 2  # DATA_CLASS_TENSOR
    ((step, buckets),) = tensors_by_tag(run)["featureviz/detect/histogram"]
    assert step == 4 and buckets.dtype == np.float64 and buckets.shape[1] == 3
    assert buckets[:, 2].sum() == 300 * 28 * 28 * 2  # every value of both channels over the data
    assert (buckets[1:, 0] >= buckets[:-1, 0]).all()


@pytest.mark.parametrize("load_fast", [False, True], ids=["load_fast=false", "load_fast=true"])
def test_served_by_the_plugin_and_listed_by_tensorboards_histograms(logged, load_fast):
    pytest.importorskip("werkzeug")
    from tensorboard import context
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.histogram import histograms_plugin
    from werkzeug import test as werkzeug_test
    from werkzeug import wrappers

    from tests import plugin_fixtures as pf

    logdir, _, records = logged
    listing = {("featureviz", "run", "featureviz/_model"): 4}
    for r in records:
        listing[("images", "run", r["tag"])] = 4
        listing[("featureviz", "run", r["tag"] + "/record")] = 4
    for name in ("dead_fraction", "saturated_fraction", "nonfinite_fraction"):
        listing[("scalars", "run", f"featureviz/detect/data/{name}")] = 4
    with pf.tensorboard_app(logdir, listing, load_fast) as (app, _, ingester):
        client = werkzeug_test.Client(app, wrappers.Response)
        layers = json.loads(client.get(pf.PREFIX + "layers?run=run").get_data())
        detect = [layer for layer in layers["layers"] if layer["name"] == "detect"][0]
        assert detect["kinds"]["examples"]["steps"] == [4] and layers["kind_labels"]["examples"] == "Examples"
        reply = client.get(pf.PREFIX + "grid?run=run&layer=detect&kind=examples&step=4&sample=0")
        assert reply.status_code == 200
        assert json.loads(reply.get_data())["examples"]["per_channel"][0] == records[0]["examples"]["per_channel"][0]
        reply = client.get(pf.PREFIX + "grid?run=run&layer=_data&kind=pictures&step=4&sample=0")
        assert reply.status_code == 200 and json.loads(reply.get_data())["indices"] == sorted(PLANTED)
        plugin = histograms_plugin.HistogramsPlugin(base_plugin.TBContext(data_provider=ingester.data_provider))
        index = plugin.index_impl(context.RequestContext(), experiment="")
        assert list(index["run"]) == ["featureviz/detect/histogram"]


def test_the_callback_scans_the_data_at_its_logged_steps(tmp_path):
    model = small_cnn()
    model = keras.Model(model.inputs[0], keras.layers.Dense(2, name="head")(model.outputs[0]))
    model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    x, y = pictures_16(16).astype(np.float32), np.arange(16) % 2
    data = pictures_16(40, seed=9)
    callback = FeatureVizCallback(tmp_path, pictures_16(1), layers=["c1"], examples_data=data, examples_every=2,
                                  examples_k=3, max_channels=2)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[callback])
    tensors = tensors_by_tag(callback.run_dir)
    assert [s for s, _ in tensors["featureviz/c1/examples/record"]] == [0, 4]  # logged steps 0, 2, 4, 6: every other
    assert [s for s, _ in tensors["featureviz/c1/histogram"]] == [0, 4]
    last = json.loads(tensors["featureviz/c1/examples/record"][-1][1].item())["examples"]
    assert last["pictures"] == 40 and last["k"] == 3 and len(last["per_channel"]) == 4


def test_callback_refuses_examples_every_without_data(tmp_path):
    with pytest.raises(ValueError) as raised:
        FeatureVizCallback(tmp_path, pictures_16(1), examples_every=1)
    assert str(raised.value) == ("FeatureVizCallback expects examples_data (the pictures to scan) with "
                                 "examples_every. Received: examples_data=None")


def compiled_classifier():
    model = small_cnn()
    model = keras.Model(model.inputs[0], keras.layers.Dense(2, name="head")(model.outputs[0]))
    model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    return model


def test_the_callback_names_the_examples_layers_it_skips(tmp_path):
    """A pattern that reaches layers without feature maps warns about each, once, at the set-up."""
    model = compiled_classifier()
    x, y = pictures_16(8).astype(np.float32), np.arange(8) % 2
    callback = FeatureVizCallback(tmp_path, pictures_16(1), layers=["c1"], examples_data=pictures_16(8),
                                  examples_every=1, examples_layers="*", examples_k=2)
    with pytest.warns(UserWarning) as caught:
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    texts = [str(w.message) for w in caught if "Not logging examples" in str(w.message)]
    assert any(text.startswith("Not logging examples of layer 'head' (Dense): ") for text in texts), texts
    assert len(texts) == len(set(texts))
    records = tensors_by_tag(callback.run_dir)
    assert {"featureviz/c1/examples/record", "featureviz/c2/examples/record"} <= set(records)


def test_examples_without_layers_and_without_feature_maps_are_refused_at_the_set_up():
    from tb_featureviz.examples.schedule import ExamplesSchedule

    schedule = ExamplesSchedule("FeatureVizCallback", data=pictures_16(4), every=1)
    with pytest.raises(ValueError) as raised:
        schedule.check(compiled_classifier(), pictures_16(1), ())
    assert str(raised.value) == ("FeatureVizCallback expects examples_layers when no layer's feature maps are "
                                 "logged. Received: examples_layers=None")
