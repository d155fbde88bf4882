"""Helpers for the browser tests of the Feature maps panel.

They write log directories (synthetic records through the package's own
writer, or real ones through ``FeatureVizLogger``), start a real
``tensorboard`` process on a free loopback port, and launch Debian's
Chromium through Playwright. Nothing here is imported by the package.
"""

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
from playwright.sync_api import expect, sync_playwright

#: A layer name that would run a script if the panel used innerHTML.
SCRIPT_LAYER = "<img src=x onerror=alert(1)>"

CHROMIUM = os.environ.get("FEATUREVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def artifacts_dir():
    """Directory for screenshots, from ``FEATUREVIZ_ARTIFACTS`` (created)."""
    path = os.environ.get("FEATUREVIZ_ARTIFACTS", "test-artifacts")
    os.makedirs(path, exist_ok=True)
    return path


# --------------------------------------------------------------------------
# Synthetic logs: the on-disk format of docs/format.md, written directly.


def _layer_doc(index, name, cls, output_shape, kernel_shapes=None, is_model=False):
    parts = name.split("/")
    return {
        "index": index,
        "name": name,
        "class": cls,
        "path": parts[:-1] if not name.startswith("<") else [],
        "output_shape": output_shape,
        "kernel_shapes": kernel_shapes or {},
        "spatial": len(output_shape) == 4,
        "trainable": True,
        "is_model": is_model,
    }


def _record(layer, cls, kind, step, sequence, grid_list, source_shape, channels, *,
            symmetric=False, layout="tiles", total=None, input_channels=None):
    first = grid_list[0]
    image = first.image
    depth = 1 if image.ndim == 2 else image.shape[2]
    samples = []
    for grid in grid_list:
        samples.append({
            "lo": _floats(grid.lo),
            "hi": _floats(grid.hi),
            "nonfinite": grid.nonfinite,
            "stats": {
                "mean": _floats((grid.lo + grid.hi) / 2),
                "zero_fraction": [0.0] * len(grid.lo),
                "nonfinite_fraction": [0.0] * len(grid.lo),
            },
        })
    return {
        "version": 1,
        "layer": layer,
        "class": cls,
        "kind": kind,
        "step": step,
        "sequence": sequence,
        "layout": layout,
        "scale": "channel",
        "symmetric": symmetric,
        "source_shape": list(source_shape),
        "width": int(image.shape[1]),
        "height": int(image.shape[0]),
        "depth": depth,
        "rows": first.rows,
        "cols": first.cols,
        "tile_height": first.tile_height,
        "tile_width": first.tile_width,
        "pad": first.pad,
        "channels": list(channels),
        "total_channels": total if total is not None else len(channels),
        "input_channels": input_channels,
        "samples": samples,
    }


def _floats(values):
    from tb_featureviz.summary import json_floats

    return json_floats(values)


def _write_grids(writer, layer, cls, kind, step, sequence, tiles_per_sample, source_shape,
                 **kw):
    from tb_featureviz import grids, summary

    grid_list = [
        grids.make_grid(t, symmetric=kw.get("symmetric", False)) for t in tiles_per_sample
    ]
    pngs = [summary.encode_png(g.image) for g in grid_list]
    record = _record(layer, cls, kind, step, sequence, grid_list, source_shape,
                     range(tiles_per_sample[0].shape[0]), **kw)
    writer.write_grid(layer, kind, step, pngs, record["width"], record["height"], record)


def write_synthetic_logs(logdir, steps=12, run="featureviz"):
    """Write a small featureviz run with the package's own writer.

    The run holds a model structure with a block-grouped layer list, a
    nested model, a layer whose name is an HTML payload, two probe images,
    activations and filters over ``steps`` logged steps (more than the 10
    TensorBoard keeps by default) and drift/health scalars.

    Returns:
        dict with the layer names and the steps written.
    """
    from tb_featureviz import metadata
    from tb_featureviz.summary import SummaryWriter

    rng = np.random.default_rng(0)
    writer = SummaryWriter(os.path.join(logdir, run))
    layers = [
        _layer_doc(0, "block1_conv1", "Conv2D", [None, 16, 16, 8], {"kernel": [3, 3, 3, 8]}),
        _layer_doc(1, "block1_conv2", "Conv2D", [None, 16, 16, 12], {"kernel": [3, 3, 8, 12]}),
        _layer_doc(2, "block2_pool", "MaxPooling2D", [None, 8, 8, 12]),
        _layer_doc(3, "inner", "Functional", [None, 8, 8, 6], is_model=True),
        _layer_doc(4, "inner/block3_sepconv1", "SeparableConv2D", [None, 8, 8, 6],
                   {"depthwise_kernel": [3, 3, 12, 1], "pointwise_kernel": [1, 1, 12, 6]}),
        _layer_doc(5, SCRIPT_LAYER, "Conv2D", [None, 8, 8, 4], {"kernel": [3, 3, 6, 4]}),
        _layer_doc(6, "dense", "Dense", [None, 10], {"kernel": [384, 10]}),
    ]
    spatial = [(d["name"], d["class"], d["output_shape"]) for d in layers
               if d["spatial"] and not d["is_model"]]
    probe = [rng.integers(0, 256, size=(16, 16, 3)).astype(np.float32) for _ in range(2)]
    all_steps = [i * 5 for i in range(steps)]
    from tb_featureviz import grids, summary

    for seq, step in enumerate(all_steps):
        if seq == 0:
            writer.write_structure({"version": 1, "model": "synthetic", "layers": layers}, step)
        probe_grids = [grids.make_grid(p[None], scale="fixed", value_range=(0, 255)) for p in probe]
        record = _record("_probe", "Probe", "probe", step, seq, probe_grids, [2, 16, 16, 3], [0])
        record["samples"] = [dict(s, lo=[0.0], hi=[255.0]) for s in record["samples"]]
        writer.write_grid("_probe", "probe", step,
                          [summary.encode_png(g.image.astype(np.uint8)) for g in probe_grids],
                          16, 16, record)
        for name, cls, shape in spatial:
            h, w, c = shape[1:]
            acts = [rng.normal(size=(c, h, w)).astype(np.float32) + seq * 0.1 for _ in range(2)]
            _write_grids(writer, name, cls, "activations", step, seq, acts, [2, h, w, c])
            if cls == "Conv2D":
                k = rng.normal(size=(c, 3, 3)).astype(np.float32)
                _write_grids(writer, name, cls, "filters", step, seq, [k], [3, 3, 1, c],
                             symmetric=True)
            writer.write_scalar(metadata.scalar_tag(name, "drift/relative_change"),
                                0.01 * seq * (1 + spatial.index((name, cls, shape))), step)
            writer.write_scalar(metadata.scalar_tag(name, "health/dead_fraction"),
                                float(rng.uniform(0, 0.3)), step)
    writer.close()
    return {"layers": [d["name"] for d in layers], "steps": all_steps, "run": run}


def write_logger_logs(logdir, run="cnn", steps=12, seed=0, drift=True):
    """Write a run with ``FeatureVizLogger`` over a small Keras CNN trained a bit.

    Each step trains one epoch, then logs filters and activations of two
    probe images. With ``drift`` it also writes the per-layer drift and
    dead-channel scalars (what the callback writes) through the logger.
    """
    import keras
    from tb_featureviz.logger import FeatureVizLogger

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="block1_conv1"),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="block1_conv2"),
        keras.layers.MaxPooling2D(name="block1_pool"),
        keras.layers.SeparableConv2D(16, 3, padding="same", activation="relu",
                                     name="block2_sepconv1"),
        keras.layers.GlobalAveragePooling2D(name="pool"),
        keras.layers.Dense(3, name="predictions"),
    ], name="cnn")
    model.compile(keras.optimizers.SGD(0.05), "mse")
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, size=(2, 32, 32, 3)).astype(np.float32)
    x = rng.normal(size=(32, 32, 32, 3)).astype(np.float32)
    y = rng.normal(size=(32, 3)).astype(np.float32)
    start = _kernels(model)
    logger = FeatureVizLogger(logdir, run=run)
    try:
        for step in range(steps):
            if step:
                model.fit(x, y, epochs=1, batch_size=8, verbose=0)
            logger.log_filters(model, step)
            records = logger.log_activations(model, images, step)
            if drift:
                _drift_and_health(logger, model, start, records, step)
    finally:
        logger.close()
    return {"run": run, "steps": list(range(steps))}


