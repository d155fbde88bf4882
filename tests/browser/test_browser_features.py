"""The Features tab (feature visualization) of the panel, in headless Chromium.

A synthetic run holds a ``features`` grid of ``block1_conv1`` (RGB tiles,
fixed 0..255 scale, one optimised image per visualised channel, and the
record's ``quality`` figures and ``optimisation``) written through the
package's own writer beside its activations and filters
(``browser_fixtures.write_synthetic_logs``). The tests check the tab's place
among the kinds, the exact pixels, the noise ratio wherever a tile is named,
the marker of a likely failed visualization, the line that says how the
images were made, and the channel view showing a channel's optimised image
beside its feature map and filter.

A second run (:data:`STATUS_RUN`) is written through the real writer: a
``FeatureVisResult`` with chosen objective, noise and history values,
drawn by ``featurevis.features_job`` and written by
``FeatureVizLogger.write``, so its ``quality`` (finite, capped ratios and a
``status`` word per channel) round-trips through a real event file. It
holds one channel of each status: a dead one (covered, never marked
failed), one that noise leaves at 0 (its ratio a bound), a good one, a
non-finite one and a low-ratio one (likely failed).
"""

import io
import os
import re
import urllib.parse

import numpy as np
import pytest
from playwright.sync_api import expect

from tests import browser_fixtures as bf
from tests.browser_fixtures import canvas_rgba, open_panel, wait_grid

RUN = "synthetic"
LAYER = bf.FEATURES_LAYER
CHANNELS = bf.FEATURE_CHANNELS
FAILED = 2   # the channel whose ratio (1.5) is under 2
NO_RATIO = 5  # the channel whose noise objective was 0
#: How the newest grid was made (bf.FEATURE_OPTIMISATION), in words.
MADE = "channel objective · 64 steps · 128 px (on a 299 px canvas) · seed 0"

#: The run written through the real writer (after RUN in name order, so the
#: panel's default run stays RUN), its layer, step and visualised channels.
STATUS_RUN = "with-status"
STATUS_LAYER = "conv"
STATUS_STEP = 10
STATUS_CHANNELS = [0, 3, 5, 6, 7]
OK, DEAD, NOISE_OFF, NONFINITE, LOW = STATUS_CHANNELS
#: What the writer makes of them (objective / |noise|, capped at 1000).
STATUS_QUALITY = {
    "objective": [8.0, 0.0, 2.5, None, 1.2],
    "noise_objective": [0.5, 0.25, 0.0, 0.3, 1.0],
    "ratio": [16.0, 0.0, 1000.0, 0.0, 1.2],
    "status": ["ok", "dead", "noise_off", "nonfinite", "ok"],
}
DEAD_WORDS = f"channel {DEAD}: dead channel: stays at 0 however the image is pushed"
BOUND = "noise leaves this channel at 0, so the ratio is a bound"


def write_status_run(logdir):
    """A ``features`` grid of each status beside feature maps, through the real writer."""
    from tb_featureviz.featurevis import visualizer as featurevis
    from tb_featureviz.render import jobs
    from tb_featureviz.logger import FeatureVizLogger

    rng = np.random.default_rng(1)
    # Each step's objective: the dead channel never rises above 0 although
    # the optimiser pushed its input up; the others do at some step.
    history = np.array([[0.5, 0.0, 0.1, 0.2, 0.3],
                        [4.0, -0.0, 1.5, 0.4, 0.9],
                        [7.5, 0.0, 2.4, 0.6, 1.1]], np.float32)
    result = featurevis.FeatureVisResult(
        layer=STATUS_LAYER, class_name="Conv2D", objective="channel", channels=STATUS_CHANNELS,
        total_channels=8, images=rng.integers(0, 256, size=(5, 12, 12, 3)).astype(np.uint8),
        history=history, objective_values=np.array([8.0, 0.0, 2.5, np.nan, 1.2]),
        noise_values=np.array([0.5, 0.25, 0.0, 0.3, 1.0]), steps=len(history), size=12, canvas=12,
        seed=0, learning_rate=0.05, redirected=True)
    acts = rng.normal(size=(1, 6, 6, 8)).astype(np.float32)
    logger = FeatureVizLogger(logdir, run=STATUS_RUN, workers=1)
    try:
        logger.write(STATUS_STEP, [jobs.activation_job(STATUS_LAYER, "Conv2D", acts),
                                   featurevis.features_job(result)])
    finally:
        logger.close()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = tmp_path_factory.mktemp("features-logs")
    result = bf.write_synthetic_logs(str(path), steps=3, run=RUN)
    write_status_run(str(path))
    result["logdir"] = str(path)
    return result


def served(tensorboard, kind, step=None, sample=0, run=RUN, layer=LAYER):
    """The grid record and the decoded PNG (RGB or grey) as the plugin serves them."""
    from PIL import Image

    params = {"run": run, "layer": layer, "kind": kind, "sample": sample}
    if step is not None:
        params["step"] = step
    grid = tensorboard.get_json("/data/plugin/featureviz/grid?" + urllib.parse.urlencode(params))
    image = Image.open(io.BytesIO(tensorboard.get("/data/plugin/featureviz/" + grid["image_url"])))
    return grid, np.asarray(image)


