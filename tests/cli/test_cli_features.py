"""``tb-featureviz features``: a real run writes a features grid; bad input is one line."""

import json
import os

import pytest

from tests.cli_helpers import assert_error, run_cli, small_model_path
from tests.eventfiles import tensors_by_tag


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return small_model_path(tmp_path_factory)


def test_features_of_chosen_channels(tmp_path, model_path):
    result = run_cli("features", "--model", model_path, "--layer", "sep2", "--channels", "0-1,4",
                     "--steps", "8", "--size", "12", "--step", "3", "--logdir", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == f"See them:  tb-featureviz board --logdir {tmp_path}  (Features tab)"
    assert any(line.startswith("Wrote 3 feature visualizations") and " of sep2 at step 3 " in line for line in lines)
    written = tensors_by_tag(os.path.join(tmp_path, "featureviz"))
    assert set(written) == {"featureviz/_model", "featureviz/sep2/features", "featureviz/sep2/features/record"}
    ((step, text),) = written["featureviz/sep2/features/record"]
    record = json.loads(text.item())
    assert (step, record["kind"], record["channels"], record["total_channels"]) == (3, "features", [0, 1, 4], 6)
    assert (record["tile_height"], record["tile_width"], record["depth"]) == (12, 12, 3)
    assert record["samples"][0]["lo"] == [0.0] * 3 and record["samples"][0]["hi"] == [255.0] * 3
    assert sorted(record["quality"]) == ["noise_objective", "objective", "ratio", "status"]
    assert all(len(values) == 3 for values in record["quality"].values())
    assert record["optimisation"] == {"objective": "channel", "steps": 8, "size": 12, "canvas": 12, "seed": 0,
                                      "learning_rate": 0.05}


@pytest.mark.parametrize("args, line", [
    (["--channels", "3-1"], "tb-featureviz features: error: --channels expects channel numbers like 0-15 or 0,3,7. "
                            "Received: '3-1'"),
    (["--channels", "a"], "tb-featureviz features: error: --channels expects channel numbers like 0-15 or 0,3,7. "
                          "Received: 'a'"),
    (["--steps", "0"], "tb-featureviz features: error: --steps expects an int >= 1. Received: '0'"),
])
def test_bad_arguments_are_one_line(tmp_path, model_path, args, line):
    result = run_cli("features", "--model", model_path, "--layer", "sep2", "--logdir", tmp_path, *args)
    assert_error(result, 2, line)


def test_unknown_layer_names_the_close_ones(tmp_path, model_path):
    result = run_cli("features", "--model", model_path, "--layer", "sep", "--steps", "2", "--logdir", tmp_path)
    assert_error(result, 2, "tb-featureviz features: error: No layer named 'sep' in model 'small_cnn'. "
                            "Closest names: ['sep2'].")
    assert not os.path.exists(os.path.join(tmp_path, "featureviz"))
