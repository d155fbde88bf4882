"""The plugin under hostile logs and requests: malformed documents, odd tensors, other methods.

Every log here is a real event file of TensorBoard's own protos, served by
TensorBoard's WSGI app with both loaders. A malformed document costs its
own layer or step (a 404 that names them), never the run, never a 500.
"""

import json
import os
import time

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from werkzeug import test as werkzeug_test
from werkzeug import wrappers

from tb_featureviz.writing import eventfile
from tb_featureviz import metadata, names
from tests import plugin_fixtures as pf

LOADERS = [pytest.param(False, id="load_fast=false"), pytest.param(True, id="load_fast=true")]
TILES = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
GRID = dict(source_shape=[1, 2, 2, 2], channels=[0, 1], total_channels=2)
# Valid JSON for Python (NaN is accepted), nested far deeper than any record.
DEEP_NAN = '{"samples": [' + "[" * 60 + "NaN" + "]" * 60 + "]}"


def string_tensor(values, shape):
    dims = [tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in shape]
    return tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=values,
                                  tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=dims))


def write_raw(run_dir, tag, tensor, summary_metadata, step):
    """One event, framed by the package's TFRecord writer, in a file of its own."""
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=summary_metadata)
    event = event_pb2.Event(wall_time=time.time(), step=step, summary=summary_pb2.Summary(value=[value]))
    with eventfile.EventFileWriter(run_dir) as writer:
        writer.write(event.SerializeToString())


def good_grid(log, step, layer="conv"):
    log.grid(layer, "Conv2D", "activations", step, list(TILES), **GRID)


def write_hostile_logs(logdir):
    """Runs each holding one kind of malformed document beside good grids.

    Returns:
        ``(logs, expected)``: the LogWriters and the provider listing to wait for.
    """
    logs = {}

    def run(name):
        log = pf.LogWriter(logdir, name)
        good_grid(log, 0)
        logs[name] = log
        return log

    for name, layers in (("layers_int", 3), ("layers_true", True)):
        log = run(name)
        log.structure({"version": 1, "model": ["not", "a", "name"], "layers": layers}, 0)
    log = run("events_not_list")
    log.events({"version": 1, "events": 5}, 0)
    log = run("events_junk")
    log.events({"version": 1, "events": ["junk", {"type": "trainable", "trainable": ["conv"], "frozen": []}]}, 0)
    for name, tensor in (
        ("record_vector", string_tensor([b'{"samples": []}', b"{}"], [2])),
        ("record_deep_nan", string_tensor([DEEP_NAN.encode()], [])),
        ("record_bad_geometry", None),
    ):
        log = run(name)
        pngs, record = log.written[("conv", "activations", 0)]
        if tensor is None:
            bad = dict(record, rows="two", samples=record["samples"])
            log.writer.write_grid("conv", "activations", 1, pngs, record["width"], record["height"], bad)
        else:
            log.writer.write_grid("conv", "activations", 1, pngs, record["width"], record["height"], record)
            log.close()
            # A later file of the same run: step 1's record again, now malformed.
            write_raw(os.path.join(logdir, name), names.record_tag("conv", "activations"), tensor,
                      metadata.create_record_metadata("conv", "activations", names.image_tag("conv", "activations")),
                      1)
        log.extra_steps[("conv", "activations")] = 1
    # An image summary too short to hold a PNG (its width only) at step 1,
    # beside a good record: the step has no sample, the run stays served.
    log = run("image_short")
    log.close()
    _, record = log.written[("conv", "activations", 0)]
    record = dict(record, step=1, sequence=1)
    with eventfile.EventFileWriter(os.path.join(logdir, "image_short")) as writer:
        for tag, tensor, summary_metadata in (
            (names.image_tag("conv", "activations"), string_tensor([b"2"], [1]),
             metadata.create_image_metadata("conv", "activations")),
            (names.record_tag("conv", "activations"), string_tensor([json.dumps(record).encode()], []),
             metadata.create_record_metadata("conv", "activations", names.image_tag("conv", "activations"))),
        ):
            value = summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=summary_metadata)
            event = event_pb2.Event(wall_time=time.time(), step=1, summary=summary_pb2.Summary(value=[value]))
            writer.write(event.SerializeToString())
    log.extra_steps[("conv", "activations")] = 1
    for log in logs.values():
        log.close()
    return logs, pf.expected_listing(logs)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("hostile_logs"))
    return logdir, write_hostile_logs(logdir)


