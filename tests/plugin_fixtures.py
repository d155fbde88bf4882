"""Helpers for the plugin tests: synthetic featureviz logs and TensorBoard apps.

Logs are written through the package's own ``SummaryWriter`` with grids
from ``make_grid``/``encode_png``, following docs/format.md exactly, and the
helpers return what was written (PNG bytes, records) so tests compare the
served bytes and values with the written ones.

Apps are built the way ``tensorboard.program`` builds them: flags from
TensorBoard's own parser, a ``LocalDataIngester`` (``--load_fast=false``)
or a ``SubprocessServerDataIngester`` running the Rust data server
(``--load_fast=true``), and ``application.TensorBoardWSGIApp``.
"""

import contextlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np

from tb_featureviz import metadata, names
from tests.ports import free_port

# grids and the writer are imported where logs are written: the no-TensorFlow
# test imports this module to serve, and serving must not depend on them.

PREFIX = "/data/plugin/featureviz/"

#: A run and a layer whose names would run script if ever used as HTML.
XSS_RUN = "<img src=x onerror=alert(1)>"
XSS_LAYER = "<script>alert('fv')</script>&step=9?#%2F"
#: A layer name with the two characters JSON escapes inside strings.
QUOTE_LAYER = 'a "quoted" \\ layer'

#: Steps of the run "cnn"; the run "long" has LONG_STEPS (more than the
#: default sample limit of 10).
STEPS = (0, 5, 10)
LONG_STEPS = tuple(range(15))


def _floats(values):
    from tb_featureviz import jsontext

    return jsontext.rounded_floats(values)


def _stats(tiles):
    flat = tiles.reshape(tiles.shape[0], -1).astype(np.float64)
    finite = np.isfinite(flat)
    with np.errstate(invalid="ignore"):
        mean = np.where(finite, flat, 0).sum(1) / np.maximum(finite.sum(1), 1)
    mean[~finite.any(1)] = np.nan
    return {
        "mean": _floats(mean),
        "zero_fraction": _floats((flat == 0).mean(1)),
        "nonfinite_fraction": _floats((~finite).mean(1)),
    }


def make_record(layer, cls, kind, step, sequence, sample_tiles, *, source_shape, channels,
                total_channels, layout="tiles", scale="channel", symmetric=False,
                value_range=None, pad=1, cols=None, input_channels=None, extra=None):
    """Grids (one per sample) and the record describing them (docs/format.md).

    ``extra`` holds record keys a kind adds to the common ones (``quality``
    of a ``features`` grid); they follow the common keys.

    Returns:
        ``(pngs, width, height, record)``.
    """
    from tb_featureviz.render import grids, png

    grid_list = [
        grids.make_grid(t, scale=scale, symmetric=symmetric, value_range=value_range,
                        pad=pad, cols=cols)
        for t in sample_tiles
    ]
    first = grid_list[0]
    image = first.image
    record = {
        "version": metadata.FORMAT_VERSION,
        "layer": layer,
        "class": cls,
        "kind": kind,
        "step": step,
        "sequence": sequence,
        "layout": layout,
        "scale": scale,
        "symmetric": symmetric,
        "source_shape": list(source_shape),
        "width": int(image.shape[1]),
        "height": int(image.shape[0]),
        "depth": 1 if image.ndim == 2 else int(image.shape[2]),
        "rows": first.rows,
        "cols": first.cols,
        "tile_height": first.tile_height,
        "tile_width": first.tile_width,
        "pad": first.pad,
        "channels": list(channels),
        "total_channels": total_channels,
        "input_channels": input_channels,
        "samples": [
            {"lo": _floats(g.lo), "hi": _floats(g.hi), "nonfinite": g.nonfinite, "stats": _stats(t)}
            for g, t in zip(grid_list, sample_tiles)
        ],
    }
    record.update(extra or {})
    pngs = [png.encode(g.image) for g in grid_list]
    width = max(g.image.shape[1] for g in grid_list)
    height = max(g.image.shape[0] for g in grid_list)
    return pngs, width, height, record


def structure_layer(index, name, cls, output_shape, kernel_shapes=None, *, is_model=False,
                    spatial=True):
    """One layer entry of the structure document."""
    return {
        "index": index,
        "name": name,
        "class": cls,
        "path": name.split("/")[:-1],
        "output_shape": output_shape,
        "kernel_shapes": kernel_shapes or {},
        "spatial": spatial,
        "trainable": True,
        "has_weights": bool(kernel_shapes) or is_model,
        "is_model": is_model,
    }


