"""Pure array math: normalise a stack of tiles and lay it out as one uint8 grid.

Nothing here knows about Keras, TensorFlow or files. Inputs are never
mutated. The work is vectorised over all tiles at once: numpy releases the
GIL for large arrays, which lets the logger run several grids on separate
threads.

A grid is described by its geometry: tile ``t`` sits at row ``t // cols``,
column ``t % cols``, its top-left pixel at ``(row * (tile_height + pad),
col * (tile_width + pad))``. Pad lines lie only *between* tiles. Each tile
is linear between its own ``lo`` and ``hi``: pixel value ``p`` means
``lo + p / 255 * (hi - lo)``.

Example:
    >>> import numpy as np
    >>> tiles = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    >>> grid = make_grid(tiles, pad=1)
    >>> grid.image.tolist()
    [[0, 85, 255, 0, 85], [170, 255, 255, 170, 255]]
    >>> grid.lo.tolist(), grid.hi.tolist()
    ([0.0, 4.0], [3.0, 7.0])
"""

import dataclasses
import math

import numpy as np

#: Grey level of the pad lines between tiles.
PAD_VALUE = 255

#: How tiles are scaled to 0..255.
SCALES = ("channel", "layer", "fixed")


@dataclasses.dataclass(frozen=True)
class Grid:
    """One grid image and the geometry needed to read it back.

    Attributes:
        image: uint8 array ``[H, W]`` (grey), ``[H, W, 3]`` (RGB tiles), or
            with one more alpha channel (``[H, W, 2]`` / ``[H, W, 4]``) when
            some values were not finite: alpha 0 marks those pixels.
        rows, cols: tile layout.
        tile_height, tile_width, pad: tile size and pad line width in pixels.
        lo, hi: float64 arrays ``[tiles]``, the values mapped to 0 and 255.
            NaN where a tile holds no finite value.
        nonfinite: number of non-finite values drawn (transparent pixels).
    """

    image: np.ndarray
    rows: int
    cols: int
    tile_height: int
    tile_width: int
    pad: int
    lo: np.ndarray
    hi: np.ndarray
    nonfinite: int


def grid_shape(num_tiles, tile_height, tile_width, pad=1, cols=None):
    """Rows and columns for ``num_tiles`` tiles, aiming at a square image.

    Example:
        >>> grid_shape(32, 3, 3)
        (6, 6)
        >>> grid_shape(5, 2, 8, cols=5)
        (1, 5)
    """
    if num_tiles < 1:
        raise ValueError(f"grid_shape expects num_tiles >= 1. Received: num_tiles={num_tiles}")
    if cols is None:
        # Square image: cols * (w + pad) ~= rows * (h + pad).
        ratio = (tile_height + pad) / (tile_width + pad)
        cols = max(1, min(num_tiles, math.ceil(math.sqrt(num_tiles * ratio))))
    rows = math.ceil(num_tiles / cols)
    return rows, cols


def value_ranges(tiles, scale="channel", symmetric=False, value_range=None):
    """Per-tile ``lo`` and ``hi`` for the chosen scale.

    Args:
        tiles: float array ``[T, ...]``, one entry per tile.
        scale: ``"channel"`` (each tile its own range), ``"layer"`` (one
            range for all tiles) or ``"fixed"`` (``value_range`` for all).
        symmetric: centre the range on zero (``lo = -hi``), so that zero is
            mid-grey; the natural choice for signed kernels.
        value_range: ``(lo, hi)``, required for ``scale="fixed"``.

    Returns:
        ``(lo, hi)``, float64 arrays of shape ``[T]``. Only finite values
        count; a tile with none gets NaN.

    Raises:
        ValueError: for an unknown ``scale`` or a missing or bad
        ``value_range``.
    """
    lo, hi, _ = _ranges(tiles, scale, symmetric, value_range)
    return lo, hi


