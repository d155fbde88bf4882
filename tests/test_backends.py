"""Every Keras backend: exact pixels against independent math, no warnings, who writes.

This file runs in the TensorFlow suite and again in the JAX and torch
suites (each a process of its own, ``KERAS_BACKEND`` set before Keras is
imported; see ``.ci/run``), where ``import tensorflow`` fails.
"""

import glob
import io
import os
import sys
import types
import warnings

import numpy as np
import pytest
from PIL import Image

from tb_featureviz import FeatureVizCallback, FeatureVizLogger
from tb_featureviz.featurevis.cache import VisualizerCache
from tb_featureviz.model import capture, distribution
from tb_featureviz.render import grids
from tests import backend_fixtures as bf
from tests.eventfiles import tensors_by_tag
from tests.models import gradient_image, nested_cnn, small_cnn

pytestmark = pytest.mark.backends  # also run in .venv-jax and .venv-torch (.ci/run)

BACKEND = os.environ["KERAS_BACKEND"]


def test_keras_runs_the_backend_this_process_was_started_with():
    import keras

    assert keras.config.backend() == BACKEND
    if BACKEND != "tensorflow":
        assert "tensorflow" not in sys.modules  # nothing on the write path imported it


# --------------------------------------------------------------- exact pixels


def test_tiles_are_the_independently_computed_activations(tmp_path):
    """Each tile is its channel's activation, computed here in float64 numpy, between lo and hi."""
    model = small_cnn()
    image = gradient_image()
    reference = bf.small_cnn_reference(model, image.astype(np.float64))
    with FeatureVizLogger(tmp_path, log_probe=False) as logger:
        records = logger.log_activations(model, image, step=0, layers=["conv1", "relu1", "sep2"])
    written = tensors_by_tag(os.path.join(tmp_path, "featureviz"))
    assert [r["layer"] for r in records] == ["conv1", "relu1", "sep2"]
    for record in records:
        fmap = reference[record["layer"]]
        channels = fmap.shape[-1]
        assert record["channels"] == list(range(channels)) and record["source_shape"] == [1, *fmap.shape]
        lo, hi = np.array(record["lo"], float), np.array(record["hi"], float)
        np.testing.assert_allclose(lo, fmap.min(axis=(0, 1)), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(hi, fmap.max(axis=(0, 1)), rtol=1e-5, atol=1e-5)
        # The PNG in the event file is the grid the record describes.
        ((_, tensor),) = written[record["tag"]]
        pixels = np.asarray(Image.open(io.BytesIO(tensor[2])))
        np.testing.assert_array_equal(pixels, record["image"])
        grid = grids.Grid(pixels, record["rows"], record["cols"], record["tile_height"], record["tile_width"],
                          record["pad"], lo, hi, 0)
        exact = total = 0
        for tile, channel in enumerate(record["channels"]):
            r, c = divmod(tile, grid.cols)
            y, x = r * (grid.tile_height + grid.pad), c * (grid.tile_width + grid.pad)
            block = pixels[y:y + grid.tile_height, x:x + grid.tile_width]
            block = block[..., 0] if block.ndim == 3 else block  # grey + alpha
            values = fmap[..., channel]
            if hi[tile] == lo[tile]:
                assert not block.any()  # a constant channel (a dead ReLU) is drawn black
                continue
            expected = bf.expected_pixels(values, lo[tile], hi[tile])
            # float32 forward passes differ from float64 in the last bits: a pixel
            # may round the other way at a .5 boundary, never further.
            assert np.abs(block.astype(int) - expected.astype(int)).max() <= 1, (record["layer"], channel)
            exact += int((block == expected).sum())
            total += block.size
            span = hi[tile] - lo[tile]
            np.testing.assert_allclose(grids.decode_tile(grid, tile), values, atol=span / 510 + 1e-6)
        assert exact >= 0.99 * total


# ------------------------------------------------------------------ warnings


def test_logger_calls_give_no_warnings(tmp_path):
    model = nested_cnn()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with FeatureVizLogger(tmp_path) as logger:
            for step in range(3):
                start = logger.snapshot_kernels(model)
                logger.log_step(model, gradient_image(), step, initial=start)
                logger.log_filters(model, step)
                logger.log_activations(model, gradient_image(), step)
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []


def test_callback_adds_no_warnings_to_fit(tmp_path):
    """The warnings of a fit with the callback (logging every batch) are those of the same fit without it."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (16, 16, 16, 3)).astype(np.float32)
    y = rng.normal(size=(16, 2)).astype(np.float32)

    def fit_warnings(callbacks):
        model = nested_cnn()
        model.compile(keras.optimizers.SGD(0.1), "mse")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=callbacks)
        return sorted(f"{w.category.__name__}: {w.message}" for w in caught)

    without = fit_warnings([])
    callback = FeatureVizCallback(tmp_path, gradient_image(), unit="batch")
    with_callback = fit_warnings([callback])
    assert callback.step == 8
    assert with_callback == without
    written = tensors_by_tag(os.path.join(tmp_path, "featureviz"))
    assert [s for s, _ in written["featureviz/base/block1_conv1/activations"]] == list(range(9))


# ------------------------------------------------------ mid-epoch kernels


def test_each_batch_step_sees_the_weights_after_that_batch(tmp_path):
    """On JAX, fit keeps the weights outside the model until they are synced: a
    step logged mid-epoch must still draw (and measure drift of) the current ones."""
    import keras

    from tb_featureviz.scalars.drift import relative_change
    from tb_featureviz.model.layers import kernel_arrays

    model = nested_cnn()
    model.compile(keras.optimizers.SGD(0.1), "mse")
    layer = model.get_layer("base").get_layer("block2_sepconv1")
    start = kernel_arrays(layer)
    seen = []

    class Recorder(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model  # noqa: B018 - reading it syncs JAX's training state into the model
            seen.append(kernel_arrays(layer))

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (16, 16, 16, 3)).astype(np.float32)
    y = rng.normal(size=(16, 2)).astype(np.float32)
    callback = FeatureVizCallback(tmp_path, gradient_image(), layers=["block2_sepconv1"], unit="batch")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[callback, Recorder()])
    written = tensors_by_tag(os.path.join(tmp_path, "featureviz"))
    drift = written["featureviz/base/block2_sepconv1/drift/relative_change"]
    assert [s for s, _ in drift] == [0, 1, 2, 3, 4]
    expected = [0.0] + [relative_change(now, start) for now in seen]
    assert len(set(expected)) == 5  # every batch changed the kernels
    np.testing.assert_allclose([float(v) for _, v in drift], expected, rtol=1e-5)


# ---------------------------------------------------------------- who writes


class _Strategy:
    def __init__(self, chief):
        self.extended = types.SimpleNamespace(should_save_summary=chief)


def test_should_write_single_process_on_the_active_backend():
    assert distribution.should_write(small_cnn()) is True
    assert distribution.should_write() is True
    if BACKEND != "tensorflow":
        assert "tensorflow" not in sys.modules


@pytest.mark.parametrize("chief", [True, False])
def test_should_write_tensorflow_strategy(monkeypatch, chief):
    monkeypatch.setattr(distribution, "_backend", lambda: "tensorflow")
    model = types.SimpleNamespace(distribute_strategy=_Strategy(chief))
    assert distribution.should_write(model) is chief
    assert distribution.should_write(types.SimpleNamespace()) is True  # no strategy: writes


@pytest.mark.parametrize("index, count, expected", [(0, 1, True), (0, 2, True), (1, 2, False), (3, 4, False)])
def test_should_write_jax_process_zero(monkeypatch, index, count, expected):
    fake = types.SimpleNamespace(process_index=lambda: index, process_count=lambda: count)
    monkeypatch.setitem(sys.modules, "jax", fake)
    monkeypatch.setattr(distribution, "_backend", lambda: "jax")
    assert distribution.should_write() is expected


@pytest.mark.parametrize("initialized, rank, expected", [(False, 3, True), (True, 0, True), (True, 1, False)])
def test_should_write_torch_rank_zero(monkeypatch, initialized, rank, expected):
    fake = types.SimpleNamespace(is_available=lambda: True, is_initialized=lambda: initialized,
                                 get_rank=lambda: rank)
    monkeypatch.setitem(sys.modules, "torch.distributed", fake)
    monkeypatch.setattr(distribution, "_backend", lambda: "torch")
    assert distribution.should_write() is expected


def test_should_write_torch_without_torch_distributed_loaded(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.distributed", None)
    monkeypatch.setattr(distribution, "_backend", lambda: "torch")
    assert distribution.should_write() is True


def test_should_write_tensorflow_without_a_model_asks_the_current_strategy(monkeypatch):
    fake = types.SimpleNamespace(distribute=types.SimpleNamespace(get_strategy=lambda: _Strategy(False)))
    monkeypatch.setitem(sys.modules, "tensorflow", fake)
    monkeypatch.setattr(distribution, "_backend", lambda: "tensorflow")
    assert distribution.should_write() is False
    assert distribution.should_write(types.SimpleNamespace(distribute_strategy=_Strategy(True))) is True


def _not_the_chief(monkeypatch):
    """This process as JAX process 1 of 2, whatever the backend."""
    monkeypatch.setattr(distribution, "_backend", lambda: "jax")
    monkeypatch.setitem(sys.modules, "jax", types.SimpleNamespace(process_index=lambda: 1, process_count=lambda: 2))


def test_logger_on_a_process_that_does_not_write_computes_and_writes_nothing(tmp_path, monkeypatch, caplog):
    model = small_cnn()
    _not_the_chief(monkeypatch)
    passes = []
    for owner, name in ((capture, "capture_kernels"), (capture.FeatureMaps, "jobs"),
                        (VisualizerCache, "job"), (FeatureVizLogger, "write")):
        monkeypatch.setattr(owner, name, lambda *a, name=name, **k: passes.append(name))
    with caplog.at_level("INFO", logger="tb_featureviz"):
        with FeatureVizLogger(tmp_path) as logger:
            assert logger.log_filters(model, 0) == []
            assert logger.log_activations(model, gradient_image(), 1) == []
            assert logger.log_step(model, gradient_image(), 2) == ([], {})
            assert logger.log_features(model, "conv1", 3, [0], steps=2, size=8) == []
    assert passes == []  # nothing computed, not even handed to the write path
    monkeypatch.undo()
    _not_the_chief(monkeypatch)
    with caplog.at_level("INFO", logger="tb_featureviz"):
        with FeatureVizLogger(tmp_path) as logger:
            assert logger.write(4, scalars={"loss": 1.0}) == []
            logger.log_scalar("loss", 1.0, 5)
    assert not os.path.exists(os.path.join(tmp_path, "featureviz"))
    assert [r.getMessage() for r in caplog.records if r.name == "tb_featureviz"] == [
        "FeatureVizLogger: this process is not the writing process of a distributed run; it writes nothing "
        "(the chief writes every step).",
    ] * 2  # once per logger
    with FeatureVizLogger(tmp_path, chief_only=False) as logger:  # every process writes its own run
        assert len(logger.log_filters(model, 0)) > 0
    assert len(glob.glob(os.path.join(tmp_path, "featureviz", "events.out.tfevents.*"))) == 1


def test_a_scalar_without_a_model_follows_the_last_answer_for_a_model(monkeypatch):
    answers = iter([False])
    monkeypatch.setattr(distribution, "should_write", lambda model=None: next(answers))
    gate = distribution.ChiefGate("FeatureVizLogger")
    assert gate.allows(object()) is False  # asked once, for the model
    assert gate.allows() is False  # a scalar: no second question (outside a strategy scope it would say True)


def test_logger_chief_only_must_be_a_bool(tmp_path):
    with pytest.raises(TypeError, match=r"^FeatureVizLogger expects chief_only True or False. Received: 'yes'$"):
        FeatureVizLogger(tmp_path, chief_only="yes")


def _check_one_writer(tmp_path, results):
    """Exactly one event file, from the writing process, with every step of the run."""
    assert [r["writes"] for r in results] == [True, False]
    assert [r["step"] for r in results] == [4, 4]
    assert [r["passes"] for r in results] == [5, 5]  # every process computed every logged step
    paths = glob.glob(os.path.join(tmp_path, "**", "events.out.tfevents.*"), recursive=True)
    assert sorted(os.path.relpath(os.path.dirname(p), tmp_path) for p in paths) == ["custom", "featureviz"]
    assert sorted(os.listdir(tmp_path)) == ["custom", "featureviz"]
    # The custom loop's logger: the writing process wrote every step, the other computed nothing.
    assert results[1]["custom_records"] == [0, 0, 0] and min(results[0]["custom_records"]) > 0
    assert [r["custom_passes"] for r in results] == [3, 0]
    custom = tensors_by_tag(os.path.join(tmp_path, "custom"))
    assert [s for s, _ in custom["featureviz/base/block1_conv1/activations"]] == [0, 1, 2]
    assert [s for s, _ in custom["custom/loss"]] == [3]
    written = tensors_by_tag(os.path.join(tmp_path, "featureviz"))
    for layer in ("base/block1_conv1", "base/block2_sepconv1"):
        for kind in ("activations", "filters", "filter_change", "drift/relative_change", "health/dead_fraction"):
            assert [s for s, _ in written[f"featureviz/{layer}/{kind}"]] == [0, 1, 2, 3, 4], (layer, kind)
    assert [s for s, _ in written["featureviz/_model"]] == [0]


@pytest.mark.backend("jax")
def test_jax_two_processes_data_parallel_one_event_file(tmp_path):
    """jax.distributed on 127.0.0.1, keras.distribution.DataParallel over both processes' CPUs."""
    results = bf.run_workers("jax-worker", 2, tmp_path, "jax")
    assert [(r["process_index"], r["process_count"], r["devices"]) for r in results] == [(0, 2, 2), (1, 2, 2)]
    # One model across both processes: the same weights after training.
    assert results[0]["head_sum"] == results[1]["head_sum"]
    _check_one_writer(tmp_path, results)


@pytest.mark.backend("torch")
def test_torch_two_ranks_only_rank_zero_writes(tmp_path):
    """torch.distributed (gloo) on 127.0.0.1: each rank trains, rank 0 writes."""
    results = bf.run_workers("torch-worker", 2, tmp_path, "torch")
    assert [r["rank"] for r in results] == [0, 1]
    _check_one_writer(tmp_path, results)
