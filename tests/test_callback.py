"""FeatureVizCallback inside model.fit: exact tags and steps, drift, health, schedule, errors."""

import glob
import io
import json
import os
import threading
import warnings

import numpy as np
import pytest
from PIL import Image

from tb_featureviz import FeatureVizCallback
from tb_featureviz.render import grids
from tb_featureviz.model.layers import default_layers
from tests.eventfiles import read_events, tensors_by_tag
from tests.models import gradient_image, nested_cnn, small_cnn

pytestmark = pytest.mark.backends  # also run in .venv-jax and .venv-torch (.ci/run)

GRID_KINDS = ("activations", "filters", "filter_change")
DRIFT = ("drift/relative_change", "drift/cosine_mean", "drift/cosine_min")
HEALTH = ("health/dead_fraction", "health/saturated_fraction", "health/nonfinite_fraction")


def data(n=16, size=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (n, size, size, 3)).astype(np.float32)
    y = rng.normal(size=(n, 2)).astype(np.float32)
    return x, y


def compiled(model, lr=0.1):
    import keras

    model.compile(keras.optimizers.SGD(lr), "mse")
    return model


def steps_of(written, tag):
    return [step for step, _ in written[tag]]


def values_of(written, tag):
    return [float(value) for _, value in written[tag]]


def document(written, tag, step):
    (text,) = [value for s, value in written[tag] if s == step]
    return json.loads(text.item())


def layer_tags(layer, kinds=GRID_KINDS, scalars=DRIFT + HEALTH):
    tags = set()
    for kind in kinds:
        tags |= {f"featureviz/{layer}/{kind}", f"featureviz/{layer}/{kind}/record"}
    return tags | {f"featureviz/{layer}/{name}" for name in scalars}


def decoded_grid(written, layer, kind, step):
    """The grid at ``step`` as written: (Grid with the PNG's pixels, record)."""
    record = document(written, f"featureviz/{layer}/{kind}/record", step)
    (tensor,) = [value for s, value in written[f"featureviz/{layer}/{kind}"] if s == step]
    image = np.asarray(Image.open(io.BytesIO(tensor[2])))
    sample = record["samples"][0]
    grid = grids.Grid(image, record["rows"], record["cols"], record["tile_height"], record["tile_width"],
                      record["pad"], np.array(sample["lo"], float), np.array(sample["hi"], float), 0)
    return grid, record


# ---------------------------------------------------------------- fine-tuning


