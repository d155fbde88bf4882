"""ExamplesSchedule: the callback's data-set passes, every so many logged steps.

On the training thread a logged step runs the pass over ``examples_data``
(training waits for it: a forward pass per picture); the crops are drawn
into grids on the callback's background thread, like the other grids.
Under distributed training every process scans a share of the batches
and the results are merged (:mod:`tb_featureviz.examples.scan`).

Example:
    >>> ExamplesSchedule("FeatureVizCallback", data=None, every=None).due(1)
    False
"""

from tb_featureviz import arguments
from tb_featureviz.model.training_steps import LoggedStepSchedule


class ExamplesSchedule(LoggedStepSchedule):
    """Which logged steps get a pass over a data set, of which layers, keeping how many examples.

    Args:
        owner: the callback's name, for error texts.
        data: the data set (see :mod:`tb_featureviz.examples.data`); needed when ``every`` is set.
        every: every this many logged steps (the first included); None for never.
        layers: layers to scan; default: those whose feature maps are logged.
        k: examples per channel.
        max_pictures: scan at most this many pictures.
        preprocess: applied to each batch before the model.
        max_channels: channels per layer drawn (all are listed in the record).
    """

    def __init__(self, owner, data=None, every=None, layers=None, k=9, max_pictures=None, preprocess=None,
                 max_channels=None):
        super().__init__(owner, "examples_every", every)
        if self.every is not None and data is None:
            raise ValueError(f"{owner} expects examples_data (the pictures to scan) with examples_every. "
                             "Received: examples_data=None")
        self.data, self.layers, self.preprocess, self.max_channels = data, layers, preprocess, max_channels
        self.k = arguments.check_count(owner, "examples_k", k)
        self.max_pictures = arguments.check_count(owner, "examples_max_pictures", max_pictures, allow_none=True)
        self._scans = None

    what = "examples"

    def check(self, model, probe_images, feature_map_layers):
        """Refuse, at the set-up, layers that don't fit the model (no data is read); returns those skipped."""
        return self._selection(model, feature_map_layers)[1] if self.every is not None else []

    def capture(self, model, probe_images, feature_map_layers):
        """``([], [draw])``: this step's pass over the data, run now; ``draw()`` makes the jobs on any thread."""
        from tb_featureviz.examples.grids import examples_content
        from tb_featureviz.examples.scan import ScanCache

        if self._scans is None:
            self._scans = ScanCache()
        scan = self._scans.get(model, self._selection(model, feature_map_layers)[0], k=self.k,
                               preprocess=self.preprocess, max_channels=self.max_channels, owner=self.owner)
        result = scan.run(self.data, max_pictures=self.max_pictures)
        return [], [lambda: examples_content(result)]

    def _selection(self, model, feature_map_layers):
        """``(layers to scan, [(LayerInfo, reason)] skipped)``: ``examples_layers``, else those with feature maps."""
        from tb_featureviz.model import capture

        if self.layers is None:
            if not feature_map_layers:
                raise ValueError(f"{self.owner} expects examples_layers when no layer's feature maps are logged. "
                                 "Received: examples_layers=None")
            return list(feature_map_layers), []
        selection = capture.select_feature_map_layers(model, self.layers)
        return list(selection.layers), list(selection.skipped)
