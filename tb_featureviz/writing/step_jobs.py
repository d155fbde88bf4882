"""Pure: everything one logged step writes, built from data captured earlier.

The callback captures a step on the training thread (feature maps, kernel
copies; see :mod:`tb_featureviz.model.capture`) and hands a :class:`CapturedStep`
to the background writer; :func:`step_content` turns it into grid jobs and
scalars (channel health, drift, ``filter_change``) without touching the
model. :meth:`tb_featureviz.FeatureVizLogger.log_step` does the same
synchronously.

Example:
    >>> import numpy as np
    >>> from tb_featureviz.model.capture import LayerKernels
    >>> w0 = {"kernel": np.ones((3, 3, 3, 4), np.float32)}
    >>> step = CapturedStep(5, [], {"conv1": LayerKernels("Conv2D", {"kernel": 2 * w0["kernel"]})})
    >>> grid_jobs, scalars, histograms = step_content(step, {"conv1": w0})
    >>> [j.kind for j in grid_jobs], scalars["featureviz/conv1/drift/relative_change"]
    (['filters', 'filter_change'], 1.0)
"""

import dataclasses

from tb_featureviz import names
from tb_featureviz.render import caps, jobs, kernels
from tb_featureviz.scalars import drift, health


@dataclasses.dataclass
class CapturedStep:
    """What a step took from the model, ready to draw and write from any thread.

    Attributes:
        step: the global step.
        activation_jobs: uncapped feature-map jobs (and the probe's), from
            :meth:`tb_featureviz.model.capture.FeatureMaps.jobs`.
        kernels: ``{qualified name: LayerKernels}`` copies.
        events: training-event dicts for ``featureviz/_events``.
        deferred: functions of no argument called where the step is drawn
            (pure numpy, e.g. attribution maps from captured activations and
            gradients), each returning ``(grid jobs, {tag: scalar},
            {layer: histogram buckets})``; their jobs are never capped.
    """

    step: int
    activation_jobs: list
    kernels: dict
    events: list = dataclasses.field(default_factory=list)
    deferred: list = dataclasses.field(default_factory=list)


def drift_scalars(layer_name, layer_class, current, initial):
    """``{tag: value}`` of one layer's drift scalars (see :mod:`tb_featureviz.scalars.drift`).

    Example:
        >>> import numpy as np
        >>> w = {"kernel": np.ones((1, 1, 2, 2))}
        >>> sorted(drift_scalars("c", "Conv2D", w, w))
        ['featureviz/c/drift/cosine_mean', 'featureviz/c/drift/cosine_min', 'featureviz/c/drift/relative_change']
    """
    summary = drift.drift_summary(layer_class, current, initial)
    return {names.scalar_tag(layer_name, "drift/" + name): summary[name] for name in drift.DRIFT_NAMES}


def health_scalars(activation_jobs):
    """``{tag: value}`` of the channel-health scalars of ``activations`` jobs.

    Computed over the channels the jobs hold: pass uncapped jobs to cover
    every channel.
    """
    scalars = {}
    for job in activation_jobs:
        if job.kind == names.ACTIVATIONS_KIND:
            fractions = health.channel_health(job.samples)
            for name in health.HEALTH_NAMES:
                scalars[names.scalar_tag(job.layer, "health/" + name)] = fractions[name]
    return scalars


def step_content(captured, initial=None, *, max_channels=None, with_health=True, filter_scale="channel",
                 max_mosaic_tiles=kernels.DEFAULT_MAX_MOSAIC_TILES):
    """Grid jobs and scalars of a captured step.

    Args:
        captured: a :class:`CapturedStep`.
        initial: ``{name: arrays}`` starting kernels; layers found in it also
            get drift scalars and a ``filter_change`` grid.
        max_channels: output channels per grid (None for all); channel
            health always covers every channel.
        with_health: add the channel-health scalars.
        filter_scale, max_mosaic_tiles: how kernels are drawn.

    Returns:
        ``(grid jobs, {tag: value}, {layer: histogram buckets})``.
    """
    scalars = health_scalars(captured.activation_jobs) if with_health else {}
    grid_jobs = [caps.cap_job(job, max_channels) for job in captured.activation_jobs]
    options = dict(max_channels=max_channels, max_mosaic_tiles=max_mosaic_tiles)
    for name, copy in captured.kernels.items():
        options["groups"] = copy.groups
        grid_jobs.extend(jobs.kernel_jobs(name, copy.layer_class, copy.arrays, filter_scale=filter_scale, **options))
        if initial is not None and name in initial:
            scalars.update(drift_scalars(name, copy.layer_class, copy.arrays, initial[name]))
            grid_jobs.extend(jobs.filter_change_jobs(name, copy.layer_class, copy.arrays, initial[name], **options))
    histograms = {}
    for make in captured.deferred:
        more_jobs, more_scalars, more_histograms = make()
        grid_jobs.extend(more_jobs)
        scalars.update(more_scalars)
        histograms.update(more_histograms)
    return grid_jobs, scalars, histograms
