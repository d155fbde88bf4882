"""The Attribution view of the panel (Grad-CAM maps over the probe pictures), in headless Chromium.

A small nested classifier (``tests.attribution.test_attribute.small_classifier``)
is trained in the test on synthetic pictures (discs, stripes, squares) and
logged through the real writer at three steps, training between them so the
maps move: ``FeatureVizLogger.log_attributions`` (top-3 classes, with the
probe pictures) and ``log_activations`` of the same layer. A second run is
written through the same writer with a malformed attribution record.

The tests check the overlay's exact pixels against the writer's own math
applied to the record's raw map (``tb_featureviz.render.heatmaps``) at the
default opacity and after moving the slider, the legend's numbers, the class
and score line, the value under the pointer, the target tabs (and the URL's
``target``), the per-step strip, the link to the same picture's feature maps
and back, the notes on a malformed record, and the math module itself.
"""

import io
import os
import urllib.parse

import numpy as np
import pytest
from playwright.sync_api import expect

from tests import browser_fixtures as bf
from tests.browser_fixtures import canvas_rgba, frame_state, open_panel, wait_grid

RUN = "attribution"
BROKEN = "broken"
LAYER = "base/c2"
BROKEN_LAYER = "conv"
STEPS = [0, 1, 2]
#: The third class's name is markup: it must stay text.
CLASS_NAMES = ["disc", "stripes", "square <img src=x onerror=alert(1)>"]
VIEW = '[data-testid="attribution-view"]'
CANVAS = '[data-testid="attribution-canvas"]'


