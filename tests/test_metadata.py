"""tb_featureviz.metadata: builder/parser pairs (its docstring examples run with --doctest-modules).

The image-summary blob (``[width, height, png...]``) is built by
``image_blob`` and read by ``parse_image_blob`` / ``image_blob_pngs``; the
writer and the plugin call them, so a round trip through a real event file
checks the pair end to end. Error texts are checked exactly.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from tb_featureviz import metadata, names
from tb_featureviz.writing import summary_writer
from tests import ROOT
from tests.eventfiles import metadata_by_tag, tensors_by_tag

PNGS = [b"\x89PNG\r\n\x1a\n first", b"\x89PNG\r\n\x1a\n second \x00"]


def test_metadata_and_names_import_neither_tensorflow_nor_keras():
    # The plugin imports metadata and names in a TensorBoard installed without them.
    code = ("import sys, json; import tb_featureviz.metadata, tb_featureviz.names; "
            "print(json.dumps(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('tensorflow', 'keras'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    assert json.loads(out.stdout) == []


# --------------------------------------------------------------------------
# The image-summary blob


def test_image_blob_layout():
    assert metadata.image_blob(904, 754, PNGS) == [b"904", b"754", *PNGS]
    assert metadata.image_blob(np.int64(3), np.int32(2), iter([bytearray(b"p")])) == [b"3", b"2", b"p"]
    assert metadata.image_blob(0, 0, []) == [b"0", b"0"]


@pytest.mark.parametrize("width, height, pngs", [(904, 754, PNGS), (1, 1, [b"x"]), (16, 9, [])])
def test_image_blob_round_trip(width, height, pngs):
    blob = metadata.image_blob(width, height, pngs)
    assert metadata.parse_image_blob(blob) == (width, height, pngs)
    assert metadata.image_blob_pngs(blob) == pngs
    # As tensor_util.make_ndarray gives a string tensor back.
    assert metadata.parse_image_blob(np.array(blob, dtype=object)) == (width, height, pngs)


def test_image_blob_pngs_of_blob_keys():
    keys = ("k-width", "k-height", "k-0", "k-1")
    assert metadata.image_blob_pngs(keys) == ("k-0", "k-1")
    assert metadata.image_blob_pngs(keys[:2]) == ()
    assert metadata.image_blob_pngs(keys[:1]) == ()
    assert metadata.image_blob_pngs([]) == []


def test_round_trip_through_an_event_file(tmp_path):
    writer = summary_writer.SummaryWriter(str(tmp_path))
    writer.write_grid("block/conv", "activations", 7, PNGS, 17, 9, {"version": 1})
    writer.close()
    tag = names.image_tag("block/conv", "activations")
    ((step, value),) = tensors_by_tag(str(tmp_path))[tag]
    assert step == 7 and value.shape == (4,)
    assert metadata.parse_image_blob(value) == (17, 9, PNGS)
    assert metadata_by_tag(str(tmp_path))[tag].plugin_data.plugin_name == metadata.IMAGES_PLUGIN_NAME
    assert writer.bytes_written == sum(map(len, PNGS)) + len(b'{"version":1}')


@pytest.mark.parametrize("values, message", [
    ([], "An image summary holds [width, height, png...]: at least 2 strings. Received: 0 string(s)"),
    ([b"3"], "An image summary holds [width, height, png...]: at least 2 strings. Received: 1 string(s)"),
    ([b"x3", b"2"],
     "An image summary's width is a decimal integer string (at most 18 digits). Received: width=b'x3'"),
    ([b"3", b"-2", b"png"],
     "An image summary's height is a decimal integer string (at most 18 digits). Received: height=b'-2'"),
    ([b" 3", b"2"],
     "An image summary's width is a decimal integer string (at most 18 digits). Received: width=b' 3'"),
    ([b"3", b"1" * 19],
     "An image summary's height is a decimal integer string (at most 18 digits). "
     "Received: height=b'1111111111111111111'"),
    ([b"3", b"", b"png"],
     "An image summary's height is a decimal integer string (at most 18 digits). Received: height=b''"),
    ([b"3", "2"],
     "An image summary holds [width, height, png...], a list of bytes. Received: str at index 1"),
    ([b"3", b"2", None],
     "An image summary holds [width, height, png...], a list of bytes. Received: NoneType at index 2"),
    (b"32", "An image summary holds [width, height, png...], a list of strings. Received: one bytes"),
    (np.array(b"32", dtype=object),
     "An image summary holds [width, height, png...], a list of strings. Received: one ndarray"),
    (5, "An image summary holds [width, height, png...], a list of strings. Received: int"),
])
def test_parse_image_blob_errors(values, message):
    with pytest.raises(ValueError) as caught:
        metadata.parse_image_blob(values)
    assert str(caught.value) == message


@pytest.mark.parametrize("width, height, pngs, error, message", [
    (-1, 2, [], ValueError, "image_blob expects width >= 0. Received: width=-1"),
    (3, -2, [], ValueError, "image_blob expects height >= 0. Received: height=-2"),
    (3.0, 2, [], TypeError, "image_blob expects an integer width. Received: width=3.0"),
    (3, "2", [], TypeError, "image_blob expects an integer height. Received: height='2'"),
    (True, 2, [], TypeError, "image_blob expects an integer width. Received: width=True"),
    (3, 2, [b"png", "png"], TypeError, "image_blob expects PNG bytes. Received: str for sample 1"),
])
def test_image_blob_errors(width, height, pngs, error, message):
    with pytest.raises(error) as caught:
        metadata.image_blob(width, height, pngs)
    assert str(caught.value) == message
