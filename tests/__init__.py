"""The test suite: one folder per subpackage of ``tb_featureviz``, the top-level modules' tests here.

Helpers are modules of this package, imported one way (``from tests import
plugin_fixtures as pf``); pytest fixtures are registered by the conftest.py
files, never imported by name into a test module.
"""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""The repository root: ``frontend/``, ``tb_featureviz/data/``, ``examples/`` are under it."""
