"""The Examples view of the panel (dataset examples), in headless Chromium.

A 5x5 valid convolution is set by hand to detect a pattern (channel 0) and
its inverse (channel 1), as in ``tests/examples/test_scan.py``; the pattern
is planted at known places in five noise pictures with five contrasts,
its inverse in five others, so every channel's examples (picture index,
box, order) are known. The pictures are 96x160, so their thumbnails
(128 px on the longer side) are scaled and the boxes must be scaled with
them. ``FeatureVizLogger.log_examples`` writes the pass with
``max_channels=1`` (only channel 0's crops are drawn, and only its pictures
kept), and another logger of the same run the layer's activations and
filters at the same step, so the channel view has the other kinds. A second
run holds an examples record whose header is malformed in most ways a log
can be, and no pictures.

The tests check the Examples tab and its grid's exact pixels, the crop
named under the pointer (channel, slot, value, picture index, box, the
channel's statistics and the layer's health over the data, the pictures
scanned), the whole picture drawn on a click with the box outlined at the
exact pixels computed here from the records, the URL's ``example``, the
channel view's crops with their captions (and a channel beyond the drawn
ones listed as text, its pictures said to be missing), the notes on a
malformed record, the plugin's ``pictures`` entry, and the geometry module
itself.
"""

import io
import os
import urllib.parse

import numpy as np
import pytest
from playwright.sync_api import expect

from tests import browser_fixtures as bf
from tests.browser_fixtures import canvas_rgba, frame_state, open_panel, wait_grid

RUN = "examples"
BROKEN = "malformed"
LAYER = "detect"
BROKEN_LAYER = "conv"
STEP = 0
BROKEN_STEP = 5
K = 5
HEIGHT, WIDTH = 96, 160
PICTURES = 40
PATTERN = np.array([[1, 0, 1, 0, 1], [0, 1, 1, 1, 0], [1, 1, 0, 1, 1], [0, 1, 1, 1, 0], [1, 0, 1, 0, 1]],
                   np.float32)
#: index -> (top, left, contrast): the pattern (channel 0) and its inverse (channel 1).
PLANTED = {3: (10, 20, 1.0), 11: (50, 100, 0.9), 17: (0, 155, 0.8), 26: (91, 0, 0.7), 33: (40, 70, 0.6)}
INVERSE = {5: (30, 30, 1.0), 8: (60, 140, 0.9), 20: (5, 5, 0.8), 29: (70, 90, 0.7), 38: (20, 120, 0.6)}
#: What the panel outlines a box with, outermost ring first (pictures.js OUTLINE_COLOURS).
OUTLINE = [(255, 221, 0), (255, 221, 0), (0, 0, 0)]
#: Longer side of a drawn picture (pictures.js PICTURE_BOX).
PICTURE_BOX = 256

GRID = '.fv-main-pane [data-testid="grid-canvas"]'
TOOLTIP = '.fv-main-pane [data-testid="tile-tooltip"]'
VIEW = '[data-testid="examples-view"]'
CHANNEL = '[data-testid="channel-view"]'
SECTION = '[data-testid="channel-examples"]'


def pictures():
    """Noise pictures with the pattern planted (five contrasts), and its inverse elsewhere."""
    rng = np.random.default_rng(2)
    out = rng.integers(100, 140, (PICTURES, HEIGHT, WIDTH, 3)).astype(np.uint8)
    for planted, sign in ((PLANTED, 1), (INVERSE, -1)):
        for index, (top, left, contrast) in planted.items():
            patch = 128 + sign * np.where(PATTERN > 0, 1, -1) * 127 * contrast
            out[index, top:top + 5, left:left + 5] = np.round(patch).astype(np.uint8)[..., None]
    return out


def detector():
    """Channel 0 detects the pattern, channel 1 its inverse (zero-mean kernels in every colour)."""
    import keras

    inputs = keras.Input((HEIGHT, WIDTH, 3))
    conv = keras.layers.Conv2D(2, 5, use_bias=False, name=LAYER)
    model = keras.Model(inputs, keras.layers.GlobalMaxPooling2D()(conv(inputs)))
    kernel = np.zeros((5, 5, 3, 2), np.float32)
    kernel[..., 0] = (PATTERN - PATTERN.mean())[..., None]
    kernel[..., 1] = -kernel[..., 0]
    conv.set_weights([kernel])
    return model


