"""AttributionSchedule: the callback's attribution maps of the probe pictures, every so many logged steps.

On the training thread a logged step takes one forward and one backward
pass of the probe batch (activations, gradients, logits: what the maps are
made of); computing the maps, drawing them over the pictures and writing
them happen on the callback's background thread, like the other grids.
Score-CAM, a forward pass per channel, is refused here: log it with
:meth:`tb_featureviz.FeatureVizLogger.log_attributions` outside ``fit``.

Example:
    >>> AttributionSchedule("FeatureVizCallback", every=2, targets="top3").targets
    'top3'
"""

from tb_featureviz.attribution import methods
from tb_featureviz.attribution import targets as target_lib
from tb_featureviz.model.training_steps import LoggedStepSchedule


class AttributionSchedule(LoggedStepSchedule):
    """Which logged steps get attribution maps of the probe pictures, and how they are made.

    Args:
        owner: the callback's name, for error texts.
        every: every this many logged steps (the first included); None for never.
        method: ``"gradcam"``, ``"gradcam++"`` or ``"layercam"``.
        targets: ``"predicted"``, ``"label"`` (with ``labels``), a class or a
            list of classes, or ``"topK"``.
        layer: the layer (default: the last one with a spatial output).
        labels: one class per probe picture, for ``targets="label"``.
        class_names: a list of names by class, or a dict by class index.
        preprocess: applied to the probe batch before the model.

    Raises:
        ValueError, TypeError: a setting that can't work, naming what was received.
    """

    def __init__(self, owner, every=None, method="gradcam", targets="predicted", layer=None, labels=None,
                 class_names=None, preprocess=None):
        super().__init__(owner, "attribution_every", every)
        methods.check_method(method, owner)
        if method not in methods.GRADIENT_METHODS:
            raise ValueError(f"{owner} expects attribution_method in {list(methods.GRADIENT_METHODS)} (Score-CAM "
                             "costs a forward pass per channel: log it with FeatureVizLogger.log_attributions "
                             f"outside fit). Received: attribution_method={method!r}")
        target_lib.check_targets(targets, labels=labels, owner=owner)
        self.method, self.targets, self.layer, self.labels = method, targets, layer, labels
        self.class_names = class_names
        self.preprocess = preprocess
        self._cache = None

    what = "attribution maps"

    def check(self, model, probe_images, feature_map_layers):
        """Refuse, at the set-up, a model, layer, targets or class names that don't fit (loads the probe)."""
        from tb_featureviz.attribution.grids import check_class_names

        if self.every is None:
            return []
        attributor = self._attributor(model)
        probe = attributor.load(probe_images)
        attributor.check(self.targets, self.labels, self.method, num_images=len(probe.batch))
        check_class_names(self.class_names, attributor.num_classes, self.owner)
        return []

    def capture(self, model, probe_images, feature_map_layers=None):
        """``([], [draw])``: this step's pass, taken now; ``draw()`` makes the grid job on any thread."""
        from tb_featureviz.attribution.grids import attribution_job

        attributor = self._attributor(model)
        probe = attributor.load(probe_images)
        activations, gradients, logits, classes = attributor.capture(probe, self.targets, self.labels)

        def draw():
            maps = methods.GRADIENT_MAPS[self.method](activations, gradients)
            result = attributor.result(maps, logits, classes, self.method, self.targets, probe.display)
            return [attribution_job(result, self.class_names)], {}, {}
        return [], [draw]

    def _attributor(self, model):
        from tb_featureviz.attribution.attributor import AttributorCache

        if self._cache is None:
            self._cache = AttributorCache()
        return self._cache.get(model, self.layer, self.preprocess, self.owner)
