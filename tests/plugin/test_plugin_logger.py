"""The plugin serves what FeatureVizLogger wrote for a small CNN, with both loaders."""

import json
import urllib.parse

import numpy as np
import pytest
from werkzeug import test as werkzeug_test
from werkzeug import wrappers

from tests import plugin_fixtures as pf

pytestmark = pytest.mark.backends  # also run in .venv-jax and .venv-torch (.ci/run)

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A nested small CNN logged at steps 0 and 3; returns (logdir, model, records, listing)."""
    from tb_featureviz.logger import FeatureVizLogger
    from tb_featureviz.model.layers import describe_structure

    inner = keras.Sequential(
        [keras.Input((8, 8, 4)), keras.layers.SeparableConv2D(6, 3, padding="same", name="sep")],
        name="block",
    )
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3, padding="same", name="conv"),
            inner,
            keras.layers.GlobalAveragePooling2D(name="pool"),
            keras.layers.Dense(2, name="dense"),
        ],
        name="small_cnn",
    )
    images = np.random.default_rng(0).integers(0, 256, size=(2, 8, 8, 3), dtype=np.uint8)
    logdir = str(tmp_path_factory.mktemp("logger_logs"))
    records = []
    with FeatureVizLogger(logdir, run="cnn") as logger:
        for step in (0, 3):
            records += logger.log_filters(model, step=step)
            records += logger.log_activations(model, images, step=step)
    # What a fully loaded data provider lists: each grid's two tags, the
    # structure document (and no scalars: only the callback writes those).
    listing = {("featureviz", "cnn", "featureviz/_model"): 0}
    for r in records:
        listing[("images", "cnn", r["tag"])] = 3
        listing[("featureviz", "cnn", r["tag"] + "/record")] = 3
    return logdir, describe_structure(model), records, listing


@pytest.mark.parametrize("load_fast", [False, True], ids=["load_fast=false", "load_fast=true"])
def test_serves_the_loggers_grids(logged, load_fast):
    logdir, structure, records, listing = logged
    with pf.tensorboard_app(logdir, listing, load_fast) as (app, _, _):
        client = werkzeug_test.Client(app, wrappers.Response)
        reply = client.get(pf.PREFIX + "layers?run=cnn")
        assert reply.status_code == 200
        layers = json.loads(reply.get_data())
        assert layers["model"] == "small_cnn"
        assert [l["name"] for l in layers["layers"]] == [l["name"] for l in structure["layers"]]
        assert [l["name"] for l in layers["layers"]] == ["conv", "block", "block/sep", "pool", "dense"]
        assert [l["has_weights"] for l in layers["layers"]] == [True, True, True, False, True]
        logged_kinds = {}
        for r in records:
            logged_kinds.setdefault(r["layer"], set()).add(r["kind"])
        for layer in layers["layers"]:
            kinds = layer["kinds"]
            assert set(kinds) == logged_kinds.get(layer["name"], set()) - {"probe"}, layer["name"]
            for kind, info in kinds.items():
                assert (info["steps"], info["written"]) == ([0, 3], 2)
        assert layers["probe"] == {"layer": "_probe", "kind": "probe", "steps": [0, 3], "samples": 2}
        assert layers["layers"][0]["kinds"]["activations"]["samples"] == 2

        assert len(records) > 10
        for r in records:
            query = urllib.parse.urlencode({"run": "cnn", "layer": r["layer"], "kind": r["kind"],
                                            "step": r["step"], "sample": r["sample"]})
            reply = client.get(pf.PREFIX + "grid?" + query)
            assert reply.status_code == 200, reply.get_data(as_text=True)
            doc = json.loads(reply.get_data())
            # Every key the logger returned (but its arrays) comes back as written.
            expected = json.loads(json.dumps(
                {k: v for k, v in r.items() if k not in ("tag", "image", "png")}
            ))
            assert {k: doc[k] for k in expected} == expected
            assert doc["steps"] == [0, 3]
            reply = client.get(pf.PREFIX + doc["image_url"])
            assert (reply.status_code, reply.get_data()) == (200, r["png"])
