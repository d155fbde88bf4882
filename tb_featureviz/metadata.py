"""Plugin identity and the summaries' metadata and content: builders paired with parsers.

This module is the single place that knows what a featureviz summary's
metadata holds and how an image summary's tensor is laid out; each builder
has its parser here (the tags themselves are :mod:`tb_featureviz.names`').
It imports only TensorBoard's protobufs, so both the writer and the plugin
(which must run without TensorFlow) share it.

The on-disk format is documented in ``docs/format.md``. In short, every
logged grid is two summaries at the same step:

* ``featureviz/<layer>/<kind>``: a standard TensorBoard image summary
  (plugin ``images``), one PNG sample per probe image;
* ``featureviz/<layer>/<kind>/record``: a ``featureviz`` summary whose
  tensor is a JSON document saying what every pixel of those PNGs means.

TensorBoard keeps summary metadata from the first event of a tag only, so
metadata carries nothing that changes from step to step; those facts live
in the tensor.

Example:
    >>> meta = create_record_metadata("block1_conv1", "filters", "featureviz/block1_conv1/filters")
    >>> parse_plugin_content(meta.plugin_data.content)["layer"]
    'block1_conv1'
"""


import numbers
import re

from tensorboard.compat.proto import summary_pb2

from tb_featureviz import jsontext

PLUGIN_NAME = "featureviz"


#: Version of the JSON documents this package writes (metadata and tensors).
FORMAT_VERSION = 1


#: What a featureviz summary holds, as named in its metadata ``content``.
CONTENT_RECORD = "record"
CONTENT_STRUCTURE = "structure"


CONTENT_EVENTS = "events"


#: Name of the image summary plugin in TensorBoard.
IMAGES_PLUGIN_NAME = "images"


#: Plugin name of standard scalar summaries (drift, channel health).
SCALARS_PLUGIN_NAME = "scalars"


# An image summary's string tensor (TensorBoard's images plugin): the width
# and height as decimal strings, then one PNG per sample.
_IMAGE_BLOB_HEADER = 2
_DECIMAL = re.compile(rb"[0-9]{1,18}")


def image_blob(width, height, pngs):
    """The string tensor of an image summary: ``[width, height, png_0, png_1, ...]``.

    This is the layout of TensorBoard's own image summaries, so the stock
    Images dashboard shows the grids; :func:`parse_image_blob` reads it back.

    Args:
        width, height: the largest image's size in pixels (non-negative
            integers, numpy's included); written as decimal strings.
        pngs: the PNG ``bytes`` of each sample (probe image), in order.

    Returns:
        A list of ``bytes``: width, height, then the PNGs.

    Raises:
        TypeError: ``width`` or ``height`` is not an integer, or a PNG is not bytes.
        ValueError: ``width`` or ``height`` is negative.

    Example:
        >>> image_blob(3, 2, [b"<png 0>", b"<png 1>"])
        [b'3', b'2', b'<png 0>', b'<png 1>']
        >>> parse_image_blob(image_blob(3, 2, [b"<png 0>"]))
        (3, 2, [b'<png 0>'])
    """
    header = []
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"image_blob expects an integer {name}. Received: {name}={value!r}")
        if value < 0:
            raise ValueError(f"image_blob expects {name} >= 0. Received: {name}={value}")
        header.append(str(int(value)).encode("ascii"))
    pngs = list(pngs)
    for sample, png in enumerate(pngs):
        if not isinstance(png, (bytes, bytearray)):
            raise TypeError(f"image_blob expects PNG bytes. Received: {type(png).__name__} for sample {sample}")
    return header + [bytes(png) for png in pngs]


