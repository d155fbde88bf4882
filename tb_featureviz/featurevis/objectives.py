"""What an optimised image maximises: a channel's mean, its centre unit, or a direction.

Each sample of a batch optimises its own objective: :func:`objective_vectors`
gives a row of channel weights per sample and :func:`objective_values` one
value per sample, so samples don't interact and their sum can be
maximised at once. Pure: ``ops`` is ``numpy`` (default) or ``keras.ops``.

Example:
    >>> vectors = objective_vectors("channel", [1], 2)
    >>> objective_values(np.arange(8.0).reshape(1, 2, 2, 2), "channel", vectors).tolist()
    [4.0]
"""

import numpy as np

OBJECTIVES = ("channel", "neuron", "direction")
_SPATIAL = {"channel": "mean", "neuron": "centre", "direction": "mean"}


def check_objective(objective):
    """Refuse an unknown objective name (ValueError naming the choices)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {list(OBJECTIVES)}. Received: objective={objective!r}")


def objective_vectors(objective, channels, num_channels, directions=None):
    """``[B, num_channels]`` float32 weights of each sample's objective.

    ``channel`` and ``neuron``: one-hot rows for ``channels``.
    ``direction``: the rows of ``directions`` (``channels`` only names them).

    Raises:
        ValueError: an unknown objective, a channel out of range, or
            directions of the wrong shape.
    """
    check_objective(objective)
    if objective == "direction":
        vectors = np.asarray(directions, np.float32)
        if vectors.ndim != 2 or vectors.shape != (len(channels), num_channels):
            raise ValueError(
                f"objective='direction' expects directions of shape ({len(channels)}, {num_channels}). "
                f"Received: shape {None if directions is None else tuple(np.shape(directions))}")
        return vectors.copy()
    bad = [c for c in channels if not 0 <= int(c) < num_channels]
    if bad:
        raise ValueError(f"channels must lie in [0, {num_channels}). Received: {bad}")
    vectors = np.zeros((len(channels), num_channels), np.float32)
    vectors[np.arange(len(channels)), np.asarray(channels, np.int64)] = 1.0
    return vectors


def objective_values(activations, objective, vectors, ops=np):
    """Each sample's objective ``[B]`` from its activations ``[B, h, w, C]`` (channels last).

    ``channel``: mean over positions of the sample's channel.
    ``neuron``: the channel at the centre position ``(h // 2, w // 2)``.
    ``direction``: mean over positions of the dot product with the direction.
    """
    check_objective(objective)
    if _SPATIAL[objective] == "centre":
        picked = activations[:, int(activations.shape[1]) // 2, int(activations.shape[2]) // 2, :]
    else:
        picked = ops.mean(activations, axis=(1, 2))
    return ops.sum(ops.multiply(picked, vectors), axis=-1)
