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

:func:`reduce_layer` is graph code (``keras.ops``, any backend), for any
values; :func:`reduce_finite_layer` gives the same results with about a
third of the passes over the values when all of them are finite (the
usual case: the caller checks). A map's maximum is its first in row-major
order, -0.0 counting as 0.0; the counts are exact integers.
:class:`LayerStats` accumulates the per-channel parts in numpy.

Example:
    >>> stats = LayerStats(channels=2)
    >>> stats.add(sums=[2.0, 0.0], zeros=[1, 4], nonfinite=[0, 0], lows=[0.0, 0.0], highs=[2.0, 0.0], values=4)
    >>> stats.channel_stats()["zero_fraction"], stats.health()["dead_fraction"]
    ([0.25, 1.0], 0.5)
"""

import collections
import functools

import numpy as np

import keras

#: What :func:`reduce_layer` and :func:`reduce_finite_layer` return for a layer, in this order.
Reductions = collections.namedtuple("Reductions", "maxima positions sums zeros nonfinite lows highs counts")

#: Histogram buckets between the first batch's range (plus a margin); the values outside get one bucket each side.
BUCKETS = 60


def _channels_last(activations, channels_first):
    ops = keras.ops
    if channels_first:
        activations = ops.transpose(activations, (0, 2, 3, 1))
    return ops.cast(activations, "float32")


def _signless(values):
    """``values`` with -0.0 made 0.0, so that argmax takes the first of equal values whatever their sign."""
    ops = keras.ops
    return ops.where(ops.equal(values, 0.0), ops.zeros_like(values), values)


def _first_maximum(activations, row_maxima):
    """Flat position (row * width + column) of each map's first maximum: ``[N, C]`` int32.

    Two small argmaxes instead of one over every value: the first row
    whose maximum is the map's, then the first column of that row holding
    it, which is the first maximum in row-major order (the order of
    ``reshape``). ``activations``: ``[N, H, W, C]`` without NaN;
    ``row_maxima``: their maximum over the width, ``[N, H, C]``.
    """
    ops = keras.ops
    batch, height, width, channels = (int(d) for d in activations.shape)
    dtype = "int32" if batch * height * width * channels < 2 ** 31 else "int64"
    row = ops.cast(ops.argmax(_signless(row_maxima), axis=1), dtype)  # [N, C]
    picture = ops.reshape(ops.arange(batch, dtype=dtype), (batch, 1, 1))
    column = ops.reshape(ops.arange(width, dtype=dtype), (1, width, 1))
    channel = ops.reshape(ops.arange(channels, dtype=dtype), (1, 1, channels))
    index = ((picture * height + ops.expand_dims(row, 1)) * width + column) * channels + channel  # [N, W, C]
    line = ops.take(ops.reshape(activations, (-1,)), index)  # each map's row holding its maximum
    col = ops.cast(ops.argmax(_signless(line), axis=1), dtype)
    return ops.cast(row * width + col, "int32")


def _bucket_ids(values, lo, hi):
    """The histogram bucket of each value (1-D, finite): 0 below ``lo``, 1 to BUCKETS inside, BUCKETS + 1 above."""
    ops = keras.ops
    width_of_bucket = ops.maximum((hi - lo) / BUCKETS, 1e-12)
    bucket = ops.floor((values - lo) / width_of_bucket) + 1.0
    return ops.cast(ops.clip(bucket, 0.0, BUCKETS + 1.0), "int32")


def _bincount(ids, length):
    """int32 ``[length]``: how many of ``ids`` (1-D int32 in ``[0, length)``) hold each value.

    Integer counts (float32 ones stop counting at 2**24, which one batch of
    a large layer passes), with each backend's fastest op.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.math.bincount(ids, minlength=length, maxlength=length)
    if backend == "torch":
        import torch

        return torch.bincount(ids, minlength=length).to(torch.int32)
    ops = keras.ops
    return ops.segment_sum(ops.ones_like(ids), ids, num_segments=length)


def _bins(activations, lo, hi, count=_bincount):
    """int32 ``[(BUCKETS + 3) * C]``: per channel, how many values fall in each bucket, exact zeros apart.

    Bin ``bucket * C + channel``; bucket ``BUCKETS + 2`` holds the values
    that are exactly 0 (of either sign), so one pass over finite
    ``activations`` ``[N, H, W, C]`` gives the histogram and the zeros.
    ``count(ids, length)`` counts the bins (default: :func:`_bincount`).
    """
    ops = keras.ops
    channels = int(activations.shape[-1])
    ids = ops.where(ops.equal(activations, 0.0), BUCKETS + 2, _bucket_ids(activations, lo, hi))
    ids = ops.reshape(ids * channels + ops.arange(channels, dtype="int32"), (-1,))
    return count(ids, (BUCKETS + 3) * channels)