def test_fine_tuning_in_two_fits_exact_tags_steps_and_drift(tmp_path):
    """Frozen base for 2 epochs, then the top of the base unfrozen for 2 more."""
    import keras

    model = nested_cnn()
    base = model.get_layer("base")
    start = {
        "block1": base.get_layer("block1_conv1").kernel.numpy().copy(),
        "depthwise": base.get_layer("block2_sepconv1").depthwise_kernel.numpy().copy(),
        "pointwise": base.get_layer("block2_sepconv1").pointwise_kernel.numpy().copy(),
    }
    x, y = data()
    callback = FeatureVizCallback(tmp_path, gradient_image())

    base.trainable = False
    compiled(model).fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    assert callback.step == 4
    base.trainable = True
    base.get_layer("block1_conv1").trainable = False  # the usual recipe: unfreeze the top only
    model.compile(keras.optimizers.SGD(0.1), "mse")  # a new optimizer: its iterations restart at 0
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    assert callback.step == 8

    run = os.path.join(tmp_path, "featureviz")
    assert sorted(os.listdir(tmp_path)) == ["featureviz"]
    written = tensors_by_tag(run)
    first, second = "base/block1_conv1", "base/block2_sepconv1"
    expected = {"featureviz/_model", "featureviz/_events", "featureviz/_probe/probe",
                "featureviz/_probe/probe/record"}
    expected |= layer_tags(first)
    expected |= layer_tags(second) | {f"featureviz/{second}/pointwise", f"featureviz/{second}/pointwise/record"}
    assert set(written) == expected

    logged = [0, 2, 4, 6, 8]  # step 0, every epoch, the end of fit 1 (4) written once
    for tag in expected - {"featureviz/_model", "featureviz/_events", "featureviz/_probe/probe",
                           "featureviz/_probe/probe/record"}:
        assert steps_of(written, tag) == logged, tag
    assert steps_of(written, "featureviz/_model") == [0]
    assert steps_of(written, "featureviz/_probe/probe") == [0]
    assert steps_of(written, "featureviz/_events") == [4]
    assert document(written, "featureviz/_events", 4) == {
        "version": 1,
        "events": [{"step": 4, "type": "trainable", "trainable": ["base", second], "frozen": []}],
    }
    structure = document(written, "featureviz/_model", 0)
    assert {layer["name"]: layer["trainable"] for layer in structure["layers"]}[second] is False

    # Drift: exactly 0 at step 0; the frozen layers stay at 0; the unfrozen one grows.
    for layer in (first, second):
        assert values_of(written, f"featureviz/{layer}/drift/relative_change")[0] == 0.0
        assert values_of(written, f"featureviz/{layer}/drift/cosine_mean")[0] == 1.0
        assert values_of(written, f"featureviz/{layer}/drift/cosine_min")[0] == 1.0
    assert values_of(written, f"featureviz/{first}/drift/relative_change") == [0.0] * 5
    assert values_of(written, f"featureviz/{first}/drift/cosine_min") == [1.0] * 5
    change = values_of(written, f"featureviz/{second}/drift/relative_change")
    assert change[:3] == [0.0, 0.0, 0.0]  # frozen during fit 1
    assert 0 < change[3] < change[4]
    assert values_of(written, f"featureviz/{second}/drift/cosine_min")[4] < 1.0
    # ... and it is ||W - W0|| / ||W0|| over both kernels of the separable conv.
    layer = base.get_layer("block2_sepconv1")
    now = [layer.depthwise_kernel.numpy(), layer.pointwise_kernel.numpy()]
    then = [start["depthwise"], start["pointwise"]]
    expected_change = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(now, then))) / np.sqrt(
        sum(np.sum(b ** 2) for b in then))
    assert change[4] == pytest.approx(expected_change, rel=1e-5)
    np.testing.assert_array_equal(base.get_layer("block1_conv1").kernel.numpy(), start["block1"])

    # filter_change: flat zero at step 0; at step 8 it decodes to W - W0 (depthwise tiles).
    grid, record = decoded_grid(written, second, "filter_change", 0)
    assert record["kind"] == "filter_change" and record["scale"] == "layer" and record["symmetric"]
    assert set(record["samples"][0]["lo"]) == {0.0} and set(record["samples"][0]["hi"]) == {0.0}
    grid, record = decoded_grid(written, second, "filter_change", 8)
    delta = now[0] - then[0]  # (3, 3, 4, 1)
    assert record["channels"] == [0, 1, 2, 3] and record["source_shape"] == [3, 3, 4, 1]
    span = record["samples"][0]["hi"][0] - record["samples"][0]["lo"][0]
    assert span == pytest.approx(2 * np.abs(delta).max(), rel=1e-5)
    for tile, channel in enumerate(record["channels"]):
        np.testing.assert_allclose(grids.decode_tile(grid, tile), delta[:, :, channel, 0], atol=span / 510 + 1e-7)

    # Two fit calls, two event files, nothing else in the run.
    assert len(glob.glob(os.path.join(run, "events.out.tfevents.*"))) == 2
    assert len(os.listdir(run)) == 2


def test_activation_grid_is_the_layer_output_for_the_probe(tmp_path):
    import keras

    model = compiled(nested_cnn())
    image = gradient_image()
    callback = FeatureVizCallback(tmp_path, image, layers=["block1_act"])
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_train_end()
    written = tensors_by_tag(os.path.join(tmp_path, "featureviz"))
    assert set(written) == {"featureviz/_model", "featureviz/_probe/probe", "featureviz/_probe/probe/record"} | \
        layer_tags("base/block1_act", kinds=("activations",), scalars=HEALTH)
    grid, record = decoded_grid(written, "base/block1_act", "activations", 0)
    base = model.get_layer("base")
    inner = keras.Model(base.inputs[0], base.get_layer("block1_act").output)
    expected = inner.predict_on_batch(image[None].astype(np.float32) / 127.5 - 1)[0]
    for tile, channel in enumerate(record["channels"]):
        span = (record["samples"][0]["hi"][tile] or 0) - (record["samples"][0]["lo"][tile] or 0)
        np.testing.assert_allclose(grids.decode_tile(grid, tile), expected[..., channel], atol=span / 510 + 1e-6)
    dead = float(np.mean([not expected[..., c].any() for c in range(expected.shape[-1])]))
    assert values_of(written, "featureviz/base/block1_act/health/dead_fraction") == [dead]


