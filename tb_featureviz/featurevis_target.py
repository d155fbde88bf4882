"""The layer feature visualization optimises for, and how its objective reaches the image.

Which layer a name selects (exactly one), the model's one image input, and
for a plain ReLU target the layer feeding it: the visualizer cuts the model
there and applies the ReLU itself (:func:`redirected_objective`), so a
channel that is off everywhere on the flat grey start still gets a
gradient. Graph code uses ``keras.ops``, so it runs on every backend.

Example:
    >>> info = resolve_layer(model, "relu3", "visualize_features")  # doctest: +SKIP
    >>> pre_activation(model, info).name  # doctest: +SKIP
    'bn3'
"""

import keras

from tb_featureviz import featurevis_params as params
from tb_featureviz import layers as layer_lib


def resolve_layer(model, layer, owner):
    """The one :class:`tb_featureviz.layers.LayerInfo` that ``layer`` selects (ValueError otherwise)."""
    if isinstance(layer, layer_lib.LayerInfo):
        return layer
    chosen = layer_lib.select_layers(model, layer).layers
    if len(chosen) != 1:
        raise ValueError(
            f"{owner} expects one layer. Received: {layer!r}, which selects {[i.name for i in chosen]}")
    return chosen[0]


def _plain_relu(layer):
    if isinstance(layer, keras.layers.ReLU):
        return layer.max_value is None and not layer.negative_slope and not layer.threshold
    return isinstance(layer, keras.layers.Activation) and layer.activation is keras.activations.relu


def pre_activation(model, info):
    """The layer whose output a plain ReLU target layer takes (same nesting), or None.

    The visualizer then truncates there and applies the ReLU itself, so it
    can redirect the gradient of a ReLU that is off everywhere.
    """
    if not _plain_relu(info.layer):
        return None
    for node in getattr(info.layer, "_inbound_nodes", []):
        tensors = node.input_tensors
        history = getattr(tensors[0], "_keras_history", None) if len(tensors) == 1 else None
        if history is None:
            continue
        for candidate in layer_lib.walk_layers(model):
            if candidate.layer is history.operation and candidate.path == info.path:
                return candidate
    return None


def redirected_objective(pre_activation, objective, vectors):
    """Per-sample objective of ``relu(pre_activation)``, with a redirected gradient (graph code).

    The value is the objective of the ReLU's output. Where no gradient gets
    through a sample's ReLU (every unit its objective reads is off, as on
    the flat grey start for many selective channels), the gradient is that
    of the same objective on the pre-activation, which turns the units on;
    then the ReLU's own gradient takes over. Lucid redirects ReLU gradients
    like this for its first 16 steps; here a sample is redirected whenever,
    and only while, it would get no gradient at all.
    """
    ops = keras.ops
    post = ops.relu(pre_activation)
    value = params.objective_values(post, objective, vectors, ops=ops)
    reach = params.objective_values(post, objective, ops.abs(vectors), ops=ops)
    dead = ops.cast(ops.less_equal(reach, 0.0), "float32")
    linear = params.objective_values(pre_activation, objective, vectors, ops=ops)
    return value + dead * (linear - ops.stop_gradient(linear))


def image_input_shape(model, owner):
    """The shape of the model's one 4-D input (ValueError otherwise)."""
    if len(model.inputs) != 1:
        raise ValueError(f"{owner} expects a model with one input. Received: {len(model.inputs)} inputs")
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4:
        raise ValueError(f"{owner} expects a model taking images (batch, height, width, channels). "
                         f"Received: input shape {shape}")
    return shape
