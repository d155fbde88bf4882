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
"""

import io
import os
import re
import urllib.parse

import numpy as np
import pytest
from playwright.sync_api import expect

from tests import browser_fixtures as bf
from tests.browser_fixtures import browser, page  # noqa: F401 (fixtures)
from tests.browser_fixtures import canvas_rgba, open_panel, wait_grid

RUN = "synthetic"
LAYER = bf.FEATURES_LAYER
CHANNELS = bf.FEATURE_CHANNELS
FAILED = 2   # the channel whose ratio (1.5) is under 2
NO_RATIO = 5  # the channel whose noise objective was 0
#: How the newest grid was made (bf.FEATURE_OPTIMISATION), in words.
MADE = "channel objective · 64 steps · 128 px (on a 299 px canvas) · seed 0"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = tmp_path_factory.mktemp("features-logs")
    result = bf.write_synthetic_logs(str(path), steps=3, run=RUN)
    result["logdir"] = str(path)
    return result


@pytest.fixture(scope="module")
def tensorboard(written):
    with bf.tensorboard_server(written["logdir"]) as server:
        yield server


def served(tensorboard, kind, step=None, sample=0):
    """The grid record and the decoded PNG (RGB or grey) as the plugin serves them."""
    from PIL import Image

    params = {"run": RUN, "layer": LAYER, "kind": kind, "sample": sample}
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
          return {
            labels: [0, 1, 2].map((t) => fe.describeWithQuality(grid, t).label),
            ratios: [2.3, 23.4, 2, 0.3, -1.25].map((ratio) => fe.ratioText({ratio})),
            failed: fe.failedTiles(grid),
            malformed: fe.qualityOf({...grid, quality: 'junk'}, 0),
            noQuality: fe.describeWithQuality(acts, 1).label,
            fromActivations: queries(rel.relatedGrids(acts, conv, 'r')),
            fromFeatures: queries(rel.relatedGrids(grid, conv, 'r')),
            sepFromActivations: rel.relatedGrids(acts, sep, 'r').map((r) => r.kind),
            sepFromFilters: rel.relatedGrids({...acts, kind: 'filters'}, sep, 'r').length,
            matrix: rel.relatedGrids({...acts, layout: 'matrix'}, conv, 'r').length,
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
    # A separable conv's filters are its depthwise kernel: input channels.
    assert result["sepFromActivations"] == ["features"]
    assert result["sepFromFilters"] == 0
    assert result["matrix"] == 0


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
