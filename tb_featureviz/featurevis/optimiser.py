"""The compiled optimisation step of feature visualization, one per Keras backend.

Gradients have no backend-neutral Keras API, so each backend gets its own
step around the same graph code (:meth:`FeatureVisualizer.objective_of
<tb_featureviz.featurevis.visualizer.FeatureVisualizer.objective_of>`, written with
``keras.ops``) and the same Adam update
(:func:`tb_featureviz.featurevis.optimiser.adam_update`):

- TensorFlow: ``tf.GradientTape`` inside a ``tf.function``;
- JAX: ``jax.value_and_grad`` over ``model.stateless_call(trainable,
  non_trainable, x, training=False)`` inside ``jax.jit`` (the weights are
  arguments, so each call reads the model's current weights);
- torch: ``torch.autograd.grad`` on the parameters only (eager), so no
  gradient is accumulated on the model's weights.

The spectrum and the Adam moments stay backend tensors between steps; only
each step's per-sample objective (a few floats) comes back to numpy.

Example:
    >>> optimiser = make_optimiser(visualizer)  # doctest: +SKIP
    >>> final, history = optimiser.optimise(spectrum, transforms, vectors, 0.05, tick=lambda: None)  # doctest: +SKIP
"""

import numpy as np

import keras

from tb_featureviz.model import tensors


#: Adam's settings, Lucid's.
LEARNING_RATE = 0.05
ADAM_BETA_1 = 0.9
ADAM_BETA_2 = 0.999
ADAM_EPSILON = 1e-8


def adam_update(param, grad, m, v, step, learning_rate=LEARNING_RATE, ops=np):
    """One Adam step (``step`` counts from 1) descending ``grad``: ``(param, m, v)``."""
    m = ADAM_BETA_1 * m + (1.0 - ADAM_BETA_1) * grad
    v = ADAM_BETA_2 * v + (1.0 - ADAM_BETA_2) * ops.square(grad)
    m_hat = m / (1.0 - ADAM_BETA_1 ** step)
    v_hat = v / (1.0 - ADAM_BETA_2 ** step)
    return param - learning_rate * m_hat / (ops.sqrt(v_hat) + ADAM_EPSILON), m, v


def make_optimiser(visualizer):
    """The compiled optimiser of ``visualizer`` for Keras' current backend.

    Raises:
        NotImplementedError: a backend other than tensorflow, jax or torch.
    """
    implementations = {"tensorflow": _TensorFlowOptimiser, "jax": _JaxOptimiser, "torch": _TorchOptimiser}
    return tensors.for_backend(implementations, "Feature visualization")(visualizer)


class _Optimiser:
    """The loop shared by the backends: ``optimise`` and ``evaluate``."""

    def __init__(self, visualizer):
        self.vis = visualizer

    def optimise(self, spectrum, transforms, vectors, learning_rate, tick):
        """Run ``len(transforms)`` steps from ``spectrum``; ``(final spectrum, history [steps, B])``.

        ``transforms`` is ``[steps, B, 8]``: each step's transform of each sample.
        """
        spectrum = keras.ops.convert_to_tensor(spectrum, "float32")
        m = keras.ops.zeros_like(spectrum)
        v = keras.ops.zeros_like(spectrum)
        vectors = keras.ops.convert_to_tensor(vectors, "float32")
        history = []
        for index, transform in enumerate(transforms):
            spectrum, m, v, values = self.call(spectrum, m, v, index + 1.0, learning_rate,
                                               keras.ops.convert_to_tensor(transform, "float32"), vectors)
            history.append(values)
            tick()
        history = np.stack([tensors.to_numpy(h) for h in history]).astype(np.float32)
        return tensors.to_numpy(spectrum).astype(np.float32), history

    def evaluate(self, images, vectors):
        """Per-sample objective of images ``[B, size, size, 3]`` in [0, 1], centred: float64 ``[B]``."""
        values = self.image_objective(keras.ops.convert_to_tensor(images, "float32"),
                                      keras.ops.convert_to_tensor(vectors, "float32"))
        return tensors.to_numpy(values).astype(np.float64)


