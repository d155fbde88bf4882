"""RunLogger: one run folder, written step by step, by the process that writes.

The plumbing every logger shares: the run folder (``<logdir>/<run>``), the
:class:`tb_featureviz.writing.step_writer.StepWriter` that every write
goes through (the step check, whole steps, the model structure with the
first grids), the distributed-training gate (only the writing process
writes, :mod:`tb_featureviz.model.distribution`), the warnings given once
(:attr:`reports`), and closing. :class:`tb_featureviz.FeatureVizLogger`
adds what to log.

Example:
    >>> import tempfile
    >>> with RunLogger(tempfile.mkdtemp(), owner="example") as run:
    ...     run.log_scalar("loss", 0.5, step=0)
    >>> run.check_step(1)
    1
"""

import os

from tb_featureviz import arguments, reporting
from tb_featureviz.model import distribution
from tb_featureviz.render import kernels
from tb_featureviz.writing.step_writer import StepWriter


class RunLogger:
    """A run folder written step by step; thread-safe.

    Args:
        logdir: TensorBoard log directory (local or ``gs://``-style path).
        run: name of the run folder inside ``logdir``.
        owner: the public class's name, for error and warning texts.
        workers: threads drawing grids; default: the number of CPUs.
        compress_level: PNG deflate level, 0 to 9.
        max_mosaic_tiles: the filter-mosaic cap (for its warnings).
        chief_only: under distributed training only the writing process
            computes and writes; the others get empty results. False:
            every process writes.
    """

    def __init__(self, logdir, run="featureviz", *, owner="RunLogger", workers=None, compress_level=1,
                 max_mosaic_tiles=kernels.DEFAULT_MAX_MOSAIC_TILES, chief_only=True):
        self.logdir = arguments.check_logdir(owner, logdir)
        self._gate = distribution.ChiefGate(owner, chief_only)
        self.run = arguments.check_run(owner, run)
        workers = arguments.check_count(owner, "workers", workers, allow_none=True)
        arguments.check_compress_level(owner, compress_level)
        self.compress_level = compress_level
        self.run_dir = os.path.join(self.logdir, run)
        #: Warnings given once per logger: caps (said by the step writer) and skipped layers.
        self.reports = reporting.OnceReports()
        self._steps = StepWriter(self.run_dir, owner=owner, workers=workers, compress_level=compress_level,
                                 max_mosaic_tiles=max_mosaic_tiles, reports=self.reports)

    @property
    def writer(self):
        """The run's :class:`tb_featureviz.writing.summary_writer.SummaryWriter`."""
        return self._steps.summaries

    def log_scalar(self, tag, value, step):
        """Write a standard scalar summary into this logger's run."""
        self.write(step, scalars={tag: value})

    def write(self, step, grid_jobs=(), *, scalars=None, events=None, model=None, histograms=None):
        """Draw and write one step: the single path every write takes.

        The step check and all writes of the step happen under one lock, so
        steps reach the file in order even from several threads. A grid
        counts in its tag's ``sequence`` only once it is written.

        Args:
            step: global step, never smaller than the last one written.
            grid_jobs: :class:`tb_featureviz.render.jobs.GridJob` objects.
            scalars: ``{tag: value}`` standard scalar summaries.
            events: training-event dicts for ``featureviz/_events``.
            histograms: ``{layer: [k, 3] buckets}`` (a data-set pass's).
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
        structure = None
        if model is not None:
            from tb_featureviz.model.layers import describe_structure

            structure = (id(model), lambda: describe_structure(model))
        return self._steps.write(step, grid_jobs, scalars=scalars, events=events, structure=structure,
                                 histograms=histograms)

    def check_step(self, step):
        """``step`` as an int, or the error a write of it would raise.

        Raises:
            ValueError: not an int in ``0 .. 2**63 - 1``, or smaller than the
                last step written (TensorBoard drops data after an
                out-of-order step).
        """
        return self._steps.check_step(step)

    def flush(self):
        """Write buffered events to disk."""
        self._steps.flush()

    def close(self):
        """Flush and close the event file and the drawing threads. Idempotent.

        Raises:
            OSError: the event file's last flush or its close failed (e.g. a
                full disk); the file and the threads are closed anyway.
        """
        self._steps.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def bytes_written(self):
        """Bytes of PNG and JSON payload written so far."""
        return self.writer.bytes_written

