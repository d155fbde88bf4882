"""``tb-featureviz examples``: for every channel, the pictures of a folder that drive it most.

    tb-featureviz examples photos/ --logdir logs                        # Xception's conv layers, k = 9
    tb-featureviz examples photos/ --model my_model.keras --layers 'conv*' --k 16 --max-pictures 500 --logdir logs

Scans the folder's pictures (sorted by name; an example's ``index`` is the
picture's position in that order, and ``pictures.txt`` in the run folder
lists them) with a progress bar, and writes what
:meth:`tb_featureviz.FeatureVizLogger.log_examples` writes: per layer the
top k crops of every channel (kind ``examples``), the layer's histogram
over the data (the Histograms tab) and per-channel statistics.
"""

import os
import time

from tb_featureviz import defaults
from tb_featureviz.cli import models
from tb_featureviz.cli.common import CommandError, add_logdir, check_logdir, size_text, whole_number
from tb_featureviz.cli.log import channels_type, check_run_name, step_type

NAME = "examples"

#: The picture files a folder scan reads.
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")

#: Pictures read and run per batch.
BATCH = 16


def picture_files(folder):
    """The picture files directly in ``folder``, sorted by name.

    Raises:
        CommandError: not a folder, or no picture in it.
    """
    if not os.path.isdir(folder):
        raise CommandError(f"DIR expects a folder of pictures. Received: {folder!r}, which is not a folder")
    files = sorted(name for name in os.listdir(folder) if name.lower().endswith(PICTURE_SUFFIXES))
    if not files:
        raise CommandError(f"DIR expects a folder of pictures ({', '.join(PICTURE_SUFFIXES)}). "
                           f"Received: {folder!r}, which holds none")
    return [os.path.join(folder, name) for name in files]


def read_batches(paths, input_shape, batch=BATCH):
    """Batches of the pictures, resized to the model's input (uint8 ``[n, H, W, 3]``)."""
    from tb_featureviz.model.probes import load_probe

    size = None
    for start in range(0, len(paths), batch):
        chunk = paths[start:start + batch]
        shape = input_shape if size is None or input_shape[1] is not None else (None,) + size + (input_shape[3],)
        probe = load_probe(chunk, shape)
        size = probe.display.shape[1:3]
        yield probe.display


#: One line for ``tb-featureviz --help``; the description heads the subcommand's ``--help``.
HELP = "log, for every channel, the pictures of a folder that drive it most"
DESCRIPTION = ("Dataset examples: scan a folder of pictures once and log, per channel of each layer, the k "
               "pictures (cropped to the unit's receptive field) that activate it most, with histograms.")


def add_arguments(parser):
    parser.add_argument("folder", metavar="DIR", help="a folder of pictures")
    add_logdir(parser)
    parser.add_argument("--model", metavar="NAME_OR_PATH", default="xception",
                        help="a saved model (.keras, .h5) or a keras.applications name (default: xception)")
    parser.add_argument("--layers", nargs="+", metavar="LAYER",
                        help="names or glob patterns (default: every conv layer)")
    parser.add_argument("--k", type=whole_number(1), default=9, help="examples per channel (default 9)")
    parser.add_argument("--max-pictures", type=whole_number(1), metavar="N", help="scan at most N pictures")
    parser.add_argument("--max-channels", type=channels_type, default=defaults.MAX_CHANNELS, metavar="N|all",
                        help=f"channels drawn per layer (default {defaults.MAX_CHANNELS}; all are in the record)")
    parser.add_argument("--step", type=step_type, default=0, help="the step to log at (default 0)")
    parser.add_argument("--run", default="featureviz", help="run folder inside --logdir (default featureviz)")
    models.add_application_arguments(parser)


def run(args, console):
    started = time.monotonic()
    paths = picture_files(args.folder)
    if args.max_pictures is not None:
        paths = paths[:args.max_pictures]
    check_run_name(args.run)
    check_logdir(args.logdir)
    backend = models.start_keras(args.model, args, console)

    from tb_featureviz import FeatureVizLogger
    from tb_featureviz.model.capture import select_feature_map_layers

    def check_layers(model):
        return select_feature_map_layers(model, args.layers)  # before any weights are read

    with console.phase(f"[1/2] Loading model {args.model} (Keras on {backend})"):
        loaded = models.load(args.model, args.weights, args.image_size, note=console.note, check=check_layers)
    count = len(loaded.checked.layers)
    with console.bar(len(paths), f"[2/2] Scanning {len(paths)} pictures for {count} layers", unit="pictures") as bar:
        with FeatureVizLogger(args.logdir, args.run, max_channels=args.max_channels) as logger:
            records = logger.log_examples(
                loaded.model, read_batches(paths, tuple(loaded.model.inputs[0].shape)), args.step,
                layers=args.layers, k=args.k, preprocess=loaded.preprocess,
                progress=lambda done, total: bar.advance(done - bar.done))
    with open(os.path.join(logger.run_dir, "pictures.txt"), "w", encoding="utf-8") as listing:
        listing.write("".join(f"{index}\t{os.path.abspath(path)}\n" for index, path in enumerate(paths)))
    layers = [r for r in records if r["kind"] == "examples"]
    console.result(f"Wrote the examples of {len(layers)} layers over {len(paths)} pictures "
                   f"({size_text(logger.bytes_written)}) at step {args.step} to {logger.run_dir} in "
                   f"{time.monotonic() - started:.1f} s; pictures.txt lists the pictures by index")
    console.result(f"See them:  tb-featureviz board --logdir {args.logdir}  (Examples tab)")
    return 0
