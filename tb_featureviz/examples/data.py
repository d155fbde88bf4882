"""Data sets as batches of pictures, each with its index in the data.

What a data-set pass takes: a numpy array ``[N, H, W, C]`` (uint8, or
floats as the probe pictures are), a ``tf.data.Dataset``, a
``keras.utils.PyDataset``, a torch ``DataLoader``, or any iterable of
batches; a batch may be pictures alone or ``(pictures, labels, ...)``, whose
first element is taken. torch tensors ``[N, C, H, W]`` (C of 1 or 3) are
read channels last. Pictures are indexed by their position in the data,
counting from 0 across batches.

Under distributed training every process reads the same data and the
pass takes every ``world``-th batch of it on each process
(:mod:`tb_featureviz.examples.scan`), so an index means the same picture
on every process and the merged result is the one a single process gets.

Example:
    >>> [(first, len(pictures)) for first, pictures in batches(np.zeros((5, 4, 4, 3), np.uint8), batch_size=2)]
    [(0, 2), (2, 2), (4, 1)]
"""

import numpy as np

#: Pictures per batch when the data is one array.
BATCH_SIZE = 32


def _as_array(value):
    """A numpy array of a batch (numpy, TensorFlow, JAX or torch), channels last."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch
        array = value.detach().cpu().numpy()
        if array.ndim == 4 and array.shape[1] in (1, 3) and array.shape[-1] not in (1, 3):
            array = np.moveaxis(array, 1, -1)
        return array
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        return np.asarray(value.numpy())
    return np.asarray(value)


def _rank(value):
    return len(value.shape) if hasattr(value, "shape") else np.ndim(value)


def _pictures(batch):
    if isinstance(batch, dict):
        raise TypeError("A data-set pass expects batches of pictures or (pictures, labels). Received: a dict batch")
    if isinstance(batch, (tuple, list)) and batch:
        # (pictures, labels, ...) as tf.data and DataLoader give them, or a list of pictures.
        batch = batch[0] if _rank(batch[0]) == 4 else np.stack([_as_array(item) for item in batch])
    array = _as_array(batch)
    if array.ndim == 3:  # one picture
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"A data-set pass expects batches of pictures [N, H, W, C]. Received: shape {array.shape}")
    return array


def _raw_batches(data, batch_size):
    if isinstance(data, np.ndarray):
        if data.ndim != 4:
            raise ValueError(f"A data-set pass expects an array of pictures [N, H, W, C]. Received: shape {data.shape}")
        for start in range(0, len(data), batch_size):
            yield data[start:start + batch_size]
        return
    if hasattr(data, "as_numpy_iterator"):  # tf.data.Dataset
        yield from data.as_numpy_iterator()
        return
    if hasattr(data, "__getitem__") and hasattr(data, "__len__") and hasattr(data, "num_batches"):  # PyDataset
        for index in range(len(data)):
            yield data[index]
        return
    try:
        iterator = iter(data)
    except TypeError:
        raise TypeError(f"A data-set pass expects a numpy array, a tf.data.Dataset, a keras.utils.PyDataset, a torch "
                        f"DataLoader or an iterable of batches. Received: {type(data).__name__}") from None
    yield from iterator


def batches(data, batch_size=BATCH_SIZE, max_pictures=None):
    """``(index of the first picture, pictures [n, H, W, C])`` of ``data``, batch by batch.

    Args:
        data: see the module docstring (read once: a generator works).
        batch_size: pictures per batch for an array (the others keep their own).
        max_pictures: stop after this many pictures (the last batch cut).
    """
    seen = 0
    for batch in _raw_batches(data, batch_size):
        pictures = _pictures(batch)
        if max_pictures is not None:
            pictures = pictures[:max_pictures - seen]
        if len(pictures):
            yield seen, pictures
        seen += len(pictures)
        if max_pictures is not None and seen >= max_pictures:
            return  # before the next batch is read: a data loader's batch costs a load


def length(data, max_pictures=None):
    """The number of pictures, where it is known without reading the data (else None)."""
    count = None
    if isinstance(data, np.ndarray):
        count = len(data)
    elif hasattr(data, "dataset") and hasattr(data.dataset, "__len__"):  # torch DataLoader
        count = len(data.dataset)
    if count is None:
        return max_pictures
    return count if max_pictures is None else min(count, max_pictures)
