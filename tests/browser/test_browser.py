"""End-to-end tests of the Feature maps panel in headless Chromium.

One real ``tensorboard`` process (started on 127.0.0.1 over a log directory
written by ``FeatureVizLogger``, plus a synthetic run holding a layer named
like an HTML payload) serves the whole module; Playwright drives Debian's
Chromium (never a downloaded browser). Every test fails on a console error
or a JavaScript dialog in the page or the plugin's iframe.
"""

import io
import json
import os
import re
import urllib.parse

import numpy as np
import pytest

# Not importorskip: these tests must run (and fail loudly) wherever the main suite runs
# (tests/conftest.py leaves this folder out only where neither Playwright nor TensorFlow is).
from playwright.sync_api import expect

from tests import browser_fixtures as bf
from tests.browser_fixtures import canvas_rgba, frame_state, open_panel, shown_step, wait_grid

CNN_STEPS = 12  # more than the 10 samples TensorBoard keeps by default


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("logs")
    bf.write_logger_logs(str(path), run="cnn", steps=CNN_STEPS, seed=0)
    bf.write_logger_logs(str(path), run="cnn_b", steps=4, seed=1, drift=False)
    bf.write_synthetic_logs(str(path), steps=3, run="synthetic")
    return str(path)


def served_png(tensorboard, run, layer, kind, step, sample=0):
    """The grid record and the decoded PNG exactly as the plugin serves them."""
    from PIL import Image

    query = urllib.parse.urlencode(
        {"run": run, "layer": layer, "kind": kind, "step": step, "sample": sample}
    )
    grid = tensorboard.get_json(f"/data/plugin/featureviz/grid?{query}")
    image = Image.open(io.BytesIO(tensorboard.get("/data/plugin/featureviz/" + grid["image_url"])))
    return grid, np.asarray(image)


def test_tab_lists_layers_in_model_order(page, tensorboard):
    page.goto(tensorboard.url + "/")
    page.get_by_text("Feature maps", exact=False).first.click()
    frame = bf.plugin_frame(page)
    expect(frame.locator('[data-testid="run-select"]')).to_have_value("cnn")
    doc = tensorboard.get_json("/data/plugin/featureviz/layers?run=cnn")
    items = frame.locator('[data-testid="layer-item"]')
    expect(items).to_have_count(len(doc["layers"]))
    texts = items.all_text_contents()
    for text, layer in zip(texts, doc["layers"]):
        assert layer["name"] in text
        assert layer["class"] in text
    # Layers sharing a blockN_ prefix are grouped under that block.
    block1 = frame.locator(".fv-group-block", has_text="block1")
    expect(block1.locator('[data-testid="layer-item"]')).to_have_count(
        sum(1 for layer in doc["layers"] if layer["name"].startswith("block1_"))
    )
    # The filter box narrows the list.
    frame.locator('[data-testid="layer-filter"]').fill("sepconv")
    expect(frame.locator('[data-testid="layer-item"]:visible')).to_have_count(
        sum(1 for layer in doc["layers"] if "sepconv" in layer["name"].lower()
            or "sepconv" in layer["class"].lower())
    )
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "tab-opened.png"))


def test_pick_layer_by_click_and_keyboard(page, tensorboard):
    frame = open_panel(page, tensorboard)
    items = frame.locator('[data-testid="layer-item"]')
    names = [t.strip() for t in frame.locator('[data-testid="layer-item"] .fv-lname').all_text_contents()]
    frame.locator('[data-testid="layer-item"]', has_text="block1_conv2").click()
    wait_grid(frame, "block1_conv2", "Activations")
    assert frame_state(frame)["layer"] == "block1_conv2"
    expect(items.nth(names.index("block1_conv2"))).to_have_attribute("aria-selected", "true")

    page.keyboard.press("j")
    expected = names[names.index("block1_conv2") + 1]
    expect(frame.locator(".fv-layer-title")).to_have_text(expected)
    page.keyboard.press("ArrowDown")
    expect(frame.locator(".fv-layer-title")).to_have_text(names[names.index(expected) + 1])
    page.keyboard.press("k")
    page.keyboard.press("ArrowUp")
    wait_grid(frame, "block1_conv2", "Activations")
    assert frame_state(frame)["layer"] == "block1_conv2"
    # The parent's hash carries the state too (it survives a reload of TensorBoard).
    assert "fv-layer=block1_conv2" in page.url


