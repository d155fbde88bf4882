"""Bad input to every subcommand: one line on stderr, what was expected and received, exit 2, no traceback.

Each case runs the real command (``python -m tb_featureviz``) in a subprocess
with ``KERAS_BACKEND=tensorflow``. Most are refused before Keras is imported,
so they take about a second; the model and layer cases load Keras. The cases
that prove no weights are fetched before the layers and channels are checked
run ``main`` in this process, with Keras' download function replaced by a
recorder.
"""

import os
import socket
import zipfile

import pytest

from tests import ROOT
from tests.cli_helpers import assert_error, run_cli, small_model_path
from tb_featureviz.cli.backend import is_installed


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return small_model_path(tmp_path_factory)


@pytest.fixture
def files(tmp_path):
    """A logdir path, a text file named like a picture, a directory, a plain file."""
    (tmp_path / "notes.png").write_text("not a picture\n")
    (tmp_path / "pictures").mkdir()
    (tmp_path / "afile").write_text("x")
    return tmp_path


LOG = "tb-featureviz log: error: "
MODEL_EXPECTED = "--model expects a saved model file (.keras, .h5) or a keras.applications name (e.g. xception). "


# ------------------------------------------------------------------- log: images

def test_log_missing_image(files):
    missing = str(files / "missing.png")
    result = run_cli("log", missing, "--logdir", files / "logs")
    assert_error(result, 2, f"{LOG}IMAGE expects an existing image file. Received: {missing!r}, which does not exist")
    assert not (files / "logs").exists()  # refused before anything is created


def test_log_directory_as_image(files):
    folder = str(files / "pictures")
    result = run_cli("log", folder, "--logdir", files / "logs")
    assert_error(result, 2, f"{LOG}IMAGE expects an image file. Received: {folder!r}, which is a directory")


def test_log_file_that_is_not_an_image(files):
    text = str(files / "notes.png")
    result = run_cli("log", text, "--logdir", files / "logs")
    assert_error(result, 2, (
        f"{LOG}Probe image file {text!r} is not a readable image: expected a picture PIL can decode "
        "(PNG, JPEG, ...). Received: a file PIL cannot identify as any image format"
    ))


def test_log_truncated_png(files):
    with open(os.path.join(ROOT, "tb_featureviz", "data", "chelsea.png"), "rb") as f:
        head = f.read(2000)
    broken = files / "broken.png"
    broken.write_bytes(head)
    result = run_cli("log", broken, "--logdir", files / "logs")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{LOG}Probe image file {str(broken)!r} is not a readable image: expected a picture "
                           "PIL can decode (PNG, JPEG, ...). Received: a damaged or unreadable image (")


# -------------------------------------------------------------------- log: model

def test_log_model_path_that_does_not_exist(files):
    missing = str(files / "missing.keras")
    result = run_cli("log", "--model", missing, "--logdir", files / "logs")
    assert_error(result, 2, f"{LOG}{MODEL_EXPECTED}Received: {missing!r}, a file that does not exist")


@pytest.mark.parametrize("name,expected", [
    ("bad.keras", "--model expects a .keras file (a zip archive written by model.save). Received: {path!r}, "
                  "which is not a zip archive"),
    ("bad.h5", "--model expects an .h5 file in HDF5 format (written by model.save). Received: {path!r}, "
               "which is not an HDF5 file"),
])
def test_log_model_file_of_the_wrong_format(files, name, expected):
    bad = files / name
    bad.write_text("junk")
    result = run_cli("log", "--model", bad, "--logdir", files / "logs")
    assert_error(result, 2, LOG + expected.format(path=str(bad)))


def test_log_model_file_that_does_not_load(files):
    # A zip archive, so it passes the quick check; Keras itself refuses it.
    bad = files / "empty.keras"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("hello.txt", "not a model")
    result = run_cli("log", "--model", bad, "--logdir", files / "logs")
    assert_error(result, 2, (
        f"{LOG}--model expects a model file keras.saving.load_model can load. Received: {str(bad)!r} "
        "(KeyError: \"There is no item named 'config.json' in the archive\")"
    ))


