"""What the callback builds on: grid jobs, capping, step selection, the ordered writer, log_step."""

import json
import os
import threading
import time
import warnings

import numpy as np
import pytest

from tb_featureviz import FeatureVizLogger, metadata
from tb_featureviz.model import capture
from tb_featureviz.render import caps, jobs
from tb_featureviz.writing.background import OrderedBackgroundWriter
from tb_featureviz.render.caps import CapWarning, cap_job
from tb_featureviz.render.jobs import GridJob
from tests.eventfiles import metadata_by_tag, tensors_by_tag
from tests.models import gradient_image, small_cnn

pytestmark = pytest.mark.backends  # also run in .venv-jax and .venv-torch (.ci/run)


def job(layout, samples, channels, cols=None, layer="layer"):
    return GridJob(layer=layer, class_name="Conv2D", kind="filters", layout=layout, samples=samples,
                   channels=channels, total_channels=len(channels), source_shape=(1,), cols=cols)


def test_cap_job_keeps_the_first_channels_of_every_layout(tmp_path):
    tiles = np.arange(5 * 2 * 2, dtype=np.float32).reshape(5, 2, 2)
    matrix = np.arange(3 * 4, dtype=np.float32).reshape(1, 3, 4)
    mosaic = np.arange(2 * 4 * 3 * 3, dtype=np.float32).reshape(2 * 4, 3, 3)  # 2 inputs x 4 outputs
    grid_jobs = [job("tiles", [tiles, tiles + 1], list(range(5)), layer="a"),
            job("matrix", [matrix], list(range(4)), cols=1, layer="b"),
            job("mosaic", [mosaic], list(range(4)), cols=4, layer="c"),
            job("tiles", [tiles[:2]], [0, 1], layer="d")]
    capped = [cap_job(j, 2) for j in grid_jobs]
    with FeatureVizLogger(tmp_path) as logger, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logger.write(0, capped)
        logger.write(1, capped)  # warned once per layer only
    # One warning for the write, naming every layer the cap reached; none for the second.
    assert [str(w.message) for w in caught] == [
        "3 layers have more channels than max_channels=2: 'a' (5), 'b' (4), 'c' (4). "
        "Logging channels 0..1 of each; records list the channels they hold."
    ]
    assert [w.category for w in caught] == [CapWarning]
    assert [tuple(n) for n in caught[0].message.notes] == [
        ("max_channels", "a", 5, 2, 2), ("max_channels", "b", 4, 2, 2), ("max_channels", "c", 4, 2, 2)]
    np.testing.assert_array_equal(capped[0].samples[0], tiles[:2])
    np.testing.assert_array_equal(capped[0].samples[1], tiles[:2] + 1)
    np.testing.assert_array_equal(capped[1].samples[0], matrix[:, :, :2])
    assert capped[2].cols == 2
    np.testing.assert_array_equal(capped[2].samples[0], mosaic.reshape(2, 4, 3, 3)[:, :2].reshape(4, 3, 3))
    assert [j.channels for j in capped] == [[0, 1]] * 4
    assert [j.total_channels for j in capped] == [5, 4, 4, 2]
    assert capped[3] is grid_jobs[3]
    assert [cap_job(j, None) for j in grid_jobs] == grid_jobs
    np.testing.assert_array_equal(grid_jobs[0].samples[0], tiles)  # inputs untouched


def test_a_cap_warning_names_eight_layers_and_counts_the_rest():
    many = [caps.CapNote("max_channels", f"l{i}", 128, 64, 64) for i in range(10)]
    (warning,) = caps.cap_warnings(many)
    assert str(warning) == ("10 layers have more channels than max_channels=64: 'l0' (128), 'l1' (128), "
                            "'l2' (128), 'l3' (128), 'l4' (128), 'l5' (128), 'l6' (128), 'l7' (128) and 2 more. "
                            "Logging channels 0..63 of each; records list the channels they hold.")
    assert warning.notes == tuple(many)


def test_filter_change_jobs_draw_the_difference_like_filters():
    import keras

    model = small_cnn()
    rng = np.random.default_rng(0)
    conv1 = model.get_layer("conv1")  # (3, 3, 3, 4): RGB tiles
    start = {"kernel": conv1.kernel.numpy().copy()}
    now = {"kernel": start["kernel"] + rng.normal(size=start["kernel"].shape).astype(np.float32)}
    (change,) = jobs.filter_change_jobs("conv1", type(conv1), now, start)
    assert (change.kind, change.scale, change.symmetric, change.layout) == ("filter_change", "layer", True, "tiles")
    np.testing.assert_allclose(change.samples[0], np.moveaxis(now["kernel"] - start["kernel"], 3, 0))
    # A kernel with a mosaic and a 1x1 one: only the `filters` grid gets a change grid.
    wide = keras.layers.Conv2D(3, 3)
    wide.build((None, 8, 8, 5))
    kernel = {"kernel": wide.kernel.numpy()}
    assert [j.kind for j in jobs.kernel_jobs("wide", type(wide), kernel)] == ["filters", "filters_mosaic"]
    (flat,) = jobs.filter_change_jobs("wide", type(wide), kernel, kernel)
    assert flat.kind == "filter_change" and not flat.samples[0].any()


