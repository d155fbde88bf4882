"""FeatureVizCallback: filter and feature-map grids, drift and channel health inside ``model.fit``.

One line added to a fine-tuning script::

    from tb_featureviz import FeatureVizCallback

    viz = FeatureVizCallback("logs", "cat.png",
                             preprocess=keras.applications.xception.preprocess_input)
    model.fit(train, epochs=5, callbacks=[viz])          # base frozen
    base.trainable = True
    model.compile(keras.optimizers.Adam(1e-5), loss)
    model.fit(train, epochs=5, callbacks=[viz])          # fine-tune: the same callback

Then ``tensorboard --logdir logs`` shows the run ``featureviz``: grids in the
Feature maps tab, drift and channel health in its chart and in Scalars.

What it writes, and when:

* **Steps** count training batches (optimizer steps) taken while the
  callback was attached, across every ``fit`` call it is passed to, so they
  keep growing when a second ``fit`` starts over with a new optimizer. Step 0
  is the model before training.
* **Schedule**: step 0 (at the first ``on_train_begin``), then every
  ``freq`` epochs (or batches with ``unit="batch"``), and the last step of
  every ``fit`` call. A step is never written twice.
* **Grids**: feature maps of the probe images and the kernels of the
  selected layers, plus ``filter_change`` (``W - W0``); the probe images
  themselves once, at the first logged step.
* **Drift** (scalars ``featureviz/<layer>/drift/relative_change``,
  ``drift/cosine_mean``, ``drift/cosine_min``): each kernel layer against its
  kernels at the first ``on_train_begin``, i.e. the pretrained weights.
* **Channel health** (scalars ``featureviz/<layer>/health/dead_fraction``,
  ``health/saturated_fraction``, ``health/nonfinite_fraction``): over every
  channel of the layer's feature maps, not only the ones drawn.
* **Events** (``featureviz/_events``): layers that became trainable or
  frozen since the previous ``fit`` call (or logged step).
* On request, **feature visualizations** (``features_every``),
  **attribution maps** of the probe pictures (``attribution_every``) and
  **dataset examples** over a data set (``examples_every``).

Everything is written through the logger's own event file, never the
default ``tf.summary`` writer, so it stays out of the runs of Keras'
``TensorBoard`` callback. In distributed training every worker computes and
only the chief writes (see :mod:`tb_featureviz.model.distribution`: ``tf.distribute``'s
``should_save_summary``, JAX process 0, torch rank 0). Drawing, PNG encoding and writing run on a background thread;
training waits only for the probe batch's forward pass and a copy of the
kernels, and ``on_train_end`` waits for the last write.

**Failures.** After the set-up, logging never ends training unless
``strict``: a step that can't be captured or written (a full disk, a lost
network mount; step 0's write included) is skipped and training goes on.
The first failure of a ``fit`` call warns, naming the step and the cause;
``on_train_end`` gives one summary warning: how many steps were lost out of
how many, the first and the last, each distinct cause, whether logging
recovered (e.g. once disk space was freed) and whether closing the event
file failed, which is never raised
(:class:`tb_featureviz.failures.FailurePolicy`). The steps written stay
readable: a failed write leaves no partial record
(:mod:`tb_featureviz.writing.eventfile`).

The on-disk format is documented in ``docs/format.md``.
"""

import warnings

import keras

from tb_featureviz import arguments, defaults
from tb_featureviz.attribution.schedule import AttributionSchedule
from tb_featureviz.examples.schedule import ExamplesSchedule
from tb_featureviz.failures import FailurePolicy
from tb_featureviz.featurevis.schedule import FeaturesSchedule
from tb_featureviz.logger import FeatureVizLogger
from tb_featureviz.model import capture, distribution, probes
from tb_featureviz.model.training_steps import TrainingSteps, optimizer_iterations
from tb_featureviz.writing import logdirs, step_jobs
from tb_featureviz.writing.background import OrderedBackgroundWriter

_OWNER = "FeatureVizCallback"

#: Units of the logging schedule.
UNITS = ("epoch", "batch")