def _drift_and_health(logger, model, start, records, step):
    """Write the drift and dead-channel scalars the callback would write."""
    from tb_featureviz import metadata

    for name, w0 in start.items():
        w = _find_layer(model, name).get_weights()[0]
        change = float(np.linalg.norm(w - w0) / max(np.linalg.norm(w0), 1e-12))
        logger.log_scalar(metadata.scalar_tag(name, "drift/relative_change"), change, step)
    for record in records:
        if record.get("sample", 0) != 0 or record["kind"] != "activations":
            continue
        zero = record["stats"]["zero_fraction"]
        dead = sum(1 for z in zero if z is not None and z >= 1.0) / max(len(zero), 1)
        logger.log_scalar(metadata.scalar_tag(record["layer"], "health/dead_fraction"), dead, step)


def _find_layer(model, qualified):
    layer = model
    for part in qualified.split("/"):
        layer = layer.get_layer(part)
    return layer


def _kernels(model, prefix=""):
    """``{qualified name: first weight}`` of every layer with weights, nested included."""
    out = {}
    for layer in model.layers:
        name = prefix + layer.name
        if hasattr(layer, "layers") and layer.layers:
            out.update(_kernels(layer, name + "/"))
        elif layer.get_weights():
            out[name] = layer.get_weights()[0].copy()
    return out


