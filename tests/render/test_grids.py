"""Exact pixels of the pure grid math (tb_featureviz.render.grids, stats, png, kernels)."""

import io

import numpy as np
import pytest
from PIL import Image

from tb_featureviz.render import grids, kernels, png, stats


def test_channel_scale_exact_pixels_and_layout():
    tiles = np.array(
        [
            [[0.0, 1.0], [2.0, 3.0]],
            [[10.0, 10.0], [10.0, 10.0]],  # constant
            [[-1.0, 1.0], [0.0, 0.5]],
        ],
        dtype=np.float32,
    )
    grid = grids.make_grid(tiles, pad=1)
    assert (grid.rows, grid.cols, grid.tile_height, grid.tile_width, grid.pad) == (2, 2, 2, 2, 1)
    assert grid.image.tolist() == [
        [0, 85, 255, 0, 0],
        [170, 255, 255, 0, 0],
        [255, 255, 255, 255, 255],
        [0, 255, 255, 255, 255],
        [128, 191, 255, 255, 255],
    ]
    assert grid.lo.tolist() == [0.0, 10.0, -1.0]
    assert grid.hi.tolist() == [3.0, 10.0, 1.0]
    assert grid.nonfinite == 0


def test_layer_and_fixed_scales():
    tiles = np.array([[[0.0, 2.0]], [[4.0, 8.0]]])
    layer = grids.make_grid(tiles, scale="layer", pad=0, cols=2)
    assert layer.image.tolist() == [[0, 64, 128, 255]]
    assert layer.lo.tolist() == [0.0, 0.0] and layer.hi.tolist() == [8.0, 8.0]
    fixed = grids.make_grid(tiles, scale="fixed", value_range=(0, 4), pad=0, cols=2)
    assert fixed.image.tolist() == [[0, 128, 255, 255]]  # 8 is clipped to hi


def test_symmetric_zero_is_mid_grey_and_zero_kernel():
    tiles = np.array([[[-2.0, 0.0, 1.0]], [[0.0, 0.0, 0.0]]])
    grid = grids.make_grid(tiles, symmetric=True, pad=0, cols=1)
    assert grid.image.tolist() == [[0, 128, 191], [128, 128, 128]]
    assert grid.lo.tolist() == [-2.0, 0.0] and grid.hi.tolist() == [2.0, 0.0]


def test_nonfinite_values_are_transparent_counted_and_spare_other_tiles():
    tiles = np.array([[[np.nan, 1.0], [2.0, np.inf]], [[0.0, 1.0], [2.0, 3.0]], [[np.nan, np.nan], [np.nan, np.nan]]])
    grid = grids.make_grid(tiles, pad=0, cols=3)
    assert grid.image.shape == (2, 6, 2)
    assert grid.image[..., 0].tolist() == [[0, 0, 0, 85, 0, 0], [255, 0, 170, 255, 0, 0]]
    assert grid.image[..., 1].tolist() == [[0, 255, 255, 255, 0, 0], [255, 0, 255, 255, 0, 0]]
    assert grid.nonfinite == 6
    assert grid.lo[:2].tolist() == [1.0, 0.0] and np.isnan(grid.lo[2]) and np.isnan(grid.hi[2])


def test_rgb_tiles_one_range_for_three_colours():
    tiles = np.zeros((2, 1, 2, 3), np.float32)
    tiles[0, 0, 0] = [-1.0, 0.0, 1.0]
    tiles[1, 0, 1] = [0.5, 0.5, 0.5]
    grid = grids.make_grid(tiles, symmetric=True, pad=1)
    assert grid.image.shape == (1, 5, 3)
    assert grid.image[0, :2].tolist() == [[0, 128, 255], [128, 128, 128]]
    assert grid.image[0, 2].tolist() == [255, 255, 255]  # pad column
    assert grid.image[0, 3:].tolist() == [[128, 128, 128], [255, 255, 255]]


def test_inputs_are_not_mutated_and_dtypes():
    tiles = np.linspace(-3, 3, 2 * 4 * 4, dtype=np.float16).reshape(2, 4, 4)
    before = tiles.copy()
    grid = grids.make_grid(tiles, symmetric=True)
    np.testing.assert_array_equal(tiles, before)
    assert grid.image.dtype == np.uint8
    ints = grids.make_grid(np.arange(4, dtype=np.uint8).reshape(1, 2, 2))
    assert ints.image.tolist() == [[0, 85], [170, 255]]


def test_decode_tile_round_trip_within_half_a_grey_level():
    rng = np.random.default_rng(0)
    tiles = rng.normal(size=(7, 5, 6)).astype(np.float32)
    grid = grids.make_grid(tiles)
    for index in range(7):
        step = (grid.hi[index] - grid.lo[index]) / 255
        np.testing.assert_allclose(grids.decode_tile(grid, index), tiles[index], atol=step / 2 + 1e-6)


