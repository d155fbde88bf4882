"""Drift, channel-health and filter-axis math (pure numpy): exact values on small hand-made arrays."""

import math

import numpy as np
import pytest

from tb_featureviz.scalars import drift
from tb_featureviz.render import kernels
from tb_featureviz.scalars.health import channel_health


def test_relative_change_is_zero_for_unchanged_and_exact_for_known_change():
    w0 = {"kernel": np.arange(1, 13, dtype=np.float32).reshape(1, 1, 3, 4)}
    assert drift.relative_change(w0, {"kernel": w0["kernel"].copy()}) == 0.0
    w = {"kernel": w0["kernel"] * 1.1}
    assert drift.relative_change(w, w0) == pytest.approx(0.1, rel=1e-6)


def test_relative_change_spans_all_kernels_of_a_layer():
    w0 = {"depthwise_kernel": np.full((1, 1, 1, 1), 3.0), "pointwise_kernel": np.full((1, 1, 1, 1), 4.0)}
    w = {"depthwise_kernel": np.full((1, 1, 1, 1), 3.0), "pointwise_kernel": np.full((1, 1, 1, 1), 9.0)}
    # ||W - W0|| = 5, ||W0|| = sqrt(9 + 16) = 5.
    assert drift.relative_change(w, w0) == 1.0


def test_relative_change_of_zero_start_and_non_finite():
    zero = np.zeros((2, 2))
    assert drift.relative_change(zero, zero) == 0.0
    assert drift.relative_change(np.ones((2, 2)), zero) == math.inf
    assert math.isnan(drift.relative_change(np.array([np.nan, 1.0]), np.array([1.0, 1.0])))


def test_relative_change_rejects_mismatched_kernels():
    with pytest.raises(ValueError, match=r"keep its shape. Received: \(2,\) now, \(3,\) at the start"):
        drift.relative_change(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="same kernels"):
        drift.relative_change({"kernel": np.zeros(2)}, {"depthwise_kernel": np.zeros(2)})


def test_filter_matrix_axes_per_class():
    conv = np.arange(3 * 3 * 2 * 4).reshape(3, 3, 2, 4)
    rows = kernels.filter_matrix("Conv2D", "kernel", conv)
    assert rows.shape == (4, 18)
    np.testing.assert_array_equal(rows[1], conv[..., 1].ravel())
    transposed = np.arange(3 * 3 * 5 * 2).reshape(3, 3, 5, 2)  # (kh, kw, out, in)
    rows = kernels.filter_matrix("Conv2DTranspose", "kernel", transposed)
    assert rows.shape == (5, 18)
    np.testing.assert_array_equal(rows[4], transposed[:, :, 4, :].ravel())
    depthwise = np.arange(3 * 3 * 2 * 3).reshape(3, 3, 2, 3)  # (kh, kw, in, mult)
    rows = kernels.filter_matrix("DepthwiseConv2D", "kernel", depthwise)
    assert rows.shape == (6, 9)
    np.testing.assert_array_equal(rows[5], depthwise[:, :, 1, 2].ravel())
    assert kernels.filter_matrix("SeparableConv2D", "depthwise_kernel", depthwise).shape == (6, 9)
    assert kernels.filter_matrix("SeparableConv2D", "pointwise_kernel", np.zeros((1, 1, 6, 7))).shape == (7, 6)


def test_filter_cosines_per_filter():
    w0 = np.zeros((1, 1, 2, 3))
    w0[0, 0, :, 0] = [1, 0]
    w0[0, 0, :, 1] = [0, 2]
    w0[0, 0, :, 2] = [1, 1]
    w = w0.copy()
    w[0, 0, :, 1] = [0, -5]  # turned around
    w[0, 0, :, 2] = [1, 0]  # 45 degrees
    cos = drift.filter_cosines("Conv2D", {"kernel": w}, {"kernel": w0})
    np.testing.assert_allclose(cos, [1.0, -1.0, math.sqrt(0.5)])
    summary = drift.drift_summary("Conv2D", {"kernel": w}, {"kernel": w0})
    assert summary["cosine_min"] == -1.0
    assert summary["cosine_mean"] == pytest.approx((1.0 - 1.0 + math.sqrt(0.5)) / 3)


def test_filter_cosines_zero_filters():
    w0 = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])  # 3 filters of 2 values (Dense layout)
    w = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(drift.filter_cosines("Dense", w, w0), [1.0, 0.0, 0.0])


def test_drift_summary_of_unchanged_layer_and_inputs_not_mutated():
    rng = np.random.default_rng(0)
    w0 = {"depthwise_kernel": rng.normal(size=(3, 3, 4, 1)).astype(np.float32),
          "pointwise_kernel": rng.normal(size=(1, 1, 4, 8)).astype(np.float32)}
    before = {k: v.copy() for k, v in w0.items()}
    summary = drift.drift_summary("SeparableConv2D", {k: v.copy() for k, v in w0.items()}, w0)
    assert summary == {"relative_change": 0.0, "cosine_mean": pytest.approx(1.0), "cosine_min": pytest.approx(1.0)}
    for key in w0:
        np.testing.assert_array_equal(w0[key], before[key])


def test_drift_summary_nan_when_weights_diverged():
    w0 = np.ones((2, 2))
    summary = drift.drift_summary("Dense", np.array([[np.nan, 1.0], [1.0, 1.0]]), w0)
    assert all(math.isnan(summary[name]) for name in drift.DRIFT_NAMES)


def test_channel_health_classifies_channels_over_all_probe_images():
    first = np.stack([
        np.zeros((3, 3)),            # dead on both images
        np.full((3, 3), 6.0),        # saturated: 6 everywhere on both
        np.zeros((3, 3)),            # zero here, alive on the second image
        np.full((3, 3), 1.0),        # constant 1 here, 2 on the second image: not saturated
        np.eye(3),                   # ordinary
    ])
    second = first.copy()
    second[2, 0, 0] = 0.5
    second[3] = 2.0
    second[4, 1, 1] = np.inf         # non-finite on the second image only
    health = channel_health([first, second])
    assert health == {"dead_fraction": 0.2, "saturated_fraction": 0.2, "nonfinite_fraction": 0.2}


def test_channel_health_accepts_a_batch_array_and_negative_zero():
    maps = np.zeros((2, 4, 5, 5), np.float32)  # [N, C, H, W]
    maps[:, 0] = -0.0
    maps[:, 1, 2, 2] = -1.0
    maps[:, 2] = np.nan
    maps[:, 3] = -3.0
    assert channel_health(maps) == {"dead_fraction": 0.25, "saturated_fraction": 0.25, "nonfinite_fraction": 0.25}


def test_channel_health_needs_a_sample():
    with pytest.raises(ValueError, match="at least one sample"):
        channel_health([])
