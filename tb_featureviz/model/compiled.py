"""A function of a model's forward pass, compiled once per backend, reading the model's current weights.

``fn(model, x, *extra)`` is graph code (``keras.ops``) that calls the model
and reduces what it returns; :func:`compile_inference` compiles it: a
``tf.function`` on TensorFlow, ``jax.jit`` over a stateless run of the
model on JAX (the weights are arguments, so a kept function follows
training), eager under ``torch.no_grad`` on PyTorch. Outputs come back as
numpy (:func:`tb_featureviz.model.tensors.to_numpy`).

Example:
    >>> maxima = compile_inference(model, lambda m, x: keras.ops.max(m(x, training=False), axis=(1, 2)))  # doctest: +SKIP
    >>> maxima(batch)  # doctest: +SKIP
    [array([[...]], dtype=float32)]
"""

import keras

from tb_featureviz.model import tensors


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def current_weights(model):
    """``(trainable, non_trainable)``: the values of ``model``'s variables now, as :func:`weights_scope` takes them."""
    return ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables])


def weights_scope(model, weights):
    """A ``keras.StatelessScope`` in which ``model``'s variables read ``weights`` (``(trainable, non_trainable)``).

    JAX's compiled functions take the weights as arguments this way, so a
    kept function follows training instead of the values it was traced with.
    """
    trainable, non_trainable = weights
    mapping = list(zip(model.trainable_variables, trainable)) + list(zip(model.non_trainable_variables, non_trainable))
    return keras.StatelessScope(state_mapping=mapping)


def compile_inference(model, fn):
    """``call(batch, *extra) -> [numpy arrays]`` running ``fn(model, x, *extra)`` compiled for the backend."""
    return tensors.for_backend({"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}, "This pass")(model, fn)


def _tensorflow(model, fn):
    import tensorflow as tf

    compiled = tf.function(lambda x, *extra: fn(model, x, *extra))

    def call(batch, *extra):
        return [tensors.to_numpy(out) for out in _as_list(compiled(tf.constant(batch), *extra))]
    return call


def _jax(model, fn):
    import jax
    import jax.numpy as jnp

    def stateless(weights, x, *extra):
        with weights_scope(model, weights):
            return fn(model, x, *extra)

    compiled = jax.jit(stateless)

    def call(batch, *extra):
        outputs = compiled(current_weights(model), jnp.asarray(batch), *extra)
        return [tensors.to_numpy(out) for out in _as_list(outputs)]
    return call


def _torch(model, fn):
    import torch

    def call(batch, *extra):
        with torch.no_grad():
            outputs = fn(model, keras.ops.convert_to_tensor(batch), *extra)
        return [tensors.to_numpy(out) for out in _as_list(outputs)]
    return call
