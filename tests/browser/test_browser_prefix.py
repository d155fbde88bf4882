"""The Feature maps panel behind a path prefix, as notebooks and proxies serve it.

``%tensorboard`` in a notebook behind jupyter-server-proxy, and reverse
proxies in general, run TensorBoard with ``--path_prefix``: every url of
the page lives under the prefix and nothing answers outside it. The panel
must therefore fetch only relative urls (docs/http_api.md). This module
starts the real ``tensorboard`` with ``--path_prefix`` over a synthetic
log, walks the panel through every route it uses (layers, grids, images,
probe thumbnails, other steps of a channel, the Features tab, the drift
chart) and checks that each request went under the prefix and succeeded,
and that a grid is drawn with the served pixels.
"""

import io
import urllib.parse

import numpy as np
import pytest
from playwright.sync_api import expect

from tests import browser_fixtures as bf
from tests.browser_fixtures import canvas_rgba, open_panel, wait_grid

PREFIX = "/some/prefix"


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("prefix-logs")
    bf.write_synthetic_logs(str(path), steps=3, run="synthetic")
    return str(path)


@pytest.fixture(scope="module")
def tensorboard(logdir):
    with bf.tensorboard_server(logdir, path_prefix=PREFIX) as server:
        yield server


#: TensorBoard's own page asks for its fonts at absolute urls
#: (``url(/font-roboto/...)`` in its index.html), outside any path prefix:
#: those 404 behind a prefix whatever a plugin does.
TENSORBOARD_FONTS = "/font-roboto/"


class Traffic:
    """Every request of a page (its frames included), who made it and how it ended."""

    def __init__(self, page):
        self.requests = []  # (url, made by the panel's iframe)
        self.responses = {}
        self.failures = []
        page.on("request", lambda r: self.requests.append((r.url, self._panel(r))))
        page.on("response", lambda r: self.responses.setdefault(r.url, []).append(r.status))
        page.on("requestfailed", lambda r: self.failures.append(f"{r.url}: {r.failure}"))

    @staticmethod
    def _panel(request):
        try:
            return "plugin_entry.html" in request.frame.url
        except Exception:  # a request without a frame (none expected) is not the panel's
            return False


def test_panel_under_path_prefix(browser, tensorboard):
    from PIL import Image

    origin = tensorboard.url[: -len(PREFIX)]
    assert tensorboard.url.endswith(PREFIX) and origin.startswith("http://127.0.0.1:")
    with bf.watched_page(browser) as page:
        traffic = Traffic(page)
        frame = open_panel(page, tensorboard, "&fv-run=synthetic&fv-layer=block1_conv1"
                           "&fv-kind=activations&fv-cmap=grey")
        assert frame.url.startswith(f"{tensorboard.url}/data/plugin_entry.html")
        wait_grid(frame, "block1_conv1", "Activations")

        # The grid is drawn with the pixels served under the prefix.
        grid = tensorboard.get_json("/data/plugin/featureviz/grid?run=synthetic&layer=block1_conv1"
                                    "&kind=activations")
        png = np.asarray(Image.open(io.BytesIO(
            tensorboard.get("/data/plugin/featureviz/" + grid["image_url"]))))
        drawn = canvas_rgba(frame, ".fv-main-pane canvas")
        assert drawn.shape[:2] == png.shape
        for tile in range(len(grid["channels"])):
            row, col = divmod(tile, grid["cols"])
            y0 = row * (grid["tile_height"] + grid["pad"])
            x0 = col * (grid["tile_width"] + grid["pad"])
            cut = (slice(y0, y0 + grid["tile_height"]), slice(x0, x0 + grid["tile_width"]))
            np.testing.assert_array_equal(drawn[cut][..., 0], png[cut])
            np.testing.assert_array_equal(drawn[cut][..., 3], 255)

        # The probe thumbnails, a channel with its other steps and the
        # related kinds, the Features tab and the drift chart: every route.
        expect(frame.locator('[data-testid="sample-button"] img')).to_have_count(2)
        frame.locator(".fv-main-pane canvas").click(position={"x": 3, "y": 3})
        view = frame.locator('[data-testid="channel-view"]')
        expect(view.locator('[data-testid="channel-steps"] canvas')).to_have_count(3)
        expect(view.locator('[data-testid="channel-related"] canvas')).to_have_count(2)
        frame.locator('[data-testid="kind-tab"]', has_text="Features").click()
        wait_grid(frame, "block1_conv1", "Features")
        frame.locator('[data-testid="view-charts"]').click()
        expect(frame.locator('[data-testid="chart-row"]').first).to_be_visible()
        page.wait_for_load_state("networkidle")
        for img in frame.locator('[data-testid="sample-button"] img').all():
            assert img.evaluate("(node) => node.complete && node.naturalWidth > 0")

        # TensorBoard's own font requests are its bug, not the panel's (see above).
        page.watch.errors = [e for e in page.watch.errors if TENSORBOARD_FONTS not in e]

    panel = [u for u, by_panel in traffic.requests if by_panel]
    routes = {urllib.parse.urlsplit(u).path.rsplit("/", 1)[-1] for u in panel}
    assert {"index.js", "style.css", "features.js", "runs", "layers", "grid", "image",
            "scalars"} <= routes, routes
    # Every request of the panel went under the prefix, to the plugin's own
    # routes, and was answered without an error.
    outside = [u for u in panel if not u.startswith(f"{tensorboard.url}/data/plugin/featureviz/")
               and not u.startswith(f"{tensorboard.url}/data/plugin_entry.html")]
    assert outside == [], f"panel requests outside {PREFIX}/data/plugin/featureviz/: {outside}"
    assert [u for u in panel if u not in traffic.responses] == []
    bad = {u: s for u, s in traffic.responses.items() if u in panel and any(c >= 400 for c in s)}
    assert bad == {}, f"failed panel responses: {bad}"
    # TensorBoard's own page: under the prefix too, but for its fonts.
    page_outside = [u for u, by_panel in traffic.requests if not by_panel
                    and not u.startswith(tensorboard.url + "/")
                    and not u.startswith(origin + TENSORBOARD_FONTS)]
    assert page_outside == [], page_outside
    assert [f for f in traffic.failures if TENSORBOARD_FONTS not in f] == []
