"""The plugin loads and serves every route in a TensorBoard without TensorFlow.

A subprocess puts a meta-path hook first that makes ``import tensorflow``
(and its submodules) raise ImportError, as in an environment where only
``tensorboard`` is installed; TensorBoard then falls back to its own stub.
It builds the WSGI app the way TensorBoard does with the featureviz loader,
for both loaders, and serves all routes over a log written beforehand.
"""

import base64
import json
import subprocess
import sys
import textwrap

import pytest

from tb_featureviz.plugin.http import load_static_files
from tests import ROOT
from tests import plugin_fixtures as pf

SCRIPT = textwrap.dedent(
    """
    import base64, json, sys

    class BlockTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name == "tensorflow" or name.startswith("tensorflow."):
                raise ImportError(f"TensorFlow is blocked in this test (import {name})")
            return None

    sys.meta_path.insert(0, BlockTensorFlow())
    sys.path.insert(0, sys.argv[1])
    try:
        import tensorflow
    except ImportError:
        pass
    else:
        raise AssertionError("the hook did not block TensorFlow")

    from werkzeug import test, wrappers
    from tests import plugin_fixtures as pf

    logdir, urls = sys.argv[2], json.loads(sys.argv[4])
    expected = {tuple(k): v for k, v in json.loads(sys.argv[3])}
    out = {}
    for load_fast in (False, True):
        with pf.tensorboard_app(logdir, expected, load_fast) as (app, _, _):
            client = test.Client(app, wrappers.Response)
            for url in urls:
                reply = client.get(url)
                out[f"{load_fast} {url}"] = [reply.status_code, base64.b64encode(reply.get_data()).decode()]
    loaded = sorted(m for m in sys.modules if m.split(".")[0] == "tensorflow")
    print(json.dumps({"replies": out, "tensorflow_modules": loaded}))
    """
)


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("no_tf_logs"))
    return logdir, {"cnn": pf.write_cnn_run(logdir)}


def test_serves_every_route_with_tensorflow_blocked(logs):
    logdir, written = logs
    grid = "layer=block%2Fsep&kind=activations&step=5&sample=1"
    urls = [
        "/data/plugins_listing",
        pf.PREFIX + "runs",
        pf.PREFIX + "layers?run=cnn",
        pf.PREFIX + "grid?run=cnn&" + grid,
        pf.PREFIX + "image?run=cnn&" + grid,
        pf.PREFIX + "scalars?run=cnn",
        pf.PREFIX + "layers?run=nope",
        pf.PREFIX + "grid?run=cnn&layer=conv1&kind=activations&step=x",
        pf.PREFIX + "index.js",
    ]
    expected = [[list(k), v] for k, v in pf.expected_listing(written).items()]
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, ROOT, logdir, json.dumps(expected), json.dumps(urls)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["tensorflow_modules"] == []

    pngs, record = written["cnn"].written[("block/sep", "activations", 5)]
    for load_fast in (False, True):
        replies = {url: (code, base64.b64decode(body)) for url, (code, body) in (
            (key.split(" ", 1)[1], value) for key, value in report["replies"].items()
            if key.startswith(f"{load_fast} ")
        )}
        codes = {url: code for url, (code, _) in replies.items()}
        assert codes == {
            **{url: 200 for url in urls},
            pf.PREFIX + "layers?run=nope": 404,
            pf.PREFIX + "grid?run=cnn&layer=conv1&kind=activations&step=x": 400,
            # Served when the package's panel files are installed.
            pf.PREFIX + "index.js": 200 if "/index.js" in load_static_files() else 404,
        }
        assert json.loads(replies["/data/plugins_listing"][1])["featureviz"]["enabled"] is True
        doc = json.loads(replies[pf.PREFIX + "grid?run=cnn&" + grid][1])
        assert (doc["lo"], doc["hi"], doc["sequence"]) == (
            record["samples"][1]["lo"], record["samples"][1]["hi"], 1
        )
        assert replies[pf.PREFIX + "image?run=cnn&" + grid][1] == pngs[1]
        assert [layer["name"] for layer in json.loads(replies[pf.PREFIX + "layers?run=cnn"][1])["layers"]] == [
            "conv1", "block", "block/sep", "dense", "extra"
        ]
