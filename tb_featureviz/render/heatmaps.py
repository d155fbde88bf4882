"""Heatmaps over pictures: bilinear upsampling, a perceptual colour map, the blend.

An attribution map lives at its layer's resolution (Xception's last block:
10 x 10); it is drawn over the probe picture it explains. The PNG a logged
attribution grid holds is this blend, so TensorBoard's stock Images tab
shows something readable; the panel draws its own overlay from the raw
maps in the record, with an opacity control. Pure numpy.

Example:
    >>> upsample(np.array([[0.0, 1.0]]), 1, 4).round(3).tolist()
    [[0.0, 0.25, 0.75, 1.0]]
"""

import numpy as np

#: viridis, sampled from matplotlib's table (the panel's perceptual map uses the same stops).
VIRIDIS_STOPS = (
    (0.0, (68, 1, 84)), (0.125, (72, 40, 120)), (0.25, (62, 73, 137)), (0.375, (49, 104, 142)),
    (0.5, (38, 130, 142)), (0.625, (31, 158, 137)), (0.75, (53, 183, 121)), (0.875, (110, 206, 88)),
    (1.0, (253, 231, 37)),
)

#: Weight of the heatmap's colour in the blend the PNG holds.
OPACITY = 0.5


def _axis_weights(source, target):
    """Half-pixel-centred bilinear sampling positions: ``(lower index, upper index, upper weight)``."""
    position = (np.arange(target) + 0.5) * (source / target) - 0.5
    position = np.clip(position, 0.0, source - 1)
    lower = np.floor(position).astype(np.int64)
    upper = np.minimum(lower + 1, source - 1)
    return lower, upper, position - lower


def upsample(image, height, width):
    """``image`` ``[h, w]`` (or ``[h, w, c]``) resized to ``height x width``, bilinear, half-pixel centres.

    The sampling of PIL's and TensorFlow's bilinear resize (without
    antialiasing): a pixel's centre maps to ``(i + 0.5) * scale - 0.5``,
    clamped to the image.
    """
    image = np.asarray(image, np.float64)
    rows0, rows1, row_weight = _axis_weights(image.shape[0], int(height))
    cols0, cols1, col_weight = _axis_weights(image.shape[1], int(width))
    extra = (None,) * (image.ndim - 2)
    top = image[rows0][:, cols0] * (1 - col_weight)[(None, slice(None)) + extra] \
        + image[rows0][:, cols1] * col_weight[(None, slice(None)) + extra]
    bottom = image[rows1][:, cols0] * (1 - col_weight)[(None, slice(None)) + extra] \
        + image[rows1][:, cols1] * col_weight[(None, slice(None)) + extra]
    return top * (1 - row_weight)[(slice(None), None) + extra] + bottom * row_weight[(slice(None), None) + extra]


def colorize(values, lo, hi):
    """uint8 RGB ``[..., 3]`` of ``values`` on the viridis scale from ``lo`` to ``hi`` (clipped).

    Example:
        >>> colorize(np.array([0.0, 1.0]), 0.0, 1.0).tolist()
        [[68, 1, 84], [253, 231, 37]]
    """
    values = np.asarray(values, np.float64)
    span = float(hi) - float(lo)
    fraction = np.clip((values - lo) / span, 0.0, 1.0) if span > 0 else np.zeros_like(values)
    stops = np.array([s for s, _ in VIRIDIS_STOPS])
    colours = np.array([c for _, c in VIRIDIS_STOPS], np.float64)
    rgb = np.stack([np.interp(fraction, stops, colours[:, channel]) for channel in range(3)], axis=-1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def overlay(picture, heatmap, lo, hi, opacity=OPACITY):
    """``picture`` (uint8 ``[H, W, 3]``) with ``heatmap`` (``[h, w]``) upsampled and coloured over it.

    ``lo``/``hi`` set the colour scale (e.g. 0 and the map's maximum).

    Example:
        >>> picture = np.zeros((2, 2, 3), np.uint8)
        >>> overlay(picture, np.ones((1, 1)), 0.0, 1.0, opacity=1.0)[0, 0].tolist()
        [253, 231, 37]
    """
    picture = np.asarray(picture)
    if picture.ndim == 2:
        picture = np.repeat(picture[..., None], 3, axis=-1)
    elif picture.shape[-1] == 1:
        picture = np.repeat(picture, 3, axis=-1)
    colours = colorize(upsample(heatmap, picture.shape[0], picture.shape[1]), lo, hi).astype(np.float64)
    blended = (1.0 - opacity) * picture[..., :3].astype(np.float64) + opacity * colours
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)