# ------------------------------------------------------------------- health


def test_health_scalars_count_dead_saturated_and_nonfinite_channels(tmp_path):
    import keras

    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(8, 3, name="conv")
    outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(conv(inputs)))
    model = compiled(keras.Model(inputs, outputs))
    kernel, bias = conv.get_weights()
    kernel[..., :3] = 0.0
    bias[:3] = [0.0, 5.0, np.nan]  # channel 0 dead, 1 stuck at 5, 2 NaN
    conv.set_weights([kernel, bias])
    callback = FeatureVizCallback(tmp_path, [gradient_image(8, 8), gradient_image(8, 8)[::-1]], drift=False)
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_train_end()
    written = tensors_by_tag(os.path.join(tmp_path, "featureviz"))
    assert {tag for tag in written if "/health/" in tag or "/drift/" in tag} == {
        f"featureviz/conv/{name}" for name in HEALTH}
    assert values_of(written, "featureviz/conv/health/dead_fraction") == [0.125]
    assert values_of(written, "featureviz/conv/health/saturated_fraction") == [0.125]
    assert values_of(written, "featureviz/conv/health/nonfinite_fraction") == [0.125]
    assert "featureviz/conv/filter_change" not in written  # drift=False


# ----------------------------------------------------------------- schedule


@pytest.mark.parametrize("kwargs, epochs, expected", [
    ({"unit": "batch", "freq": 3}, 2, [0, 3, 6, 8]),   # 4 batches per epoch; the end (8) once
    ({"freq": 2}, 3, [0, 8, 12]),                      # epochs 2 and the end
    ({"freq": 1}, 2, [0, 4, 8]),
])
def test_schedule(tmp_path, kwargs, epochs, expected):
    model = compiled(small_cnn())
    x, y = data()
    callback = FeatureVizCallback(tmp_path, gradient_image(), layers=["conv1"], **kwargs)
    model.fit(x, y, batch_size=4, epochs=epochs, verbose=0, callbacks=[callback])
    written = tensors_by_tag(os.path.join(tmp_path, "featureviz"))
    assert steps_of(written, "featureviz/conv1/activations") == expected
    assert steps_of(written, "featureviz/conv1/drift/relative_change") == expected


def test_epoch_schedule_keeps_keras_async_batch_dispatch(tmp_path):
    """Keras dispatches batch ends on a thread (where the backend allows it) unless a callback hooks them."""
    from keras.src.utils.python_utils import is_default

    by_epoch = FeatureVizCallback(tmp_path, gradient_image())
    by_batch = FeatureVizCallback(tmp_path, gradient_image(), unit="batch")
    assert is_default(by_epoch.on_train_batch_end) is True
    assert is_default(by_batch.on_train_batch_end) is False


def test_default_layers_one_per_resolution_stage():
    import keras

    assert [info.name for info in default_layers(small_cnn())] == ["conv1", "sep2", "point4"]
    assert [info.name for info in default_layers(nested_cnn())] == ["base/block1_conv1", "base/block2_sepconv1"]
    layers = [keras.Input((32, 32, 3))] + [keras.layers.Conv2D(2, 3, name=f"c{i}") for i in range(10)]
    names = [info.name for info in default_layers(keras.Sequential(layers))]
    assert names == ["c0", "c1", "c3", "c4", "c5", "c6", "c8", "c9"]
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="found no conv layer with a 2-D output in model"):
        default_layers(dense)


