"""What every subcommand shares: its errors, its console, the bundled photos.

Conventions (each subcommand keeps them):

* What the command does and did goes to stdout: a line per phase, progress
  bars, results. Diagnostics go to stderr: notes, warnings and errors.
* A failure is ONE line on stderr, ``tb-featureviz <command>: error: <message>``,
  where the message names what was expected and what was received. Exit
  status 2 for usage and input errors (bad flags, files, models, layers),
  1 for other failures, 130 after Ctrl-C. ``--debug`` shows the traceback.
* Notes (a backend picked, a weights fallback, a channel cap) are one line
  each: ``tb-featureviz <command>: note: <message>``.

Nothing here imports Keras: a usage error is reported before Keras loads.
"""

import argparse
import os
import sys
import threading
import time

PROG = "tb-featureviz"

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")

#: The bundled photos (see ``tb_featureviz/data/SOURCES.md`` for their terms).
SAMPLES = {
    "cat": os.path.join(DATA_DIR, "chelsea.png"),
    "astronaut": os.path.join(DATA_DIR, "astronaut.png"),
}

#: Exit statuses.
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CommandError(Exception):
    """A failure the command line reports as one line, with an exit status.

    Args:
        message: what was expected and what was received.
        status: ``EXIT_USAGE`` (2) for bad input, ``EXIT_FAILURE`` (1) otherwise.
    """

    def __init__(self, message, status=EXIT_USAGE):
        super().__init__(message)
        self.status = status


def whole_number(minimum, note=""):
    """An argparse type: an int >= ``minimum``; the error says ``expects an int >= N{note}``.

    Example:
        >>> whole_number(1, " (pixels)")("71")
        71
    """

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expects an int >= {minimum}{note}. Received: {text!r}")
        return value

    return parse


def one_line(text):
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(text).split())