def synthetic_picture(kind, rng, size=16):
    """A dark noisy picture with a yellow disc (0), cyan stripes (1) or a red square (2)."""
    yy, xx = np.mgrid[:size, :size]
    image = rng.integers(0, 60, (size, size, 3))
    if kind == 0:
        cy, cx = rng.integers(4, 12, 2)
        image[(yy - cy) ** 2 + (xx - cx) ** 2 <= rng.integers(3, 5) ** 2] = [230, 200, 40]
    elif kind == 1:
        image[(xx // 2) % 2 == 0] = [40, 200, 230]
    else:
        y0, x0 = rng.integers(0, 9, 2)
        image[y0:y0 + 7, x0:x0 + 7] = [220, 40, 40]
    return image.astype(np.uint8)


def write_attribution_run(logdir):
    """Three steps of attribution maps and feature maps, training between them."""
    import keras

    from tb_featureviz.logger import FeatureVizLogger
    from tests.attribution.test_attribute import small_classifier

    rng = np.random.default_rng(0)
    model = small_classifier()
    labels = np.arange(96) % 3
    x = np.stack([synthetic_picture(k, rng) for k in labels]).astype(np.float32)
    pictures = np.stack([synthetic_picture(0, np.random.default_rng(5)),
                         synthetic_picture(2, np.random.default_rng(6))])
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    logger = FeatureVizLogger(logdir, run=RUN, workers=1)
    records = {}
    try:
        for step in STEPS:
            if step:
                model.fit(x, labels, epochs=4, batch_size=16, verbose=0)
            for record in logger.log_attributions(model, pictures, step, targets="top3",
                                                  class_names=CLASS_NAMES):
                records[(record["kind"], step, record["sample"])] = record
            logger.log_activations(model, pictures, step, layers=[LAYER])
    finally:
        logger.close()
    return records


#: The malformed run's two pictures: picture 1's first target is unreadable
#: and its second has a cell without a value; picture 2 has no target list.
BROKEN_MAP = [[0.0, 1.0], [2.0, None]]
BROKEN_TARGETS = [
    [{"class": "two", "name": 7, "score": "high", "probability": 3, "heatmap": [[1.0, "a"]]},
     {"class": 4, "score": 1.5, "heatmap": BROKEN_MAP}],
    "junk",
]


#: Sample keys that name keys of the record or of the grid route's reply:
#: the route serves the record's and its own, never these.
CLASHING = {"rows": 99, "image_url": "https://example.com/x.png", "num_samples": 7}


def write_broken_run(logdir):
    """An attribution grid with a junk header and malformed targets, and no probe pictures."""
    from tb_featureviz.render.jobs import GridJob

    tiles = np.random.default_rng(1).integers(0, 256, (2, 2, 12, 12, 3)).astype(np.uint8)
    job = GridJob(layer=BROKEN_LAYER, class_name="Conv2D", kind="attribution", layout="tiles",
                  samples=list(tiles), channels=[0, 1], total_channels=2, source_shape=(2, 2, 2, 2),
                  scale="fixed", value_range=(0.0, 255.0), record_extra={"attribution": "junk"},
                  sample_extra=[{"targets": targets, **CLASHING} for targets in BROKEN_TARGETS])
    bf.write_grid_jobs(logdir, BROKEN, 5, [job])


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    return bf.write_runs(tmp_path_factory, "attribution-logs", records=write_attribution_run, broken=write_broken_run)


def served(tensorboard, step, sample=0, run=RUN, layer=LAYER, kind="attribution"):
    """The grid record and its PNG (as an array) as the plugin serves them."""
    from PIL import Image

    query = urllib.parse.urlencode({"run": run, "layer": layer, "kind": kind, "step": step,
                                    "sample": sample})
    grid = tensorboard.get_json("/data/plugin/featureviz/grid?" + query)
    image = Image.open(io.BytesIO(tensorboard.get("/data/plugin/featureviz/" + grid["image_url"])))
    return grid, np.asarray(image)


def probe_picture(tensorboard, step, sample):
    """The probe picture as served (the PNG of ``_probe``/``probe``), RGB."""
    _, png = served(tensorboard, step, sample, layer="_probe", kind="probe")
    return png[..., :3]


def expected_overlay(picture, heatmap, opacity):
    """The writer's blend of the record's raw map over the picture (heatmaps.overlay)."""
    from tb_featureviz.render import heatmaps

    raw = np.asarray(heatmap, np.float64)
    return heatmaps.overlay(picture, raw, 0.0, max(0.0, float(raw.max())), opacity)


def panel_text(frame, fn, values):
    """``fmt`` or ``pct`` of frontend/dom.js applied to ``values`` in the page."""
    return frame.evaluate(
        "async ([fn, values]) => { const dom = await import('./dom.js'); return values.map(dom[fn]); }",
        [fn, [float(v) for v in values]])


def score_line(frame, target):
    """What the view says of a target: name, class, logit, probability."""
    logit, = panel_text(frame, "fmt", [target["score"]])
    probability, = panel_text(frame, "pct", [target["probability"]])
    return f"{target['name']} · class {target['class']} · logit {logit} · probability {probability}"


def open_attribution(page, tensorboard, step=STEPS[-1], sample=0, extra=""):
    frame = open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer={urllib.parse.quote(LAYER, safe='')}"
                       f"&fv-kind=attribution&fv-step={step}&fv-sample={sample}{extra}")
    wait_grid(frame, LAYER, "Attribution", step)
    expect(frame.locator(VIEW)).to_be_visible()
    expect(frame.locator(f"{VIEW} [data-testid='attribution-title']")).to_have_text(
        f"Attribution · gradcam · step {step} · image {sample + 1}")
    return frame


def wait_drawn(frame, grid, target, opacity=50):
    """Wait until the view shows ``target`` of ``grid`` drawn on its canvas."""
    expect(frame.locator(f"{VIEW} [data-testid='target-tab'][aria-selected='true']")).to_have_attribute(
        "data-class", str(target["class"]))
    expect(frame.locator(CANVAS)).to_have_attribute(
        "aria-label", f"gradcam map of {target['name']} over image {grid['sample'] + 1} at step {grid['step']}, "
                      f"{opacity}% opacity")


def test_grid_route_passes_the_targets_through(tensorboard, written):
    """The grid route serves the record's header and each picture's targets as logged."""
    for step in STEPS:
        for sample in (0, 1):
            grid, png = served(tensorboard, step, sample)
            record = written["records"][("attribution", step, sample)]
            assert grid["attribution"] == record["attribution"]
            assert grid["attribution"]["method"] == "gradcam" and grid["attribution"]["opacity"] == 0.5
            assert grid["targets"] == record["targets"]
            assert [t["name"] for t in grid["targets"]] == [CLASS_NAMES[t["class"]] for t in grid["targets"]]
            assert len(grid["targets"][0]["heatmap"]) == grid["attribution"]["map_height"] == 8
            assert grid["sample"] == sample and grid["steps"] == STEPS
            np.testing.assert_array_equal(png, record["image"])


def test_overlay_opacity_legend_score_and_readout(page, tensorboard, written):
    step, sample = STEPS[-1], 1
    frame = open_attribution(page, tensorboard, step, sample)
    grid, png = served(tensorboard, step, sample)
    target = grid["targets"][0]
    wait_drawn(frame, grid, target)
    picture = probe_picture(tensorboard, step, sample)
    height, width = picture.shape[:2]
    assert (height, width) == (grid["tile_height"], grid["tile_width"]) == (16, 16)

    # The overlay is the writer's blend of the record's raw map, pixel for
    # pixel, at the record's opacity; and so, but for the map's rounding to
    # 6 digits in the record, the logged PNG's first tile.
    drawn = canvas_rgba(frame, CANVAS)
    want = expected_overlay(picture, target["heatmap"], 0.5)
    np.testing.assert_array_equal(drawn[..., :3], want)
    assert (drawn[..., 3] == 255).all()
    assert np.abs(drawn[..., :3].astype(int) - png[:height, :width].astype(int)).max() <= 1
    # One pixel by hand: bilinear value, viridis colour, 50 % blend.
    from tb_featureviz.render import heatmaps

    raw = np.asarray(target["heatmap"])
    up = heatmaps.upsample(raw, height, width)
    # A pixel between map cells, well inside the colour scale.
    y, x = np.unravel_index(np.argmin(np.abs(up - 0.37 * raw.max())), up.shape)
    y, x = int(y), int(x)
    value = up[y, x]
    assert 0 < value < raw.max() and value not in raw
    colour = heatmaps.colorize(np.array([value]), 0.0, raw.max())[0].astype(float)
    assert drawn[y, x, :3].tolist() == np.rint(0.5 * picture[y, x] + 0.5 * colour).tolist()

    slider = frame.locator('[data-testid="attribution-opacity"]')
    expect(slider).to_have_value("50")
    expect(frame.locator('[data-testid="attribution-opacity-value"]')).to_have_text("50%")

    # The legend: viridis from 0 to the map's maximum, in real values.
    top = float(raw.max())
    expect(frame.locator('[data-testid="attribution-legend"] span')).to_have_text(
        panel_text(frame, "fmt", [0.0, top / 2, top]))
    assert top == target["range"][1] > 0
    expect(frame.locator(f"{VIEW} .fv-scale .fv-muted")).to_have_text(
        "gradcam map: viridis from 0 to its maximum")

    # The class, its logit and probability; the markup in a name stays text.
    expect(frame.locator('[data-testid="attribution-class"]')).to_have_text(score_line(frame, target))
    assert target["name"] == CLASS_NAMES[2] and target["probability"] > 0.9
    expect(frame.locator('img[src="x"]')).to_have_count(0)

    # The map's value under the pointer, bilinear like the drawing.
    canvas = frame.locator(CANVAS)
    box = canvas.bounding_box()
    canvas.hover(position={"x": (x + 0.5) * box["width"] / width, "y": (y + 0.5) * box["height"] / height})
    shown, = panel_text(frame, "fmt", [value])
    expect(frame.locator('[data-testid="attribution-readout"]')).to_have_text(
        f"value {shown} · pixel row {y}, column {x}")
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "attribution-view.png"))
    frame.locator(VIEW).screenshot(path=os.path.join(bf.artifacts_dir(), "attribution-view-panel.png"))

    # Another opacity: the same map blended at 30 %.
    slider.fill("30")
    expect(frame.locator('[data-testid="attribution-opacity-value"]')).to_have_text("30%")
    wait_drawn(frame, grid, target, opacity=30)
    drawn = canvas_rgba(frame, CANVAS)
    np.testing.assert_array_equal(drawn[..., :3], expected_overlay(picture, target["heatmap"], 0.3))
    # The strip's thumbnails are blended at the same opacity.
    expect(frame.locator('[data-testid="attribution-step"] canvas')).to_have_count(len(STEPS))
    thumb = canvas_rgba(frame, f'[data-testid="attribution-step"][data-step="{step}"] canvas')
    np.testing.assert_array_equal(thumb[..., :3], expected_overlay(picture, target["heatmap"], 0.3))
    # ... and it stays while the picture changes.
    frame.locator('[data-testid="sample-button"]').first.click()
    expect(frame.locator(f"{VIEW} [data-testid='attribution-title']")).to_have_text(
        f"Attribution · gradcam · step {step} · image 1")
    expect(slider).to_have_value("30")
    first, _ = served(tensorboard, step, 0)
    wait_drawn(frame, first, first["targets"][0], opacity=30)
    np.testing.assert_array_equal(canvas_rgba(frame, CANVAS)[..., :3], expected_overlay(
        probe_picture(tensorboard, step, 0), first["targets"][0]["heatmap"], 0.3))