def image_blob_pngs(values):
    """The PNG entries of an image summary's values: those after the width and height.

    Works on the tensor's values and equally on the blob keys a data
    provider lists for them (one per value, in order), so a reader never
    counts past the header itself. Values too few to hold a header have no
    PNG. Use :func:`parse_image_blob` to check and read the header too.

    Args:
        values: a sequence (list, tuple, 1-d array): the tensor's strings
            or their blob keys.

    Returns:
        The PNG part of ``values``, of the same sequence type.

    Example:
        >>> image_blob_pngs([b"3", b"2", b"<png 0>", b"<png 1>"])
        [b'<png 0>', b'<png 1>']
        >>> image_blob_pngs(("key-width", "key-height", "key-png-0"))
        ('key-png-0',)
        >>> len(image_blob_pngs(("key-width",)))
        0
    """
    return values[_IMAGE_BLOB_HEADER:]


def parse_image_blob(values):
    """``(width, height, pngs)`` of an image summary's string tensor (see :func:`image_blob`).

    Args:
        values: the tensor's strings: a sequence of ``bytes``, or the 1-d
            numpy array ``tensor_util.make_ndarray`` gives.

    Returns:
        ``(width, height, pngs)``: two ints and the list of PNG ``bytes``
        (empty when the summary holds no sample).

    Raises:
        ValueError: ``values`` is not a sequence of bytes, holds fewer than
            two of them, or its width or height is not a decimal integer.

    Example:
        >>> parse_image_blob([b"904", b"754", b"<png 0>"])
        (904, 754, [b'<png 0>'])
        >>> parse_image_blob([b"904"])
        Traceback (most recent call last):
        ...
        ValueError: An image summary holds [width, height, png...]: at least 2 strings. Received: 1 string(s)
    """
    if isinstance(values, (bytes, bytearray, str)) or getattr(values, "shape", None) == ():
        raise ValueError(
            f"An image summary holds [width, height, png...], a list of strings. Received: one {type(values).__name__}"
        )
    try:
        values = list(values)
    except TypeError:
        raise ValueError(
            f"An image summary holds [width, height, png...], a list of strings. Received: {type(values).__name__}"
        ) from None
    for index, value in enumerate(values):
        if not isinstance(value, (bytes, bytearray)):
            raise ValueError(
                f"An image summary holds [width, height, png...], a list of bytes. "
                f"Received: {type(value).__name__} at index {index}"
            )
    if len(values) < _IMAGE_BLOB_HEADER:
        raise ValueError(
            f"An image summary holds [width, height, png...]: at least {_IMAGE_BLOB_HEADER} strings. "
            f"Received: {len(values)} string(s)"
        )
    size = []
    for name, value in zip(("width", "height"), values):
        if not _DECIMAL.fullmatch(value):
            raise ValueError(
                f"An image summary's {name} is a decimal integer string (at most 18 digits). "
                f"Received: {name}={bytes(value)[:40]!r}"
            )
        size.append(int(value))
    return size[0], size[1], [bytes(png) for png in image_blob_pngs(values)]


def _metadata(plugin_name, content_bytes, data_class, display_name="", description=""):
    return summary_pb2.SummaryMetadata(
        display_name=display_name,
        summary_description=description,
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=plugin_name, content=content_bytes
        ),
        # Set explicitly: TensorBoard never ingests a third-party plugin's
        # summaries whose data class is left UNKNOWN.
        data_class=data_class,
    )


def _encode(payload):
    return jsontext.dumps(payload, sort_keys=True).encode("utf-8")


def create_record_metadata(layer, kind, image_tag_name):
    """Metadata of a grid record summary (a JSON string tensor).

    Args:
        layer: qualified layer name, e.g. ``"xception/block1_conv1"``.
        kind: what the grid shows, e.g. ``"activations"`` or ``"filters"``.
        image_tag_name: tag of the image summary holding the pixels.

    Returns:
        A ``SummaryMetadata`` proto with plugin name ``featureviz`` and data
        class ``TENSOR``.
    """
    content = {
        "version": FORMAT_VERSION,
        "content": CONTENT_RECORD,
        "layer": layer,
        "kind": kind,
        "image_tag": image_tag_name,
    }
    return _metadata(
        PLUGIN_NAME,
        _encode(content),
        summary_pb2.DATA_CLASS_TENSOR,
        display_name=f"{layer} {kind} (featureviz record)",
    )


