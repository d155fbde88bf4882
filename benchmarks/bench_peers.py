"""Feature maps of all 40 conv layers of Xception: tb-featureviz, the tutorial method and tf-explain, in one run.

The README compares the speed of three ways of drawing the feature maps of
every Conv2D / SeparableConv2D layer of Xception (299x299, random weights,
one probe image: the bundled cat). This script measures all three side by
side, in one process, so that the figures compare like with like:

* **tb-featureviz**: ``FeatureVizLogger.log_activations`` (every conv layer,
  every channel, the logger's defaults) and a flush, into a temporary
  logdir; as ``bench_logging.py`` measures it, with the extractor built
  by a warm-up call first (the first call, which builds it, is reported
  apart). A second row caps it at the tutorial's 64 channels per layer.
* **the tutorial method**: per layer, a sub-model
  ``keras.Model(model.inputs, layer.output)``, ``predict``, and one
  matplotlib subplot per channel in an 8x8 figure, saved as a PNG. Like the
  tutorial, it stops at 64 channels per layer. Needs matplotlib.
* **tf-explain**: ``ExtractActivations.explain`` and ``save`` per layer (its
  grid takes one 4-D array, so one layer per call: the script also tries
  all 40 layers in one call and prints how that fails). Needs tf-explain
  (and OpenCV, which it imports).

A method whose package is missing is skipped with a line saying what to
install; one that fails prints its error. Neither package is a dependency
of tb-featureviz.

    python benchmarks/bench_peers.py                 # 3 rounds, prints medians
    python benchmarks/bench_peers.py --rounds 5 --json out.json
    pip install matplotlib tf-explain opencv-python-headless   # the optional peers

Each round times a forward pass of Xception (``predict_on_batch``, median of
3) right before each method; the verdict is the median over rounds of the
method's time divided by that forward pass (timings on a shared machine
are noisy: ratios within one run, medians), and the median seconds. ``x
ours`` is the median over rounds of the method's time divided by
tb-featureviz's (every channel) in the same round.
"""

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_feature_vis import machine  # noqa: E402 - the benchmarks' shared helpers
from bench_logging import median_time, write_json, xception_setting  # noqa: E402

#: The row the others are compared with.
OURS = "tb-featureviz, every channel"

#: The tutorial draws an 8x8 grid of subplots per layer: at most 64 channels.
TUTORIAL_SQUARE = 8


