"""Fine-tune Xception and watch its filters and feature maps change: the frozen-then-unfrozen recipe.

    python examples/finetune_xception.py --logdir logs/finetune
    python examples/finetune_xception.py --data my_photos/ --logdir logs/mine   # one folder per class
    tb-featureviz board --logdir logs/finetune                                  # the Feature maps tab

The transfer-learning recipe of the Keras guide, in two ``fit`` calls that
share one FeatureVizCallback:

1. Xception's ImageNet base frozen; only the new head learns (lr 1e-3).
2. The base unfrozen and everything fine-tuned with a small learning rate
   (1e-5). The base stays in inference mode (``training=False``) so that its
   BatchNormalization statistics are kept.

The callback logs step 0 (the pretrained filters), every epoch, and the end
of each ``fit``; its steps keep growing across both calls, it records when
the base became trainable, and its drift scalars compare every logged layer
with the pretrained kernels. Without ``--data``, the classes are crops of
the two photos that ship with tb-featureviz (a cat and an astronaut).

``--quick`` (under a minute on a laptop CPU, offline): 71x71 pictures, two
crops per photo, one epoch per phase, eager execution (for one step per
phase, tracing Xception's training graph costs far more than it saves).
Offline, ImageNet weights can't be downloaded and random ones are used,
as the first line says.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from tb_featureviz import FeatureVizCallback  # noqa: E402
from tb_featureviz.cli import SAMPLES  # noqa: E402 - the bundled photos
from tb_featureviz.cli.demo import demo_dataset  # noqa: E402 - crops of them, standing in for your data


def load_base(size):
    """Xception without its top, with ImageNet weights where they can be downloaded."""
    try:
        return keras.applications.Xception(weights="imagenet", include_top=False, input_shape=(size, size, 3))
    except Exception as error:  # noqa: BLE001 - no network: say so, go on with random weights
        print(f"No ImageNet weights ({type(error).__name__}); using random weights (weights=None).")
        return keras.applications.Xception(weights=None, include_top=False, input_shape=(size, size, 3))


def training_data(args):
    """``(dataset or arrays, class count)``."""
    if args.data:
        data = keras.utils.image_dataset_from_directory(args.data, image_size=(args.size, args.size),
                                                        batch_size=args.batch_size)
        return (data, None), len(data.class_names)
    images, labels = demo_dataset(args.size, args.per_class)
    return (images, labels), 2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="logs/finetune")
    parser.add_argument("--data", help="a folder with one subfolder of pictures per class")
    parser.add_argument("--probe", default=SAMPLES["cat"], help="the picture whose feature maps are logged")
    parser.add_argument("--size", type=int, default=299)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per phase")
    parser.add_argument("--per-class", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="71 px, tiny data, one epoch per phase")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.epochs, args.per_class = 71, 1, 2

    keras.utils.set_random_seed(0)
    (x, y), classes = training_data(args)
    base = load_base(args.size)
    inputs = keras.Input((args.size, args.size, 3))
    features = keras.layers.Rescaling(1 / 127.5, offset=-1, name="preprocess")(inputs)  # Xception's preprocess_input
    features = base(features, training=False)  # BatchNormalization stays in inference mode, even unfrozen
    features = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    features = keras.layers.Dropout(0.2, name="dropout")(features)
    outputs = keras.layers.Dense(classes, activation="softmax", name="head")(features)
    model = keras.Model(inputs, outputs, name="finetune_xception")

    # The model holds its own preprocessing, so the probe picture goes in as it is.
    viz = FeatureVizCallback(args.logdir, args.probe)

    base.trainable = False
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"],
                  run_eagerly=args.quick)
    model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, callbacks=[viz], verbose=2)

    base.trainable = True
    model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy", metrics=["accuracy"],
                  run_eagerly=args.quick)
    model.fit(x, y, batch_size=args.batch_size, epochs=2 * args.epochs, initial_epoch=args.epochs,
              callbacks=[viz], verbose=2)

    print(f"Wrote {viz.run_dir} (last step {viz.step}). See it:  tb-featureviz board --logdir {args.logdir}")


if __name__ == "__main__":
    main()
