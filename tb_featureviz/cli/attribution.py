"""``tb-featureviz attribution``: where a classifier looks in pictures (Grad-CAM and its family).

    tb-featureviz attribution --logdir logs                       # Xception (with its top), the bundled cat
    tb-featureviz attribution dog.jpg cat.png --model my_classifier.keras --targets top3 --logdir logs
    tb-featureviz attribution cat.png --method layercam --targets label --labels 281 --class-names names.txt \\
        --logdir logs

Writes what :meth:`tb_featureviz.FeatureVizLogger.log_attributions` writes
(kind ``attribution``: each target's map over each picture, with the class,
its logit, probability and the raw map) into ``<logdir>/<run>``, and prints
each picture's classes. A ``keras.applications`` model keeps its ImageNet
classifier here. The layer, targets and labels are checked against the
model's architecture before any weights are read.
"""

import json
import os
import re
import time

from tb_featureviz.cli import models
from tb_featureviz.cli.common import (
    SAMPLES, CommandError, add_logdir, check_image_files, check_logdir, size_text, whole_number,
)
from tb_featureviz.cli.log import check_run_name, step_type

NAME = "attribution"

#: Methods, as ``--method`` takes them (the library's own names).
METHODS = ("gradcam", "gradcam++", "layercam", "scorecam")

_CLASSES = re.compile(r"\d+(,\d+)*\Z")


def targets_type(text):
    """An argparse type: ``predicted``, ``label``, ``top3`` or classes ``3,7``.

    Example:
        >>> targets_type("3,7"), targets_type("top2"), targets_type("predicted")
        ([3, 7], 'top2', 'predicted')
    """
    import argparse

    from tb_featureviz.attribution.targets import top_k

    if text in ("predicted", "label"):
        return text
    k = top_k(text)
    if k is not None and k >= 1:
        return text
    if _CLASSES.match(text):
        return [int(part) for part in text.split(",")]
    raise argparse.ArgumentTypeError(f"expects predicted, label, topK (K >= 1) or class indices like 3,7. "
                                     f"Received: {text!r}")


def labels_type(text):
    """An argparse type: class indices ``281,285``, one per picture."""
    import argparse

    if not _CLASSES.match(text):
        raise argparse.ArgumentTypeError(f"expects class indices like 281,285 (one per picture). Received: {text!r}")
    return [int(part) for part in text.split(",")]


def read_class_names(path):
    """Class names from a file: one per line, or a JSON list, or a JSON object by class index.

    Raises:
        CommandError: the file can't be read or holds neither.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise CommandError(f"--class-names expects a readable file. Received: {path!r} ({error.strerror})") from None
    if text.lstrip().startswith(("[", "{")):
        try:
            names = json.loads(text)
        except ValueError as error:
            raise CommandError(f"--class-names expects a JSON list or object, or one name per line. "
                               f"Received: {path!r} ({error})") from None
        if isinstance(names, dict):
            try:
                return {int(key): str(value) for key, value in names.items()}
            except ValueError:
                raise CommandError(f"--class-names expects a JSON object keyed by class index. "
                                   f"Received: {path!r}") from None
        return [str(name) for name in names]
    return [line.strip() for line in text.splitlines() if line.strip()]


#: One line for ``tb-featureviz --help``; the description heads the subcommand's ``--help``.
HELP = "log where a classifier looks in pictures (Grad-CAM, Grad-CAM++, LayerCAM, Score-CAM)"
DESCRIPTION = ("Attribution maps: for each picture and target class, where the classifier looks, "
               "logged as an 'attribution' grid over the pictures.")
EPILOG = "Put IMAGE arguments before the options, or end the options with --."


def add_arguments(parser):
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="pictures (default: the bundled cat)")
    add_logdir(parser)
    parser.add_argument("--model", metavar="NAME_OR_PATH", default="xception",
                        help="a saved classifier (.keras, .h5) or a keras.applications name, kept with its "
                             "ImageNet top (default: xception)")
    parser.add_argument("--method", choices=METHODS, default="gradcam", help="the method (default gradcam)")
    parser.add_argument("--targets", type=targets_type, default="predicted", metavar="predicted|label|3,7|top3",
                        help="classes to explain: each picture's top class (default), its label, these classes, "
                             "or the top K")
    parser.add_argument("--labels", type=labels_type, metavar="281,285",
                        help="one class index per picture, for --targets label")
    parser.add_argument("--layer", help="the layer (default: the last one with a spatial output)")
    parser.add_argument("--class-names", metavar="FILE",
                        help="class names: one per line, a JSON list, or a JSON object by class index")
    parser.add_argument("--step", type=step_type, default=0, help="the step to log at (default 0)")
    parser.add_argument("--run", default="featureviz", help="run folder inside --logdir (default featureviz)")
    models.add_application_arguments(parser)
    parser.add_argument("--chunk", type=whole_number(1), default=32, metavar="N",
                        help="channels per Score-CAM forward pass (default 32)")


def run(args, console):
    started = time.monotonic()
    images = list(args.images) or [SAMPLES["cat"]]
    check_run_name(args.run)
    check_image_files(images)
    check_logdir(args.logdir)
    if args.targets == "label" and args.labels is None:
        raise CommandError("--targets label expects --labels (one class index per picture). Received: no --labels")
    if args.labels is not None and len(args.labels) != len(images):
        raise CommandError(f"--labels expects one class index per picture ({len(images)}). "
                           f"Received: {len(args.labels)} labels")
    class_names = read_class_names(args.class_names) if args.class_names else None
    backend = models.start_keras(args.model, args, console)

    from tb_featureviz import FeatureVizLogger
    from tb_featureviz.attribution.attributor import Attributor
    from tb_featureviz.attribution.grids import check_class_names

    def check(model):
        # On the architecture, before any weights are read (see models.load).
        attributor = Attributor(model, args.layer, owner=f"tb-featureviz {NAME}")
        attributor.check(args.targets, args.labels, args.method, num_images=len(images))
        check_class_names(class_names, attributor.num_classes, "--class-names")
        return attributor.info.name

    with console.phase(f"[1/2] Loading model {args.model} (Keras on {backend})"):
        loaded = models.load(args.model, args.weights, args.image_size, note=console.note, check=check,
                             include_top=True)
    pictures = f"{len(images)} picture{'s' if len(images) != 1 else ''}"
    with console.phase(f"[2/2] {args.method} of {loaded.checked} for {pictures} at step {args.step}"):
        with FeatureVizLogger(args.logdir, args.run) as logger:
            records = logger.log_attributions(loaded.model, images, args.step, method=args.method,
                                              targets=args.targets, layer=args.layer, labels=args.labels,
                                              class_names=class_names, preprocess=loaded.preprocess)
    maps = [r for r in records if r["kind"] == "attribution"]
    for record, path in zip(maps, images):
        found = ", ".join(f"{t['name'] or 'class ' + str(t['class'])} (p={t['probability']:.3f})"
                          for t in record["targets"])
        console.result(f"{os.path.basename(path)}: {found}")
    console.result(f"Wrote {len(maps)} attribution grids ({size_text(logger.bytes_written)}) of {loaded.checked} at "
                   f"step {args.step} to {logger.run_dir} in {time.monotonic() - started:.1f} s")
    console.result(f"See them:  tb-featureviz board --logdir {args.logdir}  (Attribution tab)")
    return 0