@functools.cache
def _xla_bins():
    """:func:`_bins` as one XLA cluster (TensorFlow), counting with a segment sum, which XLA compiles."""
    import tensorflow as tf

    def segment_count(ids, length):
        return tf.math.unsorted_segment_sum(tf.ones_like(ids), ids, length)

    return tf.function(lambda activations, lo, hi: _bins(activations, lo, hi, count=segment_count),
                       jit_compile=True)


def _histogram_and_zeros(activations, lo, hi):
    """``(counts, zeros)`` of finite ``activations`` ``[N, H, W, C]``: int32 ``[BUCKETS + 2]`` and float32 ``[C]``.

    One pass (:func:`_bins`). On TensorFlow that pass is one XLA cluster:
    fused, it reads the values once instead of once per elementwise op
    (half the time of the histogram and the zero count apart); the
    arithmetic is the same, so are the buckets.
    """
    ops = keras.ops
    bins = (_xla_bins() if keras.backend.backend() == "tensorflow" else _bins)(activations, lo, hi)
    bins = ops.reshape(bins, (BUCKETS + 3, int(activations.shape[-1])))
    zeros = bins[BUCKETS + 2]
    # The zeros go back into the bucket of 0.
    zero_bucket = _bucket_ids(ops.zeros((1,), "float32"), lo, hi)
    counts = ops.sum(bins[:BUCKETS + 2], axis=1) + ops.cast(
        ops.equal(ops.arange(BUCKETS + 2, dtype="int32"), zero_bucket), "int32") * ops.sum(zeros)
    return counts, ops.cast(zeros, "float32")


def reduce_finite_layer(activations, lo, hi, channels_first=False):
    """The reductions of one layer's ``[N, H, W, C]`` activations when all are finite (graph code).

    The same results as :func:`reduce_layer` on finite values, with about a
    third of its passes over the values: each spatial reduction goes along
    the width first (one pass, small partial results), the statistics that
    exclude non-finite values need no masks, and the position of each map's
    maximum comes from two small argmaxes (:func:`_first_maximum`). A
    non-finite value makes its channel's ``sums`` non-finite: the caller
    checks them and runs :func:`reduce_layer` on such a batch instead.

    Returns:
        a list in the order of :data:`Reductions` (graph code returns plain lists).
    """
    ops = keras.ops
    activations = _channels_last(activations, channels_first)
    row_maxima = ops.max(activations, axis=2)  # [N, H, C]
    maxima = ops.max(row_maxima, axis=1)
    positions = _first_maximum(activations, row_maxima)
    sums = ops.sum(ops.sum(activations, axis=2), axis=(0, 1))
    lows = ops.min(ops.min(activations, axis=2), axis=(0, 1))
    highs = ops.max(maxima, axis=0)
    counts, zeros = _histogram_and_zeros(activations, lo, hi)
    return [maxima, positions, sums, zeros, ops.zeros_like(sums), lows, highs, counts]


def reduce_layer(activations, lo, hi, channels_first=False):
    """The reductions of one layer's ``[N, H, W, C]`` activations, any values (graph code); see the module docstring.

    NaN ranks below every number for the maxima and positions; the statistics and the
    histogram leave non-finite values out (``nonfinite`` counts them).

    Returns:
        a list in the order of :data:`Reductions` (graph code returns plain lists).
    """
    ops = keras.ops
    activations = _channels_last(activations, channels_first)
    batch, height, width, channels = (ops.shape(activations)[i] for i in range(4))
    flat = ops.reshape(activations, (batch, height * width, channels))
    finite = ops.isfinite(flat)
    clean = ops.where(finite, flat, ops.zeros_like(flat))
    ranked = ops.where(ops.isnan(activations), ops.full_like(activations, -np.inf), activations)
    row_maxima = ops.max(ranked, axis=2)
    maxima = ops.max(row_maxima, axis=1)  # the value at ``positions``: NaN ranks below every number
    positions = _first_maximum(ranked, row_maxima)
    sums = ops.sum(clean, axis=(0, 1))
    zeros = ops.sum(ops.cast(ops.equal(flat, 0.0), "float32"), axis=(0, 1))
    nonfinite = ops.sum(ops.cast(ops.logical_not(finite), "float32"), axis=(0, 1))
    lows = ops.min(ops.where(finite, flat, ops.full_like(flat, np.inf)), axis=(0, 1))
    highs = ops.max(ops.where(finite, flat, ops.full_like(flat, -np.inf)), axis=(0, 1))
    ids = ops.where(ops.reshape(finite, (-1,)), _bucket_ids(ops.reshape(clean, (-1,)), lo, hi), BUCKETS + 2)
    counts = _bincount(ids, BUCKETS + 3)[:BUCKETS + 2]  # the last bucket: the non-finite values, left out
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