def test_target_tabs_switch_the_map_and_stay_in_the_url(page, tensorboard):
    step, sample = STEPS[-1], 0
    frame = open_attribution(page, tensorboard, step, sample)
    grid, _ = served(tensorboard, step, sample)
    picture = probe_picture(tensorboard, step, sample)
    tabs = frame.locator(f"{VIEW} [data-testid='target-tab']")
    names = [t["name"] for t in grid["targets"]]
    probabilities = panel_text(frame, "pct", [t["probability"] for t in grid["targets"]])
    expect(tabs).to_have_text([f"{n} · {p}" for n, p in zip(names, probabilities)])
    wait_drawn(frame, grid, grid["targets"][0])

    second = grid["targets"][1]
    tabs.nth(1).click()
    wait_drawn(frame, grid, second)
    expect(frame.locator('[data-testid="attribution-class"]')).to_have_text(score_line(frame, second))
    np.testing.assert_array_equal(canvas_rgba(frame, CANVAS)[..., :3],
                                  expected_overlay(picture, second["heatmap"], 0.5))
    raw = np.asarray(second["heatmap"])
    expect(frame.locator('[data-testid="attribution-legend"] span')).to_have_text(
        panel_text(frame, "fmt", [0.0, raw.max() / 2, raw.max()]))
    # The target is a class, kept in the URL, so the view can be shared.
    assert frame_state(frame)["target"] == str(second["class"])

    # A click on a tile of the logged grid chooses that target too.
    third = grid["targets"][2]
    pane = frame.locator(".fv-main-pane canvas")
    scale = pane.bounding_box()["width"] / grid["width"]
    # Tile 2 is in the second row, first column of a 2x2 grid.
    pane.click(position={"x": 8 * scale, "y": (grid["tile_height"] + grid["pad"] + 8) * scale})
    wait_drawn(frame, grid, third)
    expect(frame.locator('[data-testid="channel-view"]')).to_be_hidden()
    assert frame_state(frame)["target"] == str(third["class"])

    # Opened with a target class in the URL, the view shows that class.
    page.goto("about:blank")
    frame = open_attribution(page, tensorboard, step, sample, extra=f"&fv-target={second['class']}")
    wait_drawn(frame, grid, second)