def test_step_slider_and_sampling_note(page, tensorboard):
    frame = open_panel(page, tensorboard, "&fv-run=cnn&fv-layer=block1_conv1&fv-kind=activations")
    doc = tensorboard.get_json("/data/plugin/featureviz/layers?run=cnn")
    info = next(l for l in doc["layers"] if l["name"] == "block1_conv1")["kinds"]["activations"]
    steps = sorted(info["steps"])
    wait_grid(frame, "block1_conv1", "Activations", steps[-1])
    slider = frame.locator('[data-testid="step-slider"]')
    expect(slider).to_have_attribute("max", str(len(steps) - 1))

    slider.focus()
    page.keyboard.press("ArrowLeft")
    wait_grid(frame, "block1_conv1", "Activations", steps[-2])
    assert frame_state(frame)["step"] == str(steps[-2])
    # Left/right also work when the slider is not focused.
    frame.locator(".fv-layer-title").click()
    page.keyboard.press("ArrowLeft")
    wait_grid(frame, "block1_conv1", "Activations", steps[-3])
    page.keyboard.press("ArrowRight")
    wait_grid(frame, "block1_conv1", "Activations", steps[-2])
    slider.fill("0")
    wait_grid(frame, "block1_conv1", "Activations", steps[0])
    assert shown_step(frame) == steps[0]

    # TensorBoard kept 10 of the 12 logged steps: the panel says so and how to keep all.
    assert info["written"] == CNN_STEPS and len(steps) < CNN_STEPS
    note = frame.locator('[data-testid="sampling-note"]')
    expect(note).to_be_visible()
    expect(note).to_contain_text(f"kept {len(steps)} of {CNN_STEPS} samples")
    expect(note).to_contain_text("--samples_per_plugin=images=0,featureviz=0")


