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

from tb_featureviz import lazy_attributes

__getattr__, __all__ = lazy_attributes(__name__, {
    "FeatureVisualizer": "visualizer",
    "FeatureVisResult": "visualizer",
    "visualize_features": "visualizer",
    "features_job": "visualizer",
    "quality_record": "visualizer",
})
