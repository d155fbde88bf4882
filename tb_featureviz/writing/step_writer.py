"""StepWriter: the one write path: a step's grids, scalars and events, whole or not at all.

:class:`tb_featureviz.FeatureVizLogger` (and through it the callback) hands
every step here. One critical section checks the step (an int64, never
smaller than the last one written: TensorBoard drops data after an
out-of-order step), draws the grid jobs on worker threads, queues every
event of the step and flushes them together. If writing fails (a full
disk) the step leaves nothing in the event file and counts nowhere; if the
event file was deleted (its run folder removed) a new one is started, with
one warning. No Keras here: the model's structure arrives as a document.

Example:
    >>> import numpy as np, tempfile
    >>> from tb_featureviz.render.jobs import activation_job
    >>> with StepWriter(tempfile.mkdtemp(), owner="example") as writer:
    ...     records = writer.write(0, [activation_job("c", "Conv2D", np.zeros((1, 4, 4, 2), np.float32))])
    >>> records[0]["tag"], records[0]["sequence"]
    ('featureviz/c/activations', 0)
"""

import threading
import warnings

from tb_featureviz import arguments, metadata, names, reporting
from tb_featureviz.render import records as record_lib
from tb_featureviz.render import kernels
from tb_featureviz.render.drawing import GridDrawer
from tb_featureviz.writing.summary_writer import SummaryWriter


class StepWriter:
    """Draws and writes whole steps into one run folder; thread-safe.

    Args:
        run_dir: the run folder (local or a URL).
        owner: who writes, for error and warning texts.
        workers: threads drawing grids (default: the CPU count).
        compress_level: PNG deflate level, 0 to 9.
        max_mosaic_tiles: the filter-mosaic cap, for the cap warnings.
        reports: the :class:`tb_featureviz.reporting.OnceReports` that says
            each cap once (shared with the owner's own reports).
    """

    def __init__(self, run_dir, *, owner, workers=None, compress_level=1,
                 max_mosaic_tiles=kernels.DEFAULT_MAX_MOSAIC_TILES, reports=None):
        self.run_dir = run_dir
        self.owner = owner
        self.max_mosaic_tiles = max_mosaic_tiles
        self.summaries = SummaryWriter(run_dir)
        self._drawer = GridDrawer(workers, compress_level)
        self._reports = reports if reports is not None else reporting.OnceReports()
        self._structures = set()  # keys of the structures written
        self._sequence = {}  # image tag -> grids written so far
        self._last_step = None
        # One step's check and writes form one critical section, so that two
        # threads sharing a writer cannot interleave or reorder steps.
        self._lock = threading.RLock()

    def check_step(self, step):
        """``step`` as an int, or the error a write of it would raise.

        Raises:
            ValueError: not an int in ``0 .. 2**63 - 1``, or smaller than the
                last step written.
        """
        step = arguments.check_step(step)
        if self._last_step is not None and step < self._last_step:
            raise ValueError(
                f"{self.owner} expects steps that never decrease (TensorBoard drops data "
                f"after an out-of-order step). Received: step={step} after step={self._last_step}"
            )
        return step

    def write(self, step, grid_jobs=(), *, scalars=None, events=None, structure=None, histograms=None):
        """Draw and write one step; returns its records (one per grid and sample).

        Args:
            step: global step, never smaller than the last one written.
            grid_jobs: :class:`tb_featureviz.render.jobs.GridJob` objects.
            scalars: ``{tag: value}`` standard scalar summaries.
            events: training-event dicts for ``featureviz/_events``.
            histograms: ``{layer: [k, 3] buckets}`` of activations over a data set.
            structure: ``(key, build)``: the model structure document
                (``build()``, called once per key) goes with the first
                grids of a key.

        Raises:
            OSError: the step couldn't be written; nothing of it stays in a
                local event file and it doesn't count in ``sequence``.
        """
        with self._lock:
            step = self.check_step(step)
            self._reports.caps(grid_jobs, self.max_mosaic_tiles)
            drawn = self._drawer.draw(grid_jobs)
            missing = self.summaries.reopen_if_missing()
            if missing is not None:
                warnings.warn(
                    f"{self.owner}: the event file {missing!r} was deleted (was the log directory removed?). "
                    f"Writing step {step} and later steps into a new event file in {self.run_dir!r}.",
                    stacklevel=3,
                )
            new_structure = structure if structure is not None and drawn and structure[0] not in self._structures \
                else None
            try:
                records, sequence = self._queue(step, drawn, scalars, events, new_structure)
                for layer, buckets in (histograms or {}).items():
                    self.summaries.write_histogram(layer, buckets, step)
                self.summaries.flush()
            except BaseException:
                # Whole or not at all: a step that failed half-way (a full disk)
                # leaves nothing in the file and doesn't count in sequence.
                self.summaries.discard()
                raise
            self._sequence = sequence
            if new_structure is not None:
                self._structures.add(new_structure[0])
            self._last_step = step
        return records

    def _queue(self, step, drawn, scalars, events, structure):
        """Queue a step's events; returns its records and the sequence counts once it is flushed."""
        if events:
            document = {"version": metadata.FORMAT_VERSION,
                        "events": [{"step": step, **event} for event in events]}
            self.summaries.write_json(names.EVENTS_TAG, metadata.create_events_metadata(), document, step)
        if structure is not None:
            self.summaries.write_structure({"version": metadata.FORMAT_VERSION, **structure[1]()}, step)
        sequence = dict(self._sequence)
        records = []
        for grid in drawn:
            tag = names.image_tag(grid.job.layer, grid.job.kind)
            header = record_lib.record_header(grid, step, sequence.get(tag, 0))
            self.summaries.write_grid(grid.job.layer, grid.job.kind, step, grid.pngs, max(header["width"], 1),
                                      max(header["height"], 1), record_lib.record_text(header, grid))
            sequence[tag] = header["sequence"] + 1
            records.extend(record_lib.returned_records(header, grid, tag))
        for tag, value in (scalars or {}).items():
            self.summaries.write_scalar(tag, value, step)
        return records, sequence

    def flush(self):
        """Write buffered events to disk."""
        self.summaries.flush()

    def close(self):
        """Flush and close the event file and the drawing threads. Idempotent.

        Raises:
            OSError: the event file's last flush or its close failed; the
                file and the threads are closed anyway.
        """
        try:
            self.summaries.close()
        finally:
            self._drawer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
