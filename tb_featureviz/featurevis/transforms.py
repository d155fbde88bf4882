"""The random transform an optimisation step looks through: pad, jitter, zoom, rotate, jitter.

Every step sees the image through a random transform (Lucid's: pad 12,
jitter 8, zoom in [0.9, 1.1], rotate in [-10, 10] degrees, jitter 4),
composed here into one resample onto the canvas (:func:`canvas_size`);
without them the result is high-frequency noise. The draws of a sample
come from its own generator (:mod:`tb_featureviz.featurevis.seeding`).

The transform is :func:`sample_canvas`; on TensorFlow the step runs it as
``keras.ops.image.affine_transform`` (:func:`projective_transforms`). Pure:
``ops`` is ``numpy`` (default) or ``keras.ops``.

Example:
    >>> canvas_padding(128, 140), canvas_size(20, 32)
    ((6, 6), 32)
"""

import numpy as np

from tb_featureviz.featurevis import seeding

JITTER = 8  # first jitter: shift in [-JITTER/2, JITTER/2] pixels
ZOOMS = tuple(1 + (i - 5) / 50 for i in range(11))  # 0.90, 0.92, ... 1.10
ANGLES = tuple(range(-10, 11)) + (0,) * 5  # degrees; Lucid draws 0 more often
SMALL_JITTER = 4  # last jitter, after scale and rotation
FILL = 0.5  # value of the pad and of everything outside the image


def canvas_size(size, model_size=None):
    """The side of the canvas the model sees for an image of ``size`` pixels.

    It is the model's own input size when the model has a fixed one, and
    the image's size otherwise. Lucid's canvas varies from 126 to 154
    pixels around a 128-pixel image (pad 12, crops of 8 and 4, scales 0.9
    to 1.1); here the pad, jitters, scale and rotation are one resample
    (:func:`affine_from_draws`) onto a canvas of the image's size, which
    shows the pad wherever the transform moves the image off the canvas.
    The model's cost grows with the canvas' area: a 140-pixel canvas costs
    1.3 times a 128-pixel one for the same final activation (see
    ``docs/performance.md``).

    Example:
        >>> canvas_size(128), canvas_size(20, 32)
        (128, 32)
    """
    return int(model_size) if model_size is not None else int(size)


def random_draws(seed, key, steps):
    """One sample's random transform of each step: ``[steps, 6]`` float64.

    Columns: row and column shift before scaling (``[-4, 4]`` pixels),
    scale (:data:`ZOOMS`), angle in degrees (:data:`ANGLES`), row and
    column shift after rotating (``[-2, 2]`` pixels). Each column has a
    generator of its own, so the first steps' draws don't depend on ``steps``.
    """
    def column(index):
        return seeding.generator(seed, key, seeding.TRANSFORM_STREAM, index)

    shift, small = JITTER // 2, SMALL_JITTER // 2
    return np.stack([
        column(0).integers(-shift, shift + 1, size=steps),
        column(1).integers(-shift, shift + 1, size=steps),
        column(2).choice(np.array(ZOOMS), size=steps),
        column(3).choice(np.array(ANGLES, np.float64), size=steps),
        column(4).integers(-small, small + 1, size=steps),
        column(5).integers(-small, small + 1, size=steps),
    ], axis=1).astype(np.float64)


def canvas_padding(size, canvas):
    """``(before, after)``: pixels of :data:`FILL` around the image that make the canvas.

    Example:
        >>> canvas_padding(128, 140), canvas_padding(5, 8)
        ((6, 6), (1, 2))
    """
    before = (int(canvas) - int(size)) // 2
    return before, int(canvas) - int(size) - before


def affine_from_draws(draws, size, canvas):
    """``[..., 2, 3]`` float32 maps from canvas pixels ``(row, col)`` to image pixels.

    The image (``size`` square) sits on the canvas at the offset
    :func:`canvas_padding` gives, shifted by the first jitter, scaled and
    rotated about its centre, then shifted by the last jitter. Canvas
    pixel ``p`` shows image point ``A[:, :2] @ p + A[:, 2]``; no draws at
    all (zeros, scale 1) place the image untransformed.
    """
    draws = np.asarray(draws, np.float64)
    first, scale, angle, last = draws[..., 0:2], draws[..., 2], np.deg2rad(draws[..., 3]), draws[..., 4:6]
    cos, sin = np.cos(-angle) / scale, np.sin(-angle) / scale
    matrix = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    centre_image = (size - 1) / 2.0
    centre_canvas = canvas_padding(size, canvas)[0] + centre_image
    offset = centre_image - first - np.einsum("...ij,...j->...i", matrix, centre_canvas + last)
    return np.concatenate([matrix, offset[..., None]], -1).astype(np.float32)


