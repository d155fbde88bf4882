"""The logger and callback under failing disks, threads, odd steps, odd models and odd arguments.

Each case goes through the real code path and reads back the real event
files: nothing half-written, nothing silently lost, errors that name the
problem.
"""

import glob
import itertools
import os
import shutil
import threading
import warnings

import numpy as np
import pytest

from tb_featureviz import FeatureVizCallback, FeatureVizLogger
from tests.eventfiles import read_events, tensors_by_tag
from tests.models import gradient_image, small_cnn

pytestmark = pytest.mark.backends  # also run in .venv-jax and .venv-torch (.ci/run)


def run_dir(tmp_path):
    return os.path.join(tmp_path, "featureviz")


def steps_of(written, tag):
    return [step for step, _ in written.get(tag, [])]


# ------------------------------------------------------------ failing disks


def test_log_directory_removed_during_fit_gets_a_new_event_file(tmp_path):
    import keras

    model = small_cnn()
    model.compile(keras.optimizers.SGD(0.01), "mse")
    x = np.random.default_rng(0).random((8, 16, 16, 3)).astype(np.float32)
    y = np.zeros((8, 2), np.float32)
    logdir = tmp_path / "logs"

    class RemoveLogs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                viz.logger.flush()
                shutil.rmtree(logdir)

    viz = FeatureVizCallback(logdir, gradient_image(), layers=["conv1"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # RemoveLogs runs before the callback's own epoch end: the folder is
        # gone when step 2 is logged.
        model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[RemoveLogs(), viz])
    deleted = [str(w.message) for w in caught if "was deleted" in str(w.message)]
    assert len(deleted) == 1
    assert deleted[0].startswith("FeatureVizLogger: the event file ")
    assert deleted[0].endswith(f"(was the log directory removed?). Writing step 2 and later steps into a new "
                               f"event file in {str(logdir / 'featureviz')!r}.")
    written = tensors_by_tag(os.path.join(logdir, "featureviz"))
    assert steps_of(written, "featureviz/conv1/activations") == [2, 4, 6]
    # The new file carries each tag's metadata again, so TensorBoard reads it alone.
    first = {}
    for _, tag, plugin, _ in read_events(os.path.join(logdir, "featureviz")):
        first.setdefault(tag, plugin)
    assert first["featureviz/conv1/activations"] == "images"
    assert first["featureviz/conv1/activations/record"] == "featureviz"


def test_a_failed_write_does_not_count_in_sequence(tmp_path):
    model = small_cnn()
    with FeatureVizLogger(tmp_path) as logger:
        logger.log_filters(model, 0, layers=["conv1"])
        write_grid = logger.writer.write_grid

        def full_disk(*args, **kwargs):
            raise OSError(28, "No space left on device")

        logger.writer.write_grid = full_disk
        with pytest.raises(OSError, match="No space left on device"):
            logger.log_filters(model, 1, layers=["conv1"])
        logger.writer.write_grid = write_grid
        (record,) = logger.log_filters(model, 2, layers=["conv1"])
    assert record["sequence"] == 1  # steps 0 and 2 were written; step 1 never was
    assert steps_of(tensors_by_tag(run_dir(tmp_path)), "featureviz/conv1/filters") == [0, 2]


# -------------------------------------------------------------------- steps


@pytest.mark.parametrize("step", [2**63, np.uint64(2**63), 10**30])
def test_steps_beyond_int64_are_refused_before_anything_is_drawn(tmp_path, step):
    with FeatureVizLogger(tmp_path) as logger:
        with pytest.raises(ValueError) as raised:
            logger.log_filters(small_cnn(), step)
        with pytest.raises(ValueError):
            logger.log_scalar("x", 1.0, step)
    assert str(raised.value) == (
        f"step expects an int <= 9223372036854775807 (TensorBoard stores steps as int64). Received: step={int(step)}"
    )
    assert not os.path.exists(run_dir(tmp_path))


def test_the_largest_int64_step_is_written(tmp_path):
    with FeatureVizLogger(tmp_path) as logger:
        logger.log_scalar("x", 1.0, np.int64(2**63 - 1))
    assert steps_of(tensors_by_tag(run_dir(tmp_path)), "x") == [2**63 - 1]


def test_every_write_path_shares_one_monotonic_step_guard(tmp_path):
    with FeatureVizLogger(tmp_path) as logger:
        logger.log_scalar("loss", 0.5, 10)
        with pytest.raises(ValueError) as raised:
            logger.log_filters(small_cnn(), 3)
        with pytest.raises(ValueError):
            logger.log_activations(small_cnn(), gradient_image(), 3)
        with pytest.raises(ValueError):
            logger.write(3, events=[{"type": "note"}])
    assert str(raised.value) == (
        "FeatureVizLogger expects steps that never decrease (TensorBoard drops data after an out-of-order step). "
        "Received: step=3 after step=10"
    )
    assert set(tensors_by_tag(run_dir(tmp_path))) == {"loss"}


def test_threads_sharing_a_logger_never_write_out_of_order(tmp_path):
    counter, counter_lock = itertools.count(), threading.Lock()
    written, refused = [], []

    def work(name):
        for _ in range(60):
            with counter_lock:
                step = next(counter)
            try:
                logger.log_scalar(f"thread/{name}", float(step), step)
            except ValueError as error:
                assert "never decrease" in str(error)
                refused.append(step)
            else:
                written.append(step)

    with FeatureVizLogger(tmp_path) as logger:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    on_disk = [step for step, _, _, _ in read_events(run_dir(tmp_path))]
    assert on_disk == sorted(on_disk)  # file order is step order
    assert sorted(on_disk) == sorted(written) and len(written) + len(refused) == 240


# -------------------------------------------------------- arguments, models


@pytest.mark.parametrize("kwargs, message", [
    ({"workers": 0}, "FeatureVizLogger expects workers >= 1 or None. Received: workers=0"),
    ({"workers": 2.5}, "FeatureVizLogger expects workers >= 1 or None. Received: workers=2.5"),
    ({"compress_level": 10}, "FeatureVizLogger expects compress_level from 0 to 9. Received: compress_level=10"),
    ({"compress_level": True}, "FeatureVizLogger expects compress_level from 0 to 9. Received: compress_level=True"),
    ({"max_mosaic_tiles": 0}, "FeatureVizLogger expects max_mosaic_tiles >= 1. Received: max_mosaic_tiles=0"),
])
def test_constructor_arguments_are_checked_at_once(tmp_path, kwargs, message):
    with pytest.raises(ValueError) as raised:
        FeatureVizLogger(tmp_path, **kwargs)
    assert str(raised.value) == message


def test_callback_checks_workers_too(tmp_path):
    with pytest.raises(ValueError) as raised:
        FeatureVizCallback(tmp_path, gradient_image(), workers=-1)
    assert str(raised.value) == "FeatureVizCallback expects workers >= 1 or None. Received: workers=-1"


def test_layers_as_bytes_names_the_bytes_value(tmp_path):
    with FeatureVizLogger(tmp_path) as logger:
        with pytest.raises(TypeError) as raised:
            logger.log_filters(small_cnn(), 0, layers=b"conv1")
    assert str(raised.value) == (
        "layers expects names, glob patterns, layer classes or layer objects. Received: b'conv1' of type bytes"
    )


def subclassed_model():
    import keras

    class TwoConvs(keras.Model):
        def __init__(self):
            super().__init__(name="two_convs")
            self.conv = keras.layers.Conv2D(4, 3, name="conv")
            self.grouped = keras.layers.Conv2D(4, 3, groups=2, name="grouped")

        def call(self, x):
            return self.grouped(self.conv(x))

    keras.utils.set_random_seed(0)
    model = TwoConvs()
    model(np.zeros((1, 8, 8, 3), np.float32))
    return model


def test_subclassed_model_logs_filters_but_explains_feature_maps(tmp_path):
    model = subclassed_model()
    with FeatureVizLogger(tmp_path) as logger:
        records = logger.log_filters(model, 0)
        with pytest.raises(ValueError) as raised:
            logger.log_activations(model, gradient_image(8, 8), 1)
    assert [(r["layer"], r["kind"]) for r in records] == [
        ("conv", "filters"), ("grouped", "filters"), ("grouped", "filters_mosaic")]
    np.testing.assert_allclose(
        records[0]["hi"], np.abs(model.conv.kernel.numpy()).reshape(-1, 4).max(axis=0), rtol=1e-6)
    assert str(raised.value) == (
        "FeatureVizLogger expects a functional or Sequential model (built on keras.Input) for feature maps: they "
        "are read from the graph between its input and each layer. Received: model 'two_convs' of class TwoConvs, "
        "which has no such graph (a subclassed model); its filters can still be logged with log_filters"
    )
    assert steps_of(tensors_by_tag(run_dir(tmp_path)), "featureviz/conv/filters") == [0]


def test_grouped_conv_uses_real_input_channels_and_no_colour_tiles(tmp_path):
    import keras

    keras.utils.set_random_seed(1)
    inputs = keras.Input((8, 8, 6))
    # 2 groups of 3 inputs: 3 inputs per filter must not be read as RGB.
    outputs = keras.layers.Conv2D(4, 3, groups=2, name="grouped")(inputs)
    model = keras.Model(inputs, outputs)
    kernel = model.get_layer("grouped").kernel.numpy()  # (3, 3, 3, 4)
    with FeatureVizLogger(tmp_path) as logger:
        filters, mosaic = logger.log_filters(model, 0)
    assert filters["image"].ndim == 2 and filters["tile_height"] == 3  # grey mean tiles
    np.testing.assert_allclose(filters["hi"], np.abs(kernel.mean(axis=2)).reshape(-1, 4).max(axis=0), rtol=1e-6)
    assert mosaic["input_channels"] == [0, 1, 2, 3, 4, 5] and mosaic["channels"] == [0, 1, 2, 3]
    # Output 0 reads inputs 0-2, output 3 reads inputs 3-5: the other cells are zero (mid-grey).
    rows, cols, tile = mosaic["rows"], mosaic["cols"], 3
    image = mosaic["image"]

    def cell(row, col):
        return image[row * (tile + 1): row * (tile + 1) + tile, col * (tile + 1): col * (tile + 1) + tile]

    assert (rows, cols) == (6, 4)
    assert (cell(4, 0) == 128).all() and (cell(0, 3) == 128).all()
    assert not (cell(0, 0) == 128).all() and not (cell(4, 3) == 128).all()
    assert glob.glob(os.path.join(run_dir(tmp_path), "events.out.tfevents.*"))
