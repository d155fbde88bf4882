"""Pure parts of feature visualization: image parametrisation, random transforms, objectives.

The recipe is Lucid's (and lucent's) default: the image is a Fourier
spectrum per colour, scaled by 1/frequency so that low frequencies
dominate, turned into pixels by an inverse real 2-D FFT, its colours
decorrelated by a fixed 3x3 matrix and squashed to [0, 1] by a sigmoid.
Every optimisation step looks at the image through a random transform
(pad, jitter, scale, rotate, jitter, composed into one resample onto the
canvas, :func:`canvas_size`); without them the result is high-frequency
noise.

Everything here is data and arithmetic: no Keras, no TensorFlow, no I/O,
inputs never mutated. The functions that run inside the compiled step
(:func:`spectrum_to_image`, :func:`sample_canvas`, :func:`objective_values`)
take the array namespace as ``ops``: ``numpy`` (the default, for tests and
reference values) or ``keras.ops`` (inside the step, on any backend), so
the recipe is written once. The inverse FFT is the backend's own
(:func:`irfft2`). The transform is :func:`sample_canvas`; on TensorFlow the step
runs it as ``keras.ops.image.affine_transform`` (:func:`projective_transforms`).

Every random draw of a sample comes from its own generator, seeded by
``(seed, key, stream)`` where ``key`` is the sample's channel: a channel
gets the same start and the same transforms whether it is optimised alone
or in a batch.

Example:
    >>> p = parametrization(8, 8)
    >>> spectrum = initial_spectrum(seed=0, key=3, param=p)
    >>> image = spectrum_to_image(spectrum[None], p)
    >>> image.shape, bool(0.0 < image.min() and image.max() < 1.0)
    ((1, 8, 8, 3), True)
"""

import dataclasses
import math

import numpy as np

#: Lucid's colour-correlation square root (ImageNet colours), rows are RGB.
COLOR_CORRELATION_SVD_SQRT = np.array(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], np.float32)
#: Largest column norm of that matrix; dividing by it keeps colours in range.
MAX_NORM_SVD_SQRT = float(np.max(np.linalg.norm(COLOR_CORRELATION_SVD_SQRT.astype(np.float64), axis=0)))
COLOR_CORRELATION_NORMALIZED = (COLOR_CORRELATION_SVD_SQRT / MAX_NORM_SVD_SQRT).astype(np.float32)

SPECTRUM_SD = 0.01  # standard deviation of the initial spectrum
DECAY_POWER = 1.0  # spectrum scaled by 1 / frequency ** DECAY_POWER
SPECTRUM_DIVISOR = 4.0  # Lucid's "magic" 4: the inverse FFT's output is divided by it

LEARNING_RATE = 0.05
ADAM_BETA_1 = 0.9
ADAM_BETA_2 = 0.999
ADAM_EPSILON = 1e-8

JITTER = 8  # first jitter: shift in [-JITTER/2, JITTER/2] pixels
SCALES = tuple(1 + (i - 5) / 50 for i in range(11))  # 0.90, 0.92, ... 1.10
ANGLES = tuple(range(-10, 11)) + (0,) * 5  # degrees; Lucid draws 0 more often
SMALL_JITTER = 4  # last jitter, after scale and rotation
FILL = 0.5  # value of the pad and of everything outside the image

OBJECTIVES = ("channel", "neuron", "direction")
_SPATIAL = {"channel": "mean", "neuron": "centre", "direction": "mean"}