@pytest.mark.parametrize(
    "tiles, message",
    [
        (np.zeros((0, 3, 3)), "make_grid expects at least one non-empty tile. Received: shape=(0, 3, 3)"),
        (np.zeros((3, 3)), "make_grid expects tiles of shape [T, h, w] or [T, h, w, 3]. Received: shape=(3, 3)"),
        (np.zeros((1, 3, 3, 2)), "make_grid expects tiles of shape [T, h, w] or [T, h, w, 3]. Received: shape=(1, 3, 3, 2)"),
    ],
)
def test_bad_tiles(tiles, message):
    with pytest.raises(ValueError) as error:
        grids.make_grid(tiles)
    assert str(error.value) == message


def test_bad_scale_and_range():
    with pytest.raises(ValueError, match=r"scale must be one of \('channel', 'layer', 'fixed'\). Received: scale='global'"):
        grids.make_grid(np.zeros((1, 2, 2)), scale="global")
    with pytest.raises(ValueError, match=r"value_range expects finite lo <= hi. Received: value_range=\(2, 1\)"):
        grids.make_grid(np.zeros((1, 2, 2)), scale="fixed", value_range=(2, 1))


def test_wide_layer_grid_is_vectorised_and_complete():
    tiles = np.arange(2048 * 10 * 10, dtype=np.float32).reshape(2048, 10, 10)
    grid = grids.make_grid(tiles)
    assert grid.rows * grid.cols >= 2048 and grid.lo.shape == (2048,)
    last = 2047
    r, c = divmod(last, grid.cols)
    block = grid.image[r * 11 : r * 11 + 10, c * 11 : c * 11 + 10]
    assert block[0, 0] == 0 and block[-1, -1] == 255


@pytest.mark.parametrize("shape", [(5, 7), (4, 3, 3), (3, 6, 2), (2, 2, 4), (1, 1)])
def test_png_decodes_to_the_same_pixels(shape):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(png.encode(pixels))))
    np.testing.assert_array_equal(decoded, pixels)


def test_png_rejects_bad_images():
    with pytest.raises(ValueError, match="encode expects a uint8 image. Received: dtype=float32"):
        png.encode(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"Received: shape=\(2, 2, 5\)"):
        png.encode(np.zeros((2, 2, 5), np.uint8))


def test_channel_stats():
    values = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, np.nan, 3.0, -np.inf], [np.nan] * 4])
    result = stats.channel_stats(values)
    assert result["mean"][:2].tolist() == [1.0, 2.0] and np.isnan(result["mean"][2])
    assert result["zero_fraction"].tolist() == [0.5, 0.0, 0.0]
    assert result["nonfinite_fraction"].tolist() == [0.0, 0.5, 1.0]


def test_kernel_rules_for_every_conv_class():
    rgb = kernels.kernel_tiles("Conv2D", {"kernel": np.zeros((3, 3, 3, 32), np.float32)})
    assert [(s.kind, s.layout, s.tiles.shape) for s in rgb] == [("filters", "tiles", (32, 3, 3, 3))]
    deep = kernels.kernel_tiles("Conv2D", {"kernel": np.zeros((3, 3, 32, 64), np.float32)})
    assert [(s.kind, s.layout, s.tiles.shape, s.cols) for s in deep] == [
        ("filters", "tiles", (64, 3, 3), None),
        ("filters_mosaic", "mosaic", (2048, 3, 3), 64),
    ]
    one = kernels.kernel_tiles("Conv2D", {"kernel": np.zeros((1, 1, 728, 1024), np.float32)})
    assert [(s.kind, s.layout, s.tiles.shape, s.pad) for s in one] == [("filters", "matrix", (1, 728, 1024), 0)]
    sep = kernels.kernel_tiles(
        "SeparableConv2D",
        {"depthwise_kernel": np.zeros((3, 3, 1536, 1), np.float32), "pointwise_kernel": np.zeros((1, 1, 1536, 2048), np.float32)},
    )
    assert [(s.kind, s.tiles.shape) for s in sep] == [("filters", (1536, 3, 3)), ("pointwise", (1, 1536, 2048))]
    dw = kernels.kernel_tiles("DepthwiseConv2D", {"kernel": np.zeros((3, 3, 4, 2), np.float32)})
    assert [(s.kind, s.tiles.shape, s.total_channels) for s in dw] == [("filters", (8, 3, 3), 8)]
    tr = kernels.kernel_tiles("Conv2DTranspose", {"kernel": np.zeros((4, 4, 5, 7), np.float32)})
    assert [(s.kind, s.tiles.shape, s.cols) for s in tr] == [("filters", (5, 4, 4), None), ("filters_mosaic", (35, 4, 4), 5)]
    c1 = kernels.kernel_tiles("Conv1D", {"kernel": np.zeros((5, 2, 3), np.float32)})
    assert [(s.kind, s.tiles.shape) for s in c1] == [("filters", (3, 2, 5))]
    with pytest.raises(kernels.UnsupportedKernel) as error:
        kernels.kernel_tiles("Conv3D", {"kernel": np.zeros((3, 3, 3, 1, 2), np.float32)})
    assert str(error.value).startswith("No filter drawing rule for layer class Conv3D with kernels {'kernel': (3, 3, 3, 1, 2)}")


