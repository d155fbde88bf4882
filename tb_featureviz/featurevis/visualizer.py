"""Feature visualization: the image that makes a layer's channel respond most.

For a layer and a list of channels, :class:`FeatureVisualizer` optimises
one image per channel, all channels in one batch (sample ``i`` optimises
channel ``i``; the objective returns a value per sample and its sum is
maximised, so samples don't interact). The recipe lives in its own
modules: the image (:mod:`.parametrization`), the random transform of each
optimisation step (:mod:`.transforms`), the objectives (:mod:`.objectives`),
the quality figures (:mod:`.quality`); this module builds the model
truncated at the layer and runs the compiled optimiser of the backend
(:mod:`.optimiser`).

The truncated model goes from the model's inputs to the layer's output,
as :class:`tb_featureviz.model.activations.ActivationExtractor` builds it: the
outer layers in front of a nested base model (preprocessing) are part of
the graph. It runs in inference mode; the model's weights and trainable
flags are never changed. Results are deterministic given ``seed``, and a
channel's image does not depend on the other channels in its batch. For a
layer whose activation clips (a ``ReLU`` layer, or ``Conv2D(...,
activation="relu")``) the model is cut at the layer's input and the
activation applied in the objective, so that a channel that is off
everywhere on the grey start still gets a gradient
(:func:`tb_featureviz.featurevis.target.redirected_objective`); a channel
that stays off all the same is reported dead (:meth:`FeatureVisResult.quality`).

Example:
    >>> result = visualize_features(model, "block4_sepconv1", range(16), steps=100)  # doctest: +SKIP
    >>> result.images.shape, result.quality()["ratio"][0] > 1  # doctest: +SKIP
    ((16, 128, 128, 3), True)
    >>> job = features_job(result)  # draw and write it like any other grid  # doctest: +SKIP
"""

import dataclasses

import numpy as np

import keras

from tb_featureviz import arguments, defaults, jsontext
from tb_featureviz.featurevis import objectives, optimiser, parametrization, quality, target
from tb_featureviz.featurevis import transforms as transform_lib
from tb_featureviz.names import FEATURES_KIND as KIND  # the record kind: metadata owns kind names
from tb_featureviz.model import activations, capture
from tb_featureviz.model import layers as layer_lib
from tb_featureviz.render import jobs

_OWNER = "visualize_features"


@dataclasses.dataclass
class FeatureVisResult:
    """Optimised images of some channels of one layer, and how well they worked.

    Attributes:
        layer: qualified layer name; class_name: the layer's class.
        objective: ``"channel"``, ``"neuron"`` or ``"direction"``.
        channels: the channel (or direction label) of each image.
        total_channels: the layer's output channels.
        images: uint8 ``[C, size, size, 3]`` RGB.
        history: float32 ``[steps, C]``: each step's objective (on that
            step's transformed canvas).
        objective_values: float ``[C]``: objective on the final image, as
            drawn (uint8), centred on the canvas, untransformed.
        noise_values: float ``[C]``: the same on a random-noise image of the
            same size (:func:`tb_featureviz.featurevis.quality.noise_image`).
        steps, size, canvas, seed, learning_rate: how it was made.
        redirected: True where the layer's activation clips and its input
            was optimised through it (see :mod:`tb_featureviz.featurevis.target`).
    """

    layer: str
    class_name: str
    objective: str
    channels: list
    total_channels: int
    images: np.ndarray
    history: np.ndarray
    objective_values: np.ndarray
    noise_values: np.ndarray
    steps: int
    size: int
    canvas: int
    seed: int
    learning_rate: float
    redirected: bool = False

    def stayed_off(self):
        """bool ``[C]``: channels whose clipping activation stayed at 0 on every step and on the result.

        Only where :attr:`redirected`: the optimiser pushed the
        activation's input up all along, and it never crossed the clip.
        """
        if not self.redirected:
            return np.zeros(len(self.channels), bool)
        return (np.max(self.history, axis=0) <= 0) & (np.asarray(self.objective_values) <= 0)

    def quality(self):
        """``{"objective", "noise_objective", "ratio", "status"}``, one entry per channel.

        Finite floats and a status word per channel (see
        :func:`tb_featureviz.featurevis.quality.quality_figures`).
        """
        return quality.quality_figures(self.objective_values, self.noise_values, dead=self.stayed_off())


