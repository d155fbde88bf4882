"""Registration: a light entry point that TensorBoard can always import."""

import json
import subprocess
import sys
from importlib import metadata as importlib_metadata

import pytest
from tensorboard.plugins import base_plugin

from tb_featureviz.plugin import core, loader
from tests import ROOT


def test_loader_module_imports_nothing_heavy():
    # TensorBoard imports entry points without a try/except: importing the
    # loader must not pull in the plugin, numpy, werkzeug or TensorFlow.
    code = (
        "import sys, json, tb_featureviz.plugin.loader; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('numpy', 'tensorflow', 'werkzeug', 'grpc', 'PIL', 'keras') "
        "or m.startswith('tb_featureviz'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         check=True, cwd=ROOT)
    assert json.loads(out.stdout) == ["tb_featureviz", "tb_featureviz.plugin", "tb_featureviz.plugin.loader"]


def test_load_builds_the_plugin():
    context = base_plugin.TBContext(data_provider=None, sampling_hints=None)
    featureviz_loader = loader.FeatureVizLoader()
    assert isinstance(featureviz_loader, base_plugin.TBLoader)
    instance = featureviz_loader.load(context)
    assert isinstance(instance, core.FeatureVizPlugin)
    assert instance.plugin_name == "featureviz"
    assert instance.data_plugin_names() == ("featureviz",)
    assert instance.is_active() is False
    meta = instance.frontend_metadata()
    assert (meta.es_module_path, meta.tab_name, meta.element_name) == ("/index.js", "Feature maps", None)
    assert {"/runs", "/layers", "/grid", "/image", "/scalars"} <= set(instance.get_plugin_apps())


def test_entry_point_is_declared():
    try:
        importlib_metadata.distribution("tb-featureviz")
    except importlib_metadata.PackageNotFoundError:
        pytest.skip("tb-featureviz is not installed (pip install -e .)")
    points = [p for p in importlib_metadata.entry_points(group="tensorboard_plugins") if p.name == "featureviz"]
    assert [p.value for p in points] == ["tb_featureviz.plugin.loader:FeatureVizLoader"]
    assert points[0].load() is loader.FeatureVizLoader
