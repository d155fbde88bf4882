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
leaves a half-written step.
"""

import concurrent.futures
import dataclasses
import math
import os
import threading
import warnings

import numpy as np

from tb_featureviz import grids, kernels, metadata, stats
from tb_featureviz.summary import SummaryWriter, dumps, encode_png, json_floats

#: Pseudo layer under which the probe images themselves are logged.
PROBE_LAYER = "_probe"


@dataclasses.dataclass
class GridJob:
    """Everything needed to draw one grid (all samples) of one layer and kind."""

    layer: str
    class_name: str
    kind: str
    layout: str
    samples: list  # one tile stack per sample
    channels: list
    total_channels: int
    source_shape: tuple
    input_channels: list = None
    cols: int = None
    pad: int = 1
    scale: str = "channel"
    symmetric: bool = False
    value_range: tuple = None


def _validate_step(step):
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
        raise ValueError(f"step expects an int >= 0. Received: step={step!r}")
    return int(step)


def draw_job(job, compress_level=1):
    """Grids, PNGs and sample documents for every sample of ``job`` (pure, thread-safe).

    The sample documents (``lo``, ``hi``, ``nonfinite``, ``stats``) are
    JSON-encoded here too, on the worker threads: encoding them is most of
    the time a step spends outside numpy and zlib, and here it overlaps the
    other grids' GIL-free work.

    Returns:
        ``(grids, pngs, samples, sample_texts)``: lists with one entry per
        sample; ``samples`` are JSON-ready dicts, ``sample_texts`` their JSON.
    """
    drawn, pngs, samples, texts = [], [], [], []
    for tiles in job.samples:
        grid = grids.make_grid(
            tiles, scale=job.scale, symmetric=job.symmetric,
            value_range=job.value_range, pad=job.pad, cols=job.cols,
        )
        drawn.append(grid)
        pngs.append(encode_png(grid.image, compress_level))
        rows = stats.stats_rows(tiles, job.layout, job.cols)
        channel_stats = stats.channel_stats(rows, all_finite=grid.nonfinite == 0)
        sample = {
            "lo": json_floats(grid.lo),
            "hi": json_floats(grid.hi),
            "nonfinite": grid.nonfinite,
            "stats": {name: json_floats(values) for name, values in channel_stats.items()},
        }
        samples.append(sample)
        texts.append(dumps(sample))
    return drawn, pngs, samples, texts


class FeatureVizLogger:
    """Writes filter and feature-map grids of a Keras model to TensorBoard.

    The logger owns its run directory (``<logdir>/<run>``) and its own
    summary writer, created on the first write; it never writes through
    TensorFlow's default writer.

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
            ones); records list the channels held and the total, and a
            warning names each capped layer once. None draws all.
        activation_scale: ``"channel"`` (default: each feature map its own
            range), ``"layer"`` (one range per grid) or ``"fixed"``.
        activation_range: ``(lo, hi)`` for ``activation_scale="fixed"``.
        filter_scale: ``"channel"`` (default) or ``"layer"``; kernels are
            always drawn symmetric around zero.
        max_mosaic_tiles: cap on the input-by-output slices of a mosaic.
        preprocess: default preprocessing for probe images.
        workers: threads drawing grids; default: the number of CPUs.
        compress_level: PNG zlib level (1 is fast and nearly as small).
        log_probe: also log the probe images themselves (layer ``_probe``).
    """

    def __init__(self, logdir, run="featureviz", *, max_channels=None, activation_scale="channel",
                 activation_range=None, filter_scale="channel", max_mosaic_tiles=kernels.DEFAULT_MAX_MOSAIC_TILES,
                 preprocess=None, workers=None, compress_level=1, log_probe=True):
        if not isinstance(logdir, (str, os.PathLike)) or not os.fspath(logdir):
            raise ValueError(f"FeatureVizLogger expects a non-empty logdir path. Received: logdir={logdir!r}")
        if not isinstance(run, str) or not run or "/" in run or run in (".", ".."):
            raise ValueError(f"FeatureVizLogger expects run to be a folder name. Received: run={run!r}")
        if max_channels is not None and (isinstance(max_channels, bool) or not isinstance(max_channels, int) or max_channels < 1):
            raise ValueError(f"FeatureVizLogger expects max_channels >= 1 or None. Received: max_channels={max_channels!r}")
        if activation_scale not in grids.SCALES:
            raise ValueError(f"FeatureVizLogger expects activation_scale in {grids.SCALES}. Received: {activation_scale!r}")
        if activation_scale == "fixed":
            grids.value_ranges(np.zeros((1, 1)), "fixed", value_range=activation_range)  # validates
        if filter_scale not in ("channel", "layer"):
            raise ValueError(f"FeatureVizLogger expects filter_scale 'channel' or 'layer'. Received: {filter_scale!r}")
        if preprocess is not None and not callable(preprocess):
            raise TypeError(f"FeatureVizLogger expects preprocess to be callable. Received: {type(preprocess).__name__}")
        self.logdir = os.fspath(logdir)
        self.run = run
        self.run_dir = os.path.join(self.logdir, run)
        self.max_channels = max_channels
        self.activation_scale = activation_scale
        self.activation_range = activation_range
        self.filter_scale = filter_scale
        self.max_mosaic_tiles = max_mosaic_tiles
        self.preprocess = preprocess
        self.compress_level = compress_level
        self.log_probe = log_probe
        self.writer = SummaryWriter(self.run_dir)
        self._workers = workers or os.cpu_count() or 1
        self._pool = None
        self._extractors = {}
        self._structure_logged = set()
        self._reported = set()
        self._sequence = {}
        self._last_step = None
        self._lock = threading.Lock()

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
        step = self._check_step(step)
        jobs = self.filter_jobs(model, layers)
        return self._run(model, step, jobs)

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
        step = self._check_step(step)
        jobs = self.activation_jobs(model, images, layers, preprocess)
        return self._run(model, step, jobs)

    def log_scalar(self, tag, value, step):
        """Write a standard scalar summary into this logger's run."""
        self.writer.write_scalar(tag, value, self._check_step(step))

    def flush(self):
        """Write buffered events to disk."""
        self.writer.flush()

    def close(self):
        """Flush and close the writer and the drawing threads. Idempotent."""
        self.writer.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def bytes_written(self):
        """Bytes of PNG and JSON payload written so far."""
        return self.writer.bytes_written

    # --------------------------------------------------------- job building

    def filter_jobs(self, model, layers=None):
        """Grid jobs of the selected layers' kernels (no drawing, no writing)."""
        from tb_featureviz import layers as layer_lib

        _check_model(model)
        selection = layer_lib.select_layers(model, layers, requirement=_kernel_requirement)
        self._report(selection.skipped, "filters")
        jobs = []
        for info in selection.layers:
            arrays = layer_lib.kernel_arrays(info.layer)
            jobs.extend(self.kernel_jobs(info.name, info.layer, arrays, kind_suffix=""))
        return jobs

    def kernel_jobs(self, layer_name, layer, arrays, kind_suffix=""):
        """Jobs drawing ``arrays`` (kernel dict of ``layer``), e.g. kernels or their change."""
        mro = [cls.__name__ for cls in type(layer).__mro__]
        total = _output_channels(type(layer).__name__, arrays)
        channels = self._capped(layer_name, total)
        sets = kernels.kernel_tiles(
            type(layer).__name__, arrays, channels=channels,
            max_mosaic_tiles=self.max_mosaic_tiles, mro_names=mro,
        )
        jobs = []
        for tile_set in sets:
            if tile_set.layout == "mosaic":
                inputs = _mosaic_inputs(type(layer).__name__, tile_set.source_shape)
                if len(tile_set.input_channels) < inputs:
                    self._warn_once(
                        (layer_name, "mosaic"),
                        f"Layer {layer_name!r}: the filter mosaic holds input channels "
                        f"0..{len(tile_set.input_channels) - 1} of {inputs} "
                        f"(max_mosaic_tiles={self.max_mosaic_tiles}).",
                    )
            jobs.append(GridJob(
                layer=layer_name,
                class_name=type(layer).__name__,
                kind=tile_set.kind + kind_suffix,
                layout=tile_set.layout,
                samples=[tile_set.tiles],
                channels=tile_set.channels,
                total_channels=tile_set.total_channels,
                source_shape=tile_set.source_shape,
                input_channels=tile_set.input_channels,
                cols=tile_set.cols,
                pad=tile_set.pad,
                scale="layer" if tile_set.layout == "matrix" else self.filter_scale,
                symmetric=True,
            ))
        return jobs

    def activation_jobs(self, model, images, layers=None, preprocess=None):
        """Grid jobs of feature maps (runs the forward pass, draws nothing)."""
        from tb_featureviz import layers as layer_lib
        from tb_featureviz.activations import ActivationExtractor, model_data_format
        from tb_featureviz.probes import load_probe

        _check_model(model)
        selection = layer_lib.select_layers(model, layers)
        data_format = model_data_format(model, selection.layers)
        probe = load_probe(
            images, tuple(model.inputs[0].shape),
            preprocess=preprocess if preprocess is not None else self.preprocess,
            data_format=data_format,
        )
        self._report(selection.skipped, "activations")
        key = (id(model), tuple(info.name for info in selection.layers))
        extractor = self._extractors.get(key)
        if extractor is None or extractor.model is not model:
            extractor = ActivationExtractor(model, selection.layers)
            self._extractors[key] = extractor
        maps = extractor(probe.batch)
        jobs = []
        if self.log_probe:
            display = probe.display
            jobs.append(GridJob(
                layer=PROBE_LAYER, class_name="Probe", kind="probe", layout="tiles",
                samples=[image[None] if image.shape[-1] == 3 else image[None, ..., 0] for image in display],
                channels=[0], total_channels=1, source_shape=tuple(display.shape),
                scale="fixed", value_range=(0.0, 255.0),
            ))
        for info in selection.layers:
            fmap = maps[info.name]  # [N, H, W, C]
            total = fmap.shape[-1]
            channels = self._capped(info.name, total)
            per_sample = []
            for sample in fmap:
                tiles = np.moveaxis(sample, -1, 0)  # a view: [C, H, W]
                per_sample.append(tiles if channels is None else tiles[: len(channels)])
            jobs.append(GridJob(
                layer=info.name, class_name=info.class_name, kind="activations", layout="tiles",
                samples=per_sample,
                channels=list(range(total)) if channels is None else channels,
                total_channels=total, source_shape=tuple(fmap.shape),
                scale=self.activation_scale, value_range=self.activation_range,
            ))
        return jobs

    # ------------------------------------------------------------- running

    def draw(self, jobs):
        """Draw ``jobs`` on the worker threads; returns results in job order."""
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(self._workers, thread_name_prefix="featureviz")
        # Largest first, so that the last job to finish is a small one.
        order = sorted(range(len(jobs)), key=lambda i: -sum(s.size for s in jobs[i].samples))
        futures = {i: self._pool.submit(draw_job, jobs[i], self.compress_level) for i in order}
        return [futures[i].result() for i in range(len(jobs))]

    def records_for(self, jobs, drawn, step):
        """JSON documents and returned records for drawn jobs."""
        documents, records = [], []
        for job, (job_grids, pngs, samples, sample_texts) in zip(jobs, drawn):
            first = job_grids[0]
            image_tag = metadata.image_tag(job.layer, job.kind)
            with self._lock:
                sequence = self._sequence.get(image_tag, 0)
                self._sequence[image_tag] = sequence + 1
            document = {
                "version": metadata.FORMAT_VERSION,
                "layer": job.layer,
                "class": job.class_name,
                "kind": job.kind,
                "step": step,
                "sequence": sequence,
                "layout": job.layout,
                "scale": job.scale,
                "symmetric": job.symmetric,
                "source_shape": [None if d is None else int(d) for d in job.source_shape],
                "width": int(first.image.shape[1]),
                "height": int(first.image.shape[0]),
                "depth": max(int(g.image.shape[2]) if g.image.ndim == 3 else 1 for g in job_grids),
                "rows": first.rows,
                "cols": first.cols,
                "tile_height": first.tile_height,
                "tile_width": first.tile_width,
                "pad": first.pad,
                "channels": [int(c) for c in job.channels],
                "total_channels": int(job.total_channels),
                "input_channels": None if job.input_channels is None else [int(c) for c in job.input_channels],
            }
            for index, (grid, png, sample) in enumerate(zip(job_grids, pngs, samples)):
                record = dict(document)
                record.update(sample)
                record.update(tag=image_tag, sample=index, image=grid.image, png=png,
                              num_samples=len(job_grids))
                records.append(record)
            # The document is the header plus the samples encoded on the workers.
            header = dumps(document)
            text = header[:-1] + ',"samples":[' + ",".join(sample_texts) + "]}"
            documents.append((job, document, pngs, text))
        return documents, records

    def write(self, documents, step, model=None):
        """Write drawn documents (and the model structure, once) at ``step``."""
        if model is not None and id(model) not in self._structure_logged:
            from tb_featureviz.layers import describe_structure

            structure = {"version": metadata.FORMAT_VERSION, **describe_structure(model)}
            self.writer.write_structure(structure, step)
            self._structure_logged.add(id(model))
        for job, document, pngs, text in documents:
            width = max(document["width"], 1)
            height = max(document["height"], 1)
            self.writer.write_grid(job.layer, job.kind, step, pngs, width, height, text)
        self._last_step = step if self._last_step is None else max(self._last_step, step)

    def _run(self, model, step, jobs):
        drawn = self.draw(jobs)
        documents, records = self.records_for(jobs, drawn, step)
        self.write(documents, step, model)
        return records

    # ------------------------------------------------------------- helpers

    def _check_step(self, step):
        step = _validate_step(step)
        if self._last_step is not None and step < self._last_step:
            raise ValueError(
                f"FeatureVizLogger expects steps that never decrease (TensorBoard drops data "
                f"after an out-of-order step). Received: step={step} after step={self._last_step}"
            )
        return step

    def _capped(self, layer_name, total):
        """Channels kept for a layer with ``total`` channels, or None for all."""
        if self.max_channels is None or total <= self.max_channels:
            return None
        self._warn_cap(layer_name, total, self.max_channels)
        return list(range(self.max_channels))

    def _warn_cap(self, layer_name, total, keep):
        self._warn_once(
            (layer_name, "cap"),
            f"Layer {layer_name!r} has {total} channels; logging channels 0..{keep - 1} "
            f"(max_channels={keep}). Records list the channels they hold.",
        )

    def _report(self, skipped, what):
        for info, reason in skipped:
            self._warn_once((info.name, what), f"Not logging {what} of layer {info.name!r} ({info.class_name}): {reason}.")

    def _warn_once(self, key, message):
        if key not in self._reported:
            self._reported.add(key)
            warnings.warn(message, stacklevel=3)

    # =====================================================================
    # Callback support (issue 3): drift from the starting kernels, channel
    # health, filter change grids, and a background write path. This block
    # only adds methods; FeatureVizCallback is their main user, and each is
    # usable from a custom training loop as well.
    # =====================================================================

    # The background writer (see submit) is created on first use.
    _background = None
    _pending = ()

    def select_for_step(self, model, layers=None):
        """Resolve ``layers`` once for both halves of a step: feature maps and kernels.

        A layer is chosen when it has a 2-D output (its activations are
        logged), kernels with a drawing rule (its filters are logged), or
        both. A layer named explicitly that has neither raises.

        Returns:
            ``(activation_infos, kernel_infos)``: lists of
            :class:`tb_featureviz.layers.LayerInfo`, in model order.

        Raises:
            ValueError, TypeError: as :func:`tb_featureviz.layers.select_layers`.
        """
        from tb_featureviz import layers as layer_lib

        _check_model(model)

        def either(info):
            spatial = layer_lib.has_spatial_output(info)
            kernel = _kernel_requirement(info)
            if spatial is None or kernel is None:
                return None
            return f"{spatial}, and {kernel}"

        selection = layer_lib.select_layers(model, layers, requirement=either)
        self._report(selection.skipped, "activations or filters")
        activation = [info for info in selection.layers if layer_lib.has_spatial_output(info) is None]
        kernel = [info for info in selection.layers if _kernel_requirement(info) is None]
        return activation, kernel

    def capture_kernels(self, model, layers=None):
        """Copies of the selected layers' kernels, with the layers.

        Args:
            model: a built Keras model.
            layers: see :meth:`log_filters`: layers whose kernels can be drawn.

        Returns:
            ``{qualified name: (layer, {kernel name: float32 array})}``. The
            arrays are copies: later training does not change them.
        """
        from tb_featureviz import layers as layer_lib

        _check_model(model)
        selection = layer_lib.select_layers(model, layers, requirement=_kernel_requirement)
        self._report(selection.skipped, "filters")
        return {info.name: (info.layer, layer_lib.kernel_arrays(info.layer)) for info in selection.layers}

    def snapshot_kernels(self, model, layers=None):
        """The selected layers' kernels now, e.g. the pretrained weights before fine-tuning.

        Example:
            >>> start = logger.snapshot_kernels(model)  # doctest: +SKIP
            >>> model.fit(x, y)  # doctest: +SKIP
            >>> logger.log_step(model, None, step=1, initial=start)  # doctest: +SKIP

        Returns:
            ``{qualified layer name: {kernel name: float32 array}}`` (copies).
        """
        return {name: arrays for name, (_layer, arrays) in self.capture_kernels(model, layers).items()}

    def filter_change_jobs(self, layer_name, layer, current, initial):
        """Jobs drawing ``W - W0`` of a layer as kind ``filter_change``.

        The change is drawn like the layer's ``filters`` grid (same tiles,
        same channels), on one symmetric scale for the whole grid, so that the
        filters that moved most stand out and an unchanged layer is flat grey.

        Args:
            layer_name: qualified name.
            layer: the Keras layer (its class picks the drawing rule).
            current, initial: ``{kernel name: array}`` now and at the start.
        """
        change = {name: np.asarray(current[name], np.float32) - np.asarray(initial[name], np.float32)
                  for name in current}
        return [
            dataclasses.replace(job, kind="filter_change", scale="layer")
            for job in self.kernel_jobs(layer_name, layer, change)
            if job.kind == "filters"
        ]

    def drift_scalars(self, layer_name, class_name, current, initial):
        """``{tag: value}`` of the drift scalars of one layer (see :mod:`tb_featureviz.drift`)."""
        from tb_featureviz import drift

        summary = drift.drift_summary(class_name, current, initial)
        return {metadata.scalar_tag(layer_name, "drift/" + name): summary[name] for name in drift.DRIFT_NAMES}

    def health_scalars(self, jobs):
        """``{tag: value}`` of the channel-health scalars of ``activations`` jobs.

        Computed over the channels the jobs hold: pass jobs built without a
        channel cap (``max_channels=None``) to cover every channel.
        """
        from tb_featureviz import drift

        scalars = {}
        for job in jobs:
            if job.kind == "activations":
                health = drift.channel_health(job.samples)
                for name in drift.HEALTH_NAMES:
                    scalars[metadata.scalar_tag(job.layer, "health/" + name)] = health[name]
        return scalars

    def cap_jobs(self, jobs, max_channels):
        """Jobs holding at most ``max_channels`` output channels each (None: unchanged).

        Keeps the first channels: tiles of a ``tiles`` grid, columns of a
        ``matrix`` or ``mosaic`` grid. Records list the channels they hold and
        ``total_channels``; a warning names each capped layer once.
        """
        if max_channels is None:
            return list(jobs)
        capped = []
        for job in jobs:
            if len(job.channels) <= max_channels:
                capped.append(job)
                continue
            keep = max_channels
            self._warn_cap(job.layer, job.total_channels, keep)
            if job.layout == "tiles":
                samples = [tiles[:keep] for tiles in job.samples]
                cols = job.cols
            elif job.layout == "matrix":
                samples = [tiles[:, :, :keep] for tiles in job.samples]
                cols = job.cols
            elif job.layout == "mosaic":
                samples = []
                for tiles in job.samples:
                    rows = tiles.shape[0] // job.cols
                    grid = tiles.reshape((rows, job.cols) + tiles.shape[1:])[:, :keep]
                    samples.append(grid.reshape((rows * keep,) + tiles.shape[1:]))
                cols = keep
            else:
                raise ValueError(f"cap_jobs expects layouts 'tiles', 'matrix' or 'mosaic'. Received: {job.layout!r}")
            capped.append(dataclasses.replace(job, samples=samples, channels=list(job.channels[:keep]), cols=cols))
        return capped

    def write_scalars(self, scalars, step):
        """Write ``{tag: value}`` as standard scalar summaries at ``step``."""
        for tag, value in scalars.items():
            self.writer.write_scalar(tag, value, step)

    def write_events(self, events, step):
        """Write the training-events document (``featureviz/_events``) at ``step``.

        Args:
            events: list of event dicts, e.g. ``{"type": "trainable",
                "trainable": [...], "frozen": [...]}``; ``step`` is added.
        """
        document = {
            "version": metadata.FORMAT_VERSION,
            "events": [{"step": int(step), **event} for event in events],
        }
        self.writer.write_json(metadata.EVENTS_TAG, metadata.create_events_metadata(), document, step)

    def write_step(self, step, activation_jobs=(), kernels=None, initial=None, *, max_channels=None,
                   health=True, events=None, model=None):
        """Draw and write one step from data taken earlier (the slow half of a logged step).

        Nothing here touches the model's variables, so it may run on the
        background thread (:meth:`submit`) while training goes on.

        Args:
            step: global step.
            activation_jobs: from :meth:`activation_jobs`, ideally built
                without a channel cap so that channel health covers every
                channel; ``max_channels`` caps them afterwards.
            kernels: ``{name: (layer, arrays)}`` from :meth:`capture_kernels`.
            initial: ``{name: arrays}`` starting kernels (:meth:`snapshot_kernels`);
                layers found in it also get drift scalars and a
                ``filter_change`` grid.
            max_channels: output channels per grid (None for all).
            health: write the channel-health scalars of the activations.
            events: event dicts for ``featureviz/_events`` (see :meth:`write_events`).
            model: writes the model structure with the run's first grids.

        Returns:
            ``(records, scalars)``: the grid records (see :meth:`log_activations`)
            and ``{tag: value}`` of the scalars written.
        """
        step = self._check_step(step)
        scalars = self.health_scalars(activation_jobs) if health else {}
        jobs = list(activation_jobs)
        for name, (layer, arrays) in (kernels or {}).items():
            jobs.extend(self.kernel_jobs(name, layer, arrays))
            if initial is not None and name in initial:
                scalars.update(self.drift_scalars(name, type(layer).__name__, arrays, initial[name]))
                jobs.extend(self.filter_change_jobs(name, layer, arrays, initial[name]))
        jobs = self.cap_jobs(jobs, max_channels)
        drawn = self.draw(jobs)
        documents, records = self.records_for(jobs, drawn, step)
        if events:
            self.write_events(events, step)
        if documents:
            self.write(documents, step, model)
        self.write_scalars(scalars, step)
        self.flush()
        return records, scalars

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
            layers: chosen as by :meth:`select_for_step`: feature maps of
                those with a 2-D output, filters (and drift) of those with
                kernels.
            initial: starting kernels from :meth:`snapshot_kernels`, or None
                for no drift.
            max_channels, health: see :meth:`write_step`.

        Returns:
            ``(records, scalars)`` as :meth:`write_step`.
        """
        step = self._check_step(step)
        activation_infos, kernel_infos = self.select_for_step(model, layers)
        activation = []
        if images is not None and activation_infos:
            activation = self.activation_jobs(model, images, [i.layer for i in activation_infos], preprocess)
        kernels = self.capture_kernels(model, [i.layer for i in kernel_infos]) if kernel_infos else {}
        return self.write_step(
            step, activation, kernels, initial, max_channels=max_channels, health=health, model=model,
        )

    def submit(self, function, *args, max_pending=1):
        """Run ``function(*args)`` on this logger's background writer thread.

        Tasks run one at a time, in submission order, so their steps stay in
        order on disk. When ``max_pending`` tasks are already waiting or
        running, this call first waits for the oldest: memory stays bounded
        when logging is faster than writing. Call :meth:`drain` before
        :meth:`close`.

        Returns:
            a ``concurrent.futures.Future``.
        """
        if self._background is None:
            self._background = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="featureviz-writer")
            self._pending = []
        self._pending = [future for future in self._pending if not future.done()]
        while len(self._pending) >= max_pending:
            concurrent.futures.wait([self._pending.pop(0)])
        future = self._background.submit(function, *args)
        self._pending.append(future)
        return future

    def drain(self):
        """Wait for every task given to :meth:`submit`; stop the background thread."""
        if self._background is None:
            return
        concurrent.futures.wait(self._pending)
        self._background.shutdown(wait=True)
        self._background = None
        self._pending = []


def _check_model(model):
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"FeatureVizLogger expects a keras.Model. Received: {type(model).__name__}")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ValueError(
            f"FeatureVizLogger expects a built model with an input (start it with keras.Input). "
            f"Received: model {model.name!r} without inputs"
        )


def _kernel_requirement(info):
    """Why the layer's kernels can't be drawn, or None."""
    from tb_featureviz import layers as layer_lib

    if info.is_model:
        return "it is a nested model; its own layers are listed separately"
    shapes = layer_lib.kernel_shapes(info.layer)
    if not shapes:
        return "it has no kernel"
    mro = [cls.__name__ for cls in type(info.layer).__mro__]
    if kernels.rule_for(mro) is None:
        return f"no filter drawing rule for class {info.class_name} with kernels {shapes}"
    return None


def _output_channels(class_name, arrays):
    if "depthwise_kernel" in arrays:
        shape = arrays["depthwise_kernel"].shape
        return int(shape[-2] * shape[-1])
    kernel = arrays["kernel"]
    if class_name == "DepthwiseConv2D":
        return int(kernel.shape[-2] * kernel.shape[-1])
    if class_name == "Conv2DTranspose":
        return int(kernel.shape[-2])
    return int(kernel.shape[-1])


def _mosaic_inputs(class_name, source_shape):
    return int(source_shape[-1] if class_name == "Conv2DTranspose" else source_shape[-2])
