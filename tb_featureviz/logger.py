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
through :meth:`FeatureVizLogger.write`, which holds the step check and the
writing in one critical section.
"""

import os
import threading
import warnings

import numpy as np

from tb_featureviz import arguments, metadata, reporting
from tb_featureviz.model import capture, distribution
from tb_featureviz.render import jobs, kernels
from tb_featureviz.writing import step_jobs
from tb_featureviz.render.drawing import GridDrawer
from tb_featureviz.writing.summary_writer import SummaryWriter

_OWNER = "FeatureVizLogger"


class FeatureVizLogger:
    """Writes filter and feature-map grids of a Keras model to TensorBoard.

    The logger owns its run directory (``<logdir>/<run>``) and its own
    summary writer, created on the first write; it never writes through
    TensorFlow's default writer. One logger may be shared between threads:
    each write is atomic, and steps must never decrease.

    Example:
        >>> import numpy as np, keras  # doctest: +SKIP
        >>> model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3)])  # doctest: +SKIP
        >>> with FeatureVizLogger("/tmp/logs") as logger:  # doctest: +SKIP
        ...     records = logger.log_activations(model, np.zeros((32, 32, 3), np.uint8), step=0)
        >>> records[0]["tag"]  # doctest: +SKIP
        'featureviz/conv2d/activations'

    Args:
        logdir: TensorBoard log directory (local or ``gs://``-style path).
        run: name of the run folder inside ``logdir``.
        max_channels: draw at most this many channels of a layer (the first
            ones); records list the channels held and the total, and one
            warning per call (a :class:`tb_featureviz.render.jobs.CapWarning`)
            names the layers it capped first. None draws all.
        activation_scale: ``"channel"`` (default: each feature map its own
            range), ``"layer"`` (one range per grid) or ``"fixed"``.
        activation_range: ``(lo, hi)`` for ``activation_scale="fixed"``.
        filter_scale: ``"channel"`` (default) or ``"layer"``; kernels are
            always drawn symmetric around zero.
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
        self.logdir = arguments.check_logdir(_OWNER, logdir)
        self._gate = distribution.ChiefGate(_OWNER, chief_only)
        self.run = arguments.check_run(_OWNER, run)
        self.max_channels = arguments.check_count(_OWNER, "max_channels", max_channels, allow_none=True)
        arguments.check_scales(_OWNER, activation_scale, activation_range, filter_scale)
        self.max_mosaic_tiles = arguments.check_count(_OWNER, "max_mosaic_tiles", max_mosaic_tiles)
        self.preprocess = arguments.check_preprocess(_OWNER, preprocess)
        workers = arguments.check_count(_OWNER, "workers", workers, allow_none=True)
        arguments.check_compress_level(_OWNER, compress_level)
        self.activation_scale = activation_scale
        self.activation_range = activation_range
        self.filter_scale = filter_scale
        self.compress_level = compress_level
        self.log_probe = log_probe
        self.run_dir = os.path.join(self.logdir, run)
        self.writer = SummaryWriter(self.run_dir)
        self._drawer = GridDrawer(workers, compress_level)
        self._feature_maps = capture.FeatureMaps(activation_scale, activation_range)
        self._visualizers = {}  # compiled feature visualizations, by model, layer and settings
        self._structure_logged = set()  # ids of models whose structure is written
        self._reports = reporting.OnceReports()
        self._sequence = {}  # image tag -> grids written so far
        self._last_step = None
        # One step's check and writes form one critical section, so that two
        # threads sharing a logger cannot interleave or reorder steps.
        self._write_lock = threading.RLock()

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
        self.report_skipped(selection.skipped, "filters")
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
        self.report_skipped(selection.skipped, "activations")
        grid_jobs = ([probe] if self.log_probe else []) + [jobs.cap_job(j, self.max_channels) for j in activation_jobs]
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
        self.report_skipped(chosen.skipped, "activations or filters")
        activation_jobs = []
        if images is not None and chosen.feature_maps:
            probe, activation_jobs = self._feature_maps.jobs(
                model, images, chosen.feature_maps, preprocess if preprocess is not None else self.preprocess,
            )
            activation_jobs = ([probe] if self.log_probe else []) + activation_jobs
        captured = step_jobs.CapturedStep(step, activation_jobs, capture.capture_kernels(chosen.filters))
        cap = self.max_channels if max_channels is None else arguments.check_count(
            _OWNER, "max_channels", max_channels)
        grid_jobs, scalars = step_jobs.step_content(
            captured, initial, max_channels=cap, with_health=health, **self._kernel_style(with_cap=False),
        )
        return self.write(step, grid_jobs, scalars=scalars, model=model), scalars

    def log_features(self, model, layer, step, channels=None, *, objective="channel", directions=None,
                     steps=256, size=None, seed=0, input_range=(0.0, 255.0), preprocess=None, progress=None):
        """Log feature visualizations: for each channel, the image it responds to most.

        All channels are optimised in one batch (recipe:
        :mod:`tb_featureviz.featurevis.visualizer`) and written as kind ``features``: an
        RGB tile per channel, its objective on the image and on noise in the
        record's ``quality``. The compiled step is kept for later calls; the
        model's current weights are read at every call.

        Example:
            >>> logger.log_features(model, "block4_sepconv1", step=0, channels=range(16))  # doctest: +SKIP

        Args:
            model, step: see :meth:`log_filters`.
            layer: one layer with a 2-D output (name, pattern matching one
                layer, or layer object).
            channels: channels to visualise (default: all of the layer's).
            objective: ``"channel"`` (mean), ``"neuron"`` (centre unit) or
                ``"direction"`` (with ``directions``, one row per image).
            steps, size, seed: optimisation steps, image side, random seed.
            input_range: the input value range the image in [0, 1] is mapped onto.
            preprocess: a function of backend tensors applied after that
                (e.g. ``keras.applications.xception.preprocess_input``).
            progress: optional ``progress(done, total)`` called every step.

        Returns:
            list with one record (see :meth:`log_activations`), plus ``quality``.

        Raises:
            ValueError, TypeError: a bad step, layer, channel or setting;
                nothing is written then.
        """
        self.check_step(step)
        if not self._gate.allows(model):
            return []
        job = self.features_job(model, layer, channels, objective=objective, directions=directions, steps=steps,
                                size=size, seed=seed, input_range=input_range, preprocess=preprocess,
                                progress=progress)
        return self.write(step, [job], model=model)

    def features_job(self, model, layer, channels=None, *, objective="channel", directions=None, steps=256,
                     size=None, seed=0, input_range=(0.0, 255.0), preprocess=None, progress=None):
        """The ``features`` grid job of :meth:`log_features`, optimised now, not written.

        The callback runs this on the training thread and writes the job later.
        """
        from tb_featureviz.featurevis import visualizer as featurevis

        key = (id(model), layer if isinstance(layer, str) else id(layer), size, objective,
               tuple(input_range), id(preprocess))
        visualizer = self._visualizers.get(key)
        if visualizer is None or visualizer.model is not model:
            visualizer = featurevis.FeatureVisualizer(model, layer, size=size, objective=objective,
                                                      input_range=input_range, preprocess=preprocess)
            self._visualizers[key] = visualizer
        result = visualizer.run(channels, steps=steps, seed=seed, directions=directions, progress=progress)
        return featurevis.features_job(result)

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
        self.report_skipped(selection.skipped, "filters")
        return {name: copy.arrays for name, copy in capture.capture_kernels(selection.layers).items()}

    def log_scalar(self, tag, value, step):
        """Write a standard scalar summary into this logger's run."""
        self.write(step, scalars={tag: value})

    def write(self, step, grid_jobs=(), *, scalars=None, events=None, model=None):
        """Draw and write one step: the single path every write takes.

        The step check and all writes of the step happen under one lock, so
        steps reach the file in order even from several threads. A grid
        counts in its tag's ``sequence`` only once it is written.

        Args:
            step: global step, never smaller than the last one written.
            grid_jobs: :class:`tb_featureviz.render.jobs.GridJob` objects.
            scalars: ``{tag: value}`` standard scalar summaries.
            events: training-event dicts for ``featureviz/_events``.
            model: writes the model's structure with its first grids; under
                ``tf.distribute``, its strategy says which process writes.

        Returns:
            list of records, one per grid and sample (see :meth:`log_activations`).

        Raises:
            OSError: the step couldn't be written (e.g. a full disk). Nothing
                of it stays in a local event file and it doesn't count in
                ``sequence``; later steps are written when the disk has room.
        """
        if not self._gate.allows(model):
            return []
        with self._write_lock:
            step = self.check_step(step)
            self._reports.caps(grid_jobs, self.max_mosaic_tiles)
            drawn = self._drawer.draw(grid_jobs)
            missing = self.writer.reopen_if_missing()
            if missing is not None:
                warnings.warn(
                    f"{_OWNER}: the event file {missing!r} was deleted (was the log directory removed?). "
                    f"Writing step {step} and later steps into a new event file in {self.run_dir!r}.",
                    stacklevel=2,
                )
            try:
                records, sequence, structure_of = self._write_drawn(step, drawn, scalars, events, model)
                self.writer.flush()
            except BaseException:
                # Whole or not at all: a step that failed half-way (a full disk)
                # leaves nothing in the file and doesn't count in sequence.
                self.writer.discard()
                raise
            self._sequence = sequence
            if structure_of is not None:
                self._structure_logged.add(structure_of)
            self._last_step = step
        return records

    def check_step(self, step):
        """``step`` as an int, or the error a write of it would raise.

        Raises:
            ValueError: not an int in ``0 .. 2**63 - 1``, or smaller than the
                last step written (TensorBoard drops data after an
                out-of-order step).
        """
        step = arguments.check_step(step)
        if self._last_step is not None and step < self._last_step:
            raise ValueError(
                f"{_OWNER} expects steps that never decrease (TensorBoard drops data "
                f"after an out-of-order step). Received: step={step} after step={self._last_step}"
            )
        return step

    def flush(self):
        """Write buffered events to disk."""
        self.writer.flush()

    def close(self):
        """Flush and close the writer and the drawing threads. Idempotent.

        Raises:
            OSError: the event file's last flush or its close failed (e.g. a
                full disk); the file and the threads are closed anyway.
        """
        try:
            self.writer.close()
        finally:
            self._drawer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def bytes_written(self):
        """Bytes of PNG and JSON payload written so far."""
        return self.writer.bytes_written

    # ------------------------------------------------------------- helpers

    def _write_drawn(self, step, drawn, scalars, events, model):
        """Queue a step's events; returns its records and what counts once it is flushed."""
        if events:
            document = {"version": metadata.FORMAT_VERSION,
                        "events": [{"step": step, **event} for event in events]}
            self.writer.write_json(metadata.EVENTS_TAG, metadata.create_events_metadata(), document, step)
        structure_of = None
        if model is not None and drawn and id(model) not in self._structure_logged:
            from tb_featureviz.model.layers import describe_structure

            self.writer.write_structure({"version": metadata.FORMAT_VERSION, **describe_structure(model)}, step)
            structure_of = id(model)
        sequence = dict(self._sequence)
        records = []
        for grid in drawn:
            tag = metadata.image_tag(grid.job.layer, grid.job.kind)
            header = jobs.record_header(grid, step, sequence.get(tag, 0))
            self.writer.write_grid(grid.job.layer, grid.job.kind, step, grid.pngs, max(header["width"], 1),
                                   max(header["height"], 1), jobs.record_text(header, grid))
            sequence[tag] = header["sequence"] + 1
            records.extend(jobs.returned_records(header, grid, tag))
        for tag, value in (scalars or {}).items():
            self.writer.write_scalar(tag, value, step)
        return records, sequence, structure_of

    def _kernel_style(self, with_cap=True):
        style = dict(filter_scale=self.filter_scale, max_mosaic_tiles=self.max_mosaic_tiles)
        if with_cap:
            style["max_channels"] = self.max_channels
        return style

    def report_skipped(self, skipped, what):
        """Warn once per layer about layers a selection reached but can't log."""
        self._reports.skipped(skipped, what)
