"""Small CNNs trained in the tests, and the construction that makes their hard case certain.

The networks tell stripes from discs drawn over random noise. Their kernels
start from numpy draws and training doesn't shuffle, so every backend
trains nearly the same network; nothing a test asserts depends on how
training happens to go. What a test relies on is constructed afterwards
(:func:`switch_off_on_grey`): the chosen channels of a layer are made to be
off everywhere on a flat grey picture, as most channels of a trained VGG16
layer are, and on for some training picture. That is the case feature
visualization must handle; it holds by construction on every backend and
whatever versions pip resolves.

Two forms of activation:
- :func:`fused_cnn`: every conv is ``Conv2D(..., activation="relu")`` (the
  ``keras.applications.VGG16`` form), a ``SeparableConv2D`` with one too;
- :func:`separate_cnn`: conv, ``BatchNormalization``, ``Activation("relu")``.
"""

import functools

import numpy as np

import keras

SIZE = 32  # picture side; the models take any size
PICTURES = 1024
GREY = 0.5


def patterns(count, size, seed, noise=0.5):
    """Stripes (label 0) and discs (label 1) in random colours over noise, in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    images = np.empty((count, size, size, 3), np.float32)
    labels = np.arange(count) % 2
    for i in range(count):
        colour = rng.uniform(0.3, 1.0, 3).astype(np.float32)
        if labels[i] == 0:
            angle, period, phase = rng.uniform(0, np.pi), rng.uniform(5, 10), rng.uniform(0, 2 * np.pi)
            mask = np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period + phase) > 0
        else:
            cy, cx = rng.uniform(6, size - 6, 2)
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 < rng.uniform(4, size / 3) ** 2
        amount = rng.uniform(0, noise)
        images[i] = (1 - amount) * mask[..., None] * colour + amount * rng.random((size, size, 3))
    return images, labels


def _numpy_start(model, seed):
    """Glorot-uniform kernels from numpy: the same start on every backend."""
    rng = np.random.default_rng(seed)
    model.set_weights([
        rng.uniform(-1, 1, w.shape).astype(np.float32) * np.sqrt(6 / (np.prod(w.shape[:-1]) + w.shape[-1]))
        if w.ndim > 1 else w for w in model.get_weights()])
    return model


def fused_cnn(width=24):
    """conv1-pool-sep2-pool-conv3-GAP-Dense, every conv with ``activation="relu"``, on inputs in [0, 1]."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.AveragePooling2D(2, name="pool1")(x)
    x = keras.layers.SeparableConv2D(width, 3, padding="same", activation="relu", name="sep2")(x)
    x = keras.layers.AveragePooling2D(2, name="pool2")(x)
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name="conv3")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(2, name="head")(x)
    return _numpy_start(keras.Model(inputs, outputs, name="fused_cnn"), seed=1)


