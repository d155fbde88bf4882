"""The receptive field of every layer of a model, from its graph: which input pixels each unit sees.

Walks the model's own graph (nested models included, the outer layers in
front of a base model too) from the input to every layer, applying
:mod:`tb_featureviz.examples.fields` per layer:

- convolutions (``Conv2D``, ``SeparableConv2D``, ``DepthwiseConv2D``) and
  pooling (``MaxPooling2D``, ``AveragePooling2D``): windows, with their
  kernel or pool size, strides, dilation and ``"same"``/``"valid"`` padding;
- ``ZeroPadding2D`` and ``Cropping2D``: shifts;
- a layer whose output keeps its input's height and width (normalisation,
  activations, ``Add``, ``Concatenate``, ...): the union of its inputs'
  fields (a position sees what the same position saw);
- anything else with a spatial output (``UpSampling2D``,
  ``Conv2DTranspose``, ``Reshape``): the whole picture, which is always
  true, if loose.

Example:
    >>> fields = receptive_fields(model, 299, 299)  # doctest: +SKIP
    >>> fields["xception/block1_conv1"].rows  # doctest: +SKIP
    Axis(jump=2, start=0, size=3)
"""

import dataclasses

import keras

from tb_featureviz.examples import fields as field_lib
from tb_featureviz.model import graph as graph_lib
from tb_featureviz.model.layers import qualified_name


@dataclasses.dataclass(frozen=True)
class Field:
    """A spatial tensor's receptive field and size.

    Attributes:
        rows, cols: :class:`tb_featureviz.examples.fields.Axis` per axis.
        height, width: the tensor's spatial size for the pictures walked.
        exact: False where a layer that is no window made the field the whole picture.
    """

    rows: object
    cols: object
    height: int
    width: int
    exact: bool = True

    def box(self, position, picture_height, picture_width):
        """``[top, left, bottom, right]`` of the unit at flat ``position`` (row * width + column)."""
        row, col = divmod(int(position), self.width)
        return field_lib.unit_box(self.rows, self.cols, row, col, picture_height, picture_width)


def _spatial_axes(layer):
    return (2, 3) if getattr(layer, "data_format", None) == "channels_first" else (1, 2)


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _window(layer, source, kernel, strides, dilation, padding):
    axes, sizes = [], []
    for axis, length, k, s, d in zip((source.rows, source.cols), (source.height, source.width), kernel, strides,
                                     dilation):
        before = field_lib.same_pad_before(length, k, s, d) if padding == "same" else 0
        axes.append(field_lib.window(axis, k, s, d, before))
        sizes.append(field_lib.output_length(length, k, s, d, padding))
    return Field(axes[0], axes[1], sizes[0], sizes[1], source.exact)


def layer_field(layer, sources, output_shape):
    """The :class:`Field` of ``layer``'s output from its inputs' fields (None where it has no spatial output).

    Args:
        layer: the Keras layer.
        sources: the :class:`Field` of each of its inputs (None for a non-spatial input).
        output_shape: its symbolic output shape.
    """
    if output_shape is None or len(output_shape) != 4:
        return None
    known = [s for s in sources if s is not None]
    first = _spatial_axes(layer)
    if len(known) == 1 and len(sources) == 1:
        source = known[0]
        padding = getattr(layer, "padding", None)
        if hasattr(layer, "kernel_size") and hasattr(layer, "strides") and not isinstance(
                layer, keras.layers.Conv2DTranspose):
            return _window(layer, source, _pair(layer.kernel_size), _pair(layer.strides),
                           _pair(getattr(layer, "dilation_rate", 1)), padding)
        if hasattr(layer, "pool_size") and hasattr(layer, "strides"):
            return _window(layer, source, _pair(layer.pool_size), _pair(layer.strides or layer.pool_size), (1, 1),
                           padding)
        if isinstance(layer, (keras.layers.ZeroPadding2D, keras.layers.Cropping2D)):
            amounts = layer.padding if isinstance(layer, keras.layers.ZeroPadding2D) else layer.cropping
            sign = 1 if isinstance(layer, keras.layers.ZeroPadding2D) else -1
            (top, bottom), (left, right) = amounts
            return Field(field_lib.shift(source.rows, sign * top), field_lib.shift(source.cols, sign * left),
                         source.height + sign * (top + bottom), source.width + sign * (left + right), source.exact)
    height, width = (output_shape[first[0]], output_shape[first[1]])
    if known and all(s.height == known[0].height and s.width == known[0].width for s in known) and \
            len(known) == len(sources) and (height in (None, known[0].height)) and (width in (None, known[0].width)):
        return Field(field_lib.union([s.rows for s in known]), field_lib.union([s.cols for s in known]),
                     known[0].height, known[0].width, all(s.exact for s in known))
    return None  # the caller makes it the whole picture


def receptive_fields(model, height, width):
    """``{qualified layer name: Field}`` for every layer with a spatial output, for pictures of ``height x width``.

    Raises:
        ValueError: a model whose graph can't be walked (see
            :func:`tb_featureviz.model.graph.graph_of`).
    """
    found = {}
    graph = graph_lib.graph_of(model, "receptive_fields")
    inputs = {id(t): Field(field_lib.INPUT, field_lib.INPUT, int(height), int(width)) for t in graph.inputs}
    _walk(graph, inputs, (), found, int(height), int(width))
    return found


def _walk(graph, known, prefix, found, height, width):
    """Fields of every tensor of ``graph`` from ``known`` (tensor id -> Field); fills ``found`` by layer name."""
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        for node in graph._nodes_by_depth[depth]:
            layer = node.operation
            if layer is None or node.is_input:
                continue
            sources = [known.get(id(t)) for t in node.input_tensors]
            if isinstance(layer, keras.Model):
                inner = graph_lib.graph_of(layer, "receptive_fields")
                inner_known = {id(t): s for t, s in zip(inner.inputs, sources)}
                inner_found = {}
                _walk(inner, inner_known, prefix + (layer.name,), inner_found, height, width)
                found.update(inner_found)
                outputs = [inner_found.get(qualified_name(prefix + (layer.name,), t._keras_history.operation.name))
                           if getattr(t, "_keras_history", None) else None for t in inner.outputs]
            else:
                shape = tuple(node.outputs[0].shape) if len(node.outputs) == 1 else None
                field = layer_field(layer, sources, shape)
                if field is None and shape is not None and len(shape) == 4:
                    axes = _spatial_axes(layer)
                    field = Field(field_lib.whole(height), field_lib.whole(width), shape[axes[0]] or 1,
                                  shape[axes[1]] or 1, exact=False)
                outputs = [field]
                if field is not None:
                    found[qualified_name(prefix, layer.name)] = field
            for tensor, field in zip(node.outputs, outputs):
                known[id(tensor)] = field
