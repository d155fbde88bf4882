"""Command line: ``tb-featureviz demo`` and ``tb-featureviz log``.

    tb-featureviz demo --logdir logs/demo        # fine-tune Xception offline, log everything
    tb-featureviz log model.keras cat.png --logdir logs --step 0
    tensorboard --logdir logs/demo               # then open the "Feature maps" tab

The demo needs no network: its pictures ship inside the package
(``tb_featureviz/data``: a CC0 cat and a public-domain NASA photo). It tries
the real ImageNet weights first and says clearly when it falls back to
random ones (machines without internet can't download them).
"""

import argparse
import os
import sys

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
SAMPLES = {"cat": os.path.join(DATA_DIR, "chelsea.png"), "astronaut": os.path.join(DATA_DIR, "astronaut.png")}


def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load_xception(weights, image_size, out=sys.stdout):
    """Xception without its top, with ``weights`` ("imagenet", "none" or a file path).

    ImageNet weights are fetched the normal Keras way; where that fails (no
    network), the reason is printed and random weights are used instead.

    Returns:
        ``(model, weights_used)``.
    """
    import keras

    shape = (image_size, image_size, 3)
    if weights == "none":
        return keras.applications.Xception(weights=None, include_top=False, input_shape=shape), "none"
    if weights != "imagenet":
        if not os.path.exists(weights):
            raise FileNotFoundError(f"--weights expects 'imagenet', 'none' or a weights file. Received: {weights!r}")
        return keras.applications.Xception(weights=weights, include_top=False, input_shape=shape), weights
    try:
        return keras.applications.Xception(weights="imagenet", include_top=False, input_shape=shape), "imagenet"
    except Exception as error:  # noqa: BLE001 - any download failure means "offline"
        print(
            "Could not load the ImageNet weights for Xception "
            f"({type(error).__name__}: {str(error).splitlines()[0][:400]}).\n"
            "Falling back to random weights (weights=None): the filters will be noise at step 0 "
            "and the feature maps will show an untrained network. Pass --weights PATH to use a "
            "local weights file (e.g. xception_weights_tf_dim_ordering_tf_kernels_notop.h5).",
            file=out,
        )
        return keras.applications.Xception(weights=None, include_top=False, input_shape=shape), "none"


def demo_dataset(image_size, per_class, seed=0):
    """Augmented crops of the two bundled photos: a tiny two-class data set.

    Returns:
        ``(images uint8 [N, S, S, 3], labels int [N])``.
    """
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label, path in enumerate(SAMPLES.values()):
        with Image.open(path) as picture:
            picture = picture.convert("RGB")
            width, height = picture.size
            for _ in range(per_class):
                side = int(min(width, height) * rng.uniform(0.6, 1.0))
                left = int(rng.integers(0, width - side + 1))
                top = int(rng.integers(0, height - side + 1))
                crop = picture.crop((left, top, left + side, top + side)).resize((image_size, image_size))
                if rng.random() < 0.5:
                    crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
                images.append(np.asarray(crop))
                labels.append(label)
    order = rng.permutation(len(images))
    return np.stack(images)[order], np.asarray(labels)[order]


