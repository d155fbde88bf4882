"""Attribution: where a classifier looks, in a picture, for a class (the Grad-CAM family).

The maths (:mod:`.methods`) and the target classes (:mod:`.targets`) are
pure numpy; :mod:`.scores` finds the logits and the default layer,
:mod:`.gradients` runs the one forward and backward pass per backend,
:mod:`.attributor` puts them together, :mod:`.grids` draws a result as a
logged grid, and :mod:`.schedule` is the callback's part.

The public names are imported lazily, so the pure modules load without Keras:

    >>> from tb_featureviz.attribution import attribute  # doctest: +SKIP
"""

_LAZY = {
    "attribute": "attributor",
    "Attributor": "attributor",
    "AttributionResult": "attributor",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tb_featureviz.attribution' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