def tile_box(grid, tile):
    """Slices of tile ``tile`` in the grid image."""
    row, col = divmod(tile, grid["cols"])
    y0 = row * (grid["tile_height"] + grid["pad"])
    x0 = col * (grid["tile_width"] + grid["pad"])
    return slice(y0, y0 + grid["tile_height"]), slice(x0, x0 + grid["tile_width"])


def hover_tile(frame, grid, tile):
    canvas = frame.locator(".fv-main-pane canvas")
    scale = canvas.bounding_box()["width"] / grid["width"]
    ys, xs = tile_box(grid, tile)
    point = {"x": (xs.start + grid["tile_width"] / 2) * scale,
             "y": (ys.start + grid["tile_height"] / 2) * scale}
    canvas.hover(position=point)
    return point


def test_features_tab_pixels_ratio_and_failed_marker(page, tensorboard, written):
    frame = open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer={LAYER}&fv-kind=activations")
    wait_grid(frame, LAYER, "Activations")
    # The tab sits where the server's display order puts it: after Activations.
    tabs = frame.locator('[data-testid="kind-tab"]')
    expect(tabs).to_have_text(["Activations", "Features", "Filters"])
    doc = tensorboard.get_json(f"/data/plugin/featureviz/layers?run={RUN}")
    kinds = next(l for l in doc["layers"] if l["name"] == LAYER)["kinds"]
    assert list(kinds) == ["activations", "features", "filters"]
    newest = written["steps"][-1]
    assert kinds["features"]["steps"] == [written["steps"][0], newest]

    tabs.filter(has_text="Features").click()
    wait_grid(frame, LAYER, "Features", newest)
    # RGB images keep their own colours: no colour map applies.
    expect(frame.locator('[data-testid="cmap-select"]')).to_be_disabled()
    grid, png = served(tensorboard, "features")
    assert grid["step"] == newest and grid["depth"] == 3 and grid["scale"] == "fixed"
    assert grid["channels"] == CHANNELS and grid["quality"] == bf.FEATURE_QUALITY
    assert grid["optimisation"] == bf.FEATURE_OPTIMISATION
    # How the images were made, in one line under the grid.
    expect(frame.locator('.fv-main-pane [data-testid="optimisation-caption"]')).to_have_text(MADE)
    assert grid["lo"] == [0.0] * len(CHANNELS) and grid["hi"] == [255.0] * len(CHANNELS)
    drawn = canvas_rgba(frame, ".fv-main-pane canvas")
    assert drawn.shape[:2] == png.shape[:2]
    for tile in range(len(CHANNELS)):
        box = tile_box(grid, tile)
        np.testing.assert_array_equal(drawn[box][..., :3], png[box])
        np.testing.assert_array_equal(drawn[box][..., 3], 255)
    assert (drawn[grid["tile_height"], :, 3] == 0).all(), "pad lines stay transparent"

    # Hover names the channel and its noise ratio; a low ratio is marked in words.
    tooltip = frame.locator('.fv-main-pane [data-testid="tile-tooltip"]')
    hover_tile(frame, grid, 0)
    expect(tooltip.locator("strong")).to_have_text("channel 0 · 23.4× noise")
    expect(tooltip).not_to_contain_text("likely failed")
    hover_tile(frame, grid, CHANNELS.index(FAILED))
    expect(tooltip.locator("strong")).to_have_text(f"channel {FAILED} · 1.5× noise")
    expect(tooltip).to_contain_text("⚠ likely failed visualization")
    hover_tile(frame, grid, CHANNELS.index(NO_RATIO))
    expect(tooltip.locator("strong")).to_have_text(f"channel {NO_RATIO} · no noise ratio")
    expect(tooltip).not_to_contain_text("likely failed")

    # One marker, over the failed tile, named for assistive technology, and
    # the same in the pane's status line.
    marker = frame.locator('.fv-main-pane [data-testid="failed-marker"]')
    expect(marker).to_have_count(1)
    expect(marker).to_have_attribute("role", "img")
    expect(marker).to_have_attribute(
        "aria-label", f"channel {FAILED}: likely failed visualization, 1.5× noise")
    expect(marker).to_have_text("⚠")
    canvas_box = frame.locator(".fv-main-pane canvas").bounding_box()
    scale = canvas_box["width"] / grid["width"]
    ys, xs = tile_box(grid, CHANNELS.index(FAILED))
    mark_box = marker.bounding_box()
    assert xs.start * scale <= mark_box["x"] - canvas_box["x"] < xs.stop * scale
    assert ys.start * scale <= mark_box["y"] - canvas_box["y"] < ys.stop * scale
    expect(frame.locator('.fv-main-pane [data-testid="failed-summary"]')).to_have_text(
        f"⚠ 1 likely failed visualization (under 2× noise): channel {FAILED}")

    # Zoom on the failed channel: its image, ratio and marker.
    point = hover_tile(frame, grid, CHANNELS.index(FAILED))
    frame.locator(".fv-main-pane canvas").click(position=point)
    view = frame.locator('[data-testid="channel-view"]')
    expect(view.locator(".fv-channel-title")).to_have_text(f"channel {FAILED} · 1.5× noise")
    note = view.locator('[data-testid="quality-note"]')
    expect(note).to_have_text("⚠ likely failed visualization (under 2× noise). "
                              "objective 1.5 on this image, 1 on noise: 1.5× noise")
    expect(view.locator(".fv-optimisation")).to_have_text(MADE)
    zoomed = canvas_rgba(frame, '[data-testid="channel-canvas"]')
    np.testing.assert_array_equal(zoomed[..., :3], png[tile_box(grid, CHANNELS.index(FAILED))])
    # Beside it, the channel's feature map and filter.
    related = view.locator('[data-testid="channel-related"]')
    expect(related.locator("figure canvas")).to_have_count(2)
    expect(related.locator('figure[data-kind="activations"] figcaption')).to_contain_text(
        f"Feature map · step {newest}")
    expect(related.locator('figure[data-kind="filters"] figcaption')).to_contain_text(
        f"Filter · step {newest}")
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "features-tab.png"))

    # A good visualization carries no marker in the channel view.
    frame.locator('[aria-label="Previous channel"]').click()
    expect(view.locator(".fv-channel-title")).to_have_text("channel 0 · 23.4× noise")
    expect(note).to_have_text("objective 11.7 on this image, 0.5 on noise: 23.4× noise")


