"""Pure array math: per-channel statistics written beside every grid.

Example:
    >>> import numpy as np
    >>> s = channel_stats(np.array([[0.0, 2.0], [np.nan, 1.0]]))
    >>> s["mean"].tolist(), s["zero_fraction"].tolist(), s["nonfinite_fraction"].tolist()
    ([1.0, 1.0], [0.5, 0.0], [0.0, 0.5])
"""

import numpy as np


def channel_stats(values, all_finite=None):
    """Mean (of finite values), fraction of exact zeros and of non-finite values.

    Args:
        values: array ``[channels, n]``: each row holds one channel's values.
        all_finite: True when the caller already knows every value is
            finite (the grid drawn from them counted no non-finite pixel);
            saves a pass over the data.

    Returns:
        dict of float64 arrays ``[channels]``: ``mean`` (NaN for a channel
        without finite values), ``zero_fraction``, ``nonfinite_fraction``.
    """
    values = np.asarray(values)
    count = values.shape[1]
    zeros = count - np.count_nonzero(values, axis=1)
    finite = None if all_finite else np.isfinite(values)
    if all_finite or finite.all():
        finite = None
        with np.errstate(over="ignore"):  # handled below
            mean = values.mean(axis=1, dtype=np.float64)
        nonfinite = np.zeros(values.shape[0])
    else:
        finite_count = finite.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            mean = np.where(finite, values, 0).sum(axis=1, dtype=np.float64) / finite_count
        mean[finite_count == 0] = np.nan
        nonfinite = (count - finite_count) / count
        # NaN is non-zero for count_nonzero; only real zeros count as zeros.
    overflowed = np.isinf(mean)
    if overflowed.any():
        # Only float64 values near 1.8e308 overflow a float64 sum of finite
        # values; the same sum of values scaled by 2**-4 (exact) does not.
        scaled = values[overflowed].astype(np.float64) * 2.0**-4
        if finite is None:
            mean[overflowed] = scaled.mean(axis=1) * 2.0**4
        else:
            scaled = np.where(finite[overflowed], scaled, 0.0)
            mean[overflowed] = scaled.sum(axis=1) / finite_count[overflowed] * 2.0**4
    return {
        "mean": np.asarray(mean, dtype=np.float64),
        "zero_fraction": zeros / count,
        "nonfinite_fraction": np.asarray(nonfinite, dtype=np.float64),
    }


def stats_rows(tiles, layout, cols=None):
    """Reshape a tile stack to ``[channels, n]`` rows for :func:`channel_stats`.

    ``tiles`` layout: one row per tile. ``mosaic``: one row per column
    (output filter) over all its input slices. ``matrix``: one row per
    column of the single matrix tile.
    """
    if layout == "tiles":
        return tiles.reshape(tiles.shape[0], -1)
    if layout == "mosaic":
        rows = tiles.shape[0] // cols
        return np.swapaxes(tiles.reshape(rows, cols, -1), 0, 1).reshape(cols, -1)
    if layout == "matrix":
        return tiles[0].T
    raise ValueError(f"stats_rows expects layout 'tiles', 'mosaic' or 'matrix'. Received: {layout!r}")