def test_channel_zoom_draws_the_served_pixels(page, tensorboard):
    frame = open_panel(page, tensorboard,
                       "&fv-run=cnn&fv-layer=block1_conv2&fv-kind=activations&fv-cmap=grey")
    wait_grid(frame, "block1_conv2", "Activations")
    step = shown_step(frame)
    grid, png = served_png(tensorboard, "cnn", "block1_conv2", "activations", step)
    tile = 3
    row, col = divmod(tile, grid["cols"])
    y0 = row * (grid["tile_height"] + grid["pad"])
    x0 = col * (grid["tile_width"] + grid["pad"])

    # Hovering a tile names its channel and value range.
    canvas = frame.locator(".fv-main-pane canvas")
    box = canvas.bounding_box()
    scale = box["width"] / grid["width"]
    assert scale >= 1 and scale == int(scale), "auto zoom keeps whole pixels"
    point = {"x": (x0 + grid["tile_width"] / 2) * scale, "y": (y0 + grid["tile_height"] / 2) * scale}
    canvas.hover(position=point)
    tooltip = frame.locator('.fv-main-pane [data-testid="tile-tooltip"]')
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(f"channel {grid['channels'][tile]}")
    expect(tooltip).to_contain_text("range")

    # The grid canvas draws the PNG's pixels in grey, pad lines transparent.
    drawn = canvas_rgba(frame, '.fv-main-pane canvas')
    assert drawn.shape[:2] == png.shape[:2]
    tile_px = png[y0:y0 + grid["tile_height"], x0:x0 + grid["tile_width"]]
    np.testing.assert_array_equal(
        drawn[y0:y0 + grid["tile_height"], x0:x0 + grid["tile_width"], 0], tile_px)

    # A click opens the channel large: exactly the tile's pixels.
    canvas.click(position=point)
    view = frame.locator('[data-testid="channel-view"]')
    expect(view).to_be_visible()
    expect(view.locator(".fv-channel-title")).to_have_text(f"channel {grid['channels'][tile]}")
    zoomed = canvas_rgba(frame, '[data-testid="channel-canvas"]')
    assert zoomed.shape == (grid["tile_height"], grid["tile_width"], 4)
    np.testing.assert_array_equal(zoomed[..., 0], tile_px)
    np.testing.assert_array_equal(zoomed[..., 1], tile_px)
    np.testing.assert_array_equal(zoomed[..., 3], 255)
    assert frame_state(frame)["channel"] == str(grid["channels"][tile])

    # The colour scale is labelled with the tile's real lo/hi.
    labels = view.locator(".fv-scale-labels span").all_text_contents()
    lo, hi = grid["lo"][tile], grid["hi"][tile]
    assert float(labels[0]) == pytest.approx(lo, rel=1e-3, abs=1e-6)
    assert float(labels[-1]) == pytest.approx(hi, rel=1e-3, abs=1e-6)
    expect(view.locator(".fv-stats")).to_contain_text("mean")

    # The same channel at the other kept steps, side by side.
    strip = view.locator('[data-testid="channel-steps"] figure')
    expect(strip).to_have_count(min(len(grid["steps"]), 12))
    expect(view.locator('[data-testid="channel-steps"] canvas')).to_have_count(
        min(len(grid["steps"]), 12))
    # Their pixels match the served PNG at that step too.
    other = sorted(grid["steps"])[0]
    other_grid, other_png = served_png(tensorboard, "cnn", "block1_conv2", "activations", other)
    first = canvas_rgba(frame, '[data-testid="channel-steps"] figure:first-child canvas')
    oy = row * (other_grid["tile_height"] + other_grid["pad"])
    ox = col * (other_grid["tile_width"] + other_grid["pad"])
    np.testing.assert_array_equal(
        first[..., 0], other_png[oy:oy + other_grid["tile_height"], ox:ox + other_grid["tile_width"]])

    # Switching the colour map recolours on the canvas without a request.
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    frame.locator('[data-testid="cmap-select"]').select_option("viridis")
    expect(frame.locator('[data-testid="cmap-select"]')).to_have_value("viridis")
    recoloured = canvas_rgba(frame, '[data-testid="channel-canvas"]')
    assert not np.array_equal(recoloured[..., 0], recoloured[..., 1])
    assert not [u for u in requests if "/featureviz/" in u]
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "channel-zoom.png"))

    # Zoom: whole-number factors keep every grid pixel a square block.
    frame.locator('[data-testid="zoom-select"]').select_option("2")
    expect(canvas).to_have_css("width", f"{grid['width'] * 2}px")
    expect(canvas).to_have_css("image-rendering", "pixelated")
    assert frame_state(frame)["zoom"] == "2"


def test_reload_restores_state_from_url_hash(page, tensorboard):
    frame = open_panel(page, tensorboard)
    frame.locator('[data-testid="layer-item"]', has_text="block1_conv1").click()
    frame.locator('[data-testid="kind-tab"]', has_text="Filters").click()
    wait_grid(frame, "block1_conv1", "Filters")
    frame.locator(".fv-layer-title").click()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    steps = sorted(json.loads(json.dumps(
        tensorboard.get_json("/data/plugin/featureviz/layers?run=cnn")))["layers"][0]["kinds"]
        ["filters"]["steps"])
    wait_grid(frame, "block1_conv1", "Filters", steps[-3])
    canvas = frame.locator('.fv-main-pane canvas')
    canvas.click(position={"x": 2, "y": 2})
    expect(frame.locator('[data-testid="channel-view"]')).to_be_visible()
    before = frame_state(frame)
    assert before["layer"] == "block1_conv1" and before["kind"] == "filters"
    assert before["step"] == str(steps[-3]) and before["channel"] == "0"

    page.reload()
    frame = bf.plugin_frame(page)
    wait_grid(frame, "block1_conv1", "Filters", steps[-3])
    expect(frame.locator('[data-testid="kind-tab"][aria-selected="true"]')).to_have_text("Filters")
    expect(frame.locator('[data-testid="layer-item"][aria-selected="true"]')).to_contain_text(
        "block1_conv1")
    expect(frame.locator('[data-testid="channel-view"]')).to_be_visible()
    expect(frame.locator(".fv-channel-title")).to_have_text("channel 0")
    assert frame_state(frame) == before


