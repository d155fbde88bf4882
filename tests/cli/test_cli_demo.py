"""``tb-featureviz demo``: one line per phase, a bar over logged steps, the cap in one line.

The in-process tests swap Xception for a tiny base model (everything else is
the demo's own code: two ``fit`` calls, the callback, the bar); one test runs
the real command, ``demo --quick`` (Xception at its smallest size, eager).
"""

import io
import json
import re

import pytest

from tests.cli_helpers import run_cli
from tests.eventfiles import tensors_by_tag
from tb_featureviz.cli import common, demo, models


def tiny_base(size):
    import keras

    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(4, 3, name="block1_conv1")(inputs)
    x = keras.layers.SeparableConv2D(70, 3, name="block2_sepconv1")(x)  # 70 channels: over the 64-channel cap
    return keras.Model(inputs, x, name="tiny_base")


@pytest.fixture
def tiny_xception(monkeypatch):
    def load_application(name, weights="imagenet", image_size=None, note=print):
        assert name == "xception"
        return models.LoadedModel(tiny_base(image_size), f"tiny ({image_size}x{image_size}, random weights)",
                                  weights="none")

    monkeypatch.setattr(models, "load_application", load_application)


def run_tiny_demo(logdir, epochs, freq, features_steps=0):
    out, err = io.StringIO(), io.StringIO()
    console = common.Console("demo", out, err)
    run_dir = demo.run_demo(str(logdir), console, "none", image_size=16, epochs=epochs, per_class=2, batch_size=2,
                            freq=freq, features_steps=features_steps, features_layer="block2_sepconv1")
    return run_dir, out.getvalue().splitlines(), err.getvalue().splitlines()


def test_demo_prints_phases_and_a_bar_over_logged_steps(tmp_path, tiny_xception):
    run_dir, out, err = run_tiny_demo(tmp_path / "logs", epochs=1, freq=1, features_steps=2)
    assert out[:3] == [
        "[1/4] Loading Xception (16x16)",
        "[2/4] Making 4 augmented crops of the 2 bundled photos",
        "[3/4] Fine-tuning phase 1: tiny (16x16, random weights) frozen, training the head for 1 epoch",
    ]
    # Step 0 and one epoch per phase; 4 crops in batches of 2 make 2 steps per epoch. A grid per
    # probe image; the probe images themselves are written with the first step only; an attribution
    # grid per probe image at every step; the feature visualization and the dataset examples (a grid
    # per logged layer and one of the pictures behind them) at the first and the last logged step only.
    features = " incl. block2_sepconv1's feature visualization"
    assert out[3:7] == [
        f"Logged steps 1/3 (step 0, 17 grids{features})",
        "Logged steps 2/3 (step 2, 11 grids)",
        "[4/4] Fine-tuning phase 2: base unfrozen, training everything for 1 epoch",
        f"Logged steps 3/3 (step 4, 15 grids{features})",
    ]
    assert re.fullmatch(rf"Wrote {re.escape(run_dir)}: 3 logged steps up to step 4; final loss \d+\.\d{{3}}, "
                        r"accuracy \d\.\d\d \(\d+ s\)", out[7]), out[7]
    assert out[8:] == [
        f"Now run:  tb-featureviz board --logdir {tmp_path / 'logs'}",
        "and open the Feature maps tab at the URL it prints (it ends in #featureviz).",
    ]
    assert err == ["tb-featureviz demo: note: 64-channel cap: 1 layer logged with their first 64 channels "
                   "(max_channels=64)"]
    written = tensors_by_tag(run_dir)
    assert sorted(step for step, _ in written["featureviz/tiny_base/block2_sepconv1/activations"]) == [0, 2, 4]
    assert sorted(step for step, _ in written["featureviz/tiny_base/block2_sepconv1/features"]) == [0, 4]