def test_step_strip_shows_every_kept_step_and_moves_there(page, tensorboard):
    step, sample = STEPS[-1], 0
    frame = open_attribution(page, tensorboard, step, sample)
    grid, _ = served(tensorboard, step, sample)
    wanted = grid["targets"][0]
    wait_drawn(frame, grid, wanted)
    figures = frame.locator('[data-testid="attribution-steps"] [data-testid="attribution-step"]')
    expect(figures).to_have_count(len(STEPS))
    expect(figures.locator("canvas")).to_have_count(len(STEPS))
    assert [figures.nth(i).get_attribute("data-step") for i in range(len(STEPS))] == [str(s) for s in STEPS]
    expect(figures.nth(len(STEPS) - 1)).to_have_attribute("aria-current", "true")
    # Each thumbnail is that step's map of the same class, over the picture.
    picture = probe_picture(tensorboard, 0, sample)
    first, _ = served(tensorboard, 0, sample)
    then = next(t for t in first["targets"] if t["class"] == wanted["class"])
    expect(figures.nth(0).locator("figcaption")).to_contain_text(then["name"])
    thumb = canvas_rgba(frame, '[data-testid="attribution-step"][data-step="0"] canvas')
    np.testing.assert_array_equal(thumb[..., :3], expected_overlay(picture, then["heatmap"], 0.5))

    figures.nth(0).click()
    wait_grid(frame, LAYER, "Attribution", 0)
    expect(frame.locator(f"{VIEW} [data-testid='attribution-title']")).to_have_text(
        "Attribution · gradcam · step 0 · image 1")
    assert frame_state(frame)["step"] == "0"
    wait_drawn(frame, first, then)
    np.testing.assert_array_equal(canvas_rgba(frame, CANVAS)[..., :3],
                                  expected_overlay(picture, then["heatmap"], 0.5))
    expect(figures.nth(0)).to_have_attribute("aria-current", "true")