def status_tile_box(frame, grid, tile):
    """Tile ``tile``'s box on the page, in CSS px: (x, y, width, height)."""
    canvas_box = frame.locator(".fv-main-pane canvas").bounding_box()
    scale = canvas_box["width"] / grid["width"]
    ys, xs = tile_box(grid, tile)
    return (canvas_box["x"] + xs.start * scale, canvas_box["y"] + ys.start * scale,
            grid["tile_width"] * scale, grid["tile_height"] * scale)


def test_status_words_round_trip_and_mark_tiles(page, tensorboard):
    """Dead, bound, good, non-finite and failed channels, as the real writer logs them."""
    grid, _ = served(tensorboard, "features", run=STATUS_RUN, layer=STATUS_LAYER)
    # Through a real event file: finite ratios, capped, and a word per channel.
    assert grid["channels"] == STATUS_CHANNELS and grid["step"] == STATUS_STEP
    assert grid["quality"] == STATUS_QUALITY
    frame = open_panel(page, tensorboard, f"&fv-run={STATUS_RUN}&fv-layer={STATUS_LAYER}&fv-kind=features")
    wait_grid(frame, STATUS_LAYER, "Features", STATUS_STEP)
    pane = frame.locator(".fv-main-pane")

    # The dead channel's tile is covered whole, hatched, with a word; it is
    # never marked failed. Only the low ratio is.
    dead = pane.locator('[data-testid="dead-marker"]')
    expect(dead).to_have_count(1)
    expect(dead).to_have_attribute("role", "img")
    expect(dead).to_have_attribute("aria-label", DEAD_WORDS)
    expect(dead).to_have_attribute("title", DEAD_WORDS)
    expect(dead).to_have_text("dead")
    box = dead.bounding_box()
    want = status_tile_box(frame, grid, STATUS_CHANNELS.index(DEAD))
    assert [box["x"], box["y"], box["width"], box["height"]] == pytest.approx(want, abs=1.01)
    failed = pane.locator('[data-testid="failed-marker"]')
    expect(failed).to_have_count(1)
    expect(failed).to_have_attribute("aria-label", f"channel {LOW}: likely failed visualization, 1.2× noise")
    expect(pane.locator('[data-testid="dead-summary"]')).to_have_text(
        f"⊘ 1 dead channel (stays at 0 however the image is pushed): channel {DEAD}")
    expect(pane.locator('[data-testid="failed-summary"]')).to_have_text(
        f"⚠ 1 likely failed visualization (under 2× noise): channel {LOW}")

    # Hover names each tile with its status.
    tooltip = pane.locator('[data-testid="tile-tooltip"]')
    hover_tile(frame, grid, STATUS_CHANNELS.index(DEAD))
    expect(tooltip.locator("strong")).to_have_text(f"channel {DEAD} · dead channel")
    expect(tooltip.locator(".fv-warning")).to_have_text(
        "⊘ dead channel: stays at 0 however the image is pushed")
    expect(tooltip).not_to_contain_text("likely failed")
    hover_tile(frame, grid, STATUS_CHANNELS.index(NOISE_OFF))
    expect(tooltip.locator("strong")).to_have_text(f"channel {NOISE_OFF} · ≥1000× noise")
    expect(tooltip).to_contain_text(BOUND)
    expect(tooltip.locator(".fv-warning")).to_have_count(0)
    hover_tile(frame, grid, STATUS_CHANNELS.index(NONFINITE))
    expect(tooltip.locator("strong")).to_have_text(
        f"channel {NONFINITE} · no noise ratio (non-finite values)")
    expect(tooltip.locator(".fv-warning")).to_have_count(0)
    hover_tile(frame, grid, STATUS_CHANNELS.index(LOW))
    expect(tooltip.locator("strong")).to_have_text(f"channel {LOW} · 1.2× noise")
    expect(tooltip.locator(".fv-warning")).to_have_text("⚠ likely failed visualization")
    hover_tile(frame, grid, STATUS_CHANNELS.index(OK))
    expect(tooltip.locator("strong")).to_have_text(f"channel {OK} · 16.0× noise")
    expect(tooltip.locator(".fv-warning")).to_have_count(0)
    expect(tooltip).not_to_contain_text(BOUND)
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "features-status.png"))

    # The channel view: a strong line for the dead channel, covered there too.
    point = hover_tile(frame, grid, STATUS_CHANNELS.index(DEAD))
    frame.locator(".fv-main-pane canvas").click(position=point)
    view = frame.locator('[data-testid="channel-view"]')
    title = view.locator(".fv-channel-title")
    note = view.locator('[data-testid="quality-note"]')
    cover = view.locator('.fv-channel-body [data-testid="dead-marker"]')
    expect(title).to_have_text(f"channel {DEAD} · dead channel")
    expect(note).to_have_text("⊘ Dead channel: it stays at 0 however the image is pushed, so this "
                              "image is not a visualization of anything. objective 0 on this image, "
                              "0.25 on noise")
    expect(note.locator("strong")).to_have_count(1)
    expect(cover).to_have_count(1)
    expect(cover).to_have_attribute("aria-label", DEAD_WORDS)
    canvas_box = view.locator('[data-testid="channel-canvas"]').bounding_box()
    cover_box = cover.bounding_box()
    assert [cover_box[k] for k in ("x", "y", "width", "height")] == pytest.approx(
        [canvas_box[k] for k in ("x", "y", "width", "height")], abs=1.01)
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "features-dead-channel.png"))
    next_channel = frame.locator('[aria-label="Next channel"]')
    next_channel.click()
    expect(title).to_have_text(f"channel {NOISE_OFF} · ≥1000× noise")
    expect(note).to_have_text(f"objective 2.5 on this image, 0 on noise: ≥1000× noise ({BOUND})")
    expect(note.locator("strong")).to_have_count(0)
    expect(cover).to_have_count(0)
    next_channel.click()
    expect(title).to_have_text(f"channel {NONFINITE} · no noise ratio (non-finite values)")
    expect(note).to_have_text("objective — on this image, 0.3 on noise: no noise ratio (non-finite values)")
    next_channel.click()
    expect(title).to_have_text(f"channel {LOW} · 1.2× noise")
    expect(note).to_have_text("⚠ likely failed visualization (under 2× noise). "
                              "objective 1.2 on this image, 1 on noise: 1.2× noise")
    expect(cover).to_have_count(0)


