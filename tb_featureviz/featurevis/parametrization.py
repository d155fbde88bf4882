"""The image as parameters: a Fourier spectrum per colour, decorrelated, squashed to (0, 1).

The recipe is Lucid's (and lucent's) default: the image is a Fourier
spectrum per colour, scaled by 1/frequency so that low frequencies
dominate, turned into pixels by an inverse real 2-D FFT, its colours
decorrelated by a fixed 3x3 matrix and squashed to [0, 1] by a sigmoid.

Data and arithmetic only: no Keras, no I/O, inputs never mutated. The
functions that run inside the compiled step (:func:`spectrum_to_image`,
:func:`irfft2`) take the array namespace as ``ops``: ``numpy`` (the
default, for tests and reference values) or ``keras.ops`` (inside the step,
on any backend), so the recipe is written once. The inverse FFT is the
backend's own.

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

from tb_featureviz.featurevis import seeding

#: Lucid's colour-correlation square root (ImageNet colours), rows are RGB.
COLOR_CORRELATION_SVD_SQRT = np.array(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], np.float32)


#: Largest column norm of that matrix; dividing by it keeps colours in range.
MAX_NORM_SVD_SQRT = float(np.max(np.linalg.norm(COLOR_CORRELATION_SVD_SQRT.astype(np.float64), axis=0)))
COLOR_CORRELATION_NORMALIZED = (COLOR_CORRELATION_SVD_SQRT / MAX_NORM_SVD_SQRT).astype(np.float32)
SPECTRUM_SD = 0.01  # standard deviation of the initial spectrum
DECAY_POWER = 1.0  # spectrum scaled by 1 / frequency ** DECAY_POWER
SPECTRUM_DIVISOR = 4.0  # Lucid's "magic" 4: the inverse FFT's output is divided by it


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
        >>> (np.round(irfft2(x.real, x.imag, 3, 4), 6) + 0.0).tolist()[0]  # + 0.0: no -0.0
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


def initial_spectrum(seed, key, param):
    """One sample's starting parameters: normal, standard deviation 0.01 (float32)."""
    return (seeding.generator(seed, key, seeding.INIT_STREAM).normal(size=param.spectrum_shape) * SPECTRUM_SD).astype(np.float32)


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


def to_uint8(images):
    """Images in [0, 1] as uint8 (rounded, clipped)."""
    return np.clip(np.rint(np.asarray(images, np.float64) * 255.0), 0, 255).astype(np.uint8)
