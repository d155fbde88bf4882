"""The command line in-process: weights fallback, backend choice, console, warning summary, main().

The subprocess tests of each subcommand are beside this file, in tests/cli/:
test_cli_errors.py, test_cli_log.py, test_cli_board.py, test_cli_demo.py,
test_cli_features.py and test_cli_backend.py.
"""

import io
import json
import subprocess
import sys
import warnings

import pytest

from tb_featureviz import cli
from tb_featureviz.cli import backend, common, models
from tb_featureviz.render.caps import CapNote, cap_warnings


# ------------------------------------------------------------------ weights fallback

def test_imagenet_fallback_says_why_in_one_note(monkeypatch):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        # The download is the one thing that cannot run here; everything else is real.
        raise Exception("URL fetch failure on https://storage.googleapis.com/x.h5: None -- [Errno -3] no network")

    monkeypatch.setattr(file_utils, "get_file", offline)
    notes = []
    loaded = models.load_application("xception", "imagenet", 71, note=notes.append)
    assert loaded.weights == "none" and loaded.model.input_shape == (None, 71, 71, 3)
    assert loaded.description == "Xception (71x71, random weights)"
    assert loaded.preprocess_name == "keras.applications.xception.preprocess_input"
    assert notes == [
        "could not load the ImageNet weights for Xception (Exception: URL fetch failure on "
        "https://storage.googleapis.com/x.h5: None -- [Errno -3] no network); using random weights "
        "(weights=None): the filters are noise and the feature maps show an untrained network. "
        "Pass --weights FILE to use a local weights file."
    ]


def test_application_names_ignore_case_and_underscores():
    assert models.find_application("XCEPTION")[0] == "Xception"
    assert models.find_application("mobilenet_v2")[0] == "MobileNetV2"
    assert models.find_application("resnet50")[0] == "ResNet50"
    assert models.default_size("Xception") == 299 and models.default_size("ResNet50") == 224


def test_application_refuses_too_small_input():
    with pytest.raises(common.CommandError) as error:
        models.load_application("xception", "none", 32)
    assert str(error.value).startswith("--image-size 32 does not fit Xception: ValueError: ")


@pytest.mark.parametrize("value, is_path", [
    ("xception", False), ("ResNet50", False), ("model.keras", True), ("old.H5", True), ("dir/model", True),
])
def test_model_value_is_a_path_or_a_name(value, is_path):
    assert models.is_model_path(value) is is_path


# ------------------------------------------------------------------ backend choice

def _installed(*names):
    return lambda name: name in names


def test_backend_flag_sets_the_backend():
    assert backend.choose_backend("jax", environ={}, installed=_installed("jax")) == ("jax", None)


def test_backend_from_the_environment_is_kept():
    assert backend.choose_backend(None, environ={"KERAS_BACKEND": "torch"}, installed=_installed("torch")) == (
        None, None)


def test_backend_from_the_environment_must_be_installed():
    with pytest.raises(common.CommandError) as error:
        backend.choose_backend(None, environ={"KERAS_BACKEND": "torch"}, installed=_installed("tensorflow"))
    assert error.value.status == 2
    assert str(error.value) == (
        "KERAS_BACKEND expects an installed Keras backend (installed: tensorflow). Received: "
        "KERAS_BACKEND='torch', which is not installed; unset it or pass --backend"
    )


def test_keras_json_naming_an_installed_backend_is_kept(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    environ = {"KERAS_HOME": str(tmp_path)}
    assert backend.choose_backend(None, environ=environ, installed=_installed("jax", "tensorflow")) == (None, None)


def test_keras_json_naming_a_missing_backend_picks_an_installed_one(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "tensorflow"}))
    environ = {"KERAS_HOME": str(tmp_path)}
    choice = backend.choose_backend(None, environ=environ, installed=_installed("jax", "torch"))
    assert choice == ("jax", f"using the jax backend: KERAS_BACKEND is not set and {tmp_path / 'keras.json'} "
                             "names 'tensorflow', which is not installed (pass --backend to choose)")


def test_no_keras_json_picks_tensorflow_then_jax_then_torch(tmp_path):
    environ = {"KERAS_HOME": str(tmp_path)}
    for installed, picked in ((("torch", "jax", "tensorflow"), "tensorflow"), (("torch", "jax"), "jax"),
                              (("torch",), "torch")):
        choice = backend.choose_backend(None, environ=environ, installed=_installed(*installed))
        assert choice == (picked, f"using the {picked} backend: KERAS_BACKEND is not set and there is no "
                                  f"{tmp_path / 'keras.json'} (pass --backend to choose)")


