"""``tb-featureviz features``: feature visualizations of a layer's channels, with a progress bar.

    tb-featureviz features --layer block4_sepconv1 --channels 0-15 --logdir logs
    tb-featureviz features --model my_model.keras --layer conv2 --channels 0,3,7 --steps 256 --logdir logs

Optimises one image per channel, all channels in one batch (see
:mod:`tb_featureviz.featurevis.visualizer`), and writes them as a ``features`` grid with
each channel's objective on its image and on noise, through
:meth:`tb_featureviz.FeatureVizLogger.log_features`.
"""

import argparse
import re
import time

from tb_featureviz import defaults

from tb_featureviz.cli import models
from tb_featureviz.cli.common import CommandError, add_logdir, check_logdir, size_text, whole_number
from tb_featureviz.cli.log import check_run_name, size_type, step_type

NAME = "features"

_RANGE = re.compile(r"(\d+)(?:-(\d+))?\Z")


def channels_type(text):
    """An argparse type: ``0-15``, ``0,3,7`` or a mix (``0-3,8``), as a sorted list without repeats.

    Example:
        >>> channels_type("0-3,8,2")
        [0, 1, 2, 3, 8]
    """
    channels = set()
    for part in text.split(","):
        match = _RANGE.match(part.strip())
        if not match or (match[2] is not None and int(match[2]) < int(match[1])):
            raise argparse.ArgumentTypeError(
                f"expects channel numbers like 0-15 or 0,3,7. Received: {text!r}")
        first, last = int(match[1]), int(match[2] if match[2] is not None else match[1])
        channels.update(range(first, last + 1))
    return sorted(channels)


count_type = whole_number(1)


def channel_text(channels):
    """Sorted channel numbers as the ``--channels`` syntax writes them.

    Example:
        >>> channel_text([0, 1, 2, 3, 8, 10, 11])
        '0-3,8,10-11'
    """
    parts, start = [], None
    for index, channel in enumerate(channels):
        if start is None:
            start = channel
        if index + 1 == len(channels) or channels[index + 1] != channel + 1:
            parts.append(str(start) if start == channel else f"{start}-{channel}")
            start = None
    return ",".join(parts)


def check_layer(model, layer, channels):
    """The one layer ``--layer`` names, with a 2-D output and every channel in ``channels``.

    Runs on the architecture, before any weights are downloaded or read
    (see :func:`tb_featureviz.cli.models.load`). The layer is chosen by the
    library's own :func:`tb_featureviz.model.layers.select_layers`, so an unknown
    name gets its message (with the closest names).

    Returns:
        the :class:`tb_featureviz.model.layers.LayerInfo`.

    Raises:
        ValueError: an unknown or ambiguous name, a layer without 2-D output.
        CommandError: a pattern selecting several layers, a channel out of range.
    """
    from tb_featureviz.model import activations, layers

    chosen = layers.select_layers(model, layer).layers
    if len(chosen) != 1:
        names = [info.name for info in chosen]
        shown = names if len(names) <= 5 else names[:5] + [f"... {len(names) - 5} more"]
        raise CommandError(f"--layer expects one layer. Received: {layer!r}, which selects {shown}")
    (info,) = chosen
    shape = layers.output_shape(info.layer)
    first = activations.model_data_format(model, [info]) == "channels_first"
    total = int(shape[1] if first else shape[-1])
    outside = [channel for channel in channels if channel >= total]
    if outside:
        raise CommandError(
            f"--channels expects channels 0-{total - 1} of layer {info.name!r} (it has {total}). "
            f"Received: {channel_text(channels)} ({channel_text(outside)} out of range)"
        )
    return info


#: One line for ``tb-featureviz --help``; the description heads the subcommand's ``--help``.
HELP = "optimise the image each channel of a layer responds to most"
DESCRIPTION = ("Feature visualization: for each channel, optimise the image that activates it most "
               "(all channels in one batch), and log them as a 'features' grid.")


def add_arguments(parser):
    add_logdir(parser)
    parser.add_argument("--model", metavar="NAME_OR_PATH", default="xception",
                        help="a saved model (.keras, .h5) or a keras.applications name (default: xception)")
    parser.add_argument("--layer", required=True, help="the layer (qualified or plain name)")
    parser.add_argument("--channels", type=channels_type, default=list(range(defaults.FEATURES_CHANNELS)), metavar="0-15|0,3,7",
                        help="channels to visualise (default 0-15)")
    parser.add_argument("--steps", type=count_type, default=defaults.LOGGED_FEATURES_STEPS,
                        help=f"optimisation steps (default {defaults.LOGGED_FEATURES_STEPS})")
    parser.add_argument("--size", type=size_type, metavar="PIXELS",
                        help="side of the optimised images (default 128, or what the model's input allows)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--step", type=step_type, default=0, help="the step to log at (default 0)")
    parser.add_argument("--run", default="featureviz", help="run folder inside --logdir (default featureviz)")
    models.add_application_arguments(parser)


def run(args, console):
    started = time.monotonic()
    check_run_name(args.run)
    check_logdir(args.logdir)
    if args.seed < 0:
        raise CommandError(f"--seed expects an int >= 0. Received: {args.seed}")
    backend = models.start_keras(args.model, args, console)

    from tb_featureviz import FeatureVizLogger

    with console.phase(f"[1/2] Loading model {args.model} (Keras on {backend})"):
        loaded = models.load(args.model, args.weights, args.image_size, note=console.note,
                             check=lambda model: check_layer(model, args.layer, args.channels))
    count = len(args.channels)
    label = f"[2/2] Optimising {count} channel{'s' if count != 1 else ''} of {args.layer}"
    with FeatureVizLogger(args.logdir, args.run) as logger:
        with console.bar(args.steps, label, unit="steps") as bar:
            def progress(done, total):
                bar.advance(1)

            (record,) = logger.log_features(
                loaded.model, args.layer, args.step, args.channels, steps=args.steps, size=args.size,
                seed=args.seed, preprocess=loaded.preprocess, progress=progress,
            )
    ratios = [r for r in (record.get("quality") or {}).get("ratio", []) if r is not None]
    weak = sum(1 for r in ratios if r < 2)
    console.result(
        f"Wrote {count} feature visualizations ({size_text(logger.bytes_written)}) of {record['layer']} at step "
        f"{args.step} to {logger.run_dir} in {time.monotonic() - started:.1f} s"
    )
    if ratios:
        median = sorted(ratios)[len(ratios) // 2]
        console.result(f"Objective vs noise: median {median:.1f}x" +
                       (f"; {weak} channel{'s' if weak != 1 else ''} below 2x (likely not a real visualization)"
                        if weak else ""))
    console.result(f"See them:  tb-featureviz board --logdir {args.logdir}  (Features tab)")
    return 0
