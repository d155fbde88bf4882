"""``tb-featureviz board``: TensorBoard with the flags this plugin needs, and the Feature maps URL.

    tb-featureviz board --logdir logs            # http://127.0.0.1:6006/#featureviz
    tb-featureviz board --logdir logs --host 0.0.0.0 --port 8080

Starts ``python -m tensorboard.main`` as a child process with
``--samples_per_plugin=images=0,featureviz=0`` (every logged step kept; by
default TensorBoard keeps 10 per tag), on 127.0.0.1 unless ``--host`` says
otherwise, on port 6006 or, when that is taken, a free one. Once TensorBoard
answers, prints the URL of the Feature maps tab. Ctrl-C (SIGINT), SIGTERM or
SIGHUP stops TensorBoard and exits 0.
"""

import argparse
import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from tb_featureviz.cli.common import EXIT_FAILURE, CommandError, add_logdir, first_line

NAME = "board"

#: TensorBoard reads event files without Keras: no --backend.
USES_KERAS = False

DEFAULT_PORT = 6006

#: Keep every step of the grids (0 means all; TensorBoard keeps 10 by default).
SAMPLING_FLAG = "--samples_per_plugin=images=0,featureviz=0"

#: Seconds TensorBoard may take to answer (it imports TensorFlow where installed).
START_TIMEOUT = 180

# Lines of the child not worth showing: TensorFlow's start-up lines (see
# backend._IMPORT_NOISE), TensorBoard's URL banner (the one printed here
# replaces it) and its note on the fast loader.
_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} [\d:.]+\s+\d+ \w+\.cc:\d+\] .*"
    r"|E\d{4} [\d:.]+\s+\d+ cuda_\w+\.cc:\d+\] failed call to cuInit: .*"
    r"|NOTE: Using experimental fast data loading logic\. To disable, pass"
    r"|\s+\"--load_fast=false\" and report issues on GitHub\. More details:"
    r"|\s+https://github\.com/tensorflow/tensorboard/issues/4784"
    r"|TensorBoard caught SIGTERM; exiting\.\.\."
    r"|To enable the following instructions: .*"
    r"|TensorBoard \S+ at http\S* \(Press CTRL\+C to quit\)"
    r"|Serving TensorBoard on .*|TensorFlow installation not found - running with reduced feature set\.|\s*)$"
)


def port_type(text):
    """An argparse type: a TCP port, 1 to 65535 (0: any free port)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expects a port from 1 to 65535 (0: any free one). Received: {text!r}")
    return value


#: One line for ``tb-featureviz --help``; the description heads the subcommand's ``--help``.
HELP = "start TensorBoard with every step kept and print the Feature maps URL"
DESCRIPTION = ("Start TensorBoard on a log directory with --samples_per_plugin=images=0,featureviz=0 "
               "and print the URL of the Feature maps tab. Ctrl-C stops it.")


def add_arguments(parser):
    add_logdir(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine "
                                                           "only; 0.0.0.0 serves every interface)")
    parser.add_argument("--port", type=port_type, default=None,
                        help=f"port (default {DEFAULT_PORT}, or a free one when {DEFAULT_PORT} is taken)")


def _bind(host, port):
    """``(port, None)`` if a server could listen on ``(host, port)`` now, else ``(None, OSError)``.

    TensorBoard's server sets SO_REUSEADDR too, so a port in TIME_WAIT counts as free.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            return None, error
        return sock.getsockname()[1], None


def choose_port(host, port):
    """The port to serve on: ``port`` if given (0: any free one), else 6006 or, if taken, a free one.

    Raises:
        CommandError: ``host`` is no address of this machine, or ``port`` was given and is taken.
    """
    free, error = _bind(host, 0)
    if free is None:
        raise CommandError(
            f"--host expects an address of this machine to serve on. Received: {host!r} ({first_line(error)})"
        )
    if port:
        if _bind(host, port)[0] is None:
            raise CommandError(
                f"--port expects a free port on {host}. Received: {port}, which is in use "
                "(leave --port out to take a free one)"
            )
        return port
    if port is None and _bind(host, DEFAULT_PORT)[0] is not None:
        return DEFAULT_PORT
    return free


def _client_host(host):
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def _url_host(host):
    if host in ("0.0.0.0", "::", ""):
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host