class _TensorFlowOptimiser(_Optimiser):
    def __init__(self, visualizer):
        super().__init__(visualizer)
        import tensorflow as tf

        vis = visualizer

        @tf.function
        def step(spectrum, m, v, t, learning_rate, transforms, vectors):
            with tf.GradientTape() as tape:
                tape.watch(spectrum)
                values = vis.objective_of(spectrum, transforms, vectors)
                loss = -tf.reduce_sum(values)
            grad = tape.gradient(loss, spectrum)
            spectrum, m, v = adam_update(spectrum, grad, m, v, t, learning_rate, ops=keras.ops)
            return spectrum, m, v, values

        def evaluate(images, vectors):
            return vis.image_objective(images, vectors)

        # Closures, not bound methods: TensorFlow counts traces per Python
        # function, and every visualizer traces its own.
        self._step = step
        self._evaluate = tf.function(evaluate)
        self._tf = tf

    def call(self, spectrum, m, v, t, learning_rate, transforms, vectors):
        # Scalars as tensors: a new Python number would retrace the function.
        tf = self._tf
        return self._step(spectrum, m, v, tf.constant(t, tf.float32), tf.constant(learning_rate, tf.float32),
                          transforms, vectors)

    def image_objective(self, images, vectors):
        return self._evaluate(images, vectors)


class _JaxOptimiser(_Optimiser):
    def __init__(self, visualizer):
        super().__init__(visualizer)
        import jax
        import jax.numpy as jnp

        vis = visualizer
        model = vis.truncated

        def stateless(trainable, non_trainable):
            return lambda x: model.stateless_call(trainable, non_trainable, x, training=False)[0]

        def loss(spectrum, trainable, non_trainable, transforms, vectors):
            values = vis.objective_of(spectrum, transforms, vectors, stateless(trainable, non_trainable))
            return -jnp.sum(values), values

        grad_fn = jax.value_and_grad(loss, has_aux=True)

        def step(spectrum, m, v, t, learning_rate, trainable, non_trainable, transforms, vectors):
            (_, values), grad = grad_fn(spectrum, trainable, non_trainable, transforms, vectors)
            spectrum, m, v = adam_update(spectrum, grad, m, v, t, learning_rate, ops=keras.ops)
            return spectrum, m, v, values

        def evaluate(images, vectors, trainable, non_trainable):
            return vis.image_objective(images, vectors, stateless(trainable, non_trainable))

        self._step = jax.jit(step)
        self._evaluate = jax.jit(evaluate)
        self._jnp = jnp

    def _weights(self):
        model = self.vis.truncated
        return ([w.value for w in model.trainable_variables], [w.value for w in model.non_trainable_variables])

    def optimise(self, spectrum, transforms, vectors, learning_rate, tick):
        self._current = self._weights()  # read once per run: the weights don't change during it
        try:
            return super().optimise(spectrum, transforms, vectors, learning_rate, tick)
        finally:
            self._current = None

    def call(self, spectrum, m, v, t, learning_rate, transforms, vectors):
        trainable, non_trainable = self._current
        jnp = self._jnp
        return self._step(spectrum, m, v, jnp.float32(t), jnp.float32(learning_rate),
                          trainable, non_trainable, transforms, vectors)

    def image_objective(self, images, vectors):
        return self._evaluate(images, vectors, *self._weights())


class _TorchOptimiser(_Optimiser):
    def __init__(self, visualizer):
        super().__init__(visualizer)
        import torch

        self._torch = torch

    def call(self, spectrum, m, v, t, learning_rate, transforms, vectors):
        torch = self._torch
        leaf = spectrum.detach().requires_grad_(True)
        values = self.vis.objective_of(leaf, transforms, vectors)
        # Only the parameters: the model's weights get no .grad.
        (grad,) = torch.autograd.grad(-values.sum(), [leaf])
        with torch.no_grad():
            spectrum, m, v = adam_update(leaf.detach(), grad, m, v, t, learning_rate, ops=keras.ops)
        return spectrum, m, v, values.detach()

    def image_objective(self, images, vectors):
        with self._torch.no_grad():
            return self.vis.image_objective(images, vectors)
