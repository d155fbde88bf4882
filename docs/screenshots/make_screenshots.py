"""Take the README's screenshots of the Feature maps panel on a demo run.

    .venv/bin/tb-featureviz demo --logdir /tmp/readme-demo
    .venv/bin/python docs/screenshots/make_screenshots.py /tmp/readme-demo

Starts a real ``tensorboard`` on the log directory and drives Debian's
Chromium (``/usr/bin/chromium``, through Playwright, as the browser tests do)
to the views the README shows: a layer's feature maps, a channel's zoom,
the drift & health charts, the Features tab of ``block4_sepconv1``, the
Attribution view (Grad-CAM of the cat photo) and the Examples view with one
example's picture open.
Writes PNGs into ``docs/screenshots/`` (``--out`` to change). Run it from
the repository root: it uses the test helpers in ``tests/``.
"""

import argparse
import io
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from playwright.sync_api import expect  # noqa: E402

from tests import browser_fixtures as bf  # noqa: E402

RUN = "featureviz"
EARLY = "xception/block2_sepconv2"
FEATURES = "xception/block4_sepconv1"
EXAMPLES = "xception/block4_sepconv2"  # its crops (receptive fields) show parts of the photos
MAX_BYTES = 300_000


def save(page, path, clip=None):
    """A screenshot of the page, made smaller until it is under MAX_BYTES."""
    from PIL import Image

    image = Image.open(io.BytesIO(page.screenshot(clip=clip)))
    image = image.convert("RGB")
    while True:
        buffer = io.BytesIO()
        image.quantize(256, method=Image.Quantize.MEDIANCUT).save(buffer, "PNG", optimize=True)
        if buffer.tell() <= MAX_BYTES:
            break
        image = image.resize((image.width * 9 // 10, image.height * 9 // 10), Image.LANCZOS)
    with open(path, "wb") as file:
        file.write(buffer.getvalue())
    print(f"{path}: {image.width}x{image.height}, {buffer.tell() // 1000} KB")


def served_grid(tensorboard, layer, kind):
    """The grid route's reply for `layer`'s `kind` at its latest step."""
    params = urllib.parse.urlencode({"run": RUN, "layer": layer, "kind": kind, "sample": 0})
    return tensorboard.get_json("/data/plugin/featureviz/grid?" + params)


def click_tile(frame, tensorboard, layer, kind, tile, inside=None):
    """Click tile `tile` of the main grid: at its centre, or at pixel `inside` (x, y) of it."""
    grid = served_grid(tensorboard, layer, kind)
    canvas = frame.locator(".fv-main-pane canvas")
    scale = canvas.bounding_box()["width"] / grid["width"]
    row, col = divmod(tile, grid["cols"])
    x, y = inside if inside else (grid["tile_width"] / 2, grid["tile_height"] / 2)
    canvas.click(position={"x": (col * (grid["tile_width"] + grid["pad"]) + x) * scale,
                           "y": (row * (grid["tile_height"] + grid["pad"]) + y) * scale})


def layer_with(tensorboard, kind, prefer=None):
    """`prefer` if the run logged `kind` for it, else the first layer (in model order) it did."""
    doc = tensorboard.get_json("/data/plugin/featureviz/layers?run=" + RUN)
    names = [layer["name"] for layer in doc["layers"] if kind in layer["kinds"]]
    return prefer if prefer in names else names[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logdir")
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    out = lambda name: os.path.join(args.out, name)  # noqa: E731

    with bf.tensorboard_server(args.logdir) as tensorboard, bf.chromium() as browser:
        with bf.watched_page(browser, viewport={"width": 1280, "height": 800}) as page:
            frame = bf.open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer={EARLY}&fv-kind=activations")
            bf.wait_grid(frame, EARLY, "Activations")
            page.wait_for_timeout(500)
            save(page, out("feature-maps.png"))

            click_tile(frame, tensorboard, EARLY, "activations", 5)
            expect(frame.locator('[data-testid="channel-view"]')).to_be_visible()
            page.wait_for_timeout(1500)  # the channel's other steps and kinds load
            save(page, out("channel.png"))

            page.keyboard.press("Escape")
            frame.locator('[data-testid="view-charts"]').click()
            expect(frame.locator('[data-testid="chart-row"]').first).to_be_visible()
            page.wait_for_timeout(1000)
            rows = frame.locator('[data-testid="chart-row"]')
            bottom = rows.last.bounding_box()
            save(page, out("charts.png"), clip={"x": 0, "y": 0, "width": 1280,
                                                "height": min(800, bottom["y"] + bottom["height"] + 24)})

            frame.locator('[data-testid="view-grid"]').click()
            frame.locator(f'[data-testid="layer-item"][title="{FEATURES}"]').click()
            frame.locator('[data-testid="kind-tab"]', has_text="Features").click()
            bf.wait_grid(frame, FEATURES, "Features")
            page.wait_for_timeout(500)
            save(page, out("features.png"))

            attributed = layer_with(tensorboard, "attribution")
            page.goto("about:blank")  # a new hash on the same address would not reload the panel
            frame = bf.open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer={urllib.parse.quote(attributed, safe='')}"
                                  "&fv-kind=attribution&fv-sample=0")
            bf.wait_grid(frame, attributed, "Attribution")
            expect(frame.locator('[data-testid="attribution-view"] canvas').first).to_be_visible()
            page.wait_for_timeout(1000)
            save(page, out("attribution.png"))

            examined = layer_with(tensorboard, "examples", prefer=EXAMPLES)
            page.goto("about:blank")
            frame = bf.open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer={urllib.parse.quote(examined, safe='')}"
                                  "&fv-kind=examples")
            bf.wait_grid(frame, examined, "Examples")
            size = served_grid(tensorboard, examined, "examples")["examples"]["crop_size"]
            click_tile(frame, tensorboard, examined, "examples", 0, inside=(size / 2, size / 2))
            expect(frame.locator('[data-testid="example-picture"]')).to_be_visible()
            page.wait_for_timeout(1000)
            save(page, out("examples.png"))


if __name__ == "__main__":
    main()
