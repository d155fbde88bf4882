"""FeatureVizLogger in your own training loop (TensorFlow's ``tf.GradientTape``).

    python examples/custom_training_loop.py --logdir logs/loop
    tb-featureviz board --logdir logs/loop

Where there is no ``model.fit`` there is no callback: call the logger
yourself. Before training, :meth:`~tb_featureviz.FeatureVizLogger.snapshot_kernels`
keeps the starting kernels; every ``--every`` steps,
:meth:`~tb_featureviz.FeatureVizLogger.log_step` writes the feature maps of
the probe picture, the filters, how far they drifted from the start, and
channel health, in one call. :meth:`~tb_featureviz.FeatureVizLogger.log_scalar`
puts the loss beside them. The logger writes through its own event file,
never TensorFlow's default summary writer.

The model learns to tell crops of the two bundled photos apart (a cat and an
astronaut). ``--quick``: 32x32 crops, 6 steps (seconds, offline).
"""

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # tf.GradientTape needs the TensorFlow backend
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from tb_featureviz import FeatureVizLogger  # noqa: E402
from tb_featureviz.cli import SAMPLES  # noqa: E402 - the bundled photos
from tb_featureviz.cli.demo import demo_dataset  # noqa: E402 - crops of them, standing in for your data


def small_cnn(size):
    return keras.Sequential(
        [
            keras.Input((size, size, 3)),
            keras.layers.Rescaling(1 / 255, name="scale"),
            keras.layers.Conv2D(16, 3, activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(name="pool1"),
            keras.layers.Conv2D(32, 3, activation="relu", name="conv2"),
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(2, name="logits"),
        ],
        name="small_cnn",
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="logs/loop")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--every", type=int, default=20, help="log every N steps")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="32 px, 6 steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.steps, args.every, args.batch_size = 32, 6, 3, 8

    keras.utils.set_random_seed(0)
    images, labels = demo_dataset(args.size, per_class=4 * args.batch_size)
    data = tf.data.Dataset.from_tensor_slices((images.astype("float32"), labels)).shuffle(len(images)).repeat()
    batches = iter(data.batch(args.batch_size))
    model = small_cnn(args.size)
    optimizer = keras.optimizers.Adam(1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    probe = SAMPLES["cat"]  # any picture: a path, a PIL image or an array; resized to the model's input
    with FeatureVizLogger(args.logdir, run="custom_loop", max_channels=64) as logger:
        start = logger.snapshot_kernels(model)  # drift is measured against these
        logger.log_step(model, probe, step=0, initial=start)
        for step in range(1, args.steps + 1):
            x, y = next(batches)
            loss = float(train_step(x, y))
            if step % args.every == 0 or step == args.steps:
                logger.log_step(model, probe, step, initial=start)
                logger.log_scalar("loss", loss, step)
                print(f"step {step}: loss {loss:.3f}, logged")
    print(f"Wrote {logger.run_dir}. See it:  tb-featureviz board --logdir {args.logdir}")


if __name__ == "__main__":
    main()
