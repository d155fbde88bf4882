"""Who writes under distributed training: every worker computes, one writes.

Under ``tf.distribute`` with several workers every worker runs the
callbacks; only the one where ``strategy.extended.should_save_summary`` is
true (the chief) may write, or each worker would add its own event file.

Example:
    >>> should_write(model)  # doctest: +SKIP
    True
"""


def should_write(model):
    """False on the workers of a distribution strategy that must not write summaries.

    A model without a strategy (the usual case) writes.
    """
    strategy = getattr(model, "distribute_strategy", None)
    extended = getattr(strategy, "extended", None)
    return bool(getattr(extended, "should_save_summary", True))
