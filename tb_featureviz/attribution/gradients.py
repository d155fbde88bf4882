"""One forward and one backward pass: a layer's activations, the gradients of target scores, the logits.

Gradients have no backend-neutral Keras API, so each backend gets its own
compiled pass around the same graph code (:class:`Pass`, which runs the
model's own graph with :func:`tb_featureviz.model.graph.run_graph`,
tapping the target layer and reading the logits before any softmax):

- TensorFlow: ``tf.GradientTape`` inside a ``tf.function``, watching the
  tapped activations;
- JAX: ``jax.vjp`` with respect to a zero perturbation added to the tapped
  activations, over a stateless run of the model (its current weights are
  arguments), inside ``jax.jit``;
- torch: ``torch.autograd.grad`` with respect to the tapped activations
  (eager); the model's weights get no ``.grad``.

All pictures share one forward pass; each target costs one backward pass
of the batch (the sum over pictures of picture ``n``'s target score: in
inference mode a picture's score depends on that picture only). The
compiled pass is kept per batch and target count, so repeated calls
neither clone the model nor retrace.

Example:
    >>> gradient_pass = make_pass(Pass(model, layer_info, head))  # doctest: +SKIP
    >>> activations, gradients, logits = gradient_pass(batch, classes)  # doctest: +SKIP

Score-CAM's forward passes need no gradient: they run
:meth:`Pass.logits` through :func:`tb_featureviz.model.compiled.compile_inference`.
"""

import numpy as np

import keras

from tb_featureviz.model import compiled, graph, tensors


class Pass:
    """The graph code both the gradient pass and Score-CAM's forward passes run.

    Args:
        model: the classifier.
        info: :class:`tb_featureviz.model.layers.LayerInfo` of the layer tapped.
        head: :class:`tb_featureviz.attribution.scores.ScoreHead`.
    """

    def __init__(self, model, info, head):
        self.model = model
        self.info = info
        self.head = head
        self.channels_first = getattr(info.layer, "data_format", None) == "channels_first"
        self._descend = frozenset(id(m) for m in info.models[1:]) | head.models

    def logits(self, x, tap=None):
        """The model's logits for ``x`` (backend tensor); ``tap(output)`` replaces the layer's output."""
        replace = dict(self.head.replacement())
        if tap is not None:
            layer = self.info.layer
            replace[id(layer)] = lambda operation, *args, **kwargs: tap(
                graph.inference_call(operation)(*args, **kwargs))
        if not replace:
            return self.model(x, training=False)
        return graph.run_graph(self.model, x, replace, self._descend, owner="attribute")

    def to_numpy(self, activations, gradients, logits):
        """float32 numpy: activations ``[N, h, w, C]``, gradients ``[N, T, h, w, C]``, logits ``[N, K]``."""
        activations = tensors.to_numpy(activations).astype(np.float32, copy=False)  # to_numpy copied already
        gradients = tensors.to_numpy(gradients).astype(np.float32, copy=False)
        if self.channels_first:
            activations = np.moveaxis(activations, 1, -1)
            gradients = np.moveaxis(gradients, 2, -1)
        return activations, gradients, tensors.to_numpy(logits).astype(np.float32, copy=False)


def make_pass(spec):
    """``pass(batch, classes) -> (A, G, logits)`` compiled for the current backend (``NotImplementedError`` else)."""
    return tensors.for_backend({"tensorflow": _TensorFlowPass, "jax": _JaxPass, "torch": _TorchPass},
                               "Attribution")(spec)


class _TensorFlowPass:
    def __init__(self, spec):
        import tensorflow as tf

        def run(x, classes, k):
            captured = {}
            with tf.GradientTape(persistent=True) as tape:
                def tap(activations):
                    tape.watch(activations)
                    captured["A"] = activations
                    return activations

                logits = tf.cast(spec.logits(x, tap), tf.float32)
                if classes is None:  # the top k of this very forward pass (ties: the lower class first)
                    classes = tf.math.top_k(logits, k).indices
                scores = tf.gather(logits, classes, batch_dims=1)  # [N, T]
                totals = [tf.reduce_sum(scores[:, t]) for t in range(scores.shape[1])]
            gradients = tf.stack([tape.gradient(total, captured["A"]) for total in totals], axis=1)
            return captured["A"], gradients, logits, classes

        self._spec = spec
        # One trace per batch shape and target count (k is static).
        self._given = tf.function(lambda x, classes: run(x, classes, None))
        self._top = tf.function(lambda x, k: run(x, None, k), reduce_retracing=False)
        self._tf = tf

    def __call__(self, batch, classes):
        tf = self._tf
        activations, gradients, logits, _ = self._given(tf.constant(batch), tf.constant(classes, tf.int32))
        return self._spec.to_numpy(activations, gradients, logits)

    def top_k(self, batch, k):
        activations, gradients, logits, classes = self._top(self._tf.constant(batch), int(k))
        return self._spec.to_numpy(activations, gradients, logits) + (tensors.to_numpy(classes),)


