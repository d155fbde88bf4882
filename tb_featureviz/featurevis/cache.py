"""VisualizerCache: feature-visualization grid jobs with their compiled optimisers kept between calls.

Building a :class:`tb_featureviz.featurevis.visualizer.FeatureVisualizer`
truncates the model and its first run compiles the optimiser; both are
worth keeping across logged steps. The logger keeps one cache for
:meth:`tb_featureviz.FeatureVizLogger.log_features`, the callback one for
its ``features_every`` schedule. The model's current weights are read at
every call, so a kept visualizer follows training.

Example:
    >>> cache = VisualizerCache()  # doctest: +SKIP
    >>> job = cache.job(model, "conv2", [0, 1], steps=64, size=32)  # a GridJob of kind "features"  # doctest: +SKIP
"""

from tb_featureviz import defaults


class VisualizerCache:
    """Visualizers by (model, layer, settings); :meth:`job` optimises and returns the grid job."""

    def __init__(self):
        self._visualizers = {}

    def job(self, model, layer, channels=None, *, objective="channel", directions=None,
            steps=defaults.LOGGED_FEATURES_STEPS, size=None, seed=0, input_range=(0.0, 255.0), preprocess=None,
            progress=None):
        """The ``features`` grid job of ``channels`` of ``layer``, optimised now.

        Arguments as :meth:`tb_featureviz.FeatureVizLogger.log_features`.

        Raises:
            ValueError, TypeError: a bad layer, channel or setting.
        """
        from tb_featureviz.featurevis import visualizer as visualizer_lib

        key = (id(model), layer if isinstance(layer, str) else id(layer), size, objective,
               tuple(input_range), id(preprocess))
        visualizer = self._visualizers.get(key)
        if visualizer is None or visualizer.model is not model:
            visualizer = visualizer_lib.FeatureVisualizer(model, layer, size=size, objective=objective,
                                                          input_range=input_range, preprocess=preprocess)
            self._visualizers[key] = visualizer
        result = visualizer.run(channels, steps=steps, seed=seed, directions=directions, progress=progress)
        return visualizer_lib.features_job(result)
