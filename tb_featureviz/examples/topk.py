"""The top k pictures of each channel, kept while streaming: bounded memory, the same result as one sort.

For each channel a picture counts once, by its unit with the largest
activation (the spatial maximum of the channel's map), as Microscope and
the DeepVis toolbox do. :class:`TopK` keeps, per channel, the ``k``
strongest ``(value, picture index, position)`` seen so far: each batch is
merged into them with one vectorised partition, so memory is
``O(channels x k)`` whatever the data set's size.

Order, the same as one sort over everything: value, largest first; ties
by the lower picture index, then the lower position. Non-finite values
rank last (NaN below everything). Pure numpy.

Example:
    >>> top = TopK(channels=2, k=2)
    >>> order = top.update(np.array([[1.0, 5.0], [3.0, 4.0], [2.0, 6.0]]), np.zeros((3, 2), int), np.arange(3))
    >>> top.indices.tolist(), top.values.tolist()
    ([[1, 2], [2, 0]], [[3.0, 6.0], [2.0, 5.0]])
"""

import numpy as np

#: Picture index of an empty slot (fewer pictures than k so far).
EMPTY = -1


def _ranked(values, indices, positions):
    """The column-wise order (``[rows, C]``) of entries: strongest first, ties by index then position.

    Successive stable sorts along axis 0, least significant key first, so
    every column is ordered at once; empty slots go last.
    """
    order = np.argsort(positions, axis=0, kind="stable")
    for key in (indices, -np.where(np.isnan(values), -np.inf, values), indices == EMPTY):
        order = np.take_along_axis(order, np.argsort(np.take_along_axis(key, order, 0), axis=0, kind="stable"), 0)
    return order


class TopK:
    """Per channel, the ``k`` strongest pictures so far (``[k, C]`` arrays, strongest first).

    Attributes:
        values: float64 ``[k, C]``: each kept picture's spatial maximum.
        indices: int64 ``[k, C]``: its index in the data (:data:`EMPTY` for an empty slot).
        positions: int64 ``[k, C]``: the flat position (row * width + column) of its maximum.
        count: pictures seen.
    """

    def __init__(self, channels, k):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"TopK expects k >= 1. Received: k={k!r}")
        self.k = int(k)
        self.values = np.full((self.k, int(channels)), -np.inf)
        self.indices = np.full((self.k, int(channels)), EMPTY, np.int64)
        self.positions = np.zeros((self.k, int(channels)), np.int64)
        self.count = 0

    @property
    def channels(self):
        return self.values.shape[1]

    def update(self, values, positions, indices):
        """Merge one batch: ``values``/``positions`` ``[N, C]`` (each picture's maximum and where), ``indices`` ``[N]``.

        Returns:
            int ``[k, C]``: where each kept entry came from, as a row of the
            old entries (``< k``) followed by the batch (``k + n`` for row ``n``).
        """
        values = np.asarray(values, np.float64)
        count = values.shape[0]
        self.count += count
        indices = np.broadcast_to(np.asarray(indices, np.int64)[:, None], values.shape)
        return self._merge(values, indices, np.asarray(positions, np.int64))

    def merge(self, other):
        """Merge another :class:`TopK` of the same channels (e.g. another process's shard); returns the order.

        The order is as :meth:`update`'s, the other's entries following this one's.
        """
        if other.values.shape[1] != self.channels:
            raise ValueError(f"TopK.merge expects {self.channels} channels. Received: {other.values.shape[1]}")
        self.count += other.count
        return self._merge(other.values, other.indices, other.positions)

    def _merge(self, values, indices, positions):
        k = self.k
        order = np.broadcast_to(np.arange(k)[:, None], self.values.shape).copy()
        # A column changes only where a new entry may outrank its k-th: after the first batches, few do.
        # (Strictly below a non-empty k-th, a new entry ranks after every kept one whatever its index.)
        kth = self.values[-1]
        best = np.where(np.isnan(values), -np.inf, values).max(axis=0, initial=-np.inf)
        columns = np.flatnonzero((self.indices[-1] == EMPTY) | np.isnan(kth) | ~(best < kth))
        if columns.size:
            all_values = np.concatenate([self.values[:, columns], values[:, columns]])
            all_indices = np.concatenate([self.indices[:, columns], indices[:, columns]])
            all_positions = np.concatenate([self.positions[:, columns], positions[:, columns]])
            ranked = _ranked(all_values, all_indices, all_positions)[:k]
            self.values[:, columns] = np.take_along_axis(all_values, ranked, 0)
            self.indices[:, columns] = np.take_along_axis(all_indices, ranked, 0)
            self.positions[:, columns] = np.take_along_axis(all_positions, ranked, 0)
            order[:, columns] = ranked
        return order

    def entries(self, channel):
        """The kept ``(index, position, value)`` of ``channel``, strongest first (empty slots left out)."""
        return [(int(i), int(p), float(v)) for i, p, v in zip(
            self.indices[:, channel], self.positions[:, channel], self.values[:, channel]) if i != EMPTY]