def test_step_layers_split_feature_maps_and_kernels(tmp_path):
    model = small_cnn()
    chosen = capture.select_step_layers(model, "*")
    assert [i.name for i in chosen.feature_maps] == ["conv1", "relu1", "sep2", "dw3", "point4"]
    assert [i.name for i in chosen.filters] == ["conv1", "sep2", "dw3", "point4"]
    with FeatureVizLogger(tmp_path) as logger, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logger.log_step(model, None, 0, layers="*")
    assert sorted(str(w.message).split(" (")[0] for w in caught) == [
        "Not logging activations or filters of layer 'gap'", "Not logging activations or filters of layer 'head'"]
    with pytest.raises(ValueError, match=r"Layer 'gap' \(GlobalAveragePooling2D\) cannot be logged"):
        capture.select_step_layers(model, ["conv1", "gap"])


def test_write_events_round_trip(tmp_path):
    with FeatureVizLogger(tmp_path) as logger:
        logger.write(7, events=[{"type": "trainable", "trainable": ["base/conv"], "frozen": ["stem"]}])
    run = os.path.join(tmp_path, "featureviz")
    ((step, text),) = tensors_by_tag(run)["featureviz/_events"]
    assert step == 7
    assert json.loads(text.item()) == {
        "version": 1, "events": [{"step": 7, "type": "trainable", "trainable": ["base/conv"], "frozen": ["stem"]}]}
    meta = metadata_by_tag(run)["featureviz/_events"]
    assert meta.plugin_data.plugin_name == "featureviz"
    assert metadata.parse_plugin_content(meta.plugin_data.content) == {"version": 1, "content": "events"}


def test_submit_runs_in_order_with_at_most_one_pending():
    logger = OrderedBackgroundWriter()
    order, release = [], threading.Event()

    def task(name, wait=False):
        if wait:
            assert release.wait(30)
        order.append(name)

    first = logger.submit(task, "first", True)
    threading.Timer(0.2, release.set).start()
    started = time.monotonic()
    second = logger.submit(task, "second")  # waits for `first`: one task in flight at most
    assert first.done() and time.monotonic() - started >= 0.15
    logger.submit(task, "third")
    logger.drain()
    assert second.done() and order == ["first", "second", "third"]
    logger.drain()  # idempotent


def test_log_step_for_a_custom_loop(tmp_path):
    model = small_cnn()
    with FeatureVizLogger(tmp_path) as logger:
        start = logger.snapshot_kernels(model, ["conv1"])
        assert list(start) == ["conv1"] and set(start["conv1"]) == {"kernel"}
        logger.log_step(model, gradient_image(), 0, layers=["conv1", "relu1"], initial=start)
        kernel, bias = model.get_layer("conv1").get_weights()
        model.get_layer("conv1").set_weights([kernel * 1.5, bias])
        records, scalars = logger.log_step(model, gradient_image(), 1, layers=["conv1", "relu1"], initial=start)
    assert scalars["featureviz/conv1/drift/relative_change"] == pytest.approx(0.5, rel=1e-6)
    assert scalars["featureviz/conv1/drift/cosine_min"] == pytest.approx(1.0)
    written = tensors_by_tag(os.path.join(tmp_path, "featureviz"))
    health = {f"featureviz/{layer}/health/{name}" for layer in ("conv1", "relu1")
              for name in ("dead_fraction", "saturated_fraction", "nonfinite_fraction")}
    grids = {f"featureviz/{layer}/{kind}{suffix}" for layer, kind in (
        ("conv1", "activations"), ("relu1", "activations"), ("conv1", "filters"), ("conv1", "filter_change"),
        ("_probe", "probe")) for suffix in ("", "/record")}
    drift = {f"featureviz/conv1/drift/{name}" for name in ("relative_change", "cosine_mean", "cosine_min")}
    assert set(written) == grids | health | drift | {"featureviz/_model"}
    assert [float(v) for _, v in written["featureviz/conv1/drift/relative_change"]] == [0.0, pytest.approx(0.5)]
    assert {r["tag"] for r in records} >= {"featureviz/conv1/filter_change"}