class LogWriter:
    """Writes one run and remembers every grid written, for the tests.

    Attributes:
        written: ``{(layer, kind, step): (pngs, record)}``.
        scalars: ``{tag: [(step, value), ...]}``.
        documents: ``{tag: last step}`` of the structure and events documents.
    """

    def __init__(self, logdir, run):
        from tb_featureviz.writing import summary_writer

        self.run = run
        self.writer = summary_writer.SummaryWriter(os.path.join(logdir, run))
        self.written = {}
        self.scalars = {}
        self.documents = {}
        self.extra_steps = {}  # (layer, kind) -> last step written outside `grid`
        self._sequence = {}

    def structure(self, document, step):
        self.writer.write_structure(document, step)
        self.documents[names.STRUCTURE_TAG] = step

    def events(self, document, step):
        self.writer.write_json(names.EVENTS_TAG, metadata.create_events_metadata(), document, step)
        self.documents[names.EVENTS_TAG] = step

    def grid(self, layer, cls, kind, step, sample_tiles, **kwargs):
        sequence = self._sequence.get((layer, kind), 0)
        self._sequence[(layer, kind)] = sequence + 1
        pngs, width, height, record = make_record(
            layer, cls, kind, step, sequence, sample_tiles, **kwargs
        )
        self.writer.write_grid(layer, kind, step, pngs, width, height, record)
        self.written[(layer, kind, step)] = (pngs, record)

    def scalar(self, tag, value, step):
        self.writer.write_scalar(tag, value, step)
        self.scalars.setdefault(tag, []).append((step, value))

    def close(self):
        self.writer.close()


CNN_STRUCTURE = {
    "version": 1,
    "model": "sequential",
    "layers": [
        structure_layer(0, "conv1", "Conv2D", [None, 8, 8, 4], {"kernel": [3, 3, 3, 4]}),
        structure_layer(1, "block", "Functional", [None, 8, 8, 6], is_model=True),
        structure_layer(2, "block/sep", "SeparableConv2D", [None, 8, 8, 6],
                        {"depthwise_kernel": [3, 3, 4, 1], "pointwise_kernel": [1, 1, 4, 6]}),
        structure_layer(3, "dense", "Dense", [None, 2], {"kernel": [384, 2]}, spatial=False),
    ],
}

CNN_EVENTS = {"version": 1, "events": [{"step": 5, "type": "trainable", "trainable": ["block/sep"], "frozen": []}]}


def write_cnn_run(logdir, run="cnn"):
    """A small CNN's run: 4 layers, several kinds, a probe, events and scalars.

    Layers: ``conv1`` (activations with 2 samples, one tile NaN in sample 1;
    RGB filters), ``block/sep`` (activations of 4 of 6 channels, pointwise
    matrix), ``dense`` (in the structure, no data) and ``extra`` (data at
    steps 5 and 10, not in the structure). Probe images at step 0.
    """
    rng = np.random.default_rng(0)
    log = LogWriter(logdir, run)
    for step in STEPS:
        if step == 0:
            log.structure(CNN_STRUCTURE, step)
            probe = rng.integers(0, 256, size=(2, 1, 8, 8, 3)).astype(np.float32)
            log.grid(names.PROBE_LAYER, None, "probe", step, list(probe),
                     source_shape=[2, 8, 8, 3], channels=[0], total_channels=1,
                     scale="fixed", value_range=(0, 255), pad=0)
        if step == 5:
            log.events(CNN_EVENTS, step)
        acts = rng.normal(size=(2, 4, 8, 8)).astype(np.float32) + step
        acts[1, 2] = np.nan  # a tile with no finite value: lo/hi are null
        log.grid("conv1", "Conv2D", "activations", step, list(acts),
                 source_shape=[2, 8, 8, 4], channels=range(4), total_channels=4)
        kernel = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
        log.grid("conv1", "Conv2D", "filters", step, [kernel], source_shape=[3, 3, 3, 4],
                 channels=range(4), total_channels=4, symmetric=True)
        sep = rng.normal(size=(2, 4, 8, 8)).astype(np.float32)
        log.grid("block/sep", "SeparableConv2D", "activations", step, list(sep),
                 source_shape=[2, 8, 8, 6], channels=[0, 1, 4, 5], total_channels=6)
        pointwise = rng.normal(size=(1, 4, 6)).astype(np.float32)
        log.grid("block/sep", "SeparableConv2D", "pointwise", step, [pointwise],
                 source_shape=[1, 1, 4, 6], channels=range(6), total_channels=6,
                 layout="matrix", symmetric=True, input_channels=list(range(4)))
        if step >= 5:
            extra = rng.normal(size=(1, 2, 4, 4)).astype(np.float32)
            log.grid("extra", "Conv2D", "activations", step, list(extra),
                     source_shape=[1, 4, 4, 2], channels=[0, 1], total_channels=2)
            log.scalar(names.scalar_tag("conv1", "drift/relative_change"), step / 100, step)
            log.scalar(names.scalar_tag("block/sep", "drift/cosine_mean"),
                       float("nan") if step == 10 else 0.5, step)
        log.scalar(names.scalar_tag("conv1", "health/dead_fraction"), 0.25, step)
        # Neither a featureviz layer series nor a known group: not served.
        log.scalar("loss", 1.0 / (step + 1), step)
        log.scalar(names.scalar_tag("conv1", "other/thing"), 1.0, step)
    log.close()
    return log


