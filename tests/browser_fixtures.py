"""Helpers for the browser tests of the Feature maps panel.

They write log directories (synthetic records through the package's own
writer, or real ones through ``FeatureVizLogger``), start a real
``tensorboard`` process on a free loopback port, and launch Debian's
Chromium through Playwright. Nothing here is imported by the package. The
``browser`` and ``page`` fixtures built on :func:`chromium` and
:func:`watched_page` are registered by ``tests/browser/conftest.py``;
``docs/screenshots/make_screenshots.py`` uses these helpers too.
"""

import contextlib
import os
import re
import time
import urllib.error
import urllib.parse

import numpy as np
from playwright.sync_api import expect, sync_playwright

from tests import plugin_fixtures as pf

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


#: The layer of the synthetic run with a ``features`` grid, its channels
#: (channel 1 has none) and their quality figures at the last step: channel 2
#: is a likely failed visualisation (ratio under 2), channel 5's noise
#: objective was 0 (no ratio).
FEATURES_LAYER = "block1_conv1"
FEATURE_CHANNELS = [0, 2, 3, 5]
FEATURE_QUALITY = {"objective": [11.7, 1.5, 4.0, 0.25],
                   "noise_objective": [0.5, 1.0, 1.0, 0.0],
                   "ratio": [23.4, 1.5, 4.0, None]}
#: How the last step's feature visualizations were made (a model with a
#: fixed input size: the canvas differs from the image's size).
FEATURE_OPTIMISATION = {"objective": "channel", "steps": 64, "size": 128, "canvas": 299,
                        "seed": 0, "learning_rate": 0.05}
#: ... and the first step's, as a hostile or broken log might hold it: an
#: objective that is markup, steps as a string, a negative learning rate, no
#: canvas (an older log); only ``size`` and ``seed`` are readable.
FEATURE_OPTIMISATION_FIRST = {"objective": SCRIPT_LAYER, "steps": "64", "size": 96, "seed": 3,
                              "learning_rate": -1}


def write_synthetic_logs(logdir, steps=12, run="featureviz"):
    """Write a small featureviz run through the plugin tests' ``LogWriter``.

    The run holds a model structure with a block-grouped layer list, a
    nested model, a layer whose name is an HTML payload, two probe images,
    activations and filters over ``steps`` logged steps and drift/health
    scalars, and a ``features`` grid of :data:`FEATURES_LAYER` (RGB tiles
    with quality figures) at the first and the last step.

    Returns:
        dict with the layer names, the steps written and the
        ``LogWriter`` (``log.written`` holds every record).
    """
    from tb_featureviz import names

    layer = pf.structure_layer
    layers = [
        layer(0, "block1_conv1", "Conv2D", [None, 16, 16, 8], {"kernel": [3, 3, 3, 8]}),
        layer(1, "block1_conv2", "Conv2D", [None, 16, 16, 12], {"kernel": [3, 3, 8, 12]}),
        layer(2, "block2_pool", "MaxPooling2D", [None, 8, 8, 12]),
        layer(3, "inner", "Functional", [None, 8, 8, 6], is_model=True),
        layer(4, "inner/block3_sepconv1", "SeparableConv2D", [None, 8, 8, 6],
              {"depthwise_kernel": [3, 3, 12, 1], "pointwise_kernel": [1, 1, 12, 6]}),
        layer(5, SCRIPT_LAYER, "Conv2D", [None, 8, 8, 4], {"kernel": [3, 3, 6, 4]}),
        layer(6, "dense", "Dense", [None, 10], {"kernel": [384, 10]}, spatial=False),
    ]
    rng = np.random.default_rng(0)
    log = pf.LogWriter(logdir, run)
    all_steps = [i * 5 for i in range(steps)]
    probe = rng.integers(0, 256, size=(2, 1, 16, 16, 3)).astype(np.float32)
    for seq, step in enumerate(all_steps):
        if seq == 0:
            log.structure({"version": 1, "model": "synthetic", "layers": layers}, step)
        log.grid(names.PROBE_LAYER, None, "probe", step, list(probe), source_shape=[2, 16, 16, 3],
                 channels=[0], total_channels=1, scale="fixed", value_range=(0, 255), pad=0)
        for position, doc in enumerate(d for d in layers if d["spatial"] and not d["is_model"]):
            name, cls = doc["name"], doc["class"]
            h, w, c = doc["output_shape"][1:]
            acts = rng.normal(size=(2, c, h, w)).astype(np.float32) + seq * 0.1
            log.grid(name, cls, "activations", step, list(acts), source_shape=[2, h, w, c],
                     channels=range(c), total_channels=c)
            if cls == "Conv2D":
                kernel = rng.normal(size=(1, c, 3, 3)).astype(np.float32)
                log.grid(name, cls, "filters", step, list(kernel), source_shape=[3, 3, 1, c],
                         channels=range(c), total_channels=c, symmetric=True)
            if name == FEATURES_LAYER and step in (all_steps[0], all_steps[-1]):
                _write_features(log, rng, name, cls, step, c, last=step == all_steps[-1])
            log.scalar(names.scalar_tag(name, "drift/relative_change"),
                       0.01 * seq * (1 + position), step)
            log.scalar(names.scalar_tag(name, "health/dead_fraction"),
                       float(rng.uniform(0, 0.3)), step)
    log.close()
    return {"layers": [d["name"] for d in layers], "steps": all_steps, "run": run, "log": log}


