"""The JSON documents read from a log, checked before use: every one is untrusted input.

A log may be hand-made, truncated, written by a newer release or hostile.
Each reader here takes a raw tensor value and returns either the parts of
the document that fit the format (docs/format.md) or a reason why it does
not, never raising: a bad document costs its own layer or step, never the
run, and never a 500. Parsing refuses nesting deeper than
``jsontext.MAX_DEPTH``, so nothing that walks a document recurses without
bound.

Example:
    >>> parse_document(b'{"layers": 3}')
    {'layers': 3}
    >>> structure_layers({"layers": 3})
    []
    >>> record_problem({"samples": "x"})
    "'samples' is not a list"
"""

import numbers

from tb_featureviz import metadata

#: Record fields the panel needs to read a grid's pixels, each a whole number >= 0.
GEOMETRY_FIELDS = ("rows", "cols", "tile_height", "tile_width", "pad")


def parse_document(value):
    """The JSON object in a featureviz string tensor, or None when unreadable.

    Unreadable: not one string (e.g. a string vector), not UTF-8 JSON, nested
    too deeply, or not a JSON object.
    """
    try:
        document = metadata.parse_json_tensor(value)
    except (ValueError, TypeError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _numbers_or_null(values):
    return isinstance(values, list) and all(
        v is None or (isinstance(v, numbers.Real) and not isinstance(v, bool)) for v in values
    )


def record_problem(record):
    """Why a parsed record can't be drawn, or None when it can.

    Checks what the panel relies on: the geometry, the channel list and, per
    sample, the ``lo``/``hi`` lists of numbers (``null`` for non-finite).

    Example:
        >>> record_problem({"rows": 1, "cols": 1, "tile_height": 2, "tile_width": 2, "pad": 0,
        ...                 "channels": [0], "samples": [{"lo": [0.0], "hi": [1.0]}]}) is None
        True
    """
    if not isinstance(record.get("samples"), list):
        return "'samples' is not a list"
    for field in GEOMETRY_FIELDS:
        if not _whole(record.get(field)):
            return f"{field!r} is not a whole number >= 0"
    channels = record.get("channels")
    if not isinstance(channels, list) or not all(_whole(c) for c in channels):
        return "'channels' is not a list of channel numbers"
    for index, sample in enumerate(record["samples"]):
        if not isinstance(sample, dict):
            return f"sample {index} is not an object"
        for field in ("lo", "hi"):
            if not _numbers_or_null(sample.get(field)):
                return f"sample {index} has no list of numbers {field!r}"
    return None


def record_latest(record):
    """``(sequence, class)`` of a record for the run index; None for what is missing or odd.

    Example:
        >>> record_latest({"sequence": 4, "class": "Conv2D"}), record_latest({"sequence": "4", "class": 1})
        ((4, 'Conv2D'), (None, None))
    """
    sequence = record.get("sequence")
    cls = record.get("class")
    return (sequence if _whole(sequence) else None, cls if isinstance(cls, str) else None)


def structure_layers(structure):
    """The entries of a structure document's ``layers`` that name a layer; others are skipped.

    Example:
        >>> structure_layers({"layers": [{"name": "conv1"}, 7, {"name": 3}]})
        [{'name': 'conv1'}]
    """
    layers = structure.get("layers")
    if not isinstance(layers, list):
        return []
    return [entry for entry in layers if isinstance(entry, dict) and isinstance(entry.get("name"), str)]


def structure_model(structure):
    """The model name of a structure document, or None."""
    model = structure.get("model")
    return model if isinstance(model, str) else None


def events_of(document):
    """The event objects of an events document; anything else in ``events`` is skipped.

    Example:
        >>> events_of({"events": [{"type": "trainable"}, "junk"]}), events_of({"events": 5})
        ([{'type': 'trainable'}], [])
    """
    events = document.get("events")
    if not isinstance(events, list):
        return []
    return [event for event in events if isinstance(event, dict)]