def write_xss_run(logdir):
    """A run and layers named with HTML/script payloads and JSON escapes (grids at step 3)."""
    log = LogWriter(logdir, XSS_RUN)
    structure = {"version": 1, "model": XSS_RUN,
                 "layers": [structure_layer(0, XSS_LAYER, "Conv2D", [None, 4, 4, 2]),
                            structure_layer(1, QUOTE_LAYER, "Conv2D", [None, 4, 4, 2])]}
    log.structure(structure, 3)
    tiles = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)
    for layer in (XSS_LAYER, QUOTE_LAYER):
        log.grid(layer, "Conv2D", "activations", 3, list(tiles),
                 source_shape=[1, 4, 4, 2], channels=[0, 1], total_channels=2)
    log.close()
    return log


def write_long_run(logdir, run="long"):
    """One layer logged at 15 steps: more than TensorBoard keeps by default."""
    log = LogWriter(logdir, run)
    for step in LONG_STEPS:
        tiles = np.full((1, 1, 2, 2), float(step), np.float32)
        tiles[0, 0, 0, 0] = -1.0
        log.grid("conv", "Conv2D", "activations", step, list(tiles),
                 source_shape=[1, 2, 2, 1], channels=[0], total_channels=1)
    log.close()
    return log


def write_plain_run(logdir, run="plain"):
    """A run with only an ordinary scalar: no featureviz data."""
    log = LogWriter(logdir, run)
    log.scalar("loss", 0.5, 0)
    log.close()
    return log


def write_broken_run(logdir, run="broken"):
    """Layer ``bad``: a good grid at step 0; at step 1 an image whose record is not a record."""
    log = LogWriter(logdir, run)
    tiles = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
    log.grid("bad", "Conv2D", "activations", 0, list(tiles),
             source_shape=[1, 2, 2, 2], channels=[0, 1], total_channels=2)
    pngs, record = log.written[("bad", "activations", 0)]
    log.writer.write_grid("bad", "activations", 1, pngs, record["width"], record["height"],
                          ["valid JSON, but not a record"])
    log.extra_steps[("bad", "activations")] = 1
    log.close()
    return log


def write_logdir(logdir):
    """All test runs; returns ``{run: LogWriter}``."""
    logs = [write_cnn_run(logdir), write_xss_run(logdir), write_long_run(logdir),
            write_plain_run(logdir), write_broken_run(logdir)]
    return {log.run: log for log in logs}


# --------------------------------------------------------------------------
# TensorBoard apps


def plugin_loaders():
    """TensorBoard's core plugin (it defines the flags) and the featureviz loader."""
    from tensorboard.plugins.core import core_plugin

    from tb_featureviz.plugin.loader import FeatureVizLoader

    return [core_plugin.CorePluginLoader(), FeatureVizLoader()]


def tensorboard_flags(logdir, load_fast, samples_per_plugin=""):
    """Flags parsed by TensorBoard's own parser, as `tensorboard` parses them."""
    from tensorboard import program

    tb = program.TensorBoard(plugins=plugin_loaders())
    tb.configure(
        argv=[
            "tensorboard",
            f"--logdir={logdir}",
            f"--load_fast={'true' if load_fast else 'false'}",
            "--reload_interval=0",
            "--reload_task=blocking",
            f"--samples_per_plugin={samples_per_plugin}",
        ]
    )
    return tb.flags


def expected_listing(logs):
    """``{(plugin, run, tag): max_step}`` that a fully loaded provider lists."""
    out = {}
    for run, log in logs.items():
        for (layer, kind, step) in log.written:
            for plugin, tag in (("images", names.image_tag(layer, kind)),
                                ("featureviz", names.record_tag(layer, kind))):
                out[(plugin, run, tag)] = max(step, out.get((plugin, run, tag), step))
        for (layer, kind), step in log.extra_steps.items():
            for plugin, tag in (("images", names.image_tag(layer, kind)),
                                ("featureviz", names.record_tag(layer, kind))):
                out[(plugin, run, tag)] = max(step, out.get((plugin, run, tag), step))
        for tag, step in log.documents.items():
            out[("featureviz", run, tag)] = step
        for tag, points in log.scalars.items():
            out[("scalars", run, tag)] = max(s for s, _ in points)
    return out


