"""Small Keras models for tests (built here, never downloaded)."""

import numpy as np


def small_cnn(seed=0):
    """Conv2D(3->4) -> ReLU -> SeparableConv2D(4->6) -> DepthwiseConv2D -> Conv2D 1x1 -> GAP -> Dense."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv1")(inputs)
    x = keras.layers.Activation("relu", name="relu1")(x)
    x = keras.layers.SeparableConv2D(6, 3, name="sep2")(x)
    x = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw3")(x)
    x = keras.layers.Conv2D(5, 1, name="point4")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(2, name="head")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


def nested_cnn(seed=0, input_size=16):
    """The fine-tuning shape: Sequential([Input, Rescaling, base, GAP, Dense])."""
    import keras

    keras.utils.set_random_seed(seed)
    base_in = keras.Input((input_size, input_size, 3))
    y = keras.layers.Conv2D(4, 3, name="block1_conv1")(base_in)
    y = keras.layers.Activation("relu", name="block1_act")(y)
    y = keras.layers.SeparableConv2D(6, 3, name="block2_sepconv1")(y)
    base = keras.Model(base_in, y, name="base")
    return keras.Sequential(
        [
            keras.Input((input_size, input_size, 3)),
            keras.layers.Rescaling(1 / 127.5, offset=-1, name="rescale"),
            base,
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(2, name="head"),
        ],
        name="finetune",
    )


def gradient_image(height=16, width=16):
    """A deterministic uint8 RGB picture."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) % 256], -1).astype(np.uint8)