def test_feature_maps_of_the_same_picture_one_click_away(page, tensorboard):
    frame = open_attribution(page, tensorboard, STEPS[-1], 1)
    link = frame.locator('[data-testid="attribution-link"]')
    expect(link).to_have_text("Activations of image 2 →")
    link.click()
    wait_grid(frame, LAYER, "Activations", STEPS[-1])
    expect(frame.locator(".fv-main-pane .fv-pane-caption")).to_have_text(
        f"Activations · step {STEPS[-1]} · image 2")
    expect(frame.locator(VIEW)).to_be_hidden()
    state = frame_state(frame)
    assert (state["kind"], state["sample"]) == ("activations", "1")
    expect(link).to_have_text("← Attribution of image 2")
    # A channel opened among the feature maps is not one of the attribution
    # grid's tiles (those are classes): hidden there, back on return.
    frame.locator(".fv-main-pane canvas").click(position={"x": 4, "y": 4})
    channel = frame.locator('[data-testid="channel-view"]')
    expect(channel.locator(".fv-channel-title")).to_have_text("channel 0")
    link.click()
    wait_grid(frame, LAYER, "Attribution", STEPS[-1])
    expect(frame.locator(f"{VIEW} [data-testid='attribution-title']")).to_have_text(
        f"Attribution · gradcam · step {STEPS[-1]} · image 2")
    assert frame_state(frame)["kind"] == "attribution"
    expect(channel).to_be_hidden()
    expect(link).to_have_text("Activations of image 2 →")
    link.click()
    wait_grid(frame, LAYER, "Activations", STEPS[-1])
    expect(channel.locator(".fv-channel-title")).to_have_text("channel 0")