# The streams of a sample's generator (the last entry of its seed sequence).
_INIT_STREAM, _TRANSFORM_STREAM, _NOISE_STREAM = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class Parametrization:
    """The constants that turn a spectrum into an ``height x width`` RGB image.

    Attributes:
        height, width: image size.
        scale: ``[height, width // 2 + 1]`` spectrum scale (1 / frequency).
        color: ``[3, 3]`` normalised colour-correlation matrix.
    """

    height: int
    width: int
    scale: np.ndarray
    color: np.ndarray

    @property
    def spectrum_shape(self):
        """Shape of one sample's parameters: (real/imaginary, colour, row freq, col freq)."""
        return (2, 3, self.height, self.width // 2 + 1)


def spectrum_frequencies(height, width):
    """``[height, width // 2 + 1]`` frequency magnitude of each real-FFT coefficient.

    Lucid keeps ``width // 2 + 2`` columns for an odd width (one more than
    an inverse real FFT reads); here the count is always the right one.

    Example:
        >>> spectrum_frequencies(4, 4)[:, 0].tolist()
        [0.0, 0.25, 0.5, 0.25]
    """
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    return np.sqrt(fx * fx + fy * fy)


def spectrum_scale(height, width, decay_power=DECAY_POWER):
    """``1 / max(frequency, 1 / max(height, width)) ** decay_power`` (float32)."""
    freqs = spectrum_frequencies(height, width)
    return (1.0 / np.maximum(freqs, 1.0 / max(height, width)) ** decay_power).astype(np.float32)


def irfft2(real, imag, height, width, ops=np):
    """``numpy.fft.irfft2(real + 1j * imag, s=(height, width), norm="ortho")`` over the last two axes.

    ``real`` and ``imag`` are ``[..., height, width // 2 + 1]``; the result
    is real, ``[..., height, width]``. With ``keras.ops`` it is the
    backend's own FFT (an inverse complex FFT along the rows, written as
    ``conj(fft(conj(x))) / height`` since Keras has no 1-D inverse, then an
    inverse real FFT along the columns), as Lucid used TensorFlow's
    ``irfft2d``: a matrix-product form cost 13 % of a step on Xception.
    The imaginary parts of the zero and Nyquist columns are ignored, as
    numpy ignores them.

    Example:
        >>> x = np.fft.rfft2(np.arange(12.0).reshape(3, 4), norm="ortho")
        >>> np.round(irfft2(x.real, x.imag, 3, 4), 6).tolist()[0]
        [0.0, 1.0, 2.0, 3.0]
    """
    if ops is np:
        dtype = np.result_type(real, imag, np.float32)
        return np.fft.irfft2(np.asarray(real) + 1j * np.asarray(imag), s=(height, width), norm="ortho").astype(dtype)
    re, im = ops.fft((ops.swapaxes(real, -1, -2), -ops.swapaxes(imag, -1, -2)))
    rows = (ops.swapaxes(re, -1, -2), -ops.swapaxes(im, -1, -2))
    # Backward norms: 1 / height here, 1 / width in irfft; ortho is sqrt(height * width) times that.
    return ops.irfft(rows, fft_length=width) * (math.sqrt(height * width) / height)


def parametrization(height, width):
    """The :class:`Parametrization` of an ``height x width`` image.

    Raises:
        ValueError: a size below 2 pixels.
    """
    if int(height) < 2 or int(width) < 2:
        raise ValueError(f"parametrization expects an image of at least 2x2 pixels. Received: {height}x{width}")
    return Parametrization(int(height), int(width), spectrum_scale(height, width), COLOR_CORRELATION_NORMALIZED)


def _generator(seed, key, *stream):
    return np.random.default_rng([int(seed), int(key), *stream])


def initial_spectrum(seed, key, param):
    """One sample's starting parameters: normal, standard deviation 0.01 (float32)."""
    return (_generator(seed, key, _INIT_STREAM).normal(size=param.spectrum_shape) * SPECTRUM_SD).astype(np.float32)


def spectrum_to_image(spectrum, param, ops=np):
    """RGB images ``[B, height, width, 3]`` in (0, 1) from parameters ``[B, 2, 3, h, w//2+1]``.

    Scale by 1/frequency, inverse real FFT (:func:`irfft2`), divide by 4,
    decorrelate colours, sigmoid. ``ops`` is ``numpy`` or
    ``keras.ops``.
    """
    scaled = ops.multiply(spectrum, param.scale)
    pixels = irfft2(scaled[:, 0], scaled[:, 1], param.height, param.width, ops=ops) / SPECTRUM_DIVISOR
    colours = ops.einsum("bcnm,dc->bnmd", pixels, param.color)
    return 1.0 / (1.0 + ops.exp(-colours))


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
    scale (:data:`SCALES`), angle in degrees (:data:`ANGLES`), row and
    column shift after rotating (``[-2, 2]`` pixels). Each column has a
    generator of its own, so the first steps' draws don't depend on ``steps``.
    """
    def column(index):
        return _generator(seed, key, _TRANSFORM_STREAM, index)

    shift, small = JITTER // 2, SMALL_JITTER // 2
    return np.stack([
        column(0).integers(-shift, shift + 1, size=steps),
        column(1).integers(-shift, shift + 1, size=steps),
        column(2).choice(np.array(SCALES), size=steps),
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


def adam_update(param, grad, m, v, step, learning_rate=LEARNING_RATE, ops=np):
    """One Adam step (``step`` counts from 1) descending ``grad``: ``(param, m, v)``."""
    m = ADAM_BETA_1 * m + (1.0 - ADAM_BETA_1) * grad
    v = ADAM_BETA_2 * v + (1.0 - ADAM_BETA_2) * ops.square(grad)
    m_hat = m / (1.0 - ADAM_BETA_1 ** step)
    v_hat = v / (1.0 - ADAM_BETA_2 ** step)
    return param - learning_rate * m_hat / (ops.sqrt(v_hat) + ADAM_EPSILON), m, v


def noise_image(seed, key, size):
    """The random-noise image a channel's result is compared with: uniform [0, 1), float32."""
    return _generator(seed, key, _NOISE_STREAM).random((size, size, 3)).astype(np.float32)


def to_uint8(images):
    """Images in [0, 1] as uint8 (rounded, clipped)."""
    return np.clip(np.rint(np.asarray(images, np.float64) * 255.0), 0, 255).astype(np.uint8)


#: Largest ratio a quality figure states: "at least this many times noise".
#: A channel that noise leaves at 0 reaches it with any positive objective.
RATIO_CAP = 1000.0

#: Status words of a channel's quality, beside its ratio.
STATUS_OK, STATUS_NOISE_OFF, STATUS_DEAD, STATUS_NONFINITE = "ok", "noise_off", "dead", "nonfinite"


def quality_figures(objective, noise_objective, dead=None):
    """Per-channel quality: the objective on the result, on noise, their ratio and a status word.

    ``ratio = objective / |noise_objective|``, clipped to
    ``[-RATIO_CAP, RATIO_CAP]``: how many times the noise value the result
    reaches; above 1 only when the result beats noise, negative when it
    ends below zero. Always finite: where noise gives exactly 0 the ratio
    is ``RATIO_CAP`` with the objective's sign (0 when both are 0), and a
    non-finite value gives 0.

    ``status``: ``"dead"`` where ``dead`` says the channel stayed off
    however the image was pushed; ``"nonfinite"`` where a value is not
    finite; ``"noise_off"`` where noise leaves the channel at 0 (the
    ratio is then a bound, not a measurement); ``"ok"`` otherwise.

    Example:
        >>> q = quality_figures([2.0, 1.0, 0.0], [0.5, 0.0, 0.0], dead=[False, False, True])
        >>> q["ratio"], q["status"]
        ([4.0, 1000.0, 0.0], ['ok', 'noise_off', 'dead'])
    """
    objective = np.asarray(objective, np.float64)
    noise = np.asarray(noise_objective, np.float64)
    dead = np.zeros(objective.shape, bool) if dead is None else np.asarray(dead, bool)
    finite = np.isfinite(objective) & np.isfinite(noise)
    safe_objective, safe_noise = np.where(finite, objective, 0.0), np.where(finite, np.abs(noise), 0.0)
    # objective / max(|noise|, |objective| / cap) is the clipped ratio without a division by 0.
    floor = np.maximum(safe_noise, np.abs(safe_objective) / RATIO_CAP)
    ratio = np.divide(safe_objective, floor, out=np.zeros_like(safe_objective), where=floor > 0)
    status = np.where(dead, STATUS_DEAD, np.where(~finite, STATUS_NONFINITE,
                                                  np.where(safe_noise == 0, STATUS_NOISE_OFF, STATUS_OK)))
    return {"objective": objective.tolist(), "noise_objective": noise.tolist(),
            "ratio": np.clip(ratio, -RATIO_CAP, RATIO_CAP).tolist(), "status": [str(w) for w in status]}
