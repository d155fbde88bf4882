"""JSON text of every document the package writes or serves: one encoder, one parser.

JSON has no NaN or infinity (``JSON.parse`` in the panel rejects them), so
this module owns the rule "non-finite numbers travel as ``null``": the
writer rounds and nulls float arrays with :func:`rounded_floats`, and the
plugin cleans a hand-made document with :func:`dumps_lenient`. Documents
read from a log are untrusted: :func:`loads` refuses nesting deeper than
:data:`MAX_DEPTH` (our documents are four levels deep), so nothing that
walks a parsed document can run out of stack.

Pure Python and numpy; no TensorFlow, no I/O.

Example:
    >>> dumps({"lo": rounded_floats([1 / 3, float("nan")], 3)})
    '{"lo":[0.333,null]}'
    >>> dumps_lenient({"x": [1.5, float("inf")]})
    '{"x":[1.5,null]}'
"""

import json
import math
import re

import numpy as np

#: Deepest nesting :func:`loads` accepts (a record is four levels deep).
MAX_DEPTH = 32


def dumps(document, sort_keys=False):
    """Compact JSON text; raises ``ValueError`` on NaN or infinity.

    Example:
        >>> dumps({"b": 1, "a": [True, None]}, sort_keys=True)
        '{"a":[true,null],"b":1}'
    """
    return json.dumps(document, separators=(",", ":"), allow_nan=False, sort_keys=sort_keys)


def dumps_lenient(document):
    """Compact JSON text with non-finite floats written as ``null``.

    The usual document has none and is encoded in one pass; the clean-up
    walks the document with an explicit stack, so depth costs no recursion.
    """
    try:
        return dumps(document)
    except ValueError:
        return dumps(replace_non_finite(document))


def replace_non_finite(document):
    """A copy of ``document`` (dicts, lists, scalars) with NaN and infinities as None.

    Iterative: a deeply nested document cannot exhaust the stack.

    Example:
        >>> replace_non_finite({"a": [1.0, float("nan")], "b": "NaN"})
        {'a': [1.0, None], 'b': 'NaN'}
    """

    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    def container(value):
        if isinstance(value, dict):
            return {}
        if isinstance(value, (list, tuple)):
            return []
        return None

    root = container(document)
    if root is None:
        return clean(document)
    stack = [(document, root)]
    while stack:
        source, target = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in items:
            child = container(value)
            result = clean(value) if child is None else child
            if isinstance(target, dict):
                target[key] = result
            else:
                target.append(result)
            if child is not None:
                stack.append((value, child))
    return root


def depth(document):
    """Nesting depth of a parsed document (0 for a scalar), computed without recursion.

    Example:
        >>> depth(1), depth([1]), depth({"a": [{"b": 2}]})
        (0, 1, 3)
    """
    deepest = 0
    stack = [(document, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            deepest = max(deepest, level)
            continue
        deepest = max(deepest, level + 1)
        stack.extend((child, level + 1) for child in children)
    return deepest


def loads(text):
    """Parse JSON text (``str`` or UTF-8 ``bytes``) nested at most :data:`MAX_DEPTH` deep.

    Raises:
        ValueError: invalid UTF-8 or JSON, or nesting deeper than :data:`MAX_DEPTH`
            (Python's own parser would hit its recursion limit on very deep input).

    Example:
        >>> loads(b'{"a": [1, 2]}')
        {'a': [1, 2]}
        >>> loads("[" * 40 + "]" * 40)
        Traceback (most recent call last):
        ...
        ValueError: JSON document nested 40 levels deep; at most 32 are accepted
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    # Measured before parsing: json.loads recurses once per level.
    nesting = bracket_depth(text)
    if nesting > MAX_DEPTH:
        raise ValueError(f"JSON document nested {nesting} levels deep; at most {MAX_DEPTH} are accepted")
    return json.loads(text)


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def bracket_depth(text):
    """Deepest nesting of brackets in JSON text, brackets inside strings ignored.

    Runs at regex and numpy speed (records are often hundreds of kB).

    Example:
        >>> bracket_depth('{"a": [1, "]]", {"b": []}]}')
        4
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    codes = np.frombuffer(brackets.encode("ascii"), dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def rounded_floats(values, digits=7):
    """Floats rounded to ``digits`` significant digits; NaN and infinities as None.

    Rounding is vectorised: ``round(v * 10**k) / 10**k`` is the double
    nearest to the short decimal, so ``json`` prints it short.

    Example:
        >>> rounded_floats(np.array([1/3, -2500.25, 0.0, np.nan, np.inf]), 3)
        [0.333, -2500.0, 0.0, None, None]
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    out = v.copy()
    finite = np.isfinite(v)
    nonzero = finite & (v != 0)
    if nonzero.any():
        x = v[nonzero]
        k = digits - 1 - np.floor(np.log10(np.abs(x))).astype(np.int64)
        rounded = np.empty_like(x)
        up = k >= 0
        scale = np.power(10.0, np.abs(k))
        rounded[up] = np.round(x[up] * scale[up]) / scale[up]
        rounded[~up] = np.round(x[~up] / scale[~up]) * scale[~up]
        # Powers of ten past 1e22 are not exact doubles: format those few.
        extreme = np.abs(k) > 22
        if extreme.any():
            rounded[extreme] = [float(format(val, f".{digits}g")) for val in x[extreme]]
        out[nonzero] = rounded
    listed = out.tolist()
    if not finite.all():
        listed = [val if math.isfinite(val) else None for val in listed]
    return listed
