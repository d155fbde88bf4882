"""The browser tests' fixtures: one Chromium per module, a watched page per test.

Registered here, so a test module asks for ``browser``, ``page`` or
``tensorboard`` by argument name and imports no fixture; ``tensorboard``
serves the module's own ``logdir`` fixture (a path), which by default is
``written["logdir"]`` of the module's ``written`` fixture. The helpers they are built on (and
the log writers, the TensorBoard process, ``open_panel`` ...) live in
``tests/browser_fixtures.py``, which ``docs/screenshots/make_screenshots.py``
imports as well.

This folder is collected only where Playwright is installed or TensorFlow
is (see ``collect_ignore`` in ``tests/conftest.py``).
"""

import pytest

from tests import browser_fixtures as bf


@pytest.fixture(scope="module")
def browser():
    """One headless Debian Chromium per test module."""
    with bf.chromium() as instance:
        yield instance


@pytest.fixture
def page(browser):
    """A 1280x800 page that fails the test on console errors or dialogs."""
    with bf.watched_page(browser) as watched:
        yield watched


@pytest.fixture(scope="module")
def logdir(written):
    """The module's log directory, from its ``written`` fixture (a module without one defines ``logdir``)."""
    return written["logdir"]


@pytest.fixture(scope="module")
def tensorboard(logdir):
    """A real TensorBoard on 127.0.0.1 serving the module's ``logdir``, stopped after the module."""
    with bf.tensorboard_server(logdir) as server:
        yield server
