"""FeatureVizCallback under tf.distribute: MirroredStrategy on two logical CPUs, and
MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1.

Each training runs in fresh processes: logical devices must be configured
before TensorFlow initialises, and every worker of a cluster is a process of
its own. This file is also the worker script (``python this_file mirrored|worker ...``).
"""

import glob
import json
import os
import sys

import numpy as np
import pytest

from tests.ports import free_ports

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TIMEOUT = 240  # seconds per process; a cluster that can't form fails instead of hanging

LAYERS = ("base/block1_conv1", "base/block2_sepconv1")


def expected_tags():
    tags = {"featureviz/_model", "featureviz/_probe/probe", "featureviz/_probe/probe/record"}
    for layer in LAYERS:
        for kind in ("activations", "filters", "filter_change"):
            tags |= {f"featureviz/{layer}/{kind}", f"featureviz/{layer}/{kind}/record"}
        for name in ("drift/relative_change", "drift/cosine_mean", "drift/cosine_min",
                     "health/dead_fraction", "health/saturated_fraction", "health/nonfinite_fraction"):
            tags.add(f"featureviz/{layer}/{name}")
    return tags | {f"featureviz/{LAYERS[1]}/pointwise", f"featureviz/{LAYERS[1]}/pointwise/record"}


def environment():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([ROOT, HERE, env.get("PYTHONPATH", "")])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["KERAS_BACKEND"] = "tensorflow"
    env.pop("TF_CONFIG", None)
    return env


def run_processes(argument_lists):
    """Run this file as a script once per argument list; the JSON line each printed last."""
    from tests.backend_fixtures import run_json_processes

    return run_json_processes([[sys.executable, os.path.abspath(__file__)] + args for args in argument_lists],
                              environment(), TIMEOUT)


def check_event_files(logdir):
    """Every event file under logdir reads back record by record with valid checksums."""
    import tensorflow as tf

    from tests.eventfiles import tensors_by_tag

    paths = glob.glob(os.path.join(logdir, "**", "events.out.tfevents.*"), recursive=True)
    for path in paths:
        # TFRecordDataset verifies each record's CRC and raises DataLossError on damage.
        assert sum(1 for _ in tf.data.TFRecordDataset(path)) > 1
    return paths, tensors_by_tag(os.path.join(logdir, "featureviz"))


def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    (result,) = run_processes([["mirrored", str(tmp_path)]])
    assert result["replicas"] == 2
    assert result["step"] == 4 and result["passes"] == 3
    paths, written = check_event_files(str(tmp_path))
    assert [os.path.relpath(p, tmp_path).split(os.sep)[0] for p in paths] == ["featureviz"]
    assert set(written) == expected_tags()
    for layer in LAYERS:
        assert [s for s, _ in written[f"featureviz/{layer}/activations"]] == [0, 2, 4]
    drift = [float(v) for _, v in written[f"featureviz/{LAYERS[1]}/drift/relative_change"]]
    assert drift[0] == 0.0 and 0 < drift[1] < drift[2]
    assert drift[2] == pytest.approx(result["final_drift"], rel=1e-5)


def test_multi_worker_mirrored_strategy_only_the_chief_writes(tmp_path):
    ports = ",".join(str(p) for p in free_ports(2))
    results = run_processes([["worker", str(index), ports, str(tmp_path)] for index in range(2)])
    assert [r["chief"] for r in results] == [True, False]
    # Every worker computed every logged step (probe forward pass, kernel copies) ...
    assert [r["passes"] for r in results] == [3, 3]
    assert [r["step"] for r in results] == [4, 4]
    # ... and the workers stayed in sync: the same weights, so the same drift.
    assert results[0]["final_drift"] == results[1]["final_drift"] > 0
    paths, written = check_event_files(str(tmp_path))
    assert len(paths) == 1 and os.path.dirname(paths[0]) == os.path.join(str(tmp_path), "featureviz")
    assert sorted(os.listdir(tmp_path / "featureviz")) == [os.path.basename(paths[0])]
    assert set(written) == expected_tags()
    for tag, events in written.items():
        steps = [s for s, _ in events]
        assert steps == sorted(set(steps)), tag  # no step written twice
    drift = [float(v) for _, v in written[f"featureviz/{LAYERS[1]}/drift/relative_change"]]
    assert drift[0] == 0.0 and drift[-1] == pytest.approx(results[0]["final_drift"], rel=1e-5)


