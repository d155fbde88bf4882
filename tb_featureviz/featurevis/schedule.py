"""FeaturesSchedule: the callback's feature visualizations, every so many logged steps.

The callback's ``features_*`` arguments, checked when the callback is made,
and the grid jobs of a logged step, optimised on the training thread
(training waits for them; they read the model's current weights). The
compiled optimisers are kept between steps (:class:`VisualizerCache`).

Example:
    >>> FeaturesSchedule("FeatureVizCallback", every=2, channels=4).channels
    [0, 1, 2, 3]
"""

import numpy as np

from tb_featureviz import arguments, defaults
from tb_featureviz.featurevis.cache import VisualizerCache
from tb_featureviz.model.training_steps import LoggedStepSchedule


class FeaturesSchedule(LoggedStepSchedule):
    """Which logged steps get feature visualizations, of which layers and channels.

    Args:
        owner: the callback's name, for error texts.
        every: every this many logged steps (the first included); None for never.
        layers: layer names or objects; default: the last layer whose feature maps are logged.
        channels: the first this many channels, or a list of channels.
        steps: optimisation steps per visualization.
        size: side of the optimised images (default: the visualizer's).
        preprocess: applied inside the optimisation, to backend tensors.

    Raises:
        ValueError, TypeError: a setting out of range, naming what was received.
    """

    def __init__(self, owner, every=None, layers=None, channels=defaults.FEATURES_CHANNELS,
                 steps=defaults.CALLBACK_FEATURES_STEPS, size=None, preprocess=None):
        super().__init__(owner, "features_every", every)
        self.steps = arguments.check_count(owner, "features_steps", steps)
        if isinstance(channels, (int, np.integer)):
            channels = list(range(arguments.check_count(owner, "features_channels", channels)))
        self.channels = [arguments.check_count(owner, "features_channels", c, minimum=0) for c in channels]
        self.layers = layers
        self.size = arguments.check_count(owner, "features_size", size, allow_none=True)
        self.preprocess = preprocess
        self._cache = VisualizerCache()

    what = "feature visualizations"  # check: nothing before training; a bad layer fails the first logged step

    def capture(self, model, probe_images, feature_map_layers):
        """``(grid jobs, [])``: this step's ``features`` jobs, optimised now (nothing deferred).

        Args:
            model: the model being trained.
            probe_images: unused (the images are optimised, not given).
            feature_map_layers: the :class:`tb_featureviz.model.layers.LayerInfo`
                of the layers whose feature maps are logged (the default
                layer is their last).
        """
        return [self._cache.job(model, layer, self.channels, steps=self.steps, size=self.size,
                                preprocess=self.preprocess)
                for layer in self._layers(feature_map_layers)], []

    def _layers(self, feature_map_layers):
        if self.layers is not None:
            chosen = self.layers
            return [chosen] if isinstance(chosen, str) or not hasattr(chosen, "__iter__") else list(chosen)
        if not feature_map_layers:
            raise ValueError(f"{self.owner} expects features_layers when no layer's feature maps are logged. "
                             "Received: features_layers=None")
        return [feature_map_layers[-1].name]
