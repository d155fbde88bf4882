"""``tb-featureviz demo``: fine-tune Xception on the bundled photos, logging everything, offline.

    tb-featureviz demo --logdir logs/demo
    tb-featureviz board --logdir logs/demo

The usual fine-tuning recipe in two ``fit`` calls with one
:class:`tb_featureviz.FeatureVizCallback`: the pretrained base frozen (only
the new head learns), then unfrozen with a small learning rate. It needs no
network: its pictures ship inside the package, and it says clearly when the
ImageNet weights can't be downloaded and random ones are used instead.
"""

import os
import time

from tb_featureviz import defaults

from tb_featureviz.cli import backend as backend_lib
from tb_featureviz.cli import models
from tb_featureviz.cli.common import SAMPLES, CommandError, WarningSummary, check_logdir, whole_number

NAME = "demo"

#: Xception's smallest input.
MIN_IMAGE_SIZE = 71

#: The layer whose channels the demo visualises (what they respond to most),
#: its first defaults.FEATURES_CHANNELS channels. The images take the
#: visualizer's default size: 128 px, or the model's input where that is
#: smaller (--quick's 71).
FEATURES_LAYER = "block4_sepconv1"

#: The demo's two classes, in label order (the bundled photos).
CLASS_NAMES = ("cat", "astronaut")

#: Optimisation steps per feature visualization: by default, and with --quick.
#: The demo runs them twice (first and last logged step) on the training
#: thread. Xception's input is fixed at 299 pixels, but its graph up to the
#: layer takes any size, so the 16 images are optimised on 128-pixel
#: canvases: about 0.5 s a step on 2 shared CPU cores (on 299-pixel
#: canvases it was about 8 s). Pass --features-steps 256 or more for
#: clearer images.
FEATURES_STEPS = 64
QUICK_FEATURES_STEPS = 8


positive_int = whole_number(1)
count_type = whole_number(0)


#: One line for ``tb-featureviz --help``; the description heads the subcommand's ``--help``.
HELP = "fine-tune Xception on the bundled photos and log everything (offline)"
DESCRIPTION = ("Fine-tune Xception on two bundled photos (frozen base, then unfrozen) with "
               "FeatureVizCallback logging every epoch.")


def add_arguments(parser):
    parser.add_argument("--logdir", default="featureviz-demo-logs", help="TensorBoard log directory")
    parser.add_argument("--weights", default="imagenet", metavar="imagenet|none|FILE",
                        help="'imagenet' (random where it can't be downloaded), 'none' or a weights file")
    parser.add_argument("--image-size", type=int, default=299, metavar="PIXELS",
                        help=f"input size (default 299; Xception needs >= {MIN_IMAGE_SIZE})")
    parser.add_argument("--epochs", type=positive_int, default=2, help="epochs per phase (frozen, then unfrozen)")
    parser.add_argument("--per-class", type=positive_int, default=8, help="augmented crops per photo")
    parser.add_argument("--freq", type=positive_int, default=1, help="log every N epochs")
    parser.add_argument("--features-steps", type=count_type, default=None, metavar="N",
                        help=f"optimisation steps of the feature visualizations of {FEATURES_LAYER} "
                             f"({defaults.FEATURES_CHANNELS} channels, at the first and last logged step; default "
                             f"{FEATURES_STEPS}); 0 turns them off")
    parser.add_argument("--quick", action="store_true",
                        help=f"a check in seconds: --image-size {MIN_IMAGE_SIZE} --epochs 1 --per-class 2 "
                             f"--features-steps {QUICK_FEATURES_STEPS}, run eagerly")


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


def scheduled_steps(epochs, freq):
    """How many steps with grids the callback logs over the demo's two ``fit`` calls.

    Step 0, every ``freq``-th epoch (counted across both calls), and the last
    step of each call when its last epoch was not one of those.
    """
    count, epoch = 1, 0
    for _call in range(2):
        logged = True
        for _ in range(epochs):
            epoch += 1
            logged = epoch % freq == 0
            count += logged
        count += not logged
    return count


