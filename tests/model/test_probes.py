"""Probe images (tb_featureviz.model.probes): broken files, empty pictures and a bad preprocess are
refused by load_probe with a message naming what was expected and received, before any write."""

import os
import re

import numpy as np
import pytest
from PIL import Image

from tb_featureviz.model.probes import load_probe

pytestmark = pytest.mark.backends  # also run in .venv-jax and .venv-torch (.ci/run)

INPUT_SHAPE = (None, 8, 8, 3)
NOT_READABLE = "is not a readable image: expected a picture PIL can decode (PNG, JPEG, ...). Received: "


def picture(height=8, width=8):
    """A deterministic RGB picture: every pixel different, so any mix-up shows."""
    values = np.arange(height * width * 3, dtype=np.int64).reshape(height, width, 3) * 7 % 256
    return values.astype(np.uint8)


def png_bytes(tmp_path, pixels):
    path = tmp_path / "source.png"
    Image.fromarray(pixels).save(path)
    return path.read_bytes()


def chunk_end(data, chunk_type):
    """Index just past the data of the first chunk of ``chunk_type``: where its CRC starts."""
    start = data.index(chunk_type)
    length = int.from_bytes(data[start - 4 : start], "big")
    return start + 4 + length


def not_readable(path, received):
    return re.escape(f"Probe image file {str(path)!r} {NOT_READABLE}{received}") + "$"


def test_a_good_png_file_loads_with_its_exact_pixels(tmp_path):
    path = tmp_path / "good.png"
    Image.fromarray(picture()).save(path)
    probe = load_probe(str(path), INPUT_SHAPE)
    np.testing.assert_array_equal(probe.display[0], picture())
    np.testing.assert_array_equal(probe.batch[0], picture().astype(np.float32))
    # pathlib paths and lists of paths take the same way.
    assert load_probe([path, path], INPUT_SHAPE).batch.shape == (2, 8, 8, 3)