def features_job(result):
    """The :class:`tb_featureviz.render.jobs.GridJob` drawing ``result``: one RGB tile per channel.

    Kind ``features``, layout ``tiles``, fixed scale 0..255, so each
    record's ``lo``/``hi`` are 0 and 255 and the PNG shows the images as
    they are. The record adds ``quality`` (:func:`quality_record`) and
    ``optimisation`` (objective, steps, size, canvas, seed, learning rate).
    """
    return jobs.GridJob(
        layer=result.layer, class_name=result.class_name, kind=KIND, layout="tiles",
        samples=[result.images], channels=[int(c) for c in result.channels],
        total_channels=int(result.total_channels), source_shape=tuple(result.images.shape),
        scale="fixed", value_range=(0.0, 255.0),
        record_extra={
            "quality": quality_record(result),
            "optimisation": {"objective": result.objective, "steps": result.steps, "size": result.size,
                             "canvas": result.canvas, "seed": result.seed, "learning_rate": result.learning_rate},
        },
    )


def quality_record(result, digits=6):
    """The quality figures as JSON-ready lists (numbers rounded), for a record."""
    return {name: values if name == "status" else jsontext.rounded_floats(values, digits)
            for name, values in result.quality().items()}


class FeatureVisualizer:
    """Optimises images for channels of one layer; reusable (the compiled step is kept).

    Building one truncates the model at the layer; :meth:`run` compiles the
    step for a batch size on first use and reuses it for later calls (the
    model's current weights are read at every call, so the callback can
    keep one visualizer across training).

    Args:
        model: a built Keras model with one image input.
        layer: a layer name (qualified or plain), layer object or
            :class:`tb_featureviz.model.layers.LayerInfo`; its output is 4-D.
        size: side of the optimised image (default 128, or a fixed model
            input size below that). The model sees it on a canvas of the
            same size: a model with a fixed input size is run size-free up
            to the layer where its graph allows
            (:meth:`tb_featureviz.model.activations.ActivationExtractor.size_free_model`);
            otherwise the canvas is the model's input size and the image
            is centred on it.
        objective: ``"channel"`` (mean of the channel), ``"neuron"`` (the
            channel at the centre position) or ``"direction"``.
        input_range: ``(lo, hi)`` the model's input expects; the image in
            [0, 1] is mapped linearly onto it. Default ``(0, 255)``, for a
            model that preprocesses its input itself.
        preprocess: optional function applied to the canvas (in
            ``input_range``, channels last) inside the step; it must work on
            the backend's tensors (``keras.ops``).

    Raises:
        TypeError / ValueError: not a Keras model, not one image input, an
        unknown layer or objective, a layer without 4-D output, a size that
        does not fit a fixed input.
    """

    def __init__(self, model, layer, *, size=None, objective="channel", input_range=(0.0, 255.0),
                 preprocess=None):
        capture.check_model(model, _OWNER)
        objectives.check_objective(objective)
        self.model = model
        self.info = target.resolve_layer(model, layer, _OWNER)
        self.objective = objective
        out_shape = layer_lib.output_shape(self.info.layer)
        if out_shape is None or len(out_shape) != 4:
            raise ValueError(f"{_OWNER} expects a layer with a 4-D output. Received: layer "
                             f"{self.info.name!r} with output shape {out_shape}")
        self._format = activations.model_data_format(model, [self.info])
        fixed = self._fixed_side(target.image_input_shape(model, _OWNER))
        #: For a layer whose activation clips: the model is cut at the
        #: layer's input, the truncated model ends in the pre-activation and
        #: the objective applies the activation (see
        #: :func:`tb_featureviz.featurevis.target.redirected_objective`).
        self.redirect = target.redirect_for(self.info, _OWNER)
        # From the model's inputs to the layer, outer layers in front of a
        # nested base included.
        extractor = activations.ActivationExtractor(model, [self.info], layer_inputs=self.redirect is not None)
        self.truncated = self._cut(extractor.keras_model)
        #: True when a model with a fixed input size is optimised on a canvas
        #: of the image's own size (its graph up to the layer takes any size):
        #: Xception's 299 pixels cost 5.5 times a 128-pixel canvas.
        self.size_free = False
        size = arguments.check_count(_OWNER, "size", size, allow_none=True, minimum=2)
        size = size if size is not None else min(defaults.FEATURES_SIZE, fixed or defaults.FEATURES_SIZE)
        if fixed is not None and size != fixed:
            free = extractor.size_free_model(size)
            if free is not None:
                self.truncated, self.size_free, fixed = self._cut(free), True, None
        if fixed is not None and size > fixed:
            raise ValueError(f"{_OWNER} expects 2 <= size <= {fixed or 'any'}"
                             f"{' (the model input size)' if fixed else ''}. Received: size={size}")
        self.size = size
        self.canvas = transform_lib.canvas_size(size, fixed)
        self.param = parametrization.parametrization(size, size)
        lo, hi = (float(v) for v in input_range)
        self.input_range = (lo, hi)
        self._preprocess = preprocess
        self.total_channels = int(out_shape[1] if self._format == "channels_first" else out_shape[-1])
        self._native_transform = keras.backend.backend() == "tensorflow"
        self._optimisers = {}

    def _cut(self, model):
        """``model`` (inputs to the layer's input, or output), ended by the pre-activation where redirected."""
        if self.redirect is None:
            return model
        return keras.Model(model.inputs[0], self.redirect.layer(self.info)(model.outputs[0]),
                           name="featureviz_pre_activation")

    def _fixed_side(self, input_shape):
        """The model's fixed input side, or None where height and width are free."""
        spatial = input_shape[2:] if self._format == "channels_first" else input_shape[1:3]
        if None in spatial:
            return None
        if spatial[0] != spatial[1]:
            raise ValueError(f"{_OWNER} expects a square or size-free model input. Received: {input_shape}")
        return int(spatial[0])

    def forward(self, canvas, call=None):
        """Layer activations ``[B, h, w, C]`` float32 of canvases in [0, 1] (channels last).

        ``call`` runs the truncated model (default: call it in inference
        mode); the JAX step passes a stateless call.
        """
        ops = keras.ops
        lo, hi = self.input_range
        x = canvas * (hi - lo) + lo
        if self._preprocess is not None:
            x = self._preprocess(x)
        if self._format == "channels_first":
            x = ops.transpose(x, (0, 3, 1, 2))
        out = (call or (lambda t: self.truncated(t, training=False)))(x)
        if isinstance(out, (list, tuple)):
            out = out[0]
        out = ops.cast(out, "float32")
        if self._format == "channels_first":
            out = ops.transpose(out, (0, 2, 3, 1))
        return out

    def pad(self, images):
        """Images ``[B, size, size, 3]`` on the canvas, untransformed (graph code)."""
        before, after = transform_lib.canvas_padding(self.size, self.canvas)
        if before == after == 0:
            return images
        return keras.ops.pad(images, ((0, 0), (before, after), (before, after), (0, 0)),
                             constant_values=transform_lib.FILL)

    def transform_inputs(self, affine):
        """What :meth:`transform` takes for ``affine`` maps ``[..., 2, 3]`` (numpy).

        TensorFlow runs the transform as its native op
        (``keras.ops.image.affine_transform``, 8-vectors): the gather of
        :func:`tb_featureviz.featurevis.transforms.sample_canvas` has a scatter
        for gradient, several times the cost of the op on TensorFlow's CPU.
        JAX and torch run that gather itself (the maps as they are): Keras'
        JAX affine transform costs several times more there.
        """
        if self._native_transform:
            return transform_lib.projective_transforms(affine, self.size, self.canvas)
        return np.asarray(affine, np.float32)

    def transform(self, images, transforms):
        """Canvases of ``images`` seen through ``transforms`` (graph code).

        The values of :func:`tb_featureviz.featurevis.transforms.sample_canvas`
        on every backend; ``transforms`` come from :meth:`transform_inputs`.
        On TensorFlow the op's registered gradient maps the gradient back
        by the inverse transform, as Lucid's rotate did; JAX and torch
        differentiate the sampling exactly.
        """
        if not self._native_transform:
            return transform_lib.sample_canvas(images, transforms, self.canvas, ops=keras.ops)
        return keras.ops.image.affine_transform(
            self.pad(images), transforms, interpolation="bilinear", fill_mode="constant",
            fill_value=transform_lib.FILL, data_format="channels_last")

    def objective_of(self, spectrum, transforms, vectors, call=None):
        """Per-sample objective ``[B]`` of spectra seen through ``transforms`` (graph code)."""
        ops = keras.ops
        acts = self.forward(self.transform(parametrization.spectrum_to_image(spectrum, self.param, ops=ops), transforms), call)
        if self.redirect is not None:
            return target.redirected_objective(acts, self.redirect.activation, self.objective, vectors)
        return objectives.objective_values(acts, self.objective, vectors, ops=ops)

    def image_objective(self, images, vectors, call=None):
        """Per-sample objective ``[B]`` of images ``[B, size, size, 3]`` in [0, 1], centred."""
        acts = self.forward(self.pad(images), call)
        if self.redirect is not None:
            acts = self.redirect.activation(acts)
        return objectives.objective_values(acts, self.objective, vectors, ops=keras.ops)

    def run(self, channels=None, *, steps=defaults.FEATURES_STEPS, seed=0, learning_rate=optimiser.LEARNING_RATE,
            directions=None, batch_size=None, progress=None):
        """Optimise one image per channel; returns a :class:`FeatureVisResult`.

        Args:
            channels: channel indices (default: all); for
                ``objective="direction"``, labels of the rows of
                ``directions`` (default ``0..N-1``). A label also keys the
                sample's random draws.
            steps: optimisation steps (Lucid: 512 at 128 px).
            seed: a non-negative int; same seed, same images.
            learning_rate: Adam's learning rate.
            directions: ``[N, total_channels]`` for ``objective="direction"``.
            batch_size: channels per batch (default: all in one batch).
            progress: optional ``progress(done, total)`` called after every
                step (``total`` is ``steps`` times the number of batches).
        """
        if channels is None:
            count = len(directions) if self.objective == "direction" and directions is not None else self.total_channels
            channels = range(count)
        channels = [int(c) for c in channels]
        if not channels:
            raise ValueError(f"{_OWNER} expects at least one channel. Received: channels=[]")
        steps = arguments.check_count(_OWNER, "steps", steps)
        seed = arguments.check_count(_OWNER, "seed", seed, minimum=0)
        vectors = objectives.objective_vectors(self.objective, channels, self.total_channels, directions)
        batch = len(channels) if batch_size is None else max(1, int(batch_size))
        starts = list(range(0, len(channels), batch))
        done = [0]
        total = steps * len(starts)

        def tick():
            done[0] += 1
            if progress is not None:
                progress(done[0], total)

        parts = [self._run_batch(channels[s:s + batch], vectors[s:s + batch], steps, seed,
                                 float(learning_rate), tick) for s in starts]
        images = np.concatenate([p[0] for p in parts])
        return FeatureVisResult(
            layer=self.info.name, class_name=self.info.class_name, objective=self.objective,
            channels=channels, total_channels=self.total_channels, images=images,
            history=np.concatenate([p[1] for p in parts], axis=1),
            objective_values=np.concatenate([p[2] for p in parts]),
            noise_values=np.concatenate([p[3] for p in parts]),
            steps=int(steps), size=self.size, canvas=self.canvas, seed=int(seed),
            learning_rate=float(learning_rate), redirected=self.redirect is not None,
        )

    def _run_batch(self, keys, vectors, steps, seed, learning_rate, tick):
        count = len(keys)
        update = self._optimisers.get(count)
        if update is None:
            update = self._optimisers[count] = optimiser.make_optimiser(self)
        spectrum = np.stack([parametrization.initial_spectrum(seed, key, self.param) for key in keys])
        transforms = np.stack([self.transform_inputs(transform_lib.affine_from_draws(
            transform_lib.random_draws(seed, key, steps), self.size, self.canvas)) for key in keys], axis=1)
        final, history = update.optimise(spectrum, transforms, vectors, learning_rate, tick)
        images = parametrization.to_uint8(parametrization.spectrum_to_image(final, self.param))
        noise = np.stack([quality.noise_image(seed, key, self.size) for key in keys])
        values = update.evaluate(np.concatenate([images.astype(np.float32) / 255.0, noise]),
                               np.concatenate([vectors, vectors]))
        return images, history, values[:count], values[count:]


def visualize_features(model, layer, channels=None, *, objective="channel", directions=None,
                       steps=defaults.FEATURES_STEPS, size=None, learning_rate=optimiser.LEARNING_RATE, seed=0,
                       input_range=(0.0, 255.0), preprocess=None, batch_size=None, progress=None):
    """Optimise one image per channel of ``layer``, all channels in one batch.

    A one-call form of :class:`FeatureVisualizer` (see it, and
    :meth:`FeatureVisualizer.run`, for the arguments).

    Example:
        >>> result = visualize_features(model, "conv2", [0, 3], steps=64, size=32)  # doctest: +SKIP
        >>> result.images.dtype, result.images.shape  # doctest: +SKIP
        (dtype('uint8'), (2, 32, 32, 3))

    Returns:
        a :class:`FeatureVisResult`.
    """
    visualizer = FeatureVisualizer(model, layer, size=size, objective=objective, input_range=input_range,
                                   preprocess=preprocess)
    return visualizer.run(channels, steps=steps, seed=seed, learning_rate=learning_rate,
                          directions=directions, batch_size=batch_size, progress=progress)