def test_related_view_of_each_status(page, tensorboard):
    """The optimised image beside a channel's feature map says its status."""
    frame = open_panel(page, tensorboard,
                       f"&fv-run={STATUS_RUN}&fv-layer={STATUS_LAYER}&fv-kind=activations")
    wait_grid(frame, STATUS_LAYER, "Activations", STATUS_STEP)
    acts, _ = served(tensorboard, "activations", run=STATUS_RUN, layer=STATUS_LAYER)
    point = hover_tile(frame, acts, acts["channels"].index(DEAD))
    frame.locator(".fv-main-pane canvas").click(position=point)
    view = frame.locator('[data-testid="channel-view"]')
    title = view.locator(".fv-channel-title")
    figure = view.locator('[data-testid="channel-related"] figure[data-kind="features"]')
    caption = figure.locator("figcaption")
    warning = figure.locator(".fv-warning")
    cover = figure.locator('[data-testid="dead-marker"]')
    made = "channel objective · 3 steps · 12 px · seed 0"
    expect(title).to_have_text(f"channel {DEAD}")
    expect(caption).to_have_text(
        f"Feature visualization · step {STATUS_STEP}dead channel{made}"
        "⊘ dead channel: stays at 0 however the image is pushed")
    expect(warning).to_have_text("⊘ dead channel: stays at 0 however the image is pushed")
    expect(cover).to_have_count(1)
    expect(cover).to_have_attribute("aria-label", DEAD_WORDS)
    expect(cover).to_have_text("dead")
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "features-related-dead.png"))
    next_channel = frame.locator('[aria-label="Next channel"]')
    next_channel.click()  # channel 4: no visualization
    expect(title).to_have_text("channel 4")
    expect(figure).to_contain_text("no feature visualization for this channel")
    next_channel.click()
    expect(title).to_have_text(f"channel {NOISE_OFF}")
    expect(caption).to_have_text(f"Feature visualization · step {STATUS_STEP}≥1000× noise{made}")
    expect(warning).to_have_count(0)
    expect(cover).to_have_count(0)
    next_channel.click()
    expect(title).to_have_text(f"channel {NONFINITE}")
    expect(caption).to_have_text(
        f"Feature visualization · step {STATUS_STEP}no noise ratio (non-finite values){made}")
    expect(warning).to_have_count(0)
    next_channel.click()
    expect(title).to_have_text(f"channel {LOW}")
    expect(caption).to_have_text(
        f"Feature visualization · step {STATUS_STEP}1.2× noise{made}⚠ likely failed visualization")
    expect(warning).to_have_text("⚠ likely failed visualization")
    expect(cover).to_have_count(0)


