"""Pure array math: turn a layer's kernels into stacks of tiles, one rule per class.

Every layer class either has an explicit rule in :data:`RULES` or is
reported as unsupported with its kernel shape: nothing is skipped silently.
Kernels are signed, so every tile set asks for a symmetric scale (zero is
mid-grey).

Keras stores kernels as:

========================  ==============================
Conv1D                    ``(k, in, out)``
Conv2D                    ``(kh, kw, in, out)``
Conv2DTranspose           ``(kh, kw, out, in)``
DepthwiseConv2D           ``(kh, kw, in, multiplier)``
SeparableConv2D           depthwise as above, pointwise ``(1, 1, in * multiplier, out)``
========================  ==============================

Example:
    >>> import numpy as np
    >>> sets = kernel_tiles("Conv2D", {"kernel": np.zeros((3, 3, 3, 32), np.float32)})
    >>> [(s.kind, s.tiles.shape) for s in sets]
    [('filters', (32, 3, 3, 3))]
"""

import dataclasses

import numpy as np

#: Largest number of (input, output) slices drawn in one mosaic by default.
DEFAULT_MAX_MOSAIC_TILES = 4096


@dataclasses.dataclass(frozen=True)
class TileSet:
    """A stack of tiles ready for :func:`tb_featureviz.grids.make_grid`.

    Attributes:
        kind: ``"filters"``, ``"filters_mosaic"`` or ``"pointwise"``.
        tiles: ``[T, h, w]`` or ``[T, h, w, 3]`` (RGB) float array.
        layout: ``"tiles"``, ``"mosaic"`` or ``"matrix"`` (see docs/format.md).
        channels: output channel of each tile (``tiles``), of each column
            (``mosaic``, ``matrix``).
        total_channels: how many output channels the layer has.
        input_channels: input channel of each row (``mosaic``, ``matrix``).
        cols: fixed number of columns, or None to let the grid choose.
        pad: pad line width (0 for a matrix, whose pixels are adjacent).
        source_shape: the kernel's shape.
    """

    kind: str
    tiles: np.ndarray
    layout: str
    channels: list
    total_channels: int
    input_channels: list = None
    cols: int = None
    pad: int = 1
    source_shape: tuple = ()


class UnsupportedKernel(ValueError):
    """A layer class with kernels but no drawing rule."""


def _matrix(kind, matrix, source_shape, channels=None):
    cin, cout = matrix.shape
    keep = list(range(cout)) if channels is None else list(channels)
    return TileSet(
        kind=kind,
        tiles=matrix[None, :, keep] if channels is not None else matrix[None],
        layout="matrix",
        channels=keep,
        total_channels=cout,
        input_channels=list(range(cin)),
        cols=1,
        pad=0,
        source_shape=tuple(source_shape),
    )


