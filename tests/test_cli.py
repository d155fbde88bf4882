"""The command line: `log` on a saved model, the offline demo and its weight fallback."""

import io
import os
import subprocess
import sys

import pytest

from tb_featureviz import cli
from tests.eventfiles import tensors_by_tag
from tests.models import small_cnn


def test_log_command_writes_filters_and_activations(tmp_path):
    model_path = os.path.join(tmp_path, "small.keras")
    small_cnn().save(model_path)
    out = io.StringIO()
    records = cli.run_log(model_path, [cli.SAMPLES["cat"]], os.path.join(tmp_path, "logs"), 7, ["conv1", "sep2"], None, out)
    assert [(r["layer"], r["kind"]) for r in records] == [
        ("conv1", "filters"), ("sep2", "filters"), ("sep2", "pointwise"),
        ("_probe", "probe"), ("conv1", "activations"), ("sep2", "activations"),
    ]
    written = tensors_by_tag(os.path.join(tmp_path, "logs", "featureviz"))
    assert {step for values in written.values() for step, _ in values} == {7}
    assert out.getvalue().startswith("Wrote 6 grids (")


def test_demo_rejects_too_small_images():
    with pytest.raises(SystemExit) as error:
        cli.main(["demo", "--image-size", "32"])
    assert str(error.value) == "tb-featureviz demo expects --image-size >= 71 (Xception's minimum). Received: 32"


def test_imagenet_fallback_says_why(monkeypatch):
    import keras

    real = keras.applications.Xception

    def offline(*args, weights=None, **kwargs):
        # The download is the one thing that cannot run here; everything else is real.
        if weights == "imagenet":
            raise OSError("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3]")
        return real(*args, weights=weights, **kwargs)

    monkeypatch.setattr(keras.applications, "Xception", offline)
    out = io.StringIO()
    model, used = cli.load_xception("imagenet", 71, out)
    assert used == "none" and model.input_shape == (None, 71, 71, 3)
    assert out.getvalue().startswith("Could not load the ImageNet weights for Xception (OSError: URL fetch failure")
    assert "Falling back to random weights (weights=None)" in out.getvalue()


def test_module_entry_point_help():
    result = subprocess.run([sys.executable, "-m", "tb_featureviz", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "demo" in result.stdout and "log" in result.stdout