def test_kernel_tiles_hold_the_right_weights():
    kernel = np.arange(3 * 3 * 2 * 4, dtype=np.float32).reshape(3, 3, 2, 4)
    filters, mosaic = kernels.kernel_tiles("Conv2D", {"kernel": kernel})
    np.testing.assert_array_equal(filters.tiles[1], kernel[:, :, :, 1].mean(axis=2))
    # mosaic tile t = (input t // cols, output t % cols)
    np.testing.assert_array_equal(mosaic.tiles[1 * 4 + 3], kernel[:, :, 1, 3])
    depthwise = np.arange(2 * 2 * 3 * 2, dtype=np.float32).reshape(2, 2, 3, 2)
    (dw,) = kernels.kernel_tiles("DepthwiseConv2D", {"kernel": depthwise})
    np.testing.assert_array_equal(dw.tiles[2 * 2 + 1], depthwise[:, :, 2, 1])  # channel c*mult+m
    capped = kernels.kernel_tiles("Conv2D", {"kernel": kernel}, channels=[0, 1], max_mosaic_tiles=2)
    assert capped[1].input_channels == [0] and capped[1].channels == [0, 1] and capped[1].tiles.shape == (2, 3, 3)


def nonfinite_values(tiles):
    """Non-finite values counted through stats.channel_stats, the way the logger writes them."""
    rows = stats.stats_rows(np.asarray(tiles), "tiles")
    fractions = stats.channel_stats(rows)["nonfinite_fraction"]
    return int(round(float((fractions * rows.shape[1]).sum())))


def assert_stats_agree(grid, tiles):
    """Grid.nonfinite, stats.channel_stats and its all_finite shortcut tell the same story."""
    assert grid.nonfinite == nonfinite_values(tiles)
    rows = stats.stats_rows(np.asarray(tiles), "tiles")
    told = stats.channel_stats(rows, all_finite=grid.nonfinite == 0)
    looked = stats.channel_stats(rows)
    for name in told:
        np.testing.assert_array_equal(told[name], looked[name])


@pytest.mark.parametrize("kwargs", [{}, {"symmetric": True}, {"scale": "layer"}])
def test_finite_extremes_map_to_the_full_range_and_count_as_finite(kwargs):
    tiles = np.array([[[-3e38, 0.0, 3e38, 1e38]]], np.float32)
    grid = grids.make_grid(tiles, pad=0, **kwargs)
    assert grid.image.tolist() == [[0, 128, 255, 170]]  # grey only: no alpha channel
    assert grid.nonfinite == 0
    top = float(np.float32(3e38))
    assert grid.lo.tolist() == [-top] and grid.hi.tolist() == [top]
    assert_stats_agree(grid, tiles)
    assert stats.channel_stats(tiles.reshape(1, -1))["mean"].tolist() == [float(np.float32(1e38)) / 4]


def test_value_ranges_of_extremes_are_exact_in_float64():
    tiles = np.array([[[-3e38, 3e38]], [[-3.4e38, 1.0]]], np.float32)
    lo, hi = grids.value_ranges(tiles)
    assert lo.dtype == hi.dtype == np.float64
    assert lo.tolist() == [float(np.float32(-3e38)), float(np.float32(-3.4e38))]
    assert (hi - lo).tolist() == [2 * float(np.float32(3e38)), 1.0 - float(np.float32(-3.4e38))]
    lo, hi = grids.value_ranges(tiles, symmetric=True)
    assert hi.tolist() == [float(np.float32(3e38)), float(np.float32(3.4e38))] and (lo == -hi).all()


def test_fixed_range_of_extremes_gives_exact_pixels():
    tiles = np.array([[[5e37, -1e38, 1e38, 0.0, 3e38, -3e38]]], np.float32)
    grid = grids.make_grid(tiles, scale="fixed", value_range=(-1e38, 1e38), pad=0)
    # 5e37 sits at (5e37 + 1e38) / 2e38 * 255 = 191.25; beyond the range is clipped.
    assert grid.image.tolist() == [[191, 0, 255, 128, 255, 0]]
    assert grid.nonfinite == 0 and grid.lo.tolist() == [-1e38] and grid.hi.tolist() == [1e38]
    assert_stats_agree(grid, tiles)