def write_xception_logs(logdir, run="xception", steps=3):
    """Log ``keras.applications.Xception(weights=None)`` nested in a classifier.

    Between steps the top blocks and the head are nudged, as fine-tuning
    moves them; probe images are the package's two sample photos.
    """
    import keras
    from PIL import Image

    from tb_featureviz.logger import FeatureVizLogger

    keras.utils.set_random_seed(0)
    base = keras.applications.Xception(weights=None, include_top=False,
                                       input_shape=(299, 299, 3))
    inputs = keras.Input((299, 299, 3))
    x = base(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = keras.layers.Dense(5, name="predictions")(x)
    model = keras.Model(inputs, outputs, name="classifier")
    data = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "tb_featureviz", "data")
    images = [np.asarray(Image.open(os.path.join(data, f"{name}.png")).convert("RGB"))
              for name in ("chelsea", "astronaut")]
    start = _kernels(model)
    rng = np.random.default_rng(0)
    nudge = {"block14": 0.08, "block13": 0.04, "predictions": 0.12}
    logger = FeatureVizLogger(logdir, run=run, max_channels=64)
    try:
        for step in range(steps):
            if step:
                for name in start:
                    scale = next((v for k, v in nudge.items() if k in name), 0.0)
                    if not scale:
                        continue
                    layer = _find_layer(model, name)
                    weights = layer.get_weights()
                    w = weights[0]
                    weights[0] = (w + scale * w.std() * rng.normal(size=w.shape)).astype(w.dtype)
                    layer.set_weights(weights)
            logger.log_filters(model, step)
            records = logger.log_activations(
                model, images, step, preprocess=keras.applications.xception.preprocess_input)
            _drift_and_health(logger, model, start, records, step)
    finally:
        logger.close()
    return {"run": run, "steps": list(range(steps))}


# --------------------------------------------------------------------------
# TensorBoard process


