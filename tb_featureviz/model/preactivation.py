"""A layer's output without its built-in activation, computed by the layer itself.

``Conv2D(..., activation="relu")`` and ``Dense(..., activation="softmax")``
apply their activation inside ``call``. Feature visualization needs the
input of a clipping activation (the ReLU); attribution needs the class
scores before a softmax. :func:`pre_activation_of` runs the layer's own
``call`` on a view of the layer whose ``activation`` is None: the layer's
weights, nothing copied, the layer itself never changed.

Example:
    >>> dense = keras.layers.Dense(2, activation="softmax")  # doctest: +SKIP
    >>> logits = pre_activation_of(dense, x)  # doctest: +SKIP
"""

import keras


class _WithoutActivation:
    """A view of a layer whose ``activation`` is None: its ``call`` gives the pre-activation.

    Every other attribute is the layer's own (its weights included), so
    nothing is copied and the layer itself is never changed.
    """

    activation = None

    def __init__(self, layer):
        object.__setattr__(self, "_layer", layer)

    def __getattr__(self, name):
        return getattr(self._layer, name)


def pre_activation_of(layer, inputs):
    """``layer``'s output for ``inputs`` with its built-in activation left out (graph code)."""
    return type(layer).call(_WithoutActivation(layer), keras.ops.cast(inputs, layer.compute_dtype))
