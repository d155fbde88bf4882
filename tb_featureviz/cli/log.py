"""``tb-featureviz log``: filters and feature maps of any model, once, at one step.

    tb-featureviz log --logdir logs                          # Xception, the bundled cat
    tb-featureviz log dog.jpg --model resnet50 --logdir logs --step 3
    tb-featureviz log --sample astronaut --model my_model.keras --logdir logs --layers 'block1*'

Writes what :meth:`tb_featureviz.FeatureVizLogger.log_step` writes (feature
maps of the probe images, kernels, channel health) into ``<logdir>/<run>``.
The old form ``tb-featureviz log MODEL.keras IMAGE ... --logdir DIR`` still
works, with a note.
"""

import argparse
import os
import time

from tb_featureviz import defaults

from tb_featureviz.cli import models
from tb_featureviz.cli.common import (
    SAMPLES, CommandError, WarningSummary, add_logdir, check_image_files, check_logdir, size_text, whole_number,
)

NAME = "log"

MAX_STEP = 2**63 - 1


def step_type(text):
    """An argparse type: a step, an int in ``0 .. 2**63 - 1``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects an int >= 0. Received: {text!r}") from None
    if not 0 <= value <= MAX_STEP:
        bound = ">= 0" if value < 0 else f"<= {MAX_STEP} (TensorBoard stores steps as int64)"
        raise argparse.ArgumentTypeError(f"expects an int {bound}. Received: {value}")
    return value


def channels_type(text):
    """An argparse type: an int >= 1, or ``all`` (None)."""
    if text.lower() == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"expects an int >= 1 or 'all'. Received: {text!r}")
    return value


#: An argparse type: an image size, an int >= 1.
size_type = whole_number(1, " (pixels)")


#: One line for ``tb-featureviz --help``; the description heads the subcommand's ``--help``.
HELP = "log filters and feature maps of a model once (Xception and the cat by default)"
DESCRIPTION = "Log the filters and feature maps of a model for probe images, at one step."
EPILOG = "Put IMAGE arguments before --layers, or end the layer list with --."


def add_arguments(parser):
    parser.add_argument("images", nargs="*", metavar="IMAGE",
                        help="probe image files (default: the bundled cat, unless --sample is given)")
    add_logdir(parser)
    parser.add_argument("--model", metavar="NAME_OR_PATH",
                        help="a saved model (.keras, .h5) or a keras.applications name (default: xception)")
    parser.add_argument("--sample", action="append", choices=sorted(SAMPLES),
                        help="a bundled photo as probe image; repeat for both")
    parser.add_argument("--layers", nargs="+", metavar="LAYER",
                        help="names or glob patterns, e.g. 'block1*' (default: every conv layer)")
    parser.add_argument("--step", type=step_type, default=0, help="the step to log at (default 0)")
    parser.add_argument("--run", default="featureviz", help="run folder inside --logdir (default featureviz)")
    parser.add_argument("--max-channels", type=channels_type, default=defaults.MAX_CHANNELS, metavar="N|all",
                        help=f"channels drawn per layer, the first ones (default {defaults.MAX_CHANNELS})")
    models.add_application_arguments(parser)
    parser.add_argument("--preprocess", metavar="DOTTED.PATH",
                        help="function applied to the images, e.g. keras.applications.xception.preprocess_input "
                             "(default: the application's own; none for a model file; 'none' for none)")


def check_run_name(run):
    if not run or "/" in run or os.sep in run or run in (".", ".."):
        raise CommandError(f"--run expects a folder name (no '/', not '.' or '..'). Received: {run!r}")


def probe_paths(args, console):
    """``(model value, image paths)`` from the arguments, the old positional model included."""
    images = list(args.images)
    model = args.model
    if images and images[0].lower().endswith(models.MODEL_SUFFIXES):
        if model is not None:
            raise CommandError(
                f"IMAGE expects image files. Received: {images[0]!r}, a model file (the model is --model {model!r})"
            )
        model = images.pop(0)
        console.note(f"'log MODEL IMAGE ...' is the old form; write 'log IMAGE ... --model {model}'")
    images += [SAMPLES[name] for name in args.sample or ()]
    if not images:
        images = [SAMPLES["cat"]]
    return model or "xception", images


def run(args, console):
    started = time.monotonic()
    model_value, images = probe_paths(args, console)
    check_run_name(args.run)
    check_image_files(images)
    check_logdir(args.logdir)
    if models.is_model_path(model_value):
        models.check_model_file(model_value)
    if args.preprocess is not None and args.preprocess.lower() != "none" and "." not in args.preprocess:
        models.resolve_function(args.preprocess)  # refused before Keras loads
    backend = models.start_keras(model_value, args, console)

    from tb_featureviz import FeatureVizLogger
    from tb_featureviz.model.capture import select_step_layers
    if args.preprocess is not None and args.preprocess.lower() != "none":
        custom_preprocess = models.resolve_function(args.preprocess)  # before any weights are fetched

    def check_layers(model):
        # On the architecture, before any weights are downloaded or read (see models.load):
        # a misspelt --layers costs no 88 MB download. The library's own selection, so its message.
        return select_step_layers(model, args.layers)

    with console.phase(f"[1/2] Loading model {model_value} (Keras on {backend})"):
        loaded = models.load(model_value, args.weights, args.image_size, note=console.note, check=check_layers)
    if args.preprocess is None:
        preprocess = loaded.preprocess
    elif args.preprocess.lower() == "none":
        preprocess = None
    else:
        preprocess = custom_preprocess
    chosen = loaded.checked
    count = len({info.name for info in chosen.feature_maps + chosen.filters})
    pictures = f"{len(images)} image{'s' if len(images) != 1 else ''}"
    with WarningSummary(console, how_to_lift="--max-channels all"):
        with console.phase(f"[2/2] Logging {count} layer{'s' if count != 1 else ''} of {loaded.description} "
                           f"for {pictures} at step {args.step}"):
            with FeatureVizLogger(args.logdir, args.run, max_channels=args.max_channels) as logger:
                records, scalars = logger.log_step(loaded.model, images, args.step, args.layers,
                                                   preprocess=preprocess)
    console.result(
        f"Wrote {len(records)} grids and {len(scalars)} scalars ({size_text(logger.bytes_written)}) at step {args.step} "
        f"to {logger.run_dir} in {time.monotonic() - started:.1f} s"
    )
    console.result(f"See them:  tb-featureviz board --logdir {args.logdir}")
    return 0