def centred_affine(size, canvas, count=1):
    """``[count, 2, 3]`` maps placing the image on the canvas untransformed."""
    draws = np.zeros((count, 6))
    draws[:, 2] = 1.0
    return affine_from_draws(draws, size, canvas)


def projective_transforms(affine, size, canvas):
    """``affine`` maps as the ``[..., 8]`` float32 vectors ``keras.ops.image.affine_transform`` takes.

    They act on the image padded to the canvas (:func:`canvas_padding`),
    in ``(x, y) = (col, row)`` order: the compiled step pads the image and
    calls that op, whose result equals :func:`sample_canvas`.
    """
    affine = np.asarray(affine, np.float64)
    before = canvas_padding(size, canvas)[0]
    matrix, offset = affine[..., :2], affine[..., 2]
    zeros = np.zeros(affine.shape[:-2])
    return np.stack([matrix[..., 1, 1], matrix[..., 1, 0], offset[..., 1] + before,
                     matrix[..., 0, 1], matrix[..., 0, 0], offset[..., 0] + before, zeros, zeros],
                    -1).astype(np.float32)


def canvas_grid(canvas):
    """``[canvas * canvas, 2]`` float32 ``(row, col)`` of every canvas pixel, row-major."""
    rows, cols = np.meshgrid(np.arange(canvas), np.arange(canvas), indexing="ij")
    return np.stack([rows.ravel(), cols.ravel()], -1).astype(np.float32)


def sample_canvas(images, affine, canvas, ops=np):
    """The canvases ``[B, canvas, canvas, 3]`` that ``affine`` ``[B, 2, 3]`` makes of ``images``.

    Bilinear sampling of ``images`` ``[B, H, W, 3]``; points outside the
    image read :data:`FILL`. The image gets a one-pixel border of that
    value and coordinates are clamped into the bordered image, so a point
    far outside reads only border pixels. ``ops`` is ``numpy`` or
    ``keras.ops``; the gradient reaches ``images`` only.

    The compiled step runs this on JAX and torch; on TensorFlow it gets the
    same values from ``keras.ops.image.affine_transform``
    (:func:`projective_transforms`): there the gather's gradient, a
    scatter, costs several times the native op.
    """
    batch, height, width = int(images.shape[0]), int(images.shape[1]), int(images.shape[2])
    padded = ops.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="constant", constant_values=FILL)
    flat = ops.reshape(padded, (batch * (height + 2) * (width + 2), images.shape[3]))
    points = ops.add(ops.einsum("bij,pj->bpi", affine[:, :, :2], canvas_grid(canvas)), affine[:, None, :, 2])
    row = ops.clip(points[..., 0] + 1.0, 0.0, height + 1.0)
    col = ops.clip(points[..., 1] + 1.0, 0.0, width + 1.0)
    row0 = ops.minimum(ops.floor(row), float(height))
    col0 = ops.minimum(ops.floor(col), float(width))
    w_row = (row - row0)[..., None]
    w_col = (col - col0)[..., None]
    base = (np.arange(batch) * ((height + 2) * (width + 2)))[:, None].astype(np.int32)
    index = ops.add(_to_int(ops, row0) * (width + 2) + _to_int(ops, col0), base)

    def read(offset):
        return ops.take(flat, index + offset, axis=0)

    top = read(0) * (1.0 - w_col) + read(1) * w_col
    bottom = read(width + 2) * (1.0 - w_col) + read(width + 3) * w_col
    out = top * (1.0 - w_row) + bottom * w_row
    return ops.reshape(out, (batch, canvas, canvas, images.shape[3]))


def _to_int(ops, values):
    return values.astype(np.int32) if ops is np else ops.cast(values, "int32")
