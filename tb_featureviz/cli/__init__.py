"""The ``tb-featureviz`` command: ``log``, ``features``, ``attribution``, ``examples``, ``board`` and ``demo``.

    tb-featureviz log --logdir logs                 # Xception's filters and feature maps of the bundled cat
    tb-featureviz log cat.jpg --model my_model.keras --logdir logs --step 3
    tb-featureviz features --layer block4_sepconv1 --channels 0-15 --logdir logs   # feature visualization
    tb-featureviz attribution cat.png --targets top3 --logdir logs                  # Grad-CAM of the top 3 classes
    tb-featureviz examples photos/ --logdir logs    # per channel, the pictures that drive it most
    tb-featureviz board --logdir logs               # TensorBoard; prints the Feature maps URL
    tb-featureviz demo --logdir logs/demo           # fine-tune Xception offline, logging every epoch

One module per subcommand (``log.py``, ``features.py``, ``attribution.py``, ``examples.py``, ``board.py``, ``demo.py``), each with
``NAME``, ``HELP``, ``DESCRIPTION`` (``EPILOG``), ``add_arguments(parser)`` and ``run(args, console)`` (and
``USES_KERAS = False`` if it takes no ``--backend``); a new subcommand adds
its module to ``COMMANDS``. What they share (the error and
output conventions, the bundled photos, progress) is in ``common.py``; the
Keras backend choice in ``backend.py``; loading ``--model`` in ``models.py``.

Errors: ONE line on stderr, ``tb-featureviz <command>: error: <message>``,
naming what was expected and what was received; exit status 2 for usage and
input errors, 1 for other failures, 130 after Ctrl-C (``board`` stops
TensorBoard and exits 0). ``--debug`` shows the traceback instead. Nothing
imports Keras before the arguments, files and log directory are checked.
"""

import argparse
import re
import sys

from tb_featureviz.cli import attribution, board, demo, examples, features, log
from tb_featureviz.cli.backend import BACKENDS
from tb_featureviz.cli.common import (
    DATA_DIR, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, PROG, SAMPLES, CommandError, Console, one_line,
)

__all__ = ["main", "build_parser", "SAMPLES", "DATA_DIR"]

#: The subcommands, in the order ``--help`` lists them.
COMMANDS = (log, features, attribution, examples, board, demo)

#: Library errors that mean bad input (a file, a model, a layer, a step): exit status 2.
INPUT_ERRORS = (ValueError, TypeError, FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line: ``tb-featureviz log: error: --step expects ...``."""

    def error(self, message):
        # Our argument types word their messages "expects ... Received: ...";
        # argparse puts "argument --step: " before them.
        match = re.match(r"argument (\S+?)(?:/\S+)?: (expects .*)", message, re.S)
        if match:
            message = f"{match[1]} {match[2]}"
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)}\n")


def build_parser():
    """The argument parser of ``tb-featureviz`` and its subcommands."""
    from tb_featureviz import __version__

    parser = _Parser(prog=PROG, description="Filter and feature-map grids of Keras CNNs in TensorBoard.",
                     epilog="Exit status: 0 done, 1 failure, 2 bad usage or input, 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", help="show the traceback of an error")
    keras_backend = argparse.ArgumentParser(add_help=False)
    keras_backend.add_argument("--backend", choices=BACKENDS,
                               help="Keras backend (sets KERAS_BACKEND; default: KERAS_BACKEND, "
                                    "~/.keras/keras.json, or an installed one)")
    parser.commands = {}
    for module in COMMANDS:
        parents = [keras_backend, debug] if getattr(module, "USES_KERAS", True) else [debug]
        command = commands.add_parser(module.NAME, parents=parents, help=module.HELP,
                                      description=module.DESCRIPTION, epilog=getattr(module, "EPILOG", None))
        module.add_arguments(command)
        command.set_defaults(run_command=module.run)
        command.prog = f"{PROG} {module.NAME}"
        parser.commands[module.NAME] = command
    return parser


def main(argv=None):
    """Run ``tb-featureviz`` with ``argv`` (default: ``sys.argv[1:]``).

    Returns:
        the exit status: 0 done, 1 failure, 2 bad usage or input, 130 interrupted.
    """
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the subcommand, whose options they are not
        parser.commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    console = Console(args.command)
    try:
        return args.run_command(args, console) or 0
    except CommandError as error:
        if args.debug:
            raise
        console.error(error)
        return error.status
    except INPUT_ERRORS as error:
        if args.debug:
            raise
        console.error(error)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if args.debug:
            raise
        console.error("interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - one line, not a traceback, for a shell user
        if args.debug:
            raise
        console.error(f"{type(error).__name__}: {error} (run with --debug for the traceback)")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
