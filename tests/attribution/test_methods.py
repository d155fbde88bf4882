"""The attribution maths and its drawing, exact: target classes, the Grad-CAM family's corner cases, heatmaps."""

import numpy as np
import pytest
from PIL import Image

from tb_featureviz.attribution import methods, targets
from tb_featureviz.render import heatmaps


def test_target_classes_of_each_specification():
    logits = np.array([[0.1, 2.0, 0.5, 2.0], [3.0, 0.0, 1.0, -1.0]])
    assert targets.target_classes("predicted", logits).tolist() == [[1], [0]]
    assert targets.target_classes("top3", logits).tolist() == [[1, 3, 2], [0, 2, 1]]  # a tie keeps class order
    assert targets.target_classes(("top", 1), logits).tolist() == [[1], [0]]
    assert targets.target_classes(2, logits).tolist() == [[2], [2]]
    assert targets.target_classes([3, 0], logits).tolist() == [[3, 0], [3, 0]]
    assert targets.target_classes("label", logits, labels=[3, 1]).tolist() == [[3], [1]]
    assert targets.target_classes("predicted", logits).dtype == np.int64
    assert [targets.describe(t) for t in ("predicted", "top3", ("top", 2), 5, [3, 7])] == [
        "predicted", "top3", "top2", "5", "3,7"]


@pytest.mark.parametrize("spec,kwargs,error,text", [
    ("best", {}, ValueError,
     "attribute expects targets 'predicted', 'label', 'topK', a class index or a list of them. Received: targets='best'"),
    (7, {}, ValueError, "attribute expects targets to be class indices in [0, 4). Received: [7]"),
    ([1, -1, 9], {}, ValueError, "attribute expects targets to be class indices in [0, 4). Received: [-1, 9]"),
    ([], {}, ValueError, "attribute expects targets to name at least one class. Received: an empty list"),
    ("top5", {}, ValueError, "attribute expects targets 'topK' with 1 <= K <= 4. Received: targets='top5'"),
    ("top0", {}, ValueError, "attribute expects targets 'topK' with 1 <= K <= 4. Received: targets='top0'"),
    ("label", {}, ValueError, "attribute expects targets='label' with labels= (one class index per picture). "
                              "Received: labels=None"),
    ("label", {"labels": [1, 2, 3]}, ValueError,
     "attribute expects one label per picture (2 labels). Received: labels of shape (3,)"),
    ("label", {"labels": [1, 4]}, ValueError, "attribute expects labels to be class indices in [0, 4). Received: [4]"),
    (True, {}, TypeError, "attribute expects targets as a class index or a list of them. Received: True"),
    (2.5, {}, TypeError, "attribute expects targets 'predicted', 'label', 'topK', a class index or a list of them. "
                         "Received: float"),
])
def test_target_errors_name_what_was_expected(spec, kwargs, error, text):
    with pytest.raises(error) as raised:
        targets.check_targets(spec, num_classes=4, num_images=2, **kwargs)
    assert str(raised.value) == text


def test_methods_refuse_unknown_names_and_wrong_shapes():
    with pytest.raises(ValueError) as raised:
        methods.check_method("gradcam2")
    assert str(raised.value) == ("attribute expects method in ['gradcam', 'gradcam++', 'layercam', 'scorecam']. "
                                 "Received: method='gradcam2'")
    with pytest.raises(ValueError, match=r"expect activations \[N, h, w, C\] and gradients \[N, T, h, w, C\]\. "
                                         r"Received: shapes \(1, 2, 2, 3\) and \(1, 2, 2, 3\)"):
        methods.grad_cam(np.ones((1, 2, 2, 3)), np.ones((1, 2, 2, 3)))