class _Output:
    """Forwards the child's output to stderr, less noise, and keeps the last lines."""

    def __init__(self, stream, out):
        self.last = collections.deque(maxlen=20)
        self._thread = threading.Thread(target=self._pump, args=(stream, out), name="tensorboard-output",
                                        daemon=True)
        self._thread.start()

    def _pump(self, stream, out):
        for line in stream:
            line = line.rstrip("\n")
            if _NOISE.match(line):
                continue
            self.last.append(line)
            out.write(line + "\n")
            out.flush()

    def join(self, timeout):
        self._thread.join(timeout)

    def reason(self):
        lines = [line for line in self.last if line.strip()]
        return lines[-1].strip() if lines else "no output"


def _plugins(base):
    """TensorBoard's plugin listing, or None while it doesn't answer."""
    try:
        with urllib.request.urlopen(base + "data/plugins_listing", timeout=2) as reply:
            return json.loads(reply.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return None


def stop(child, timeout=15):
    """Stop TensorBoard: SIGTERM (it exits cleanly on it), then SIGKILL."""
    for action in (child.terminate, child.kill):
        if child.poll() is not None:
            return child.returncode
        try:
            action()
        except ProcessLookupError:
            pass
        try:
            return child.wait(timeout)
        except subprocess.TimeoutExpired:
            continue
    return child.wait()


def _stop_request(signum, frame):
    raise KeyboardInterrupt


def run(args, console):
    if not os.path.isdir(args.logdir):
        problem = "a file, not a directory" if os.path.exists(args.logdir) else "a path that does not exist"
        raise CommandError(f"--logdir expects a directory of event files. Received: {args.logdir!r}, {problem}")
    port = choose_port(args.host, args.port)
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", args.logdir, "--host", args.host,
               "--port", str(port), SAMPLING_FLAG]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    # Ctrl-C is how this command stops, even where the shell started it with
    # SIGINT ignored (a background job of a script); SIGTERM and SIGHUP (the
    # terminal closed) stop it the same way. TensorBoard runs in a session of
    # its own, so that Ctrl-C reaches this process only (TensorBoard would
    # print a traceback) and this process stops it.
    stop_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {number: signal.getsignal(number) for number in stop_signals}
    for number in stop_signals:
        signal.signal(number, _stop_request)
    child = output = None
    try:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 text=True, errors="replace", env=environment, start_new_session=True)
        output = _Output(child.stdout, console.stderr)
        base = f"http://{_url_host(args.host)}:{port}/"
        client = _client_host(args.host)
        probe = f"http://{f'[{client}]' if ':' in client else client}:{port}/"
        with console.phase(f"Starting TensorBoard on {args.host}:{port} for {args.logdir}"):
            deadline = time.monotonic() + START_TIMEOUT
            listing = None
            while listing is None:
                if child.poll() is not None:
                    output.join(5)
                    raise CommandError(
                        f"TensorBoard stopped while starting (exit status {child.returncode}): {output.reason()}",
                        status=EXIT_FAILURE,
                    )
                if time.monotonic() > deadline:
                    raise CommandError(f"TensorBoard did not answer on {probe} within {START_TIMEOUT} s",
                                       status=EXIT_FAILURE)
                time.sleep(0.2)
                listing = _plugins(probe)
        if "featureviz" not in listing:
            console.warning("this TensorBoard has no Feature maps plugin: tb-featureviz is not installed in "
                            f"{sys.executable}'s environment (pip install tb-featureviz)")
        console.result(f"TensorBoard: {base}")
        console.result(f"Feature maps: {base}#featureviz")
        console.info("Press Ctrl-C to stop.")
        status = child.wait()
        output.join(5)
        raise CommandError(f"TensorBoard stopped (exit status {status}): {output.reason()}", status=EXIT_FAILURE)
    except KeyboardInterrupt:
        console.info("Stopping TensorBoard ...")
        return 0
    finally:
        for number in stop_signals:  # a second Ctrl-C must not cut the shutdown short
            signal.signal(number, signal.SIG_IGN)
        if child is not None:
            stop(child)
            if output is not None:
                output.join(5)
            child.stdout.close()
        for number, handler in previous.items():
            signal.signal(number, handler)