def run_demo(logdir, weights="imagenet", image_size=299, epochs=2, per_class=8, batch_size=8,
             freq=1, out=sys.stdout):
    """Fine-tune Xception on the bundled photos with FeatureVizCallback logging.

    The usual recipe in two ``fit`` calls: the pretrained base frozen (only
    the new head learns), then unfrozen with a small learning rate. Steps
    stay monotonic across both calls, and the run records when the base
    became trainable.

    Returns:
        the path of the run directory written.
    """
    _quiet_tensorflow()
    import keras

    from tb_featureviz import FeatureVizCallback

    keras.utils.set_random_seed(0)
    base, used = load_xception(weights, image_size, out)
    model = keras.Sequential(
        [
            keras.Input((image_size, image_size, 3)),
            keras.layers.Rescaling(1 / 127.5, offset=-1, name="preprocess"),  # Xception's preprocess_input
            base,
            keras.layers.GlobalAveragePooling2D(name="pool"),
            keras.layers.Dense(2, activation="softmax", name="head"),
        ],
        name="xception_finetune",
    )
    images, labels = demo_dataset(image_size, per_class)
    callback = FeatureVizCallback(logdir, probe_images=[SAMPLES["cat"], SAMPLES["astronaut"]], freq=freq)

    print(f"Weights: {used}. Data: {len(images)} crops of 2 bundled photos at {image_size}x{image_size}.", file=out)
    base.trainable = False
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    print("Phase 1: base frozen, training the head.", file=out)
    model.fit(images, labels, batch_size=batch_size, epochs=epochs, callbacks=[callback], verbose=2)
    base.trainable = True
    model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy", metrics=["accuracy"])
    print("Phase 2: base unfrozen, fine-tuning everything.", file=out)
    model.fit(images, labels, batch_size=batch_size, epochs=2 * epochs, initial_epoch=epochs,
              callbacks=[callback], verbose=2)
    run_dir = callback.logger.run_dir if getattr(callback, "logger", None) else os.path.join(logdir, "featureviz")
    print(f"\nWrote {run_dir}\nNow run:  tensorboard --logdir {logdir}\nand open the \"Feature maps\" tab "
          "(add --samples_per_plugin=images=0,featureviz=0 to keep every step).", file=out)
    return run_dir


def run_log(model_path, images, logdir, step, layers, preprocess, out=sys.stdout):
    """Log filters and feature maps of a saved Keras model once."""
    _quiet_tensorflow()
    import keras

    from tb_featureviz import FeatureVizLogger

    model = keras.saving.load_model(model_path, compile=False)
    function = None
    if preprocess:
        module_name, _, attribute = preprocess.rpartition(".")
        import importlib

        function = getattr(importlib.import_module(module_name), attribute)
    with FeatureVizLogger(logdir) as logger:
        records = logger.log_filters(model, step, layers=layers)
        records += logger.log_activations(model, images, step, layers=layers, preprocess=function)
    print(f"Wrote {len(records)} grids ({logger.bytes_written} bytes) to {logger.run_dir}", file=out)
    return records


def build_parser():
    parser = argparse.ArgumentParser(prog="tb-featureviz", description="Filter and feature-map grids in TensorBoard.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="fine-tune Xception on bundled photos and log everything (offline)")
    demo.add_argument("--logdir", default="featureviz-demo-logs", help="TensorBoard log directory")
    demo.add_argument("--weights", default="imagenet", help="'imagenet' (falls back to random offline), 'none' or a file")
    demo.add_argument("--image-size", type=int, default=299, help="input size; Xception needs >= 71")
    demo.add_argument("--epochs", type=int, default=2, help="epochs per phase (frozen, then unfrozen)")
    demo.add_argument("--per-class", type=int, default=8, help="augmented crops per photo")
    demo.add_argument("--freq", type=int, default=1, help="log every N epochs")

    log = commands.add_parser("log", help="log filters and feature maps of a saved .keras model once")
    log.add_argument("model", help="path of a .keras model file")
    log.add_argument("images", nargs="+", help="probe image files")
    log.add_argument("--logdir", required=True)
    log.add_argument("--step", type=int, default=0)
    log.add_argument("--layers", nargs="*", help="names or glob patterns (default: every conv layer)")
    log.add_argument("--preprocess", help="dotted path, e.g. keras.applications.xception.preprocess_input")
    return parser


def _short_warning(message, category, filename, lineno, line=None):
    # A command line user wants the message, not the library line that raised it.
    return f"{category.__name__}: {message}\n"


def main(argv=None):
    import warnings

    args = build_parser().parse_args(argv)
    previous, warnings.formatwarning = warnings.formatwarning, _short_warning
    try:
        if args.command == "demo":
            if args.image_size < 71:
                raise SystemExit(
                    f"tb-featureviz demo expects --image-size >= 71 (Xception's minimum). Received: {args.image_size}"
                )
            run_demo(args.logdir, args.weights, args.image_size, args.epochs, args.per_class, freq=args.freq)
        else:
            run_log(args.model, args.images, args.logdir, args.step, args.layers or None, args.preprocess)
    finally:
        warnings.formatwarning = previous
    return 0


if __name__ == "__main__":
    sys.exit(main())
