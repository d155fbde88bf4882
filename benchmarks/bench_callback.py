"""What FeatureVizCallback costs a fine-tuning run: epoch time, time training waits, bytes.

The setting: Keras' Xception (``weights=None``: same shapes and cost as the
ImageNet weights, nothing downloaded) at 299x299 with its base frozen, a
GlobalAveragePooling2D + Dense head, trained on random images; one probe
picture (the cat photo shipped with the package); the callback's defaults
(every epoch, default layers and channel caps).

It reports:

* **epoch ratio**: wall time of a one-epoch ``fit`` with the callback over
  one without it, paired: the two fits of a round run back to back (in
  alternating order) and the median of the rounds' ratios is reported. The
  callback's fit includes everything it adds to an epoch: its epoch-end
  hook, and the background drawing and writing of that step, which
  ``on_train_end`` waits for (in a longer run that work overlaps the next
  epoch instead). The same model and callback are reused, so neither
  tracing nor the callback's step 0 is in the figures. On a shared machine
  other processes' load swings wall times by 2x: the paired ratio is also
  given over the rounds in which other processes kept less than a quarter
  of a core busy (from ``/proc/stat``), and the **derived ratio**
  ``1 + (epoch-end hook + train-end drain) / epoch without`` uses only the
  callback's own time and is the steadier figure; CPU time of the process
  (all threads) is printed too.
* **wait per logged step**: how long the epoch-end hook holds the training
  thread (median), against one forward pass of the probe batch through the
  model (median of ``predict_on_batch``).
* **bytes per logged step**: bytes of the event files per step, read back
  record by record (step 0 also holds the probe image and the model
  structure).

Run from the repository root::

    python benchmarks/bench_callback.py                 # the documented setting
    python benchmarks/bench_callback.py --steps 2 --batch-size 4 --rounds 1   # a quick look

Prints a table and, with ``--json PATH``, writes the figures as JSON.
"""

import argparse
import glob
import json
import os
import statistics
import sys
import tempfile
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

PROBE = os.path.join(ROOT, "tb_featureviz", "data", "chelsea.png")


def build_model(size, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    base = keras.applications.Xception(weights=None, include_top=False, input_shape=(size, size, 3))
    base.trainable = False  # the first phase of fine-tuning
    model = keras.Sequential([keras.Input((size, size, 3)), base, keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2)], name="finetune")
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    return model


def timed_hook(callback, name, into):
    """Record the wall time of ``callback.<name>`` calls in ``into``."""
    hook = getattr(callback, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return hook(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - start)

    setattr(callback, name, wrapper)


def bytes_per_step(run_dir):
    """{step: bytes on disk} of the event files in ``run_dir`` (16 bytes of framing per record)."""
    import tensorflow as tf
    from tensorboard.compat.proto import event_pb2

    sizes = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path):
            data = record.numpy()
            event = event_pb2.Event.FromString(data)
            if event.HasField("summary"):
                sizes[event.step] = sizes.get(event.step, 0) + len(data) + 16
    return sizes


