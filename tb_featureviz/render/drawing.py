"""GridDrawer: draws grid jobs on a pool of threads, results in job order.

Drawing (normalising, tiling, PNG encoding, JSON of the samples) is numpy
and deflate work that releases the GIL, so one thread per core draws the
grids of a step side by side. The pool starts on first use.

Example:
    >>> import numpy as np
    >>> from tb_featureviz.render import jobs
    >>> drawer = GridDrawer(workers=2)
    >>> [d.job.layer for d in drawer.draw([jobs.activation_job("c", "Conv2D", np.zeros((1, 2, 2, 3)))])]
    ['c']
    >>> drawer.close()
"""

import concurrent.futures
import os

from tb_featureviz.render import jobs


class GridDrawer:
    """A thread pool that turns :class:`tb_featureviz.render.jobs.GridJob` objects into drawn grids.

    Args:
        workers: threads (default: the CPU count).
        compress_level: PNG deflate level, 0 to 9.
    """

    def __init__(self, workers=None, compress_level=1):
        self.workers = workers or os.cpu_count() or 1
        self.compress_level = compress_level
        self._pool = None

    def draw(self, grid_jobs):
        """:class:`tb_featureviz.render.jobs.DrawnGrid` of each job, in job order."""
        if not grid_jobs:
            return []
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="featureviz")
        # Largest first, so that the last job to finish is a small one.
        order = sorted(range(len(grid_jobs)), key=lambda i: -sum(s.size for s in grid_jobs[i].samples))
        futures = {i: self._pool.submit(jobs.draw_job, grid_jobs[i], self.compress_level) for i in order}
        return [futures[i].result() for i in range(len(grid_jobs))]

    def close(self):
        """Stop the threads; a later :meth:`draw` starts new ones. Idempotent."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