@pytest.fixture(scope="module", params=LOADERS)
def client(request, hostile):
    logdir, (_, expected) = hostile
    with pf.tensorboard_app(logdir, expected, request.param) as (app, _, _):
        yield werkzeug_test.Client(app, wrappers.Response)


def get(client, route, **params):
    reply = pf.client_get(client, route, **params)
    return reply.status_code, json.loads(reply.get_data())


@pytest.mark.parametrize("run", ["layers_int", "layers_true"])
def test_structure_whose_layers_is_not_a_list(client, run):
    code, doc = get(client, "layers", run=run)
    assert code == 200
    # No usable structure: the logged layer is listed from its data, never dropped.
    assert [layer["name"] for layer in doc["layers"]] == ["conv"]
    assert doc["model"] is None
    assert get(client, "grid", run=run, layer="conv", kind="activations")[0] == 200


def test_events_that_are_not_a_list(client):
    code, doc = get(client, "layers", run="events_not_list")
    assert (code, doc["events"]) == (200, [])
    assert get(client, "grid", run="events_not_list", layer="conv", kind="activations")[0] == 200
    code, doc = get(client, "layers", run="events_junk")
    assert doc["events"] == [{"step": 0, "type": "trainable", "trainable": ["conv"], "frozen": []}]


@pytest.mark.parametrize("run", ["record_vector", "record_deep_nan", "record_bad_geometry"])
def test_malformed_record_costs_its_own_step_only(client, run):
    code, doc = get(client, "layers", run=run)
    assert code == 200
    assert doc["layers"][0]["kinds"]["activations"]["steps"] == [0, 1]
    assert get(client, "grid", run=run, layer="conv", kind="activations", step=1) == (404, {
        "error": f"The record of layer 'conv' kind 'activations' in run {run!r} at step 1 is not a readable record"
    })
    code, grid = get(client, "grid", run=run, layer="conv", kind="activations", step=0)
    assert (code, grid["step"], grid["channels"]) == (200, 0, [0, 1])


def test_image_summary_without_png_costs_its_own_step_only(client):
    run = "image_short"
    code, doc = get(client, "layers", run=run)
    assert code == 200
    # Blob 0 is the width: no PNG at the newest step.
    assert doc["layers"][0]["kinds"]["activations"] == {"steps": [0, 1], "samples": 0, "written": 2}
    missing = {"error": f"No sample 0 for layer 'conv' kind 'activations' in run {run!r} at step 1: it has 0 sample(s)"}
    assert get(client, "grid", run=run, layer="conv", kind="activations", step=1) == (404, missing)
    assert get(client, "image", run=run, layer="conv", kind="activations", step=1, sample=0) == (404, missing)
    code, grid = get(client, "grid", run=run, layer="conv", kind="activations", step=0)
    assert (code, grid["step"], grid["num_samples"]) == (200, 0, 1)
    reply = pf.client_get(client, "image", run=run, layer="conv", kind="activations", step=0, sample=0)
    assert (reply.status_code, reply.content_type) == (200, "image/png")


METHODS = ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("route", ["runs", "layers?run=layers_int", "grid?run=layers_int&layer=conv&kind=activations",
                                   "image?run=layers_int&layer=conv&kind=activations&step=0&sample=0",
                                   "scalars?run=layers_int", "index.js"])
def test_other_methods_are_refused(client, route, method):
    reply = client.open(pf.PREFIX + route, method=method)
    assert reply.status_code == 405
    assert reply.headers["Allow"] == "GET, HEAD"
    if method != "HEAD":
        assert "not allowed" in json.loads(reply.get_data())["error"]


def test_head_is_answered_like_get(client):
    reply = client.open(pf.PREFIX + "runs", method="HEAD")
    assert reply.status_code == 200