def first_line(error, limit=300):
    """``Type: first line of the message`` of an exception, at most ``limit`` characters."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def size_text(count):
    """A byte count for people: ``"830 bytes"``, ``"12.3 kB"``, ``"2.5 MB"``."""
    if count < 1000:
        return f"{count} bytes"
    if count < 1_000_000:
        return f"{count / 1e3:.1f} kB"
    return f"{count / 1e6:.1f} MB"


def check_image_files(paths, flag="IMAGE"):
    """Fail early, before any model loads, for image paths that are no readable pictures.

    Existence is checked here (with the flag's name); decoding is left to
    :func:`tb_featureviz.model.probes.load_probe`, whose message names the file and
    what it holds.

    Raises:
        CommandError: a missing path or a directory.
        ValueError: a file that is not a readable image.
    """
    from tb_featureviz.model.probes import load_probe

    for path in paths:
        if not os.path.exists(path):
            raise CommandError(f"{flag} expects an existing image file. Received: {path!r}, which does not exist")
        if os.path.isdir(path):
            raise CommandError(f"{flag} expects an image file. Received: {path!r}, which is a directory")
        if not os.access(path, os.R_OK):
            raise CommandError(f"{flag} expects a readable image file. Received: {path!r}, which can't be read")
        # Any size, three channels: only whether the file decodes is asked here.
        load_probe(path, (None, None, None, 3))


def add_logdir(parser):
    """The ``--logdir`` option every command that writes or serves logs takes (required)."""
    parser.add_argument("--logdir", required=True, help="TensorBoard log directory")


def check_logdir(logdir, flag="--logdir"):
    """Create ``logdir`` if needed and prove it writable, before any model loads.

    Raises:
        CommandError: the path (or a parent) is a file, or it can't be written.
    """
    from tb_featureviz.writing import logdirs

    try:
        logdirs.check_creatable(logdir, owner=flag)
        logdirs.check_writable(logdir, owner=flag)
    except (ValueError, PermissionError) as error:
        raise CommandError(one_line(error)) from error


# ------------------------------------------------------------------ console


class Console:
    """The lines a command writes: progress and results on stdout, diagnostics on stderr.

    When stdout is a terminal, a phase shows its elapsed time and a progress
    bar is redrawn in place; elsewhere (a pipe, a CI log) each is a plain line.

    Args:
        command: the subcommand's name, for the ``tb-featureviz <command>:`` prefix.
        stdout, stderr: text streams (default: ``sys.stdout``, ``sys.stderr``).
    """

    def __init__(self, command=None, stdout=None, stderr=None):
        self.prefix = f"{PROG} {command}" if command else PROG
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.live = _isatty(self.stdout)
        self._lock = threading.RLock()
        self._status = None  # the redrawable line on a terminal (a Phase or a ProgressBar)

    def result(self, text):
        """A line of the command's result, on stdout."""
        self._line(self.stdout, text)

    def info(self, text):
        """A line of progress, on stdout."""
        self._line(self.stdout, text)

    def note(self, text):
        """``tb-featureviz <command>: note: <text>`` on stderr."""
        self._line(self.stderr, f"{self.prefix}: note: {one_line(text)}")

    def warning(self, text):
        """``tb-featureviz <command>: warning: <text>`` on stderr."""
        self._line(self.stderr, f"{self.prefix}: warning: {one_line(text)}")

    def error(self, text):
        """``tb-featureviz <command>: error: <text>`` on stderr."""
        self._line(self.stderr, f"{self.prefix}: error: {one_line(text)}")

    def phase(self, text):
        """A context manager: one line saying what runs now (with its elapsed time on a terminal)."""
        return Phase(self, text)

    def bar(self, total, label, unit=""):
        """A :class:`ProgressBar` of ``total`` items."""
        return ProgressBar(self, total, label, unit)

    def _line(self, stream, text):
        with self._lock:
            status = self._status
            if status is not None:
                self._clear()
            stream.write(text + "\n")
            stream.flush()
            if status is not None:
                self._draw(status.render())

    def _draw(self, text):
        self.stdout.write("\r\033[K" + text)
        self.stdout.flush()

    def _clear(self):
        self.stdout.write("\r\033[K")
        self.stdout.flush()

    def _show(self, status):
        with self._lock:
            self._status = status
            self._draw(status.render())

    def _hide(self, final_text):
        with self._lock:
            self._status = None
            self._clear()
            self.stdout.write(final_text + "\n")
            self.stdout.flush()


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Phase:
    """One line per phase; on a terminal it counts seconds until the phase ends."""

    def __init__(self, console, text):
        self.console = console
        self.text = text
        self.started = None
        self._stop = threading.Event()
        self._thread = None

    def render(self):
        return f"{self.text} ... {time.monotonic() - self.started:.0f} s"

    def __enter__(self):
        self.started = time.monotonic()
        if not self.console.live:
            self.console.info(self.text)
            return self
        self.console._show(self)
        self._thread = threading.Thread(target=self._tick, name="featureviz-phase", daemon=True)
        self._thread.start()
        return self

    def _tick(self):
        while not self._stop.wait(0.5):
            with self.console._lock:
                if self.console._status is self:
                    self.console._draw(self.render())

    @property
    def elapsed(self):
        return time.monotonic() - self.started

    def __exit__(self, kind, value, traceback):
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        outcome = f"done in {self.elapsed:.1f} s" if kind is None else "failed"
        self.console._hide(f"{self.text} ... {outcome}")


class ProgressBar:
    """A bar over ``total`` items, safe to update from any thread.

    On a terminal: ``label [#######-------] 3/7 detail``, redrawn in place.
    Elsewhere: one line per update, ``label 3/7 detail``.
    """

    WIDTH = 24

    def __init__(self, console, total, label, unit=""):
        self.console = console
        self.total = max(0, int(total))
        self.label = label
        self.unit = unit
        self.done = 0
        self.detail = ""

    def render(self):
        filled = self.WIDTH * min(self.done, self.total) // self.total if self.total else self.WIDTH
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        unit = f" {self.unit}" if self.unit else ""
        detail = f" {self.detail}" if self.detail else ""
        return f"{self.label} [{bar}] {self.done}/{self.total}{unit}{detail}"

    def __enter__(self):
        if self.console.live:
            self.console._show(self)
        return self

    def advance(self, count=1, detail=""):
        """Count ``count`` more items done; ``detail`` is shown after the count."""
        with self.console._lock:
            self.done += count
            self.detail = detail
            if self.console.live:
                if self.console._status is self:
                    self.console._draw(self.render())
            else:
                unit = f" {self.unit}" if self.unit else ""
                self.console.info(f"{self.label} {self.done}/{self.total}{unit}" + (f" {detail}" if detail else ""))

    def __exit__(self, *exc_info):
        if self.console.live:
            self.console._hide(self.render())


# ----------------------------------------------------------------- warnings

class WarningSummary:
    """A context manager: library warnings as one line each, channel caps as one line per run.

    The logger warns once per logging call about the layers a cap reached
    (a :class:`tb_featureviz.render.caps.CapWarning`, whose notes name them); a
    command line user gets one line per run instead: ``64-channel cap: 38
    layers logged with their first 64 channels (max_channels=64)``. Every
    other warning is shown once, on one line. Warnings raised on other
    threads (the callback's writer) are caught as well.
    """

    def __init__(self, console, how_to_lift=None):
        import warnings

        self._warnings = warnings
        self.console = console
        self.how_to_lift = how_to_lift
        self.channel_caps = {}  # layer -> (total, cap)
        self.mosaic_caps = {}
        self._seen = set()
        self._context = None

    def __enter__(self):
        self._context = self._warnings.catch_warnings()
        self._context.__enter__()
        self._warnings.simplefilter("default")
        self._warnings.showwarning = self._show
        return self

    def _show(self, message, category, filename, lineno, file=None, line=None):
        from tb_featureviz.render.caps import CapWarning  # here: the CLI imports numpy only when it logs

        if isinstance(message, CapWarning):
            found = self.channel_caps if message.setting == "max_channels" else self.mosaic_caps
            for note in message.notes:
                found[note.layer] = (note.total, note.value)
            return
        text = str(message)
        key = (category, text)
        if key not in self._seen:
            self._seen.add(key)
            self.console.warning(f"{category.__name__}: {text}")

    def summary_lines(self):
        """The cap summaries, one line per kind of cap (empty when nothing was capped)."""
        lines = []
        if self.channel_caps:
            caps = sorted({cap for _total, cap in self.channel_caps.values()})
            cap = "/".join(map(str, caps))
            count = len(self.channel_caps)
            lift = f"; {self.how_to_lift} logs every channel" if self.how_to_lift else ""
            lines.append(
                f"{cap}-channel cap: {count} layer{'s' if count != 1 else ''} logged with their first {cap} "
                f"channels (max_channels={cap}){lift}"
            )
        if self.mosaic_caps:
            caps = sorted({cap for _total, cap in self.mosaic_caps.values()})
            count = len(self.mosaic_caps)
            lines.append(
                f"mosaic cap: the filter mosaics of {count} layer{'s' if count != 1 else ''} hold only their first "
                f"input channels (max_mosaic_tiles={'/'.join(map(str, caps))})"
            )
        return lines

    def __exit__(self, *exc_info):
        self._context.__exit__(*exc_info)
        if exc_info[0] is None:
            for line in self.summary_lines():
                self.console.note(line)