def conv_layers(model):
    """Xception's 40 Conv2D and SeparableConv2D layers, in model order."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.SeparableConv2D))]


def folder_bytes(folder):
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(folder) for name in names)


# ------------------------------------------------------------------ the methods

def ours(model, picture, preprocess, logdir, max_channels=None):
    """tb-featureviz: ``(run(folder, layers) -> bytes written, first call's seconds, logger)``.

    The first call, timed here, builds the extractor; ``run`` logs every conv
    layer into ``logdir`` (its arguments are the peers': the logger keeps
    one run folder and chooses the layers itself).
    """
    from tb_featureviz import FeatureVizLogger

    logger = FeatureVizLogger(logdir, max_channels=max_channels, preprocess=preprocess)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the channel-cap warning of the 64-channel row
        records = logger.log_activations(model, picture, step=0)
    logger.flush()
    first = time.perf_counter() - started
    drawn = [record["layer"] for record in records if record["kind"] == "activations"]
    assert drawn == [layer.name for layer in conv_layers(model)], drawn
    step = [1]

    def run(folder=None, layers=None):
        before = logger.bytes_written
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logger.log_activations(model, picture, step=step[0])
        logger.flush()  # the bytes reach the file system: part of the cost
        step[0] += 1
        return logger.bytes_written - before

    return run, first, logger


def tutorial(model, batch, layers):
    """The tutorial method: ``run(folder, layers)`` writes one PNG per layer into ``folder``."""
    import keras
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    def run(folder, layers=layers):
        for layer in layers:
            sub_model = keras.Model(inputs=model.inputs, outputs=layer.output)
            feature_maps = sub_model.predict(batch, verbose=0)
            figure = pyplot.figure()
            channels = min(feature_maps.shape[-1], TUTORIAL_SQUARE * TUTORIAL_SQUARE)
            for index in range(channels):
                axes = pyplot.subplot(TUTORIAL_SQUARE, TUTORIAL_SQUARE, index + 1)
                axes.set_xticks([])
                axes.set_yticks([])
                pyplot.imshow(feature_maps[0, :, :, index], cmap="gray")
            figure.savefig(os.path.join(folder, f"{layer.name}.png"))
            pyplot.close(figure)

    return run


def tf_explain_method(model, batch, layers):
    """tf-explain: ``(run(folder, layers), how one call with all the layers fails or None)``."""
    from tf_explain.core.activations import ExtractActivations

    explainer = ExtractActivations()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            explainer.explain((batch, None), model, [layer.name for layer in layers])
        all_at_once = None
    except Exception as error:  # noqa: BLE001 - reported, whatever it is
        all_at_once = f"{type(error).__name__}: {error}"

    def run(folder, layers=layers):
        for layer in layers:
            grid = explainer.explain((batch, None), model, [layer.name])
            explainer.save(grid, folder, f"{layer.name}.png")

    return run, all_at_once


def first_line(error, limit=240):
    text = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
    return text if len(text) <= limit else text[:limit - 3] + "..."


# ------------------------------------------------------------------------ main

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every method (default 3)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    import keras

    keras.utils.disable_interactive_logging()  # no progress bars from predict: not part of any method
    try:
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")  # tf-explain's per-layer models retrace: a warning each
    except ImportError:
        pass

    model, picture, preprocess, batch = xception_setting()
    layers = conv_layers(model)
    channels = [int(layer.output.shape[-1]) for layer in layers]
    lines = []  # the skipped and failed methods, printed with the figures

    scratch = tempfile.TemporaryDirectory(prefix="bench-peers-")
    methods = {}  # name -> run(folder, layers) -> bytes written or None (then the folder's PNGs count)
    run_ours, first_ours, logger = ours(model, picture, preprocess, os.path.join(scratch.name, "ours"))
    methods[OURS] = run_ours
    run_ours_64, _, logger_64 = ours(model, picture, preprocess, os.path.join(scratch.name, "ours64"),
                                     max_channels=TUTORIAL_SQUARE ** 2)
    methods["tb-featureviz, first 64 channels"] = run_ours_64
    matplotlib_version = None
    try:
        import matplotlib
    except ImportError:
        lines.append("tutorial method: skipped: matplotlib not installed (pip install matplotlib)")
    else:
        matplotlib_version = matplotlib.__version__
        methods["tutorial method (64 channels at most)"] = tutorial(model, batch, layers)
    tf_explain_version = None
    try:
        import tf_explain
    except ImportError as error:
        if "opencv" in str(error).lower() or getattr(error, "name", None) == "cv2":
            lines.append("tf-explain: skipped: OpenCV, which it imports, is not installed "
                         "(pip install opencv-python-headless)")
        elif getattr(error, "name", None) == "tensorflow":
            lines.append("tf-explain: skipped: it needs TensorFlow, which is not installed")
        else:
            lines.append("tf-explain: skipped: tf-explain not installed "
                         "(pip install tf-explain opencv-python-headless)")
    else:
        tf_explain_version = tf_explain.__version__
        try:
            run_tfx, all_at_once = tf_explain_method(model, batch, layers)
        except Exception as error:  # noqa: BLE001
            lines.append(f"tf-explain: fails on Keras {keras.__version__} ({first_line(error)})")
        else:
            methods["tf-explain (one call per layer)"] = run_tfx
            if all_at_once:
                lines.append(f"tf-explain: one call with all {len(layers)} layers fails ({all_at_once[:200]}); "
                             "its grid takes one 4-D array, so it is called once per layer")

    def timed(run, layers=layers):
        """``(seconds, bytes written)`` of one run, its PNGs written into a fresh folder, removed after."""
        with tempfile.TemporaryDirectory(dir=scratch.name) as folder:
            started = time.perf_counter()
            size = run(folder, layers)
            took = time.perf_counter() - started
            return took, size if size is not None else folder_bytes(folder)

    # Warm-up: Keras' compiled predict of the forward pass; a one-layer run of each peer loads matplotlib's
    # fonts and OpenCV's PNG writer (costs that every later call in a session has paid already).
    model.predict_on_batch(batch)
    for name, run in list(methods.items()):
        try:
            timed(run, layers[:1])
        except Exception as error:  # noqa: BLE001 - a peer that breaks is reported, not fatal
            peer = name.split(" (")[0]
            lines.append(f"{peer}: fails on Keras {keras.__version__} ({first_line(error)})")
            del methods[name]

    seconds = {name: [] for name in methods}
    ratios = {name: [] for name in methods}
    written = {name: [] for name in methods}
    forwards = []
    for _ in range(args.rounds):
        for name, run in methods.items():
            forward, _ = median_time(lambda: model.predict_on_batch(batch), 3)
            took, size = timed(run)
            forwards.append(forward)
            seconds[name].append(took)
            ratios[name].append(took / forward)
            written[name].append(size)
    logger.close()
    logger_64.close()
    scratch.cleanup()

    versions = f"keras {keras.__version__} on {keras.backend.backend()}"
    if "tensorflow" in sys.modules:
        versions += f" {sys.modules['tensorflow'].__version__}"
    if matplotlib_version:
        versions += f", matplotlib {matplotlib_version}"
    if tf_explain_version:
        versions += f", tf-explain {tf_explain_version}"
    figures = {
        "machine": machine(),
        "versions": versions,
        "setting": f"Xception(weights=None) 299x299, {len(layers)} conv layers ({sum(channels)} channels; "
                   f"{sum(min(c, 64) for c in channels)} when capped at 64), 1 probe image, {args.rounds} rounds",
        "forward_pass_s": round(statistics.median(forwards), 4),
        "ours_first_call_s": round(first_ours, 3),  # builds the extractor
        "methods": {
            name: {
                "seconds": round(statistics.median(seconds[name]), 3),
                "ratio_to_forward_pass": round(statistics.median(ratios[name]), 1),
                "round_ratios": [round(r, 1) for r in ratios[name]],
                # The same round's times: how many times tb-featureviz's (every channel) this takes.
                "ratio_to_ours": round(statistics.median(
                    mine / theirs for mine, theirs in zip(seconds[name], seconds[OURS])), 1),
                "bytes_written": int(statistics.median(written[name])),
            }
            for name in methods
        },
        "notes": lines,
    }
    width = max(len(name) for name in methods) if methods else 10
    print(f"machine: {figures['machine']}")
    print(f"versions: {figures['versions']}")
    print(f"setting: {figures['setting']}")
    print(f"forward pass (predict_on_batch, median): {figures['forward_pass_s']:.3f} s")
    print(f"tb-featureviz's first call, building its extractor: {first_ours:.2f} s")
    print(f"{'method':<{width}}  {'median s':>9}  {'x forward':>9}  {'x ours':>7}  {'MB written':>10}  "
          "x forward by round")
    for name, values in figures["methods"].items():
        print(f"{name:<{width}}  {values['seconds']:>9.2f}  {values['ratio_to_forward_pass']:>9.1f}  "
              f"{values['ratio_to_ours']:>7.1f}  {values['bytes_written'] / 1e6:>10.1f}  "
              f"{', '.join(map(str, values['round_ratios']))}")
    for line in lines:
        print(line)
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
