"""Downloads from the panel, in headless Chromium: grids, channels, statistics.

The grid and the zoomed channel are saved as the canvas shows them (colour
map applied, one pixel per grid pixel); a channel's range and statistics at
every kept step as CSV. The tests trigger each download through the page
(``page.expect_download``) and compare the files with what the canvas holds
and with the records the plugin serves, exactly.
"""

import decimal
import io
import urllib.parse

import numpy as np
import pytest
from playwright.sync_api import expect

from tests import browser_fixtures as bf
from tests.browser_fixtures import canvas_rgba, open_panel, shown_step, wait_grid

RUN = "synthetic"


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("export-logs")
    bf.write_synthetic_logs(str(path), steps=4, run=RUN)
    return str(path)


def download(page, button):
    """Click ``button``; return the download's suggested name and bytes."""
    with page.expect_download() as info:
        button.click()
    item = info.value
    assert item.failure() is None
    with open(item.path(), "rb") as f:
        return item.suggested_filename, f.read()


def png_rgba(data):
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGBA"))


def grid_record(tensorboard, layer, kind, step=None, sample=0):
    params = {"run": RUN, "layer": layer, "kind": kind, "sample": sample}
    if step is not None:
        params["step"] = step
    return tensorboard.get_json("/data/plugin/featureviz/grid?" + urllib.parse.urlencode(params))


def plain(value):
    """A JSON number as the panel writes it: shortest round-trip digits, no exponent."""
    if value is None:
        return ""
    text = format(decimal.Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def test_grid_png_is_the_canvas(page, tensorboard):
    frame = open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer=block1_conv2"
                       "&fv-kind=activations&fv-cmap=viridis&fv-sample=1")
    wait_grid(frame, "block1_conv2", "Activations")
    step = shown_step(frame)
    button = frame.locator('.fv-main-pane [data-testid="export-grid-png"]')
    expect(button).to_have_text("Download PNG")
    expect(button).to_be_enabled()
    name, data = download(page, button)
    assert name == f"{RUN}_block1_conv2_activations_step{step}_image2.png"
    saved = png_rgba(data)
    drawn = canvas_rgba(frame, ".fv-main-pane canvas")
    grid = grid_record(tensorboard, "block1_conv2", "activations", step, sample=1)
    # Native resolution (not the zoomed CSS size), the colour map applied.
    assert saved.shape == (grid["height"], grid["width"], 4)
    np.testing.assert_array_equal(saved, drawn)
    opaque = saved[..., 3] == 255
    assert not np.array_equal(saved[..., 0][opaque], saved[..., 1][opaque]), "viridis, not grey"
    assert (saved[grid["tile_height"], :, 3] == 0).all(), "pad lines stay transparent"

    # A name from the log cannot shape the file name.
    frame.locator('[data-testid="layer-item"]', has_text=bf.SCRIPT_LAYER).click()
    wait_grid(frame, bf.SCRIPT_LAYER, "Activations")
    name, data = download(page, button)
    assert name == f"{RUN}_img_src_x_onerror_alert_1_activations_step{shown_step(frame)}_image2.png"
    np.testing.assert_array_equal(png_rgba(data), canvas_rgba(frame, ".fv-main-pane canvas"))


def test_features_grid_png_keeps_its_colours(page, tensorboard):
    frame = open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer={bf.FEATURES_LAYER}"
                       "&fv-kind=features")
    wait_grid(frame, bf.FEATURES_LAYER, "Features")
    name, data = download(page, frame.locator('[data-testid="export-grid-png"]'))
    assert name == f"{RUN}_{bf.FEATURES_LAYER}_features_step{shown_step(frame)}.png"
    np.testing.assert_array_equal(png_rgba(data), canvas_rgba(frame, ".fv-main-pane canvas"))


def test_channel_png_and_statistics_csv(page, tensorboard):
    layer, channel = "block1_conv1", 5
    frame = open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer={layer}&fv-kind=filters"
                       f"&fv-channel={channel}")
    wait_grid(frame, layer, "Filters")
    view = frame.locator('[data-testid="channel-view"]')
    expect(view.locator(".fv-channel-title")).to_have_text(f"channel {channel}")
    step = shown_step(frame)

    name, data = download(page, view.locator('[data-testid="export-channel-png"]'))
    assert name == f"{RUN}_{layer}_filters_step{step}_channel{channel}.png"
    saved = png_rgba(data)
    zoomed = canvas_rgba(frame, '[data-testid="channel-canvas"]')
    assert saved.shape == (3, 3, 4)  # the kernel's own size, not the 300 px view
    np.testing.assert_array_equal(saved, zoomed)
    opaque = saved.reshape(-1, 4)
    assert len({tuple(p) for p in opaque[:, :3]}) > 1
    assert not np.array_equal(saved[..., 0], saved[..., 2]), "the diverging map applied"

    button = view.locator('[data-testid="export-channel-csv"]')
    expect(button).to_have_text("Download CSV")
    name, data = download(page, button)
    assert name == f"{RUN}_{layer}_filters_channel{channel}_stats.csv"
    latest = grid_record(tensorboard, layer, "filters")
    lines = ["step,lo,hi,mean,zero_fraction,nonfinite_fraction"]
    for s in latest["steps"]:
        grid = grid_record(tensorboard, layer, "filters", s)
        t = grid["channels"].index(channel)
        values = [s, grid["lo"][t], grid["hi"][t]] + [
            grid["stats"][key][t] for key in ("mean", "zero_fraction", "nonfinite_fraction")]
        lines.append(",".join(plain(v) for v in values))
    assert len(lines) == 1 + 4
    assert data.decode("utf-8") == "\r\n".join(lines) + "\r\n"
    assert "e" not in data.decode("utf-8").split("\r\n", 1)[1]


def test_export_helpers(page, tensorboard):
    """File names, plain decimals and CSV cells, as the panel serves them."""
    frame = open_panel(page, tensorboard)
    result = frame.evaluate(
        """async () => {
          const ex = await import('./export.js');
          return {
            names: [ex.fileName(['../../etc', 'x/y', '<img src=x onerror=alert(1)>'], 'png'),
                    ex.fileName(['..', '', '...'], 'csv'),
                    ex.fileName(['a'.repeat(400)], 'png').length,
                    ex.fileName(['café run', 'ş/ğ'], 'csv')],
            decimals: [1.2e-7, -3.5e-12, 1.5e21, 0.1, -2, 0, 123456.789, NaN, null, Infinity]
              .map(ex.plainDecimal),
            cells: ['=HYPERLINK("x")', '+1', '-2', '@SUM(A1)', 'a,b', 'plain', 7, null]
              .map(ex.csvCell),
            csv: ex.toCsv(['step', 'lo'], [[1, -0.5], [2, null]]),
          };
        }"""
    )
    assert result["names"] == ["etc_x_y_img_src_x_onerror_alert_1.png", "featureviz.csv", 154,
                               "cafe_run_s_g.csv"]
    assert result["decimals"] == ["0.00000012", "-0.0000000000035", "1500000000000000000000",
                                  "0.1", "-2", "0", "123456.789", "", "", ""]
    assert result["cells"] == ["\"'=HYPERLINK(\"\"x\"\")\"", "'+1", "'-2", "'@SUM(A1)", '"a,b"',
                               "plain", "7", ""]
    assert result["csv"] == "step,lo\r\n1,-0.5\r\n2,\r\n"
