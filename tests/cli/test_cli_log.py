"""``tb-featureviz log`` end to end: a saved model, the old argument form, Xception by name.

Each test runs the real command in a subprocess and reads the event files
back through TensorBoard's own loader.
"""

import collections
import os
import re

import numpy as np
import pytest

from tests.cli_helpers import run_cli, small_model_path
from tests.eventfiles import tensors_by_tag
from tb_featureviz.cli import SAMPLES


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return small_model_path(tmp_path_factory)


def _tags(layer, kinds, health=True):
    tags = set()
    for kind in kinds:
        tags |= {f"featureviz/{layer}/{kind}", f"featureviz/{layer}/{kind}/record"}
    if health:
        tags |= {f"featureviz/{layer}/health/{name}" for name in ("dead_fraction", "saturated_fraction",
                                                                 "nonfinite_fraction")}
    return tags


PROBE_TAGS = {"featureviz/_model", "featureviz/_probe/probe", "featureviz/_probe/probe/record"}


def _result_lines(stdout):
    # The elapsed time is the one thing that changes between runs.
    return [re.sub(r" in \d+\.\d s$", " in T s", line) for line in stdout.splitlines()]


def test_log_saved_model_with_chosen_layers(tmp_path, model_path):
    logdir = tmp_path / "logs"
    result = run_cli("log", SAMPLES["cat"], "--model", model_path, "--logdir", logdir, "--step", 7, "--layers", "conv1",
                     "sep2", "--run", "mine")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = _result_lines(result.stdout)
    assert lines[:2] == [
        f"[1/2] Loading model {model_path} (Keras on tensorflow)",
        "[2/2] Logging 2 layers of small.keras (Functional 'small_cnn') for 1 image at step 7",
    ]
    assert re.fullmatch(rf"Wrote 6 grids and 6 scalars \([\d.]+ kB\) at step 7 to {re.escape(str(logdir / 'mine'))} "
                        r"in T s", lines[2]), lines[2]
    assert lines[3:] == [f"See them:  tb-featureviz board --logdir {logdir}"]
    written = tensors_by_tag(str(logdir / "mine"))
    assert set(written) == PROBE_TAGS | _tags("conv1", ["filters", "activations"]) | _tags(
        "sep2", ["filters", "pointwise", "activations"])
    assert {step for values in written.values() for step, _ in values} == {7}
    # The probe is the bundled cat resized to the model's 16x16 input.
    (_, probe), = written["featureviz/_probe/probe"]
    assert probe[:2].tolist() == [b"16", b"16"]


def test_log_old_argument_form_still_works(tmp_path, model_path):
    logdir = tmp_path / "logs"
    result = run_cli("log", model_path, SAMPLES["astronaut"], "--logdir", logdir, "--layers", "dw3")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"tb-featureviz log: note: 'log MODEL IMAGE ...' is the old form; write 'log IMAGE ... --model {model_path}'"
    ]
    written = tensors_by_tag(str(logdir / "featureviz"))
    assert set(written) == PROBE_TAGS | _tags("dw3", ["filters", "activations"])


def test_log_two_samples_every_conv_layer_capped(tmp_path, model_path):
    logdir = tmp_path / "logs"
    result = run_cli("log", "--model", model_path, "--sample", "cat", "--sample", "astronaut", "--logdir", logdir,
                     "--max-channels", "2", "--step", 3)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "tb-featureviz log: note: 2-channel cap: 4 layers logged with their first 2 channels (max_channels=2); "
        "--max-channels all logs every channel"
    ]
    assert "[2/2] Logging 4 layers of small.keras (Functional 'small_cnn') for 2 images at step 3" in result.stdout
    written = tensors_by_tag(str(logdir / "featureviz"))
    assert set(written) == (PROBE_TAGS | _tags("conv1", ["filters", "activations"])
                            | _tags("sep2", ["filters", "pointwise", "activations"])
                            | _tags("dw3", ["filters", "activations"]) | _tags("point4", ["filters", "activations"]))
    # One sample per probe image: [width, height, png, png].
    (_, grid), = written["featureviz/conv1/activations"]
    assert len(grid) == 4


# Xception's conv layers with names of their own (the 4 residual 1x1 Conv2D layers are named by Keras).
XCEPTION_SEPCONVS = (
    [f"block{b}_sepconv{i}" for b in (2, 3, 4) for i in (1, 2)]
    + [f"block{b}_sepconv{i}" for b in range(5, 13) for i in (1, 2, 3)]
    + [f"block{b}_sepconv{i}" for b in (13, 14) for i in (1, 2)]
)


def test_log_xception_by_name(tmp_path):
    logdir = tmp_path / "logs"
    result = run_cli("log", "--logdir", logdir, "--image-size", 71, "--weights", "none")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "tb-featureviz log: note: 64-channel cap: 38 layers logged with their first 64 channels (max_channels=64); "
        "--max-channels all logs every channel"
    ]
    assert _result_lines(result.stdout)[:2] == [
        "[1/2] Loading model xception (Keras on tensorflow)",
        "[2/2] Logging 40 layers of Xception (71x71, random weights) for 1 image at step 0",
    ]
    written = tensors_by_tag(str(logdir / "featureviz"))
    by_layer = collections.defaultdict(set)
    for tag in written:
        parts = tag.split("/")
        if parts[1] not in ("_model", "_probe") and parts[-1] != "record":
            by_layer[parts[1]].add("/".join(parts[2:]))
    residual = sorted(layer for layer in by_layer if re.fullmatch(r"conv2d(_\d+)?", layer))
    assert len(residual) == 4
    assert set(by_layer) == {"block1_conv1", "block1_conv2", *XCEPTION_SEPCONVS, *residual}
    health = {"health/dead_fraction", "health/saturated_fraction", "health/nonfinite_fraction"}
    assert by_layer["block1_conv1"] == {"filters", "activations"} | health
    assert by_layer["block1_conv2"] == {"filters", "filters_mosaic", "activations"} | health
    assert all(by_layer[layer] == {"filters", "pointwise", "activations"} | health for layer in XCEPTION_SEPCONVS)
    assert all(by_layer[layer] == {"filters", "activations"} | health for layer in residual)
    (_, probe), = written["featureviz/_probe/probe"]  # the cat, resized to the model's input
    assert probe[:2].tolist() == [b"71", b"71"]
    records = [value for tag, values in written.items() if tag.endswith("activations/record") for _, value in values]
    assert len(records) == 40 and all(np.asarray(r).size for r in records)
    assert os.listdir(logdir) == ["featureviz"]
