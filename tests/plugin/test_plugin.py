"""The featureviz plugin through TensorBoard's WSGI app, with both loaders.

Every route and error code, over synthetic logs written by the package's
own writer (tests/plugin_fixtures.py): exact JSON, byte-identical PNGs,
exact error texts, names with HTML/script payloads returned verbatim,
static files from a whitelist only.
"""

import json
import pathlib
import urllib.parse

import numpy as np
import pytest
from werkzeug import test as werkzeug_test
from werkzeug import wrappers

from tests import ROOT
from tests import plugin_fixtures as pf
from tb_featureviz.plugin import core as plugin_module
from tb_featureviz.plugin import http as plugin_http

LOADERS = [pytest.param(False, id="load_fast=false"), pytest.param(True, id="load_fast=true")]


@pytest.fixture(scope="session")
def logs(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("featureviz_logs")
    return str(logdir), pf.write_logdir(str(logdir))


@pytest.fixture(scope="module", params=LOADERS)
def served(request, logs):
    """``(client, load_fast)`` over the test logs with TensorBoard's default sampling."""
    logdir, written = logs
    with pf.tensorboard_app(logdir, pf.expected_listing(written), request.param) as (app, _, _):
        yield werkzeug_test.Client(app, wrappers.Response), request.param


get = pf.client_get
get_json = pf.client_json


def featureviz_limit(load_fast):
    # TensorBoard's own default for a third-party plugin's tensors.
    return 100 if load_fast else 10


def as_json(value):
    """``value`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


def expected_grid(run, layer, kind, step, sample, record, steps):
    document = {k: v for k, v in record.items() if k != "samples"}
    entry = record["samples"][sample]
    document.update(
        step=step, lo=entry["lo"], hi=entry["hi"], nonfinite=entry["nonfinite"], stats=entry["stats"],
        sample=sample, num_samples=len(record["samples"]), steps=steps,
        image_url="image?" + urllib.parse.urlencode(
            {"run": run, "layer": layer, "kind": kind, "step": step, "sample": sample},
            quote_via=urllib.parse.quote,
        ),
    )
    return as_json(document)


# --------------------------------------------------------------------------
# Listing and the tab


def test_plugins_listing_shows_the_tab(served):
    client, _ = served
    reply = client.get("/data/plugins_listing")
    assert reply.status_code == 200
    assert json.loads(reply.get_data())["featureviz"] == {
        "disable_reload": False,
        "enabled": True,
        "remove_dom": False,
        "tab_name": "Feature maps",
        "loading_mechanism": {"type": "IFRAME", "module_path": "/data/plugin/featureviz/index.js"},
    }


def test_plugin_entry_loads_the_es_module(served):
    client, _ = served
    reply = client.get("/data/plugin_entry.html?name=featureviz")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    assert '<base href="plugin/featureviz/" />' in html
    assert 'import("./index.js")' in html


def test_runs(served):
    client, load_fast = served
    assert get_json(client, "runs") == {
        # "plain" holds only an ordinary scalar: no featureviz data.
        "runs": sorted([pf.XSS_RUN, "broken", "cnn", "long"]),
        "sampling": {"images": 10, "featureviz": featureviz_limit(load_fast)},
    }


# --------------------------------------------------------------------------
# layers


def test_layers_of_the_cnn_run(served):
    client, load_fast = served
    structure = pf.CNN_STRUCTURE["layers"]
    both = {"steps": [0, 5, 10], "samples": 2, "written": 3}
    one = {"steps": [0, 5, 10], "samples": 1, "written": 3}
    assert get_json(client, "layers", run="cnn") == as_json({
        "run": "cnn",
        "model": "sequential",
        "layers": [
            {**structure[0], "kinds": {"activations": both, "filters": one}},
            {**structure[1], "kinds": {}},
            {**structure[2], "kinds": {"activations": both, "pointwise": one}},
            {**structure[3], "kinds": {}},
            # Logged but not in the structure: appended, never dropped.
            {"index": None, "name": "extra", "class": "Conv2D", "path": [], "output_shape": None,
             "kernel_shapes": {}, "spatial": None, "trainable": None, "has_weights": None, "is_model": False,
             "kinds": {"activations": {"steps": [5, 10], "samples": 1, "written": 2}}},
        ],
        "probe": {"layer": "_probe", "kind": "probe", "steps": [0], "samples": 2},
        "pictures": None,
        "steps": [0, 5, 10],
        "events": pf.CNN_EVENTS["events"],
        "sampling": {"images": 10, "featureviz": featureviz_limit(load_fast), "dropped": False},
        "kind_labels": KIND_LABELS,
        "tile_labels": TILE_LABELS,
    })


#: The kinds' names as the `layers` reply gives them, in display order.
KIND_LABELS = {"activations": "Activations", "attribution": "Attribution", "examples": "Examples", "features": "Features",
               "filters": "Filters",
               "filter_change": "Filter change", "filters_mosaic": "Filter mosaic", "pointwise": "Pointwise"}
TILE_LABELS = {"activations": "Feature map", "examples": "Dataset examples", "features": "Feature visualization",
               "filters": "Filter", "filter_change": "Filter change"}


def test_layers_name_every_kind_in_display_order(served):
    """The panel keeps no kind names: every reply gives all of them, in display order."""
    client, _ = served
    for run in ("cnn", "long", "broken", pf.XSS_RUN):
        reply = client.get("/data/plugin/featureviz/layers?run=" + urllib.parse.quote(run, safe=""))
        assert reply.status_code == 200
        doc = json.loads(reply.get_data())
        # Exact, key order included: object order is the display order.
        assert list(doc["kind_labels"].items()) == list(KIND_LABELS.items())
        assert list(doc["tile_labels"].items()) == list(TILE_LABELS.items())


def test_layers_reports_steps_dropped_by_sampling(served):
    client, load_fast = served
    doc = get_json(client, "layers", run="long")
    (layer,) = doc["layers"]
    kind = layer["kinds"]["activations"]
    # 15 written, TensorBoard kept 10 images (always the newest).
    assert len(kind["steps"]) == 10 and kind["steps"][-1] == 14
    assert set(kind["steps"]) <= set(pf.LONG_STEPS)
    assert (kind["written"], kind["samples"]) == (15, 1)
    assert doc["steps"] == kind["steps"]
    assert doc["model"] is None and doc["probe"] is None and doc["pictures"] is None
    assert doc["events"] == []
    assert doc["sampling"] == {"images": 10, "featureviz": featureviz_limit(load_fast), "dropped": True}


def test_layers_keeps_a_step_whose_record_is_unreadable(served):
    client, _ = served
    doc = get_json(client, "layers", run="broken")
    # No readable newest record: `written` falls back to the kept images.
    assert doc["layers"][0]["kinds"] == {"activations": {"steps": [0, 1], "samples": 1, "written": 2}}


def test_names_with_html_are_returned_verbatim(served, logs):
    client, _ = served
    assert pf.XSS_RUN in get_json(client, "runs")["runs"]
    doc = get_json(client, "layers", run=pf.XSS_RUN)
    assert doc["run"] == pf.XSS_RUN
    assert doc["model"] == pf.XSS_RUN
    assert [layer["name"] for layer in doc["layers"]] == [pf.XSS_LAYER, pf.QUOTE_LAYER]
    grid = get_json(client, "grid", run=pf.XSS_RUN, layer=pf.XSS_LAYER, kind="activations")
    assert (grid["layer"], grid["step"]) == (pf.XSS_LAYER, 3)
    # The url carries the names percent-encoded; following it gives the PNG.
    assert grid["image_url"] == (
        "image?run=%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"
        "&layer=%3Cscript%3Ealert%28%27fv%27%29%3C%2Fscript%3E%26step%3D9%3F%23%252F"
        "&kind=activations&step=3&sample=0"
    )
    reply = client.get(pf.PREFIX + grid["image_url"])
    pngs, _ = logs[1][pf.XSS_RUN].written[(pf.XSS_LAYER, "activations", 3)]
    assert reply.get_data() == pngs[0]


def test_names_with_json_escapes(served, logs):
    client, load_fast = served
    grid = get_json(client, "grid", run=pf.XSS_RUN, layer=pf.QUOTE_LAYER, kind="activations")
    assert grid["layer"] == pf.QUOTE_LAYER
    reply = client.get(pf.PREFIX + grid["image_url"])
    if not load_fast:
        pngs, _ = logs[1][pf.XSS_RUN].written[(pf.QUOTE_LAYER, "activations", 3)]
        assert (reply.status_code, reply.get_data()) == (200, pngs[0])
        return
    # TensorBoard's data server cannot parse its own blob keys of such
    # names (tensorboard-data-server 0.7.2): a clear 404, not a 500.
    assert reply.status_code == 404
    assert json.loads(reply.get_data()) == {"error": (
        "TensorBoard's data server cannot read the image of layer 'a \"quoted\" \\\\ layer' kind "
        "'activations' in run '<img src=x onerror=alert(1)>' at step 3: it fails on names holding "
        "'\"' or '\\'; start TensorBoard with --load_fast=false to see it"
    )}


# --------------------------------------------------------------------------
# grid and image


def test_every_grid_and_image_round_trips(served, logs):
    client, _ = served
    _, written = logs
    checked = 0
    for run in ("cnn", pf.XSS_RUN):
        log = written[run]
        for (layer, kind, step), (pngs, record) in log.written.items():
            if layer == pf.QUOTE_LAYER:
                continue  # see test_names_with_json_escapes
            steps = sorted(s for (l, k, s) in log.written if (l, k) == (layer, kind))
            for sample, png in enumerate(pngs):
                doc = get_json(client, "grid", run=run, layer=layer, kind=kind, step=step, sample=sample)
                assert doc == expected_grid(run, layer, kind, step, sample, record, steps)
                reply = client.get(pf.PREFIX + doc["image_url"])
                assert reply.status_code == 200
                assert reply.headers["Content-Type"] == "image/png"
                assert reply.get_data() == png
                checked += 1
    assert checked == 23  # every sample of every grid written


def test_grid_defaults_to_the_newest_step_and_sample_0(served, logs):
    client, _ = served
    pngs, record = logs[1]["cnn"].written[("conv1", "activations", 10)]
    doc = get_json(client, "grid", run="cnn", layer="conv1", kind="activations")
    assert doc == expected_grid("cnn", "conv1", "activations", 10, 0, record, [0, 5, 10])
    assert doc["image_url"] == "image?run=cnn&layer=conv1&kind=activations&step=10&sample=0"


def test_grid_passes_null_ranges_of_non_finite_tiles(served, logs):
    client, _ = served
    doc = get_json(client, "grid", run="cnn", layer="conv1", kind="activations", step=5, sample=1)
    # Tile 2 of sample 1 is all NaN: no range, 64 transparent pixels.
    assert doc["lo"][2] is None and doc["hi"][2] is None
    assert doc["nonfinite"] == 64
    assert doc["stats"]["nonfinite_fraction"] == [0.0, 0.0, 1.0, 0.0]


def test_probe_images_are_served_as_a_grid(served, logs):
    client, _ = served
    pngs, record = logs[1]["cnn"].written[("_probe", "probe", 0)]
    doc = get_json(client, "grid", run="cnn", layer="_probe", kind="probe", sample=1)
    assert doc == expected_grid("cnn", "_probe", "probe", 0, 1, record, [0])
    assert (doc["lo"], doc["hi"]) == ([0.0], [255.0])
    assert client.get(pf.PREFIX + doc["image_url"]).get_data() == pngs[1]


def test_matrix_grid_keeps_its_input_channels(served, logs):
    client, _ = served
    doc = get_json(client, "grid", run="cnn", layer="block/sep", kind="pointwise", step=0)
    assert (doc["layout"], doc["rows"], doc["cols"]) == ("matrix", 1, 1)
    assert (doc["tile_height"], doc["tile_width"]) == (4, 6)
    assert doc["input_channels"] == [0, 1, 2, 3] and doc["channels"] == [0, 1, 2, 3, 4, 5]


def test_grid_steps_of_a_sampled_run_have_both_record_and_image(served):
    client, _ = served
    layers = get_json(client, "layers", run="long")
    steps = layers["layers"][0]["kinds"]["activations"]["steps"]
    doc = get_json(client, "grid", run="long", layer="conv", kind="activations")
    assert doc["steps"] == steps and doc["step"] == 14 and doc["sequence"] == 14
    for step in steps:
        doc = get_json(client, "grid", run="long", layer="conv", kind="activations", step=step)
        assert (doc["step"], doc["sequence"], doc["hi"]) == (step, step, [float(step)])


# --------------------------------------------------------------------------
# scalars


def test_scalars(served, logs):
    client, _ = served
    f32 = lambda v: float(np.float32(v))  # noqa: E731 - scalars are written as float32
    assert get_json(client, "scalars", run="cnn") == {
        "run": "cnn",
        "layers": {
            # NaN has no JSON form: null.
            "block/sep": {"drift/cosine_mean": [[5, 0.5], [10, None]]},
            "conv1": {
                "drift/relative_change": [[5, f32(0.05)], [10, f32(0.1)]],
                "health/dead_fraction": [[0, 0.25], [5, 0.25], [10, 0.25]],
            },
        },
    }
    assert get_json(client, "scalars", run="long") == {"run": "long", "layers": {}}


# --------------------------------------------------------------------------
# Errors: 400 for a missing or malformed parameter, 404 for unknown data


GRID = {"run": "cnn", "layer": "conv1", "kind": "activations"}
IMAGE = {**GRID, "step": "10", "sample": "0"}

ERRORS = [
    ("layers", {}, 400, "layers expects parameter 'run'. Received: no 'run'"),
    ("layers", {"run": ""}, 400, "layers expects a non-empty 'run'. Received: run="),
    ("layers", {"run": "nope"}, 404, "Unknown run 'nope': it holds no featureviz data"),
    ("layers", {"run": "plain"}, 404, "Unknown run 'plain': it holds no featureviz data"),
    ("grid", {"run": "cnn"}, 400, "grid expects parameter 'layer'. Received: no 'layer'"),
    ("grid", {"run": "cnn", "layer": "conv1"}, 400, "grid expects parameter 'kind'. Received: no 'kind'"),
    ("grid", {**GRID, "step": "abc"}, 400, "grid expects 'step' to be an integer. Received: step='abc'"),
    ("grid", {**GRID, "step": "1.5"}, 400, "grid expects 'step' to be an integer. Received: step='1.5'"),
    ("grid", {**GRID, "step": "1e3"}, 400, "grid expects 'step' to be an integer. Received: step='1e3'"),
    ("grid", {**GRID, "step": "9" * 19}, 400,
     f"grid expects 'step' to be an integer. Received: step='{'9' * 19}'"),
    ("grid", {**GRID, "sample": "-1"}, 400, "grid expects 'sample' to be an integer >= 0. Received: sample='-1'"),
    ("grid", {**GRID, "sample": " 1"}, 400, "grid expects 'sample' to be an integer >= 0. Received: sample=' 1'"),
    ("grid", {**GRID, "run": "nope"}, 404, "Unknown run 'nope': it holds no featureviz data"),
    ("grid", {**GRID, "layer": "nope"}, 404, "Unknown layer 'nope' in run 'cnn'"),
    ("grid", {**GRID, "layer": "_model"}, 404, "Unknown layer '_model' in run 'cnn'"),
    ("grid", {**GRID, "kind": "nope"}, 404,
     "Unknown kind 'nope' for layer 'conv1' in run 'cnn'. Logged kinds: ['activations', 'filters']"),
    ("grid", {**GRID, "layer": "dense"}, 404,
     "Unknown kind 'activations' for layer 'dense' in run 'cnn'. Logged kinds: []"),
    ("grid", {**GRID, "step": "3"}, 404,
     "No step 3 for layer 'conv1' kind 'activations' in run 'cnn'; kept steps: [0, 5, 10]"),
    ("grid", {**GRID, "sample": "2"}, 404,
     "No sample 2 for layer 'conv1' kind 'activations' in run 'cnn' at step 10: it has 2 sample(s)"),
    ("grid", {"run": "broken", "layer": "bad", "kind": "activations"}, 404,
     "The record of layer 'bad' kind 'activations' in run 'broken' at step 1 is not a readable record"),
    ("image", GRID, 400, "image expects parameter 'step'. Received: no 'step'"),
    ("image", {**GRID, "step": "10"}, 400, "image expects parameter 'sample'. Received: no 'sample'"),
    ("image", {**IMAGE, "step": "x"}, 400, "image expects 'step' to be an integer. Received: step='x'"),
    ("image", {**IMAGE, "run": "nope"}, 404, "Unknown run 'nope': it holds no featureviz data"),
    ("image", {**IMAGE, "layer": "nope"}, 404, "Unknown layer 'nope' in run 'cnn'"),
    ("image", {**IMAGE, "kind": "filters_mosaic"}, 404,
     "Unknown kind 'filters_mosaic' for layer 'conv1' in run 'cnn'. Logged kinds: ['activations', 'filters']"),
    ("image", {**IMAGE, "step": "3"}, 404,
     "No image of layer 'conv1' kind 'activations' in run 'cnn' at step 3; kept steps: [0, 5, 10]"),
    ("image", {**IMAGE, "sample": "2"}, 404,
     "No sample 2 for layer 'conv1' kind 'activations' in run 'cnn' at step 10: it has 2 sample(s)"),
    ("scalars", {}, 400, "scalars expects parameter 'run'. Received: no 'run'"),
    ("scalars", {"run": "nope"}, 404, "Unknown run 'nope': it holds no featureviz data"),
]


@pytest.mark.parametrize("route,params,code,message", ERRORS,
                         ids=[f"{r}-{c}-{i}" for i, (r, _, c, _) in enumerate(ERRORS)])
def test_errors(served, route, params, code, message):
    client, _ = served
    assert get_json(client, route, code=code, **params) == {"error": message}


def test_repeated_parameter_is_a_400(served):
    client, _ = served
    reply = client.get(pf.PREFIX + "layers?run=cnn&run=long")
    assert reply.status_code == 400
    assert json.loads(reply.get_data()) == {"error": "layers expects one value of 'run'. Received: 2 values"}


def test_odd_parameters_never_give_a_500(served):
    client, _ = served
    odd = ["", "%00", "..", "../..", "%2e%2e%2f", "\u00e9\u4e2d", "<script>", "a" * 5000,
           "-0", "0x10", "NaN", "inf", "1 ", "\n"]
    for route in ("layers", "grid", "image", "scalars"):
        for value in odd:
            for name in ("run", "layer", "kind", "step", "sample"):
                params = {**IMAGE, name: value}
                reply = get(client, route, **params)
                assert reply.status_code in (200, 400, 404), (route, name, value, reply.status_code)
                assert reply.headers["Content-Type"] in ("application/json", "image/png")


# --------------------------------------------------------------------------
# Static files


def test_index_js_is_served_from_the_package(served):
    client, _ = served
    frontend = pathlib.Path(ROOT) / "frontend"
    files = plugin_http.load_static_files()
    if "/index.js" not in files:
        pytest.skip("tb_featureviz.frontend is not importable (install with pip install -e .)")
    assert files == plugin_http.load_static_files(frontend)
    for path, (content, content_type) in files.items():
        reply = client.get(pf.PREFIX + path.lstrip("/"))
        assert reply.status_code == 200
        assert reply.get_data() == content == (frontend / path.lstrip("/")).read_bytes()
        assert reply.headers["Content-Type"].split(";")[0] == content_type
    assert files["/index.js"][1] == "text/javascript"


@pytest.fixture
def static_client(tmp_path):
    """A plugin app whose whitelist is a temporary directory (index.js, app.css)."""
    from tensorboard.backend import application
    from tensorboard.plugins import base_plugin

    (tmp_path / "index.js").write_text("export function render() {}\n")
    (tmp_path / "app.css").write_text("body { margin: 0 }\n")
    (tmp_path / "secret.py").write_text("TOKEN = 1\n")  # not a panel file type
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.js").write_text("// not at the top level\n")
    files = plugin_http.load_static_files(tmp_path)
    assert sorted(files) == ["/app.css", "/index.js"]
    context = base_plugin.TBContext(data_provider=None, sampling_hints={})
    plugin = plugin_module.FeatureVizPlugin(context, static_files=files)
    return werkzeug_test.Client(application.TensorBoardWSGI([plugin]), wrappers.Response)


def test_static_whitelist(static_client):
    reply = static_client.get(pf.PREFIX + "index.js")
    assert (reply.status_code, reply.get_data()) == (200, b"export function render() {}\n")
    assert reply.headers["Content-Type"] == "text/javascript; charset=utf-8"
    reply = static_client.get(pf.PREFIX + "app.css")
    assert (reply.status_code, reply.headers["Content-Type"]) == (200, "text/css; charset=utf-8")
    for path in ("secret.py", "sub/deep.js", "sub", "INDEX.JS", "index.js%00", "index"):
        assert static_client.get(pf.PREFIX + path).status_code == 404, path


TRAVERSALS = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e%252fetc%252fpasswd",
    "..%5c..%5cetc%5cpasswd",
    "..\\..\\etc\\passwd",
    "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "....//....//etc/passwd",
    "index.js/../../../../../etc/passwd",
    "..%2f..%2f..%2f..%2fsetup.py",
    "%2e%2e%2fplugin.py",
    "..%2fplugin.py",
    "static/..%2f..%2fplugin.py",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_is_refused(static_client, path):
    reply = static_client.get(pf.PREFIX + path)
    assert reply.status_code == 404
    body = reply.get_data()
    assert b"root:" not in body and b"TOKEN" not in body and b"setup(" not in body


def test_whitelist_never_reads_files_at_request_time(tmp_path):
    (tmp_path / "index.js").write_text("v1")
    files = plugin_http.load_static_files(tmp_path)
    (tmp_path / "index.js").write_text("v2")
    assert files["/index.js"][0] == b"v1"


def test_path_traversal_on_the_real_app(served):
    client, _ = served
    for path in TRAVERSALS + ["..%2f..%2ftb_featureviz%2fplugin.py", "%2e%2e%2f__init__.py", "__init__.py"]:
        reply = client.get(pf.PREFIX + path)
        assert reply.status_code == 404, path
        assert b"import" not in reply.get_data() and b"root:" not in reply.get_data(), path
