"""A plain Keras training script, and the three lines that add tb-featureviz to it.

    python examples/existing_script.py --logdir logs/existing
    tb-featureviz board --logdir logs/existing

Everything here is an ordinary script (a small CNN telling crops of two
photos apart) except the three lines marked ``# tb-featureviz``: an import,
the callback with the picture to watch, and ``callbacks=[viz]`` in ``fit``.
By default the callback logs step 0 and every epoch: the filters and feature
maps of one conv layer per resolution stage, drift from the starting
kernels and channel health.

``--quick``: 32x32 crops, two epochs (seconds, offline).
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from tb_featureviz import FeatureVizCallback  # noqa: E402  # tb-featureviz (1/3)
from tb_featureviz.cli import SAMPLES  # noqa: E402 - the bundled photos
from tb_featureviz.cli.demo import demo_dataset  # noqa: E402 - crops of them, standing in for your data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="logs/existing")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="32 px, two epochs")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.epochs = 32, 2

    keras.utils.set_random_seed(0)
    x, y = demo_dataset(args.size, per_class=32)
    model = keras.Sequential(
        [
            keras.Input((args.size, args.size, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(16, 3, activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu", name="conv3"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    viz = FeatureVizCallback(args.logdir, SAMPLES["cat"])  # tb-featureviz (2/3): the picture to watch
    model.fit(x, y, batch_size=16, epochs=args.epochs, validation_split=0.25, verbose=2,
              callbacks=[viz])  # tb-featureviz (3/3)
    print(f"Wrote {viz.run_dir}. See it:  tb-featureviz board --logdir {args.logdir}")


if __name__ == "__main__":
    main()
