"""tb-featureviz: filter and feature-map grids of Keras CNNs in TensorBoard.

Example:
    >>> import tb_featureviz
    >>> with tb_featureviz.FeatureVizLogger("logs") as logger:  # doctest: +SKIP
    ...     logger.log_filters(model, step=0)
    ...     logger.log_activations(model, "cat.png", step=0)

The public names are imported lazily (:func:`lazy_attributes`): the
TensorBoard plugin imports this package and must not pull in TensorFlow or
Keras.
"""

__version__ = "0.1.0"

def lazy_attributes(package, table):
    """``(__getattr__, __all__)`` for a package whose public names load on first use.

    ``table`` maps each name to the module (relative to ``package``) that
    defines it, so importing the package imports none of them: the plugin
    imports this package without TensorFlow or Keras, and the pure modules
    of a subpackage load without them too.

    Example:
        >>> getattr_, names = lazy_attributes("json", {"dumps": ""})
        >>> names, getattr_("dumps")("x")
        (['dumps'], '"x"')
    """

    def getattr_(name):
        module_name = table.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        return getattr(importlib.import_module(f"{package}.{module_name}" if module_name else package), name)

    return getattr_, sorted(table)


__getattr__, _PUBLIC = lazy_attributes(__name__, {
    "FeatureVizLogger": "logger",
    "FeatureVizCallback": "callback",
    "FeatureVisualizer": "featurevis.visualizer",
    "visualize_features": "featurevis.visualizer",
    "attribute": "attribution.attributor",
    "CapWarning": "render.caps",
})
__all__ = _PUBLIC + ["__version__"]