def test_log_unknown_layer_lists_close_names(files, model_path):
    result = run_cli("log", "--model", model_path, "--layers", "conv9", "--logdir", files / "logs")
    assert_error(result, 2, f"{LOG}No layer named 'conv9' in model 'small_cnn'. Closest names: ['conv1'].")


# ------------------------------------------- layers and channels checked before any weights

XCEPTION_CLOSE = ("Closest names: ['block1_conv2', 'block1_conv1', 'block1_conv2_bn', 'block1_conv1_bn', "
                  "'block1_conv2_act'].")
FEATURES = "tb-featureviz features: error: "


@pytest.mark.parametrize("command", [["log", "--layers"], ["features", "--layer"]])
def test_misspelt_layer_of_an_application_costs_no_weights(files, command):
    # One line and nothing else: no "could not load the ImageNet weights" note, which a download attempt
    # (failing offline, as here) would have printed first.
    result = run_cli(*command, "block1_conv", "--logdir", files / "logs")
    assert_error(result, 2, f"tb-featureviz {command[0]}: error: No layer named 'block1_conv' in model 'xception'. "
                            f"{XCEPTION_CLOSE}")


@pytest.mark.parametrize("args,message", [
    (["log", "--model", "xceptoin"],
     f"{LOG}{MODEL_EXPECTED}Received: 'xceptoin', which is neither an existing file nor a keras.applications "
     "name. Closest names: xception, inceptionv3."),
    # Checked on the architecture: no weights are read first.
    (["features", "--layer", "block1_conv1", "--channels", "0-3,30-40"],
     f"{FEATURES}--channels expects channels 0-31 of layer 'block1_conv1' (it has 32). "
     "Received: 0-3,30-40 (32-40 out of range)"),
    (["features", "--layer", "block14_sep*"],
     f"{FEATURES}--layer expects one layer. Received: 'block14_sep*', which selects ['block14_sepconv1', "
     "'block14_sepconv1_bn', 'block14_sepconv1_act', 'block14_sepconv2', 'block14_sepconv2_bn', '... 1 more']"),
], ids=["unknown-application", "channels-out-of-range", "pattern-of-several-layers"])
def test_application_input_errors(files, args, message):
    assert_error(run_cli(*args, "--logdir", files / "logs"), 2, message)


def test_features_channels_of_a_model_file(files, model_path):
    result = run_cli("features", "--model", model_path, "--layer", "sep2", "--channels", "6", "--logdir",
                     files / "logs")
    assert_error(result, 2, f"{FEATURES}--channels expects channels 0-5 of layer 'sep2' (it has 6). Received: 6 "
                            "(6 out of range)")


@pytest.fixture
def weight_fetches(monkeypatch):
    """Calls that fetch or read weights, recorded in order; a download fails as it does offline."""
    import keras
    from keras.src.utils import file_utils  # where keras.applications looks get_file up

    calls = []

    def get_file(fname=None, origin=None, *args, **kwargs):
        calls.append(("get_file", fname))
        raise OSError("no network in this test")

    load_weights = keras.Model.load_weights

    def recorded_load_weights(model, filepath, *args, **kwargs):
        calls.append(("load_weights", str(filepath)))
        return load_weights(model, filepath, *args, **kwargs)

    monkeypatch.setattr(file_utils, "get_file", get_file)
    monkeypatch.setattr(keras.Model, "load_weights", recorded_load_weights)
    return calls


@pytest.mark.parametrize("argv, line", [
    (["log", "--layers", "block1_conv"],
     f"tb-featureviz log: error: No layer named 'block1_conv' in model 'xception'. {XCEPTION_CLOSE}"),
    (["log", "--layers", "block1_conv1", "block99*"],
     "tb-featureviz log: error: Pattern 'block99*' matches no layer of model 'xception'."),
    (["features", "--layer", "block1_conv"],
     f"{FEATURES}No layer named 'block1_conv' in model 'xception'. {XCEPTION_CLOSE}"),
    (["features", "--layer", "block1_conv1", "--channels", "32"],
     f"{FEATURES}--channels expects channels 0-31 of layer 'block1_conv1' (it has 32). Received: 32 "
     "(32 out of range)"),
])
def test_no_weights_are_fetched_before_the_check(tmp_path, capsys, weight_fetches, argv, line):
    from tb_featureviz import cli

    assert cli.main([*argv, "--logdir", str(tmp_path / "logs")]) == 2
    assert capsys.readouterr().err.splitlines() == [line]
    assert weight_fetches == []