def write_examples_run(logdir):
    """Activations and filters of the layer, and a data-set pass drawing channel 0 only, at one step."""
    from tb_featureviz.logger import FeatureVizLogger

    model = detector()
    data = pictures()
    maps = FeatureVizLogger(logdir, run=RUN, workers=1)
    try:
        maps.log_activations(model, data[[3, 5]], STEP, layers=[LAYER])
        maps.log_filters(model, STEP, layers=[LAYER])
    finally:
        maps.close()
    with pytest.warns(Warning, match="max_channels=1"):
        examples = FeatureVizLogger(logdir, run=RUN, workers=1, max_channels=1)
        try:
            records = examples.log_examples(model, data, STEP, layers=[LAYER], k=K)
        finally:
            examples.close()
    (record,) = [r for r in records if r["kind"] == "examples"]
    return record


#: The malformed run's header: a count that is text, a negative width, a
#: receptive field that is no object, examples without an index, with a box
#: of two numbers and a value that is a word, a channel whose list is text,
#: statistics that are words, health that is a word.
BROKEN_EXAMPLES = {
    "k": 5, "pictures": "many", "picture_height": 32, "picture_width": -4, "crop_size": 8,
    "crop_rows": 2, "crop_cols": 3, "receptive_field": "<img src=x onerror=alert(1)>",
    "per_channel": [[{"index": 3, "box": [0, 0, 4, 4], "value": 2.5}, {"index": "x"},
                     {"index": 7, "box": [1, 2], "value": "high"}, "junk"],
                    "<img src=x onerror=alert(1)>"],
    "stats": {"mean": ["a", 1.0], "max": [3.0, None]},
    "health": "bad",
}


def write_broken_run(logdir):
    """An examples grid (2 channels, 2x3 crops of 8 px) with a malformed header, and no pictures."""
    from tb_featureviz.render.jobs import GridJob

    tiles = np.random.default_rng(1).integers(0, 256, (2, 17, 26, 3)).astype(np.uint8)
    job = GridJob(layer=BROKEN_LAYER, class_name="Conv2D", kind="examples", layout="tiles",
                  samples=[tiles], channels=[0, 1], total_channels=2, source_shape=(2, 8, 8, 3),
                  scale="fixed", value_range=(0.0, 255.0), record_extra={"examples": BROKEN_EXAMPLES})
    bf.write_grid_jobs(logdir, BROKEN, BROKEN_STEP, [job])


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    return bf.write_runs(tmp_path_factory, "examples-logs", record=write_examples_run, broken=write_broken_run)


def served(tensorboard, layer=LAYER, kind="examples", step=STEP, run=RUN):
    """The grid record and its PNG (an RGB array) as the plugin serves them."""
    from PIL import Image

    query = urllib.parse.urlencode({"run": run, "layer": layer, "kind": kind, "step": step, "sample": 0})
    grid = tensorboard.get_json("/data/plugin/featureviz/grid?" + query)
    image = Image.open(io.BytesIO(tensorboard.get("/data/plugin/featureviz/" + grid["image_url"])))
    return grid, np.asarray(image.convert("RGB"))


def fmt(value):
    """dom.js fmt() for the magnitudes met here: 4 significant digits, no trailing zeros."""
    assert value == 0 or 1e-3 <= abs(value) < 1e5
    text = f"{float(f'{value:.4g}'):f}".rstrip("0").rstrip(".")
    return text or "0"


def pct(value):
    """dom.js pct(): a percentage with one decimal."""
    return f"{value * 100:.1f}%"


def box_text(box):
    return f"box top {box[0]}, left {box[1]}, bottom {box[2]}, right {box[3]}"


def example_text(entry):
    return f"value {fmt(entry['value'])} · picture {entry['index']} · {box_text(entry['box'])}"


def stats_text(examples, channel):
    stats = examples["stats"]
    return (f"mean {fmt(stats['mean'][channel])} · max {fmt(stats['max'][channel])} · "
            f"zeros {pct(stats['zero_fraction'][channel])}")


def health_text(examples):
    h = examples["health"]
    return (f"dead {pct(h['dead_fraction'])} · saturated {pct(h['saturated_fraction'])} · "
            f"non-finite {pct(h['nonfinite_fraction'])}")


def scanned_text(examples):
    size = examples["receptive_field"]["size"]
    return (f"top {examples['k']} per channel · pictures scanned: {examples['pictures']} · "
            f"pictures {examples['picture_height']}×{examples['picture_width']} px · "
            f"receptive field {size[0]}×{size[1]} px")