def run_demo(logdir, console, weights="imagenet", image_size=299, epochs=2, per_class=8, batch_size=8, freq=1,
             eager=False, features_steps=FEATURES_STEPS, features_layer=FEATURES_LAYER):
    """Fine-tune Xception on the bundled photos with FeatureVizCallback logging.

    Prints one line per phase and a progress bar over the logged steps.
    With ``features_steps`` > 0 the callback also logs feature
    visualizations of ``features_layer`` (its first 16 channels) at the
    first and the last logged step; 0 turns them off.
    ``eager`` runs ``fit`` without tracing a graph: for a step or two per
    phase, tracing Xception's training graph costs far more (about a
    minute on 2 cores) than it saves.

    Returns:
        the path of the run directory written.
    """
    import keras

    from tb_featureviz import FeatureVizCallback
    from tb_featureviz.names import FEATURES_KIND

    started = time.monotonic()
    keras.utils.set_random_seed(0)
    with console.phase(f"[1/4] Loading Xception ({image_size}x{image_size})"):
        loaded = models.load_application("xception", weights, image_size, note=console.note)
    base = loaded.model
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
    with console.phase(f"[2/4] Making {2 * per_class} augmented crops of the 2 bundled photos"):
        images, labels = demo_dataset(image_size, per_class)

    total = scheduled_steps(epochs, freq)
    features = {}
    if features_steps:
        # The callback counts logged steps and visualises at counts 1,
        # 1 + every, ...: every = total - 1 gives the first and the last.
        features = dict(features_every=max(1, total - 1), features_layers=features_layer,
                        features_channels=defaults.FEATURES_CHANNELS, features_steps=features_steps)
    with WarningSummary(console), console.bar(total, "Logged steps") as bar:

        def on_logged_step(step, records):
            if records:  # a write that only records a trainable change draws no grid
                visualised = any(record["kind"] == FEATURES_KIND for record in records)
                features_note = f" incl. {features_layer}'s feature visualization" if visualised else ""
                bar.advance(detail=f"(step {step}, {len(records)} grids{features_note})")

        # Grad-CAM of both classes at every logged step (one forward and backward pass of the two
        # photos), and the training pictures' dataset examples at the first and the last.
        callback = FeatureVizCallback(logdir, probe_images=[SAMPLES["cat"], SAMPLES["astronaut"]], freq=freq,
                                      on_logged_step=on_logged_step, attribution_every=1, attribution_targets="top2",
                                      class_names=list(CLASS_NAMES), examples_data=images,
                                      examples_every=max(1, total - 1), **features)
        base.trainable = False
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"],
                      run_eagerly=eager)
        console.info(f"[3/4] Fine-tuning phase 1: {loaded.description} frozen, training the head "
                     f"for {epochs} epoch{'s' if epochs != 1 else ''}")
        model.fit(images, labels, batch_size=batch_size, epochs=epochs, callbacks=[callback], verbose=0)
        base.trainable = True
        model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy", metrics=["accuracy"],
                      run_eagerly=eager)
        console.info(f"[4/4] Fine-tuning phase 2: base unfrozen, training everything "
                     f"for {epochs} epoch{'s' if epochs != 1 else ''}")
        history = model.fit(images, labels, batch_size=batch_size, epochs=2 * epochs, initial_epoch=epochs,
                            callbacks=[callback], verbose=0)
    loss, accuracy = history.history["loss"][-1], history.history["accuracy"][-1]
    console.result(
        f"Wrote {callback.run_dir}: {bar.done} logged steps up to step {callback.step}; final loss {loss:.3f}, "
        f"accuracy {accuracy:.2f} ({time.monotonic() - started:.0f} s)"
    )
    console.result(f"Now run:  tb-featureviz board --logdir {logdir}")
    console.result("and open the Feature maps tab at the URL it prints (it ends in #featureviz).")
    return callback.run_dir


def run(args, console):
    if args.quick:
        args.image_size, args.epochs, args.per_class = MIN_IMAGE_SIZE, 1, 2
    if args.features_steps is None:
        args.features_steps = QUICK_FEATURES_STEPS if args.quick else FEATURES_STEPS
    if args.image_size < MIN_IMAGE_SIZE:
        raise CommandError(
            f"--image-size expects an int >= {MIN_IMAGE_SIZE} (Xception's minimum). Received: {args.image_size}"
        )
    if args.weights not in ("imagenet", "none") and not os.path.isfile(args.weights):
        raise CommandError(
            f"--weights expects 'imagenet', 'none' or an existing weights file. Received: {args.weights!r}, "
            "which is not a file"
        )
    check_logdir(args.logdir)
    choice = backend_lib.choose_backend(args.backend)
    if choice.note:
        console.note(choice.note)
    backend_lib.import_keras(choice, debug=args.debug)
    run_demo(args.logdir, console, args.weights, args.image_size, args.epochs, args.per_class, freq=args.freq,
             eager=args.quick, features_steps=args.features_steps)
    return 0
