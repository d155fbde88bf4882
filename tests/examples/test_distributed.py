"""The data-set pass under distributed training: two JAX processes, two torch ranks, one process's result."""

import glob
import os
import sys

import pytest

import keras

from tests import ROOT
from tests.backend_fixtures import run_json_processes
from tests.examples import workers
from tests.ports import free_port

pytestmark = pytest.mark.backends


@pytest.mark.backend("jax", "torch")
def test_two_processes_merge_to_the_single_process_result(tmp_path):
    backend = keras.backend.backend()
    port = str(free_port())
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
               KERAS_BACKEND=backend, JAX_PLATFORMS="cpu")
    commands = [[sys.executable, "-m", "tests.examples.workers", backend, str(index), port, str(tmp_path / "multi")]
                for index in range(2)]
    results = run_json_processes(commands, env)
    alone = workers.scan(str(tmp_path / "single"))
    assert sorted(r["rank"] for r in results) == [0, 1]
    for result in results:
        assert result["summary"] == alone["summary"]
    assert alone["summary"]["c1"]["pictures"] == 60
    # Only the chief wrote: one event file, its records; the other process wrote nothing.
    assert sorted(r["records"] for r in results) == [0, alone["records"]]
    assert len(glob.glob(str(tmp_path / "multi" / "featureviz" / "events.out.tfevents.*"))) == 1