def test_weights_are_fetched_after_the_check(weight_fetches):
    # The control of the test above: the recorder sits where keras.applications fetches ImageNet weights.
    from tb_featureviz.cli import models

    notes = []
    loaded = models.load_application("xception", "imagenet", 71, note=notes.append,
                                     check=lambda model: weight_fetches.append(("check", model.name)) or "checked")
    assert weight_fetches == [("check", "xception"),
                              ("get_file", "xception_weights_tf_dim_ordering_tf_kernels_notop.h5")]
    assert (loaded.checked, loaded.weights) == ("checked", "none")
    assert loaded.description == "Xception (71x71, random weights)"
    assert len(notes) == 1 and notes[0].startswith("could not load the ImageNet weights for Xception (OSError: no "
                                                   "network in this test); using random weights")


def test_weights_file_is_read_into_the_checked_model(tmp_path, weight_fetches):
    import keras
    import numpy as np

    from tb_featureviz.cli import models

    saved = keras.applications.Xception(weights=None, include_top=False, input_shape=(71, 71, 3))
    path = str(tmp_path / "xception.weights.h5")
    saved.save_weights(path)
    checked = []
    loaded = models.load_application("xception", path, 71, check=checked.append)
    assert checked == [loaded.model]
    assert weight_fetches == [("load_weights", path)]
    assert loaded.description == f"Xception (71x71, weights {path})"
    for mine, theirs in zip(loaded.model.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_imagenet_weights_are_copied_into_the_checked_model(tmp_path, monkeypatch):
    # Where the download works: a stand-in for the ImageNet file, served by the patched get_file.
    import keras
    import numpy as np
    from keras.src.utils import file_utils

    from tb_featureviz.cli import models

    keras.utils.set_random_seed(1)
    pretrained = keras.applications.Xception(weights=None, include_top=False, input_shape=(71, 71, 3))
    path = str(tmp_path / "imagenet.weights.h5")
    pretrained.save_weights(path)
    events = []
    monkeypatch.setattr(file_utils, "get_file", lambda fname=None, *args, **kwargs: events.append(fname) or path)
    loaded = models.load_application("xception", "imagenet", 71,
                                     check=lambda model: events.append("check") or model)
    assert events == ["check", "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"]
    assert loaded.checked is loaded.model and loaded.description == "Xception (71x71, ImageNet weights)"
    for mine, theirs in zip(loaded.model.get_weights(), pretrained.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_unreadable_weights_file(files):
    bad = files / "bad.weights.h5"
    bad.write_text("junk")
    result = run_cli("log", "--weights", bad, "--image-size", "71", "--logdir", files / "logs")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{LOG}--weights expects a weights file of Xception without its top at 71x71. "
                           f"Received: {str(bad)!r} (")


def test_log_image_that_is_a_model_file(files, model_path):
    result = run_cli("log", model_path, "--model", "xception", "--logdir", files / "logs")
    assert_error(result, 2, (
        f"{LOG}IMAGE expects image files. Received: {model_path!r}, a model file (the model is --model 'xception')"
    ))


@pytest.mark.parametrize("flag, value", [("--weights", "none"), ("--image-size", "71")])
def test_log_application_options_with_a_model_file(files, model_path, flag, value):
    result = run_cli("log", "--model", model_path, flag, value, "--logdir", files / "logs")
    assert_error(result, 2, (
        f"{LOG}{flag} expects a keras.applications --model (a saved model has its own). "
        f"Received: {flag} with the model file {model_path!r}"
    ))


def test_log_preprocess_that_is_no_dotted_path(files):
    result = run_cli("log", "--preprocess", "scale", "--logdir", files / "logs")
    assert_error(result, 2, (
        f"{LOG}--preprocess expects a dotted path to a function, e.g. keras.applications.xception.preprocess_input. "
        "Received: 'scale'"
    ))


# --------------------------------------------------------------- log: flags, logdir

@pytest.mark.parametrize("value, shown", [("-1", "-1"), ("x", "'x'")])
def test_log_bad_step(files, value, shown):
    result = run_cli("log", "--step", value, "--logdir", files / "logs")
    assert_error(result, 2, f"{LOG}--step expects an int >= 0. Received: {shown}")


def test_log_step_beyond_int64(files):
    result = run_cli("log", "--step", str(2**63), "--logdir", files / "logs")
    assert_error(result, 2, (
        f"{LOG}--step expects an int <= {2**63 - 1} (TensorBoard stores steps as int64). Received: {2**63}"
    ))


def test_log_bad_max_channels(files):
    result = run_cli("log", "--max-channels", "0", "--logdir", files / "logs")
    assert_error(result, 2, f"{LOG}--max-channels expects an int >= 1 or 'all'. Received: '0'")


def test_log_run_that_is_no_folder_name(files):
    result = run_cli("log", "--run", "a/b", "--logdir", files / "logs")
    assert_error(result, 2, f"{LOG}--run expects a folder name (no '/', not '.' or '..'). Received: 'a/b'")


def test_log_unknown_sample(files):
    result = run_cli("log", "--sample", "dog", "--logdir", files / "logs")
    assert_error(result, 2, f"{LOG}argument --sample: invalid choice: 'dog' (choose from 'astronaut', 'cat')")


def test_log_unknown_flag(files):
    assert_error(run_cli("log", "--logdir", files / "logs", "--stpe", "3"), 2, (
        f"{LOG}unrecognized arguments: --stpe"
    ))


def test_log_without_logdir():
    assert_error(run_cli("log"), 2, f"{LOG}the following arguments are required: --logdir")


def test_log_logdir_below_a_file(files):
    logdir = str(files / "afile" / "logs")
    result = run_cli("log", "--logdir", logdir)
    assert_error(result, 2, (
        f"{LOG}--logdir expects a writable log directory. Received: logdir={logdir!r}, "
        f"but {str(files / 'afile')!r} is a file, not a directory"
    ))


def _unwritable_logdir(tmp_path):
    """A logdir that can't be created: below a read-only directory, or (as root, who may write
    anywhere chmod allows) in /sys, which refuses new entries to everyone. Returns (path, OSError)."""
    if os.geteuid() != 0:
        parent = tmp_path / "readonly"
        parent.mkdir()
        parent.chmod(0o500)
        candidate = str(parent / "logs")
    else:
        candidate = "/sys/tb-featureviz-test-logs"
    try:
        os.makedirs(candidate)
    except OSError as error:
        return candidate, error
    os.rmdir(candidate)
    pytest.skip(f"{candidate} is writable here")


def test_log_unwritable_logdir(tmp_path):
    logdir, error = _unwritable_logdir(tmp_path)
    result = run_cli("log", "--logdir", logdir)
    assert_error(result, 2, (
        f"{LOG}--logdir expects a writable log directory. Received: {logdir!r}, which can't be written: {error}"
    ))


@pytest.mark.skipif(is_installed("jax"), reason="needs an environment without JAX")
def test_backend_that_is_not_installed(files):
    result = run_cli("log", "--backend", "jax", "--logdir", files / "logs")
    assert_error(result, 2, (
        f"{LOG}--backend expects an installed Keras backend (installed: tensorflow). Received: 'jax', which is "
        "not installed (pip install 'tb-featureviz[jax]')"
    ))


def test_unknown_backend_name(files):
    result = run_cli("log", "--backend", "mxnet", "--logdir", files / "logs")
    assert_error(result, 2, (
        f"{LOG}argument --backend: invalid choice: 'mxnet' (choose from 'tensorflow', 'jax', 'torch')"
    ))


def test_debug_shows_the_traceback(files):
    missing = str(files / "missing.png")
    result = run_cli("log", missing, "--logdir", files / "logs", "--debug")
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1] == (
        f"tb_featureviz.cli.common.CommandError: IMAGE expects an existing image file. Received: {missing!r}, "
        "which does not exist"
    )


