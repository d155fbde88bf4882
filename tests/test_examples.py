"""examples/: each script runs offline with ``--quick`` and writes what its docstring promises.

Each example runs as a user would run it (``python examples/NAME.py --quick
--logdir DIR``, from another directory); the event files are read back
through TensorBoard's own loader and their tags compared exactly.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from tests import ROOT
from tests.cli_helpers import cli_env
from tests.eventfiles import tensors_by_tag

EXAMPLES = os.path.join(ROOT, "examples")

HEALTH = ("health/dead_fraction", "health/saturated_fraction", "health/nonfinite_fraction")
DRIFT = ("drift/cosine_mean", "drift/cosine_min", "drift/relative_change")
PROBE = {"featureviz/_model", "featureviz/_probe/probe", "featureviz/_probe/probe/record"}


def layer_tags(layer, grids, scalars=HEALTH + DRIFT):
    tags = {f"featureviz/{layer}/{name}" for name in scalars}
    for kind in grids:
        tags |= {f"featureviz/{layer}/{kind}", f"featureviz/{layer}/{kind}/record"}
    return tags


def run_example(name, tmp_path):
    logdir = tmp_path / "logs"
    result = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), "--quick", "--logdir", str(logdir)],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=cli_env())
    assert result.returncode == 0, result.stderr[-3000:]
    return logdir, result


def steps_of(written, tag):
    return [step for step, _ in written[tag]]


def test_finetune_xception(tmp_path):
    logdir, result = run_example("finetune_xception.py", tmp_path)
    assert os.listdir(logdir) == ["featureviz"]
    written = tensors_by_tag(str(logdir / "featureviz"))
    # The callback's default: one conv layer per resolution stage of the nested Xception.
    expected = PROBE | {"featureviz/_events"} | layer_tags(
        "xception/block1_conv1", ["filters", "filter_change", "activations"])
    for layer in ("block2_sepconv2", "block3_sepconv2", "block4_sepconv2", "block13_sepconv2", "block14_sepconv2"):
        expected |= layer_tags(f"xception/{layer}", ["filters", "pointwise", "filter_change", "activations"])
    assert set(written) == expected
    # 2 crops per photo, batch 8: one step per epoch; step 0, then one epoch frozen, one unfrozen.
    assert steps_of(written, "featureviz/xception/block1_conv1/activations") == [0, 1, 2]
    drift = [float(value) for _, value in written["featureviz/xception/block1_conv1/drift/relative_change"]]
    assert drift[:2] == [0.0, 0.0] and drift[2] > 0  # frozen: no change; unfrozen: the kernels move
    (step, document), = written["featureviz/_events"]
    events = json.loads(document.item())["events"]
    assert step == 1 and events[0]["type"] == "trainable" and "xception/block1_conv1" in events[0]["trainable"]
    assert result.stdout.rstrip().splitlines()[-1] == (
        f"Wrote {logdir / 'featureviz'} (last step 2). See it:  tb-featureviz board --logdir {logdir}")


def test_custom_training_loop(tmp_path):
    logdir, result = run_example("custom_training_loop.py", tmp_path)
    written = tensors_by_tag(str(logdir / "custom_loop"))
    assert set(written) == (PROBE | {"loss"} | layer_tags("conv1", ["filters", "filter_change", "activations"])
                            | layer_tags("conv2", ["filters", "filters_mosaic", "filter_change", "activations"]))
    assert steps_of(written, "featureviz/conv2/activations") == [0, 3, 6]
    assert steps_of(written, "loss") == [3, 6]
    lines = result.stdout.splitlines()
    assert [re.sub(r"loss \d+\.\d{3}", "loss L", line) for line in lines] == [
        "step 3: loss L, logged", "step 6: loss L, logged",
        f"Wrote {logdir / 'custom_loop'}. See it:  tb-featureviz board --logdir {logdir}"]


def test_existing_script(tmp_path):
    logdir, result = run_example("existing_script.py", tmp_path)
    written = tensors_by_tag(str(logdir / "featureviz"))
    assert set(written) == (PROBE | layer_tags("conv1", ["filters", "filter_change", "activations"])
                            | layer_tags("conv2", ["filters", "filters_mosaic", "filter_change", "activations"])
                            | layer_tags("conv3", ["filters", "filters_mosaic", "filter_change", "activations"]))
    # 48 training crops in batches of 16: 3 steps per epoch, two epochs.
    assert steps_of(written, "featureviz/conv3/activations") == [0, 3, 6]


def test_existing_script_adds_exactly_three_lines():
    with open(os.path.join(EXAMPLES, "existing_script.py"), encoding="utf-8") as f:
        marked = [line.strip() for line in f if "# tb-featureviz (" in line]
    assert [line.split("# tb-featureviz ")[1][:5] for line in marked] == ["(1/3)", "(2/3)", "(3/3)"]


@pytest.mark.parametrize("name", ["finetune_xception.py", "custom_training_loop.py", "existing_script.py"])
def test_examples_say_how_to_run_them(name):
    with open(os.path.join(EXAMPLES, name), encoding="utf-8") as f:
        source = f.read()
    assert f"python examples/{name}" in source and "tb-featureviz board --logdir" in source and "--quick" in source
