"""The only module that runs the model: one forward pass for all selected layers.

An :class:`ActivationExtractor` is a multi-output Keras model built once
per (model, layers) and reused. For layers inside a nested base model it
feeds the nested model's sub-extractor with the tensor the outer model
feeds it, so the outer layers in front of the base (preprocessing,
augmentation) are applied, in inference mode, within the same pass.

Example:
    >>> extractor = ActivationExtractor(model, select_layers(model).layers)  # doctest: +SKIP
    >>> maps = extractor(batch)  # {qualified name: float32 NHWC array}  # doctest: +SKIP
"""

import numpy as np

import keras

from tb_featureviz.model import tensors


def _node_in(model, layer, graph_ids):
    """The node by which ``model``'s graph calls ``layer``.

    A layer (or a pretrained base model) can be called in several graphs;
    only the node whose outputs belong to ``model`` is connected to
    ``model.inputs``.
    """
    for node in getattr(layer, "_inbound_nodes", []):
        if node.output_tensors and all(id(t) in graph_ids for t in node.output_tensors):
            return node
    raise ValueError(
        f"Layer {layer.name!r} is not connected to the inputs of model {model.name!r}; "
        "build the model with keras.Input so that its graph is known."
    )


def _single(tensors):
    return tensors[0] if len(tensors) == 1 else list(tensors)


def _graph_tensor_ids(model):
    """ids of every symbolic tensor produced inside ``model``'s graph."""
    ids = set(id(t) for t in model.inputs)
    for op in getattr(model, "operations", model.layers):
        for node in getattr(op, "_inbound_nodes", []):
            for t in node.output_tensors:
                ids.add(id(t))
    return ids


def layer_data_format(layer, model_format):
    """``channels_first`` or ``channels_last``: the layer's own, else the model's."""
    return getattr(layer, "data_format", None) or model_format


def model_data_format(model, layer_infos):
    """``channels_first`` if the model's conv layers say so, else Keras' default."""
    formats = {getattr(info.layer, "data_format", None) for info in layer_infos} - {None}
    if len(formats) == 1:
        return formats.pop()
    return keras.config.image_data_format()


