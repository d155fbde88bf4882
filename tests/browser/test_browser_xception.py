"""The Feature maps panel on a real Xception log, in headless Chromium.

``keras.applications.Xception(weights=None)`` nested inside a small
classifier (the usual fine-tuning set-up) is logged by ``FeatureVizLogger``
over three steps, with the top blocks nudged between steps as fine-tuning
would, and drift/dead-channel scalars beside them. The tests check the
layer tree (the nested model with its block1 ... block14 groups) and save
screenshots as artifacts (``FEATUREVIZ_ARTIFACTS``, default
``test-artifacts/``); ``docs/screenshots/panel.png`` is one of them.
"""

import os

import pytest
from playwright.sync_api import expect

from tests import browser_fixtures as bf
from tests.browser_fixtures import canvas_rgba, frame_state, open_panel, wait_grid

FIRST_CONV = "xception/block1_conv1"


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("xception-logs")
    bf.write_xception_logs(str(path), run="xception", steps=3)
    return str(path)


def test_xception_tree_grids_and_screenshots(page, tensorboard):
    frame = open_panel(page, tensorboard, f"&fv-layer={FIRST_CONV}&fv-kind=activations")
    doc = tensorboard.get_json("/data/plugin/featureviz/layers?run=xception")
    names = [layer["name"] for layer in doc["layers"]]
    expect(frame.locator('[data-testid="layer-item"]')).to_have_count(len(names))

    # The base model is a group of its own, with one group per Xception block.
    model = frame.locator(".fv-group-model", has_text="xception").first
    blocks = model.locator(".fv-group-block > .fv-group-header .fv-group-label")
    expect(blocks).to_have_count(14)
    assert blocks.all_text_contents() == [f"block{i}" for i in range(1, 15)]

    wait_grid(frame, FIRST_CONV, "Activations")
    expect(frame.locator(".fv-probe canvas")).to_be_visible()
    expect(frame.locator('[data-testid="sample-button"]')).to_have_count(2)
    page.wait_for_timeout(300)
    shots = bf.artifacts_dir()
    page.screenshot(path=os.path.join(shots, "xception-panel.png"))

    # The first conv's activations at true pixel size: 149x149 tiles.
    canvas = frame.locator(".fv-main-pane canvas")
    box = canvas.bounding_box()
    width = int(canvas.get_attribute("width"))
    assert box["width"] == pytest.approx(width)

    # Keyboard down the tree, then a channel of a deep block.
    page.keyboard.press("j")
    expect(frame.locator(".fv-layer-title")).to_have_text(names[names.index(FIRST_CONV) + 1])
    frame.locator('[data-testid="layer-filter"]').fill("block14_sepconv2")
    frame.locator('[data-testid="layer-item"]:visible', has_text="block14_sepconv2").first.click()
    wait_grid(frame, "xception/block14_sepconv2", "Activations")
    frame.locator(".fv-main-pane canvas").click(position={"x": 4, "y": 4})
    expect(frame.locator('[data-testid="channel-view"]')).to_be_visible()
    assert frame_state(frame)["channel"] == "0"
    assert canvas_rgba(frame, '[data-testid="channel-canvas"]').shape[:2] == (10, 10)
    page.screenshot(path=os.path.join(shots, "xception-channel.png"))

    # Filters of the first conv: RGB tiles (3 input channels).
    frame.locator('[data-testid="layer-filter"]').fill("")
    frame.locator(f'[data-testid="layer-item"][title="{FIRST_CONV}"]').click()
    frame.locator('[data-testid="kind-tab"]', has_text="Filters").click()
    wait_grid(frame, FIRST_CONV, "Filters")
    expect(frame.locator('[data-testid="cmap-select"]')).to_be_disabled()
    page.screenshot(path=os.path.join(shots, "xception-filters.png"))


def test_xception_drift_chart(page, tensorboard):
    frame = open_panel(page, tensorboard, "&fv-view=charts")
    rows = frame.locator('[data-testid="chart-row"]')
    expect(rows.first).to_be_visible()
    frame.locator(".fv-chart-head select").select_option("drift")
    first = rows.first.locator(".fv-chart-name").text_content()
    assert "block14" in first or "dense" in first or "predictions" in first, first
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "xception-drift.png"))
    rows.first.click()
    wait_grid(frame, first, r"[A-Za-z ]+")