def crop_centre(examples, tile_origin, slot):
    """Grid pixel (x, y) at the centre of crop `slot` of the tile at `tile_origin`."""
    size, cols = examples["crop_size"], examples["crop_cols"]
    row, col = divmod(slot, cols)
    return tile_origin[0] + col * (size + 1) + size // 2, tile_origin[1] + row * (size + 1) + size // 2


def settled_box(frame, selector):
    """The bounding box of `selector` once it stays put (views beside a grid move and fit it)."""
    box = None
    for _ in range(50):
        frame.page.wait_for_timeout(50)
        now = frame.locator(selector).bounding_box()
        if now == box:
            return box
        box = now
    raise AssertionError(f"{selector} keeps moving")


def point(frame, selector, grid, x, y):
    """Page coordinates of grid pixel (x, y) of a canvas drawn at the grid's size."""
    box = settled_box(frame, selector)
    return (box["x"] + (x + 0.5) * box["width"] / grid["width"],
            box["y"] + (y + 0.5) * box["height"] / grid["height"])


def expected_picture(tensorboard, entry):
    """The whole picture as the panel must draw it: its thumbnail enlarged, the box outlined."""
    grid, png = served(tensorboard, layer="_data", kind="pictures")
    tile = grid["indices"].index(entry["index"])
    row, col = divmod(tile, grid["cols"])
    th, tw = grid["tile_height"], grid["tile_width"]
    y, x = row * (th + grid["pad"]), col * (tw + grid["pad"])
    thumbnail = png[y:y + th, x:x + tw]
    factor = max(1, PICTURE_BOX // max(th, tw))
    drawn = np.repeat(np.repeat(thumbnail, factor, axis=0), factor, axis=1)
    height, width = drawn.shape[:2]
    top, left, bottom, right = entry["box"]
    ph, pw = grid["picture_height"], grid["picture_width"]
    y0, x0 = top * height // ph, left * width // pw
    y1, x1 = -(-bottom * height // ph), -(-right * width // pw)
    rgba = np.concatenate([drawn, np.full((height, width, 1), 255, np.uint8)], axis=2)
    for ring, colour in enumerate(OUTLINE):
        inner = rgba[y0 + ring:y1 - ring, x0 + ring:x1 - ring]
        inner[[0, -1], :, :3] = colour
        inner[:, [0, -1], :3] = colour
    return rgba, (x0, y0, x1, y1), thumbnail.shape[:2]


def show_examples(page, tensorboard, hash_state=""):
    frame = open_panel(page, tensorboard, hash_state or f"&fv-run={RUN}&fv-layer={LAYER}&fv-kind=examples")
    wait_grid(frame, LAYER, "Examples", STEP)
    expect(frame.locator(VIEW)).to_be_visible()  # beside the grid: the grid has moved into place
    return frame


# --------------------------------------------------------------------------
# the writer's data, as the plugin serves it


def test_the_pictures_are_served_beside_the_layers(tensorboard, written):
    """`_data` is no layer of the list; the reply names it in `pictures`, and the grid route serves it."""
    doc = tensorboard.get_json("/data/plugin/featureviz/layers?run=" + RUN)
    names = [layer["name"] for layer in doc["layers"]]
    assert LAYER in names and not [name for name in names if name.startswith("_")]
    assert list(doc["layers"][names.index(LAYER)]["kinds"]) == ["activations", "examples", "filters"]
    assert doc["pictures"] == {"layer": "_data", "kind": "pictures", "steps": [STEP], "samples": 1}
    grid, png = served(tensorboard, layer="_data", kind="pictures")
    assert grid["indices"] == sorted(PLANTED)  # only the drawn channel's pictures
    assert (grid["picture_height"], grid["picture_width"]) == (HEIGHT, WIDTH)
    assert (grid["tile_height"], grid["tile_width"]) == (77, 128)  # 0.8 of 96x160
    examples = written["record"]["examples"]
    assert [e["index"] for e in examples["per_channel"][0]] == list(PLANTED)  # strongest first
    assert [e["index"] for e in examples["per_channel"][1]] == list(INVERSE)
    boxes = [[top, left, top + 5, left + 5] for top, left, _ in PLANTED.values()]
    assert [e["box"] for e in examples["per_channel"][0]] == boxes
    assert tensorboard.get_json("/data/plugin/featureviz/layers?run=" + BROKEN)["pictures"] is None


# --------------------------------------------------------------------------
# the Examples view


def test_the_examples_tab_shows_the_grid_and_the_pass(page, tensorboard, written):
    frame = open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer={LAYER}")
    tabs = frame.locator('[data-testid="kind-tab"]')
    expect(tabs).to_have_text(["Activations", "Examples", "Filters"])
    expect(frame.locator('[data-testid="sample-button"]')).to_have_count(2)
    tabs.nth(1).click()
    wait_grid(frame, LAYER, "Examples", STEP)
    # The examples come from the data, not from the probe images: neither is offered.
    expect(frame.locator('[data-testid="sample-button"]')).to_have_count(0)
    expect(frame.locator(".fv-pane.fv-probe")).to_be_hidden()
    grid, png = served(tensorboard)
    assert grid["channels"] == [0] and grid["total_channels"] == 2
    assert np.array_equal(canvas_rgba(frame, GRID)[..., :3], png)
    examples = written["record"]["examples"]
    view = frame.locator(VIEW)
    expect(view).to_be_visible()
    expect(view.locator('[data-testid="examples-title"]')).to_have_text(f"Dataset examples · step {STEP}")
    expect(view.locator('[data-testid="examples-summary"]')).to_have_text(scanned_text(examples))
    expect(view.locator('[data-testid="examples-health"]')).to_have_text(
        f"Layer over the data: {health_text(examples)}")
    expect(view.locator('[data-testid="examples-notes"]')).to_be_empty()
    expect(view.locator('[data-testid="examples-selected"]')).to_have_text(
        "Point at a crop to read its example; click it to see its picture.")
    expect(view.locator('[data-testid="example-picture"]')).to_be_hidden()
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "examples-tab.png"))