def provider_listing(data_provider):
    from tensorboard import context

    ctx = context.RequestContext()
    out = {}
    for plugin, lister in (("images", data_provider.list_blob_sequences),
                           ("featureviz", data_provider.list_tensors),
                           ("scalars", data_provider.list_scalars)):
        for run, tags in lister(ctx, experiment_id="", plugin_name=plugin).items():
            for tag, series in tags.items():
                out[(plugin, run, tag)] = series.max_step
    return out


@contextlib.contextmanager
def tensorboard_app(logdir, expected, load_fast, samples_per_plugin="", timeout=120):
    """The TensorBoard WSGI app over ``logdir``, fully loaded.

    With ``load_fast`` the Rust data server is started as TensorBoard starts
    it, and the app is handed out once it lists ``expected`` (see
    :func:`expected_listing`: every tag at its last step; the server loads
    in the background); it is stopped on exit.

    Yields:
        ``(app, flags, ingester)``; ``ingester.deprecated_multiplexer`` lets a
        ``load_fast=false`` test reload by hand.
    """
    from tensorboard.backend import application
    from tensorboard.backend.event_processing import data_ingester
    from tensorboard.data import server_ingester

    flags = tensorboard_flags(logdir, load_fast, samples_per_plugin)
    ingester = None
    try:
        if load_fast:
            ingester = server_ingester.SubprocessServerDataIngester(
                server_binary=server_ingester.get_server_binary(),
                logdir=flags.logdir,
                reload_interval=flags.reload_interval,
                channel_creds_type=flags.grpc_creds_type,
                samples_per_plugin=flags.samples_per_plugin,
                extra_flags=shlex.split(flags.extra_data_server_flags),
            )
            ingester.start()
            multiplexer = None
            deadline = time.monotonic() + timeout
            while provider_listing(ingester.data_provider) != expected:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"data server did not load {logdir} in {timeout} s")
                time.sleep(0.1)
        else:
            ingester = data_ingester.LocalDataIngester(flags)
            ingester.start()
            multiplexer = ingester.deprecated_multiplexer
        app = application.TensorBoardWSGIApp(
            flags, plugin_loaders(), ingester.data_provider, None, multiplexer
        )
        yield app, flags, ingester
    finally:
        # The data server exits when its stdin closes (--die-after-stdin).
        handle = getattr(ingester, "_stdin_handle", None)
        if handle is not None:
            handle.close()


# --------------------------------------------------------------------------
# The real `tensorboard` program


def client_get(client, route, **params):
    """A GET of a plugin route through a werkzeug test client (``route`` may carry its query)."""
    query = urllib.parse.urlencode(params)
    return client.get(PREFIX + route + ("?" + query if query else ""))


def client_json(client, route, code=200, **params):
    """The JSON reply of a plugin route, checking its status and content type."""
    reply = client_get(client, route, **params)
    assert reply.status_code == code, reply.get_data(as_text=True)
    assert reply.headers["Content-Type"] == "application/json"
    return json.loads(reply.get_data())


def fetch_json(url, code=200, timeout=10):
    """The JSON reply of a GET over HTTP, checking its status and content type."""
    status, headers, body = fetch(url, timeout)
    assert status == code, body[:500]
    assert headers["Content-Type"] == "application/json"
    return json.loads(body)


def fetch(url, timeout=10):
    """``(status, headers, body)`` of a GET, without raising on 4xx/5xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


@contextlib.contextmanager
def tensorboard_process(logdir, load_fast, extra_args=(), timeout=90, path_prefix=""):
    """Run ``python -m tensorboard.main`` on 127.0.0.1 and a free port.

    Waits until ``/data/plugins_listing`` answers, yields the base url, and
    always stops the process (terminate, then kill) on exit. With
    ``path_prefix`` (e.g. ``"/proxy/tb"``, as notebooks and proxies serve
    TensorBoard) it passes ``--path_prefix`` and the base url ends with it:
    TensorBoard answers nothing outside the prefix.
    """
    port = free_port()
    args = [
        sys.executable, "-m", "tensorboard.main",
        "--logdir", logdir,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--load_fast", "true" if load_fast else "false",
        *(("--path_prefix", path_prefix) if path_prefix else ()),
        *extra_args,
    ]
    # Output goes to a file: an unread pipe would block TensorBoard once full.
    output = tempfile.TemporaryFile()
    process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}{path_prefix}"

    def printed():
        output.seek(0)
        return output.read().decode("utf-8", "replace")[-6000:]

    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"tensorboard exited with {process.returncode}:\n{printed()}")
            try:
                status, _, _ = fetch(base + "/data/plugins_listing", timeout=2)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"tensorboard did not answer on {base} in {timeout} s:\n{printed()}")
            time.sleep(0.25)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        output.close()
