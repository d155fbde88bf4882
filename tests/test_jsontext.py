"""JSON of records and replies: strict encoding, NaN as null, bounded nesting on read."""

import math

import pytest

from tb_featureviz import jsontext


def test_dumps_is_compact_and_strict():
    assert jsontext.dumps({"a": [1, 2.5, None]}) == '{"a":[1,2.5,null]}'
    with pytest.raises(ValueError):
        jsontext.dumps({"a": math.nan})


def test_lenient_dumps_nulls_every_non_finite_number_and_keeps_strings():
    document = {"x": [1.5, math.nan, {"y": math.inf, "z": "NaN"}], "w": (-math.inf,)}
    assert jsontext.dumps_lenient(document) == '{"x":[1.5,null,{"y":null,"z":"NaN"}],"w":[null]}'


def test_replace_non_finite_needs_no_recursion():
    deep = current = []
    for _ in range(20000):  # far past Python's recursion limit
        child = []
        current.append(child)
        current = child
    current.append(math.nan)
    cleaned = jsontext.replace_non_finite(deep)
    for _ in range(20000):
        (cleaned,) = cleaned
    assert cleaned == [None]
    assert jsontext.depth(deep) == 20001


def test_loads_refuses_deep_nesting_before_parsing():
    assert jsontext.loads("[" * 32 + "]" * 32) is not None
    with pytest.raises(ValueError, match="nested 33 levels deep; at most 32 are accepted"):
        jsontext.loads("[" * 33 + "]" * 33)
    with pytest.raises(ValueError, match="nested 100000 levels deep"):
        jsontext.loads(b"[" * 100000 + b"NaN" + b"]" * 100000)


def test_brackets_inside_strings_do_not_count():
    text = '{"name": "' + "[" * 100 + '\\"[[["}'
    assert jsontext.bracket_depth(text) == 1
    assert jsontext.loads(text) == {"name": "[" * 100 + '"[[['}


def test_rounded_floats():
    assert jsontext.rounded_floats([1 / 3, 2.5e-40, 3e38, math.nan], 3) == [0.333, 2.5e-40, 3e38, None]
