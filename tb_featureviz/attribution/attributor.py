"""Attribution maps: where in a picture a classifier looks for a class (Grad-CAM and its family).

:func:`attribute` is the one-call form; an :class:`Attributor` keeps the
compiled gradient pass of its model and layer for repeated calls (the
callback keeps one across training; the model's current weights are read
at every call). The model is never cloned or changed.

What is computed, per picture and target class:

- the layer: any layer with a spatial output, by (qualified) name; by
  default the last one before the head, found inside nested models
  (:func:`tb_featureviz.attribution.scores.default_layer`);
- the score: the class logit, before the model's softmax
  (:mod:`tb_featureviz.attribution.scores`);
- the maps: :mod:`tb_featureviz.attribution.methods` on one forward and
  one backward pass per target (:mod:`tb_featureviz.attribution.gradients`);
  Score-CAM (opt in) adds a forward pass per channel, in chunks.

Example:
    >>> result = attribute(model, "cat.png", preprocess=keras.applications.xception.preprocess_input)  # doctest: +SKIP
    >>> result.layer, result.heatmaps.shape  # doctest: +SKIP
    ('xception/block14_sepconv2_act', (1, 1, 10, 10))
"""

import dataclasses

import numpy as np

import keras

from tb_featureviz import arguments
from tb_featureviz.attribution import gradients, methods, scores
from tb_featureviz.attribution import targets as target_lib
from tb_featureviz.featurevis.target import resolve_layer
from tb_featureviz.model import capture, probes
from tb_featureviz.model import layers as layer_lib
from tb_featureviz.model.activations import model_data_format
from tb_featureviz.model.compiled import compile_inference
from tb_featureviz.render import heatmaps

_OWNER = "attribute"

#: Channels per chunk of Score-CAM's masked forward passes, unless told.
SCORE_CAM_CHUNK = 32


@dataclasses.dataclass
class AttributionResult:
    """Attribution maps of ``N`` pictures for ``T`` target classes each.

    Attributes:
        heatmaps: float32 ``[N, T, h, w]``: the raw maps at the layer's
            resolution, before upsampling or normalisation.
        classes: int64 ``[N, T]``: the class each map explains.
        scores: float32 ``[N, T]``: its logit.
        probabilities: float32 ``[N, T]``: its probability.
        logits: float32 ``[N, K]``: every class's logit.
        layer: the qualified name of the layer used.
        class_name: that layer's class.
        method, targets: how the maps were made (``targets`` in words).
        pictures: uint8 ``[N, H, W, 3]``: the pictures as the model saw
            them (resized, before preprocessing), for drawing the maps over.
    """

    heatmaps: np.ndarray
    classes: np.ndarray
    scores: np.ndarray
    probabilities: np.ndarray
    logits: np.ndarray
    layer: str
    class_name: str
    method: str
    targets: str
    pictures: np.ndarray

    def overlays(self, opacity=heatmaps.OPACITY):
        """uint8 ``[N, T, H, W, 3]``: each map upsampled over its picture, coloured from 0 to its maximum."""
        return np.stack([np.stack([
            heatmaps.overlay(picture, heatmap, 0.0, float(heatmap.max()), opacity) for heatmap in maps])
            for picture, maps in zip(self.pictures, self.heatmaps)])


