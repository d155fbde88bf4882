"""The pure parts of a data-set pass, exact: the streaming top k, receptive-field arithmetic, statistics."""

import numpy as np
import pytest

from tb_featureviz.examples import data, fields, grids, reductions
from tb_featureviz.examples.topk import EMPTY, TopK


def one_sort(values, positions, k):
    """The reference: per channel, every (value, index, position) sorted at once; NaN ranks last."""
    rows = []
    for channel in range(values.shape[1]):
        keyed = sorted(range(values.shape[0]), key=lambda n: (
            -(-np.inf if np.isnan(values[n, channel]) else values[n, channel]), n, positions[n, channel]))
        rows.append([(n, int(positions[n, channel])) for n in keyed[:k]])
    return rows


@pytest.mark.parametrize("seed", range(40))
def test_streaming_top_k_equals_one_sort_with_ties(seed):
    rng = np.random.default_rng(seed)
    count, channels, k = rng.integers(0, 60), rng.integers(1, 6), rng.integers(1, 8)
    values = rng.integers(0, 5, (count, channels)).astype(np.float64)  # few distinct values: many ties
    values[rng.random((count, channels)) < 0.1] = np.nan
    positions = rng.integers(0, 4, (count, channels))
    top = TopK(channels, k)
    start = 0
    while start < count:  # batches of random sizes
        stop = min(count, start + rng.integers(1, 9))
        top.update(values[start:stop], positions[start:stop], np.arange(start, stop))
        start = stop
    assert top.count == count
    for channel, want in enumerate(one_sort(values, positions, k)):
        assert [(i, p) for i, p, _ in top.entries(channel)] == want


def test_merging_shards_equals_one_pass():
    rng = np.random.default_rng(1)
    values, positions = rng.integers(0, 6, (40, 3)).astype(float), rng.integers(0, 9, (40, 3))
    whole = TopK(3, 5)
    whole.update(values, positions, np.arange(40))
    shards = [TopK(3, 5), TopK(3, 5)]
    for batch in range(0, 40, 4):  # every other batch to each shard, as the processes take them
        shards[(batch // 4) % 2].update(values[batch:batch + 4], positions[batch:batch + 4], np.arange(batch, batch + 4))
    order = shards[0].merge(shards[1])
    assert order.shape == (5, 3) and shards[0].count == 40
    np.testing.assert_array_equal(shards[0].indices, whole.indices)
    np.testing.assert_array_equal(shards[0].positions, whole.positions)


def test_top_k_keeps_empty_slots_last_and_refuses_bad_k():
    top = TopK(2, 3)
    top.update(np.array([[1.0, np.nan]]), np.array([[4, 5]]), np.array([7]))
    assert top.indices.tolist() == [[7, 7], [EMPTY, EMPTY], [EMPTY, EMPTY]]
    assert top.entries(1) == [(7, 5, pytest.approx(np.nan, nan_ok=True))]
    with pytest.raises(ValueError, match=r"^TopK expects k >= 1. Received: k=0$"):
        TopK(2, 0)


def test_receptive_field_rules():
    # conv 3x3 same, then 2x2 stride-2 pooling, then a dilated 3x3 (dilation 2) valid conv.
    axis = fields.window(fields.INPUT, 3, 1, 1, fields.same_pad_before(16, 3))
    assert axis == fields.Axis(1, -1, 3)
    axis = fields.window(axis, 2, 2)
    assert axis == fields.Axis(2, -1, 4)
    axis = fields.window(axis, 3, 1, 2)
    assert axis == fields.Axis(2, -1, 12)  # k_eff = 5: 4 + (5 - 1) * 2
    assert [fields.same_pad_before(n, 3, 2) for n in (7, 8, 9)] == [1, 0, 1]
    assert [fields.output_length(n, 3, 2, padding=p) for n in (7, 8) for p in ("valid", "same")] == [3, 4, 3, 4]
    assert fields.union([fields.Axis(2, -1, 4), fields.Axis(2, 0, 6)]) == fields.Axis(2, -1, 7)
    assert fields.shift(fields.Axis(2, 0, 3), 2) == fields.Axis(2, -4, 3)
    assert fields.unit_box(fields.Axis(2, -1, 4), fields.Axis(1, 0, 1), 0, 5, 10, 8) == [0, 5, 3, 6]
    assert fields.unit_span(fields.whole(9), 3, 9) == (0, 9)
    with pytest.raises(ValueError, match=r"^union expects fields with one jump. Received: jumps \[1, 2\]$"):
        fields.union([fields.Axis(1, 0, 1), fields.Axis(2, 0, 1)])


def test_layer_statistics_and_health():
    stats = reductions.LayerStats(4)
    # Channel 0: always 0 (dead); 1: always 6 (saturated); 2: varies; 3: one NaN.
    stats.add(sums=[0, 12, 3, 1], zeros=[2, 0, 1, 0], nonfinite=[0, 0, 0, 1], lows=[0, 6, 0, 1], highs=[0, 6, 3, 1],
              values=2)
    assert stats.channel_stats() == {"mean": [0.0, 6.0, 1.5, 1.0], "max": [0.0, 6.0, 3.0, 1.0],
                                     "zero_fraction": [1.0, 0.0, 0.5, 0.0]}
    assert stats.health() == {"dead_fraction": 0.25, "saturated_fraction": 0.25, "nonfinite_fraction": 0.25}


def test_histogram_buckets_in_tensorboards_layout():
    counts = np.zeros(reductions.BUCKETS + 2)
    counts[0], counts[1], counts[-1] = 2, 5, 1
    buckets = reductions.histogram_buckets(counts, 0.0, 6.0, -3.0, 9.0)
    assert buckets.shape == (reductions.BUCKETS + 2, 3) and buckets.dtype == np.float64
    assert buckets[0].tolist() == [-3.0, 0.0, 2.0] and buckets[1].tolist() == [0.0, 0.1, 5.0]
    assert buckets[-1].tolist() == [6.0, 9.0, 1.0] and buckets[:, 2].sum() == 8
    assert reductions.bucket_range([0.0, np.nan], [4.0, np.inf]) == (-2.0, 6.0)


def test_crops_are_tiled_strongest_first():
    crops = np.stack([np.full((2, 2, 3), value, np.uint8) for value in (10, 20, 30, 40, 50)])
    tile = grids.tile_of(crops)
    assert grids.crop_layout(5) == (2, 3) and tile.shape == (5, 8, 3)
    assert tile[0, :, 0].tolist() == [10, 10, 128, 20, 20, 128, 30, 30]
    assert tile[3, :, 0].tolist() == [40, 40, 128, 50, 50, 128, 128, 128]


def test_max_pictures_stops_before_reading_another_batch():
    pulled = []

    def loader():
        for number in range(10):
            pulled.append(number)
            yield np.full((4, 2, 2, 3), number, np.uint8)

    got = [(start, len(pictures)) for start, pictures in data.batches(loader(), max_pictures=8)]
    assert got == [(0, 4), (4, 4)] and pulled == [0, 1]
    assert [(s, len(p)) for s, p in data.batches(loader(), max_pictures=6)] == [(0, 4), (4, 2)]