def test_values_far_outside_a_small_fixed_range_are_clipped_not_non_finite():
    tiles = np.array([[[2e36, 3e38, -3e38, -2e36, 2.0, np.float32(3.4028235e38)]]], np.float32)
    grid = grids.make_grid(tiles, scale="fixed", value_range=(0, 4), pad=0)
    assert grid.image.tolist() == [[255, 255, 0, 0, 128, 255]]
    assert grid.nonfinite == 0
    assert_stats_agree(grid, tiles)


def test_nonfinite_values_beside_extremes_stay_transparent_and_counted():
    tiles = np.array([[[np.nan, -3e38, 3e38, np.inf]], [[-np.inf, 0.0, 1.0, 2.0]]], np.float32)
    grid = grids.make_grid(tiles, pad=0, cols=2)
    assert grid.image[..., 0].tolist() == [[0, 0, 255, 0, 0, 0, 128, 255]]
    assert grid.image[..., 1].tolist() == [[0, 255, 255, 0, 0, 255, 255, 255]]
    assert grid.nonfinite == 3
    assert_stats_agree(grid, tiles)
    fixed = grids.make_grid(tiles, scale="fixed", value_range=(-1e38, 1e38), pad=0, cols=2)
    assert fixed.image[..., 0].tolist() == [[0, 0, 255, 0, 0, 128, 128, 128]]
    assert fixed.image[..., 1].tolist() == grid.image[..., 1].tolist()
    assert fixed.nonfinite == 3
    assert_stats_agree(fixed, tiles)


def test_tiny_spans_are_not_non_finite():
    # float32's smallest subnormal: 255 / span overflows float32.
    tiny = float(np.float32(1e-45))
    tiles = np.array([[[0.0, tiny]], [[tiny, tiny]]], np.float32)
    grid = grids.make_grid(tiles, pad=0, cols=2)
    assert grid.image.tolist() == [[0, 255, 0, 0]]
    assert grid.nonfinite == 0
    assert_stats_agree(grid, tiles)


def test_float64_extremes_and_wide_integers():
    tiles = np.array([[[-1.7e308, 0.0, 1.7e308, 1e308]]])
    grid = grids.make_grid(tiles, pad=0)
    # 1e308 sits at (1e308 + 1.7e308) / 3.4e308 * 255 = 202.5
    assert grid.image.tolist() == [[0, 128, 255, 203]] and grid.nonfinite == 0
    assert_stats_agree(grid, tiles)
    assert stats.channel_stats(np.array([[1.7e308, 1.7e308]]))["mean"].tolist() == [1.7e308]
    wide = grids.make_grid(np.array([[[2**40, 2**40 + 1, 2**40 + 2]]], np.int64), pad=0)
    assert wide.image.tolist() == [[0, 128, 255]]


def test_half_precision_inputs_keep_working():
    import ml_dtypes

    half = np.array([[[-65504.0, 0.0, 65504.0, np.nan]]], np.float16)
    grid = grids.make_grid(half, pad=0)
    assert grid.image[..., 0].tolist() == [[0, 128, 255, 0]] and grid.image[..., 1].tolist() == [[255, 255, 255, 0]]
    assert grid.nonfinite == 1 and grid.lo.tolist() == [-65504.0]
    assert_stats_agree(grid, half)
    brain = np.array([[[-3e38, 0.0, 3e38, 1.5]]], np.float32).astype(ml_dtypes.bfloat16)
    before = brain.copy()
    grid = grids.make_grid(brain, pad=0)
    assert grid.image.tolist() == [[0, 128, 255, 128]] and grid.nonfinite == 0
    assert grid.hi.tolist() == [float(brain[0, 0, 2])]
    assert_stats_agree(grid, brain)
    np.testing.assert_array_equal(brain.view(np.uint16), before.view(np.uint16))


def test_quantize_takes_the_mask_from_the_input():
    tiles = np.array([[[-3e38, 1e38, 3e38, np.inf, np.nan]]], np.float32)
    lo, hi = np.array([-3e38]), np.array([3e38])
    pixels, mask = grids.quantize(tiles, lo, hi)
    assert pixels.tolist() == [[[0, 170, 255, 0, 0]]]
    assert mask.tolist() == [[[False, False, False, True, True]]]
    finite = tiles[..., :3]
    assert grids.quantize(finite, lo, hi)[1] is None
    assert grids.quantize(finite, lo, hi, finite=True)[0].tolist() == [[[0, 170, 255]]]
    # The caller's "not all finite" is checked against the values themselves.
    assert grids.quantize(finite, lo, hi, finite=False)[1] is None
