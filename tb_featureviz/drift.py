"""Pure array math: how far kernels moved from their starting values, and channel health.

Everything here is numpy only (no TensorFlow, no I/O) and never mutates
its inputs. The callback snapshots each selected layer's kernels when
training begins (the pretrained weights ``W0``) and, at every logged step,
compares the current kernels ``W`` with them:

* **relative change** ``||W - W0|| / ||W0||`` over all kernels of the layer
  (Frobenius norm): 0 for a layer that did not move, 0.01 for a 1% change;
* **per-filter cosine similarity** between each filter of ``W`` and the same
  filter of ``W0``: 1 for a filter that kept its direction. Its mean and its
  minimum over the layer's filters tell "everything moved a little" from
  "one filter turned around".

Channel health reads the feature maps of the probe images: a channel is
**dead** when it is exactly zero everywhere on every probe image,
**saturated** when it holds one and the same non-zero value everywhere on
every probe image (a unit stuck at a bound, e.g. ReLU6 at 6 or a sigmoid
at 1), and **non-finite** when any of its values is NaN or infinite. The
three are exclusive: a channel with a non-finite value is neither dead nor
saturated.

Example:
    >>> import numpy as np
    >>> w0 = {"kernel": np.ones((3, 3, 2, 4), np.float32)}
    >>> w = {"kernel": w0["kernel"] * 1.5}
    >>> d = drift_summary("Conv2D", w, w0)
    >>> round(d["relative_change"], 3), round(d["cosine_mean"], 3), round(d["cosine_min"], 3)
    (0.5, 1.0, 1.0)
"""

import numpy as np

#: Names of the drift scalars written per layer, in this order.
DRIFT_NAMES = ("relative_change", "cosine_mean", "cosine_min")

#: Names of the channel-health scalars written per layer, in this order.
HEALTH_NAMES = ("dead_fraction", "saturated_fraction", "nonfinite_fraction")


def _as_dict(arrays):
    return arrays if isinstance(arrays, dict) else {"kernel": arrays}


def _check_same(current, initial):
    if set(current) != set(initial):
        raise ValueError(
            f"Drift expects the same kernels now and at the start. Received: {sorted(current)} "
            f"and {sorted(initial)}"
        )
    for name in current:
        if np.shape(current[name]) != np.shape(initial[name]):
            raise ValueError(
                f"Drift expects kernel {name!r} to keep its shape. Received: "
                f"{np.shape(current[name])} now, {np.shape(initial[name])} at the start"
            )


def relative_change(current, initial):
    """``||W - W0|| / ||W0||`` over all kernels of a layer (Frobenius norm).

    Args:
        current, initial: an array or a dict of arrays (a layer's kernels by
            name), with the same names and shapes.

    Returns:
        float: 0.0 when nothing changed; ``inf`` when ``W0`` is all zeros and
        ``W`` is not; NaN when a kernel holds non-finite values.

    Example:
        >>> relative_change(np.array([3.0, 4.0]), np.array([0.0, 4.0]))
        0.75
    """
    current, initial = _as_dict(current), _as_dict(initial)
    _check_same(current, initial)
    change = 0.0
    start = 0.0
    for name in current:
        w = np.asarray(current[name], dtype=np.float64)
        w0 = np.asarray(initial[name], dtype=np.float64)
        change += float(np.sum(np.square(w - w0)))
        start += float(np.sum(np.square(w0)))
    if not (np.isfinite(change) and np.isfinite(start)):
        return float("nan")
    if start == 0.0:
        return 0.0 if change == 0.0 else float("inf")
    return float(np.sqrt(change) / np.sqrt(start))


def filter_matrix(class_name, name, array):
    """One row per filter of a kernel: ``[filters, values per filter]``.

    A filter is what makes one output channel: the last axis of Conv1D,
    Conv2D, Dense and pointwise kernels; the output axis (``-2``) of a
    Conv2DTranspose kernel; each ``(input channel, multiplier)`` pair of a
    depthwise kernel.

    Example:
        >>> filter_matrix("Conv2D", "kernel", np.zeros((3, 3, 8, 16))).shape
        (16, 72)
        >>> filter_matrix("SeparableConv2D", "depthwise_kernel", np.zeros((3, 3, 8, 2))).shape
        (16, 9)
    """
    array = np.asarray(array)
    if array.ndim < 2:
        return array.reshape(1, -1)
    if name == "depthwise_kernel" or (class_name == "DepthwiseConv2D" and name == "kernel"):
        spatial = int(np.prod(array.shape[:-2]))
        return array.reshape(spatial, -1).T
    if class_name == "Conv2DTranspose" and name == "kernel":
        array = np.swapaxes(array, -1, -2)
    return array.reshape(-1, array.shape[-1]).T


