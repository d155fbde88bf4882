"""tb-featureviz: filter and feature-map grids of Keras CNNs in TensorBoard.

Example:
    >>> import tb_featureviz
    >>> with tb_featureviz.FeatureVizLogger("logs") as logger:  # doctest: +SKIP
    ...     logger.log_filters(model, step=0)
    ...     logger.log_activations(model, "cat.png", step=0)

The public names are imported lazily: the TensorBoard plugin imports this
package and must not pull in TensorFlow or Keras.
"""

__version__ = "0.1.0"

_LAZY = {
    "FeatureVizLogger": "tb_featureviz.logger",
    "FeatureVizCallback": "tb_featureviz.callback",
    "FeatureVisualizer": "tb_featureviz.featurevis.visualizer",
    "visualize_features": "tb_featureviz.featurevis.visualizer",
    "CapWarning": "tb_featureviz.render.caps",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tb_featureviz' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