def test_channel_view_shows_the_optimised_image(page, tensorboard, written):
    first, newest = written["steps"][0], written["steps"][-1]
    frame = open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer={LAYER}&fv-kind=activations"
                       f"&fv-step={first}&fv-cmap=grey")
    wait_grid(frame, LAYER, "Activations", first)
    acts, _ = served(tensorboard, "activations", first)
    features, features_png = served(tensorboard, "features")  # the newest grid
    filters, filters_png = served(tensorboard, "filters", first)
    channel = 3
    point = hover_tile(frame, acts, acts["channels"].index(channel))
    frame.locator(".fv-main-pane canvas").click(position=point)
    view = frame.locator('[data-testid="channel-view"]')
    expect(view.locator(".fv-channel-title")).to_have_text(f"channel {channel}")
    related = view.locator('[data-testid="channel-related"]')
    expect(related.locator("h3")).to_have_text("Same channel in other views")
    figure = related.locator('figure[data-kind="features"]')
    expect(figure.locator("canvas")).to_have_count(1)
    # The newest feature visualization, whatever step is shown, with its ratio.
    expect(figure.locator("figcaption")).to_have_text(
        re.compile(rf"^Feature visualization · step {newest}\s*4\.0× noise\s*{re.escape(MADE)}$"))
    expect(figure.locator('[data-testid="optimisation-caption"]')).to_have_text(MADE)
    # Feature maps and filters say nothing of an optimisation.
    expect(related.locator('[data-testid="optimisation-caption"]')).to_have_count(1)
    expect(view.locator(".fv-optimisation")).to_have_text("")
    mini = canvas_rgba(frame, '[data-testid="channel-related"] figure[data-kind="features"] canvas')
    np.testing.assert_array_equal(mini[..., :3],
                                  features_png[tile_box(features, CHANNELS.index(channel))])
    # The filter of the same channel, at the shown step, in the chosen grey.
    fmini = canvas_rgba(frame, '[data-testid="channel-related"] figure[data-kind="filters"] canvas')
    np.testing.assert_array_equal(fmini[..., 0],
                                  filters_png[tile_box(filters, filters["channels"].index(channel))])
    expect(related.locator('figure[data-kind="filters"] figcaption')).to_contain_text(
        f"Filter · step {first}")
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "features-channel.png"))

    # The failed channel's image carries the marker; a channel without a
    # visualization says so.
    frame.locator('[aria-label="Previous channel"]').click()
    expect(view.locator(".fv-channel-title")).to_have_text(f"channel {FAILED}")
    expect(figure.locator("figcaption")).to_contain_text("1.5× noise")
    expect(figure.locator(".fv-warning")).to_have_text("⚠ likely failed visualization")
    frame.locator('[aria-label="Previous channel"]').click()
    expect(view.locator(".fv-channel-title")).to_have_text("channel 1")
    expect(figure.locator("canvas")).to_have_count(0)
    expect(figure).to_contain_text("no feature visualization for this channel")

    # A click on the optimised image opens the Features tab on that channel.
    frame.locator('[aria-label="Next channel"]').click()
    frame.locator('[aria-label="Next channel"]').click()
    expect(view.locator(".fv-channel-title")).to_have_text(f"channel {channel}")
    figure.click()
    wait_grid(frame, LAYER, "Features", newest)
    expect(view.locator(".fv-channel-title")).to_have_text(f"channel {channel} · 4.0× noise")
    expect(frame.locator('[data-testid="kind-tab"][aria-selected="true"]')).to_have_text("Features")


def test_layer_without_features_says_so(page, tensorboard):
    frame = open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer=block1_conv2&fv-kind=filters")
    wait_grid(frame, "block1_conv2", "Filters")
    frame.locator(".fv-main-pane canvas").click(position={"x": 2, "y": 2})
    related = frame.locator('[data-testid="channel-related"]')
    expect(related.locator('figure[data-kind="activations"] canvas')).to_have_count(1)
    expect(related.locator('figure[data-kind="features"]')).to_have_text(
        re.compile("no feature visualization for this channel"))
    expect(frame.locator('[data-testid="failed-marker"]')).to_have_count(0)


#: Names a server could give the kinds, none of them the panel's own, and
#: none for ``filters`` (as for a kind a newer writer logged).
SERVED_KIND_LABELS = {"activations": "Served maps", "features": "Served images"}
#: ... and for one tile: only a feature visualization's (a feature map's
#: tile then takes its kind's name, a filter's its kind itself).
SERVED_TILE_LABELS = {"features": "Served image tile"}


