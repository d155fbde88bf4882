"""The real ``tensorboard`` program finds the plugin and serves a grid and its PNG.

Needs the project installed (``pip install -e .``): TensorBoard discovers
plugins through the ``tensorboard_plugins`` entry point only.
"""

import json
import time
import urllib.parse

import pytest

from tests import plugin_fixtures as pf
from tb_featureviz.plugin.http import load_static_files


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("tensorboard_logs"))
    return logdir, pf.write_logdir(logdir)


fetch_json = pf.fetch_json


@pytest.mark.parametrize("load_fast", [False, True], ids=["load_fast=false", "load_fast=true"])
def test_tensorboard_serves_the_panel_data(logs, load_fast):
    logdir, written = logs
    with pf.tensorboard_process(logdir, load_fast) as base:
        # TensorBoard loads the logdir in the background: wait for the data.
        deadline = time.monotonic() + 60
        while True:
            if "cnn" in fetch_json(base + pf.PREFIX + "runs")["runs"]:
                layers = fetch_json(base + pf.PREFIX + "layers?run=cnn")
                if layers["steps"] == [0, 5, 10] and len(layers["layers"]) == 5:
                    break
            assert time.monotonic() < deadline, f"TensorBoard did not load {logdir}"
            time.sleep(0.5)
        listing = fetch_json(base + "/data/plugins_listing")
        assert "featureviz" in listing, (
            "TensorBoard did not load the featureviz plugin: is the project installed (pip install -e .)?"
        )
        assert listing["featureviz"] == {
            "disable_reload": False,
            "enabled": True,
            "remove_dom": False,
            "tab_name": "Feature maps",
            "loading_mechanism": {"type": "IFRAME", "module_path": "/data/plugin/featureviz/index.js"},
        }
        assert [layer["name"] for layer in layers["layers"]] == ["conv1", "block", "block/sep", "dense", "extra"]
        assert layers["sampling"] == {"images": 10, "featureviz": 100 if load_fast else 10, "dropped": False}

        query = urllib.parse.urlencode({"run": "cnn", "layer": "block/sep", "kind": "activations",
                                        "step": 5, "sample": 1})
        grid = fetch_json(base + pf.PREFIX + "grid?" + query)
        pngs, record = written["cnn"].written[("block/sep", "activations", 5)]
        assert (grid["layer"], grid["step"], grid["sample"], grid["steps"]) == ("block/sep", 5, 1, [0, 5, 10])
        assert (grid["lo"], grid["hi"], grid["channels"]) == (
            record["samples"][1]["lo"], record["samples"][1]["hi"], [0, 1, 4, 5]
        )
        status, headers, body = pf.fetch(base + pf.PREFIX + grid["image_url"])
        assert (status, headers["Content-Type"]) == (200, "image/png")
        assert body == pngs[1]

        status, _, body = pf.fetch(base + pf.PREFIX + "grid?run=cnn&layer=nope&kind=activations")
        assert (status, json.loads(body)) == (404, {"error": "Unknown layer 'nope' in run 'cnn'"})

        static = load_static_files()
        if "/index.js" in static:
            status, headers, body = pf.fetch(base + pf.PREFIX + "index.js")
            assert (status, body) == (200, static["/index.js"][0])
            assert headers["Content-Type"] == "text/javascript; charset=utf-8"
