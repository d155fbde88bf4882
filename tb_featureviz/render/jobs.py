"""Pure array math: grid jobs (what to draw) and drawing them.

A :class:`GridJob` holds everything one grid needs (tiles per probe image,
which channels they are, how to scale them); :func:`draw_job` turns it
into a :class:`DrawnGrid` (uint8 grids, PNGs, per-sample ranges and
stats). Channel caps are :mod:`.caps`'s; the JSON record written beside
the PNGs is :mod:`.records`'.
Nothing here touches Keras, TensorFlow or files, and inputs are never
mutated, so jobs draw on worker threads and the callback can capture a
step on the training thread and draw it later.

Example:
    >>> import numpy as np
    >>> job = activation_job("conv1", "Conv2D", np.zeros((1, 4, 4, 2), np.float32))
    >>> drawn = draw_job(job)
    >>> drawn.grids[0].image.shape, job.channels
    ((4, 9), [0, 1])
"""

import dataclasses

import numpy as np

from tb_featureviz import jsontext, names
from tb_featureviz.render import grids, kernels, png, stats
from tb_featureviz.render.caps import cap_job, kept_channels


@dataclasses.dataclass
class GridJob:
    """Everything needed to draw one grid (all samples) of one layer and kind.

    Attributes:
        layer, class_name, kind: what the grid shows.
        layout: ``"tiles"``, ``"mosaic"`` or ``"matrix"`` (docs/format.md).
        samples: one tile stack per probe image (one for kernels).
        channels: output channel of each tile (``tiles``) or column.
        total_channels: the layer's output channels (more when capped).
        source_shape: shape of the array the tiles come from.
        input_channels: input channel of each row (``mosaic``, ``matrix``).
        total_inputs: the kernel's input channels (more when a mosaic is capped).
        cols, pad, scale, symmetric, value_range: how to lay out and scale.
        record_extra: keys a kind adds to its record (e.g. ``quality`` of a
            ``features`` grid); JSON-ready, never overriding the shared keys.
        sample_extra: one dict per sample of keys a kind adds to that
            sample's entry (e.g. the classes of an ``attribution`` grid);
            JSON-ready, never overriding the sample's own keys.
        capped_at: the ``max_channels`` that cut this grid's channels, or
            None when it holds all the channels it was asked for.
    """

    layer: str
    class_name: str
    kind: str
    layout: str
    samples: list
    channels: list
    total_channels: int
    source_shape: tuple
    input_channels: list = None
    total_inputs: int = None
    cols: int = None
    pad: int = 1
    scale: str = "channel"
    symmetric: bool = False
    value_range: tuple = None
    record_extra: dict = None
    sample_extra: list = None
    capped_at: int = None


@dataclasses.dataclass
class DrawnGrid:
    """A drawn job: one entry per sample in every list.

    Attributes:
        job: the :class:`GridJob` drawn.
        grids: :class:`tb_featureviz.render.grids.Grid` objects.
        pngs: PNG bytes of each grid.
        samples: JSON-ready dicts (``lo``, ``hi``, ``nonfinite``, ``stats``).
        sample_texts: the same dicts as JSON text, encoded on the worker.
    """

    job: GridJob
    grids: list
    pngs: list
    samples: list
    sample_texts: list


def kernel_jobs(layer_name, layer_class, arrays, *, max_channels=None, filter_scale="channel",
                max_mosaic_tiles=kernels.DEFAULT_MAX_MOSAIC_TILES, groups=1):
    """Jobs drawing a layer's kernels (``arrays``: ``{kernel name: array}``).

    The channel cap is applied while the tiles are made, so a mosaic holds
    as many input rows as ``max_mosaic_tiles`` allows for the kept columns;
    a grid with channels of its own (a separable layer's pointwise matrix)
    is capped after.

    Example:
        >>> arrays = {"kernel": np.zeros((3, 3, 5, 8), np.float32)}
        >>> [j.kind for j in kernel_jobs("c", "Conv2D", arrays)]
        ['filters', 'filters_mosaic']
    """
    total = kernels.output_channels(layer_class, arrays)
    channels = kept_channels(total, max_channels)
    jobs = []
    tile_sets = kernels.kernel_tiles(layer_class, arrays, channels=channels, max_mosaic_tiles=max_mosaic_tiles,
                                     groups=groups)
    for tile_set in tile_sets:
        mosaic = tile_set.layout == "mosaic"
        jobs.append(cap_job(GridJob(
            layer=layer_name,
            class_name=kernels.class_names(layer_class)[0],
            kind=tile_set.kind,
            layout=tile_set.layout,
            samples=[tile_set.tiles],
            channels=tile_set.channels,
            total_channels=tile_set.total_channels,
            source_shape=tile_set.source_shape,
            input_channels=tile_set.input_channels,
            total_inputs=kernels.mosaic_inputs(layer_class, tile_set.source_shape, groups) if mosaic else None,
            cols=tile_set.cols,
            pad=tile_set.pad,
            # A matrix is one image: one range makes its columns comparable.
            scale="layer" if tile_set.layout == "matrix" else filter_scale,
            symmetric=True,
            capped_at=None if channels is None else len(channels),
        ), max_channels))
    return jobs