def test_a_text_file_is_refused_by_name(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is not a picture\n")
    with pytest.raises(ValueError, match=not_readable(path, "a file PIL cannot identify as any image format")):
        load_probe(str(path), INPUT_SHAPE)


def test_an_empty_file_is_refused_by_name(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=not_readable(path, "an empty file (0 bytes)")):
        load_probe(str(path), INPUT_SHAPE)


@pytest.mark.parametrize("chunk,received", [
    # Decoding alone never checks the CRC of the image data chunk: PIL would
    # hand back the picture. verify() does.
    (b"IDAT", "a damaged or unreadable image (SyntaxError: broken PNG file (bad header checksum in b'IDAT'))"),
    (b"IHDR", "a file PIL cannot identify as any image format"),
], ids=["data", "header"])
def test_a_png_with_a_bad_crc_is_refused(tmp_path, chunk, received):
    data = bytearray(png_bytes(tmp_path, picture()))
    data[chunk_end(data, chunk)] ^= 0xFF
    path = tmp_path / "bad_crc.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=not_readable(path, received)):
        load_probe(str(path), INPUT_SHAPE)


def test_a_truncated_png_is_refused(tmp_path):
    # Random pixels don't compress: half the file cuts the image data itself.
    pixels = np.random.default_rng(0).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    data = png_bytes(tmp_path, pixels)
    path = tmp_path / "truncated.png"
    path.write_bytes(data[: len(data) // 2])
    received = "a damaged or unreadable image (OSError: Truncated File Read)"
    with pytest.raises(ValueError, match=not_readable(path, received)):
        load_probe(str(path), INPUT_SHAPE)


def test_a_png_without_its_end_chunk_is_refused(tmp_path):
    data = png_bytes(tmp_path, picture())
    path = tmp_path / "no_end.png"
    path.write_bytes(data[:-12])  # IEND: length, type and CRC, 12 bytes
    received = "a damaged or unreadable image (OSError: truncated PNG file)"
    with pytest.raises(ValueError, match=not_readable(path, received)):
        load_probe(str(path), INPUT_SHAPE)


def test_a_directory_is_refused_and_a_missing_file_keeps_its_error(tmp_path):
    folder = tmp_path / "pictures.png"
    folder.mkdir()
    with pytest.raises(ValueError, match=not_readable(folder, "a directory")):
        load_probe(str(folder), INPUT_SHAPE)
    missing = str(tmp_path / "missing.png")
    with pytest.raises(FileNotFoundError, match=re.escape(f"Probe image file not found: {missing!r}") + "$"):
        load_probe(missing, INPUT_SHAPE)


def test_a_broken_file_in_a_list_is_named(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(picture()).save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff" + b"\x00" * 5)  # a JPEG signature and nothing after it
    with pytest.raises(ValueError, match="^" + re.escape(f"Probe image file {str(bad)!r} {NOT_READABLE}")):
        load_probe([str(good), str(bad)], INPUT_SHAPE)


@pytest.mark.parametrize(
    "images, received",
    [
        (np.zeros((0, 10, 3), np.uint8), "an image of shape (0, 10, 3)"),
        (np.zeros((10, 0, 3), np.float32), "an image of shape (10, 0, 3)"),
        (np.zeros((0, 0), np.uint8), "an image of shape (0, 0)"),
        (np.zeros((2, 5, 0, 3), np.uint8), "an image of shape (5, 0, 3)"),
        ([picture(), np.zeros((0, 8, 3), np.uint8)], "an image of shape (0, 8, 3)"),
        (Image.new("RGB", (0, 5)), "a PIL image of width 0 and height 5"),
    ],
)
def test_zero_size_pictures_are_refused(images, received):
    message = f"Probe images expect pictures of at least 1x1 pixels. Received: {received}"
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        load_probe(images, INPUT_SHAPE)


PREPROCESS_EXPECTS = (
    "Probe images expect preprocess to return a numeric array of shape (1, 8, 8, 3) "
    "(the shape of the batch it is given). Received: "
)


@pytest.mark.parametrize(
    "preprocess, error, received",
    [
        (lambda batch: None, TypeError, "None (does preprocess return its result?)"),
        (lambda batch: np.full(batch.shape, "x"), TypeError, "ndarray of dtype <U1"),
        (lambda batch: {"image": batch}, TypeError, "dict of dtype object"),
        (lambda batch: batch.astype(np.complex64), TypeError, "ndarray of dtype complex64"),
        (lambda batch: batch[:, :4], ValueError, "shape (1, 4, 8, 3)"),
        (lambda batch: batch[0], ValueError, "shape (8, 8, 3)"),
        (lambda batch: np.concatenate([batch, batch]), ValueError, "shape (2, 8, 8, 3)"),
        (lambda batch: np.moveaxis(batch, -1, 1), ValueError, "shape (1, 3, 8, 8)"),
    ],
)
def test_a_preprocess_that_breaks_the_batch_is_refused(preprocess, error, received):
    with pytest.raises(error, match=re.escape(PREPROCESS_EXPECTS + received) + "$"):
        load_probe(picture(), INPUT_SHAPE, preprocess=preprocess)


def test_a_preprocess_returning_numbers_of_the_same_shape_is_kept_as_float32():
    import ml_dtypes

    expected = picture().astype(np.float32)[None] / 2 - 1
    for preprocess in (
        lambda batch: batch / 2 - 1,  # float32
        lambda batch: (batch / 2 - 1).astype(np.float64),
        lambda batch: (batch / 2 - 1).tolist(),  # nested lists of floats
        lambda batch: (batch / 2 - 1).astype(ml_dtypes.bfloat16),
    ):
        batch = load_probe(picture(), INPUT_SHAPE, preprocess=preprocess).batch
        assert batch.dtype == np.float32 and batch.shape == (1, 8, 8, 3)
        np.testing.assert_allclose(batch, expected, rtol=2**-7)  # bfloat16 keeps 8 bits
    exact = load_probe(picture(), INPUT_SHAPE, preprocess=lambda batch: (batch - 1).astype(np.int16)).batch
    np.testing.assert_array_equal(exact, picture().astype(np.float32)[None] - 1)


def test_a_broken_probe_file_writes_nothing_through_the_logger(tmp_path):
    from tb_featureviz import FeatureVizLogger
    from tests.models import small_cnn

    path = tmp_path / "probe.txt"
    path.write_text("not a picture")
    logdir = tmp_path / "logs"
    with FeatureVizLogger(str(logdir)) as logger:
        with pytest.raises(ValueError, match=not_readable(path, "a file PIL cannot identify as any image format")):
            logger.log_activations(small_cnn(), str(path), step=0)
    written = [name for _, _, names in os.walk(logdir) for name in names]
    assert written == []