@pytest.mark.parametrize("slot", [0, 2, 4])
def test_hovering_a_crop_names_its_example(page, tensorboard, written, slot):
    frame = show_examples(page, tensorboard)
    grid, _ = served(tensorboard)
    examples = written["record"]["examples"]
    entry = examples["per_channel"][0][slot]
    page.mouse.move(*point(frame, GRID, grid, *crop_centre(examples, (0, 0), slot)))
    tooltip = frame.locator(TOOLTIP)
    expect(tooltip).to_be_visible()
    lines = tooltip.locator(":scope > *")
    expect(lines).to_have_text([
        f"channel 0 · example {slot + 1} of {K}",
        example_text(entry),
        f"channel over the data: {stats_text(examples, 0)}",
        f"layer over the data: {health_text(examples)}",
        scanned_text(examples),
    ])
    # The grey line between two crops names the channel only.
    size = examples["crop_size"]
    page.mouse.move(*point(frame, GRID, grid, size, size // 2))
    expect(lines.first).to_have_text("channel 0")
    expect(lines.nth(1)).to_have_text("Point at a crop to read its example.")


def test_clicking_a_crop_shows_its_picture_with_the_box(page, tensorboard, written):
    frame = show_examples(page, tensorboard)
    grid, _ = served(tensorboard)
    examples = written["record"]["examples"]
    slot = 1
    entry = examples["per_channel"][0][slot]
    page.mouse.click(*point(frame, GRID, grid, *crop_centre(examples, (0, 0), slot)))
    view = frame.locator(VIEW)
    expect(view.locator('[data-testid="examples-selected"] > *')).to_have_text([
        f"channel 0 · example {slot + 1} of {K}", example_text(entry),
        f"channel over the data: {stats_text(examples, 0)}"])
    canvas = view.locator('[data-testid="example-picture"]')
    expect(canvas).to_be_visible()
    expect(view.locator('[data-testid="example-picture-caption"]')).to_have_text(
        f"picture {entry['index']} · {box_text(entry['box'])}")
    expected, outline, thumbnail = expected_picture(tensorboard, entry)
    assert thumbnail == (77, 128) and expected.shape[:2] == (154, 256)
    # Box [50, 100, 55, 105] of 96x160 on 154x256: rows 80..89, columns 160..168.
    assert outline == (160, 80, 168, 89)
    drawn = canvas_rgba(frame, f'{VIEW} [data-testid="example-picture"]')
    assert np.array_equal(drawn, expected)
    assert (drawn[80, 160:168, :3] == OUTLINE[0]).all() and (drawn[82, 162:166, :3] == OUTLINE[2]).all()
    state = frame_state(frame)
    assert (state["channel"], state["example"]) == ("0", str(slot))
    # The channel view opened on the clicked tile lists the same crops.
    expect(frame.locator(f'{SECTION} [data-testid="channel-example"]')).to_have_count(K)
    expect(frame.locator(f'{SECTION} [data-testid="channel-example"][aria-pressed="true"]')).to_have_attribute(
        "data-slot", str(slot))
    canvas.scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "examples-picture.png"))