class _JaxPass:
    def __init__(self, spec):
        import jax
        import jax.numpy as jnp

        model = spec.model

        def forward(weights, x, delta=None):
            captured = {}

            def tap(activations):
                captured["A"] = activations
                return activations if delta is None else activations + delta

            with compiled.weights_scope(model, weights):
                logits = spec.logits(x, tap).astype(jnp.float32)
            return logits, captured["A"]

        def run(weights, x, classes, delta, k):
            (logits, activations), backward = _vjp(jax, lambda d: forward(weights, x, d), delta)
            if classes is None:  # the top k of this very forward pass (ties: the lower class first)
                classes = jax.lax.top_k(logits, k)[1]
            one_hot = jax.nn.one_hot(classes, logits.shape[-1], dtype=logits.dtype)  # [N, T, K]
            gradients = jnp.stack([backward(one_hot[:, t])[0] for t in range(classes.shape[1])], axis=1)
            return activations, gradients, logits, classes

        self._spec = spec
        self._forward = forward
        self._run = jax.jit(run, static_argnames=("k",))
        self._shapes = {}
        self._jax = jax
        self._jnp = jnp

    def _call(self, batch, classes, k):
        jax, jnp = self._jax, self._jnp
        weights = compiled.current_weights(self._spec.model)
        x = jnp.asarray(batch)
        shape = self._shapes.get(batch.shape)
        if shape is None:  # the tapped activations' shape: an abstract evaluation, no compute
            shape = self._shapes[batch.shape] = jax.eval_shape(lambda w, v: self._forward(w, v)[1], weights, x)
        delta = jnp.zeros(shape.shape, shape.dtype)
        classes = None if classes is None else jnp.asarray(classes, jnp.int32)
        activations, gradients, logits, chosen = self._run(weights, x, classes, delta, k=k)
        return self._spec.to_numpy(activations, gradients, logits) + (np.asarray(chosen),)

    def __call__(self, batch, classes):
        return self._call(batch, classes, None)[:3]

    def top_k(self, batch, k):
        return self._call(batch, None, int(k))


def _vjp(jax, function, primal):
    """``((logits, activations), backward)``: ``function`` returns (logits, activations); the VJP is of the logits."""
    logits, backward, activations = jax.vjp(function, primal, has_aux=True)
    return (logits, activations), backward


class _TorchPass:
    def __init__(self, spec):
        import torch

        self._spec = spec
        self._torch = torch

    def _call(self, batch, classes, k):
        torch = self._torch
        spec = self._spec
        captured = {}

        def tap(activations):
            captured["A"] = activations
            return activations

        with torch.enable_grad():
            logits = spec.logits(keras.ops.convert_to_tensor(batch), tap).float()
            if classes is None:  # the top k of this very forward pass (ties: the lower class first)
                classes = torch.as_tensor(np.argsort(-logits.detach().cpu().numpy(), axis=1, kind="stable")[:, :k])
            classes = torch.as_tensor(np.asarray(classes), dtype=torch.long, device=logits.device)
            scores = torch.gather(logits, 1, classes)
            count = scores.shape[1]
            gradients = torch.stack([
                torch.autograd.grad(scores[:, t].sum(), [captured["A"]], retain_graph=t < count - 1)[0]
                for t in range(count)], dim=1)
        return spec.to_numpy(captured["A"].detach(), gradients.detach(), logits.detach()) + (
            classes.cpu().numpy(),)

    def __call__(self, batch, classes):
        return self._call(batch, classes, None)[:3]

    def top_k(self, batch, k):
        return self._call(batch, None, int(k))