def test_kind_and_tile_labels_come_from_the_server(page, tensorboard, written):
    """Tabs, captions and the related view say what the ``layers`` reply names the kinds."""
    real = tensorboard.get_json(f"/data/plugin/featureviz/layers?run={RUN}")
    assert real["kind_labels"]["filters"] == "Filters" and real["tile_labels"]["filters"] == "Filter"

    def relabel(route):
        reply = route.fetch()
        doc = reply.json()
        doc["kind_labels"], doc["tile_labels"] = SERVED_KIND_LABELS, SERVED_TILE_LABELS
        route.fulfill(response=reply, json=doc)

    page.route(re.compile(r"/data/plugin/featureviz/layers\?"), relabel)
    newest = written["steps"][-1]
    frame = open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer={LAYER}&fv-kind=features")
    wait_grid(frame, LAYER, "Served images", newest)
    tabs = frame.locator('[data-testid="kind-tab"]')
    expect(tabs).to_have_text(["Served maps", "Served images", "filters"])
    assert tabs.evaluate_all("(tabs) => tabs.map((t) => t.dataset.kind)") == ["activations", "features", "filters"]

    grid, _ = served(tensorboard, "features")
    frame.locator(".fv-main-pane canvas").click(position=hover_tile(frame, grid, 0))
    view = frame.locator('[data-testid="channel-view"]')
    expect(view.locator(".fv-channel-title")).to_have_text("channel 0 · 23.4× noise")
    expect(view).to_contain_text(f"{RUN} · {LAYER} · Served images · step {newest}")
    related = view.locator('[data-testid="channel-related"]')
    # A loaded figure's caption: the tile's name and step, then its values.
    name = 'figure[data-kind="{}"] figcaption > span:first-child'
    expect(related.locator(name.format("activations"))).to_have_text(f"Served maps · step {newest}")
    expect(related.locator(name.format("filters"))).to_have_text(f"filters · step {newest}")

    tabs.filter(has_text="filters").click()
    wait_grid(frame, LAYER, "filters", newest)
    expect(frame.locator('[data-testid="kind-tab"][aria-selected="true"]')).to_have_text("filters")
    expect(related.locator(name.format("features"))).to_have_text(f"Served image tile · step {newest}")


def test_quality_and_related_rules(page, tensorboard):
    """The pure rules behind the tab, imported as served, in the plugin's frame."""
    frame = open_panel(page, tensorboard)
    result = frame.evaluate(
        """async () => {
          const fe = await import('./features.js');
          const rel = await import('./related.js');
          const grid = {layout: 'tiles', kind: 'features', layer: 'l', step: 9, sample: 0,
                        channels: [4, 7, 9], rows: 1, cols: 3, width: 11, height: 3, pad: 1,
                        tile_width: 3, tile_height: 3, lo: [0, 0, 0], hi: [255, 255, 255],
                        quality: {objective: [5, 1, 'x'], noise_objective: [0.1, 1, 1],
                                  ratio: [250.9, 1.999, 'x']}};
          const conv = {name: 'l', kernel_shapes: {kernel: [3, 3, 3, 8]},
                        kinds: {activations: {steps: [0, 5], samples: 2},
                                filters: {steps: [0, 5], samples: 1},
                                features: {steps: [2, 8], samples: 1}}};
          const sep = {name: 'l', kernel_shapes: {depthwise_kernel: [3, 3, 4, 1],
                                                  pointwise_kernel: [1, 1, 4, 6]},
                       kinds: {activations: {steps: [0]}, filters: {steps: [0]}}};
          const acts = {...grid, kind: 'activations', step: 4, sample: 1, quality: undefined};
          const queries = (list) => list.map((r) => r.query && [r.kind, r.query.step, r.query.sample]);
          // Labels come from the caller (the model's tileLabel: the server's).
          const tile = (kind) => `tile of ${kind}`;
          return {
            labels: [0, 1, 2].map((t) => fe.describeWithQuality(grid, t).label),
            ratios: [2.3, 23.4, 2, 0.3, -1.25].map((ratio) => fe.ratioText({ratio})),
            failed: fe.failedTiles(grid),
            malformed: fe.qualityOf({...grid, quality: 'junk'}, 0),
            noQuality: fe.describeWithQuality(acts, 1).label,
            fromActivations: queries(rel.relatedGrids(acts, conv, 'r', tile)),
            fromFeatures: queries(rel.relatedGrids(grid, conv, 'r', tile)),
            relatedLabels: rel.relatedGrids(acts, conv, 'r', tile).map((r) => r.label),
            sepFromActivations: rel.relatedGrids(acts, sep, 'r', tile).map((r) => r.kind),
            sepFromFilters: rel.relatedGrids({...acts, kind: 'filters'}, sep, 'r', tile).length,
            matrix: rel.relatedGrids({...acts, layout: 'matrix'}, conv, 'r', tile).length,
          };
        }"""
    )
    assert result["labels"] == ["channel 4 · 250× noise", "channel 7 · 1.9× noise",
                                "channel 9 · no noise ratio"]
    # Rounded down: a failed ratio never reads as 2.0.
    assert result["ratios"] == ["2.3× noise", "23.4× noise", "2.0× noise", "0.3× noise",
                                "-1.3× noise"]
    assert result["failed"] == [1]
    assert result["malformed"] is None
    assert result["noQuality"] == "channel 7"
    # Filters at the nearest kept step, the newest feature visualization.
    assert result["fromActivations"] == [["filters", 0, 0], ["features", 8, 0]]
    assert result["fromFeatures"] == [["activations", 5, 0], ["filters", 5, 0]]
    assert result["relatedLabels"] == ["tile of filters", "tile of features"]
    # A separable conv's filters are its depthwise kernel: input channels.
    assert result["sepFromActivations"] == ["features"]
    assert result["sepFromFilters"] == 0
    assert result["matrix"] == 0