def test_max_channels_caps_grids_but_not_health_or_drift(tmp_path):
    model = compiled(small_cnn())
    callback = FeatureVizCallback(tmp_path, gradient_image(), layers=["sep2"], max_channels=2)
    callback.set_model(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        callback.on_train_begin()
        callback.on_train_end()
    assert [str(w.message) for w in caught if "channels" in str(w.message)] == [
        "Layer 'sep2' has 6 channels; logging channels 0..1 (max_channels=2). Records list the channels they hold."
    ]
    written = tensors_by_tag(os.path.join(tmp_path, "featureviz"))
    activations = document(written, "featureviz/sep2/activations/record", 0)
    assert activations["channels"] == [0, 1] and activations["total_channels"] == 6
    pointwise = document(written, "featureviz/sep2/pointwise/record", 0)
    assert pointwise["channels"] == [0, 1] and pointwise["input_channels"] == [0, 1, 2, 3]
    assert (pointwise["height"], pointwise["width"]) == (4, 2)
    depthwise = document(written, "featureviz/sep2/filters/record", 0)
    assert depthwise["channels"] == [0, 1] and depthwise["total_channels"] == 4


# ------------------------------------------------------ background and failures


def test_training_does_not_wait_for_the_write(tmp_path):
    model = compiled(small_cnn())
    callback = FeatureVizCallback(tmp_path, gradient_image(), layers=["conv1"])
    logger = callback.logger
    release, started = threading.Event(), threading.Event()
    write = logger.write

    def slow_write(*args, **kwargs):
        started.set()
        assert release.wait(30)
        return write(*args, **kwargs)

    logger.write = slow_write
    callback.set_model(model)
    callback.on_train_begin()  # returns while the step is still being written
    assert started.wait(30)
    assert not glob.glob(os.path.join(tmp_path, "featureviz", "events.out.tfevents.*"))
    release.set()
    callback.on_train_end()  # drains
    assert steps_of(tensors_by_tag(os.path.join(tmp_path, "featureviz")), "featureviz/conv1/activations") == [0]


def fail_writing_at(callback, failing_step):
    """Make the callback's writes fail at one step, as a full disk would."""
    write = callback.logger.write

    def failing(step, *args, **kwargs):
        if step == failing_step:
            raise OSError("disk full")
        return write(step, *args, **kwargs)

    callback.logger.write = failing


def callback_warnings(caught):
    return [str(w.message) for w in caught if str(w.message).startswith("FeatureVizCallback")]


def test_failure_while_training_warns_and_training_goes_on(tmp_path):
    model = compiled(small_cnn())
    x, y = data()
    callback = FeatureVizCallback(tmp_path, gradient_image(), layers=["conv1"])
    fail_writing_at(callback, 4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[callback])
    assert len(history.history["loss"]) == 2
    # One warning when logging fails, one summary at the end of fit.
    assert callback_warnings(caught) == [
        "FeatureVizCallback could not log step 4: OSError: disk full. Training goes on; pass strict=True to stop "
        "instead. Later failures are summarised when training ends.",
        "FeatureVizCallback could not log 1 of 3 steps (step 4): OSError: disk full. Logging recovered at step 8.",
    ]
    written = tensors_by_tag(os.path.join(tmp_path, "featureviz"))
    assert steps_of(written, "featureviz/conv1/activations") == [0, 8]


def test_failure_on_the_training_thread_warns_too(tmp_path, monkeypatch):
    from tb_featureviz.model import capture

    model = compiled(small_cnn())
    x, y = data()
    callback = FeatureVizCallback(tmp_path, gradient_image(), layers=["conv1"])
    callback.set_model(model)
    callback.on_train_begin()
    monkeypatch.setattr(capture.FeatureMaps, "jobs", lambda *args, **kwargs: (_ for _ in ()).throw(MemoryError("probe")))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[callback])
    assert callback_warnings(caught) == [
        "FeatureVizCallback could not log step 4: MemoryError: probe. Training goes on; pass strict=True to stop "
        "instead. Later failures are summarised when training ends.",
        "FeatureVizCallback could not log 1 of 2 steps (step 4): MemoryError: probe. "
        "Logging did not recover before training ended.",
    ]


def test_strict_failure_stops_training(tmp_path):
    model = compiled(small_cnn())
    x, y = data()
    callback = FeatureVizCallback(tmp_path, gradient_image(), layers=["conv1"], strict=True)
    fail_writing_at(callback, 4)
    with pytest.raises(RuntimeError, match="FeatureVizCallback could not log step 4: OSError: disk full"):
        model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[callback])
    assert int(model.optimizer.iterations.numpy()) < 12
    # Keras skips on_train_end when a hook raises: the callback closed its event file itself.
    assert not callback.logger.writer._file.is_open


def test_worker_that_must_not_write_computes_but_writes_nothing(tmp_path, monkeypatch):
    from tb_featureviz import callback as callback_module

    monkeypatch.setattr(callback_module.distribution, "should_write", lambda model: False)
    model = compiled(small_cnn())
    x, y = data()
    from tb_featureviz.model import capture

    callback = FeatureVizCallback(tmp_path / "logs", gradient_image(), layers=["conv1"])
    passes = []
    feature_map_jobs = capture.FeatureMaps.jobs
    monkeypatch.setattr(capture.FeatureMaps, "jobs",
                        lambda *a, **k: passes.append(1) or feature_map_jobs(*a, **k))
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[callback])
    assert len(passes) == 3  # steps 0, 4, 8: every worker runs the probe forward pass
    assert not os.path.exists(tmp_path / "logs")


