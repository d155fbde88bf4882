"""LoggingFailures: which logged steps failed and why, said at most twice per training run.

A full disk fails every step after it, and a warning per step would bury
the training log. :class:`LoggingFailures` gives one text when logging
starts failing and one summary when training ends: how many steps were
lost out of how many, the first and the last, each distinct cause once,
whether logging recovered, and whether closing the event file failed.
Pure Python; thread-safe, since the callback's background writer reports
here as well as its training thread.

Example:
    >>> failures = LoggingFailures("FeatureVizCallback")
    >>> failures.written(0)
    >>> full = OSError(28, "No space left on device")
    >>> print(failures.failed(4, full))  # doctest: +NORMALIZE_WHITESPACE
    FeatureVizCallback could not log step 4: OSError: [Errno 28] No space left on device.
    Training goes on; pass strict=True to stop instead. Later failures are summarised when training ends.
    >>> failures.failed(8, full) is None  # said already
    True
    >>> failures.written(12)
    >>> print(failures.finish())  # doctest: +NORMALIZE_WHITESPACE
    FeatureVizCallback could not log 2 of 4 steps (steps 4 and 8): OSError: [Errno 28] No space left on device.
    Logging recovered at step 12.
    >>> failures.finish() is None  # finish() starts over: the next run has nothing to say yet
    True
"""

import threading
import warnings


def cause(error):
    """``"Type: message"`` of an exception, as every text here names it.

    Example:
        >>> cause(OSError(28, "No space left on device"))
        'OSError: [Errno 28] No space left on device'
    """
    return f"{type(error).__name__}: {error}"


def _which(steps):
    if len(steps) == 1:
        return f"step {steps[0]}"
    if len(steps) == 2:
        return f"steps {steps[0]} and {steps[1]}"
    return f"steps {steps[0]} to {steps[-1]}"


class LoggingFailures:
    """The logging outcomes of one training run: a first-failure warning text and a summary.

    Report every logged step once it is written (:meth:`written`) or has
    failed (:meth:`failed`), in any order; :meth:`finish` sorts them by step.

    Args:
        owner: who logs: the first word of every text (e.g. ``"FeatureVizCallback"``).
        max_causes: distinct causes the summary quotes; the rest are counted.
    """

    def __init__(self, owner, max_causes=3):
        self.owner = owner
        self.max_causes = max_causes
        self._lock = threading.Lock()
        self._outcomes = {}  # step -> None (written) or the cause it failed with
        self._close_cause = None
        self._warned = False  # the first failure was announced

    def written(self, step):
        """Record that ``step`` was logged."""
        with self._lock:
            self._outcomes[int(step)] = None

    def failed(self, step, error):
        """Record that logging ``step`` failed with ``error``.

        Returns:
            the warning text for the run's first failure, else None.
        """
        with self._lock:
            self._outcomes[int(step)] = cause(error)
            if self._warned:
                return None
            self._warned = True
        return (f"{self.owner} could not log step {step}: {cause(error)}. Training goes on; pass strict=True to "
                "stop instead. Later failures are summarised when training ends.")

    def close_failed(self, error):
        """Record that closing the event file at the end of training failed with ``error``."""
        with self._lock:
            self._close_cause = cause(error)

    def finish(self):
        """The summary of the run, or None when nothing failed; then starts over for the next run.

        Returns:
            one text: how many steps were lost out of how many, which (the
            first and the last), each distinct cause once, whether logging
            recovered, and a failed close; or None.
        """
        with self._lock:
            outcomes, close_cause = sorted(self._outcomes.items()), self._close_cause
            self._outcomes, self._close_cause, self._warned = {}, None, False
        lost = [step for step, failure in outcomes if failure is not None]
        if not lost:
            if close_cause is None:
                return None
            return f"{self.owner} could not close its event file at the end of training: {close_cause}."
        causes = list(dict.fromkeys(failure for _, failure in outcomes if failure is not None))
        quoted = "; ".join(causes[: self.max_causes])
        if len(causes) > self.max_causes:
            quoted += f"; and {len(causes) - self.max_causes} more"
        text = f"{self.owner} could not log {len(lost)} of {len(outcomes)} steps ({_which(lost)}): {quoted}. "
        text += _recovery(outcomes)
        if close_cause is not None:
            text += f" Closing the event file failed too: {close_cause}."
        return text


def _recovery(outcomes):
    """Whether logging worked again after failing, from ``(step, failure)`` sorted by step."""
    recovered_at = failing_again_at = None
    failing = False
    for step, failure in outcomes:
        if failure is None and failing:
            recovered_at, failing_again_at, failing = step, None, False
        elif failure is not None and not failing:
            failing = True
            if recovered_at is not None:
                failing_again_at = step
    if not failing:
        return f"Logging recovered at step {recovered_at}."
    if recovered_at is not None:
        return f"Logging recovered at step {recovered_at}, then failed again from step {failing_again_at} on."
    return "Logging did not recover before training ended."


class FailurePolicy:
    """What a logging failure does during training: warn and go on, or (``strict``) stop training.

    Non-strict: the first failure of a run warns (:class:`LoggingFailures`),
    :meth:`finish` warns once with the summary. Strict: the first failure is
    kept and :meth:`pending` hands it over as the ``RuntimeError`` the next
    hook raises; a failed close raises from :meth:`finish`.

    Example:
        >>> policy = FailurePolicy("FeatureVizCallback", strict=True)
        >>> policy.failed(3, OSError(28, "No space left on device"))
        >>> print(policy.pending())
        FeatureVizCallback could not log step 3: OSError: [Errno 28] No space left on device
        >>> policy.pending() is None
        True
    """

    def __init__(self, owner, strict=False):
        self.owner = owner
        self.strict = bool(strict)
        self._failures = LoggingFailures(owner)
        self._first = None  # (step, error) of a strict failure, not yet raised
        self._lock = threading.Lock()

    def written(self, step):
        """Record that ``step`` was logged."""
        self._failures.written(step)

    def failed(self, step, error):
        """Record a failed step: kept for :meth:`pending` when strict, else counted (and the first warns)."""
        if self.strict:
            with self._lock:
                if self._first is None:  # the first failure is the one raised
                    self._first = (step, error)
            return
        text = self._failures.failed(step, error)
        if text is not None:
            warnings.warn(text, stacklevel=3)

    def pending(self):
        """The ``RuntimeError`` of a strict failure not yet raised (then forgotten), or None."""
        with self._lock:
            first, self._first = self._first, None
        if first is None:
            return None
        step, error = first
        failure = RuntimeError(f"{self.owner} could not log step {step}: {cause(error)}")
        failure.__cause__ = error
        return failure

    def finish(self, step, close_error=None):
        """The end of a run: one summary warning, a failed close included.

        Raises:
            RuntimeError: when strict and closing the event file failed.
        """
        if close_error is not None and self.strict:
            self._failures.finish()
            raise RuntimeError(f"{self.owner} could not close its event file after step {step}: "
                               f"{cause(close_error)}") from close_error
        if close_error is not None:
            self._failures.close_failed(close_error)
        summary = self._failures.finish()
        if summary is not None:
            warnings.warn(summary, stacklevel=3)
