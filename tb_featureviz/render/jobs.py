"""Pure array math: grid jobs (what to draw), drawing them, and their JSON records.

A :class:`GridJob` holds everything one grid needs (tiles per probe image,
which channels they are, how to scale them); :func:`draw_job` turns it
into a :class:`DrawnGrid` (uint8 grids, PNGs, per-sample ranges and
stats); :func:`record_text` is the JSON record written beside the PNGs.
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
from typing import NamedTuple

import numpy as np

from tb_featureviz.render import grids, kernels, png, stats
from tb_featureviz import jsontext, metadata


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


def kept_channels(total, max_channels):
    """The output channels a grid holds under a cap: the first ones, or None for all.

    Example:
        >>> kept_channels(128, 64)[-1], kept_channels(32, 64)
        (63, None)
    """
    if max_channels is None or total <= max_channels:
        return None
    return list(range(max_channels))


def cap_job(job, max_channels):
    """``job`` holding at most ``max_channels`` output channels (the first ones).

    Keeps tiles of a ``tiles`` grid and columns of a ``matrix`` or
    ``mosaic`` grid; returns ``job`` itself when nothing is cut.

    Example:
        >>> job = activation_job("c", "Conv2D", np.zeros((1, 2, 2, 5), np.float32))
        >>> cap_job(job, 2).channels, cap_job(job, 2).total_channels
        ([0, 1], 5)
    """
    keep = kept_channels(len(job.channels), max_channels)
    if keep is None:
        return job
    count = len(keep)
    cols = job.cols
    if job.layout == "tiles":
        samples = [tiles[:count] for tiles in job.samples]
    elif job.layout == "matrix":
        samples = [tiles[:, :, :count] for tiles in job.samples]
    elif job.layout == "mosaic":
        samples = []
        for tiles in job.samples:
            rows = tiles.shape[0] // job.cols
            grid = tiles.reshape((rows, job.cols) + tiles.shape[1:])[:, :count]
            samples.append(grid.reshape((rows * count,) + tiles.shape[1:]))
        cols = count
    else:
        raise ValueError(f"cap_job expects layouts 'tiles', 'matrix' or 'mosaic'. Received: {job.layout!r}")
    return dataclasses.replace(job, samples=samples, channels=list(job.channels[:count]), cols=cols,
                               capped_at=count)


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
        dataclasses.replace(job, kind="filter_change", scale="layer")
        for job in kernel_jobs(layer_name, layer_class, change, max_channels=max_channels,
                               max_mosaic_tiles=max_mosaic_tiles, groups=groups)
        if job.kind == "filters"
    ]


def activation_job(layer_name, class_name, feature_maps, *, scale="channel", value_range=None):
    """The job drawing a layer's feature maps ``[N, H, W, C]``: a grid per probe image.

    Tiles are views of ``feature_maps`` (nothing is copied).
    """
    total = feature_maps.shape[-1]
    return GridJob(
        layer=layer_name, class_name=class_name, kind="activations", layout="tiles",
        samples=[np.moveaxis(sample, -1, 0) for sample in feature_maps],  # views: [C, H, W]
        channels=list(range(total)), total_channels=total, source_shape=tuple(feature_maps.shape),
        scale=scale, value_range=value_range,
    )


def probe_job(display):
    """The job drawing the probe images themselves (uint8 ``[N, H, W, 1 or 3]``)."""
    return GridJob(
        layer=metadata.PROBE_LAYER, class_name="Probe", kind=metadata.PROBE_KIND, layout="tiles",
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
    for tiles in job.samples:
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
        drawn.grids.append(grid)
        drawn.pngs.append(png.encode(grid.image, compress_level))
        drawn.samples.append(sample)
        drawn.sample_texts.append(jsontext.dumps(sample))
    return drawn


def record_header(drawn, step, sequence):
    """The record fields shared by every sample of a drawn grid (docs/format.md)."""
    job, first = drawn.job, drawn.grids[0]
    return {
        **(job.record_extra or {}),
        "version": metadata.FORMAT_VERSION,
        "layer": job.layer,
        "class": job.class_name,
        "kind": job.kind,
        "step": step,
        "sequence": sequence,
        "layout": job.layout,
        "scale": job.scale,
        "symmetric": job.symmetric,
        "source_shape": [None if d is None else int(d) for d in job.source_shape],
        "width": int(first.image.shape[1]),
        "height": int(first.image.shape[0]),
        "depth": max(int(g.image.shape[2]) if g.image.ndim == 3 else 1 for g in drawn.grids),
        "rows": first.rows,
        "cols": first.cols,
        "tile_height": first.tile_height,
        "tile_width": first.tile_width,
        "pad": first.pad,
        "channels": [int(c) for c in job.channels],
        "total_channels": int(job.total_channels),
        "input_channels": None if job.input_channels is None else [int(c) for c in job.input_channels],
    }


def record_text(header, drawn):
    """The JSON record of a drawn grid: the header plus the samples encoded on the workers.

    Example:
        >>> job = activation_job("c", "Conv2D", np.ones((1, 2, 2, 1), np.float32))
        >>> drawn = draw_job(job)
        >>> jsontext.loads(record_text(record_header(drawn, 0, 0), drawn))["samples"][0]["lo"]
        [1.0]
    """
    return jsontext.dumps(header)[:-1] + ',"samples":[' + ",".join(drawn.sample_texts) + "]}"


def returned_records(header, drawn, tag):
    """The records a ``log_*`` call returns: one dict per sample, with the pixels."""
    records = []
    for index, (grid, png_bytes, sample) in enumerate(zip(drawn.grids, drawn.pngs, drawn.samples)):
        record = dict(header)
        record.update(sample)
        record.update(tag=tag, sample=index, image=grid.image, png=png_bytes, num_samples=len(drawn.grids))
        records.append(record)
    return records


class CapNote(NamedTuple):
    """One layer's grid left channels out: which setting, how many it has, how many it kept."""

    setting: str  # "max_channels" or "max_mosaic_tiles"
    layer: str
    total: int
    kept: int
    value: int  # the setting's value