def filter_change_jobs(layer_name, layer_class, current, initial, *, max_channels=None,
                       max_mosaic_tiles=kernels.DEFAULT_MAX_MOSAIC_TILES, groups=1):
    """Jobs drawing ``W - W0`` of a layer as kind ``filter_change``.

    The change is drawn like the layer's ``filters`` grid (same tiles, same
    channels), on one symmetric scale for the whole grid, so that the
    filters that moved most stand out and an unchanged layer is flat grey.

    Example:
        >>> w = {"kernel": np.ones((3, 3, 3, 4), np.float32)}
        >>> [(j.kind, j.scale) for j in filter_change_jobs("c", "Conv2D", w, w)]
        [('filter_change', 'layer')]
    """
    change = {name: np.asarray(current[name], np.float32) - np.asarray(initial[name], np.float32)
              for name in current}
    return [
        dataclasses.replace(job, kind=names.FILTER_CHANGE_KIND, scale="layer")
        for job in kernel_jobs(layer_name, layer_class, change, max_channels=max_channels,
                               max_mosaic_tiles=max_mosaic_tiles, groups=groups)
        if job.kind == names.FILTERS_KIND
    ]


def activation_job(layer_name, class_name, feature_maps, *, scale="channel", value_range=None):
    """The job drawing a layer's feature maps ``[N, H, W, C]``: a grid per probe image.

    Tiles are views of ``feature_maps`` (nothing is copied).
    """
    total = feature_maps.shape[-1]
    return GridJob(
        layer=layer_name, class_name=class_name, kind=names.ACTIVATIONS_KIND, layout="tiles",
        samples=[np.moveaxis(sample, -1, 0) for sample in feature_maps],  # views: [C, H, W]
        channels=list(range(total)), total_channels=total, source_shape=tuple(feature_maps.shape),
        scale=scale, value_range=value_range,
    )


def probe_job(display):
    """The job drawing the probe images themselves (uint8 ``[N, H, W, 1 or 3]``)."""
    return GridJob(
        layer=names.PROBE_LAYER, class_name="Probe", kind=names.PROBE_KIND, layout="tiles",
        samples=[image[None] if image.shape[-1] == 3 else image[None, ..., 0] for image in display],
        channels=[0], total_channels=1, source_shape=tuple(display.shape),
        scale="fixed", value_range=(0.0, 255.0),
    )


def draw_job(job, compress_level=1):
    """Grids, PNGs and sample documents for every sample of ``job`` (pure, thread-safe).

    The sample documents (``lo``, ``hi``, ``nonfinite``, ``stats``) are
    JSON-encoded here too, on the worker threads: encoding them is most of
    the time a step spends outside numpy and deflate, and here it overlaps
    the other grids' GIL-free work.

    Returns:
        a :class:`DrawnGrid`.
    """
    drawn = DrawnGrid(job, [], [], [], [])
    for index, tiles in enumerate(job.samples):
        grid = grids.make_grid(
            tiles, scale=job.scale, symmetric=job.symmetric,
            value_range=job.value_range, pad=job.pad, cols=job.cols,
        )
        rows = stats.stats_rows(tiles, job.layout, job.cols)
        channel_stats = stats.channel_stats(rows, all_finite=grid.nonfinite == 0)
        sample = {
            "lo": jsontext.rounded_floats(grid.lo),
            "hi": jsontext.rounded_floats(grid.hi),
            "nonfinite": grid.nonfinite,
            "stats": {name: jsontext.rounded_floats(values) for name, values in channel_stats.items()},
        }
        if job.sample_extra is not None:
            sample = {**job.sample_extra[index], **sample}
        drawn.grids.append(grid)
        drawn.pngs.append(png.encode(grid.image, compress_level))
        drawn.samples.append(sample)
        drawn.sample_texts.append(jsontext.dumps(sample))
    return drawn


