"""Cost of a data-set pass for dataset examples, as a ratio to Keras' predict over the same pictures.

The setting (issue 19): Keras' Xception at 299x299 (``weights=None,
include_top=False``: the shapes and the cost of the ImageNet weights,
nothing downloaded), its 40 conv layers (``Conv2D`` and
``SeparableConv2D``), every channel, k=9, the first 64 channels of each
layer drawn, over ``--pictures`` pictures (default 512): the bundled cat
and astronaut, cropped (35 to 100 % of a side), mirrored and lightened or
darkened by a seeded generator, uint8 299x299x3, made up front (not
timed); Xception's ``preprocess_input``; batches of 32.

It measures, in the same process:

* **predict** (the unit): ``model.predict(x, batch_size=32, verbose=0)``
  of the same pictures, preprocessed up front (``x``, float32, not timed):
  the forward passes alone.
* **pass**: :class:`tb_featureviz.examples.scan.ExampleScan` ``(model,
  layers, k=9, preprocess=preprocess_input, max_channels=64).run(pictures,
  batch_size=32)`` on the uint8 pictures: loading and preprocessing, the
  compiled pass with its reductions, the top-k merges, the crops and the
  thumbnails. One scan is reused across rounds (its compiled pass is kept);
  its first call (tracing) is reported apart.
* **log_examples**: ``FeatureVizLogger(logdir, max_channels=64)
  .log_examples(model, pictures, step, layers=..., k=9,
  preprocess=preprocess_input)`` then ``flush()``: the pass, the grids,
  the records, histograms and scalars, PNG encoding and the event file.
  Its first call (a scan of its own, traced) is reported apart; the bytes
  each call writes are reported.

Every round takes predict, the pass, log_examples and predict again; a
round's unit is the mean of its two predicts, so that a change of load on
a shared machine reaches every mode alike. Each figure is the median over
rounds, each ratio the median of the per-round ratios. Each round also
splits the pass into its parts (loading, compiled pass, merges and crops,
thumbnails, the rest).

Run from the repository root::

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/bench_examples.py --json examples.json
    .venv-jax/bin/python benchmarks/bench_examples.py --backend jax --pictures 128
    .venv-torch/bin/python benchmarks/bench_examples.py --backend torch --pictures 128
    python benchmarks/bench_examples.py --pictures 64 --rounds 1        # a quick look

``--backend`` sets ``KERAS_BACKEND`` before Keras is imported (default: the
variable as set, else TensorFlow); run each backend in its own process, in
an environment that has it. Prints the figures and, with ``--json PATH``,
writes them as JSON.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_feature_vis import Timer, machine, take_turns  # noqa: E402 (sets TF_CPP_MIN_LOG_LEVEL and the repository path)
from bench_logging import SAMPLE, use_backend, write_json, xception_setting  # noqa: E402

ASTRONAUT = os.path.join(os.path.dirname(SAMPLE), "astronaut.png")
SIZE = 299
K = 9
MAX_CHANNELS = 64
BATCH_SIZE = 32

#: The issue's aim: the pass at most this many times predict over the same pictures.
AIM = 1.15

PARTS = ("loading and preprocessing", "compiled pass (forward + reductions)", "statistics and top-k merges",
         "crops", "thumbnails", "rest")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("tensorflow", "jax", "torch"), default=None,
                        help="Keras backend (default: KERAS_BACKEND, else tensorflow)")
    parser.add_argument("--pictures", type=int, default=512, help="pictures scanned (default 512)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds taking the modes in turn (default 3)")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"default {BATCH_SIZE}")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    use_backend(args.backend, "bench_examples")
    if args.rounds < 1 or args.pictures < 1 or args.batch_size < 1:
        parser.error(f"--rounds, --pictures and --batch-size expect at least 1. "
                     f"Received: {args.rounds}, {args.pictures} and {args.batch_size}")
    return args


def pictures(count, size=SIZE):
    """uint8 ``[count, size, size, 3]``: the cat and the astronaut in turn, augmented; deterministic.

    Picture ``i`` is photo ``i % 2``: picture 0 and 1 whole, the others a
    square-ish crop of 35 to 100 % of the photo's shorter side at a seeded
    place, every other one mirrored, its brightness scaled by 0.7 to 1.3;
    resized bilinearly.
    """
    import numpy as np
    from PIL import Image, ImageEnhance, ImageOps

    photos = [Image.open(path).convert("RGB") for path in (SAMPLE, ASTRONAUT)]
    rng = np.random.default_rng(19)
    out = np.empty((count, size, size, 3), np.uint8)
    for i in range(count):
        photo = photos[i % 2]
        if i >= 2:
            width, height = photo.size
            side = int(min(width, height) * rng.uniform(0.35, 1.0))
            w, h = min(width, int(side * rng.uniform(0.85, 1.15))), side
            left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            photo = photo.crop((left, top, left + w, top + h))
            if (i // 2) % 2:
                photo = ImageOps.mirror(photo)
            photo = ImageEnhance.Brightness(photo).enhance(rng.uniform(0.7, 1.3))
        out[i] = np.asarray(photo.resize((size, size), Image.BILINEAR))
    return out


class PartTimer:
    """Wall seconds spent in the parts of an :class:`ExampleScan`'s ``run`` (reset before each call).

    It wraps the scan's own methods and, in :mod:`tb_featureviz.examples.scan`,
    the crop cutting and the thumbnails (for every scan of this process:
    reset before a call, read after it).
    """

    def __init__(self, scan):
        from tb_featureviz.examples import scan as scan_module

        self.seconds = dict.fromkeys(PARTS[:-1], 0.0)
        scan._load = self._timed(scan._load, PARTS[0])
        scan._reduce = self._timed(scan._reduce, PARTS[1])
        scan._add = self._timed(scan._add, PARTS[2])
        scan_module._LateCrops._cut = self._timed(scan_module._LateCrops._cut, PARTS[3])
        scan_module._keep_thumbnails = self._timed(scan_module._keep_thumbnails, PARTS[4])

    def _timed(self, function, part):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[part] += time.perf_counter() - start
        return timed

    def reset(self):
        self.seconds = dict.fromkeys(self.seconds, 0.0)


def main(argv=None):
    args = parse_args(argv)
    # Keras' predict on torch converts outputs through an __array__ that numpy 2 warns about.
    warnings.filterwarnings("ignore", message="__array__ implementation doesn't accept a copy keyword")
    import resource

    import keras
    import numpy as np

    from tb_featureviz import FeatureVizLogger
    from tb_featureviz.examples.scan import ExampleScan
    from tb_featureviz.model.layers import select_layers

    backend = keras.backend.backend()
    model, _, preprocess, _ = xception_setting(SIZE)
    layer_classes = [keras.layers.Conv2D, keras.layers.SeparableConv2D]
    layers = select_layers(model, layer_classes).layers
    with Timer() as making:
        data = pictures(args.pictures)
        x = np.asarray(preprocess(data.astype(np.float32)), np.float32)
    print(f"{len(layers)} layers, {args.pictures} pictures made in {making.wall:.1f} s", file=sys.stderr, flush=True)

    scan = ExampleScan(model, layers, k=K, preprocess=preprocess, max_channels=MAX_CHANNELS)
    timer = PartTimer(scan)
    results = {}

    def predict():
        model.predict(x, batch_size=args.batch_size, verbose=0)

    def one_pass():
        results["pass"] = scan.run(data, batch_size=args.batch_size)

    with tempfile.TemporaryDirectory() as logdir:
        logger = FeatureVizLogger(logdir, max_channels=MAX_CHANNELS)
        step = [0]
        written = []

        def log():
            before = logger.bytes_written
            results["log"] = logger.log_examples(model, data, step[0], layers=layer_classes, k=K,
                                                 preprocess=preprocess)
            logger.flush()  # the bytes reach the file system: part of the cost
            written.append(logger.bytes_written - before)
            step[0] += 1

        modes = {"predict": predict, "pass": one_pass, "log_examples": log}
        first = {}
        for name, call in modes.items():  # warm-up: tracing, Keras' predict function, the logger's own scan
            with Timer() as warm:
                call()
            first[name] = warm.wall
            print(f"warm-up: {name}: {warm.wall:.1f} s", file=sys.stderr, flush=True)
        first_bytes = written[-1]

        parts = {name: [] for name in PARTS}

        def time_parts(name, timed):
            if name == "pass":
                for part, seconds in timer.seconds.items():
                    parts[part].append(seconds)
                parts["rest"].append(timed.wall - sum(timer.seconds.values()))

        walls, cpus, units = take_turns(modes, "predict", args.rounds, before=lambda name: timer.reset(),
                                        after=time_parts)
        logger.close()

    result = results["pass"]
    drawn_crops = sum(layer.crops.shape[0] * layer.crops.shape[1] for layer in result.layers.values())
    rows = {}
    for name in modes:
        ratios = [w / u for w, u in zip(walls[name], units)]
        rows[name] = {
            "s": round(statistics.median(walls[name]), 3),
            "s_per_picture": round(statistics.median(walls[name]) / args.pictures, 5),
            "cpu_s": round(statistics.median(cpus[name]), 3),
            "ratio_to_predict": round(statistics.median(ratios), 3),
            "round_ratios": [round(r, 3) for r in ratios],
            "rounds_s": [round(w, 3) for w in walls[name]],
            # On a shared host the fastest round is the least disturbed one.
            "ratio_of_minimums": round(min(walls[name]) / min(units), 3),
            "first_call_s": round(first[name], 2),
        }
    pass_parts = {name: {"s": round(statistics.median(values), 3),
                         "ratio_to_predict": round(statistics.median([v / u for v, u in zip(values, units)]), 3)}
                  for name, values in parts.items()}
    backend_module = sys.modules[{"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]]
    figures = {
        "machine": machine(), "load_average": os.getloadavg(), "python": sys.version.split()[0],
        "backend": f"{backend} {backend_module.__version__}", "keras": keras.__version__, "numpy": np.__version__,
        "model": "keras.applications.Xception(weights=None, include_top=False), 299x299",
        "layers": len(layers), "channels": int(sum(layer.top.channels for layer in result.layers.values())),
        "k": K, "max_channels": MAX_CHANNELS, "pictures": args.pictures, "batch_size": args.batch_size,
        "rounds": args.rounds, "modes": rows, "pass_parts": pass_parts,
        "crops_kept": int(drawn_crops), "thumbnails_kept": len(result.thumbnails),
        "log_examples_bytes": int(statistics.median(written)), "log_examples_first_bytes": int(first_bytes),
        "max_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "aim_pass_over_predict": AIM,
        "command": f"KERAS_BACKEND={os.environ['KERAS_BACKEND']} python benchmarks/bench_examples.py "
                   + " ".join(sys.argv[1:] if argv is None else argv),
    }
    for key in ("machine", "backend", "keras", "numpy", "python", "load_average", "layers", "channels",
                "pictures", "batch_size", "rounds"):
        print(f"{key:>22}: {figures[key]}")
    print("\n| mode | s (median) | s per picture | ratio to predict (median of per-round ratios) | rounds "
          "| fastest / fastest predict | first call s |")
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['s']:.1f} | {row['s_per_picture']:.4f} | {row['ratio_to_predict']:.2f} "
              f"| {', '.join(f'{r:.2f}' for r in row['round_ratios'])} | {row['ratio_of_minimums']:.2f} "
              f"| {row['first_call_s']:.1f} |")
    print(f"\npass, by part (median of {args.rounds} rounds):")
    for name, part in pass_parts.items():
        print(f"  {name}: {part['s']:.2f} s, {part['ratio_to_predict']:.3f} of predict")
    print(f"\nlog_examples writes {figures['log_examples_bytes'] / 1e6:.1f} MB a call "
          f"({figures['crops_kept']} crops, {figures['thumbnails_kept']} thumbnails); "
          f"peak memory {figures['max_rss_gb']} GB")
    ratio = rows["pass"]["ratio_to_predict"]
    print(f"verdict: {'PASS' if ratio <= AIM else 'FAIL'} (pass / predict = {ratio:.2f}, aim <= {AIM})")
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
