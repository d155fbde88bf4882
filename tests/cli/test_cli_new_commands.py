"""``tb-featureviz examples`` and ``attribution``: real runs on saved models; bad input is one line."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from tests.cli_helpers import assert_error, run_cli
from tests.eventfiles import tensors_by_tag


@pytest.fixture(scope="module")
def detector_path(tmp_path_factory):
    from tests.examples.test_scan import detector

    path = str(tmp_path_factory.mktemp("detector") / "detector.keras")
    detector().save(path)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from tests.examples.test_scan import planted_pictures

    path = tmp_path_factory.mktemp("pictures")
    for index, picture in enumerate(planted_pictures(60)):
        Image.fromarray(picture).save(path / f"picture_{index:03d}.png")
    (path / "notes.txt").write_text("not a picture")
    return path


def test_examples_of_a_folder(tmp_path, detector_path, folder):
    result = run_cli("examples", folder, "--model", detector_path, "--layers", "detect", "--k", "2", "--step", "5",
                     "--logdir", tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == f"See them:  tb-featureviz board --logdir {tmp_path}  (Examples tab)"
    assert any(line.startswith("Wrote the examples of 1 layers over 60 pictures") for line in lines), lines
    run = os.path.join(tmp_path, "featureviz")
    record = json.loads(tensors_by_tag(run)["featureviz/detect/examples/record"][0][1].item())
    # The pattern is planted in pictures 17 and 64 of 300; of the first 60, only 17.
    assert record["examples"]["per_channel"][0][0]["index"] == 17
    assert record["examples"]["per_channel"][0][0]["box"] == [3, 9, 8, 14]
    listing = open(os.path.join(run, "pictures.txt"), encoding="utf-8").read().splitlines()
    assert len(listing) == 60 and listing[17] == f"17\t{folder / 'picture_017.png'}"


def test_examples_of_a_folder_without_pictures(tmp_path):
    assert_error(run_cli("examples", tmp_path, "--logdir", tmp_path / "logs"), 2, (
        f"tb-featureviz examples: error: DIR expects a folder of pictures (.png, .jpg, .jpeg, .bmp, .gif, .webp, "
        f".tif, .tiff). Received: {str(tmp_path)!r}, which holds none"))


@pytest.fixture(scope="module")
def classifier_path(tmp_path_factory):
    from tests.attribution.test_attribute import small_classifier

    path = str(tmp_path_factory.mktemp("classifier") / "classifier.keras")
    small_classifier().save(path)
    return path


def test_attribution_of_pictures(tmp_path, classifier_path):
    picture = tmp_path / "red.png"
    Image.fromarray(np.full((16, 16, 3), (200, 10, 10), np.uint8)).save(picture)
    names = tmp_path / "names.txt"
    names.write_text("red\ngreen\nblue\n")
    result = run_cli("attribution", picture, "--model", classifier_path, "--targets", "top2", "--class-names", names,
                     "--logdir", tmp_path / "logs")
    assert result.returncode == 0, result.stderr
    (found,) = [line for line in result.stdout.splitlines() if line.startswith("red.png: ")]
    record = json.loads(tensors_by_tag(os.path.join(tmp_path, "logs", "featureviz"))[
        "featureviz/base/c2/attribution/record"][0][1].item())
    targets = record["samples"][0]["targets"]
    assert [t["name"] for t in targets] == [["red", "green", "blue"][t["class"]] for t in targets]
    assert found == "red.png: " + ", ".join(f"{t['name']} (p={t['probability']:.3f})" for t in targets)


@pytest.mark.parametrize("args,line", [
    (["--targets", "best"], "--targets expects predicted, label, topK (K >= 1) or class indices like 3,7. "
                            "Received: 'best'"),
    (["--targets", "label"], "--targets label expects --labels (one class index per picture). Received: no --labels"),
    (["--targets", "label", "--labels", "1,2"], "--labels expects one class index per picture (1). Received: 2 labels"),
    (["--targets", "7"], "tb-featureviz attribution expects targets to be class indices in [0, 3). Received: [7]"),
    (["--layer", "pool"], "Layer 'pool' (GlobalAveragePooling2D) cannot be logged: its output has shape (None, 6), "
                          "not (batch, height, width, channels)."),
])
def test_attribution_errors(tmp_path, classifier_path, args, line):
    picture = tmp_path / "red.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(picture)
    assert_error(run_cli("attribution", picture, "--model", classifier_path, *args, "--logdir", tmp_path / "logs"), 2,
                 f"tb-featureviz attribution: error: {line}")
