"""Pure array math: channel health of a layer's feature maps.

Channel health reads the feature maps of the probe images: a channel is
**dead** when it is exactly zero everywhere on every probe image,
**saturated** when it holds one and the same non-zero value everywhere on
every probe image (a unit stuck at a bound, e.g. ReLU6 at 6 or a sigmoid
at 1), and **non-finite** when any of its values is NaN or infinite. The
three are exclusive: a channel with a non-finite value is neither dead nor
saturated. Numpy only; inputs are never mutated.

Example:
    >>> import numpy as np
    >>> channel_health([np.zeros((2, 4, 4))])["dead_fraction"]
    1.0
"""

import numpy as np

#: Names of the channel-health scalars written per layer, in this order.
HEALTH_NAMES = ("dead_fraction", "saturated_fraction", "nonfinite_fraction")


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