# ------------------------------------------------------------------------- board

def test_board_missing_logdir(tmp_path):
    missing = str(tmp_path / "missing")
    assert_error(run_cli("board", "--logdir", missing), 2, (
        f"tb-featureviz board: error: --logdir expects a directory of event files. Received: {missing!r}, "
        "a path that does not exist"
    ))


def test_board_logdir_that_is_a_file(files):
    path = str(files / "afile")
    assert_error(run_cli("board", "--logdir", path), 2, (
        f"tb-featureviz board: error: --logdir expects a directory of event files. Received: {path!r}, "
        "a file, not a directory"
    ))


def test_board_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("board", "--logdir", tmp_path, "--port", port)
    assert_error(result, 2, (
        f"tb-featureviz board: error: --port expects a free port on 127.0.0.1. Received: {port}, which is in use "
        "(leave --port out to take a free one)"
    ))


def test_board_takes_no_backend(tmp_path):
    assert_error(run_cli("board", "--logdir", tmp_path, "--backend", "jax"), 2, (
        "tb-featureviz board: error: unrecognized arguments: --backend jax"
    ))


def test_board_port_out_of_range(tmp_path):
    assert_error(run_cli("board", "--logdir", tmp_path, "--port", "70000"), 2, (
        "tb-featureviz board: error: --port expects a port from 1 to 65535 (0: any free one). Received: '70000'"
    ))