def _write_features(log, rng, name, cls, step, total, last):
    """A ``features`` grid as the feature-visualization engine writes it.

    RGB tiles of 12x12 pixels, fixed scale 0..255, one per channel of
    :data:`FEATURE_CHANNELS`, and the record's ``quality`` figures (at the
    first step every ratio is high: the newest grid is the one that counts)
    and ``optimisation`` (:data:`FEATURE_OPTIMISATION`, at the first step
    :data:`FEATURE_OPTIMISATION_FIRST`).
    """
    images = rng.integers(0, 256, size=(len(FEATURE_CHANNELS), 12, 12, 3)).astype(np.float32)
    quality = FEATURE_QUALITY if last else {
        "objective": [9.0] * len(FEATURE_CHANNELS), "noise_objective": [1.0] * len(FEATURE_CHANNELS),
        "ratio": [9.0] * len(FEATURE_CHANNELS)}
    log.grid(name, cls, "features", step, [images], source_shape=[len(FEATURE_CHANNELS), 12, 12, 3],
             channels=FEATURE_CHANNELS, total_channels=total, scale="fixed", value_range=(0, 255),
             extra={"quality": quality,
                    "optimisation": FEATURE_OPTIMISATION if last else FEATURE_OPTIMISATION_FIRST})


def write_runs(tmp_path_factory, name, **writers):
    """Run each writer on one new log directory: ``{"logdir": path, key: what writer ``key`` returned}``."""
    path = str(tmp_path_factory.mktemp(name))
    return {"logdir": path, **{key: write(path) for key, write in writers.items()}}


def write_grid_jobs(logdir, run, step, jobs):
    """Write ``jobs`` (GridJobs made by hand, e.g. records the panel must refuse) as ``run``'s ``step``."""
    from tb_featureviz import FeatureVizLogger

    logger = FeatureVizLogger(logdir, run=run, workers=1)
    try:
        logger.write(step, jobs)
    finally:
        logger.close()


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
    from tb_featureviz import names

    for name, w0 in start.items():
        w = _find_layer(model, name).get_weights()[0]
        change = float(np.linalg.norm(w - w0) / max(np.linalg.norm(w0), 1e-12))
        logger.log_scalar(names.scalar_tag(name, "drift/relative_change"), change, step)
    for record in records:
        if record.get("sample", 0) != 0 or record["kind"] != "activations":
            continue
        zero = record["stats"]["zero_fraction"]
        dead = sum(1 for z in zero if z is not None and z >= 1.0) / max(len(zero), 1)
        logger.log_scalar(names.scalar_tag(record["layer"], "health/dead_fraction"), dead, step)


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


def write_fine_tuning_logs(logdir, run="featureviz", seed=0):
    """Two ``fit`` calls with one ``FeatureVizCallback``: the usual fine-tuning.

    The model is ``tests.models.nested_cnn`` (a base model ``base`` nested in
    a classifier). Phase 1 trains with the base frozen for 2 epochs; then
    ``base.trainable = True`` with ``base/block1_conv1`` kept frozen (the
    "unfreeze the top only" recipe), a recompile, and phase 2 trains 2 more
    epochs with the same callback. 16 samples in batches of 8: the callback
    logs steps 0, 2, 4, 6, 8 and records the unfreezing as an event at step 4.

    Returns:
        dict with the ``run`` name and its directory ``run_dir``.
    """
    import keras

    from tb_featureviz import FeatureVizCallback
    from tests.models import gradient_image, nested_cnn

    model = nested_cnn(seed=seed)
    base = model.get_layer("base")
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (16, 16, 16, 3)).astype(np.float32)
    y = rng.normal(size=(16, 2)).astype(np.float32)
    callback = FeatureVizCallback(logdir, gradient_image(), run=run)
    base.trainable = False
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    base.trainable = True
    base.get_layer("block1_conv1").trainable = False
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    return {"run": run, "run_dir": callback.run_dir}


# --------------------------------------------------------------------------
# TensorBoard process


class TensorBoardServer:
    """A running ``tensorboard`` (from :func:`tensorboard_server`): its url and GETs."""

    def __init__(self, url):
        self.url = url

    def get(self, path):
        status, _, body = pf.fetch(self.url + path, timeout=30)
        if status != 200:
            raise urllib.error.HTTPError(self.url + path, status, body[:200].decode(), None, None)
        return body

    def get_json(self, path):
        return pf.fetch_json(self.url + path)


@contextlib.contextmanager
def tensorboard_server(logdir, timeout=120, path_prefix=""):
    """A real ``tensorboard`` over ``logdir`` on 127.0.0.1, once it lists featureviz runs.

    Uses the plugin tests' process helper (free port, always stopped) with
    the data server TensorBoard picks by default here (``--load_fast=true``).
    With ``path_prefix`` TensorBoard serves under it (``--path_prefix``) and
    the server's ``url`` ends with the prefix.
    """
    with pf.tensorboard_process(logdir, load_fast=True, extra_args=("--reload_interval", "0"),
                                timeout=timeout, path_prefix=path_prefix) as url:
        server = TensorBoardServer(url)
        deadline = time.monotonic() + timeout
        while not server.get_json("/data/plugin/featureviz/runs").get("runs"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"tensorboard at {url} listed no featureviz run in {timeout} s")
            time.sleep(0.25)
        yield server


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
    """Pixels of a canvas as an [H, W, 4] uint8 array, once the panel has put the canvas in the page.

    The panel adds some canvases when their data arrives (the channel
    view's related figures): reading before then found no element.
    """
    frame.wait_for_selector(selector, state="attached")
    data = frame.evaluate(
        """(sel) => {
          const c = document.querySelector(sel);
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          return {w: c.width, h: c.height, data: Array.from(d)};
        }""",
        selector,
    )
    return np.array(data["data"], dtype=np.uint8).reshape(data["h"], data["w"], 4)
