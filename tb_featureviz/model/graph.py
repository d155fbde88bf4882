"""Run a model's own graph with some layers' calls replaced, nested models included.

Attribution needs, in one forward pass, a layer's activations as a point
the gradient can be taken at (on JAX: an input of the differentiated
function) and the class scores before the softmax. Building a sub-model
from the model's inputs to both fails for a layer inside a nested base
model ("Graph disconnected"), and a clone copies weights. Instead this runs
the model's graph node by node, as Keras' ``Functional.call`` does
(``_run_through_graph``), in inference mode, and where a layer is listed in
``replace`` calls the given function instead; a nested model that holds
such a layer is run the same way, so the outer layers in front of it
(preprocessing) are applied as the model applies them. Nothing is copied
and the model is never changed.

It relies on Keras 3's ``Function._run_through_graph`` (checked, with a
clear error where a Keras release lacks it; CI bounds the Keras version).

Example:
    >>> def tap(layer, x):  # doctest: +SKIP
    ...     return layer(x) * 2.0
    >>> run_graph(model, batch, {id(model.get_layer("conv1")): tap})  # doctest: +SKIP
"""

import keras


def graph_of(model, owner="run_graph"):
    """The Functional graph that runs ``model`` (a Sequential's inner one).

    Raises:
        ValueError: a model whose graph is unknown (subclassed, or a
            Sequential built without an input).
    """
    if isinstance(model, keras.Sequential):
        graph = getattr(model, "_functional", None)
    else:
        graph = model
    if graph is None or not hasattr(graph, "_run_through_graph") or not hasattr(graph, "_nodes_by_depth"):
        raise ValueError(f"{owner} expects a functional or Sequential model built with keras.Input, whose graph "
                         f"Keras can run. Received: {type(model).__name__} {getattr(model, 'name', '')!r}")
    return graph


def inference_call(operation):
    """``operation``'s call in inference mode (``training=False`` where it takes one)."""

    def call(*args, **kwargs):
        if "training" in getattr(operation, "_call_context_args", ()):
            kwargs["training"] = False
        return operation(*args, **kwargs)
    return call


def run_graph(model, inputs, replace, descend=None, owner="run_graph"):
    """``model``'s outputs for ``inputs`` in inference mode, with the calls of some layers replaced.

    Args:
        model: a functional or Sequential Keras model.
        inputs: a backend tensor (one input) or a list of them.
        replace: ``{id(layer): function(layer, *args, **kwargs)}``: what
            to compute instead of calling ``layer`` (call the layer inside
            it to keep its output).
        descend: ids of the nested models to run node by node (those that
            hold a replaced layer); default: every nested model.

    Returns:
        the outputs as the model returns them.
    """
    graph = graph_of(model, owner)

    def operation_fn(operation):
        replaced = replace.get(id(operation))
        if replaced is not None:
            return lambda *args, **kwargs: replaced(operation, *args, **kwargs)
        if isinstance(operation, keras.Model) and (descend is None or id(operation) in descend):
            def nested(*args, **kwargs):
                value = args[0] if len(args) == 1 else list(args)
                return run_graph(operation, value, replace, descend, owner)
            return nested
        return inference_call(operation)

    return graph._run_through_graph(inputs, operation_fn=operation_fn)
