"""Sample limits (``--samples_per_plugin``) and data that grows while served."""

import os

import numpy as np
import pytest
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test
from werkzeug import wrappers

from tests import ROOT
from tests import plugin_fixtures as pf
from tb_featureviz.plugin import core as plugin_module
from tb_featureviz.plugin import http as plugin_http
from tb_featureviz.plugin import documents as plugin_documents
from tb_featureviz import jsontext

LOADERS = [pytest.param(False, id="load_fast=false"), pytest.param(True, id="load_fast=true")]


@pytest.fixture(scope="module")
def long_logs(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("long_logs"))
    return logdir, {"long": pf.write_long_run(logdir)}


get_json = pf.client_json


@pytest.mark.parametrize("load_fast", LOADERS)
def test_zero_means_every_step(long_logs, load_fast):
    logdir, logs = long_logs
    hints = "images=0,featureviz=0"
    with pf.tensorboard_app(logdir, pf.expected_listing(logs), load_fast, hints) as (app, flags, _):
        assert flags.samples_per_plugin == {"images": 0, "featureviz": 0}
        client = werkzeug_test.Client(app, wrappers.Response)
        assert get_json(client, "runs") == {"runs": ["long"], "sampling": {"images": 0, "featureviz": 0}}
        doc = get_json(client, "layers?run=long")
        assert doc["layers"][0]["kinds"] == {
            "activations": {"steps": list(pf.LONG_STEPS), "samples": 1, "written": 15}
        }
        assert doc["sampling"] == {"images": 0, "featureviz": 0, "dropped": False}
        grid = get_json(client, "grid?run=long&layer=conv&kind=activations&step=0")
        assert grid["steps"] == list(pf.LONG_STEPS)
        pngs, _ = logs["long"].written[("conv", "activations", 0)]
        assert (grid["sequence"], grid["lo"], grid["hi"]) == (0, [-1.0], [0.0])
        assert client.get(pf.PREFIX + grid["image_url"]).get_data() == pngs[0]


@pytest.mark.parametrize("load_fast", LOADERS)
def test_equal_limits_keep_the_same_steps_of_records_and_images(long_logs, load_fast):
    logdir, logs = long_logs
    with pf.tensorboard_app(logdir, pf.expected_listing(logs), load_fast, "images=4,featureviz=4") as (app, _, _):
        client = werkzeug_test.Client(app, wrappers.Response)
        doc = get_json(client, "layers?run=long")
        kind = doc["layers"][0]["kinds"]["activations"]
        assert len(kind["steps"]) == 4 and kind["steps"][-1] == 14 and kind["written"] == 15
        assert doc["sampling"] == {"images": 4, "featureviz": 4, "dropped": True}
        # Both reservoirs start from the same seed: the same 4 steps survive,
        # so every step the layer list shows has its grid.
        grid = get_json(client, "grid?run=long&layer=conv&kind=activations")
        assert grid["steps"] == kind["steps"]


def test_new_steps_show_up_after_a_reload(tmp_path):
    """Cached tags are read again when TensorBoard keeps newer data."""
    logdir = str(tmp_path)
    log = pf.LogWriter(logdir, "live")
    log.grid("conv", "Conv2D", "activations", 0, [np.full((1, 2, 2), 1.0, np.float32)],
             source_shape=[1, 2, 2, 1], channels=[0], total_channels=1)
    log.writer.flush()
    with pf.tensorboard_app(logdir, None, False) as (app, _, ingester):
        client = werkzeug_test.Client(app, wrappers.Response)
        assert get_json(client, "layers?run=live")["steps"] == [0]
        assert get_json(client, "grid?run=live&layer=conv&kind=activations")["step"] == 0

        # Training goes on: the same event file grows, TensorBoard reloads.
        log.grid("conv", "Conv2D", "activations", 7, [np.arange(4.0).reshape(1, 2, 2)],
                 source_shape=[1, 2, 2, 1], channels=[0], total_channels=1)
        log.writer.flush()
        ingester.deprecated_multiplexer.Reload()

        doc = get_json(client, "layers?run=live")
        assert doc["layers"][0]["kinds"] == {"activations": {"steps": [0, 7], "samples": 1, "written": 2}}
        grid = get_json(client, "grid?run=live&layer=conv&kind=activations")
        assert (grid["step"], grid["steps"], grid["hi"]) == (7, [0, 7], [3.0])
        pngs, _ = log.written[("conv", "activations", 7)]
        assert client.get(pf.PREFIX + grid["image_url"]).get_data() == pngs[0]
    log.close()


# --------------------------------------------------------------------------
# Limits the plugin reports, from TensorBoard's hints


@pytest.mark.parametrize(
    "hints,expected",
    [
        (None, {"images": 10, "featureviz": 10}),
        ({}, {"images": 10, "featureviz": 10}),
        ({"images": 0}, {"images": 0, "featureviz": 10}),
        ({"featureviz": 0, "images": 25, "text": 3}, {"images": 25, "featureviz": 0}),
        ({"images": None}, {"images": 10, "featureviz": 10}),
    ],
)
def test_sample_limits_of_the_python_loader(hints, expected):
    context = base_plugin.TBContext(data_provider=None, sampling_hints=hints)
    assert plugin_module.FeatureVizPlugin(context, static_files={}).sample_limits == expected


def test_sample_limits_of_the_data_server():
    from tensorboard.data import grpc_provider

    provider = grpc_provider.GrpcDataProvider("localhost:0", stub=None)
    context = base_plugin.TBContext(data_provider=provider, sampling_hints={"images": 3})
    # The data server keeps 100 tensors of a third-party plugin by default.
    assert plugin_module.FeatureVizPlugin(context, static_files={}).sample_limits == {
        "images": 3, "featureviz": 100,
    }


def test_unreadable_documents_and_non_finite_numbers():
    assert plugin_documents.parse_document(b"{not json") is None
    assert plugin_documents.parse_document(np.array(b'{"a": 1}', dtype=object)) == {"a": 1}
    assert jsontext.dumps_lenient({"x": [1.5, float("nan"), {"y": float("inf")}]}) == (
        '{"x":[1.5,null,{"y":null}]}'
    )


def test_files_of_the_package_are_the_ones_served(tmp_path):
    # The default whitelist is the installed package's top-level panel files.
    files = plugin_http.load_static_files()
    frontend = os.path.join(ROOT, "frontend")
    expected = sorted(
        "/" + name for name in os.listdir(frontend)
        if os.path.splitext(name)[1] in plugin_http.STATIC_TYPES
    )
    if not files:
        pytest.skip("tb_featureviz.frontend is not importable (install with pip install -e .)")
    assert sorted(files) == expected
