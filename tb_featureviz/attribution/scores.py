"""Where a classifier's class scores are, and which layer an attribution looks at by default.

The score an attribution explains is the class **logit**: where the model
ends in a softmax (a ``Softmax`` or ``Activation("softmax")`` layer, or a
layer's built-in ``activation="softmax"``) the score is taken before it,
as in the Grad-CAM paper; a sigmoid output likewise. The probabilities
reported beside it are the model's own: the softmax (or sigmoid) of the
logits, or, for a model that outputs logits, their softmax.

Example:
    >>> head = score_head(model, "attribute")  # doctest: +SKIP
    >>> head.layer.name, head.squash  # doctest: +SKIP
    ('predictions', 'softmax')
"""

import dataclasses

import keras

from tb_featureviz.model import layers as layer_lib
from tb_featureviz.model.preactivation import pre_activation_of

#: Output activations an attribution looks through, and how probabilities follow from logits.
_SQUASHES = {"softmax": "softmax", "sigmoid": "sigmoid"}


@dataclasses.dataclass(frozen=True)
class ScoreHead:
    """How to get logits from a model's output layer.

    Attributes:
        layer: the layer that produces the model's output (possibly inside
            a nested model).
        models: ids of the nested models that hold it (to be run node by node).
        squash: ``"softmax"``, ``"sigmoid"`` (the output layer applies it and
            the logits are its input) or None (the output is the logits).
        num_classes: the output's last dimension.
    """

    layer: object
    models: frozenset
    squash: str
    num_classes: int

    def replacement(self):
        """``{id(layer): function}`` for :func:`tb_featureviz.model.graph.run_graph`: the logits, or None."""
        if self.squash is None:
            return {}
        if _activation_name(self.layer) is not None and not _is_activation_layer(self.layer):
            return {id(self.layer): lambda layer, x, **kwargs: pre_activation_of(layer, x)}
        return {id(self.layer): lambda layer, x, **kwargs: x}


def _activation_name(layer):
    function = getattr(layer, "activation", None)
    name = getattr(function, "__name__", None)
    return name if name in _SQUASHES else None


def _is_activation_layer(layer):
    return isinstance(layer, (keras.layers.Activation, keras.layers.Softmax))


def _squash_of(layer):
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    return _SQUASHES.get(_activation_name(layer))


def _output_layer(model, owner):
    """The layer producing ``model``'s one output, descending into nested models; ``(layer, model ids)``."""
    models = set()
    current = model
    while True:
        outputs = current.outputs
        if len(outputs) != 1:
            raise ValueError(f"{owner} expects a model with one output (class scores). "
                             f"Received: {len(outputs)} outputs of model {current.name!r}")
        history = getattr(outputs[0], "_keras_history", None)
        layer = getattr(history, "operation", None)
        if isinstance(layer, keras.Model):
            models.add(id(layer))
            current = layer
            continue
        if layer is None:
            raise ValueError(f"{owner} expects a model built with keras.Input, whose output layer is known. "
                             f"Received: model {model.name!r}")
        return layer, frozenset(models)


def score_head(model, owner="attribute"):
    """The :class:`ScoreHead` of a classifier (ValueError for a model without class scores).

    Raises:
        ValueError: more than one output, or an output that isn't
            ``[batch, classes]`` with at least 2 classes (one sigmoid unit
            also counts: a binary classifier).
    """
    layer, models = _output_layer(model, owner)
    shape = tuple(model.outputs[0].shape)
    squash = _squash_of(layer)
    if len(shape) != 2 or shape[-1] is None or (shape[-1] < 2 and squash != "sigmoid"):
        raise ValueError(f"{owner} expects a classification model: one output of class scores "
                         f"[batch, classes]. Received: output shape {shape} from layer {layer.name!r}")
    return ScoreHead(layer, models, squash, int(shape[-1]))


def default_layer(model, owner="attribute"):
    """The last layer with a spatial (4-D) output, nested models searched, before the head.

    Example:
        >>> default_layer(model).name  # doctest: +SKIP
        'xception/block14_sepconv2_act'

    Raises:
        ValueError: the model has no layer with a spatial output.
    """
    for info in reversed(layer_lib.walk_layers(model)):
        shape = layer_lib.output_shape(info.layer)
        if shape is not None and len(shape) == 4 and not info.is_model:
            return info
    raise ValueError(f"{owner} expects a model with a layer of spatial output (batch, height, width, channels). "
                     f"Received: model {model.name!r} has none")