def test_board_host_that_is_not_this_machine(tmp_path):
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
    with socket.socket() as sock:
        try:
            sock.bind(("192.0.2.1", 0))
        except OSError as refused:
            error = refused
        else:
            pytest.skip("192.0.2.1 is an address of this machine")
    result = run_cli("board", "--logdir", tmp_path, "--host", "192.0.2.1")
    assert_error(result, 2, (
        "tb-featureviz board: error: --host expects an address of this machine to serve on. "
        f"Received: '192.0.2.1' ({type(error).__name__}: {error})"
    ))


# -------------------------------------------------------------------------- demo

def test_demo_too_small_images():
    assert_error(run_cli("demo", "--image-size", "32"), 2, (
        "tb-featureviz demo: error: --image-size expects an int >= 71 (Xception's minimum). Received: 32"
    ))


def test_demo_missing_weights_file(files):
    missing = str(files / "weights.h5")
    assert_error(run_cli("demo", "--weights", missing, "--logdir", files / "logs"), 2, (
        f"tb-featureviz demo: error: --weights expects 'imagenet', 'none' or an existing weights file. "
        f"Received: {missing!r}, which is not a file"
    ))


def test_demo_zero_epochs(files):
    assert_error(run_cli("demo", "--epochs", "0", "--logdir", files / "logs"), 2, (
        "tb-featureviz demo: error: --epochs expects an int >= 1. Received: '0'"
    ))


@pytest.mark.parametrize("value", ["-1", "two"])
def test_demo_bad_features_steps(files, value):
    assert_error(run_cli("demo", "--features-steps", value, "--logdir", files / "logs"), 2, (
        f"tb-featureviz demo: error: --features-steps expects an int >= 0. Received: {value!r}"
    ))


def test_demo_unwritable_logdir(tmp_path):
    logdir, error = _unwritable_logdir(tmp_path)
    assert_error(run_cli("demo", "--logdir", logdir), 2, (
        f"tb-featureviz demo: error: --logdir expects a writable log directory. Received: {logdir!r}, "
        f"which can't be written: {error}"
    ))


# --------------------------------------------------------------------- top level

def test_no_command():
    assert_error(run_cli(), 2, "tb-featureviz: error: the following arguments are required: COMMAND")


def test_unknown_command():
    assert_error(run_cli("lgo"), 2, (
        "tb-featureviz: error: argument COMMAND: invalid choice: 'lgo' (choose from 'log', 'features', 'attribution', 'examples', 'board', 'demo')"
    ))