def machine_busy_seconds():
    """CPU seconds all processes of the machine have used (Linux /proc/stat), or None."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def timed_fit(model, x, y, batch_size, callbacks):
    """(wall s, CPU s of this process, cores other processes kept busy meanwhile) of a one-epoch fit."""
    busy, wall, cpu = machine_busy_seconds(), time.perf_counter(), time.process_time()
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0, callbacks=callbacks)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    others = None if busy is None else max(0.0, (machine_busy_seconds() - busy - cpu) / wall)
    return wall, cpu, others


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=299, help="input size (default 299)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=12, help="batches per epoch")
    parser.add_argument("--rounds", type=int, default=4, help="pairs of one-epoch fits, with and without")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)

    import keras
    from PIL import Image

    from tb_featureviz import FeatureVizCallback

    warnings.simplefilter("ignore")
    model = build_model(args.size)
    rng = np.random.default_rng(0)
    n = args.batch_size * args.steps
    x = rng.uniform(-1, 1, (n, args.size, args.size, 3)).astype(np.float32)
    y = rng.normal(size=(n, 2)).astype(np.float32)
    probe = keras.applications.xception.preprocess_input(
        np.asarray(Image.open(PROBE).convert("RGB").resize((args.size, args.size)), np.float32)[None])
    forward = []
    for _ in range(6):
        start = time.perf_counter()
        model.predict_on_batch(probe)
        forward.append(time.perf_counter() - start)
    forward = forward[1:]

    logdir = tempfile.mkdtemp(prefix="bench_callback_")
    callback = FeatureVizCallback(logdir, PROBE, preprocess=keras.applications.xception.preprocess_input)
    waits, begin_waits, drains = [], [], []
    timed_hook(callback, "on_epoch_end", waits)
    timed_hook(callback, "on_train_begin", begin_waits)
    timed_hook(callback, "on_train_end", drains)
    # Warm-up: trace the train step, and let the callback log step 0 and trace its extractor.
    timed_fit(model, x, y, args.batch_size, [])
    timed_fit(model, x, y, args.batch_size, [callback])
    del waits[:], drains[:]
    times = {"without": [], "with": []}
    for round_index in range(args.rounds):
        order = ("without", "with") if round_index % 2 == 0 else ("with", "without")
        for kind in order:
            times[kind].append(timed_fit(model, x, y, args.batch_size, [callback] if kind == "with" else []))

    sizes = bytes_per_step(os.path.join(logdir, "featureviz"))
    later = [size for step, size in sizes.items() if step != 0]
    wall = {kind: statistics.median(t[0] for t in values) for kind, values in times.items()}
    cpu = {kind: statistics.median(t[1] for t in values) for kind, values in times.items()}
    pairs = list(zip(times["with"], times["without"]))
    pair_ratio = statistics.median(w[0] / p[0] for w, p in pairs)
    # Rounds in which other processes kept less than a quarter of a core busy during both fits.
    quiet = [w[0] / p[0] for w, p in pairs if w[2] is not None and max(w[2], p[2]) < 0.25]
    added = statistics.median(w + d for w, d in zip(waits, drains))
    figures = {
        "setting": {"model": "Xception(weights=None), base frozen, GAP + Dense(2)", "size": args.size,
                    "batch_size": args.batch_size, "steps_per_epoch": args.steps, "rounds": args.rounds,
                    "probe_images": 1, "cpus": os.cpu_count()},
        "epoch_seconds_without": wall["without"],
        "epoch_seconds_with": wall["with"],
        "epoch_ratio": pair_ratio,
        "epoch_ratio_quiet_rounds": statistics.median(quiet) if quiet else None,
        "quiet_rounds": len(quiet),
        "callback_seconds_per_epoch": added,
        "epoch_ratio_derived": 1 + added / wall["without"],
        "epoch_cpu_seconds_without": cpu["without"],
        "epoch_cpu_seconds_with": cpu["with"],
        "epoch_cpu_ratio": cpu["with"] / cpu["without"],
        "probe_forward_seconds": statistics.median(forward),
        "wait_per_logged_step_seconds": statistics.median(waits),
        "wait_in_forward_passes": statistics.median(waits) / statistics.median(forward),
        "first_step_wait_seconds": begin_waits[0],
        "bytes_first_step": sizes[0],
        "bytes_per_logged_step": max(later),
        "fits": times,
    }
    rows = [
        ("one-epoch fit without callback (median s)", f"{wall['without']:.2f}  (CPU {cpu['without']:.1f})"),
        ("one-epoch fit with callback (median s)", f"{wall['with']:.2f}  (CPU {cpu['with']:.1f})"),
        ("epoch ratio, wall (median of paired rounds)", f"{figures['epoch_ratio']:.3f}"),
        ("epoch ratio, wall, rounds without outside load",
         f"{figures['epoch_ratio_quiet_rounds']:.3f}  ({len(quiet)} of {args.rounds} rounds)" if quiet
         else f"-  (0 of {args.rounds} rounds)"),
        ("callback's own time per epoch: hook + drain (s)", f"{added:.2f}"),
        ("epoch ratio, derived (1 + own time / epoch)", f"{figures['epoch_ratio_derived']:.3f}"),
        ("epoch ratio, CPU time (with / without)", f"{figures['epoch_cpu_ratio']:.3f}"),
        ("probe forward pass (median s)", f"{figures['probe_forward_seconds']:.3f}"),
        ("training waits per logged step (median s)", f"{figures['wait_per_logged_step_seconds']:.3f}"),
        ("  = forward passes of the probe batch", f"{figures['wait_in_forward_passes']:.2f}"),
        ("step 0 at the first train begin, set-up incl. (s)", f"{figures['first_step_wait_seconds']:.2f}"),
        ("bytes, step 0 (probe + structure too)", f"{figures['bytes_first_step']:,}"),
        ("bytes per later logged step (max)", f"{figures['bytes_per_logged_step']:,}"),
    ]
    print(json.dumps(figures["setting"]))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)
    return figures


if __name__ == "__main__":
    main()