# ----------------------------------------------------------------- workers


def _data():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (16, 16, 16, 3)).astype(np.float32)
    y = rng.normal(size=(16, 2)).astype(np.float32)
    return x, y


def _train(strategy, logdir, dataset_options=None):
    """Fit the nested fine-tuning model under ``strategy``; report what the callback did."""
    import keras
    import tensorflow as tf

    from tb_featureviz import FeatureVizCallback
    from tb_featureviz.model import capture
    from tb_featureviz.scalars.drift import relative_change

    with strategy.scope():
        model = nested_cnn()
        model.compile(keras.optimizers.SGD(0.1), "mse")
    layer = model.get_layer("base").get_layer("block2_sepconv1")
    start = [layer.depthwise_kernel.numpy().copy(), layer.pointwise_kernel.numpy().copy()]
    data = tf.data.Dataset.from_tensor_slices(_data()).batch(8)
    if dataset_options is not None:
        data = data.with_options(dataset_options)
    callback = FeatureVizCallback(logdir, gradient_image())
    passes = []
    feature_map_jobs = capture.FeatureMaps.jobs
    capture.FeatureMaps.jobs = lambda *a, **k: passes.append(1) or feature_map_jobs(*a, **k)
    model.fit(data, epochs=2, verbose=0, callbacks=[callback])
    now = [layer.depthwise_kernel.numpy(), layer.pointwise_kernel.numpy()]
    return {
        "chief": bool(strategy.extended.should_save_summary),
        "replicas": strategy.num_replicas_in_sync,
        "step": callback.step,
        "passes": len(passes),
        "final_drift": relative_change(dict(enumerate(now)), dict(enumerate(start))),
    }


def _mirrored(logdir):
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    return _train(strategy, logdir)


def _patch_keras_for_multi_worker():
    """Work around two Keras 3 bugs that break ``fit`` under MultiWorkerMirroredStrategy.

    keras-team/keras#20585 (tensorflow/tensorflow#72388): fit's symbolic build
    reduces the whole (x, y) tuple of PerReplica values at once, and the train
    step reduces scalar metrics along axis 0. Neither concerns this callback;
    building from a local batch and taking each worker's own (already
    all-reduced) metrics lets ``fit`` run.
    """
    from keras.src.backend.tensorflow import trainer

    reduce_per_replica = trainer.reduce_per_replica
    symbolic_build = trainer.TensorFlowTrainer._maybe_symbolic_build
    x, y = _data()

    def reduce_first(values, strategy, reduction="auto"):
        return reduce_per_replica(values, strategy, "first" if reduction == "auto" else reduction)

    def build_from_local_batch(self, iterator=None, data_batch=None):
        return symbolic_build(self, data_batch=(x[:8], y[:8]) if data_batch is None else data_batch)

    trainer.reduce_per_replica = reduce_first
    trainer.TensorFlowTrainer._maybe_symbolic_build = build_from_local_batch


def _worker(index, ports, logdir):
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports.split(",")]},
        "task": {"type": "worker", "index": int(index)},
    })
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    _patch_keras_for_multi_worker()
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return _train(strategy, logdir, options)


if __name__ == "__main__":
    import warnings

    # Run as a script: the repository root makes the `tests` package importable.
    sys.path.insert(0, ROOT)
    from tests.models import gradient_image, nested_cnn

    warnings.simplefilter("ignore")
    mode, *arguments = sys.argv[1:]
    result = _mirrored(*arguments) if mode == "mirrored" else _worker(*arguments)
    print(json.dumps(result), flush=True)
