"""Probe images: load, check and resize the pictures whose feature maps are logged.

Accepts numpy arrays (``HWC`` or ``NHWC``, uint8 or float), PIL images and
file paths, alone or in a list. Everything is checked before any model
runs, so bad input never leaves a half-written step.

Example:
    >>> import numpy as np
    >>> probe = load_probe(np.zeros((10, 12, 3), np.uint8), input_shape=(None, 8, 8, 3))
    >>> probe.batch.shape, probe.display.shape
    ((1, 8, 8, 3), (1, 8, 8, 3))
"""

import dataclasses
import os

import numpy as np


@dataclasses.dataclass(frozen=True)
class Probe:
    """A checked probe batch.

    Attributes:
        batch: float32 ``[N, H, W, C]`` (or ``[N, C, H, W]`` for a
            channels-first model) fed to the model, after ``preprocess``.
        display: uint8 ``[N, H, W, C]`` the same pictures as they looked
            before ``preprocess``, for showing beside the feature maps.
    """

    batch: np.ndarray
    display: np.ndarray


def _open_path(path):
    """The picture in ``path``, fully decoded; a ValueError naming the file if it isn't one."""
    import struct
    import zlib

    from PIL import Image

    if os.path.isdir(path):
        problem = "a directory"
    elif os.path.getsize(path) == 0:
        problem = "an empty file (0 bytes)"
    else:
        try:
            # verify() checks what decoding alone skips (the CRC of every PNG
            # chunk) but leaves the image unusable: open it again to decode.
            with Image.open(path) as image:
                image.verify()
            with Image.open(path) as image:
                image.load()
                return image.copy()
        except Image.UnidentifiedImageError:
            problem = "a file PIL cannot identify as any image format"
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error,
                Image.DecompressionBombError) as error:
            problem = f"a damaged or unreadable image ({type(error).__name__}: {error})"
    raise ValueError(
        f"Probe image file {path!r} is not a readable image: expected a picture PIL can decode "
        f"(PNG, JPEG, ...). Received: {problem}"
    )


def check_source(images, owner=None):
    """The checks of probe images that read no picture: None, an empty list, a missing file.

    The callback runs them when it is made; :func:`load_probe` runs them too.

    Example:
        >>> check_source([], owner="FeatureVizCallback")
        Traceback (most recent call last):
        ValueError: FeatureVizCallback: probe images expect at least one image. Received: an empty list

    Raises:
        ValueError, FileNotFoundError: naming ``owner`` when given.
    """
    prefix = f"{owner}: probe" if owner else "Probe"
    if images is None:
        raise ValueError(f"{prefix} images expect an array, a PIL image, a path or a list. Received: None")
    if isinstance(images, (list, tuple)) and not images:
        raise ValueError(f"{prefix} images expect at least one image. Received: an empty list")
    if isinstance(images, (str, os.PathLike)) and not os.path.exists(images):
        raise FileNotFoundError(f"{prefix} image file not found: {os.fspath(images)!r}")


def _as_items(images):
    """Split the argument into a list of single pictures (arrays or PIL images)."""
    from PIL import Image

    check_source(images)
    if isinstance(images, (str, os.PathLike)):
        return [_open_path(os.fspath(images))]
    if isinstance(images, Image.Image):
        return [images]
    if isinstance(images, np.ndarray) or hasattr(images, "__array__") and not isinstance(images, (list, tuple)):
        array = np.asarray(images)
        if array.ndim == 4:
            if array.shape[0] == 0:
                raise ValueError(f"Probe images expect at least one image. Received: an empty batch of shape {array.shape}")
            return list(array)
        if array.ndim in (2, 3):
            return [array]
        raise ValueError(
            "Probe images expect an array of shape (H, W, C) or (N, H, W, C). "
            f"Received: shape={array.shape}"
        )
    if isinstance(images, (list, tuple)):
        items = []
        for item in images:
            items.extend(_as_items(item))
        return items
    raise TypeError(
        "Probe images expect numpy arrays, PIL images or file paths. "
        f"Received: {type(images).__name__}"
    )


def _to_uint8(array):
    """Display copy of one picture: uint8 as is, floats in [0, 1] or [0, 255] scaled."""
    if array.dtype == np.uint8:
        return array
    values = array.astype(np.float32)
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() >= 0.0 and finite.max() <= 1.0:
        values = values * 255.0
    return np.clip(np.nan_to_num(values), 0, 255).round().astype(np.uint8)


