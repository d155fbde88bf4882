"""Gradients by the active backend's own autodiff, for tests that check a library gradient independently."""

import numpy as np

import keras


def backend_gradient(function, x):
    """The gradient of ``sum(function(x))`` at numpy ``x``: ``tf.GradientTape``, ``jax.grad`` or torch autograd."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(function(x))
        return tape.gradient(total, x).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda v: function(v).sum())(x))
    import torch

    leaf = torch.tensor(x, requires_grad=True)
    function(leaf).sum().backward()
    return leaf.grad.numpy()