class FeatureVizCallback(keras.callbacks.Callback):
    """Logs feature maps, filters, drift and channel health while a model trains.

    Arguments are checked here; layers, probe images and the log directory
    against the model at the first ``on_train_begin``, before the first
    batch. After that, logging never ends training unless ``strict`` (see
    the module's "Failures"). Pass the same callback to every ``fit`` call
    of one training run (frozen base, then unfrozen): it keeps the step
    count, the starting kernels and the trainable state between them.

    Example:
        >>> viz = FeatureVizCallback("logs", "cat.png",  # doctest: +SKIP
        ...                          preprocess=keras.applications.xception.preprocess_input)
        >>> model.fit(x, y, epochs=3, callbacks=[viz])  # doctest: +SKIP

    Args:
        logdir: TensorBoard log directory (local, or ``gs://``-style through
            ``tf.io.gfile``). Grids go to ``<logdir>/<run>``.
        probe_images: the picture(s) whose feature maps are logged: a numpy
            array HWC or NHWC (uint8 or float), a PIL image, a file path, or
            a list of those. Resized to the model's input size.
        layers: names (qualified like ``"xception/block1_conv1"`` or plain),
            glob patterns, classes or layer objects. Layers with a 2-D output
            get feature maps; layers with kernels get filter grids and drift.
            None picks one conv layer per resolution stage
            (:func:`tb_featureviz.model.layers.default_layers`); ``"*"`` picks every layer.
        freq: log every ``freq`` epochs (or batches), an int >= 1.
        unit: ``"epoch"`` (default) or ``"batch"``.
        run: name of the run folder inside ``logdir``.
        preprocess: function applied to the probe batch before the model,
            e.g. ``keras.applications.xception.preprocess_input``.
        max_channels: feature-map channels, and kernel filters, drawn per
            layer (the first ones; records say which). None draws all. Drift
            and channel health always cover every channel.
        drift: write drift scalars and ``filter_change`` grids.
        health: write channel-health scalars.
        strict: stop training instead: a :class:`RuntimeError` naming the
            step and the cause, raised by the next hook (``on_train_end``
            for a failed close of the event file).
        background: draw and write on a background thread (default). False
            logs synchronously, e.g. for debugging.
        workers: threads drawing grids (default: the CPU count).
        features_every, features_layers, features_channels, features_steps, features_size:
            feature visualizations (kind ``features``: the image each
            channel responds to most) every ``features_every`` logged steps,
            the first included; None (default) for never. They are
            optimised on the training thread and cost about
            ``features_steps`` training steps each. See
            :class:`tb_featureviz.featurevis.schedule.FeaturesSchedule`.
        attribution_every, attribution_method, attribution_targets, attribution_layer, attribution_labels,
        class_names: attribution maps of the probe pictures (kind
            ``attribution``: where the classifier looks for each target
            class; Grad-CAM by default) every ``attribution_every`` logged
            steps; None (default) for never. Training waits one forward and
            backward pass of the probe batch; the maps are drawn in the
            background. See :class:`tb_featureviz.attribution.schedule.AttributionSchedule`.
        examples_data, examples_every, examples_layers, examples_k: dataset examples (kind
            ``examples``: per channel the k pictures of ``examples_data`` that drive it most,
            with per-channel statistics and histograms over the data) every ``examples_every``
            logged steps; None (default) for never. Training waits one pass over the data.
            See :class:`tb_featureviz.examples.schedule.ExamplesSchedule`.
        on_logged_step: optional ``function(step, records)`` called after
            each write of this callback, on the thread that wrote it (the
            background thread by default), in step order; ``records`` are
            the grids written (empty for a write that only records a
            trainable change). For progress bars; an error in it is reported
            like a logging failure.

    Raises:
        ValueError, TypeError, PermissionError: bad arguments, with what was
            expected and what was received; from the first ``on_train_begin``,
            a model, layers, probe images or log directory they don't fit.
        RuntimeError: with ``strict=True``, a step that couldn't be logged or an
            event file that couldn't be closed.
    """

    def __init__(self, logdir, probe_images, layers=None, *, freq=1, unit="epoch", run="featureviz",
                 preprocess=None, max_channels=defaults.MAX_CHANNELS, drift=True, health=True,
                 strict=False, background=True, workers=None, features_every=None, features_layers=None,
                 features_channels=defaults.FEATURES_CHANNELS, features_steps=defaults.CALLBACK_FEATURES_STEPS,
                 features_size=None, attribution_every=None, attribution_method="gradcam",
                 attribution_targets="predicted", attribution_layer=None, attribution_labels=None, class_names=None,
                 examples_data=None, examples_every=None, examples_layers=None, examples_k=9, on_logged_step=None):
        super().__init__()
        self.freq = arguments.check_count(_OWNER, "freq", freq)
        if unit not in UNITS:
            raise ValueError(f"{_OWNER} expects unit in {UNITS}. Received: unit={unit!r}")
        self.max_channels = arguments.check_count(_OWNER, "max_channels", max_channels, allow_none=True)
        probes.check_source(probe_images, owner=_OWNER)
        if isinstance(layers, (list, tuple)) and not layers:
            raise ValueError(f"{_OWNER} expects at least one layer, or layers=None for the default. "
                             "Received: an empty list")
        arguments.check_logdir(_OWNER, logdir)
        arguments.check_run(_OWNER, run)
        arguments.check_preprocess(_OWNER, preprocess)
        arguments.check_count(_OWNER, "workers", workers, allow_none=True)
        if on_logged_step is not None and not callable(on_logged_step):
            raise TypeError(f"{_OWNER} expects on_logged_step to be callable or None. "
                            f"Received: {type(on_logged_step).__name__}")
        # What some logged steps add: each captures on the training thread.
        self._extras = (
            FeaturesSchedule(_OWNER, features_every, features_layers, features_channels, features_steps,
                             features_size, preprocess),
            AttributionSchedule(_OWNER, attribution_every, attribution_method, attribution_targets,
                                attribution_layer, attribution_labels, class_names, preprocess),
            ExamplesSchedule(_OWNER, examples_data, examples_every, examples_layers, examples_k,
                             preprocess=preprocess, max_channels=max_channels),
        )
        logdirs.check_creatable(logdir, owner=_OWNER)
        # The logger's own channel cap stays off: channel health sees every
        # channel, and each step is capped when it is drawn.
        self._logger = FeatureVizLogger(logdir, run, preprocess=preprocess, workers=workers)
        self.logdir = self._logger.logdir
        self.run_dir = self._logger.run_dir
        self.probe_images = probe_images
        self.layers = layers
        self.unit = unit
        self.preprocess = preprocess
        self.drift = drift
        self.health = health
        self.strict = strict
        self.background = background
        self.on_logged_step = on_logged_step
        if unit == "epoch":
            # Without an own batch hook Keras may dispatch batch ends asynchronously.
            self.on_train_batch_end = keras.callbacks.Callback.on_train_batch_end.__get__(self)

        self._viz_model = None  # the model the layers were resolved for
        self._layers = capture.StepLayers((), (), ())
        self._feature_maps = capture.FeatureMaps()
        self._background = OrderedBackgroundWriter()
        self._initial = None
        self._trainable = capture.TrainableChanges()
        self._writes = True
        self._steps = TrainingSteps()
        self._epochs = 0
        self._last_logged = None
        self._logged_count = 0  # fresh steps captured, for the features schedule
        self._probe_logged = False
        self._logdir_checked = False  # the set-up's write test ran once: later set-ups don't repeat it
        self._failures = FailurePolicy(_OWNER, strict)

    @property
    def logger(self):
        """The :class:`FeatureVizLogger` that writes this callback's run."""
        return self._logger

    @property
    def step(self):
        """The step of the last hook: training batches seen so far (0 before training)."""
        return self._steps.step

    # ------------------------------------------------------------- hooks

    def on_train_begin(self, logs=None):
        self._raise_failure()
        first = self._viz_model is None
        if self.model is not self._viz_model:
            self._setup(self.model)
        self._steps.fit_started(self.model)
        # The first step's capture is strict: it is still part of the set-up
        # (e.g. bad features_layers). Its write is not: a full disk is no
        # misconfiguration, and check_writable has shown the directory works.
        self._log(self._steps.step, strict=first or self.strict)

    def on_epoch_end(self, epoch, logs=None):
        self._raise_failure()
        self._epochs += 1
        step = self._steps.update(self.model)
        if self.unit == "epoch" and self._epochs % self.freq == 0:
            self._log(step)

    def on_train_batch_end(self, batch, logs=None):
        # Replaced by a no-op in __init__ for unit="epoch".
        self._raise_failure()
        step = self._steps.update(self.model)
        if step // self.freq > (self._last_logged or 0) // self.freq:
            self._log(step)

    def on_train_end(self, logs=None):
        try:
            self._log(self._steps.update(self.model))
        finally:
            close_error = self._close()
        self._raise_failure()
        self._failures.finish(self._steps.step, close_error)

    # ----------------------------------------------------------- set-up

    def _setup(self, model):
        step_layers = capture.resolve_step_layers(model, self.layers, self.probe_images, self.preprocess, _OWNER)
        self._logger.reports.skipped(step_layers.skipped, "activations or filters")
        for extra in self._extras:
            self._logger.reports.skipped(extra.check(model, self.probe_images, step_layers.feature_maps), extra.what)
        if optimizer_iterations(model) is None:
            raise ValueError(
                f"{_OWNER} expects a compiled model whose optimizer counts its steps. "
                f"Received: model {model.name!r} with optimizer {getattr(model, 'optimizer', None)!r}"
            )
        writes = distribution.should_write(model)
        if writes and not self._logdir_checked:
            logdirs.check_writable(self.run_dir, owner=_OWNER)
            self._logdir_checked = True
        if self._viz_model is not None:
            warnings.warn(
                f"{_OWNER} was used with model {self._viz_model.name!r} and now with "
                f"{model.name!r}: drift restarts from the new model's kernels.",
                stacklevel=3,
            )
        self._layers = step_layers
        self._writes = writes
        self._initial = None
        if self.drift and step_layers.filters:
            copies = capture.capture_kernels(step_layers.filters)
            self._initial = {name: copy.arrays for name, copy in copies.items()}
        self._trainable = capture.TrainableChanges(model)
        self._viz_model = model

    # ---------------------------------------------------------- logging

    def _log(self, step, strict=None):
        """Log ``step`` unless it was logged already; record trainable changes."""
        strict = self.strict if strict is None else strict
        events = self._trainable.events(self._viz_model)
        fresh = self._last_logged is None or step > self._last_logged
        if not fresh and not events:
            return
        try:
            captured = self._capture(step) if fresh else step_jobs.CapturedStep(step, [], {})
        except Exception as error:  # noqa: BLE001 - a logging failure must not end training
            if strict:
                self._close()
                raise
            self._failures.failed(step, error)
            return
        finally:
            if fresh:
                self._last_logged = step
        if not self._writes:
            return  # a worker that must not write: it computed, the chief writes
        captured.events = events
        if fresh and captured.activation_jobs:
            self._probe_logged = True
        if self.background:
            self._background.submit(self._write, captured)
        else:
            self._write(captured)
            self._raise_failure()

    def _capture(self, step):
        """What a step needs from the model, taken now, on the training thread."""
        activation_jobs = []
        if self._layers.feature_maps:
            probe, activation_jobs = self._feature_maps.jobs(
                self._viz_model, self.probe_images, self._layers.feature_maps, self.preprocess,
            )
            if not self._probe_logged:
                activation_jobs = [probe] + activation_jobs
        self._logged_count += 1
        deferred = []
        for extra in self._extras:
            if extra.due(self._logged_count):
                made, later = extra.capture(self._viz_model, self.probe_images, self._layers.feature_maps)
                activation_jobs += made
                deferred += later
        return step_jobs.CapturedStep(step, activation_jobs, capture.capture_kernels(self._layers.filters),
                                      deferred=deferred)

    def _write(self, captured):
        """Draw and write a captured step (on the background thread by default)."""
        try:
            grid_jobs, scalars, histograms = step_jobs.step_content(
                captured, self._initial, max_channels=self.max_channels, with_health=self.health,
            )
            records = self._logger.write(captured.step, grid_jobs, scalars=scalars, events=captured.events,
                                         model=self._viz_model, histograms=histograms)
            if self.on_logged_step is not None:
                self.on_logged_step(captured.step, records)
            self._failures.written(captured.step)
        except Exception as error:  # noqa: BLE001 - raised by the next hook when strict, else reported
            self._failures.failed(captured.step, error)

    def _close(self):
        """Wait for the last write and close the event file; returns the close's error, if any.

        Also before a strict failure is raised: Keras then skips on_train_end.
        """
        self._background.drain()
        try:
            self._logger.close()
        except Exception as error:  # noqa: BLE001 - a full disk must not end fit: on_train_end reports it
            return error
        return None

    def _raise_failure(self):
        failure = self._failures.pending()
        if failure is not None:
            self._close()
            raise failure