def free_port():
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TensorBoardProcess:
    """A ``tensorboard`` process on 127.0.0.1 over ``logdir``; stop() ends it."""

    def __init__(self, logdir, extra_args=(), timeout=120):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(logdir, f"tensorboard-{self.port}.out")
        self._log = open(self.log_path, "wb")
        cmd = [
            sys.executable, "-m", "tensorboard.main",
            "--logdir", logdir,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--reload_interval", "0",
            *extra_args,
        ]
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self._wait(timeout)

    def _wait(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tensorboard exited early:\n{self.output()}")
            try:
                runs = self.get_json("/data/plugin/featureviz/runs")
                if runs.get("runs"):
                    return
            except (urllib.error.URLError, ConnectionError, ValueError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"tensorboard did not serve featureviz runs in {timeout}s:\n"
                           f"{self.output()}")

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return response.read()

    def get_json(self, path):
        return json.loads(self.get(path))

    def output(self):
        self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


# --------------------------------------------------------------------------
# Browser


def launch_chromium(playwright):
    """Launch Debian's Chromium headless (never a downloaded browser)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                      headless=True)


class ConsoleWatch:
    """Collects console errors, page errors and dialogs of a page and its frames."""

    def __init__(self, page):
        self.errors = []
        self.dialogs = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("dialog", self._dialog)

    def _console(self, message):
        if message.type in ("error", "assert"):
            self.errors.append(f"console {message.type}: {message.text} @ {message.location}")

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def plugin_frame(page, timeout=30000):
    """The panel's iframe (plugin_entry.html?name=featureviz) once rendered."""
    page.wait_for_selector("iframe", timeout=timeout)
    deadline = time.monotonic() + timeout / 1000
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "plugin_entry.html" in frame.url and "featureviz" in frame.url:
                return frame
        page.wait_for_timeout(100)  # lets Playwright process frame events
    raise AssertionError(f"no featureviz iframe; frames: {[f.url for f in page.frames]}")


@contextlib.contextmanager
def chromium():
    """A headless Debian Chromium for the duration of the block."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def watched_page(browser, viewport=None, **context_options):
    """A page in a fresh context; fails on console errors or dialogs at exit.

    ``page.watch`` is the :class:`ConsoleWatch`; a test that provokes an
    expected error removes it from ``page.watch.errors``.
    """
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800},
                                  **context_options)
    page = context.new_page()
    page.set_default_timeout(20000)
    page.watch = ConsoleWatch(page)
    try:
        yield page
    finally:
        context.close()
    assert page.watch.dialogs == [], f"a dialog opened: {page.watch.dialogs}"
    assert page.watch.errors == [], "console errors:\n" + "\n".join(page.watch.errors)


def open_panel(page, tensorboard, hash_state=""):
    """Open TensorBoard on the Feature maps tab; return the panel's frame."""
    page.goto(f"{tensorboard.url}/#featureviz{hash_state}")
    frame = plugin_frame(page)
    expect(frame.locator('[data-testid="layer-item"]').first).to_be_attached()
    return frame


def shown_step(frame):
    text = frame.locator('[data-testid="step-label"]').text_content()
    return int(re.search(r"\d+", text).group())


def wait_grid(frame, layer, kind_label, step=None):
    """Wait until the main pane shows `layer`'s grid (at `step`)."""
    expect(frame.locator(".fv-layer-title")).to_have_text(layer)
    caption = frame.locator(".fv-main-pane .fv-pane-caption")
    step_text = str(step) if step is not None else r"\d+"
    pattern = rf"{kind_label} · step {step_text}\b"
    expect(caption).to_have_text(re.compile(pattern))
    expect(frame.locator('[data-testid="grid-view"]')).not_to_have_attribute("aria-busy", "true")


def frame_state(frame):
    """The state the panel wrote to its own location.hash."""
    hash_text = frame.evaluate("() => location.hash").lstrip("#")
    return dict(urllib.parse.parse_qsl(hash_text))


def canvas_rgba(frame, selector):
    """Pixels of a canvas as an [H, W, 4] uint8 array."""
    data = frame.evaluate(
        """(sel) => {
          const c = document.querySelector(sel);
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          return {w: c.width, h: c.height, data: Array.from(d)};
        }""",
        selector,
    )
    return np.array(data["data"], dtype=np.uint8).reshape(data["h"], data["w"], 4)
