"""What one batch leaves of a layer's activations: small reductions, computed inside the compiled pass.

A data-set pass can't keep feature maps (Xception's first block alone is
700 KB a picture); per batch and layer it keeps only:

- ``maxima`` / ``positions`` ``[N, C]``: each picture's spatial maximum per
  channel and its flat position (row * width + column): the top-k input;
- per channel over the batch: ``sums``, ``zeros`` (values exactly 0),
  ``nonfinite``, ``lows``, ``highs``: the layer's statistics;
- ``counts`` ``[BUCKETS + 2]``: a histogram of every value on uniform
  buckets from ``lo`` to ``hi`` (arguments, so one trace serves every
  pass), with one bucket below and one above for the values outside.

:func:`reduce_layer` is graph code (``keras.ops``, any backend);
:class:`LayerStats` accumulates the per-channel parts in numpy.

Example:
    >>> stats = LayerStats(channels=2)
    >>> stats.add(sums=[2.0, 0.0], zeros=[1, 4], nonfinite=[0, 0], lows=[0.0, 0.0], highs=[2.0, 0.0], values=4)
    >>> stats.channel_stats()["zero_fraction"], stats.health()["dead_fraction"]
    ([0.25, 1.0], 0.5)
"""

import numpy as np

import keras

#: Histogram buckets between the first batch's range (plus a margin); the values outside get one bucket each side.
BUCKETS = 60


def reduce_layer(activations, lo, hi, channels_first=False):
    """The reductions of one layer's ``[N, H, W, C]`` activations (graph code); see the module docstring.

    Returns:
        ``[maxima, positions, sums, zeros, nonfinite, lows, highs, counts]``.
    """
    ops = keras.ops
    if channels_first:
        activations = ops.transpose(activations, (0, 2, 3, 1))
    activations = ops.cast(activations, "float32")
    batch, height, width, channels = (ops.shape(activations)[i] for i in range(4))
    flat = ops.reshape(activations, (batch, height * width, channels))
    finite = ops.isfinite(flat)
    clean = ops.where(finite, flat, ops.zeros_like(flat))
    maxima = ops.max(flat, axis=1)
    positions = ops.argmax(ops.where(ops.isnan(flat), ops.full_like(flat, -np.inf), flat), axis=1)
    sums = ops.sum(clean, axis=(0, 1))
    zeros = ops.sum(ops.cast(ops.equal(flat, 0.0), "float32"), axis=(0, 1))
    nonfinite = ops.sum(ops.cast(ops.logical_not(finite), "float32"), axis=(0, 1))
    lows = ops.min(ops.where(finite, flat, ops.full_like(flat, np.inf)), axis=(0, 1))
    highs = ops.max(ops.where(finite, flat, ops.full_like(flat, -np.inf)), axis=(0, 1))
    width_of_bucket = ops.maximum((hi - lo) / BUCKETS, 1e-12)
    bucket = ops.floor((ops.reshape(clean, (-1,)) - lo) / width_of_bucket) + 1.0
    bucket = ops.cast(ops.clip(bucket, 0.0, BUCKETS + 1.0), "int32")
    weights = ops.reshape(ops.cast(finite, "float32"), (-1,))
    counts = ops.segment_sum(weights, bucket, num_segments=BUCKETS + 2)
    return [maxima, positions, sums, zeros, nonfinite, lows, highs, counts]


def bucket_range(lows, highs, margin=0.5):
    """``(lo, hi)`` of the histogram's buckets from a first look at a layer (its channels' lows and highs).

    The range seen, widened by ``margin`` of its width on each side (values
    outside still count, in the outer buckets).

    Example:
        >>> bucket_range(np.array([0.0, 1.0]), np.array([2.0, 4.0]))
        (-2.0, 6.0)
    """
    finite_lows = np.asarray(lows, np.float64)[np.isfinite(lows)]
    finite_highs = np.asarray(highs, np.float64)[np.isfinite(highs)]
    lo = float(finite_lows.min()) if finite_lows.size else 0.0
    hi = float(finite_highs.max()) if finite_highs.size else 1.0
    spread = max(hi - lo, 1e-6)
    return lo - margin * spread, hi + margin * spread


def histogram_buckets(counts, lo, hi, low_seen, high_seen):
    """TensorBoard's ``[buckets, 3]`` (left edge, right edge, count), float64, of accumulated ``counts``.

    The outer buckets' open sides become the smallest and largest values
    seen; empty outer buckets are left out.

    Example:
        >>> histogram_buckets(np.array([1, 2, 0, 0, 1]), 0.0, 3.0, -1.0, 9.0).tolist()[0]
        [-1.0, 0.0, 1.0]
    """
    counts = np.asarray(counts, np.float64)
    inner = np.linspace(lo, hi, len(counts) - 1)
    rows = []
    if counts[0]:
        rows.append([min(low_seen, lo), lo, counts[0]])
    rows += [[left, right, count] for left, right, count in zip(inner[:-1], inner[1:], counts[1:-1])]
    if counts[-1]:
        rows.append([hi, max(high_seen, hi), counts[-1]])
    return np.array(rows, np.float64)


class LayerStats:
    """Per-channel statistics of a layer over a data set, accumulated batch by batch (float64)."""

    def __init__(self, channels):
        self.sums = np.zeros(channels)
        self.zeros = np.zeros(channels)
        self.nonfinite = np.zeros(channels)
        self.lows = np.full(channels, np.inf)
        self.highs = np.full(channels, -np.inf)
        self.values = 0  # values per channel seen (pictures x positions)

    def add(self, sums, zeros, nonfinite, lows, highs, values):
        """One batch's reductions; ``values`` is its pictures times positions."""
        self.sums += np.asarray(sums, np.float64)
        self.zeros += np.asarray(zeros, np.float64)
        self.nonfinite += np.asarray(nonfinite, np.float64)
        self.lows = np.minimum(self.lows, lows)
        self.highs = np.maximum(self.highs, highs)
        self.values += int(values)

    def merge(self, other):
        """Add another process's statistics of the same layer."""
        self.add(other.sums, other.zeros, other.nonfinite, other.lows, other.highs, other.values)

    def channel_stats(self):
        """``{"mean", "max", "zero_fraction"}`` per channel (over finite values; None where there were none)."""
        finite_count = self.values - self.nonfinite
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(finite_count > 0, self.sums / np.maximum(finite_count, 1), np.nan)
        return {"mean": mean.tolist(), "max": np.where(np.isfinite(self.highs), self.highs, np.nan).tolist(),
                "zero_fraction": (self.zeros / max(self.values, 1)).tolist()}

    def health(self):
        """Fractions of dead (always 0), saturated (always one non-zero value) and non-finite channels."""
        nonfinite = self.nonfinite > 0
        dead = ~nonfinite & (self.zeros == self.values)
        saturated = ~nonfinite & ~dead & (self.lows == self.highs)
        count = max(len(self.sums), 1)
        return {"dead_fraction": float(dead.sum() / count), "saturated_fraction": float(saturated.sum() / count),
                "nonfinite_fraction": float(nonfinite.sum() / count)}