def test_status_rules(page, tensorboard):
    """Status words, the capped ratio and the dead marker: features.js, imported as served."""
    from tb_featureviz.featurevis import quality

    frame = open_panel(page, tensorboard)
    result = frame.evaluate(
        """async () => {
          const fe = await import('./features.js');
          // Six tiles (2 rows of 3, 3x3 px, pad 1): one per case of `status`.
          const grid = {layout: 'tiles', kind: 'features', layer: 'l', step: 1, sample: 0,
                        channels: [1, 3, 4, 6, 7, 9], rows: 2, cols: 3, width: 11, height: 7,
                        pad: 1, tile_width: 3, tile_height: 3,
                        quality: {objective: [0, 2, 1.5, 0, null, 1.5],
                                  noise_objective: [0.5, 0, 1, 0, 1, 1],
                                  ratio: [0, 1000, 1.5, 0, 0, 1.5],
                                  status: ['dead', 'noise_off', 'ok', 'noise_off', 'nonfinite',
                                           '<img src=x onerror=alert(1)>']}};
          const withStatus = (status) => ({...grid, quality: {...grid.quality, status}});
          const twoDead = withStatus(['dead', 'ok', 'ok', 'ok', 'dead', 'ok']);
          const tiles = [0, 1, 2, 3, 4, 5];
          const note = (q) => { const n = fe.qualityNote(q); return n && n.textContent; };
          const badge = (b) => ({label: b.getAttribute('aria-label'), title: b.title,
                                 role: b.getAttribute('role'), text: b.textContent,
                                 box: [b.style.left, b.style.top, b.style.width, b.style.height]});
          return {
            constants: [fe.RATIO_CAP, [...fe.STATUSES]],
            ratios: [
              {ratio: 1000, status: 'noise_off'}, {ratio: -1000, status: 'noise_off'},
              {ratio: 5, status: 'noise_off'}, {ratio: 0, status: 'noise_off'},
              {ratio: 1000, status: 'ok'}, {ratio: -1000, status: 'ok'},
              {ratio: 1000, status: null}, {ratio: 2500.5, status: null}, {ratio: 999.9, status: 'ok'},
              {ratio: 0, status: 'dead'}, {ratio: null, status: 'dead'},
              {ratio: 0, status: 'nonfinite'}, {ratio: null, status: 'nonfinite'},
              {ratio: null, status: null}, {ratio: 1.5, status: 'ok'},
            ].map(fe.ratioText),
            statuses: tiles.map((t) => fe.qualityOf(grid, t).status),
            malformedStatus: [
              withStatus('dead'), withStatus({0: 'dead'}), withStatus([7, null, ['dead'], 'DEAD',
                                                                      'toString', 'constructor']),
              withStatus(['dead']),
            ].map((g) => tiles.map((t) => fe.qualityOf(g, t).status)),
            // An older record: no status, a null ratio where noise gave 0.
            old: [fe.qualityOf({...grid, quality: {objective: [2], noise_objective: [0],
                                                   ratio: [null]}}, 0)],
            labels: tiles.map((t) => fe.describeWithQuality(grid, t).label),
            failed: fe.failedTiles(grid),
            dead: fe.deadTiles(grid),
            failedSummary: fe.failedSummary(grid),
            deadSummary: [fe.deadSummary(grid), fe.deadSummary(twoDead),
                          fe.deadSummary(withStatus(undefined))],
            warnings: tiles.map((t) => fe.tileWarning(fe.qualityOf(grid, t))),
            badges: fe.deadBadges(twoDead).map(badge),
            failedBadges: fe.failedBadges(grid).map((b) => b.getAttribute('aria-label')),
            cover: [badge(fe.deadCover(grid, 0)), fe.deadCover(grid, 1)],
            notes: [...tiles.map((t) => note(fe.qualityOf(grid, t))),
                    note({objective: 2, noise: 0, ratio: null, status: null}), note(null)],
            // Markup in a status word never became an element.
            markup: document.querySelectorAll('img[src="x"]').length,
          };
        }"""
    )
    # One owner: the panel mirrors the writer's cap and words.
    assert result["constants"] == [quality.RATIO_CAP, [quality.STATUS_OK, quality.STATUS_NOISE_OFF,
                                                      quality.STATUS_DEAD, quality.STATUS_NONFINITE]]
    assert result["ratios"] == [
        "≥1000× noise", "≤−1000× noise", "≥1000× noise",
        "no noise ratio (0 on this image and on noise)",
        "≥1000× noise", "≤−1000× noise", "≥1000× noise", "≥1000× noise", "999× noise",
        "dead channel", "dead channel",
        "no noise ratio (non-finite values)", "no noise ratio (non-finite values)",
        "no noise ratio", "1.5× noise",
    ]
    assert result["statuses"] == ["dead", "noise_off", "ok", "noise_off", "nonfinite", None]
    assert result["malformedStatus"] == [[None] * 6, [None] * 6, [None] * 6,
                                         ["dead", None, None, None, None, None]]
    assert result["old"] == [{"objective": 2, "noise": 0, "ratio": None, "status": None}]
    assert result["labels"] == [
        "channel 1 · dead channel", "channel 3 · ≥1000× noise", "channel 4 · 1.5× noise",
        "channel 6 · no noise ratio (0 on this image and on noise)",
        "channel 7 · no noise ratio (non-finite values)", "channel 9 · 1.5× noise"]
    # Dead and non-finite channels are never "likely failed"; an unknown
    # status reads as none, so its low ratio still is.
    assert result["failed"] == [2, 3, 5]
    assert result["dead"] == [0]
    assert result["failedSummary"] == ("⚠ 3 likely failed visualizations (under 2× noise): "
                                       "channels 4, 6, 9")
    assert result["deadSummary"] == [
        "⊘ 1 dead channel (stays at 0 however the image is pushed): channel 1",
        "⊘ 2 dead channels (stay at 0 however the image is pushed): channels 1, 7",
        "",
    ]
    assert result["warnings"] == [
        "⊘ dead channel: stays at 0 however the image is pushed", None,
        "⚠ likely failed visualization", "⚠ likely failed visualization", None,
        "⚠ likely failed visualization"]
    words = "channel {}: dead channel: stays at 0 however the image is pushed"
    # Each cover spans its whole tile, in percent of the grid's canvas.
    width, height = f"{3 / 11 * 100:.4f}", f"{3 / 7 * 100:.4f}"

    def pct(text):
        return f"{float(text.rstrip('%')):.4f}"

    badges = result["badges"]
    assert [(b["label"], b["title"], b["role"], b["text"]) for b in badges] == [
        (words.format(1), words.format(1), "img", "dead"), (words.format(7), words.format(7), "img", "dead")]
    assert [[pct(v) for v in b["box"]] for b in badges] == [
        ["0.0000", "0.0000", width, height], [pct("36.363636%"), pct("57.142857%"), width, height]]
    assert result["failedBadges"] == [
        "channel 4: likely failed visualization, 1.5× noise",
        "channel 6: likely failed visualization, no noise ratio (0 on this image and on noise)",
        "channel 9: likely failed visualization, 1.5× noise"]
    assert result["cover"] == [{"label": words.format(1), "title": words.format(1), "role": "img",
                                "text": "dead", "box": ["0px", "0px", "100%", "100%"]}, None]
    assert result["notes"] == [
        "⊘ Dead channel: it stays at 0 however the image is pushed, so this image is not a "
        "visualization of anything. objective 0 on this image, 0.5 on noise",
        "objective 2 on this image, 0 on noise: ≥1000× noise "
        "(noise leaves this channel at 0, so the ratio is a bound)",
        "⚠ likely failed visualization (under 2× noise). objective 1.5 on this image, 1 on noise: "
        "1.5× noise",
        "⚠ likely failed visualization (under 2× noise). objective 0 on this image, 0 on noise: "
        "no noise ratio (0 on this image and on noise)",
        "objective — on this image, 1 on noise: no noise ratio (non-finite values)",
        "⚠ likely failed visualization (under 2× noise). objective 1.5 on this image, 1 on noise: "
        "1.5× noise",
        "objective 2 on this image, 0 on noise: no noise ratio",
        None,
    ]
    assert result["markup"] == 0