class ActivationExtractor:
    """Outputs of many layers of one model for a batch, in one forward pass.

    Args:
        model: the (outer) Keras model, built with an input.
        layer_infos: :class:`tb_featureviz.model.layers.LayerInfo` objects of the
            layers wanted, at any nesting depth.
        layer_inputs: give each layer's input instead of its output (the
            feature visualizer cuts a layer with a built-in activation there).

    Call it with a float32 batch (already preprocessed, model input layout)
    to get ``{qualified name: float32 array [N, H, W, C]}``; channels-first
    outputs are moved to channels-last.
    """

    def __init__(self, model, layer_infos, *, layer_inputs=False):
        self.model = model
        self._side = "input_tensors" if layer_inputs else "output_tensors"
        self.layer_infos = tuple(layer_infos)
        self.names = tuple(info.name for info in self.layer_infos)
        self._format = model_data_format(model, self.layer_infos)
        #: The functional wrappers this extractor builds (never the user's
        #: models): :meth:`size_free_model` relaxes their input checks.
        self._wrappers = []
        outputs = self._symbolic_outputs(model, (), self.layer_infos)
        # One input is given as a tensor, not a list of one: called with an
        # array, Keras (on torch) warns per call that the structures differ.
        self._extractor = keras.Model(_single(model.inputs), outputs, name="featureviz_extractor")
        self._wrappers.append(self._extractor)

    @property
    def keras_model(self):
        """The Keras model behind the extractor: the model's input to the layers' outputs."""
        return self._extractor

    def size_free_model(self, probe_size):
        """The extractor's model on images of any height and width, or None where the graph needs its size.

        A model built for a fixed input (Xception's 299 pixels) is often
        fully convolutional up to a layer; this replays the same layers
        (same weights, nothing copied) from an input whose height and width
        are free. The wrappers' own input checks are relaxed (they are this
        extractor's, not the user's); every layer of the user's model still
        checks its input, so a graph that needs its size (a ``Flatten``
        into a ``Dense``, a user's nested functional model in front of the
        base) gives None here. ``probe_size`` is the height and width the
        caller will use: one image of that size is run through the new
        model to prove it.

        Example:
            >>> free = ActivationExtractor(model, [info]).size_free_model(128)  # doctest: +SKIP
            >>> free(np.zeros((1, 128, 128, 3), "float32")).shape  # doctest: +SKIP
            TensorShape([1, 32, 32, 728])
        """
        shape = tuple(self._extractor.inputs[0].shape) if len(self._extractor.inputs) == 1 else ()
        if len(shape) != 4:
            return None
        spatial = (2, 3) if self._format == "channels_first" else (1, 2)
        free = keras.Input(tuple(None if axis in spatial else dim for axis, dim in enumerate(shape))[1:],
                           dtype=self._extractor.inputs[0].dtype)
        for wrapper in self._wrappers:
            wrapper.input_spec = None
        try:
            model = keras.Model(free, self._extractor(free), name="featureviz_size_free")
            probe = [1] + [int(probe_size) if axis in spatial else dim for axis, dim in enumerate(shape) if axis]
            model(keras.ops.zeros(probe, free.dtype), training=False)  # fails here where a layer needs its size
        except Exception:  # any layer refusing another size: the caller keeps the fixed size
            return None
        return model

    def _symbolic_outputs(self, model, prefix, infos):
        """Symbolic outputs for ``infos`` (all inside ``model``), in order."""
        outputs = [None] * len(infos)
        graph_ids = _graph_tensor_ids(model)
        for i, info in enumerate(infos):
            if len(info.path) == len(prefix):
                outputs[i] = _single(getattr(_node_in(model, info.layer, graph_ids), self._side))
        nested_names = []
        for info in infos:
            if len(info.path) > len(prefix) and info.path[len(prefix)] not in nested_names:
                nested_names.append(info.path[len(prefix)])
        for nested_name in nested_names:
            positions = [i for i, info in enumerate(infos)
                         if len(info.path) > len(prefix) and info.path[len(prefix)] == nested_name]
            nested = infos[positions[0]].models[len(prefix) + 1]
            inner_outputs = self._symbolic_outputs(
                nested, prefix + (nested_name,), [infos[i] for i in positions]
            )
            inner = keras.Model(_single(nested.inputs), inner_outputs)
            self._wrappers.append(inner)
            feed = _single(_node_in(model, nested, graph_ids).input_tensors)
            called = inner(feed, training=False)
            if not isinstance(called, (list, tuple)):
                called = [called]
            for i, tensor in zip(positions, called):
                outputs[i] = tensor
        return outputs

    def _forward(self, batch):
        if keras.config.backend() == "torch":
            # predict_on_batch converts torch outputs with np.array, which
            # numpy 2 warns about per output and call; torch runs eagerly,
            # so the same inference call costs nothing more here.
            import torch

            with torch.no_grad():
                return self._extractor(keras.ops.convert_to_tensor(batch), training=False)
        # predict_on_batch runs a compiled inference function (training=False)
        # that Keras builds once and caches on the extractor.
        return self._extractor.predict_on_batch(batch)

    def __call__(self, batch):
        results = self._forward(batch)
        if not isinstance(results, (list, tuple)):
            results = [results]
        maps = {}
        for info, value in zip(self.layer_infos, results):
            if not isinstance(value, np.ndarray):
                value = tensors.to_numpy(value)  # torch tensors (see _forward)
            if value.dtype != np.float32:
                value = value.astype(np.float32)  # float16 / bfloat16 outputs
            if layer_data_format(info.layer, self._format) == "channels_first":
                value = np.moveaxis(value, 1, -1)
            maps[info.name] = value
        return maps