def test_the_url_keeps_the_example(page, tensorboard, written):
    slot = 3
    frame = show_examples(page, tensorboard,
                          f"&fv-run={RUN}&fv-layer={LAYER}&fv-kind=examples&fv-channel=0&fv-example={slot}")
    entry = written["record"]["examples"]["per_channel"][0][slot]
    expected, _, _ = expected_picture(tensorboard, entry)
    canvas = frame.locator(f'{VIEW} [data-testid="example-picture"]')
    expect(canvas).to_be_visible()
    expect(frame.locator(f'{VIEW} [data-testid="example-picture-caption"]')).to_have_text(
        f"picture {entry['index']} · {box_text(entry['box'])}")
    assert np.array_equal(canvas_rgba(frame, f'{VIEW} [data-testid="example-picture"]'), expected)
    assert frame_state(frame)["example"] == str(slot)
    # Another channel's tile (none here: one drawn) or closing the channel forgets the example.
    frame.locator('[data-testid="channel-view"] .fv-close').click()
    expect(canvas).to_be_hidden()
    assert "example" not in frame_state(frame)


# --------------------------------------------------------------------------
# the channel view


def open_channel_from_activations(page, tensorboard, channel):
    frame = open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer={LAYER}&fv-kind=activations")
    wait_grid(frame, LAYER, "Activations", STEP)
    grid, _ = served(tensorboard, kind="activations")
    row, col = divmod(grid["channels"].index(channel), grid["cols"])
    x = col * (grid["tile_width"] + grid["pad"]) + grid["tile_width"] // 2
    y = row * (grid["tile_height"] + grid["pad"]) + grid["tile_height"] // 2
    page.mouse.click(*point(frame, GRID, grid, x, y))
    expect(frame.locator('[data-testid="channel-view"] .fv-channel-title')).to_have_text(f"channel {channel}")
    return frame