def test_script_named_layer_is_text(page, tensorboard):
    frame = open_panel(page, tensorboard, "&fv-run=synthetic")
    expect(frame.locator('[data-testid="run-select"]')).to_have_value("synthetic")
    item = frame.locator('[data-testid="layer-item"]', has_text=bf.SCRIPT_LAYER)
    expect(item).to_have_count(1)
    item.click()
    wait_grid(frame, bf.SCRIPT_LAYER, "Activations")
    expect(frame.locator(".fv-layer-title")).to_have_text(bf.SCRIPT_LAYER)
    # Nothing was parsed as markup: no <img> from the name anywhere.
    assert frame.locator('img[src="x"]').count() == 0
    assert page.locator('img[src="x"]').count() == 0
    assert frame.evaluate("() => document.querySelectorAll('img[onerror]').length") == 0
    # The nested model's layers sit under the model's own row.
    inner = frame.locator(".fv-group-model", has_text="inner")
    expect(inner.locator('[data-testid="layer-item"]', has_text="block3_sepconv1")).to_have_count(1)
    page.wait_for_timeout(300)
    assert page.watch.dialogs == []


def test_drift_chart_selects_layer(page, tensorboard):
    frame = open_panel(page, tensorboard, "&fv-run=cnn&fv-view=charts")
    rows = frame.locator('[data-testid="chart-row"]')
    expect(rows.first).to_be_visible()
    scalars = tensorboard.get_json("/data/plugin/featureviz/scalars?run=cnn")["layers"]
    expect(rows).to_have_count(len(scalars))
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "drift-chart.png"))
    rows.filter(has_text="block2_sepconv1").click()
    expect(frame.locator('[data-testid="grid-view"]')).to_be_visible()
    wait_grid(frame, "block2_sepconv1", "Activations")
    assert frame_state(frame).get("view") is None


def test_compare_two_runs_side_by_side(page, tensorboard):
    frame = open_panel(page, tensorboard, "&fv-run=cnn&fv-layer=block1_conv1")
    frame.locator('[data-testid="compare-select"]').select_option("cnn_b")
    panes = frame.locator(".fv-main-pane, .fv-compare-pane")
    expect(panes.nth(1)).to_be_visible()
    expect(panes.nth(0).locator(".fv-pane-caption")).to_contain_text("cnn · step")
    expect(panes.nth(1).locator(".fv-pane-caption")).to_contain_text("cnn_b · step")
    expect(panes.nth(1).locator("canvas")).to_be_visible()
    assert frame_state(frame)["compare"] == "cnn_b"
    panes.nth(1).locator("canvas").click(position={"x": 3, "y": 3})
    expect(frame.locator('[data-testid="channel-compare"] figure')).to_have_count(1)
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "compare.png"))


