"""Layer discovery and selection: which layers, in model order, under which names.

Nested models (a pretrained base inside a ``Sequential`` or functional
model) are walked depth first, so ``xception/block1_conv1`` comes right
after the ``xception`` entry itself. Qualified names join the enclosing
models' names with ``/``; a layer's plain name is accepted wherever it is
unambiguous.

Example:
    >>> base = keras.applications.Xception(weights=None, include_top=False)  # doctest: +SKIP
    >>> model = keras.Sequential([keras.Input((299, 299, 3)), base])  # doctest: +SKIP
    >>> [i.name for i in select_layers(model, ["block1*"]).layers][:2]  # doctest: +SKIP
    ['xception/block1_conv1', 'xception/block1_conv1_bn']
"""

import dataclasses
import difflib
import fnmatch

import keras

from tb_featureviz.model import tensors

#: Layer classes whose outputs and kernels are logged when no layers are named.
#: Those that can't be drawn (Conv3D kernels, Conv1D outputs) are reported.
CONV_CLASSES = tuple(
    getattr(keras.layers, name)
    for name in (
        "Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D",
        "DepthwiseConv2D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    )
    if hasattr(keras.layers, name)
)

_GLOB_CHARS = set("*?[")


@dataclasses.dataclass(frozen=True)
class LayerInfo:
    """One layer of a (possibly nested) model.

    Attributes:
        name: qualified name, e.g. ``"xception/block1_conv1"``.
        layer: the Keras layer object.
        path: names of the enclosing models, outermost first (the top model
            itself is not part of it).
        models: the enclosing model objects, outermost first, the top
            model included (``models[-1]`` owns ``layer``).
        index: position in model order.
    """

    name: str
    layer: object
    path: tuple
    models: tuple
    index: int

    @property
    def class_name(self):
        return type(self.layer).__name__

    @property
    def plain_name(self):
        return self.layer.name

    @property
    def is_model(self):
        return isinstance(self.layer, keras.Model)


@dataclasses.dataclass(frozen=True)
class Selection:
    """Layers chosen by :func:`select_layers` and those a pattern skipped.

    Attributes:
        layers: the chosen :class:`LayerInfo` objects, in model order.
        skipped: ``(LayerInfo, reason)`` for layers that a pattern or class
            reached but that cannot be logged; report them, don't hide them.
    """

    layers: tuple
    skipped: tuple


def qualified_name(path, name):
    """A layer's name qualified by the nested models it is in: ``xception/block1_conv1``.

    Example:
        >>> qualified_name(("xception",), "block1_conv1"), qualified_name((), "dense")
        ('xception/block1_conv1', 'dense')
    """
    return "/".join(tuple(path) + (name,))


def walk_layers(model):
    """All layers of ``model`` in model order, nested models depth first.

    Input layers are left out: they have no weights and their output is the
    model input.

    Returns:
        list of :class:`LayerInfo`.
    """
    found = []

    def visit(current, prefix, models):
        for layer in current.layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            found.append(LayerInfo(qualified_name(prefix, layer.name), layer, prefix, models, len(found)))
            if isinstance(layer, keras.Model):
                visit(layer, prefix + (layer.name,), models + (layer,))

    visit(model, (), (model,))
    return found


def output_shape(layer):
    """The layer's symbolic output shape as a tuple, or None if unknown."""
    try:
        out = layer.output
    except (AttributeError, ValueError, RuntimeError):
        return None
    if isinstance(out, (list, tuple)):
        if len(out) != 1:
            return None
        out = out[0]
    return tuple(out.shape)


def feature_map_problem(info):
    """Why the layer has no 2-D feature maps to show, or None when it has them.

    A spatial output is a single 4-D tensor ``(batch, H, W, C)`` (or
    ``(batch, C, H, W)`` with ``channels_first``).
    """
    shape = output_shape(info.layer)
    if shape is None:
        return "its output shape is unknown or it has several outputs"
    if len(shape) != 4:
        return f"its output has shape {shape}, not (batch, height, width, channels)"
    return None


def _is_pattern(text):
    return any(ch in _GLOB_CHARS for ch in text)


def _describe(item):
    if isinstance(item, type):
        return f"class {item.__name__}"
    if isinstance(item, str):
        return repr(item)
    return f"layer {getattr(item, 'name', item)!r}"


def resolve_name(all_layers, name):
    """The one layer called ``name`` (qualified, or plain if unambiguous).

    Raises:
        ValueError: when no layer has that name (listing the closest names) or
            when a plain name is ambiguous (listing the qualified ones).
    """
    for info in all_layers:
        if info.name == name:
            return info
    plain = [info for info in all_layers if info.plain_name == name]
    if len(plain) == 1:
        return plain[0]
    if len(plain) > 1:
        raise ValueError(
            f"Layer name {name!r} is ambiguous; use a qualified name. "
            f"Candidates: {[info.name for info in plain]}"
        )
    names = [info.name for info in all_layers]
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    close += [
        n for n in difflib.get_close_matches(
            name, [info.plain_name for info in all_layers], n=5, cutoff=0.5
        )
        if n not in close
    ]
    hint = f" Closest names: {close[:5]}." if close else ""
    raise ValueError(f"No layer named {name!r} in model {all_layers[0].models[0].name!r}.{hint}"
                     if all_layers else f"No layer named {name!r}: the model has no layers.")


def select_layers(model, layers=None, *, requirement=feature_map_problem, default=CONV_CLASSES):
    """Choose layers by name, glob pattern, class or object.

    Args:
        model: a built Keras model.
        layers: None for the default (every layer of a class in ``default``
            that meets ``requirement``), or a name, pattern, class, layer
            object, or a list of those. Names may be qualified
            (``"xception/block1_conv1"``) or plain when unambiguous; patterns
            (``"block1*"``, ``"*sepconv*"``) match qualified or plain names.
        requirement: function ``LayerInfo -> reason or None``; a layer for
            which it gives a reason cannot be logged.
        default: layer classes chosen when ``layers`` is None.

    Returns:
        A :class:`Selection`, layers in model order without duplicates.

    Raises:
        ValueError: an unknown or ambiguous name, a pattern or class that
            matches no layer, or a layer named explicitly that fails
            ``requirement``.
        TypeError: an item that is none of the accepted kinds.
    """
    all_layers = walk_layers(model)
    chosen = {}
    skipped = {}

    def consider(info, explicit):
        reason = requirement(info)
        if reason is None:
            chosen[info.index] = info
        elif explicit:
            raise ValueError(f"Layer {info.name!r} ({info.class_name}) cannot be logged: {reason}.")
        else:
            skipped.setdefault(info.index, (info, reason))

    if layers is None:
        for info in all_layers:
            if isinstance(info.layer, default):
                consider(info, explicit=False)
        if not chosen:
            reasons = "; ".join(f"{info.name}: {why}" for info, why in list(skipped.values())[:5])
            raise ValueError(
                f"Model {model.name!r} has no convolution layer that can be logged"
                + (f" ({reasons})" if reasons else "")
                + "; pass layers=... explicitly."
            )
    else:
        single = isinstance(layers, (str, bytes, type)) or not hasattr(layers, "__iter__")
        items = [layers] if single else list(layers)
        if not items:
            raise ValueError("layers expects at least one name, pattern or class. Received: an empty list")
        for item in items:
            if isinstance(item, str) and _is_pattern(item):
                matched = [
                    info for info in all_layers
                    if fnmatch.fnmatchcase(info.name, item) or fnmatch.fnmatchcase(info.plain_name, item)
                ]
                if not matched:
                    raise ValueError(f"Pattern {item!r} matches no layer of model {model.name!r}.")
                for info in matched:
                    consider(info, explicit=False)
            elif isinstance(item, str):
                consider(resolve_name(all_layers, item), explicit=True)
            elif isinstance(item, type):
                matched = [info for info in all_layers if isinstance(info.layer, item)]
                if not matched:
                    raise ValueError(f"Model {model.name!r} has no layer of class {item.__name__}.")
                for info in matched:
                    consider(info, explicit=False)
            elif isinstance(item, keras.layers.Layer):
                matched = [info for info in all_layers if info.layer is item]
                if not matched:
                    raise ValueError(f"Layer {item.name!r} is not part of model {model.name!r}.")
                consider(matched[0], explicit=True)
            else:
                raise TypeError(
                    "layers expects names, glob patterns, layer classes or layer objects. "
                    f"Received: {item!r} of type {type(item).__name__}"
                )
    ordered = tuple(chosen[i] for i in sorted(chosen))
    if not ordered:
        reasons = "; ".join(f"{info.name}: {why}" for info, why in list(skipped.values())[:5])
        wanted = ", ".join(_describe(i) for i in items)
        raise ValueError(f"None of the selected layers ({wanted}) can be logged ({reasons}).")
    left_out = tuple(skipped[i] for i in sorted(skipped) if i not in chosen)
    return Selection(ordered, left_out)


KERNEL_ATTRIBUTES = ("kernel", "depthwise_kernel", "pointwise_kernel")


def _kernel_variables(layer):
    found = {}
    for attr in KERNEL_ATTRIBUTES:
        try:
            variable = getattr(layer, attr, None)
        except (AttributeError, ValueError):
            variable = None  # e.g. an unbuilt layer
        if variable is not None and hasattr(variable, "shape"):
            found[attr] = variable
    return found


def default_layers(model, max_layers=8):
    """The layers to log when none are named: one conv layer per resolution stage.

    Among the conv layers with a 2-D output (nested models included), it
    takes the first one and, for every output resolution, the last one in
    model order: the output of each stage. On Xception that is
    ``block1_conv1``, ``block2_sepconv2``, ``block3_sepconv2``,
    ``block4_sepconv2``, ``block13_sepconv2`` and ``block14_sepconv2``. More
    than ``max_layers`` are thinned evenly, keeping the first and the last.

    Example:
        >>> base = keras.applications.Xception(weights=None, include_top=False)  # doctest: +SKIP
        >>> [info.name for info in default_layers(base)][:2]  # doctest: +SKIP
        ['block1_conv1', 'block2_sepconv2']

    Returns:
        list of :class:`LayerInfo` in model order.

    Raises:
        ValueError: when the model has no conv layer with a 2-D output.
    """
    convs = [
        info for info in walk_layers(model)
        if isinstance(info.layer, CONV_CLASSES) and feature_map_problem(info) is None
    ]
    if not convs:
        raise ValueError(
            f"The default layer choice found no conv layer with a 2-D output in model {model.name!r} "
            f"(classes {[c.__name__ for c in CONV_CLASSES]}); pass layers=... explicitly."
        )
    last_of_size = {_spatial_size(info): info for info in convs}  # later layers overwrite earlier ones
    by_index = {info.index: info for info in (convs[0], *last_of_size.values())}
    chosen = [by_index[index] for index in sorted(by_index)]
    if len(chosen) > max_layers:
        n = len(chosen)
        picks = sorted({round(k * (n - 1) / (max_layers - 1)) for k in range(max_layers)})
        chosen = [chosen[k] for k in picks]
    return chosen


def _spatial_size(info):
    shape = output_shape(info.layer)
    if getattr(info.layer, "data_format", "channels_last") == "channels_first":
        return tuple(shape[2:])
    return tuple(shape[1:-1])


def kernel_shapes(layer):
    """Shapes of the layer's kernels by short name, without copying them.

    Example:
        >>> layer = keras.layers.SeparableConv2D(4, 3)
        >>> layer.build((None, 8, 8, 2))
        >>> kernel_shapes(layer)
        {'depthwise_kernel': (3, 3, 2, 1), 'pointwise_kernel': (1, 1, 2, 4)}
    """
    return {attr: tuple(int(d) for d in v.shape) for attr, v in _kernel_variables(layer).items()}


def kernel_arrays(layer):
    """The layer's kernels as float32 numpy arrays (copies), by short name.

    Example:
        >>> layer = keras.layers.Conv2D(4, 3)
        >>> layer.build((None, 8, 8, 2))
        >>> kernel_arrays(layer)["kernel"].shape
        (3, 3, 2, 4)
    """
    import numpy as np

    arrays = {}
    for attr, variable in _kernel_variables(layer).items():
        value = tensors.variable_array(variable)
        # float16 / bfloat16 kernels: all math runs in float32.
        arrays[attr] = value if value.dtype == np.float32 else value.astype(np.float32)
    return arrays


def describe_structure(model):
    """The model's layers in order, as the JSON-ready structure document.

    See ``docs/format.md`` ("The structure").
    """
    layers = []
    for info in walk_layers(model):
        shape = output_shape(info.layer)
        layers.append({
            "index": info.index,
            "name": info.name,
            "class": info.class_name,
            "path": list(info.path),
            "output_shape": None if shape is None else [None if d is None else int(d) for d in shape],
            "kernel_shapes": {k: list(v) for k, v in kernel_shapes(info.layer).items()},
            "spatial": shape is not None and len(shape) == 4,
            "trainable": bool(info.layer.trainable),
            # Only layers holding weights appear in trainable events: the panel
            # needs this to tell "kept its state" from "has no state".
            "has_weights": bool(info.layer.weights),
            "is_model": info.is_model,
        })
    return {"model": model.name, "layers": layers}
