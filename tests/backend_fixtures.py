"""Helpers for the per-backend tests: independent reference activations and worker processes.

The reference activations are computed here in float64 numpy from the
layers' weights, not by Keras, so a grid that matches them shows that the
backend's forward pass, the extractor and the drawing agree.

Run as a script, this module is the worker of the two-process tests::

    python -m tests.backend_fixtures jax-worker PROCESS_ID PORT LOGDIR
    python -m tests.backend_fixtures torch-worker RANK PORT LOGDIR

Each worker trains the nested fine-tuning model with a
:class:`tb_featureviz.FeatureVizCallback` and prints one JSON line: what
its process did.
"""

import json
import os
import subprocess
import sys

import numpy as np

from tests import ROOT
from tests.ports import free_port

TIMEOUT = 240  # seconds per process; a cluster that can't form fails instead of hanging


# ------------------------------------------------------------ reference math


def conv2d(x, kernel, bias=None, padding="valid"):
    """Keras' Conv2D (stride 1, channels last) in float64 numpy: x [H, W, C], kernel [kh, kw, C, O]."""
    x = np.asarray(x, np.float64)
    kernel = np.asarray(kernel, np.float64)
    kh, kw = kernel.shape[:2]
    if padding == "same":
        x = np.pad(x, ((kh // 2, (kh - 1) // 2), (kw // 2, (kw - 1) // 2), (0, 0)))
    height, width = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.zeros((height, width, kernel.shape[3]))
    for i in range(kh):
        for j in range(kw):
            out += np.tensordot(x[i:i + height, j:j + width], kernel[i, j], axes=([2], [0]))
    return out if bias is None else out + np.asarray(bias, np.float64)


def depthwise_conv2d(x, kernel, bias=None):
    """Keras' DepthwiseConv2D (valid, stride 1): kernel [kh, kw, C, M] -> C * M channels, c-major."""
    x = np.asarray(x, np.float64)
    kernel = np.asarray(kernel, np.float64)
    kh, kw, channels, multiplier = kernel.shape
    height, width = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.zeros((height, width, channels, multiplier))
    for i in range(kh):
        for j in range(kw):
            out += x[i:i + height, j:j + width, :, None] * kernel[i, j]
    out = out.reshape(height, width, channels * multiplier)
    return out if bias is None else out + np.asarray(bias, np.float64)


def small_cnn_reference(model, image):
    """conv1, relu1 and sep2 of :func:`tests.models.small_cnn` for one HWC image, from the weights."""
    conv_kernel, conv_bias = model.get_layer("conv1").get_weights()
    conv1 = conv2d(image, conv_kernel, conv_bias, padding="same")
    relu1 = np.maximum(conv1, 0.0)
    depthwise, pointwise, sep_bias = model.get_layer("sep2").get_weights()
    sep2 = conv2d(depthwise_conv2d(relu1, depthwise), pointwise, sep_bias)
    return {"conv1": conv1, "relu1": relu1, "sep2": sep2}


def expected_pixels(values, lo, hi):
    """uint8 pixels of a tile linear between lo and hi (the drawing rule, in float64)."""
    scaled = np.clip((np.asarray(values, np.float64) - lo) / (hi - lo) * 255.0, 0.0, 255.0)
    return np.floor(scaled + 0.5).astype(np.uint8)


# ------------------------------------------------------------------ processes


def run_workers(mode, count, logdir, backend):
    """Start ``count`` workers of ``mode`` on one free port; return each one's JSON result."""
    port = str(free_port())
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")])
    env["KERAS_BACKEND"] = backend
    env["JAX_PLATFORMS"] = "cpu"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    commands = [[sys.executable, "-m", "tests.backend_fixtures", mode, str(index), port, str(logdir)]
                for index in range(count)]
    return run_json_processes(commands, env)


def run_json_processes(commands, env, timeout=TIMEOUT):
    """Start every command at once, wait for all (bounded); return the JSON line each printed last.

    A process that fails (or runs past ``timeout``) fails the test with the end of its output.
    """
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for command in commands
    ]
    outputs = []
    try:
        for process in processes:
            out, _ = process.communicate(timeout=timeout)
            outputs.append(out)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    results = []
    for process, out in zip(processes, outputs):
        assert process.returncode == 0, out[-4000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _data(index, count):
    """This process's share of a fixed data set of 16 samples."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (16, 16, 16, 3)).astype(np.float32)
    y = rng.normal(size=(16, 2)).astype(np.float32)
    share = len(x) // count
    return x[index * share:(index + 1) * share], y[index * share:(index + 1) * share]


def _train(index, count, logdir):
    """Fit the nested model for 2 epochs of 2 batches, logging every batch; report what happened."""
    import keras

    from tb_featureviz import FeatureVizCallback, FeatureVizLogger
    from tb_featureviz.model import capture, distribution
    from tests.models import gradient_image, nested_cnn

    model = nested_cnn()
    model.compile(keras.optimizers.SGD(0.1), "mse")
    callback = FeatureVizCallback(logdir, gradient_image(), unit="batch")
    passes = []
    feature_map_jobs = capture.FeatureMaps.jobs
    capture.FeatureMaps.jobs = lambda *a, **k: passes.append(1) or feature_map_jobs(*a, **k)
    x, y = _data(index, count)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[callback])
    head = model.get_layer("head").get_weights()[0]
    fit_passes = len(passes)
    # A custom loop's logger, default settings: only the writing process computes and writes.
    with FeatureVizLogger(logdir, run="custom") as logger:
        custom = [len(logger.log_step(model, gradient_image(), step)[0]) for step in range(3)]
        logger.log_scalar("custom/loss", 1.0, 3)
    return {
        "index": index,
        "writes": distribution.should_write(model),
        "step": callback.step,
        "passes": fit_passes,
        "head_sum": float(np.abs(head).sum()),
        "custom_records": custom,
        "custom_passes": len(passes) - fit_passes,
    }


def jax_worker(index, port, logdir):
    import jax

    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=int(index))
    import keras

    # Each process feeds its own half of the data (sharded here already).
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=keras.distribution.list_devices(), auto_shard_dataset=False))
    result = _train(int(index), 2, logdir)
    result.update(process_index=jax.process_index(), process_count=jax.process_count(),
                  devices=len(keras.distribution.list_devices()))
    jax.distributed.shutdown()
    return result


def torch_worker(rank, port, logdir):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=int(rank), world_size=2)
    try:
        result = _train(int(rank), 2, logdir)
        result["rank"] = dist.get_rank()
        dist.barrier()
    finally:
        dist.destroy_process_group()
    return result


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")
    mode, *arguments = sys.argv[1:]
    worker = {"jax-worker": jax_worker, "torch-worker": torch_worker}[mode]
    print(json.dumps(worker(*arguments)), flush=True)
