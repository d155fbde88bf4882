"""Who writes under distributed training: every process computes, one writes.

Under distributed training every process (worker) runs the callbacks; only
one may write, or each adds its own event file to the run. Who that is
depends on the Keras backend:

* TensorFlow (``tf.distribute``): the worker where the model's
  ``distribute_strategy.extended.should_save_summary`` is true (the chief).
* JAX (``keras.distribution`` across processes, after
  ``jax.distributed.initialize``): process 0, ``jax.process_index() == 0``.
  Keras has no public process id of its own.
* PyTorch: rank 0 of ``torch.distributed`` when it is initialised.

A single process always writes. The callback asks :func:`should_write` once
per model; :class:`ChiefGate` asks it before every write of a
:class:`tb_featureviz.FeatureVizLogger`, so a custom loop needs no check of
its own. Only the active backend's framework is consulted, and it is
already imported by Keras then: this module never imports TensorFlow, JAX
or PyTorch for another backend.

Example:
    >>> should_write(model)  # doctest: +SKIP
    True
"""

import logging
import sys

_log = logging.getLogger("tb_featureviz")


def _backend():
    import keras

    return keras.config.backend()


def _tensorflow_chief(model):
    # Without a strategy (the usual case) Keras gives the default strategy,
    # whose should_save_summary is true. Without a model (a scalar), the
    # strategy whose scope the caller is in decides.
    if model is None:
        tf = sys.modules.get("tensorflow")
        strategy = tf.distribute.get_strategy() if tf is not None else None
    else:
        strategy = getattr(model, "distribute_strategy", None)
    extended = getattr(strategy, "extended", None)
    return bool(getattr(extended, "should_save_summary", True))


def _jax_chief():
    import jax

    # process_count() is 1 unless jax.distributed.initialize() ran.
    return jax.process_count() <= 1 or jax.process_index() == 0


def _torch_chief():
    # torch.distributed is imported by whoever initialised it; if it is not
    # loaded, no process group exists.
    dist = sys.modules.get("torch.distributed")
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return True
    return dist.get_rank() == 0


def should_write(model=None):
    """Whether this process writes summaries: False on every process but the chief.

    Args:
        model: the Keras model being trained; its ``tf.distribute`` strategy
            decides on the TensorFlow backend. Other backends don't need it.

    Returns:
        bool: True for a single process, and for the one writing process of
        a distributed run (see the module docstring for each backend).

    Example:
        >>> should_write()
        True
    """
    backend = _backend()
    if backend == "jax":
        return _jax_chief()
    if backend == "torch":
        return _torch_chief()
    return _tensorflow_chief(model)


class ChiefGate:
    """Lets only the writing process write: asked before every write, it says once when it refuses.

    Args:
        owner: the name its one note starts with.
        chief_only: False lets every process write (one log directory per
            worker, say).

    Example:
        >>> gate = ChiefGate("FeatureVizLogger")
        >>> gate.allows()  # a single process always writes
        True
    """

    def __init__(self, owner, chief_only=True):
        if not isinstance(chief_only, bool):
            raise TypeError(f"{owner} expects chief_only True or False. Received: {chief_only!r}")
        self.owner = owner
        self.chief_only = chief_only
        self._noted = False
        self._model_says = None  # the last answer for a model: a scalar written outside a scope follows it

    def allows(self, model=None):
        """Whether this process writes now (:func:`should_write` unless ``chief_only`` is False)."""
        if not self.chief_only:
            return True
        if model is None and self._model_says is not None:
            writes = self._model_says
        else:
            writes = should_write(model)
            if model is not None:
                self._model_says = writes
        if writes:
            return True
        if not self._noted:
            # Not a warning: every non-chief process of a healthy run would print it.
            self._noted = True
            _log.info("%s: this process is not the writing process of a distributed run; it writes nothing "
                      "(the chief writes every step).", self.owner)
        return False


def process_shard():
    """``(rank, world)`` of this process among those of a distributed run: ``(0, 1)`` for one process.

    JAX processes (``jax.distributed``) and torch ranks (``torch.distributed``)
    count; ``tf.distribute`` runs its replicas in one process here.

    Example:
        >>> process_shard()
        (0, 1)
    """
    backend = _backend()
    if backend == "jax":
        import jax

        return jax.process_index(), jax.process_count()
    if backend == "torch":
        dist = sys.modules.get("torch.distributed")
        if dist is not None and dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather(value):
    """``value`` of every process, in rank order (a list of one for a single process).

    The backend's own collective: ``torch.distributed.all_gather_object``;
    on JAX, ``multihost_utils.process_allgather`` of the pickled value
    (padded to the longest). Every process must call it.
    """
    rank, world = process_shard()
    if world == 1:
        return [value]
    import pickle

    import numpy as np

    if _backend() == "torch":
        import torch.distributed as dist

        gathered = [None] * world
        dist.all_gather_object(gathered, value)
        return gathered
    from jax.experimental import multihost_utils

    data = np.frombuffer(pickle.dumps(value), np.uint8)
    lengths = np.asarray(multihost_utils.process_allgather(np.array([data.size], np.int64))).reshape(-1)
    padded = np.zeros(int(lengths.max()), np.uint8)
    padded[:data.size] = data
    everyone = np.asarray(multihost_utils.process_allgather(padded)).reshape(world, -1)
    return [pickle.loads(everyone[r, :lengths[r]].tobytes()) for r in range(world)]
