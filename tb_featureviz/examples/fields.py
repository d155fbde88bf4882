"""Receptive fields as array math: which input pixels a unit of a layer sees.

Along each spatial axis a layer's units sit on a lattice: unit ``i`` sees
the input pixels ``[start + i * jump, start + i * jump + size)``. The input
itself is ``Axis(jump=1, start=0, size=1)``. A window (convolution or
pooling) with kernel ``k``, stride ``s``, dilation ``d`` and ``p`` pixels
of padding before it maps ``(jump, start, size)`` to
``(jump * s, start - p * jump, size + (d * (k - 1)) * jump)``: the rule
``r_out = r_in + (k_eff - 1) * j_in``, ``j_out = j_in * s`` with
``k_eff = d * (k - 1) + 1``. Where branches meet (``Add``,
``Concatenate``) the field is their union. A unit's box is its field on
both axes, clipped to the picture. Pure Python.

Example:
    >>> axis = window(window(INPUT, kernel=3, stride=1, pad_before=1), kernel=2, stride=2)
    >>> axis, unit_span(axis, 1, 16)
    (Axis(jump=2, start=-1, size=4), (1, 5))
"""

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class Axis:
    """One spatial axis of a receptive field (see the module docstring)."""

    jump: int
    start: int
    size: int


#: The input's own lattice: every pixel sees itself.
INPUT = Axis(1, 0, 1)


def extent(kernel, dilation=1):
    """Units a (dilated) kernel spans along one axis.

    Example:
        >>> extent(3), extent(3, dilation=2)
        (3, 5)
    """
    return dilation * (kernel - 1) + 1


def window(axis, kernel, stride=1, dilation=1, pad_before=0):
    """The field after a window (convolution or pooling) along one axis."""
    return Axis(axis.jump * stride, axis.start - pad_before * axis.jump,
                axis.size + (extent(kernel, dilation) - 1) * axis.jump)


def output_length(length, kernel, stride=1, dilation=1, padding="valid"):
    """The output length of a window over ``length`` units (Keras' rule for ``"valid"`` and ``"same"``).

    Example:
        >>> output_length(7, 3, 2, padding="valid"), output_length(7, 3, 2, padding="same")
        (3, 4)
    """
    if padding == "same":
        return math.ceil(length / stride)
    return max(0, (length - extent(kernel, dilation)) // stride + 1)


def same_pad_before(length, kernel, stride=1, dilation=1):
    """Pixels of ``"same"`` padding before the first unit (TensorFlow's and Keras' rule: the odd one after).

    Example:
        >>> same_pad_before(7, 3, 2), same_pad_before(8, 3, 2), same_pad_before(8, 4, 1)
        (1, 0, 1)
    """
    total = max((math.ceil(length / stride) - 1) * stride + extent(kernel, dilation) - length, 0)
    return total // 2


def shift(axis, pixels):
    """The field after ``pixels`` units are added before the axis (``ZeroPadding2D``), or removed (negative: cropping)."""
    return Axis(axis.jump, axis.start - pixels * axis.jump, axis.size)


def union(axes):
    """The field of a unit that sees all of ``axes`` (branches that meet); their jumps must agree.

    Raises:
        ValueError: branches on different lattices.
    """
    if any(a.jump == 0 for a in axes):  # a branch that sees the whole picture: so does the union
        return Axis(0, 0, max(a.start + a.size for a in axes))
    jumps = {a.jump for a in axes}
    if len(jumps) != 1:
        raise ValueError(f"union expects fields with one jump. Received: jumps {sorted(jumps)}")
    start = min(a.start for a in axes)
    end = max(a.start + a.size for a in axes)
    return Axis(jumps.pop(), start, end - start)


def unit_span(axis, index, length):
    """``(first, end)``: the input pixels unit ``index`` sees, clipped to ``[0, length)`` (``end`` exclusive)."""
    first = axis.start + index * axis.jump
    return max(0, first), min(int(length), first + axis.size)


def unit_box(rows, cols, row, col, height, width):
    """``[top, left, bottom, right]`` (bottom and right exclusive) of unit ``(row, col)`` in a picture.

    Example:
        >>> unit_box(Axis(2, -1, 4), Axis(2, -1, 4), 0, 3, 16, 16)
        [0, 5, 3, 9]
    """
    top, bottom = unit_span(rows, row, height)
    left, right = unit_span(cols, col, width)
    return [top, left, bottom, right]


def whole(length):
    """An axis whose every unit sees all ``length`` pixels: behind a layer that is no window (e.g. upsampling)."""
    return Axis(0, 0, int(length))
