"""OrderedBackgroundWriter: one thread that runs write tasks in submission order.

The callback draws and writes logged steps here while training goes on.
Tasks run one at a time, in the order given, so steps reach the event file
in order. At most ``max_pending`` tasks wait or run at once: a new
``submit`` first waits for the oldest, which keeps memory bounded when
logging is faster than writing.

Example:
    >>> writer = OrderedBackgroundWriter()
    >>> future = writer.submit(sum, [1, 2])
    >>> writer.drain(); future.result()
    3
"""

import concurrent.futures

from tb_featureviz import arguments


class OrderedBackgroundWriter:
    """Runs functions on one background thread, in order, with a bounded queue.

    Args:
        max_pending: tasks allowed to wait or run at once (>= 1).
    """

    def __init__(self, max_pending=1):
        self.max_pending = arguments.check_count("OrderedBackgroundWriter", "max_pending", max_pending)
        self._executor = None  # started on first use, stopped by drain
        self._pending = []

    def submit(self, function, *args):
        """Run ``function(*args)`` after every task submitted before it.

        Returns:
            a ``concurrent.futures.Future``.
        """
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="featureviz-writer")
        self._pending = [future for future in self._pending if not future.done()]
        while len(self._pending) >= self.max_pending:
            concurrent.futures.wait([self._pending.pop(0)])
        future = self._executor.submit(function, *args)
        self._pending.append(future)
        return future

    def drain(self):
        """Wait for every submitted task and stop the thread; idempotent.

        A later :meth:`submit` starts a new thread.
        """
        if self._executor is None:
            return
        concurrent.futures.wait(self._pending)
        self._executor.shutdown(wait=True)
        self._executor = None
        self._pending = []