class Attributor:
    """Attribution maps of one model and layer; reusable (the compiled pass is kept).

    Args:
        model: a functional or Sequential classifier with one image input
            and one output of class scores ``[batch, classes]``.
        layer: a layer with a spatial output (name, qualified name, layer
            object or :class:`tb_featureviz.model.layers.LayerInfo`);
            default: the last one before the head.
        preprocess: applied to the float32 batch of pictures before the
            model, e.g. ``keras.applications.xception.preprocess_input``.
        owner: who asks, for error texts.

    Raises:
        TypeError, ValueError: not a Keras model, no classification output,
            an unknown layer or one without a spatial output.
    """

    def __init__(self, model, layer=None, preprocess=None, owner=_OWNER):
        self.owner = owner
        capture.check_model(model, owner)
        arguments.check_preprocess(owner, preprocess)
        self.model = model
        self.head = scores.score_head(model, owner)
        self.info = scores.default_layer(model, owner) if layer is None else resolve_layer(model, layer, owner)
        shape = layer_lib.output_shape(self.info.layer)
        if shape is None or len(shape) != 4:
            raise ValueError(f"{owner} expects a layer with a spatial output (batch, height, width, channels). "
                             f"Received: layer {self.info.name!r} with output shape {shape}")
        self.preprocess = preprocess
        self._format = model_data_format(model, [self.info])
        self._spec = gradients.Pass(model, self.info, self.head)
        self._pass = None
        self._forward = None  # Score-CAM's logits-only pass, compiled when first needed

    @property
    def num_classes(self):
        """The classifier's number of classes."""
        return self.head.num_classes

    def check(self, targets="predicted", labels=None, method="gradcam", num_images=None):
        """Refuse a method or target specification that can't be met (before anything runs)."""
        methods.check_method(method, self.owner)
        target_lib.check_targets(targets, self.num_classes, labels, num_images, self.owner)

    def load(self, images):
        """The checked, resized, preprocessed probe batch of ``images`` (:class:`tb_featureviz.model.probes.Probe`)."""
        return probes.load_probe(images, tuple(self.model.inputs[0].shape), preprocess=self.preprocess,
                                 data_format=self._format)

    def __call__(self, images, *, method="gradcam", targets="predicted", labels=None, chunk=SCORE_CAM_CHUNK,
                 progress=None):
        """The :class:`AttributionResult` of ``images``.

        Args:
            images: picture(s): numpy array HWC/NHWC, PIL image, file path or a list.
            method: ``"gradcam"``, ``"gradcam++"``, ``"layercam"`` or ``"scorecam"``.
            targets: ``"predicted"``, ``"label"`` (with ``labels``), a class
                index or a list of them, or ``"topK"``.
            labels: one class index per picture, for ``targets="label"``.
            chunk: channels per Score-CAM forward pass.
            progress: optional ``progress(done, total)`` after each Score-CAM chunk.
        """
        self.check(targets, labels, method)  # before any picture is read
        probe = self.load(images)
        self.check(targets, labels, method, num_images=len(probe.batch))
        activations, grads, logits, classes = self.capture(probe, targets, labels)
        if method == "scorecam":
            maps = self._score_cam(probe.batch, activations, classes, chunk, progress)
        else:
            maps = methods.GRADIENT_MAPS[method](activations, grads)
        return self.result(maps, logits, classes, method, targets, probe.display)

    def capture(self, probe, targets="predicted", labels=None):
        """One forward and backward pass: ``(activations, gradients, logits, classes)`` as numpy.

        ``predicted`` and top-k targets need the logits first: the classes
        are chosen from the logits of the same forward pass.
        """
        if self._pass is None:
            self._pass = gradients.make_pass(self._spec)
        count = len(probe.batch)
        k = target_lib.top_k(targets) if targets != "predicted" else 1
        if k is not None:
            activations, grads, logits, classes = self._pass.top_k(probe.batch, int(k))
        else:
            classes = target_lib.target_classes(targets, np.zeros((count, self.num_classes)), labels)
            activations, grads, logits = self._pass(probe.batch, classes)
        return activations, grads, logits, np.asarray(classes, np.int64)

    def result(self, maps, logits, classes, method, targets, pictures):
        """The :class:`AttributionResult` of maps computed from a capture."""
        probabilities = self.probabilities(logits)
        return AttributionResult(
            heatmaps=np.asarray(maps, np.float32), classes=classes,
            scores=np.take_along_axis(logits, classes, axis=1).astype(np.float32),
            probabilities=np.take_along_axis(probabilities, classes, axis=1).astype(np.float32),
            logits=logits, layer=self.info.name, class_name=self.info.class_name, method=method,
            targets=target_lib.describe(targets), pictures=pictures)

    def probabilities(self, logits):
        """The model's class probabilities for ``logits`` ``[N, K]`` (its sigmoid, else softmax)."""
        if self.head.squash == "sigmoid":
            return 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))
        return methods.softmax(logits)

    def _score_cam(self, batch, activations, classes, chunk, progress):
        """Score-CAM: each channel's normalised, upsampled map masks the input; one forward pass per channel."""
        chunk = arguments.check_count(self.owner, "chunk", chunk)
        channels_first = self._format == "channels_first"
        images = np.moveaxis(batch, 1, -1) if channels_first else batch  # [N, H, W, c]
        height, width = images.shape[1:3]
        if self._forward is None:
            self._forward = compile_inference(
                self.model, lambda model, x: keras.ops.cast(self._spec.logits(x), "float32"))

        def logits(inputs):
            return self._forward(inputs)[0]

        masks = methods.normalised_masks(activations)  # [N, h, w, C]
        count, total = masks.shape[0], masks.shape[-1]
        baseline = self.probabilities(logits(np.zeros_like(batch)))  # [N, K]
        masked = np.zeros((count, classes.shape[1], total))
        done = 0
        for start in range(0, total, chunk):
            stop = min(total, start + chunk)
            for n in range(count):
                upsampled = heatmaps.upsample(masks[n, ..., start:stop], height, width)  # [H, W, k]
                inputs = (images[n][None] * np.moveaxis(upsampled, -1, 0)[..., None]).astype(np.float32)
                if channels_first:
                    inputs = np.moveaxis(inputs, -1, 1)
                probabilities = self.probabilities(logits(inputs))  # [k, K]
                masked[n, :, start:stop] = probabilities[:, classes[n]].T
            done = stop
            if progress is not None:
                progress(done, total)
        return methods.score_cam(activations, masked, np.take_along_axis(baseline, classes, axis=1))


def attribute(model, images, *, method="gradcam", targets="predicted", layer=None, preprocess=None, labels=None,
              chunk=SCORE_CAM_CHUNK, progress=None):
    """Where ``model`` looks, in each picture, for each target class.

    A one-call form of :class:`Attributor` (see it, and
    :meth:`Attributor.__call__`, for the arguments).

    Example:
        >>> result = attribute(model, pictures, method="gradcam++", targets="top3")  # doctest: +SKIP
        >>> result.heatmaps.shape, result.classes.shape  # doctest: +SKIP
        ((8, 3, 10, 10), (8, 3))

    Returns:
        an :class:`AttributionResult`.
    """
    return Attributor(model, layer, preprocess)(images, method=method, targets=targets, labels=labels,
                                                chunk=chunk, progress=progress)


class AttributorCache:
    """Attributors by (model, layer, preprocessing): the compiled pass is kept between calls.

    Example:
        >>> cache = AttributorCache()  # doctest: +SKIP
        >>> cache.get(model, None, None) is cache.get(model, None, None)  # doctest: +SKIP
        True
    """

    def __init__(self):
        self._attributors = {}

    def get(self, model, layer=None, preprocess=None, owner=_OWNER):
        """The :class:`Attributor` of ``model`` and ``layer`` (made on first use)."""
        key = (id(model), layer if layer is None or isinstance(layer, str) else id(layer), id(preprocess))
        attributor = self._attributors.get(key)
        if attributor is None or attributor.model is not model:
            attributor = self._attributors[key] = Attributor(model, layer, preprocess, owner)
        return attributor