@pytest.mark.parametrize("epochs, freq", [(3, 2), (2, 3)])
def test_demo_bar_total_matches_the_callback_schedule(tmp_path, tiny_xception, epochs, freq):
    run_dir, out, _err = run_tiny_demo(tmp_path / "logs", epochs=epochs, freq=freq)
    bar = [line for line in out if line.startswith("Logged steps ")]
    steps = sorted(step for step, _ in tensors_by_tag(run_dir)["featureviz/tiny_base/block1_conv1/activations"])
    total = demo.scheduled_steps(epochs, freq)
    assert len(steps) == len(bar) == total
    assert bar[-1].startswith(f"Logged steps {total}/{total} (step {steps[-1]}, ")


def test_on_logged_step_is_called_after_each_write(tmp_path):
    import keras
    import numpy as np

    from tb_featureviz import FeatureVizCallback
    from tests.models import gradient_image, small_cnn

    calls = []
    model = small_cnn()
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    callback = FeatureVizCallback(str(tmp_path), gradient_image(), layers=["conv1"],
                                  on_logged_step=lambda step, records: calls.append((step, len(records))))
    model.fit(np.zeros((4, 16, 16, 3), np.float32), np.zeros(4), batch_size=2, epochs=2, verbose=0,
              callbacks=[callback])
    # Step 0 with the probe (probe + activations + filters + filter_change), then steps 2 and 4.
    assert calls == [(0, 4), (2, 3), (4, 3)]
    with pytest.raises(TypeError) as error:
        FeatureVizCallback(str(tmp_path), gradient_image(), on_logged_step="print")
    assert str(error.value) == "FeatureVizCallback expects on_logged_step to be callable or None. Received: str"


def test_demo_command_with_xception(tmp_path):
    logdir = tmp_path / "demo"
    result = run_cli("demo", "--logdir", logdir, "--quick", "--weights", "none", timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "tb-featureviz demo: note: 64-channel cap: 5 layers logged with their first 64 channels (max_channels=64)"
    ]
    out = result.stdout.splitlines()
    assert out[:3] == [
        "[1/4] Loading Xception (71x71)",
        "[2/4] Making 4 augmented crops of the 2 bundled photos",
        "[3/4] Fine-tuning phase 1: Xception (71x71, random weights) frozen, training the head for 1 epoch",
    ]
    features = " incl. block4_sepconv1's feature visualization"
    assert [line for line in out if line.startswith("Logged steps")] == [
        f"Logged steps 1/3 (step 0, 41 grids{features})", "Logged steps 2/3 (step 1, 31 grids)",
        f"Logged steps 3/3 (step 2, 39 grids{features})"]
    assert out[-2:] == [f"Now run:  tb-featureviz board --logdir {logdir}",
                        "and open the Feature maps tab at the URL it prints (it ends in #featureviz)."]
    written = tensors_by_tag(str(logdir / "featureviz"))
    assert sorted(step for step, _ in written["featureviz/xception/block14_sepconv2/activations"]) == [0, 1, 2]
    assert sorted(step for step, _ in written["featureviz/xception/block4_sepconv1/features"]) == [0, 2]
    # Grad-CAM of both classes at every step; the training pictures' examples at the first and last.
    attribution = [json.loads(text.item()) for _, text in
                   written["featureviz/xception/block14_sepconv2_act/attribution/record"]]
    assert [r["step"] for r in attribution] == [0, 1, 2]
    assert sorted(t["name"] for t in attribution[0]["samples"][0]["targets"]) == ["astronaut", "cat"]
    assert sorted(step for step, _ in written["featureviz/xception/block4_sepconv2/examples"]) == [0, 2]
    assert sorted(step for step, _ in written["featureviz/xception/block4_sepconv2/histogram"]) == [0, 2]
    # The visualizer's default size: the model's 71-pixel input, smaller than 128.
    records = [json.loads(text.item()) for _, text in written["featureviz/xception/block4_sepconv1/features/record"]]
    assert [(r["optimisation"]["size"], r["optimisation"]["canvas"]) for r in records] == [(71, 71)] * 2