def test_the_channel_view_shows_the_channels_crops(page, tensorboard, written):
    frame = open_channel_from_activations(page, tensorboard, 0)
    examples = written["record"]["examples"]
    section = frame.locator(SECTION)
    expect(section.locator('[data-testid="channel-examples-heading"]')).to_have_text(
        f"Dataset examples · step {STEP}")
    expect(section.locator('[data-testid="channel-examples-summary"] > *')).to_have_text(
        [f"channel 0 over the data: {stats_text(examples, 0)}", scanned_text(examples)])
    figures = section.locator('[data-testid="channel-example"]')
    expect(figures).to_have_count(K)
    entries = examples["per_channel"][0]
    for slot, entry in enumerate(entries):
        expect(figures.nth(slot).locator("figcaption span")).to_have_text(
            [f"value {fmt(entry['value'])}", f"picture {entry['index']}"])
    # Each crop is its slot of the examples grid, exactly.
    _, png = served(tensorboard)
    size, cols = examples["crop_size"], examples["crop_cols"]
    crops = frame.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-testid="channel-examples"] [data-testid="channel-example"] canvas'), (c) => Array.from(
        c.getContext('2d').getImageData(0, 0, c.width, c.height).data))""")
    for slot, data in enumerate(crops):
        row, col = divmod(slot, cols)
        y, x = row * (size + 1), col * (size + 1)
        assert np.array_equal(np.array(data, np.uint8).reshape(size, size, 4)[..., :3],
                              png[y:y + size, x:x + size]), slot
    expect(section.locator('[data-testid="channel-examples-note"]')).to_be_hidden()
    # The main canvas, the related views and the examples stay side by side.
    expect(frame.locator('[data-testid="channel-related"] figure')).to_have_count(2)  # filter, features
    slot = 4
    figures.nth(slot).click()
    entry = entries[slot]
    canvas = section.locator('[data-testid="channel-example-picture"]')
    expect(canvas).to_be_visible()
    expect(section.locator('[data-testid="channel-example-picture-caption"]')).to_have_text(
        f"picture {entry['index']} · {box_text(entry['box'])}")
    expected, outline, _ = expected_picture(tensorboard, entry)
    assert outline == (112, 64, 120, 73)  # box [40, 70, 45, 75]
    assert np.array_equal(canvas_rgba(frame, f'{SECTION} [data-testid="channel-example-picture"]'), expected)
    assert frame_state(frame)["example"] == str(slot)
    expect(figures.nth(slot)).to_have_attribute("aria-pressed", "true")
    canvas.scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "examples-channel-view.png"))
    # The link opens the layer's Examples view, the same example chosen.
    section.locator('[data-testid="channel-examples-link"]').click()
    wait_grid(frame, LAYER, "Examples", STEP)
    expect(frame.locator(f'{VIEW} [data-testid="example-picture-caption"]')).to_have_text(
        f"picture {entry['index']} · {box_text(entry['box'])}")


def test_a_channel_beyond_the_drawn_lists_its_examples_as_text(page, tensorboard, written):
    frame = open_channel_from_activations(page, tensorboard, 1)
    examples = written["record"]["examples"]
    section = frame.locator(SECTION)
    expect(section.locator('[data-testid="channel-examples-note"]')).to_have_text(
        "The crops of channel 1 were not drawn (the grid draws 1 of 2 channels): "
        "its examples are listed as text.")
    items = section.locator('[data-testid="channel-example"]')
    entries = examples["per_channel"][1]
    expect(items).to_have_text([
        f"{slot + 1}. picture {e['index']} · value {fmt(e['value'])} · {box_text(e['box'])}"
        for slot, e in enumerate(entries)])
    expect(section.locator("canvas")).to_have_count(1)  # the picture's, hidden: no crop drawn
    items.nth(0).click()
    note = section.locator('[data-testid="channel-example-picture-note"]')
    expect(note).to_have_text(f"Picture {entries[0]['index']} was not logged at step {STEP}: "
                              "only the pictures behind the drawn channels’ examples are kept.")
    expect(section.locator('[data-testid="channel-example-picture"]')).to_be_hidden()
    assert frame_state(frame)["example"] == "0"
    note.scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "examples-channel-as-text.png"))


# --------------------------------------------------------------------------
# untrusted logs


def test_a_malformed_record_shows_notes(page, tensorboard):
    frame = open_panel(page, tensorboard, f"&fv-run={BROKEN}&fv-layer={BROKEN_LAYER}")
    wait_grid(frame, BROKEN_LAYER, "Examples", BROKEN_STEP)
    view = frame.locator(VIEW)
    expect(view).to_be_visible()
    expect(view.locator('[data-testid="examples-notes"] .fv-note')).to_have_text([
        "The record does not say how many pictures were scanned.",
        "The record does not give the pictures’ size: boxes cannot be drawn.",
        "1 channel’s list of examples is unreadable.",
        "3 examples are unreadable or incomplete.",
        "The record has no health figures for the layer.",
    ])
    scanned = "top 5 per channel · pictures scanned: ?"
    expect(view.locator('[data-testid="examples-summary"]')).to_have_text(scanned)
    expect(view.locator('[data-testid="examples-health"]')).to_have_text("No health figures for this layer.")
    grid, _ = served(tensorboard, run=BROKEN, layer=BROKEN_LAYER, step=BROKEN_STEP)
    tooltip = frame.locator(TOOLTIP).locator(":scope > *")
    # Slot 0 is readable; slot 1 was left out (no index); slot 2 has no box and no value.
    layout = {"crop_size": 8, "crop_cols": 3}
    expected = {0: "value 2.5 · picture 3 · box top 0, left 0, bottom 4, right 4",
                1: "empty slot: no example here",
                2: "value — · picture 7 · box unreadable"}
    for slot, text in expected.items():
        page.mouse.move(*point(frame, GRID, grid, *crop_centre(layout, (0, 0), slot)))
        expect(tooltip).to_have_text([f"channel 0 · example {slot + 1} of 5", text,
                                      "channel over the data: mean — · max 3 · zeros —",
                                      "no health figures for this layer", scanned])
    # Channel 1's list is unreadable: its crops name no example.
    page.mouse.move(*point(frame, GRID, grid, 27 + 4, 4))
    expect(tooltip.nth(1)).to_have_text("the record lists no examples for this channel")
    expect(tooltip.nth(2)).to_have_text("channel over the data: mean 1 · max — · zeros —")
    # A click on a readable crop says why there is no picture, without a request that fails.
    page.mouse.click(*point(frame, GRID, grid, *crop_centre(layout, (0, 0), 0)))
    expect(view.locator('[data-testid="example-picture-note"]')).to_have_text(
        "No pictures were logged with the examples of step 5 (this run logged none; older logs keep none), "
        "so picture 3 cannot be shown.")
    expect(view.locator('[data-testid="example-picture"]')).to_be_hidden()
    # The channel view of the unreadable channel says so.
    page.mouse.click(*point(frame, GRID, grid, 27 + 4, 4))
    expect(frame.locator(f'{SECTION} [data-testid="channel-examples-note"]')).to_have_text(
        "The record lists no examples for channel 1.")
    assert frame.evaluate("() => document.querySelectorAll('img').length") == 0
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "examples-malformed.png"))


# --------------------------------------------------------------------------
# the geometry module


def test_examples_geometry(page, tensorboard):
    """examples.js, exampletext.js and pictures.js, imported as served.

    Crop slots, boxes on a drawing, the outline, reading a record.
    """
    frame = open_panel(page, tensorboard)
    result = frame.evaluate(
        """async () => {
          const ex = await import('./examples.js');
          const tx = await import('./exampletext.js');
          const pic = await import('./pictures.js');
          // k = 5 crops of 4 px in 2 rows of 3: a tile of 9 x 14 px.
          const layout = {k: 5, size: 4, rows: 2, cols: 3};
          const slots = [[0, 0], [3, 3], [4, 0], [5, 0], [8, 3], [9, 3], [10, 0], [13, 3], [14, 0],
                         [0, 4], [0, 5], [8, 8], [10, 5], [15, 0], [0, 10], [-1, 0], [NaN, 0]]
              .map(([x, y]) => ex.slotAt(layout, x, y));
          const origins = [0, 1, 2, 3, 4].map((s) => ex.slotOrigin(layout, s));
          const grid = {layout: 'tiles', kind: 'examples', channels: [0, 2], rows: 1, cols: 2,
                        tile_height: 9, tile_width: 14, pad: 1, width: 29, height: 9,
                        examples: {k: 5, pictures: 10, picture_height: 20, picture_width: 30,
                                   crop_size: 4, crop_rows: 2, crop_cols: 3,
                                   receptive_field: {jump: [1, 1], start: [0, 0], size: [3, 3], exact: true},
                                   per_channel: [[{index: 4, box: [1, 2, 4, 5], value: 0.25}], [],
                                                 [{index: 9, box: [0, 0, 20, 30], value: 7}]],
                                   stats: {mean: [0.1, 0.2, 0.3], max: [1, 2, 3], zero_fraction: [0, 0.5, 1]},
                                   health: {dead_fraction: 0.25, saturated_fraction: 0,
                                            nonfinite_fraction: 0}}};
          const read = ex.readExamples(grid);
          const wrongLayout = ex.readExamples({...grid, examples: {...grid.examples, crop_size: 5}});
          const picture = {width: 2, height: 1, data: new Uint8ClampedArray([1, 2, 3, 255, 4, 5, 6, 255])};
          const big = pic.enlarge(picture, 2);
          const painted = pic.paintOutline({width: 7, height: 7, data: new Uint8ClampedArray(7 * 7 * 4).fill(9)},
                                          {x0: 0, y0: 0, x1: 7, y1: 7});
          return {
            slots, origins,
            crop: ex.cropAt(grid, 1, 10, 0),
            described: tx.describeCrop(grid, 0, 1, 1),
            slotOfClick: [ex.exampleSlot(grid, 0, 1, 1), ex.exampleSlot(grid, 0, 5, 0),
                          ex.exampleSlot(grid, 0, 4, 0), ex.exampleSlot({...grid, examples: undefined,
                                                                         kind: 'activations'}, 0, 1, 1)],
            texts: [tx.scannedText(read), tx.healthText(read), tx.channelStatsText(read, 2),
                    tx.channelStatsText(read, 5)],
            notes: [read.notes, wrongLayout.layout, wrongLayout.notes],
            boxes: [[1, 2, 3, 4], [0, 0, 1, 1], [3, 1, 2, 4], [0, 0, 0, 1], [1, 2, 3], [1.5, 0, 2, 2],
                    [-1, 0, 2, 2], 'box', null].map(ex.readBox),
            outlines: [
              pic.boxOutline([50, 100, 55, 105], {height: 96, width: 160}, 154, 256),
              pic.boxOutline([0, 0, 96, 160], {height: 96, width: 160}, 154, 256),
              pic.boxOutline([95, 159, 96, 160], {height: 96, width: 160}, 77, 128),
              pic.boxOutline([10, 10, 11, 11], {height: 1000, width: 1000}, 50, 50),
            ],
            factors: [[77, 128], [32, 32], [128, 128], [300, 20], [1, 1]]
                .map(([h, w]) => pic.pictureFactor(h, w)),
            big: [big.width, big.height, Array.from(big.data.slice(0, 16))],
            ring: Array.from({length: 7}, (_, x) =>
                Array.from(painted.data.slice(3 * 28 + x * 4, 3 * 28 + x * 4 + 3))),
            tiles: [pic.pictureTile({indices: [3, 11, 17], rows: 1, cols: 3}, 17),
                    pic.pictureTile({indices: [3, 11, 17], rows: 1, cols: 2}, 17),
                    pic.pictureTile({indices: 'junk', rows: 1, cols: 3}, 3),
                    pic.pictureTile({indices: [3], rows: 1, cols: 3}, 4)],
            space: [pic.boxSpace({picture_height: 5, picture_width: 6}, null),
                    pic.boxSpace({picture_height: '5', picture_width: 6}, {height: 1, width: 2})],
            cut: Array.from(pic.cut({width: 3, height: 2, data: new Uint8ClampedArray(24).map((_, i) => i)},
                                   1, 1, 2, 1).data),
            cutOutside: pic.cut({width: 3, height: 2, data: new Uint8ClampedArray(24)}, 2, 1, 2, 1),
            recognised: [ex.isExamples(grid), ex.isExamples({kind: 'examples'}),
                         ex.isExamples({kind: 'activations', examples: 'junk'}), ex.isExamples(null)],
          };
        }""")
    # Slot by slot; the grey lines between crops, the sixth cell (k = 5) and outside are none.
    assert result["slots"] == [0, 0, None, 1, 1, None, 2, 2, None, None, 3, 4, None, None, None, None, None]
    assert result["origins"] == [{"x": 0, "y": 0}, {"x": 5, "y": 0}, {"x": 10, "y": 0}, {"x": 0, "y": 5},
                                 {"x": 5, "y": 5}]
    assert result["crop"]["channel"] == 2 and result["crop"]["slot"] == 2 and result["crop"]["example"] is None
    scanned = "top 5 per channel · pictures scanned: 10 · pictures 20×30 px · receptive field 3×3 px"
    assert result["described"] == {"channel": 0, "input": None, "label": "channel 0 · example 1 of 5", "lines": [
        "value 0.25 · picture 4 · box top 1, left 2, bottom 4, right 5",
        "channel over the data: mean 0.1 · max 1 · zeros 0.0%",
        "layer over the data: dead 25.0% · saturated 0.0% · non-finite 0.0%",
        scanned]}
    assert result["slotOfClick"] == [0, None, None, None]
    assert result["texts"] == [scanned, "dead 25.0% · saturated 0.0% · non-finite 0.0%",
                               "mean 0.3 · max 3 · zeros 100.0%", ""]
    unfit = "The crops’ layout does not fit the tiles: crops cannot be told apart."
    assert result["notes"] == [[], None, [unfit]]
    assert result["boxes"] == [[1, 2, 3, 4], [0, 0, 1, 1], None, None, None, None, None, None, None]
    # floor(50*154/96)=80, ceil(55*154/96)=89, floor(100*256/160)=160, ceil(105*256/160)=168.
    assert result["outlines"] == [{"x0": 160, "y0": 80, "x1": 168, "y1": 89},
                                  {"x0": 0, "y0": 0, "x1": 256, "y1": 154},
                                  {"x0": 127, "y0": 76, "x1": 128, "y1": 77},
                                  {"x0": 0, "y0": 0, "x1": 1, "y1": 1}]
    assert result["factors"] == [2, 8, 2, 1, 256]
    assert result["big"] == [4, 2, [1, 2, 3, 255, 1, 2, 3, 255, 4, 5, 6, 255, 4, 5, 6, 255]]
    # Row 3 of a 7x7 outline: two yellow, one black, the middle untouched, then back.
    assert result["ring"] == [[255, 221, 0], [255, 221, 0], [0, 0, 0], [9, 9, 9], [0, 0, 0],
                              [255, 221, 0], [255, 221, 0]]
    assert result["tiles"] == [2, -1, -1, -1]
    assert result["space"] == [{"height": 5, "width": 6}, {"height": 1, "width": 2}]
    assert result["cut"] == list(range(16, 24))
    assert result["cutOutside"] is None
    assert result["recognised"] == [True, True, False, False]