def _per_output(kernel_hw_in_out, channels, max_mosaic_tiles):
    """Tile sets of a ``(kh, kw, in, out)`` kernel (Conv2D, or a transposed one re-ordered)."""
    kh, kw, cin, cout = kernel_hw_in_out.shape
    shape = kernel_hw_in_out.shape
    kept = list(range(cout)) if channels is None else list(channels)
    kernel = kernel_hw_in_out if channels is None else kernel_hw_in_out[..., kept]
    if kh == 1 and kw == 1:
        return [_matrix("filters", kernel_hw_in_out[0, 0], shape, channels)]
    if cin == 3:
        # One RGB tile per filter: the kernel's three input planes are colours.
        rgb = np.moveaxis(kernel, 3, 0)  # [out, kh, kw, 3]
        return [TileSet("filters", rgb, "tiles", kept, cout, source_shape=tuple(shape))]
    # The filter's response to an input that is equal in every channel.
    mean = np.moveaxis(kernel.mean(axis=2), 2, 0)  # [out, kh, kw]
    sets = [TileSet("filters", mean, "tiles", kept, cout, source_shape=tuple(shape))]
    if cin > 1:
        rows = max(1, min(cin, max_mosaic_tiles // max(1, len(kept))))
        slices = np.transpose(kernel[:, :, :rows, :], (2, 3, 0, 1))  # [in, out, kh, kw]
        sets.append(TileSet(
            kind="filters_mosaic",
            tiles=slices.reshape(rows * len(kept), kh, kw),
            layout="mosaic",
            channels=kept,
            total_channels=cout,
            input_channels=list(range(rows)),
            cols=len(kept),
            source_shape=tuple(shape),
        ))
    return sets


def _depthwise_tiles(depthwise, channels):
    kh, kw, cin, mult = depthwise.shape
    stacked = np.moveaxis(depthwise.reshape(kh, kw, cin * mult), 2, 0)  # [in*mult, kh, kw]
    total = cin * mult
    kept = list(range(total)) if channels is None else list(channels)
    tiles = stacked if channels is None else stacked[kept]
    return TileSet("filters", tiles, "tiles", kept, total, source_shape=tuple(depthwise.shape))


def conv2d(kernels, channels=None, max_mosaic_tiles=DEFAULT_MAX_MOSAIC_TILES):
    return _per_output(kernels["kernel"], channels, max_mosaic_tiles)


def conv2d_transpose(kernels, channels=None, max_mosaic_tiles=DEFAULT_MAX_MOSAIC_TILES):
    # (kh, kw, out, in) -> (kh, kw, in, out): then it reads like Conv2D.
    return _per_output(np.swapaxes(kernels["kernel"], 2, 3), channels, max_mosaic_tiles)


def depthwise_conv2d(kernels, channels=None, max_mosaic_tiles=None):
    return [_depthwise_tiles(kernels["kernel"], channels)]


def separable_conv2d(kernels, channels=None, max_mosaic_tiles=None):
    pointwise = kernels["pointwise_kernel"]
    return [
        _depthwise_tiles(kernels["depthwise_kernel"], channels),
        # Channel caps apply to the depthwise tiles; the matrix is one image.
        _matrix("pointwise", pointwise[0, 0], pointwise.shape),
    ]


def conv1d(kernels, channels=None, max_mosaic_tiles=None):
    kernel = kernels["kernel"]  # (k, in, out)
    k, cin, cout = kernel.shape
    kept = list(range(cout)) if channels is None else list(channels)
    # One tile per output filter: a row per input channel, a column per tap.
    tiles = np.transpose(kernel[..., kept] if channels is not None else kernel, (2, 1, 0))
    return [TileSet("filters", tiles, "tiles", kept, cout, source_shape=tuple(kernel.shape))]


#: The explicit rule table: Keras class name -> function(kernels, channels, max_mosaic_tiles).
#: Subclasses fall back to their nearest listed base class (see :func:`rule_for`).
RULES = {
    "SeparableConv2D": separable_conv2d,
    "DepthwiseConv2D": depthwise_conv2d,
    "Conv2DTranspose": conv2d_transpose,
    "Conv2D": conv2d,
    "Conv1D": conv1d,
}


def rule_for(class_names):
    """The rule for the first of ``class_names`` (a class's MRO names) in :data:`RULES`."""
    for name in class_names:
        if name in RULES:
            return RULES[name]
    return None


def kernel_tiles(class_name, kernels, channels=None, max_mosaic_tiles=DEFAULT_MAX_MOSAIC_TILES,
                 mro_names=None):
    """Tile sets for a layer's kernels, following :data:`RULES`.

    Args:
        class_name: the layer's class name, e.g. ``"Conv2D"``.
        kernels: dict of kernel arrays (``kernel``, ``depthwise_kernel``,
            ``pointwise_kernel``), as Keras stores them. Never mutated.
        channels: output channels to keep (None for all).
        max_mosaic_tiles: cap on the slices of a mosaic; the record lists
            the input channels it holds.
        mro_names: class names of the layer's bases, most derived first, so
            a subclass of Conv2D is drawn as a Conv2D.

    Returns:
        list of :class:`TileSet`.

    Raises:
        UnsupportedKernel: for a class without a rule, naming class and
            kernel shapes.
    """
    rule = rule_for(mro_names or [class_name])
    if rule is None:
        shapes = {name: tuple(array.shape) for name, array in kernels.items()}
        raise UnsupportedKernel(
            f"No filter drawing rule for layer class {class_name} with kernels {shapes}; "
            f"supported classes: {sorted(RULES)}."
        )
    return rule(kernels, channels, max_mosaic_tiles)
