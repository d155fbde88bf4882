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

Every fact about a class's kernel axes lives in its :class:`KernelRule`:
the tiles drawn, the output-channel count, the mosaic's input count and
the filter axis that drift compares. Rules are found by the class's MRO,
so a subclass of ``Conv2DTranspose`` or ``DepthwiseConv2D`` gets its base
class's axes everywhere.

Example:
    >>> import numpy as np
    >>> sets = kernel_tiles("Conv2D", {"kernel": np.zeros((3, 3, 3, 32), np.float32)})
    >>> [(s.kind, s.tiles.shape) for s in sets]
    [('filters', (32, 3, 3, 3))]
"""

import dataclasses

import numpy as np

from tb_featureviz import names

#: Largest number of (input, output) slices drawn in one mosaic by default.
DEFAULT_MAX_MOSAIC_TILES = 4096


@dataclasses.dataclass(frozen=True)
class TileSet:
    """A stack of tiles ready for :func:`tb_featureviz.render.grids.make_grid`.

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


def ungrouped(kernel, groups):
    """A grouped kernel ``(..., in / groups, out)`` as ``(..., in, out)``, zero where no weight connects.

    Output channel ``o`` of a grouped convolution reads only the inputs of
    its group ``o // (out / groups)``; spreading the kernel over every input
    keeps each weight at its real input channel number.

    Example:
        >>> ungrouped(np.ones((1, 1, 1, 2)), 2)[0, 0].tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    if groups == 1:
        return kernel
    group_in, cout = kernel.shape[-2], kernel.shape[-1]
    group_out = cout // groups
    full = np.zeros(kernel.shape[:-2] + (group_in * groups, cout), dtype=kernel.dtype)
    for g in range(groups):
        outputs = slice(g * group_out, (g + 1) * group_out)
        full[..., g * group_in : (g + 1) * group_in, outputs] = kernel[..., outputs]
    return full


def _per_output(kernel_hw_in_out, channels, max_mosaic_tiles, groups=1):
    """Tile sets of a ``(kh, kw, in, out)`` kernel (Conv2D, or a transposed one re-ordered)."""
    shape = kernel_hw_in_out.shape
    kh, kw, group_in, cout = shape
    kept = list(range(cout)) if channels is None else list(channels)
    full = ungrouped(kernel_hw_in_out, groups)
    cin = full.shape[2]
    kernel = full if channels is None else full[..., kept]
    if kh == 1 and kw == 1:
        return [_matrix(names.FILTERS_KIND, full[0, 0], shape, channels)]
    if cin == 3:
        # One RGB tile per filter: the kernel's three input planes are colours.
        rgb = np.moveaxis(kernel, 3, 0)  # [out, kh, kw, 3]
        return [TileSet(names.FILTERS_KIND, rgb, "tiles", kept, cout, source_shape=tuple(shape))]
    # The filter's response to an input that is equal in every channel it reads.
    own = kernel_hw_in_out if channels is None else kernel_hw_in_out[..., kept]
    mean = np.moveaxis(own.mean(axis=2), 2, 0)  # [out, kh, kw]
    sets = [TileSet(names.FILTERS_KIND, mean, "tiles", kept, cout, source_shape=tuple(shape))]
    if cin > 1:
        rows = max(1, min(cin, max_mosaic_tiles // max(1, len(kept))))
        slices = np.transpose(kernel[:, :, :rows, :], (2, 3, 0, 1))  # [in, out, kh, kw]
        sets.append(TileSet(
            kind=names.FILTERS_MOSAIC_KIND,
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
    return TileSet(names.FILTERS_KIND, tiles, "tiles", kept, total, source_shape=tuple(depthwise.shape))


def conv2d(kernels, channels=None, max_mosaic_tiles=DEFAULT_MAX_MOSAIC_TILES, groups=1):
    return _per_output(kernels["kernel"], channels, max_mosaic_tiles, groups)


def conv2d_transpose(kernels, channels=None, max_mosaic_tiles=DEFAULT_MAX_MOSAIC_TILES, groups=1):
    # (kh, kw, out, in) -> (kh, kw, in, out): then it reads like Conv2D.
    return _per_output(np.swapaxes(kernels["kernel"], 2, 3), channels, max_mosaic_tiles, groups)


def depthwise_conv2d(kernels, channels=None, max_mosaic_tiles=None, groups=1):
    return [_depthwise_tiles(kernels["kernel"], channels)]


def separable_conv2d(kernels, channels=None, max_mosaic_tiles=None, groups=1):
    pointwise = kernels["pointwise_kernel"]
    return [
        _depthwise_tiles(kernels["depthwise_kernel"], channels),
        # Channel caps apply to the depthwise tiles; the matrix is one image.
        _matrix(names.POINTWISE_KIND, pointwise[0, 0], pointwise.shape),
    ]


def conv1d(kernels, channels=None, max_mosaic_tiles=None, groups=1):
    source = kernels["kernel"]  # (k, in / groups, out)
    kernel = ungrouped(source, groups)
    k, cin, cout = kernel.shape
    kept = list(range(cout)) if channels is None else list(channels)
    # One tile per output filter: a row per input channel, a column per tap.
    tiles = np.transpose(kernel[..., kept] if channels is not None else kernel, (2, 1, 0))
    return [TileSet(names.FILTERS_KIND, tiles, "tiles", kept, cout, source_shape=tuple(kernel.shape))]


def _conv_filters(name, kernel):
    # (..., in, out): one filter per output channel, the last axis.
    return kernel.reshape(-1, kernel.shape[-1]).T


def _transposed_filters(name, kernel):
    # (kh, kw, out, in): the output axis is -2.
    return _conv_filters(name, np.swapaxes(kernel, -1, -2))


def _depthwise_filters(name, kernel):
    # (kh, kw, in, multiplier): one filter per (input, multiplier) pair.
    spatial = int(np.prod(kernel.shape[:-2]))
    return kernel.reshape(spatial, -1).T


def _separable_filters(name, kernel):
    return _depthwise_filters(name, kernel) if name == "depthwise_kernel" else _conv_filters(name, kernel)


@dataclasses.dataclass(frozen=True)
class KernelRule:
    """How one layer class stores its kernels: tiles, channel counts, filter axes.

    Attributes:
        tiles: ``tiles(kernels, channels, max_mosaic_tiles) -> [TileSet]``.
        output_channels: ``output_channels(kernels) -> int``: the channels a
            ``filters`` grid has one tile (or column) for.
        mosaic_inputs: ``mosaic_inputs(kernel_shape) -> int``: input channels
            per group (rows of the full filter mosaic of an ungrouped layer).
        filter_matrix: ``filter_matrix(kernel name, array) -> [filters, values]``:
            one row per filter, the unit drift compares.
    """

    tiles: object
    output_channels: object
    mosaic_inputs: object
    filter_matrix: object


#: The explicit rule table, by Keras class name. Subclasses use their nearest
#: listed base class (see :func:`rule_for`).
RULES = {
    "SeparableConv2D": KernelRule(
        separable_conv2d,
        lambda k: int(k["depthwise_kernel"].shape[-2] * k["depthwise_kernel"].shape[-1]),
        lambda shape: int(shape[-2]),
        _separable_filters,
    ),
    "DepthwiseConv2D": KernelRule(
        depthwise_conv2d,
        lambda k: int(k["kernel"].shape[-2] * k["kernel"].shape[-1]),
        lambda shape: int(shape[-2]),
        _depthwise_filters,
    ),
    "Conv2DTranspose": KernelRule(
        conv2d_transpose, lambda k: int(k["kernel"].shape[-2]), lambda shape: int(shape[-1]), _transposed_filters,
    ),
    "Conv2D": KernelRule(conv2d, lambda k: int(k["kernel"].shape[-1]), lambda shape: int(shape[-2]), _conv_filters),
    "Conv1D": KernelRule(conv1d, lambda k: int(k["kernel"].shape[-1]), lambda shape: int(shape[-2]), _conv_filters),
}

#: Filter axes of classes without a drawing rule (e.g. Dense): the last axis.
DEFAULT_FILTER_MATRIX = _conv_filters


def class_names(layer_class):
    """The MRO names of a class, most derived first; a name or list of names as given.

    Example:
        >>> class MyConv(keras.layers.Conv2D): pass  # doctest: +SKIP
        >>> class_names(MyConv)[:2]  # doctest: +SKIP
        ['MyConv', 'Conv2D']
        >>> class_names("Conv2D")
        ['Conv2D']
    """
    if isinstance(layer_class, str):
        return [layer_class]
    if isinstance(layer_class, type):
        return [cls.__name__ for cls in layer_class.__mro__]
    return list(layer_class)


def rule_for(layer_class):
    """The :class:`KernelRule` of a layer class, by its nearest base in :data:`RULES`.

    Args:
        layer_class: a class (its MRO is searched), a class name, or a list
            of class names, most derived first.

    Returns:
        the rule, or None for a class without one.

    Example:
        >>> rule_for("Conv2D").output_channels({"kernel": np.zeros((3, 3, 2, 8))})
        8
        >>> rule_for("Dense") is None
        True
    """
    for name in class_names(layer_class):
        if name in RULES:
            return RULES[name]
    return None


def output_channels(layer_class, kernels):
    """Output channels of a layer's ``filters`` grid (see :class:`KernelRule`).

    Example:
        >>> output_channels("Conv2DTranspose", {"kernel": np.zeros((3, 3, 5, 2))})
        5
    """
    return _required_rule(layer_class, kernels).output_channels(kernels)


def mosaic_inputs(layer_class, kernel_shape, groups=1):
    """Input channels (rows) of a layer's full filter mosaic.

    Example:
        >>> mosaic_inputs("Conv2DTranspose", (3, 3, 5, 2)), mosaic_inputs("Conv2D", (3, 3, 4, 8), groups=2)
        (2, 8)
    """
    return rule_for(layer_class).mosaic_inputs(kernel_shape) * groups


def filter_matrix(layer_class, name, array):
    """One row per filter of kernel ``name``: ``[filters, values per filter]``.

    A filter is what makes one output channel: the last axis of Conv1D,
    Conv2D, Dense and pointwise kernels; the output axis (``-2``) of a
    Conv2DTranspose kernel; each ``(input channel, multiplier)`` pair of a
    depthwise kernel. Classes without a rule use the last axis.

    Example:
        >>> filter_matrix("Conv2D", "kernel", np.zeros((3, 3, 8, 16))).shape
        (16, 72)
        >>> filter_matrix("SeparableConv2D", "depthwise_kernel", np.zeros((3, 3, 8, 2))).shape
        (16, 9)
    """
    array = np.asarray(array)
    if array.ndim < 2:
        return array.reshape(1, -1)
    rule = rule_for(layer_class)
    return (rule.filter_matrix if rule is not None else DEFAULT_FILTER_MATRIX)(name, array)


def _required_rule(layer_class, kernels):
    rule = rule_for(layer_class)
    if rule is None:
        names = class_names(layer_class)
        shapes = {name: tuple(array.shape) for name, array in kernels.items()}
        raise UnsupportedKernel(
            f"No filter drawing rule for layer class {names[0]} with kernels {shapes}; "
            f"supported classes: {sorted(RULES)}."
        )
    return rule


def kernel_tiles(layer_class, kernels, channels=None, max_mosaic_tiles=DEFAULT_MAX_MOSAIC_TILES, groups=1):
    """Tile sets for a layer's kernels, following :data:`RULES`.

    Args:
        layer_class: the layer's class (so a subclass of Conv2D is drawn as
            a Conv2D), or a class name / list of MRO names.
        kernels: dict of kernel arrays (``kernel``, ``depthwise_kernel``,
            ``pointwise_kernel``), as Keras stores them. Never mutated.
        channels: output channels to keep (None for all).
        max_mosaic_tiles: cap on the slices of a mosaic; the record lists
            the input channels it holds.
        groups: the layer's ``groups`` (grouped convolution): mosaics and
            matrices then place each weight at its real input channel, and
            three inputs per group are not drawn as colours.

    Returns:
        list of :class:`TileSet`.

    Raises:
        UnsupportedKernel: for a class without a rule, naming class and
            kernel shapes.
    """
    return _required_rule(layer_class, kernels).tiles(kernels, channels, max_mosaic_tiles, groups)
