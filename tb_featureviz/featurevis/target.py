"""The layer feature visualization optimises for, and how its objective reaches the image.

Which layer a name selects (exactly one), the model's one image input, and
for a layer whose activation clips (a ``ReLU`` or ``Activation`` layer, or
the built-in ``activation`` of a ``Conv2D``, ``SeparableConv2D``,
``DepthwiseConv2D``, ``Conv2DTranspose`` or ``Dense``: relu, relu6,
hard_sigmoid, any activation that is flat somewhere) how to reach the
activation's input: the visualizer cuts the model at the layer's input,
computes the pre-activation itself with the layer's own weights
(:class:`PreActivation`) and applies the activation in the objective
(:func:`redirected_objective`). A channel that is off everywhere on the
start image then still gets a gradient. Graph code uses ``keras.ops``, so
it runs on every backend.

Example:
    >>> info = resolve_layer(model, "conv2", "visualize_features")  # doctest: +SKIP
    >>> redirect_for(info, "visualize_features").fused  # doctest: +SKIP
    True
"""

import dataclasses
import warnings

import numpy as np

import keras

from tb_featureviz.featurevis import objectives
from tb_featureviz.model import layers as layer_lib
from tb_featureviz.model import tensors
from tb_featureviz.model.preactivation import pre_activation_of

#: Where an activation is probed for a flat stretch (a zero gradient).
_PROBE = np.linspace(-4.0, 4.0, 801, dtype=np.float32)


def resolve_layer(model, layer, owner):
    """The one :class:`tb_featureviz.model.layers.LayerInfo` that ``layer`` selects (ValueError otherwise)."""
    if isinstance(layer, layer_lib.LayerInfo):
        return layer
    chosen = layer_lib.select_layers(model, layer).layers
    if len(chosen) != 1:
        raise ValueError(
            f"{owner} expects one layer. Received: {layer!r}, which selects {[i.name for i in chosen]}")
    return chosen[0]


def clips(activation):
    """True when ``activation`` is flat somewhere on [-4, 4]: a zero gradient can stop the optimiser.

    relu, relu6, hard_sigmoid, hard_tanh, hard_silu clip; linear, sigmoid,
    tanh, elu, gelu, silu don't (their gradient is small, never zero, here).

    Example:
        >>> clips(keras.activations.relu), clips(keras.activations.sigmoid)  # doctest: +SKIP
        (True, False)
    """
    values = tensors.to_numpy(activation(keras.ops.convert_to_tensor(_PROBE[:, None])))
    values = np.asarray(values, np.float32).reshape(-1)
    return bool(values.shape == _PROBE.shape and np.any(np.diff(values) == 0))


class PreActivation(keras.layers.Layer):
    """The pre-activation of ``target`` (a layer with a built-in activation) for its input.

    It runs ``target``'s own ``call`` with the activation left out, on the
    target's variables: the weights are tracked as this layer's, so a
    stateless call (JAX) maps them, and nothing is copied. For a separate
    activation layer (``fused=False``) it passes its input through.
    """

    def __init__(self, target, fused, **kwargs):
        super().__init__(name=f"{target.name}_pre_activation", **kwargs)
        self.fused = bool(fused)
        if self.fused:
            self.target = target  # tracked: its variables are this layer's weights
        self.built = True

    def call(self, inputs):
        return pre_activation_of(self.target, inputs) if self.fused else inputs


@dataclasses.dataclass(frozen=True)
class Redirect:
    """How the visualizer reaches the input of a clipping activation.

    Attributes:
        activation: the activation, a function of backend tensors, applied
            to the pre-activation in the objective.
        fused: True for a layer's built-in ``activation`` (the model is cut
            at the layer's input and :class:`PreActivation` computes the rest);
            False for a ``ReLU`` or ``Activation`` layer (cut at its input).
    """

    activation: object
    fused: bool

    def layer(self, info):
        """The :class:`PreActivation` that goes on the cut at ``info``'s input."""
        return PreActivation(info.layer, self.fused)


def _activation_layer_function(layer):
    if isinstance(layer, keras.layers.ReLU):
        return layer.call
    if isinstance(layer, keras.layers.Activation):
        return layer.activation
    return None


