"""Cost of logging all 40 conv layers of Xception, as a ratio to one forward pass.

Issue 2's target: logging activation and filter grids of all 40 Conv2D /
SeparableConv2D layers of Xception (299x299, one probe image) costs at most
6x one forward pass of the same model, measured in the same process.
Issue 10 asks the same of every Keras backend, and for the event writer's
throughput inside those steps (framing, CRC32C and file writes: MB/s).

    python benchmarks/bench_logging.py            # 5 rounds, prints medians
    python benchmarks/bench_logging.py --rounds 9 --json out.json
    .venv-jax/bin/python benchmarks/bench_logging.py --backend jax
    .venv-torch/bin/python benchmarks/bench_logging.py --backend torch

``--backend`` sets ``KERAS_BACKEND`` before Keras is imported (default: the
variable as set, else TensorFlow); run each backend in its own process, in
an environment that has it.

Timings on shared machines are noisy, so every figure is a median and the
verdict is the median of paired per-round ratios (a forward pass timed
right before each logged step), never an absolute time. A logged step
includes flushing its events to the file system.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tb_featureviz", "data", "chelsea.png")


def use_backend(backend, script):
    """Set ``KERAS_BACKEND`` to ``backend`` (None: as set, else TensorFlow) before Keras is imported.

    Refuses a backend other than the one a Keras already imported runs on.
    """
    if backend:
        if "keras" in sys.modules and os.environ.get("KERAS_BACKEND") != backend:
            raise RuntimeError(f"{script} expects Keras not yet imported when --backend is given. "
                               f"Received: keras already imported with KERAS_BACKEND="
                               f"{os.environ.get('KERAS_BACKEND')!r}")
        os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def median_time(function, rounds):
    """``(median seconds, all seconds)`` of ``rounds`` calls of ``function()``."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def xception_setting(size=299):
    """Issue 2's setting: ``Xception(weights=None, include_top=False)`` and the bundled cat as probe.

    Import this after ``KERAS_BACKEND`` is set. The random weights have the
    shapes and the cost of the ImageNet ones.

    Returns:
        ``(model, picture, preprocess, batch)``: the PIL picture, Xception's
        ``preprocess_input`` and the preprocessed float32 batch of one.
    """
    import keras
    from PIL import Image

    from tb_featureviz.model.probes import load_probe

    keras.utils.set_random_seed(0)
    model = keras.applications.Xception(weights=None, include_top=False, input_shape=(size, size, 3))
    picture = Image.open(SAMPLE)
    preprocess = keras.applications.xception.preprocess_input
    batch = load_probe(picture, (None, size, size, 3), preprocess).batch
    return model, picture, preprocess, batch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--backend", choices=("tensorflow", "jax", "torch"),
                        default=os.environ.get("KERAS_BACKEND", "tensorflow"),
                        help="the Keras backend (set before Keras is imported)")
    args = parser.parse_args(argv)
    use_backend(args.backend, "bench_logging")
    # Keras' predict_on_batch on torch converts outputs through an __array__
    # that numpy 2 warns about; the forward pass is timed as users run it.
    warnings.filterwarnings("ignore", message="__array__ implementation doesn't accept a copy keyword")

    import keras

    from tb_featureviz import FeatureVizLogger

    model, picture, preprocess, batch = xception_setting()

    with tempfile.TemporaryDirectory() as logdir:
        logger = FeatureVizLogger(logdir, preprocess=preprocess)
        event_file = logger.writer._file  # the EventFileWriter: timed for its MB/s
        writer_totals = {"bytes": 0, "seconds": 0.0}

        def timed(method, count_bytes):
            def wrapper(*args):
                start = time.perf_counter()
                result = method(*args)
                writer_totals["seconds"] += time.perf_counter() - start
                if count_bytes:
                    writer_totals["bytes"] += len(args[0]) + 16  # + length, 2 CRCs
                return result
            return wrapper

        event_file.write = timed(event_file.write, True)
        event_file.flush = timed(event_file.flush, False)
        # Warm-up: builds the extractor and Keras' compiled predict functions.
        model.predict_on_batch(batch)
        logger.log_activations(model, picture, step=0)
        logger.log_filters(model, step=0)
        logger.flush()

        step = [1]
        sizes = []

        writer_rates = []

        def one_logged_step():
            before = logger.bytes_written
            writer_totals.update(bytes=0, seconds=0.0)
            logger.log_activations(model, picture, step=step[0])
            logger.log_filters(model, step=step[0])
            logger.flush()  # the bytes reach the file system: part of the cost
            sizes.append(logger.bytes_written - before)
            writer_rates.append(writer_totals["bytes"] / writer_totals["seconds"] / 1e6)
            step[0] += 1

        # Paired rounds: the machine's speed drifts on a shared host, so each
        # round times the forward pass (median of 3) right before a logged
        # step, and the verdict is the median of the rounds' ratios.
        forwards, boths, ratios, forward_mins = [], [], [], []
        for _ in range(args.rounds):
            forward_round, forward_times = median_time(lambda: model.predict_on_batch(batch), 3)
            forward_mins.append(min(forward_times))
            both_round, _ = median_time(one_logged_step, 1)
            forwards.append(forward_round)
            boths.append(both_round)
            ratios.append(both_round / forward_round)
        forward = statistics.median(forwards)
        both, both_times = statistics.median(boths), boths
        activations, _ = median_time(lambda: logger.log_activations(model, picture, step=step[0]), args.rounds)
        filters, _ = median_time(lambda: logger.log_filters(model, step=step[0]), args.rounds)
        records = logger.log_activations(model, picture, step=step[0]) + logger.log_filters(model, step=step[0])
        logger.close()

    activation_pixels = sum(r["image"].size for r in records if r["kind"] == "activations")
    kernel_pixels = sum(r["image"].size for r in records if r["kind"] not in ("activations", "probe"))
    backend_module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[args.backend]
    figures = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "backend": f"{args.backend} {sys.modules[backend_module].__version__}, keras {keras.__version__}",
        "forward_pass_s": round(forward, 4),
        "log_activations_s": round(activations, 4),
        "log_filters_s": round(filters, 4),
        "logged_step_s": round(both, 4),
        "logged_step_runs_s": [round(t, 4) for t in both_times],
        "ratio_to_forward_pass": round(statistics.median(ratios), 2),
        # On a shared host the fastest round is the least disturbed one:
        # PyTorch's threads in particular wait on busy cores (rounds differ 5x).
        "forward_pass_min_s": round(min(forward_mins), 4),
        "logged_step_min_s": round(min(boths), 4),
        "ratio_of_minimums": round(min(boths) / min(forward_mins), 2),
        "round_ratios": [round(r, 2) for r in ratios],
        "target_ratio": 6.0,
        "layers": len({r["layer"] for r in records if r["kind"] == "activations"}),
        "grid_pixels_activations": activation_pixels,
        "grid_pixels_kernels": kernel_pixels,
        "bytes_per_logged_step": int(statistics.median(sizes)),
        "event_writer_mb_s": round(statistics.median(writer_rates), 1),
        "event_writer_runs_mb_s": [round(r, 1) for r in writer_rates],
    }
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    verdict = "PASS" if figures["ratio_to_forward_pass"] <= 6.0 else "FAIL"
    print(f"{'verdict':>26}: {verdict} (logging / forward pass = {figures['ratio_to_forward_pass']} <= 6)")
    write_json(args.json, figures)
    return 0


def write_json(path, figures):
    """Write ``figures`` as JSON to ``path`` (``--json``); nothing when ``path`` is None."""
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)


if __name__ == "__main__":
    sys.exit(main())