def filter_cosines(class_name, current, initial):
    """Cosine similarity of every filter of ``current`` with the same filter of ``initial``.

    Filters of all the layer's kernels are concatenated (a SeparableConv2D
    gives its depthwise filters, then its pointwise ones). A filter that is
    zero at both times counts as unchanged (1.0); one that is zero at only
    one of them as orthogonal (0.0).

    Returns:
        float64 array ``[filters]``; NaN for a filter with non-finite values.

    Example:
        >>> w0 = np.array([[1.0, 0.0], [0.0, 1.0]])  # two filters (columns)
        >>> filter_cosines("Dense", np.array([[1.0, 1.0], [0.0, 1.0]]), w0).round(3).tolist()
        [1.0, 0.707]
    """
    current, initial = _as_dict(current), _as_dict(initial)
    _check_same(current, initial)
    parts = []
    for name in current:
        a = filter_matrix(class_name, name, np.asarray(current[name], dtype=np.float64))
        b = filter_matrix(class_name, name, np.asarray(initial[name], dtype=np.float64))
        dot = np.einsum("ij,ij->i", a, b)
        na = np.sqrt(np.einsum("ij,ij->i", a, a))
        nb = np.sqrt(np.einsum("ij,ij->i", b, b))
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = dot / (na * nb)
        both_zero = (na == 0) & (nb == 0)
        one_zero = (na == 0) ^ (nb == 0)
        cos = np.where(both_zero, 1.0, np.where(one_zero, 0.0, cos))
        # Rounding can push |cos| a hair past 1.
        parts.append(np.clip(cos, -1.0, 1.0))
    return np.concatenate(parts) if parts else np.zeros(0)


def drift_summary(class_name, current, initial):
    """The drift scalars of one layer.

    Args:
        class_name: the layer's class name (decides which axis is a filter).
        current, initial: the layer's kernels by name, now and at the start.

    Returns:
        dict with the floats named in :data:`DRIFT_NAMES`.
    """
    cosines = filter_cosines(class_name, current, initial)
    if cosines.size == 0:
        mean = minimum = 1.0
    elif np.isnan(cosines).any():
        mean = minimum = float("nan")
    else:
        mean, minimum = float(cosines.mean()), float(cosines.min())
    return {
        "relative_change": relative_change(current, initial),
        "cosine_mean": mean,
        "cosine_min": minimum,
    }


def channel_health(samples):
    """Fractions of dead, saturated and non-finite channels of one layer.

    Args:
        samples: one array per probe image, channels first (``[C, ...]``),
            e.g. the tile stacks of an ``activations`` grid job, or a single
            ``[N, C, ...]`` array. All must have the same channel count.

    Returns:
        dict with the floats named in :data:`HEALTH_NAMES` (fractions of the
        layer's channels, in ``[0, 1]``).

    Example:
        >>> maps = np.stack([np.zeros((4, 4)), np.full((4, 4), 6.0), np.eye(4), np.full((4, 4), np.nan)])
        >>> channel_health([maps])
        {'dead_fraction': 0.25, 'saturated_fraction': 0.25, 'nonfinite_fraction': 0.25}
    """
    samples = list(samples)
    if not samples:
        raise ValueError("channel_health expects at least one sample. Received: none")
    channels = np.shape(samples[0])[0]
    if channels == 0:
        return {name: 0.0 for name in HEALTH_NAMES}
    nonzero = np.zeros(channels, bool)
    nonfinite = np.zeros(channels, bool)
    lo = np.full(channels, np.inf)
    hi = np.full(channels, -np.inf)
    for sample in samples:
        rows = np.asarray(sample).reshape(channels, -1)
        nonzero |= np.any(rows != 0, axis=1)
        finite = np.isfinite(rows)
        if finite.all():
            lo = np.minimum(lo, rows.min(axis=1))
            hi = np.maximum(hi, rows.max(axis=1))
        else:
            nonfinite |= ~finite.all(axis=1)
            lo = np.minimum(lo, np.where(finite, rows, np.inf).min(axis=1))
            hi = np.maximum(hi, np.where(finite, rows, -np.inf).max(axis=1))
    dead = ~nonzero & ~nonfinite
    saturated = ~nonfinite & nonzero & (lo == hi)
    return {
        "dead_fraction": float(dead.mean()),
        "saturated_fraction": float(saturated.mean()),
        "nonfinite_fraction": float(nonfinite.mean()),
    }