def test_backend_error_is_shown(page, tensorboard):
    def fail(route):
        route.fulfill(status=404, content_type="application/json",
                      body=json.dumps({"error": "unknown run 'cnn' (test)"}))

    page.route(re.compile(r".*/data/plugin/featureviz/layers\?.*"), fail)
    page.goto(f"{tensorboard.url}/#featureviz")
    frame = bf.plugin_frame(page)
    error = frame.locator('[data-testid="error-state"]').first
    expect(error).to_be_visible()
    expect(error).to_contain_text("unknown run 'cnn' (test)")
    # The browser logs the failed request itself; that is the point of this test.
    page.watch.errors = [e for e in page.watch.errors if "404" not in e]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_width_and_themes(browser, tensorboard, scheme):
    with bf.watched_page(browser, viewport={"width": 390, "height": 844},
                         color_scheme=scheme) as page:
        frame = open_panel(page, tensorboard, "&fv-run=cnn&fv-layer=block1_conv1")
        wait_grid(frame, "block1_conv1", "Activations")
        expect(frame.locator('[data-testid="layer-item"]').first).to_be_visible()
        expect(frame.locator('[data-testid="step-slider"]')).to_be_visible()
        overflow = frame.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the panel scrolls sideways by {overflow}px at phone width"
        background = frame.evaluate("() => getComputedStyle(document.body).backgroundColor")
        channels = [int(v) for v in re.findall(r"\d+", background)[:3]]
        assert (sum(channels) < 200) == (scheme == "dark"), background
        page.screenshot(path=os.path.join(bf.artifacts_dir(), f"phone-{scheme}.png"))


def test_panel_modules_pure_functions(page, tensorboard):
    """The panel's pure functions, imported as served, in the plugin's frame."""
    frame = open_panel(page, tensorboard)
    result = frame.evaluate(
        """async () => {
          const cm = await import('./colormap.js');
          const st = await import('./state.js');
          const ll = await import('./layerlist.js');
          const gv = await import('./geometry.js');
          const sb = await import('./steps.js');
          const weird = 'a&b=c#d/<img src=x onerror=alert(1)> é';
          const state = {run: weird, layer: 'x/y', kind: 'filters', step: 30, sample: 1,
                         channel: 7, cmap: 'viridis'};
          const grid = {layout: 'tiles', width: 11, height: 5, rows: 1, cols: 2, pad: 1,
                        tile_width: 5, tile_height: 5, channels: [4, 9], lo: [-2, 0], hi: [2, 1],
                        kind: 'activations', sample: 0};
          const mosaic = {...grid, layout: 'mosaic', rows: 2, cols: 2, height: 11,
                          input_channels: [0, 1], lo: [0, 0, 0, 0], hi: [1, 1, 1, 1]};
          const tree = ll.buildTree([
            {name: 'conv', path: [], is_model: false},
            {name: 'base', path: [], is_model: true},
            {name: 'base/block1_conv1', path: ['base'], is_model: false},
            {name: 'base/block1_conv2', path: ['base'], is_model: false},
            {name: 'base/block2_pool', path: ['base'], is_model: false},
            {name: 'head', path: [], is_model: false},
          ]);
          const div = cm.tileIndex('diverging', -2, 2);
          return {
            roundTrip: st.parseHash(st.formatHash(state)),
            prefixed: st.parseHash('#featureviz&fv-layer=q&layer=no&fv-step=x', 'fv-'),
            tree: tree.map((n) => n.type === 'layer' ? n.layer.name :
              [n.label, n.children.map((c) => c.label || c.layer.name)]),
            hit: [gv.hitTest(grid, 6, 2), gv.hitTest(grid, 5, 2), gv.hitTest(grid, 10, 4)],
            tileOfMosaic: gv.tileOf(mosaic, 9, 1),
            describeMosaic: gv.describeTile(mosaic, 3).label,
            divergingMid: [div[0], div[128], div[255]],
            divergingPositive: Array.from(cm.tileIndex('diverging', 0, 1).slice(0, 2)),
            value: cm.valueAt({width: 11, height: 5, data: new Uint8ClampedArray(11 * 5 * 4).fill(255)},
                              grid, 0, 0, 0),
            nearest: [sb.nearestStep([0, 5, 10], 7), sb.nearestStep([5, 10], 1),
                      sb.nearestStep([0, 5], null)],
            spread: sb.spreadSteps([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 4, 4),
            zoom: [gv.zoomFactor('auto', {width: 100}, 450), gv.zoomFactor('auto', {width: 900}, 450),
                   gv.zoomFactor('3', {width: 100}, 450)],
            shape: ll.shapeText([null, 149, 149, 32]),
          };
        }"""
    )
    assert result["roundTrip"] == {"run": "a&b=c#d/<img src=x onerror=alert(1)> é", "layer": "x/y",
                                   "kind": "filters", "step": 30, "sample": 1, "channel": 7,
                                   "cmap": "viridis"}
    assert result["prefixed"] == {"layer": "q"}
    # A nested model is a group holding its layers, grouped by block.
    assert result["tree"] == ["conv", ["base", ["block1", "block2"]], "head"]
    assert result["hit"] == [{"tile": 1, "x": 0, "y": 2}, None, {"tile": 1, "x": 4, "y": 4}]
    assert result["tileOfMosaic"] == 3
    assert result["describeMosaic"] == "input 1 → filter 9"
    assert result["divergingMid"] == [0, 128, 255]
    assert result["divergingPositive"] == [128, 128]
    assert result["value"] == 2  # byte 255 of a tile spanning -2..2
    assert result["nearest"] == [5, 5, 5]
    assert 4 in result["spread"] and len(result["spread"]) <= 4
    assert result["zoom"] == [4, 1, 3]
    assert result["shape"] == "149×149×32"

    # The console watch sees the plugin frame's console (so the other tests' checks mean something).
    frame.evaluate("() => console.error('featureviz watch self-check')")
    page.wait_for_timeout(100)
    assert any("featureviz watch self-check" in e for e in page.watch.errors)
    page.watch.errors = [e for e in page.watch.errors if "self-check" not in e]


