"""A data-set pass as logged grids, histograms and scalars (kind ``examples``).

Per layer, one grid: one tile per channel drawn (the first
``max_channels``), holding its k crops (strongest first, row by row,
:data:`tb_featureviz.examples.scan.CROP_SIZE` pixels each, 1 pixel apart;
an empty slot is grey). The record says what the pixels mean
(``docs/format.md``), under ``examples``:

- ``k``, ``pictures`` (how many were scanned), ``picture_height``,
  ``picture_width``, ``crop_size``, ``crop_rows``, ``crop_cols``;
- ``receptive_field``: ``{"jump", "start", "size"}`` (rows, then columns)
  and ``exact`` (False where a layer that is no window made it the whole
  picture);
- ``per_channel``: for EVERY channel of the layer (not only those drawn), its
  k examples strongest first, ``{"index", "box": [top, left, bottom,
  right], "value"}``: the picture's position in the data, its unit's
  receptive field in input pixels (bottom and right exclusive, clipped to
  the picture), the unit's activation;
- ``stats``: per channel ``mean``, ``max`` and ``zero_fraction`` over the
  data; ``health``: the layer's dead, saturated and non-finite fractions.

Beside it, a histogram of the layer's activations over the data (the stock
Histograms tab) and the ``data/*`` health scalars; and once per pass, under
the pseudo layer ``_data`` (kind ``pictures``), the pictures behind the
drawn examples, scaled to at most 128 pixels a side, their data indices in
the record's ``indices``, so a crop can be shown in its picture. Pure numpy.

Example:
    >>> jobs, scalars, histograms = examples_content(result)  # doctest: +SKIP
    >>> jobs[0].kind, sorted(scalars)[0]  # doctest: +SKIP
    ('examples', 'featureviz/conv1/data/dead_fraction')
"""

import math

import numpy as np

from tb_featureviz import jsontext, names
from tb_featureviz.examples import reductions
from tb_featureviz.render.jobs import GridJob


def crop_layout(k):
    """``(rows, cols)`` of k crops in a tile: as square as it gets.

    Example:
        >>> crop_layout(9), crop_layout(5), crop_layout(1)
        ((3, 3), (2, 3), (1, 1))
    """
    cols = math.ceil(math.sqrt(k))
    return math.ceil(k / cols), cols


def tile_of(crops):
    """The tile of one channel: its crops ``[k, S, S, 3]`` in rows, 1 grey pixel apart."""
    k, size = crops.shape[0], crops.shape[1]
    rows, cols = crop_layout(k)
    tile = np.full((rows * size + rows - 1, cols * size + cols - 1, 3), 128, np.uint8)
    for slot in range(k):
        row, col = divmod(slot, cols)
        tile[row * (size + 1):row * (size + 1) + size, col * (size + 1):col * (size + 1) + size] = crops[slot]
    return tile


def layer_record(scan, pictures):
    """The ``examples`` document of one :class:`tb_featureviz.examples.scan.LayerScan`."""
    field = scan.field
    rows, cols = crop_layout(scan.top.k)
    stats = scan.stats.channel_stats()
    return {
        "k": scan.top.k, "pictures": int(pictures),
        "picture_height": int(scan.picture_size[0]), "picture_width": int(scan.picture_size[1]),
        "crop_size": int(scan.crops.shape[2]), "crop_rows": rows, "crop_cols": cols,
        "receptive_field": {"jump": [field.rows.jump, field.cols.jump], "start": [field.rows.start, field.cols.start],
                            "size": [field.rows.size, field.cols.size], "exact": bool(field.exact)},
        "per_channel": [[{**entry, "value": jsontext.rounded_floats([entry["value"]])[0]}
                      for entry in scan.boxes(channel)] for channel in range(scan.top.channels)],
        "stats": {name: jsontext.rounded_floats(values) for name, values in stats.items()},
        "health": scan.stats.health(),
    }


def examples_content(result):
    """``(grid jobs, {tag: value}, {layer: histogram buckets})`` of a :class:`tb_featureviz.examples.scan.ScanResult`."""
    grid_jobs, scalars, histograms = [], {}, {}
    for name, scan in result.layers.items():
        drawn = scan.crops.shape[1]
        tiles = np.stack([tile_of(scan.crops[:, channel]) for channel in range(drawn)]) if drawn else \
            np.zeros((0, 1, 1, 3), np.uint8)
        grid_jobs.append(GridJob(
            layer=name, class_name=scan.info.class_name, kind=names.EXAMPLES_KIND, layout="tiles",
            samples=[tiles], channels=list(range(drawn)), total_channels=scan.top.channels,
            source_shape=(scan.top.channels,) + tuple(scan.crops.shape[2:]), scale="fixed",
            value_range=(0.0, 255.0), record_extra={"examples": layer_record(scan, result.pictures)},
            capped_at=drawn if drawn < scan.top.channels else None,
        ))
        for metric, value in scan.stats.health().items():
            scalars[names.scalar_tag(name, "data/" + metric)] = value
        histograms[name] = reductions.histogram_buckets(scan.counts, scan.lo, scan.hi,
                                                        float(np.min(scan.stats.lows)), float(np.max(scan.stats.highs)))
    if result.thumbnails:
        grid_jobs.append(pictures_job(result))
    return grid_jobs, scalars, histograms


def pictures_job(result):
    """The ``_data`` grid: the pictures behind the drawn examples, by data index."""
    indices = sorted(result.thumbnails)
    tiles = np.stack([result.thumbnails[i] for i in indices])
    return GridJob(layer=names.DATA_LAYER, class_name="Data", kind=names.PICTURES_KIND, layout="tiles",
                   samples=[tiles], channels=list(range(len(indices))), total_channels=len(indices),
                   source_shape=tuple(tiles.shape), scale="fixed", value_range=(0.0, 255.0),
                   record_extra={"indices": indices, "picture_height": int(result.picture_size[0]),
                                 "picture_width": int(result.picture_size[1])})