def test_a_malformed_record_shows_notes_not_errors(page, tensorboard):
    """A junk header, unreadable targets and no probe pictures: what can be shown is, with notes."""
    from tb_featureviz.render import heatmaps

    grid, _ = served(tensorboard, 5, 0, run=BROKEN, layer=BROKEN_LAYER)
    assert grid["targets"] == BROKEN_TARGETS[0] and grid["attribution"] == "junk"
    assert (grid["rows"], grid["num_samples"]) == (1, 2)
    assert grid["image_url"].startswith("image?run=broken&")
    frame = open_panel(page, tensorboard, f"&fv-run={BROKEN}&fv-layer={BROKEN_LAYER}&fv-kind=attribution")
    wait_grid(frame, BROKEN_LAYER, "Attribution", 5)
    view = frame.locator(VIEW)
    notes = view.locator('[data-testid="attribution-notes"] .fv-note')
    expect(notes).to_have_text([
        "The record has no readable attribution header.",
        "target 1: no readable map.",
        "class 4: 1 cell without a value (drawn as 0).",
        "This run logged no probe pictures: the map is drawn alone.",
    ])
    tabs = view.locator('[data-testid="target-tab"]')
    expect(tabs).to_have_text(["target 1", "class 4"])
    expect(view.locator('[data-testid="attribution-class"]')).to_have_text("target 1")
    expect(view.locator(".fv-attr-empty")).to_have_text("No map to draw for this target.")
    expect(frame.locator(CANVAS)).to_be_hidden()

    tabs.nth(1).click()
    expect(view.locator('[data-testid="attribution-class"]')).to_have_text("class 4 · logit 1.5")
    expect(frame.locator(CANVAS)).to_have_attribute(
        "aria-label", "attribution map of class 4 over image 1 at step 5, drawn alone")
    expect(view.locator('[data-testid="attribution-opacity"]')).to_be_disabled()
    # Drawn alone at the tile's size: the colours of the readable cells.
    drawn = canvas_rgba(frame, CANVAS)
    assert drawn.shape == (12, 12, 4)
    colour = heatmaps.colorize(np.array([0.0, 1.0, 2.0]), 0.0, 2.0).tolist()
    assert [drawn[0, 0, :3].tolist(), drawn[0, 11, :3].tolist(), drawn[11, 0, :3].tolist()] == colour
    expect(view.locator('[data-testid="attribution-legend"] span')).to_have_text(["0", "1", "2"])
    # The cell without a value reads as no value.
    canvas = frame.locator(CANVAS)
    box = canvas.bounding_box()
    canvas.hover(position={"x": box["width"] - 2, "y": box["height"] - 2})
    expect(view.locator('[data-testid="attribution-readout"]')).to_have_text(
        "value — · pixel row 11, column 11")
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "attribution-malformed.png"))

    # The second picture has no target list at all.
    frame.locator('[data-testid="sample-button"]').nth(1).click()
    expect(view.locator('[data-testid="attribution-title"]')).to_have_text(
        "Attribution · step 5 · image 2")
    expect(notes).to_have_text([
        "The record has no readable attribution header.",
        "The record has no list of targets for this picture: no map to draw.",
        "This run logged no probe pictures: the map is drawn alone.",
    ])
    expect(tabs).to_have_count(0)
    expect(frame.locator(CANVAS)).to_be_hidden()