def create_structure_metadata():
    """Metadata of the model-structure summary (a JSON string tensor)."""
    content = {"version": FORMAT_VERSION, "content": CONTENT_STRUCTURE}
    return _metadata(
        PLUGIN_NAME, _encode(content), summary_pb2.DATA_CLASS_TENSOR, "model structure"
    )


def create_events_metadata():
    """Metadata of the training-events summary (a JSON string tensor)."""
    content = {"version": FORMAT_VERSION, "content": CONTENT_EVENTS}
    return _metadata(
        PLUGIN_NAME, _encode(content), summary_pb2.DATA_CLASS_TENSOR, "training events"
    )


def create_image_metadata(layer, kind, description=""):
    """Metadata of the standard image summary holding a grid's PNGs.

    The stock Images dashboard reads these, so the grids stay visible where
    the featureviz plugin is not installed.
    """
    # The images plugin's own content proto; its version 0 is an empty message.
    from tensorboard.plugins.image import plugin_data_pb2

    content = plugin_data_pb2.ImagePluginData(version=0).SerializeToString()
    return _metadata(
        IMAGES_PLUGIN_NAME,
        content,
        summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
        display_name=f"{layer} {kind}",
        description=description,
    )


def create_histogram_metadata(layer, description=""):
    """Metadata of a histogram summary (TensorBoard's ``histograms`` plugin, a ``[buckets, 3]`` tensor).

    The stock Histograms tab reads these: left edge, right edge and count of
    each bucket, float64.
    """
    from tensorboard.plugins.histogram import metadata as histogram_metadata

    meta = histogram_metadata.create_summary_metadata(display_name=f"{layer} activations", description=description)
    meta.data_class = summary_pb2.DATA_CLASS_TENSOR  # set explicitly: never UNKNOWN, which isn't ingested
    return meta


def parse_plugin_content(content):
    """Parse the ``content`` bytes of a featureviz summary's metadata.

    Parsing is tolerant: unknown keys are kept, a newer ``version`` is
    accepted as is, and content that is not JSON yields an empty dict, so
    a log directory written by a newer release still lists what it can.

    Args:
        content: ``bytes`` from ``SummaryMetadata.plugin_data.content``.

    Returns:
        A dict, with at least ``version`` and ``content`` when present.

    Raises:
        TypeError: if ``content`` is not ``bytes``.
    """
    if not isinstance(content, (bytes, bytearray)):
        raise TypeError(
            f"parse_plugin_content expects bytes. Received: {type(content).__name__}"
        )
    try:
        parsed = jsontext.loads(content)
    except ValueError:  # UnicodeDecodeError is a ValueError too
        return {}
    return parsed if isinstance(parsed, dict) else {}


def parse_json_tensor(value):
    """Decode the JSON document stored in a featureviz string tensor.

    Args:
        value: the tensor's value: ``bytes``, ``str``, or a 0-d numpy array
            of either (as TensorBoard's data providers return it).

    Returns:
        The decoded JSON value.

    Raises:
        ValueError: if the value is not one string (e.g. a string vector) or
            not valid UTF-8 JSON nested at most ``jsontext.MAX_DEPTH`` deep.

    Example:
        >>> parse_json_tensor(b'{"step": 3}')
        {'step': 3}
    """
    if hasattr(value, "shape") and hasattr(value, "item"):
        if value.shape != ():
            raise ValueError(f"A featureviz tensor holds one string. Received: shape {tuple(value.shape)}")
        value = value.item()
    if not isinstance(value, (bytes, bytearray, str)):
        raise ValueError(f"A featureviz tensor holds one string. Received: {type(value).__name__}")
    return jsontext.loads(value)