# --------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, error, message", [
    ({"freq": 0}, ValueError, "FeatureVizCallback expects freq >= 1. Received: freq=0"),
    ({"freq": 1.5}, ValueError, "FeatureVizCallback expects freq >= 1. Received: freq=1.5"),
    ({"freq": True}, ValueError, "FeatureVizCallback expects freq >= 1. Received: freq=True"),
    ({"unit": "week"}, ValueError, "FeatureVizCallback expects unit in ('epoch', 'batch'). Received: unit='week'"),
    ({"max_channels": 0}, ValueError, "FeatureVizCallback expects max_channels >= 1 or None. Received: max_channels=0"),
    ({"probe_images": None}, ValueError,
     "FeatureVizCallback: probe images expect an array, a PIL image, a path or a list. Received: None"),
    ({"probe_images": []}, ValueError, "FeatureVizCallback: probe images expect at least one image. Received: an empty list"),
    ({"probe_images": "missing.png"}, FileNotFoundError, "FeatureVizCallback: probe image file not found: 'missing.png'"),
    ({"layers": []}, ValueError, "FeatureVizCallback expects at least one layer"),
    ({"run": "a/b"}, ValueError, "FeatureVizCallback expects run to be a folder name. Received: run='a/b'"),
    ({"preprocess": 3}, TypeError, "FeatureVizCallback expects preprocess to be callable. Received: int"),
    ({"logdir": ""}, ValueError, "FeatureVizCallback expects a non-empty logdir path. Received: logdir=''"),
])
def test_bad_arguments_fail_at_construction(tmp_path, kwargs, error, message):
    arguments = {"logdir": tmp_path, "probe_images": gradient_image(), **kwargs}
    with pytest.raises(error) as raised:
        FeatureVizCallback(**arguments)
    assert message in str(raised.value)
    assert os.listdir(tmp_path) == []


def test_log_directory_under_a_file_fails_at_construction(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    with pytest.raises(ValueError) as raised:
        FeatureVizCallback(blocker / "logs", gradient_image())
    assert str(raised.value) == (
        f"FeatureVizCallback expects a writable log directory. Received: logdir={str(blocker / 'logs')!r}, "
        f"but {str(blocker)!r} is a file, not a directory"
    )


def fit_fails_before_first_batch(model, callback, error, message):
    x, y = data()
    with pytest.raises(error) as raised:
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    assert message in str(raised.value)
    assert int(model.optimizer.iterations.numpy()) == 0


def test_probe_images_that_do_not_fit_the_model_fail_at_train_begin(tmp_path):
    model = compiled(nested_cnn())
    grey = gradient_image()[..., :1]
    fit_fails_before_first_batch(
        model, FeatureVizCallback(tmp_path, grey), ValueError,
        "FeatureVizCallback: probe_images don't fit model 'finetune': Probe images expect 3 channels "
        "(the model's input). Received: an image of shape (16, 16, 1)",
    )
    fit_fails_before_first_batch(
        model, FeatureVizCallback(tmp_path, np.zeros((1, 2, 16, 16, 3))), ValueError,
        "Probe images expect an array of shape (H, W, C) or (N, H, W, C). Received: shape=(1, 2, 16, 16, 3)",
    )
    assert os.listdir(tmp_path) == []


def test_unknown_layer_fails_at_train_begin(tmp_path):
    model = compiled(nested_cnn())
    fit_fails_before_first_batch(
        model, FeatureVizCallback(tmp_path, gradient_image(), layers=["block1_conv1", "block9_conv1"]),
        ValueError, "No layer named 'block9_conv1' in model 'finetune'. Closest names: ['base/block1_conv1'",
    )
    fit_fails_before_first_batch(
        model, FeatureVizCallback(tmp_path, gradient_image(), layers=["head"]), ValueError,
        "Layer 'head' (Dense) cannot be logged",
    )
    assert os.listdir(tmp_path) == []


def test_log_directory_that_cannot_be_written_fails_at_train_begin(tmp_path):
    model = compiled(small_cnn())
    callback = FeatureVizCallback(tmp_path / "logs", gradient_image())
    (tmp_path / "logs").write_text("a file took the log directory's place")
    fit_fails_before_first_batch(
        model, callback, PermissionError,
        f"FeatureVizCallback expects a writable log directory. Received: {str(tmp_path / 'logs' / 'featureviz')!r}",
    )


@pytest.mark.tensorflow
def test_log_directory_through_tf_io_gfile(tmp_path):
    """Non-local log directories (gs://, s3://) go through tf.io.gfile; ram:// stands in for them."""
    import tensorflow as tf
    from tensorboard.compat.proto import event_pb2

    logdir = f"ram://{tmp_path.name}/logs"
    model = compiled(small_cnn())
    x, y = data(8)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0,
              callbacks=[FeatureVizCallback(logdir, gradient_image(), layers=["conv1"])])
    (path,) = tf.io.gfile.glob(f"{logdir}/featureviz/*")  # the write test file is gone
    assert os.path.basename(path).startswith("events.out.tfevents.")
    tags = {}
    for record in tf.data.TFRecordDataset(path):
        event = event_pb2.Event.FromString(record.numpy())
        for value in event.summary.value:
            tags.setdefault(value.tag, []).append(event.step)
    assert set(tags) == {"featureviz/_model", "featureviz/_probe/probe",
                         "featureviz/_probe/probe/record"} | layer_tags("conv1")
    assert tags["featureviz/conv1/activations"] == [0, 2]