def test_attribution_math_in_the_page(page, tensorboard):
    """attribution.js and heatmap.js, imported as served, against the writer's heatmaps.py."""
    from tb_featureviz import names
    from tb_featureviz.render import heatmaps

    rng = np.random.default_rng(3)
    raw = np.round(rng.uniform(0, 2, (5, 7)), 6)
    picture = rng.integers(0, 256, (13, 23, 3)).astype(np.uint8)
    values = [-1.0, 0.0, 0.0625, 0.125, 0.3, 0.5, 0.77, 1.0, 1.5, 2.0, 3.0]
    frame = open_panel(page, tensorboard)
    result = frame.evaluate(
        """async ([raw, picture, values]) => {
          const a = await import('./attribution.js');
          const hm = await import('./heatmap.js');
          const cm = await import('./colormap.js');
          const st = await import('./state.js');
          const map = hm.readMap(raw);
          const rgba = new Uint8ClampedArray(13 * 23 * 4);
          picture.flat().forEach((rgb, i) => rgba.set([...rgb, 255], i * 4));
          const pic = {width: 23, height: 13, data: rgba};
          const over = (opacity) => Array.from(hm.overlay(pic, map, opacity).data)
              .filter((_, i) => i % 4 !== 3);
          const target = (e) => a.readAttribution({kind: 'attribution', attribution: {method: 'gradcam',
                                                   opacity: 0.5}, targets: [e]});
          return {
            constants: [a.ATTRIBUTION, a.FEATURE_MAPS, a.DEFAULT_OPACITY, cm.VIRIDIS_STOPS],
            rint: [0.5, 1.5, 2.5, -0.5, -1.5, 2.4999, 2.5001, 3].map(hm.roundHalfEven),
            size: [map.height, map.width, map.min, map.max, map.nonfinite],
            up: Array.from(hm.upsample(map, 13, 23)),
            at: [hm.valueAt(map, 13, 23, 0, 0), hm.valueAt(map, 13, 23, 22, 12), hm.valueAt(map, 13, 23, 9, 4)],
            colours: values.map((v) => hm.heatColour(v, 0, 2)),
            flat: hm.heatColour(5, 0, 0),
            over: [over(0.5), over(0.3), over(1)],
            maps: [null, [], [[]], [[1, 2], [3]], [[1, 'x']], [[1, true]], 'junk', [[null, 2]]]
                .map((m) => { const r = hm.readMap(m); return r && [r.height, r.width, r.max, r.nonfinite]; }),
            pick: [a.pickTarget([], 3), a.pickTarget([{class: 1}, {class: 3}], 3),
                   a.pickTarget([{class: 1}, {class: 3}], 7, 1), a.pickTarget([{class: 1}], 7, 4)],
            score: [
              a.scoreText({tile: 0, class: 281, name: 'tabby', score: 9.87654, probability: 0.8342}),
              a.scoreText({tile: 1, class: 3, name: null, score: null, probability: 0.5}),
              a.scoreText({tile: 2, class: null, name: null, score: -2, probability: null}),
              a.tabText({tile: 0, class: 281, name: 'tabby', score: 1, probability: 0.0004}),
            ],
            notes: [
              target({class: 1, name: 'x', score: 1, probability: 0.5, heatmap: [[1]]}).notes,
              target('junk').notes,
              a.readAttribution({attribution: {opacity: 7}, targets: 'x'}).notes,
              a.readAttribution({attribution: {opacity: 0.2, method: '<b>x</b>'}, targets: []}),
            ],
            read: target({class: 2.5, name: ['x'], score: 'a', probability: -1, heatmap: [[0]]}).targets
                .map((t) => [t.class, t.name, t.score, t.probability]),
            is: [a.isAttribution({targets: []}), a.isAttribution({attribution: {}}),
                 a.isAttribution({kind: 'attribution'}), a.isAttribution({kind: 'activations'}),
                 a.isAttribution(null)],
            describe: [a.describeTarget({targets: [{class: 2, name: 'cat', probability: 0.25}]}, 0).label,
                       a.describeTarget({targets: []}, 1).label, a.describeTarget({kind: 'filters'}, 0)],
            readout: a.readoutText(0.000123, 4, 9),
            hash: [st.parseHash('target=3&kind=attribution'), st.formatHash({kind: 'attribution', target: 0})],
          };
        }""",
        [raw.tolist(), picture.tolist(), values])
    # One owner: the panel mirrors the writer's kind, opacity and colour stops.
    assert result["constants"] == [names.ATTRIBUTION_KIND, names.ACTIVATIONS_KIND, heatmaps.OPACITY,
                                   [[s, list(c)] for s, c in heatmaps.VIRIDIS_STOPS]]
    assert result["rint"] == np.rint([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999, 2.5001, 3]).tolist()
    assert result["size"] == [5, 7, raw.min(), raw.max(), 0]
    # The same doubles as numpy's: bilinear, half-pixel centres.
    up = heatmaps.upsample(raw, 13, 23)
    assert result["up"] == up.ravel().tolist()
    assert result["at"] == [up[0, 0], up[12, 22], up[4, 9]]
    assert result["colours"] == heatmaps.colorize(np.array(values), 0.0, 2.0).tolist()
    assert result["flat"] == list(heatmaps.VIRIDIS_STOPS[0][1])
    for got, opacity in zip(result["over"], (0.5, 0.3, 1.0)):
        want = heatmaps.overlay(picture, raw, 0.0, raw.max(), opacity)
        assert got == want.ravel().tolist(), opacity
    assert result["maps"] == [None, None, None, None, None, None, None, [1, 2, 2, 1]]
    assert result["pick"] == [-1, 1, 1, 0]
    assert result["score"] == ["tabby · class 281 · logit 9.877 · probability 83.4%",
                               "class 3 · probability 50.0%", "target 3 · logit -2", "tabby · 0.0%"]
    assert result["notes"][0] == []
    assert result["notes"][1] == ["target 1: no readable map."]
    assert result["notes"][2] == ["No readable opacity: 50.0% is used.",
                                  "The record has no list of targets for this picture: no map to draw."]
    assert result["notes"][3] == {"method": None, "opacity": 0.2, "targets": [], "notes": []}
    assert result["read"] == [[None, None, None, None]]
    assert result["is"] == [True, True, True, False, False]
    assert result["describe"] == ["cat · class 2 · probability 25.0%", "target 2", None]
    assert result["readout"] == "value 1.23e-4 · pixel row 9, column 4"
    assert result["hash"] == [{"target": 3, "kind": "attribution"}, "kind=attribution&target=0"]