def test_empty_log_directory_says_so(page, tensorboard):
    page.route(re.compile(r".*/data/plugin/featureviz/runs$"), lambda route: route.fulfill(
        status=200, content_type="application/json",
        body=json.dumps({"runs": [], "sampling": {"images": 10, "featureviz": 10}})))
    page.goto(f"{tensorboard.url}/#featureviz")
    frame = bf.plugin_frame(page)
    empty = frame.locator('.fv-layers [data-testid="empty-state"]')
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("No feature-map data")
    expect(frame.locator('[data-testid="run-select"]')).to_be_disabled()


def test_step_missing_from_grid_moves_to_a_served_step(page, tensorboard):
    """With unequal sample limits a step of the layer list may 404 in grid (api notes)."""
    doc = tensorboard.get_json("/data/plugin/featureviz/layers?run=cnn")
    steps = sorted(next(l for l in doc["layers"] if l["name"] == "block1_conv1")
                   ["kinds"]["activations"]["steps"])
    dropped = steps[-1]

    def grid(route):
        # block1_conv1's record at its newest step was not kept: grid serves the others.
        query = urllib.parse.parse_qs(urllib.parse.urlparse(route.request.url).query)
        if query.get("layer") != ["block1_conv1"]:
            route.continue_()
        elif query.get("step") == [str(dropped)]:
            route.fulfill(status=404, json={"error": f"no record at step {dropped}"})
        else:
            response = route.fetch()
            body = response.json()
            body["steps"] = [s for s in body["steps"] if s != dropped]
            route.fulfill(response=response, json=body)

    page.route(re.compile(r".*/data/plugin/featureviz/grid\?.*"), grid)
    frame = open_panel(page, tensorboard, "&fv-run=cnn&fv-layer=block1_conv1&fv-kind=activations")
    wait_grid(frame, "block1_conv1", "Activations", steps[-2])
    expect(frame.locator('[data-testid="step-slider"]')).to_have_attribute("max", str(len(steps) - 2))
    expect(frame.locator('.fv-main-pane [data-testid="error-state"]')).to_have_count(0)
    assert frame_state(frame)["step"] == str(steps[-2])
    page.watch.errors = [e for e in page.watch.errors if "404" not in e]
