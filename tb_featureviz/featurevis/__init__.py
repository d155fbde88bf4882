"""Feature visualization: the image each channel of a layer responds to most.

The recipe is split by concern, as Lucid's ``optvis`` is: the image's
parametrisation, the random transforms, the objectives, the quality
figures (pure numpy, or ``keras.ops`` where they run inside the step);
the compiled optimisation update per backend (:mod:`.optimiser`); the
target layer and how its objective reaches the image (:mod:`.target`); and
the visualizer that runs them (:mod:`.visualizer`).

The public names are imported lazily, so the pure modules load without Keras:

    >>> from tb_featureviz.featurevis import visualize_features  # doctest: +SKIP
"""

_LAZY = {
    "FeatureVisualizer": "visualizer",
    "FeatureVisResult": "visualizer",
    "visualize_features": "visualizer",
    "features_job": "visualizer",
    "quality_record": "visualizer",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tb_featureviz.featurevis' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