def test_grad_cam_family_on_a_hand_made_case():
    # Two channels on a 1x2 map; the target's gradient is +1 on channel 0 everywhere, -1 on channel 1 at (0, 1).
    activations = np.array([[[[2.0, 1.0], [0.0, 3.0]]]])  # [1, 1, 2, 2]
    gradients = np.zeros((1, 1, 1, 2, 2))
    gradients[0, 0, :, :, 0] = 1.0
    gradients[0, 0, 0, 1, 1] = -1.0
    # Grad-CAM: alpha = (1, -0.5); map = relu(A0 - 0.5 A1) = relu([2 - 0.5, 0 - 1.5]).
    assert methods.grad_cam(activations, gradients)[0, 0].tolist() == [[1.5, 0.0]]
    # LayerCAM: relu(relu(G) * A) summed over channels: [2 * 1 + 1 * 0, 0 * 1 + 3 * 0].
    assert methods.layer_cam(activations, gradients)[0, 0].tolist() == [[2.0, 0.0]]
    # Grad-CAM++: channel 0: a = 1 / (2 + sum(A0) * 1) = 1/4 at both positions, w0 = 2 * 1/4;
    # channel 1: relu(G) is 0 everywhere, w1 = 0. Map = relu(0.5 * A0).
    assert methods.grad_cam_plus_plus(activations, gradients)[0, 0].tolist() == [[1.0, 0.0]]
    for maps in (methods.grad_cam(activations, gradients), methods.layer_cam(activations, gradients)):
        assert maps.dtype == np.float64 and maps.shape == (1, 1, 1, 2)


def test_score_cam_normalised_masks_and_softmax():
    activations = np.array([[[[1.0, 5.0]], [[3.0, 5.0]]]])  # channel 1 is constant
    masks = methods.normalised_masks(activations)
    assert masks[..., 0].tolist() == [[[0.0], [1.0]]] and masks[..., 1].tolist() == [[[0.0], [0.0]]]
    maps = methods.score_cam(activations, masked_probabilities=[[[0.7, 0.1]]], baseline_probabilities=[[0.2]])
    # 0.5 * channel 0 - 0.1 * channel 1, rectified.
    np.testing.assert_allclose(maps[0, 0], [[0.0], [1.0]])
    np.testing.assert_allclose(methods.softmax(np.array([[1000.0, 1000.0]])), [[0.5, 0.5]])


def test_upsample_equals_pils_bilinear_and_keeps_corners():
    small = np.random.default_rng(0).random((5, 7)).astype(np.float32)
    ours = heatmaps.upsample(small, 20, 28)
    pils = np.asarray(Image.fromarray(small, mode="F").resize((28, 20), Image.BILINEAR))
    np.testing.assert_allclose(ours, pils, atol=1e-6)
    assert heatmaps.upsample(small, 5, 7).tolist() == small.astype(np.float64).tolist()
    rgb = heatmaps.upsample(np.stack([small, 2 * small], -1), 10, 14)
    np.testing.assert_allclose(rgb[..., 1], 2 * rgb[..., 0])


def test_colorize_and_overlay_exact_pixels():
    assert heatmaps.colorize(np.array([0.0, 0.5, 1.0, 7.0, -1.0]), 0.0, 1.0).tolist() == [
        [68, 1, 84], [38, 130, 142], [253, 231, 37], [253, 231, 37], [68, 1, 84]]
    assert heatmaps.colorize(np.array([3.0]), 2.0, 2.0).tolist() == [[68, 1, 84]]  # a flat map: the bottom colour
    picture = np.full((2, 2, 3), 100, np.uint8)
    blended = heatmaps.overlay(picture, np.array([[0.0, 1.0]]), 0.0, 1.0, opacity=0.5)
    # Left column: the map's 0 (viridis bottom) over grey 100; right: its 1 (viridis top).
    assert blended[:, 0].tolist() == [[84, 50, 92]] * 2 and blended[:, 1].tolist() == [[176, 166, 68]] * 2
    assert heatmaps.overlay(picture[..., 0], np.zeros((1, 1)), 0.0, 1.0).shape == (2, 2, 3)  # grey pictures too
    assert picture.tolist() == np.full((2, 2, 3), 100).tolist()  # inputs never changed