# ------------------------------------------------- beside Keras' TensorBoard


def run_tags(logdir):
    """{run dir relative to logdir: set of tags} of every run under logdir."""
    runs = {}
    for path in glob.glob(os.path.join(logdir, "**", "events.out.tfevents.*"), recursive=True):
        run = os.path.relpath(os.path.dirname(path), logdir)
        runs.setdefault(run, set()).update(tag for _step, tag, _plugin, _value in read_events(os.path.dirname(path)))
    return runs


@pytest.mark.tensorflow  # Keras' TensorBoard callback needs TensorFlow on every backend
def test_beside_keras_tensorboard_every_batch(tmp_path):
    import keras

    x, y = data()
    val = data(8, seed=1)

    def fit(logdir, extra):
        keras.utils.set_random_seed(0)
        model = compiled(small_cnn())
        board = keras.callbacks.TensorBoard(str(logdir), update_freq=1, histogram_freq=1)
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, validation_data=val, callbacks=[board] + extra)

    fit(tmp_path / "alone", [])
    fit(tmp_path / "both", [FeatureVizCallback(tmp_path / "both", gradient_image(), layers=["conv1"])])
    alone, both = run_tags(tmp_path / "alone"), run_tags(tmp_path / "both")
    assert set(alone) == {"train", "validation"}
    assert set(both) == {"train", "validation", "featureviz"}
    for run in ("train", "validation"):
        assert both[run] == alone[run]  # exactly Keras' own tags: none of ours leaked in
        assert not any(tag.startswith("featureviz") for tag in both[run])
    assert both["featureviz"] == {"featureviz/_model", "featureviz/_probe/probe",
                                  "featureviz/_probe/probe/record"} | layer_tags("conv1")
    assert len(glob.glob(str(tmp_path / "both" / "featureviz" / "events.out.tfevents.*"))) == 1


# ------------------------------------------------------------------ Xception


def test_xception_default_step_writes_less_than_5_mb(tmp_path):
    """The issue's budget: a default logged step on Xception 299x299, one probe image."""
    import keras

    keras.utils.set_random_seed(0)
    base = keras.applications.Xception(weights=None, include_top=False, input_shape=(299, 299, 3))
    model = compiled(keras.Sequential([keras.Input((299, 299, 3)), base, keras.layers.GlobalAveragePooling2D(),
                                       keras.layers.Dense(2)]))
    sample = os.path.join(os.path.dirname(__file__), "..", "tb_featureviz", "data", "chelsea.png")
    callback = FeatureVizCallback(tmp_path, sample, preprocess=keras.applications.xception.preprocess_input)
    callback.set_model(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the channel caps are announced once per layer
        callback.on_train_begin()
        callback.on_train_end()
    (path,) = glob.glob(os.path.join(tmp_path, "featureviz", "events.out.tfevents.*"))
    assert os.path.getsize(path) < 5_000_000
    written = tensors_by_tag(os.path.join(tmp_path, "featureviz"))
    layers = sorted({tag.split("/")[2] for tag in written if tag.endswith("/activations")})
    assert layers == sorted(["block1_conv1", "block2_sepconv2", "block3_sepconv2", "block4_sepconv2",
                             "block13_sepconv2", "block14_sepconv2"])
