"""FeatureVizLogger: the public API that writes filter and feature-map grids.

Use it from any training script or custom loop::

    from tb_featureviz import FeatureVizLogger

    with FeatureVizLogger("logs") as logger:
        logger.log_filters(model, step=0)
        logger.log_activations(model, "cat.png", step=0,
                               preprocess=keras.applications.xception.preprocess_input)

Then ``tensorboard --logdir logs`` shows the grids in the Feature maps tab
(and in the stock Images tab). Every call checks its input first, computes
all grids (in parallel threads), and only then writes: an error never
leaves a half-written step. Every write, grids and scalars alike, goes
through :meth:`FeatureVizLogger.write` to its
:class:`tb_featureviz.writing.step_writer.StepWriter`, which holds the step
check and the writing in one critical section.
"""

from tb_featureviz import arguments, defaults
from tb_featureviz.attribution.attributor import AttributorCache
from tb_featureviz.examples.scan import ScanCache
from tb_featureviz.featurevis.cache import VisualizerCache
from tb_featureviz.model import capture
from tb_featureviz.render import caps, jobs, kernels
from tb_featureviz.writing import step_jobs
from tb_featureviz.run_logger import RunLogger

_OWNER = "FeatureVizLogger"


class FeatureVizLogger(RunLogger):
    """Writes filter and feature-map grids of a Keras model to TensorBoard.

    The logger owns its run directory (``<logdir>/<run>``) and its own
    summary writer, created on the first write; it never writes through
    TensorFlow's default writer. One logger may be shared between threads:
    each write is atomic, and steps must never decrease.

    Example:
        >>> with FeatureVizLogger("/tmp/logs") as logger:  # doctest: +SKIP
        ...     records = logger.log_activations(model, np.zeros((32, 32, 3), np.uint8), step=0)

    Args:
        logdir: TensorBoard log directory (local or ``gs://``-style path).
        run: name of the run folder inside ``logdir``.
        max_channels: draw at most this many channels of a layer (the first
            ones); records list the channels held and the total, and one
            warning per call (a :class:`tb_featureviz.render.caps.CapWarning`)
            names the layers it capped first. None draws all.
        activation_scale: ``"channel"`` (default: each feature map its own range), ``"layer"``
            (one per grid) or ``"fixed"`` (``activation_range=(lo, hi)``).
        filter_scale: ``"channel"`` (default) or ``"layer"``; kernels are symmetric around zero.
        max_mosaic_tiles: cap on the input-by-output slices of a mosaic.
        preprocess: default preprocessing for probe images.
        workers: threads drawing grids; default: the number of CPUs.
        compress_level: PNG deflate level, 0 to 9 (1 is fast and nearly as small).
        log_probe: also log the probe images themselves (layer ``_probe``).
        chief_only: under distributed training only the writing process
            (:mod:`tb_featureviz.model.distribution`) computes and writes; the
            others return empty results. False: every process writes.
    """

    def __init__(self, logdir, run="featureviz", *, max_channels=None, activation_scale="channel",
                 activation_range=None, filter_scale="channel", max_mosaic_tiles=kernels.DEFAULT_MAX_MOSAIC_TILES,
                 preprocess=None, workers=None, compress_level=1, log_probe=True, chief_only=True):
        self.max_channels = arguments.check_count(_OWNER, "max_channels", max_channels, allow_none=True)
        arguments.check_scales(_OWNER, activation_scale, activation_range, filter_scale)
        self.max_mosaic_tiles = arguments.check_count(_OWNER, "max_mosaic_tiles", max_mosaic_tiles)
        self.preprocess = arguments.check_preprocess(_OWNER, preprocess)
        self.activation_scale = activation_scale
        self.activation_range = activation_range
        self.filter_scale = filter_scale
        self.log_probe = log_probe
        self._feature_maps = capture.FeatureMaps(activation_scale, activation_range)
        self._visualizers = VisualizerCache()
        self._attributors = AttributorCache()
        self._scans = ScanCache()
        super().__init__(logdir, run, owner=_OWNER, workers=workers, compress_level=compress_level,
                         max_mosaic_tiles=self.max_mosaic_tiles, chief_only=chief_only)

    # ----------------------------------------------------------------- public

    def log_filters(self, model, step, layers=None):
        """Log the kernels of the selected layers as grids.

        Args:
            model: a built Keras model (nested base models are walked).
            step: global step, an int >= 0, never smaller than the last one.
            layers: names, glob patterns, classes or layer objects; None for
                every conv layer (Conv2D, SeparableConv2D, DepthwiseConv2D,
                Conv2DTranspose).

        Returns:
            list of records (dicts), one per grid (see :meth:`log_activations`).

        Raises:
            ValueError: unknown layer name, a named layer without a kernel
                rule, a bad step. Nothing is written then.
        """
        self.check_step(step)
        if not self._gate.allows(model):
            return []
        capture.check_model(model, _OWNER, feature_maps=False)
        selection = capture.select_filter_layers(model, layers)
        self.reports.skipped(selection.skipped, "filters")
        grid_jobs = []
        for name, copy in capture.capture_kernels(selection.layers).items():
            grid_jobs.extend(jobs.kernel_jobs(name, copy.layer_class, copy.arrays, groups=copy.groups,
                                              **self._kernel_style()))
        return self.write(step, grid_jobs, model=model)

    def log_activations(self, model, images, step, layers=None, preprocess=None):
        """Log the feature maps of the selected layers for probe images.

        One forward pass (inference mode) computes every selected layer;
        each layer becomes one grid per probe image, a tile per channel.

        Args:
            model: a built Keras model with one image input.
            images: probe picture(s): numpy array HWC/NHWC (uint8 or float),
                PIL image, file path, or a list of those. Resized to the
                model's input size when it is fixed.
            step: global step (see :meth:`log_filters`).
            layers: see :meth:`log_filters`; patterns skip layers without a
                spatial output (reported once).
            preprocess: function applied to the float32 batch before the
                model, e.g. ``keras.applications.xception.preprocess_input``;
                defaults to the logger's.

        Returns:
            list of records (dicts), one per layer and probe image, each with
            ``tag``, ``layer``, ``class``, ``kind``, ``step``, ``sample``,
            ``image`` (the uint8 array that was PNG-encoded), ``rows``,
            ``cols``, ``tile_height``, ``tile_width``, ``pad``, ``channels``,
            ``lo``, ``hi``, ``stats`` and the rest of the JSON record.

        Raises:
            ValueError, TypeError: bad images, unknown layers, a model without
                an image input, a bad step. Nothing is written then.
        """
        self.check_step(step)
        if not self._gate.allows(model):
            return []
        capture.check_model(model, _OWNER)
        selection = capture.select_feature_map_layers(model, layers)
        probe, activation_jobs = self._feature_maps.jobs(
            model, images, selection.layers, preprocess if preprocess is not None else self.preprocess,
        )
        self.reports.skipped(selection.skipped, "activations")
        grid_jobs = ([probe] if self.log_probe else []) + [caps.cap_job(j, self.max_channels) for j in activation_jobs]
        return self.write(step, grid_jobs, model=model)

    def log_step(self, model, images, step, layers=None, initial=None, *, preprocess=None,
                 max_channels=None, health=True):
        """Log activations, filters, channel health and drift of one step at once.

        The synchronous twin of what :class:`tb_featureviz.FeatureVizCallback`
        does at a logged step, for custom training loops.

        Example:
            >>> start = logger.snapshot_kernels(model)  # doctest: +SKIP
            >>> for step in range(1, 10):  # doctest: +SKIP
            ...     train_one_epoch(model)
            ...     logger.log_step(model, "cat.png", step, initial=start)

        Args:
            model, images, step, preprocess: see :meth:`log_activations`;
                ``images=None`` logs kernels only.
            layers: feature maps of those with a 2-D output, filters (and
                drift) of those with kernels; see :func:`tb_featureviz.model.capture.select_step_layers`.
            initial: starting kernels from :meth:`snapshot_kernels`, or None
                for no drift.
            max_channels: output channels per grid; defaults to the logger's.
                Channel health always covers every channel.
            health: write the channel-health scalars of the activations.

        Returns:
            ``(records, scalars)``: the grid records and ``{tag: value}`` of
            the scalars written.
        """
        self.check_step(step)
        if not self._gate.allows(model):
            return [], {}
        capture.check_model(model, _OWNER, feature_maps=images is not None)
        chosen = capture.select_step_layers(model, layers)
        self.reports.skipped(chosen.skipped, "activations or filters")
        activation_jobs = []
        if images is not None and chosen.feature_maps:
            probe, activation_jobs = self._feature_maps.jobs(
                model, images, chosen.feature_maps, preprocess if preprocess is not None else self.preprocess,
            )
            activation_jobs = ([probe] if self.log_probe else []) + activation_jobs
        captured = step_jobs.CapturedStep(step, activation_jobs, capture.capture_kernels(chosen.filters))
        cap = self.max_channels if max_channels is None else arguments.check_count(
            _OWNER, "max_channels", max_channels)
        grid_jobs, scalars, _ = step_jobs.step_content(
            captured, initial, max_channels=cap, with_health=health, **self._kernel_style(with_cap=False),
        )
        return self.write(step, grid_jobs, scalars=scalars, model=model), scalars

    def log_features(self, model, layer, step, channels=None, *, objective="channel", directions=None,
                     steps=defaults.LOGGED_FEATURES_STEPS, size=None, seed=0, input_range=(0.0, 255.0), preprocess=None,
                     progress=None):
        """Log feature visualizations: for each channel, the image it responds to most.

        All channels are optimised in one batch (:mod:`tb_featureviz.featurevis`)
        and written as kind ``features``, each channel's objective on its
        image and on noise in the record's ``quality``. The compiled step is
        kept; the model's current weights are read at every call.

        Example:
            >>> logger.log_features(model, "block4_sepconv1", step=0, channels=range(16))  # doctest: +SKIP

        Args:
            layer: one layer with a 2-D output (name, one-layer pattern or layer object).
            channels: channels to visualise (default: all); ``objective``:
                ``"channel"``, ``"neuron"`` or ``"direction"`` (one row of
                ``directions`` per image); ``steps``, ``size``, ``seed``,
                ``input_range``, ``preprocess`` (of backend tensors),
                ``progress(done, total)``: see :func:`tb_featureviz.visualize_features`.

        Returns:
            one record, with ``quality``. Raises ValueError or TypeError
            for a bad step, layer, channel or setting, before any write.
        """
        self.check_step(step)
        if not self._gate.allows(model):
            return []
        job = self._visualizers.job(model, layer, channels, objective=objective, directions=directions, steps=steps,
                                    size=size, seed=seed, input_range=input_range, preprocess=preprocess,
                                    progress=progress)
        return self.write(step, [job], model=model)

    def log_attributions(self, model, images, step, *, method="gradcam", targets="predicted", layer=None,
                         labels=None, class_names=None, preprocess=None):
        """Log attribution maps: where the classifier looks, in each picture, for each target class.

        One forward and one backward pass for the whole batch (Score-CAM adds
        a forward pass per channel), written as kind ``attribution`` under
        the layer, the maps over the pictures, with classes, scores,
        probabilities and raw values in the record (:mod:`tb_featureviz.attribution`).

        Example:
            >>> logger.log_attributions(model, "cat.png", step=0, class_names=names)  # doctest: +SKIP

        Args:
            method: ``"gradcam"``, ``"gradcam++"``, ``"layercam"`` or ``"scorecam"``;
                ``targets``: ``"predicted"``, ``"label"`` (with one class per
                picture in ``labels``), a class or a list, or ``"topK"``;
                ``layer``: default, the last one with a spatial output;
                ``class_names``: a list by class, or a dict by class index.

        Returns:
            the probe pictures' records (with ``log_probe``) and one per picture.
            Raises ValueError or TypeError before any write.
        """
        from tb_featureviz.attribution.grids import attribution_job, check_class_names

        self.check_step(step)
        if not self._gate.allows(model):
            return []
        attributor = self._attributors.get(model, layer, preprocess if preprocess is not None else self.preprocess,
                                           _OWNER)
        check_class_names(class_names, attributor.num_classes, _OWNER)
        result = attributor(images, method=method, targets=targets, labels=labels)
        grid_jobs = ([jobs.probe_job(result.pictures)] if self.log_probe else []) + [attribution_job(result, class_names)]
        return self.write(step, grid_jobs, model=model)

    def log_examples(self, model, data, step, *, layers=None, k=9, max_pictures=None, preprocess=None,
                     progress=None):
        """Log dataset examples: per channel, the k pictures of ``data`` that drive it most.

        One streaming pass (:mod:`tb_featureviz.examples`): per channel the
        top k pictures by its spatial maximum with each unit's receptive
        field cropped, per-channel statistics and a histogram of each layer
        over the data. Under distributed training every process scans a
        share of the batches, the results are merged, the chief writes.

        Example:
            >>> logger.log_examples(model, pictures, step=0, layers="block*_conv1", k=9)  # doctest: +SKIP

        Args:
            data: a numpy array of pictures, ``tf.data.Dataset``, ``keras.utils.PyDataset``,
                torch ``DataLoader`` or iterable of batches (pictures or ``(pictures, labels)``).
            layers: as :meth:`log_activations` (default: every conv layer); ``k``:
                examples per channel; ``max_pictures``: scan at most this many;
                ``progress(pictures done, total or None)``.

        Returns:
            the records written, one per layer (with ``examples``).
        """
        from tb_featureviz.examples.grids import examples_content

        self.check_step(step)
        capture.check_model(model, _OWNER)
        selection = capture.select_feature_map_layers(model, layers)
        self.reports.skipped(selection.skipped, "examples")
        scan = self._scans.get(model, selection.layers, k=k, preprocess=self.preprocess if preprocess is None
                               else preprocess, max_channels=self.max_channels, owner=_OWNER)
        # Every process scans (and merges), whichever writes.
        result = scan.run(data, max_pictures=max_pictures, progress=progress)
        grid_jobs, scalars, histograms = examples_content(result)
        return self.write(step, grid_jobs, scalars=scalars, histograms=histograms, model=model)

    def snapshot_kernels(self, model, layers=None):
        """The selected layers' kernels now, e.g. the pretrained weights before fine-tuning.

        Example:
            >>> start = logger.snapshot_kernels(model)  # doctest: +SKIP
            >>> model.fit(x, y)  # doctest: +SKIP
            >>> logger.log_step(model, None, step=1, initial=start)  # doctest: +SKIP

        Returns:
            ``{qualified layer name: {kernel name: float32 array}}`` (copies).
        """
        capture.check_model(model, _OWNER, feature_maps=False)
        selection = capture.select_filter_layers(model, layers)
        self.reports.skipped(selection.skipped, "filters")
        return {name: copy.arrays for name, copy in capture.capture_kernels(selection.layers).items()}

    # ------------------------------------------------------------- helpers

    def _kernel_style(self, with_cap=True):
        style = dict(filter_scale=self.filter_scale, max_mosaic_tiles=self.max_mosaic_tiles)
        if with_cap:
            style["max_channels"] = self.max_channels
        return style