def _ranges(tiles, scale, symmetric, value_range):
    """:func:`value_ranges` plus whether every value is finite (None: not looked at)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}. Received: scale={scale!r}")
    num_tiles = tiles.shape[0]
    if scale == "fixed":
        if value_range is None or len(value_range) != 2:
            raise ValueError(
                "scale='fixed' expects value_range=(lo, hi). "
                f"Received: value_range={value_range!r}"
            )
        lo, hi = float(value_range[0]), float(value_range[1])
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ValueError(
                "value_range expects finite lo <= hi. "
                f"Received: value_range={tuple(value_range)!r}"
            )
        return np.full(num_tiles, lo), np.full(num_tiles, hi), None

    flat = tiles.reshape(num_tiles, -1)
    # min and max propagate NaN and show infinities, so finite extremes prove
    # every value finite without a separate pass over the data.
    lo = flat.min(axis=1).astype(np.float64)
    hi = flat.max(axis=1).astype(np.float64)
    all_finite = bool(np.isfinite(lo).all() and np.isfinite(hi).all())
    if not all_finite:
        finite = np.isfinite(flat)
        lo = np.where(finite, flat, np.inf).min(axis=1).astype(np.float64)
        hi = np.where(finite, flat, -np.inf).max(axis=1).astype(np.float64)
        empty = ~finite.any(axis=1)
        lo[empty] = np.nan
        hi[empty] = np.nan
    if symmetric:
        # float64, so -lo and the span 2 * top cannot overflow for float32 data.
        with np.errstate(invalid="ignore"):
            top = np.maximum(-lo, hi)
        lo, hi = -top, top
    if scale == "layer":
        with np.errstate(invalid="ignore"):
            layer_lo, layer_hi = np.nanmin(lo) if np.isfinite(lo).any() else np.nan, (
                np.nanmax(hi) if np.isfinite(hi).any() else np.nan
            )
        lo = np.full(num_tiles, layer_lo)
        hi = np.full(num_tiles, layer_hi)
    return lo, hi, all_finite


#: Largest finite float32.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def quantize(tiles, lo, hi, symmetric=False, *, finite=None):
    """Map each tile linearly from ``[lo, hi]`` to uint8 ``0..255``.

    Values outside the range are clipped. A constant tile (``lo == hi``)
    becomes 0, or 128 when ``symmetric`` (an all-zero kernel), so that
    "zero is mid-grey" holds for signed kernels. Non-finite values become 0;
    the returned mask marks them. The mask comes from ``tiles`` themselves:
    a finite value never counts as non-finite, however large (a tile
    spanning +-3e38 maps to 0..255 without overflow).

    Args:
        tiles: array ``[T, ...]``; any real dtype, never modified.
        lo, hi: float arrays ``[T]``, as from :func:`value_ranges`.
        symmetric: whether the ranges are centred on zero.
        finite: ``True`` / ``False`` when the caller already knows whether
            every value of ``tiles`` is finite; ``None`` to look.

    Returns:
        ``(pixels, nonfinite_mask_or_None)`` with ``pixels`` uint8 of the
        same shape as ``tiles``.

    Example:
        >>> import numpy as np
        >>> tiles = np.array([[[-3e38, 1e38, 3e38, np.inf]]], np.float32)
        >>> pixels, mask = quantize(tiles, np.array([-3e38]), np.array([3e38]))
        >>> pixels.tolist(), mask.tolist()
        ([[[0, 170, 255, 0]]], [[[False, False, False, True]]])
    """
    tiles = np.asarray(tiles)
    shape = (tiles.shape[0],) + (1,) * (tiles.ndim - 1)
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        span = hi - lo
        ranged = span > 0  # False for constant tiles and tiles without a finite value
        gain = np.where(ranged, 255.0 / span, 0.0)
        if _float32_fits(tiles.dtype, lo, hi, span, gain):
            # The usual path: one float32 work buffer, every later step in
            # place on it. Inside [lo, hi] nothing overflows; a value so far
            # outside a fixed range that ``v - lo`` overflows becomes +-inf,
            # which the clip below takes to the right end. Tiles without a
            # range subtract 0, so their finite values times gain 0 give 0.
            offset = np.where(ranged, lo, 0.0).astype(np.float32)
            work = np.subtract(tiles, offset.reshape(shape), dtype=np.float32)
            work *= gain.astype(np.float32).reshape(shape)
        else:
            work = _normalise_float64(tiles, lo, hi, shape)
        if finite is None:
            # Every non-finite value leaves a non-finite result, so a finite
            # work buffer proves the input finite; otherwise the input decides.
            finite = bool(np.isfinite(work).all())
        mask = None
        if not finite:
            mask = ~np.isfinite(tiles)
            if mask.any():
                work[mask] = 0.0  # before clipping, which would turn infinities into 0 or 255
            else:
                mask = None
        np.clip(work, 0.0, 255.0, out=work)
    work += 0.5  # round half up when truncating to uint8 below
    pixels = work.astype(np.uint8)
    if symmetric:
        # Zero-width symmetric ranges (all-zero tiles) centre on mid-grey.
        centred = span == 0
        if centred.any():
            pixels[centred] = 128
    return pixels, mask


def _float32_fits(dtype, lo, hi, span, gain):
    """Whether float32 arithmetic maps every tile's range without overflow.

    In float32, ``v - lo`` overflows for values inside a span of ~3.4e38
    and more, ``255 / span`` for spans under ~7.5e-37, and bounds beyond
    float32 (a fixed range of +-1e39) don't fit at all; 2**127 and
    255 * 2**100 keep clear of the first two. Wider input (float64, int32
    and up) would lose digits in float32. NaN bounds (tiles without a finite
    value) don't count: reductions with ``fmin``/``fmax`` skip them.
    """
    if dtype.kind == "f" and dtype.itemsize > 4 or dtype.kind in "iu" and dtype.itemsize > 2:
        return False
    if np.isnan(span).all():
        return True  # nothing to map: every tile is drawn as 0
    return bool(
        np.fmin.reduce(lo) >= -_FLOAT32_MAX
        and np.fmax.reduce(hi) <= _FLOAT32_MAX
        and np.fmax.reduce(span) < 2.0**127
        and np.fmax.reduce(gain) < 255.0 * 2.0**100
    )


def _normalise_float64(tiles, lo, hi, shape):
    """``(v - lo) / (hi - lo) * 255`` in float64, not yet clipped.

    The slow path, for ranges float32 can't hold and for float64 or wide
    integer input. Ranges reaching beyond ~1e307 are first scaled by 2**-4
    (exact: a power of two), so that ``hi - lo`` stays finite even in
    float64; dividing by the span rather than multiplying by ``255 / span``
    keeps the tiniest spans finite too. As on the float32 path, tiles
    without a range subtract 0 and divide by infinity, giving 0.
    """
    huge = np.maximum(np.abs(lo), np.abs(hi)) >= 2.0**1020
    if huge.any():
        factor = np.where(huge, 2.0**-4, 1.0)
        lo, hi = lo * factor, hi * factor
        work = np.multiply(tiles, factor.reshape(shape), dtype=np.float64)
    else:
        work = np.array(tiles, dtype=np.float64)
    span = hi - lo
    ranged = span > 0
    work -= np.where(ranged, lo, 0.0).reshape(shape)
    work /= np.where(ranged, span, np.inf).reshape(shape)
    work *= 255.0
    return work


def tile(pixels, rows, cols, pad=1, pad_value=PAD_VALUE, alpha=None):
    """Lay out ``[T, h, w(, c)]`` uint8 tiles as a ``rows x cols`` grid.

    Args:
        pixels: uint8 tiles, ``[T, h, w]`` or ``[T, h, w, c]``.
        rows, cols: layout; ``rows * cols >= T``. Unused cells are pad.
        pad: width of the lines between tiles.
        pad_value: grey level of pad lines and unused cells.
        alpha: optional bool mask ``[T, h, w]``; where True the pixel is
            made transparent (an alpha channel is added).

    Returns:
        uint8 array ``[rows*(h+pad)-pad, cols*(w+pad)-pad(, c[+1])]``.
    """
    num_tiles, h, w = pixels.shape[:3]
    if rows * cols < num_tiles:
        raise ValueError(
            f"tile expects rows * cols >= {num_tiles} tiles. Received: rows={rows}, cols={cols}"
        )
    colour = pixels.shape[3:]
    if alpha is not None:
        opaque = np.where(alpha, np.uint8(0), np.uint8(255))
        if colour:
            pixels = np.concatenate([pixels, opaque[..., None]], axis=-1)
        else:
            pixels = np.stack([pixels, opaque], axis=-1)
        colour = pixels.shape[3:]
    canvas = np.full((rows, h + pad, cols, w + pad) + colour, pad_value, dtype=np.uint8)
    if alpha is not None:
        canvas[..., -1] = 255
    full_rows, rest = divmod(num_tiles, cols)
    if full_rows:
        block = pixels[: full_rows * cols].reshape((full_rows, cols, h, w) + colour)
        canvas[:full_rows, :h, :, :w] = np.swapaxes(block, 1, 2)
    if rest:
        last = pixels[full_rows * cols :]
        canvas[full_rows, :h, :rest, :w] = np.swapaxes(last, 0, 1)
    image = canvas.reshape((rows * (h + pad), cols * (w + pad)) + colour)
    if pad:
        image = np.ascontiguousarray(image[: rows * (h + pad) - pad, : cols * (w + pad) - pad])
    return image


def make_grid(tiles, *, scale="channel", symmetric=False, value_range=None, pad=1, cols=None):
    """Normalise ``tiles`` and lay them out as one uint8 grid.

    Args:
        tiles: array ``[T, h, w]`` (grey tiles) or ``[T, h, w, 3]`` (RGB
            tiles, one range per tile over all three colours). Any real
            dtype; float16/bfloat16 are read as float32.
        scale, symmetric, value_range: see :func:`value_ranges`.
        pad: pad line width between tiles, 0 for none.
        cols: number of columns; by default the image is about square.

    Returns:
        A :class:`Grid`.

    Raises:
        ValueError: for an empty stack or a shape that is not a tile stack.

    Example:
        >>> import numpy as np
        >>> kernel_tiles = np.array([[[-1.0, 0.0], [0.5, 1.0]]])
        >>> make_grid(kernel_tiles, symmetric=True).image.tolist()
        [[0, 128], [191, 255]]
    """
    tiles = np.asarray(tiles)
    if tiles.ndim not in (3, 4) or (tiles.ndim == 4 and tiles.shape[3] != 3):
        raise ValueError(
            "make_grid expects tiles of shape [T, h, w] or [T, h, w, 3]. "
            f"Received: shape={tiles.shape}"
        )
    if tiles.shape[0] == 0 or tiles.size == 0:
        raise ValueError(f"make_grid expects at least one non-empty tile. Received: shape={tiles.shape}")
    if tiles.dtype.kind not in "fiub" or tiles.dtype.itemsize < 4 and tiles.dtype.kind == "f":
        tiles = tiles.astype(np.float32)
    lo, hi, finite = _ranges(tiles, scale, symmetric, value_range)
    pixels, mask = quantize(tiles, lo, hi, symmetric, finite=finite)
    if mask is not None and pixels.ndim == 4:
        mask = mask.any(axis=-1)
    rows, cols = grid_shape(tiles.shape[0], tiles.shape[1], tiles.shape[2], pad, cols)
    image = tile(pixels, rows, cols, pad, alpha=mask)
    return Grid(
        image=image,
        rows=rows,
        cols=cols,
        tile_height=int(tiles.shape[1]),
        tile_width=int(tiles.shape[2]),
        pad=int(pad),
        lo=lo,
        hi=hi,
        nonfinite=int(mask.sum()) if mask is not None else 0,
    )


def decode_tile(grid, index):
    """Real values of tile ``index`` read back from a grid (for checks).

    Example:
        >>> import numpy as np
        >>> g = make_grid(np.array([[[0.0, 2.0]]]))
        >>> decode_tile(g, 0).tolist()
        [[0.0, 2.0]]
    """
    r, c = divmod(index, grid.cols)
    y, x = r * (grid.tile_height + grid.pad), c * (grid.tile_width + grid.pad)
    block = grid.image[y : y + grid.tile_height, x : x + grid.tile_width].astype(np.float64)
    if block.ndim == 3 and block.shape[-1] in (2, 4):
        block = block[..., :-1]
        if block.shape[-1] == 1:
            block = block[..., 0]
    lo, hi = grid.lo[index], grid.hi[index]
    return lo + block / 255.0 * (hi - lo)