def test_optimisation_line_of_a_broken_record(page, tensorboard, written):
    """The first step's record holds a hostile ``optimisation``: only what reads is said."""
    first = written["steps"][0]
    frame = open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer={LAYER}&fv-kind=features"
                       f"&fv-step={first}")
    wait_grid(frame, LAYER, "Features", first)
    grid, _ = served(tensorboard, "features", first)
    # Passed through as logged: the plugin leaves judging it to the panel.
    assert grid["optimisation"] == bf.FEATURE_OPTIMISATION_FIRST
    caption = frame.locator('.fv-main-pane [data-testid="optimisation-caption"]')
    expect(caption).to_have_text("96 px · seed 3")
    # The markup in `objective` never became an element (the page fixture
    # also fails on any dialog).
    expect(frame.locator('img[src="x"]')).to_have_count(0)
    # A grid without an optimisation has no such line.
    frame.locator('[data-testid="kind-tab"]').filter(has_text="Activations").click()
    wait_grid(frame, LAYER, "Activations", first)
    expect(caption).to_have_text("")
    expect(caption).to_be_hidden()


def test_optimisation_caption_rules(page, tensorboard):
    """features.optimisationText, imported as served, on good, partial and malformed records."""
    frame = open_panel(page, tensorboard)
    result = frame.evaluate(
        """async () => {
          const fe = await import('./features.js');
          const full = {objective: 'channel', steps: 64, size: 128, canvas: 128, seed: 0,
                        learning_rate: 0.05};
          const cases = [
            full,
            {...full, canvas: 299},
            {...full, canvas: undefined},
            {objective: 'neuron', steps: 1, size: 64, seed: 12},
            {...full, objective: '<img src=x onerror=alert(1)>', steps: '64', seed: -1},
            {...full, objective: 'x'.repeat(40), steps: 0, size: 128.5, canvas: 299},
            {...full, objective: 7, steps: 2 ** 53, size: null, canvas: [128], seed: true},
            {...full, steps: NaN, size: Infinity, canvas: -5, seed: 1.5},
            {learning_rate: 0.05},
            {},
            [full],
            'channel',
            null,
          ];
          return [...cases.map((optimisation) => fe.optimisationText({optimisation})),
                  fe.optimisationText({})];
        }"""
    )
    assert result == [
        "channel objective · 64 steps · 128 px · seed 0",
        "channel objective · 64 steps · 128 px (on a 299 px canvas) · seed 0",
        "channel objective · 64 steps · 128 px · seed 0",
        "neuron objective · 1 step · 64 px · seed 12",
        "128 px",
        "on a 299 px canvas · seed 0",
        "",
        "channel objective",
        "", "", "", "", "", "",
    ]
