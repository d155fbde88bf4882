"""Checks of the arguments the logger and the callback share, with one wording each.

Every check names its owner (``FeatureVizLogger``, ``FeatureVizCallback``),
what was expected and what was received, and returns the value to keep.

Example:
    >>> check_count("FeatureVizLogger", "workers", 0)
    Traceback (most recent call last):
    ...
    ValueError: FeatureVizLogger expects workers >= 1. Received: workers=0
"""

import os

import numpy as np

from tb_featureviz.render import grids

#: Largest step TensorBoard stores (an int64 field of the Event proto).
MAX_STEP = 2**63 - 1


def check_count(owner, name, value, *, allow_none=False, minimum=1):
    """An int ``>= minimum`` (bools refused), or None when allowed.

    Example:
        >>> check_count("FeatureVizLogger", "max_channels", None, allow_none=True) is None
        True
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        alternative = " or None" if allow_none else ""
        raise ValueError(f"{owner} expects {name} >= {minimum}{alternative}. Received: {name}={value!r}")
    return int(value)


def check_step(value):
    """A step: an int in ``0 .. 2**63 - 1`` (TensorBoard's int64), numpy ints included.

    Example:
        >>> check_step(np.uint64(2**63))
        Traceback (most recent call last):
        ...
        ValueError: step expects an int <= 9223372036854775807 (TensorBoard stores steps as int64). Received: step=9223372036854775808
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 0:
        shown = int(value) if isinstance(value, np.integer) else value
        raise ValueError(f"step expects an int >= 0. Received: step={shown!r}")
    if int(value) > MAX_STEP:
        raise ValueError(
            f"step expects an int <= {MAX_STEP} (TensorBoard stores steps as int64). Received: step={int(value)}"
        )
    return int(value)


def check_logdir(owner, logdir):
    """A non-empty path (``str`` or ``os.PathLike``), returned as ``str``."""
    if not isinstance(logdir, (str, os.PathLike)) or not os.fspath(logdir):
        raise ValueError(f"{owner} expects a non-empty logdir path. Received: logdir={logdir!r}")
    return os.fspath(logdir)


def check_run(owner, run):
    """A run folder name: non-empty, no ``/``, not ``.`` or ``..``."""
    if not isinstance(run, str) or not run or "/" in run or run in (".", ".."):
        raise ValueError(f"{owner} expects run to be a folder name. Received: run={run!r}")
    return run


def check_preprocess(owner, preprocess):
    """None or a callable."""
    if preprocess is not None and not callable(preprocess):
        raise TypeError(f"{owner} expects preprocess to be callable. Received: {type(preprocess).__name__}")
    return preprocess


def check_scales(owner, activation_scale, activation_range, filter_scale):
    """Refuse an unknown activation or filter scale, or a bad range for ``activation_scale="fixed"``."""
    if activation_scale not in grids.SCALES:
        raise ValueError(f"{owner} expects activation_scale in {grids.SCALES}. Received: {activation_scale!r}")
    if activation_scale == "fixed":
        grids.value_ranges(np.zeros((1, 1)), "fixed", value_range=activation_range)  # validates
    if filter_scale not in ("channel", "layer"):
        raise ValueError(f"{owner} expects filter_scale 'channel' or 'layer'. Received: {filter_scale!r}")


def check_compress_level(owner, compress_level):
    """Refuse a PNG deflate level that is not an int from 0 to 9."""
    if isinstance(compress_level, bool) or not isinstance(compress_level, int) or not 0 <= compress_level <= 9:
        raise ValueError(f"{owner} expects compress_level from 0 to 9. Received: compress_level={compress_level!r}")