def _fit(item, height, width, channels):
    """One picture as float32 ``[H, W, C]`` at the wanted size and channel count."""
    from PIL import Image

    if isinstance(item, Image.Image):
        if 0 in item.size:
            raise ValueError(
                "Probe images expect pictures of at least 1x1 pixels. "
                f"Received: a PIL image of width {item.size[0]} and height {item.size[1]}"
            )
        mode = {1: "L", 3: "RGB"}.get(channels)
        if mode is None:
            raise ValueError(f"Probe images as PIL images need a model with 1 or 3 input channels. Received: {channels}")
        item = item.convert(mode)
        if height and width and item.size != (width, height):
            item = item.resize((width, height), Image.BILINEAR)
        array = np.asarray(item)
        return (array[..., None] if array.ndim == 2 else array).astype(np.float32), array
    array = np.asarray(item)
    if 0 in array.shape[:2]:
        raise ValueError(
            "Probe images expect pictures of at least 1x1 pixels. "
            f"Received: an image of shape {array.shape}"
        )
    if array.ndim == 2:
        array = array[..., None]
    if array.dtype.kind not in "fiu":
        raise TypeError(f"Probe images expect a numeric array. Received: dtype={array.dtype}")
    if array.shape[-1] != channels:
        raise ValueError(
            f"Probe images expect {channels} channels (the model's input). "
            f"Received: an image of shape {array.shape}"
        )
    if height and width and array.shape[:2] != (height, width):
        if array.dtype == np.uint8:
            planes = [np.asarray(Image.fromarray(array[..., c]).resize((width, height), Image.BILINEAR))
                      for c in range(channels)]
        else:
            planes = [np.asarray(Image.fromarray(array[..., c].astype(np.float32), mode="F")
                                 .resize((width, height), Image.BILINEAR)) for c in range(channels)]
        array = np.stack(planes, axis=-1).astype(array.dtype)
    return array.astype(np.float32), array


def _preprocessed(preprocess, batch):
    """``preprocess(batch)`` as float32, refused unless it is a numeric array of the batch's shape."""
    expected = (
        f"Probe images expect preprocess to return a numeric array of shape {batch.shape} "
        "(the shape of the batch it is given)"
    )
    result = preprocess(batch)
    if result is None:
        raise TypeError(f"{expected}. Received: None (does preprocess return its result?)")
    try:
        array = np.asarray(result)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{expected}. Received: {type(result).__name__} ({error})") from error
    # same_kind admits ints, floats and extension floats such as bfloat16;
    # it turns away strings, objects and complex numbers.
    if not np.can_cast(array.dtype, np.float32, casting="same_kind"):
        raise TypeError(f"{expected}. Received: {type(result).__name__} of dtype {array.dtype}")
    if array.shape != batch.shape:
        raise ValueError(f"{expected}. Received: shape {array.shape}")
    return np.asarray(array, dtype=np.float32)


def load_probe(images, input_shape, preprocess=None, data_format="channels_last"):
    """Check, resize and preprocess probe images for a model input.

    Args:
        images: one picture or a list (array HWC/NHWC, PIL image, path).
        input_shape: the model's input shape including batch, e.g.
            ``(None, 299, 299, 3)``; ``None`` sizes mean "any size".
        preprocess: optional function applied to the float32 batch, e.g.
            ``keras.applications.xception.preprocess_input``.
        data_format: ``"channels_first"`` if the model takes ``NCHW``.

    Returns:
        A :class:`Probe`.

    Raises:
        ValueError, TypeError, FileNotFoundError: for pictures that don't
        fit the model, files that are not readable images, empty pictures,
        and a ``preprocess`` that returns anything but a numeric array of
        the batch's shape; the message names what was expected and received.
    """
    shape = tuple(input_shape)
    if len(shape) != 4:
        raise ValueError(
            "Probe images need a model with one image input of shape (batch, H, W, C). "
            f"Received: a model input of shape {shape}"
        )
    if data_format == "channels_first":
        channels, height, width = shape[1], shape[2], shape[3]
    else:
        height, width, channels = shape[1], shape[2], shape[3]
    if channels is None:
        raise ValueError(f"Probe images need a model input with a known channel count. Received: input shape {shape}")
    items = _as_items(images)
    fitted = [_fit(item, height, width, channels) for item in items]
    sizes = {f[0].shape for f in fitted}
    if len(sizes) != 1:
        raise ValueError(
            "Probe images of a model without a fixed input size must all have the same size. "
            f"Received sizes: {sorted(sizes)}"
        )
    batch = np.stack([f[0] for f in fitted])  # a new array: preprocess may work in place
    display = np.stack([_to_uint8(f[1]) for f in fitted])
    if preprocess is not None:
        batch = _preprocessed(preprocess, batch)
    if data_format == "channels_first":
        batch = np.ascontiguousarray(np.moveaxis(batch, -1, 1))
    return Probe(batch=batch, display=display)
