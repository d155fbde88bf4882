"""A wheel install (not editable) ships the panel files and the plugin serves them."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pytest

from tests import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    # Build from a copy: setuptools writes build/ and *.egg-info next to setup.py.
    source = tmp_path_factory.mktemp("source")
    for name in ("setup.py", "README.md"):
        shutil.copy(os.path.join(ROOT, name), source / name)
    for name in ("tb_featureviz", "frontend"):
        shutil.copytree(os.path.join(ROOT, name), source / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    errors = []
    for isolation in (["--no-build-isolation"], []):
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", *isolation, "-w", str(out), str(source)],
            capture_output=True, text=True, timeout=300,
        )
        if result.returncode == 0:
            (path,) = out.glob("*.whl")
            return path
        errors.append(result.stderr[-1500:])
    pytest.skip("cannot build a wheel here (no setuptools/wheel backend):\n" + "\n".join(errors))


def test_wheel_holds_the_panel_files(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    frontend = sorted(n for n in os.listdir(os.path.join(ROOT, "frontend"))
                      if os.path.splitext(n)[1] in (".js", ".css", ".html", ".svg"))
    assert "tb_featureviz/frontend/index.js" in names
    assert sorted(n.split("/")[-1] for n in names if n.startswith("tb_featureviz/frontend/")
                  and not n.endswith(".py")) == frontend
    assert {"tb_featureviz/plugin/core.py", "tb_featureviz/plugin/loader.py"} <= set(names)


def test_installed_wheel_serves_index_js(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                    "--target", str(target), str(wheel)], check=True, capture_output=True, timeout=300)
    script = textwrap.dedent(
        """
        import json, sys
        import tb_featureviz
        from tensorboard.backend import application
        from tensorboard.plugins import base_plugin
        from werkzeug import test, wrappers
        from tb_featureviz.plugin.loader import FeatureVizLoader

        context = base_plugin.TBContext(data_provider=None, sampling_hints={})
        app = application.TensorBoardWSGI([FeatureVizLoader().load(context)])
        reply = test.Client(app, wrappers.Response).get("/data/plugin/featureviz/index.js")
        print(json.dumps({"package": tb_featureviz.__file__, "status": reply.status_code,
                          "type": reply.headers["Content-Type"], "body": reply.get_data(as_text=True)}))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    # Run outside the checkout, so that only the installed copy can be imported.
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    reply = json.loads(result.stdout.strip().splitlines()[-1])
    assert reply["package"].startswith(str(target))
    with open(os.path.join(ROOT, "frontend", "index.js"), encoding="utf-8") as f:
        assert (reply["status"], reply["type"], reply["body"]) == (200, "text/javascript; charset=utf-8", f.read())
