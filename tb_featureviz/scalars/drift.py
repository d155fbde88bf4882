"""Pure array math: how far kernels moved from their starting values.

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

Which axis of a kernel is a filter is the layer class's rule, owned by
:mod:`tb_featureviz.render.kernels`; channel health lives in
:mod:`tb_featureviz.scalars.health`.

Example:
    >>> import numpy as np
    >>> w0 = {"kernel": np.ones((3, 3, 2, 4), np.float32)}
    >>> w = {"kernel": w0["kernel"] * 1.5}
    >>> d = drift_summary("Conv2D", w, w0)
    >>> round(d["relative_change"], 3), round(d["cosine_mean"], 3), round(d["cosine_min"], 3)
    (0.5, 1.0, 1.0)
"""

import numpy as np

from tb_featureviz.render import kernels

#: Names of the drift scalars written per layer, in this order.
DRIFT_NAMES = ("relative_change", "cosine_mean", "cosine_min")



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


def filter_cosines(layer_class, current, initial):
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
        a = kernels.filter_matrix(layer_class, name, np.asarray(current[name], dtype=np.float64))
        b = kernels.filter_matrix(layer_class, name, np.asarray(initial[name], dtype=np.float64))
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


def drift_summary(layer_class, current, initial):
    """The drift scalars of one layer.

    Args:
        layer_class: the layer's class, or its name (its kernel rule decides
            which axis is a filter; see :func:`tb_featureviz.render.kernels.filter_matrix`).
        current, initial: the layer's kernels by name, now and at the start.

    Returns:
        dict with the floats named in :data:`DRIFT_NAMES`.
    """
    cosines = filter_cosines(layer_class, current, initial)
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