class CapWarning(UserWarning):
    """A cap left channels out of some layers' grids in one logging call.

    Attributes:
        setting: ``"max_channels"`` or ``"max_mosaic_tiles"``.
        notes: the :class:`CapNote` of each layer, in logging order.
    """

    def __init__(self, message, setting, notes):
        super().__init__(message)
        self.setting = setting
        self.notes = tuple(notes)


def cap_notes(job, max_mosaic_tiles):
    """What a job's caps left out: ``[CapNote]`` (channels, and a mosaic's input channels).

    Example:
        >>> job = cap_job(activation_job("c", "Conv2D", np.zeros((1, 2, 2, 5), np.float32)), 2)
        >>> cap_notes(job, 4096)
        [CapNote(setting='max_channels', layer='c', total=5, kept=2, value=2)]
    """
    notes = []
    if job.capped_at is not None:
        notes.append(CapNote("max_channels", job.layer, job.total_channels, job.capped_at, job.capped_at))
    if job.layout == "mosaic" and job.total_inputs is not None and len(job.input_channels) < job.total_inputs:
        notes.append(CapNote("max_mosaic_tiles", job.layer, job.total_inputs, len(job.input_channels),
                             max_mosaic_tiles))
    return notes


def cap_warnings(notes):
    """One :class:`CapWarning` per setting for ``notes`` (those of one logging call).

    Example:
        >>> notes = [CapNote("max_channels", "a", 128, 64, 64), CapNote("max_channels", "b", 728, 64, 64)]
        >>> str(cap_warnings(notes)[0])
        "2 layers have more channels than max_channels=64: 'a' (128), 'b' (728). Logging channels 0..63 of each; records list the channels they hold."
    """
    found = []
    for setting in ("max_channels", "max_mosaic_tiles"):
        chosen = [n for n in notes if n.setting == setting]
        if not chosen:
            continue
        values = "/".join(str(v) for v in sorted({n.value for n in chosen}))
        kept = "/".join(str(k - 1) for k in sorted({n.kept for n in chosen}))
        if setting == "max_channels" and len(chosen) == 1:
            note = chosen[0]
            message = (f"Layer {note.layer!r} has {note.total} channels; logging channels 0..{note.kept - 1} "
                       f"(max_channels={note.value}). Records list the channels they hold.")
        elif setting == "max_channels":
            message = (f"{len(chosen)} layers have more channels than max_channels={values}: "
                       + _named(chosen, lambda n: f"{n.layer!r} ({n.total})")
                       + f". Logging channels 0..{kept} of each; records list the channels they hold.")
        elif len(chosen) == 1:
            note = chosen[0]
            message = (f"Layer {note.layer!r}: the filter mosaic holds input channels 0..{note.kept - 1} of "
                       f"{note.total} (max_mosaic_tiles={note.value}).")
        else:
            message = (f"The filter mosaics of {len(chosen)} layers hold only their first input channels "
                       f"(max_mosaic_tiles={values}): "
                       + _named(chosen, lambda n: f"{n.layer!r} (0..{n.kept - 1} of {n.total})") + ".")
        found.append(CapWarning(message, setting, chosen))
    return found


#: Layers a cap warning names before it says how many more (its notes hold all).
NAMED_LAYERS = 8


def _named(notes, describe):
    """The first NAMED_LAYERS notes described, then how many more: one readable line."""
    text = ", ".join(describe(n) for n in notes[:NAMED_LAYERS])
    more = len(notes) - NAMED_LAYERS
    return text + (f" and {more} more" if more > 0 else "")