def separate_cnn(width=24):
    """conv-pool-conv-pool-conv-BN-ReLU-GAP-Dense (separate ``Activation("relu")`` layers) on [0, 1]."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.AveragePooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.AveragePooling2D(2, name="pool2")(x)
    x = keras.layers.Conv2D(width, 3, padding="same", name="conv3")(x)
    x = keras.layers.BatchNormalization(name="bn3")(x)
    x = keras.layers.Activation("relu", name="relu3")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(2, name="head")(x)
    return _numpy_start(keras.Model(inputs, outputs, name="patterns_cnn"), seed=1)


def train(model, epochs=4):
    """Fit on the pattern pictures for ``epochs``, without shuffling; returns the final training accuracy.

    Nothing a test asserts depends on the accuracy reached: the property a
    test relies on is constructed afterwards (:func:`switch_off_on_grey`).
    """
    images, labels = patterns(PICTURES, SIZE, 0)
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(images, labels, batch_size=32, epochs=epochs, verbose=0, shuffle=False)
    return history.history["accuracy"][-1]


def _pre_activation_maxima(model, layer, pictures):
    """float64 ``[pictures, channels]``: each picture's largest pre-activation of ``layer``'s channels.

    Computed with the layer's own call, its activation set to linear for
    the time of the call (this test's model, not shared with anything).
    """
    saved = getattr(layer, "activation", None)
    if saved is not None:
        layer.activation = keras.activations.linear
    try:
        probe = keras.Model(model.inputs[0], layer.output)
        out = [keras.ops.convert_to_numpy(probe(pictures[i:i + 64], training=False))
               for i in range(0, len(pictures), 64)]
    finally:
        if saved is not None:
            layer.activation = saved
    return np.concatenate(out).max(axis=(1, 2)).astype(np.float64)


def switch_off_on_grey(model, layer_name, count, bias_name=None):
    """Shift ``count`` channels of ``layer_name`` to be off everywhere on flat grey, on for some picture.

    For channel ``c`` let ``g`` be the largest pre-activation on a flat
    grey picture and ``p`` its largest over the training pictures. The
    channels with the largest ``p - g`` are kept, and their bias (or the
    BatchNormalization ``beta`` feeding a separate ReLU, ``bias_name``'s
    layer) is lowered by ``g + (p - g) / 5``: on grey the channel's largest
    pre-activation is then ``-(p - g) / 5 < 0``, on the best picture
    ``4 (p - g) / 5 > 0``.

    Returns:
        the kept channels, best first (a ValueError if fewer than
        ``count`` have ``p > g``: a construction that can't hold).
    """
    layer = model.get_layer(layer_name)
    source = model.get_layer(bias_name) if bias_name else layer
    pictures = patterns(256, SIZE, 5)[0]
    grey = np.full((1, SIZE, SIZE, 3), GREY, np.float32)
    maxima = _pre_activation_maxima(model, source, np.concatenate([grey, pictures]))
    g, p = maxima[0], maxima[1:].max(axis=0)
    gap = p - g
    channels = [int(c) for c in np.argsort(-gap, kind="stable")[:count]]
    if len(channels) < count or gap[channels].min() <= 0:
        raise ValueError(f"switch_off_on_grey expects {count} channels of {layer_name} that respond more to a "
                         f"picture than to grey. Received: gaps {np.round(gap, 4).tolist()}")
    weights = source.get_weights()
    shifted = "beta" if isinstance(source, keras.layers.BatchNormalization) else "bias"
    index = [i for i, w in enumerate(source.weights) if w.name == shifted][0]
    weights[index] = weights[index] - np.where(np.isin(np.arange(len(gap)), channels), g + gap / 5, 0.0).astype(
        np.float32)
    source.set_weights(weights)
    return channels


#: The layer whose channels each form's fixture switches off on grey, and where its bias is.
TARGETS = {"fused": ("conv3", None), "fused_separable": ("sep2", None), "separate": ("relu3", "bn3")}
_BUILDERS = {"fused": fused_cnn, "fused_separable": fused_cnn, "separate": separate_cnn}


@functools.lru_cache(maxsize=None)
def trained(form, count=16):
    """``(model, layer, channels)``: a trained CNN with ``count`` channels of one layer off on grey.

    ``form``: ``"fused"`` (``conv3``, a ``Conv2D`` with ``activation="relu"``),
    ``"fused_separable"`` (``sep2``, a ``SeparableConv2D`` with one) or
    ``"separate"`` (``relu3``, an ``Activation("relu")`` after ``bn3``,
    whose beta is shifted). One layer per model: a shift changes what the
    layers after it see. Cached per process.
    """
    if form not in TARGETS:
        raise ValueError(f"trained expects form in {sorted(TARGETS)}. Received: {form!r}")
    keras.utils.set_random_seed(0)
    model = _BUILDERS[form]()
    train(model)
    layer, bias_layer = TARGETS[form]
    return model, layer, switch_off_on_grey(model, layer, count, bias_name=bias_layer)