def test_no_backend_installed_is_a_failure(tmp_path):
    with pytest.raises(common.CommandError) as error:
        backend.choose_backend(None, environ={"KERAS_HOME": str(tmp_path)}, installed=_installed())
    assert error.value.status == 1
    assert str(error.value) == (
        "tb-featureviz expects a Keras backend: tensorflow, jax or torch. Received: none of them is installed "
        "(pip install 'tb-featureviz[tensorflow]', '[jax]' or '[torch]')"
    )


def test_import_noise_pattern_drops_only_tensorflow_start_up_lines():
    dropped = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1795643701.185034   31719 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
        "GPU will not be used.",
        "E0000 00:00:1795644259.757316    9267 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
        "appropriate compiler flags.",
    ]
    kept = ["E0000 00:00:1795644259.757316    9267 some_op.cc:52] a real error", "Traceback (most recent call last):"]
    assert [line for line in dropped + kept if not backend._IMPORT_NOISE.match(line)] == kept


# ------------------------------------------------------------------------ console

class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_console_without_a_terminal_prints_plain_lines():
    out, err = io.StringIO(), io.StringIO()
    console = common.Console("log", out, err)
    with console.phase("[1/2] Loading"):
        console.note("a note\nover two lines")
    with console.bar(2, "Logged steps") as bar:
        bar.advance(detail="(step 0)")
        bar.advance(detail="(step 4)")
    console.result("Wrote it")
    console.error("bad")
    assert out.getvalue().splitlines() == [
        "[1/2] Loading", "Logged steps 1/2 (step 0)", "Logged steps 2/2 (step 4)", "Wrote it"]
    assert err.getvalue().splitlines() == [
        "tb-featureviz log: note: a note over two lines", "tb-featureviz log: error: bad"]


def test_console_on_a_terminal_redraws_one_line():
    out, err = _Terminal(), io.StringIO()
    console = common.Console("demo", out, err)
    with console.bar(4, "Logged steps") as bar:
        bar.advance(detail="(step 0)")
        console.info("[4/4] Phase 2")  # a line in between: the bar is cleared and drawn again
        bar.advance()
    text = out.getvalue()
    assert text.endswith("\r\x1b[KLogged steps [############------------] 2/4\n")
    assert "\r\x1b[K[4/4] Phase 2\n\r\x1b[KLogged steps [######------------------] 1/4 (step 0)" in text
    with console.phase("[1/4] Loading"):
        pass
    assert out.getvalue().endswith("\r\x1b[K[1/4] Loading ... done in 0.0 s\n")


def test_warning_summary_folds_channel_caps_into_one_line():
    out, err = io.StringIO(), io.StringIO()
    console = common.Console("log", out, err)
    with common.WarningSummary(console, how_to_lift="--max-channels all"):
        for warning in cap_warnings([CapNote("max_channels", "a", 128, 64, 64),
                                     CapNote("max_channels", "b/c", 728, 64, 64),
                                     CapNote("max_mosaic_tiles", "d", 728, 32, 4096)]):
            warnings.warn(warning)
        warnings.warn(cap_warnings([CapNote("max_channels", "e", 96, 64, 64)])[0])  # a later call
        warnings.warn("Something else.")
        warnings.warn("Something else.")
    assert err.getvalue().splitlines() == [
        "tb-featureviz log: warning: UserWarning: Something else.",
        "tb-featureviz log: note: 64-channel cap: 3 layers logged with their first 64 channels (max_channels=64); "
        "--max-channels all logs every channel",
        "tb-featureviz log: note: mosaic cap: the filter mosaics of 1 layer hold only their first input channels "
        "(max_mosaic_tiles=4096)",
    ]


@pytest.mark.parametrize("count, text", [(830, "830 bytes"), (12_345, "12.3 kB"), (2_540_000, "2.5 MB")])
def test_size_text(count, text):
    assert common.size_text(count) == text


# ---------------------------------------------------------------------------- main

def test_main_reports_an_unexpected_failure_in_one_line(monkeypatch, capsys, tmp_path):
    def broken(args, console):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cli.board, "run", broken)
    assert cli.main(["board", "--logdir", str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "tb-featureviz board: error: RuntimeError: disk on fire (run with --debug for the traceback)"]
    with pytest.raises(RuntimeError):
        cli.main(["board", "--logdir", str(tmp_path), "--debug"])


def test_main_reports_ctrl_c(monkeypatch, capsys, tmp_path):
    def interrupted(args, console):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.log, "run", interrupted)
    assert cli.main(["log", "--logdir", str(tmp_path)]) == 130
    assert capsys.readouterr().err.splitlines() == ["tb-featureviz log: error: interrupted"]


def test_module_entry_point_help():
    result = subprocess.run([sys.executable, "-m", "tb_featureviz", "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stderr == ""
    assert "{log,board,demo}" not in result.stdout
    for command in ("log", "board", "demo"):
        assert f"\n    {command} " in result.stdout