def redirect_for(info, owner):
    """The :class:`Redirect` for the layer of ``info``, or None where its output is optimised directly.

    A fused activation is used only where the layer's output equals the
    activation of :class:`PreActivation` on a random input (a quantised or
    custom layer whose ``call`` applies its activation elsewhere fails that
    check): it is then optimised directly, with one warning.
    """
    layer = info.layer
    function = _activation_layer_function(layer)
    if function is not None:
        return Redirect(function, fused=False) if clips(function) else None
    function = getattr(layer, "activation", None)
    if not callable(function) or function is keras.activations.linear or not clips(function):
        return None
    redirect = Redirect(function, fused=True)
    if not _separates(layer, redirect):
        warnings.warn(
            f"{owner}: the activation of layer {info.name!r} ({info.class_name}) could not be separated from "
            "its call, so its output is optimised directly: a channel that is off everywhere on the start "
            "image may stay flat grey.", stacklevel=4)
        return None
    return redirect


def _separates(layer, redirect):
    """True where ``activation(pre-activation) == layer(x)`` on a random input."""
    shape = getattr(layer, "input", None)
    shape = getattr(shape, "shape", None)
    if shape is None:
        return False
    shape = [1] + [8 if dim is None else int(dim) for dim in tuple(shape)[1:]]
    x = keras.ops.convert_to_tensor(np.random.default_rng(0).normal(size=shape).astype(np.float32))
    try:
        want = tensors.to_numpy(layer(x, training=False)).astype(np.float32)
        got = tensors.to_numpy(redirect.activation(pre_activation_of(layer, x))).astype(np.float32)
    except Exception:  # noqa: BLE001 - any failure means the call can't be split
        return False
    scale = max(1.0, float(np.abs(want).max()))
    return got.shape == want.shape and bool(np.allclose(got, want, atol=1e-4 * scale, rtol=1e-4))


def redirected_objective(pre_activation, activation, objective, vectors):
    """Per-sample objective of ``activation(pre_activation)``, with a redirected gradient (graph code).

    The value is the objective of the activation's output. Where no
    gradient gets through a sample's activation (every unit its objective
    reads sits on a flat stretch, as on the flat grey start for many
    selective channels of a trained network), the gradient is that of the
    same objective on the pre-activation, which turns the units on; then
    the activation's own gradient takes over. A unit passes a gradient
    where the activation changes between ``x`` and ``x + 1e-3``. Lucid
    redirects ReLU gradients like this for its first 16 steps; here a
    sample is redirected whenever, and only while, it would get no
    gradient at all. The redirected gradient is that of a soft maximum
    over positions of the pre-activation (:func:`soft_strongest`, for the
    ``channel`` and ``direction`` objectives): it turns on the units
    closest to firing, as a maximum does, while lifting the map around
    them, as a mean does (see ``docs/feature-visualization.md`` for the
    measurements that chose it).
    """
    ops = keras.ops
    post = activation(pre_activation)
    value = objectives.objective_values(post, objective, vectors, ops=ops)
    nudged = activation(pre_activation + 1e-3)
    passing = ops.cast(ops.not_equal(ops.stop_gradient(nudged), ops.stop_gradient(post)), "float32")
    reach = objectives.objective_values(passing, objective, ops.abs(vectors), ops=ops)
    blocked = ops.cast(ops.less_equal(reach, 0.0), "float32")
    linear = soft_strongest(pre_activation, objective, vectors)
    return value + blocked * (linear - ops.stop_gradient(linear))


def soft_strongest(activations, objective, vectors):
    """Per-sample soft maximum ``[B]`` over positions of the objective's units (graph code).

    ``t * logsumexp(x / t)`` over the positions ``x`` (each position's dot
    product with the sample's vector), at the temperature ``t`` of the
    map's own spread (its standard deviation, held constant for the
    gradient): positions a spread or more below the strongest get little
    weight, so the gradient lifts the units closest to firing and their
    neighbourhood. ``neuron`` reads one position: its value.
    """
    ops = keras.ops
    if objective == "neuron":
        return objectives.objective_values(activations, objective, vectors, ops=ops)
    weights = ops.reshape(vectors, (-1, 1, 1, vectors.shape[-1]))
    positions = ops.sum(ops.multiply(activations, weights), axis=-1)
    positions = ops.reshape(positions, (-1, positions.shape[1] * positions.shape[2]))
    temperature = ops.stop_gradient(ops.std(positions, axis=-1) + 1e-6)
    return temperature * ops.logsumexp(positions / temperature[:, None], axis=-1)


def image_input_shape(model, owner):
    """The shape of the model's one 4-D input (ValueError otherwise)."""
    if len(model.inputs) != 1:
        raise ValueError(f"{owner} expects a model with one input. Received: {len(model.inputs)} inputs")
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4:
        raise ValueError(f"{owner} expects a model taking images (batch, height, width, channels). "
                         f"Received: input shape {shape}")
    return shape
