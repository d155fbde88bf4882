"""What a logged step takes from a Keras model: chosen layers, kernel copies, feature maps.

This is the Keras-facing half of logging (the other half, drawing and
writing, never touches the model). Everything here runs on the thread that
owns the model (the training thread, inside ``fit``) and returns plain
numpy data that later work may use from any thread.

Example:
    >>> maps = FeatureMaps()  # doctest: +SKIP
    >>> feature_maps, probe_jobs = maps.jobs(model, "cat.png", infos)  # doctest: +SKIP
    >>> copies = capture_kernels(select_filter_layers(model).layers)  # doctest: +SKIP
"""

import dataclasses

import keras

from tb_featureviz.render import jobs, kernels
from tb_featureviz.model import layers as layer_lib


@dataclasses.dataclass(frozen=True)
class LayerKernels:
    """A copy of one layer's kernels, and the class whose rule draws them.

    Attributes:
        layer_class: the layer's class (its kernel rule is found by MRO).
        arrays: ``{kernel name: float32 array}``, copies.
        groups: the layer's ``groups`` (1 unless a grouped convolution).
    """

    layer_class: type
    arrays: dict
    groups: int = 1


def check_model(model, owner="FeatureVizLogger", *, feature_maps=True):
    """Refuse what is not a built Keras model (with a graph, when feature maps are wanted).

    Kernels exist once a model is built, whatever its kind; feature maps of
    inner layers need a graph from the input to them, which only functional
    and Sequential models (built on ``keras.Input``) have.

    Raises:
        TypeError: not a ``keras.Model``.
        ValueError: a model that is not built, or (``feature_maps=True``) one
            without a graph, e.g. a subclassed model.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"{owner} expects a keras.Model. Received: {type(model).__name__}")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if inputs:
        return
    if not feature_maps and model.built and model.weights:
        return
    if model.built and model.weights:
        raise ValueError(
            f"{owner} expects a functional or Sequential model (built on keras.Input) for feature maps: "
            f"they are read from the graph between its input and each layer. Received: model {model.name!r} "
            f"of class {type(model).__name__}, which has no such graph (a subclassed model); its filters "
            "can still be logged with log_filters"
        )
    raise ValueError(
        f"{owner} expects a built model with an input (start it with keras.Input). "
        f"Received: model {model.name!r} without inputs"
    )


def filter_problem(info):
    """Why the layer's kernels can't be drawn, or None when they can.

    Example:
        >>> info = layer_lib.walk_layers(model)[0]  # doctest: +SKIP
        >>> filter_problem(info) is None  # doctest: +SKIP
        True
    """
    if info.is_model:
        return "it is a nested model; its own layers are listed separately"
    shapes = layer_lib.kernel_shapes(info.layer)
    if not shapes:
        return "it has no kernel"
    if kernels.rule_for(type(info.layer)) is None:
        return f"no filter drawing rule for class {info.class_name} with kernels {shapes}"
    return None


def _either_problem(info):
    spatial, kernel = layer_lib.feature_map_problem(info), filter_problem(info)
    if spatial is None or kernel is None:
        return None
    return f"{spatial}, and {kernel}"


def select_filter_layers(model, layers=None):
    """Layers whose kernels can be drawn (see :func:`tb_featureviz.model.layers.select_layers`)."""
    return layer_lib.select_layers(model, layers, requirement=filter_problem)


def select_feature_map_layers(model, layers=None):
    """Layers with 2-D feature maps (see :func:`tb_featureviz.model.layers.select_layers`)."""
    return layer_lib.select_layers(model, layers)


@dataclasses.dataclass(frozen=True)
class StepLayers:
    """Layers of a logged step, resolved once for both of its halves.

    Attributes:
        feature_maps: :class:`tb_featureviz.model.layers.LayerInfo` of layers with
            a 2-D output (their activations are logged).
        filters: those with kernels that have a drawing rule.
        skipped: ``(LayerInfo, reason)`` reached by a pattern but loggable
            neither way.
    """

    feature_maps: tuple
    filters: tuple
    skipped: tuple


def select_step_layers(model, layers=None):
    """Resolve ``layers`` for a step: feature maps and kernels in one selection.

    A layer is chosen when it has a 2-D output, kernels with a drawing rule,
    or both. A layer named explicitly that has neither raises.

    Raises:
        ValueError, TypeError: as :func:`tb_featureviz.model.layers.select_layers`.
    """
    selection = layer_lib.select_layers(model, layers, requirement=_either_problem)
    return StepLayers(
        feature_maps=tuple(i for i in selection.layers if layer_lib.feature_map_problem(i) is None),
        filters=tuple(i for i in selection.layers if filter_problem(i) is None),
        skipped=selection.skipped,
    )


def capture_kernels(layer_infos):
    """Copies of the kernels of ``layer_infos``: ``{qualified name: LayerKernels}``.

    Later training does not change the copies. On JAX, read ``model``
    state is synced by Keras before this is called from a callback.
    """
    return {
        info.name: LayerKernels(type(info.layer), layer_lib.kernel_arrays(info.layer), layer_groups(info.layer))
        for info in layer_infos
    }


def layer_groups(layer):
    """The ``groups`` of a grouped convolution, 1 for every other layer."""
    groups = getattr(layer, "groups", 1)
    return groups if isinstance(groups, int) and groups >= 1 else 1


class FeatureMaps:
    """Feature maps of chosen layers for probe images, one forward pass per call.

    Keeps one :class:`tb_featureviz.model.activations.ActivationExtractor` per
    (model, layers), so repeated steps reuse the compiled extractor.

    Args:
        scale, value_range: how activation grids are scaled (see
            :func:`tb_featureviz.render.grids.value_ranges`).
    """

    def __init__(self, scale="channel", value_range=None):
        self.scale = scale
        self.value_range = value_range
        self._extractors = {}

    def jobs(self, model, images, layer_infos, preprocess=None):
        """Grid jobs of the probe images and of every layer's feature maps, uncapped.

        Args:
            model: a built Keras model with one image input.
            images: probe picture(s), see :func:`tb_featureviz.model.probes.load_probe`.
            layer_infos: layers with a 2-D output.
            preprocess: function applied to the float32 batch before the model.

        Returns:
            ``(probe_job, activation_jobs)``: the probe images' job and one
            job per layer, in ``layer_infos`` order.

        Raises:
            ValueError, TypeError, FileNotFoundError: images that don't fit
                the model; checked before the model runs.
        """
        from tb_featureviz.model.activations import ActivationExtractor, model_data_format
        from tb_featureviz.model.probes import load_probe

        layer_infos = tuple(layer_infos)
        probe = load_probe(
            images, tuple(model.inputs[0].shape), preprocess=preprocess,
            data_format=model_data_format(model, layer_infos),
        )
        key = (id(model), tuple(info.name for info in layer_infos))
        extractor = self._extractors.get(key)
        if extractor is None or extractor.model is not model:
            extractor = ActivationExtractor(model, layer_infos)
            self._extractors[key] = extractor
        maps = extractor(probe.batch)
        activation_jobs = [
            jobs.activation_job(info.name, info.class_name, maps[info.name],
                                scale=self.scale, value_range=self.value_range)
            for info in layer_infos
        ]
        return jobs.probe_job(probe.display), activation_jobs


def _effective_trainable(info):
    # Keras 3 passes `trainable` down to sublayers, but a layer is only
    # trained when every enclosing model is trainable too.
    return bool(info.layer.trainable) and all(bool(m.trainable) for m in info.models[1:])


def trainable_state(model):
    """``{qualified name: trainable}`` of every layer (nested ones included) that has weights."""
    return {
        info.name: _effective_trainable(info)
        for info in layer_lib.walk_layers(model)
        if info.layer.weights
    }


class TrainableChanges:
    """Layers that became trainable or frozen since the last look: the ``_events`` documents.

    Example:
        >>> changes = TrainableChanges(model)  # doctest: +SKIP
        >>> base.trainable = True  # doctest: +SKIP
        >>> changes.events(model)  # doctest: +SKIP
        [{'type': 'trainable', 'trainable': ['base', 'base/conv'], 'frozen': []}]
    """

    def __init__(self, model=None):
        self._state = trainable_state(model) if model is not None else {}

    def events(self, model):
        """The change since the last call (or construction) as a list of zero or one event."""
        state = trainable_state(model)
        became = [name for name, now in state.items() if now and not self._state.get(name, False)]
        frozen = [name for name, now in state.items() if not now and self._state.get(name, True)]
        self._state = state
        if not became and not frozen:
            return []
        return [{"type": "trainable", "trainable": became, "frozen": frozen}]


def resolve_step_layers(model, layers, probe_images, preprocess, owner):
    """The callback's :class:`StepLayers` of ``model``, checked against its probe pictures.

    ``layers=None`` picks one conv layer per resolution stage
    (:func:`tb_featureviz.model.layers.default_layers`).

    Raises:
        TypeError, ValueError, FileNotFoundError: a model without a graph,
            unknown layers, probe pictures that don't fit the model.
    """
    from tb_featureviz import defaults
    from tb_featureviz.model.activations import model_data_format
    from tb_featureviz.model.probes import load_probe

    check_model(model, owner)
    chosen = layers
    if chosen is None:
        chosen = [info.layer for info in layer_lib.default_layers(model, defaults.MAX_LAYERS)]
    step_layers = select_step_layers(model, chosen)
    if step_layers.feature_maps:
        try:
            load_probe(probe_images, tuple(model.inputs[0].shape), preprocess=preprocess,
                       data_format=model_data_format(model, step_layers.feature_maps))
        except (ValueError, TypeError, FileNotFoundError) as error:
            raise type(error)(f"{owner}: probe_images don't fit model {model.name!r}: {error}") from error
    return step_layers
