"""Feature visualization speed and strength: tb_featureviz against tf-keras-vis.

The setting (issue 11): Keras' Xception (``weights=None``: same shapes and
cost as the ImageNet weights, nothing downloaded) with a ``Rescaling`` layer
in front, so that every tool works on pixels in 0..255; 16 channels of
``block4_sepconv1``; 128-pixel images; 100 steps.

It measures, in the same process:

* **tb_featureviz**: :class:`tb_featureviz.featurevis.visualizer.FeatureVisualizer`, the
  full recipe (Fourier parametrisation with decorrelated colours, random
  pad/jitter/scale/rotate every step, Adam 0.05), all channels in one batch,
  one compiled step (``tf.function``, or ``jax.jit`` with ``--backend jax``),
  on a 128-pixel canvas.
* **bare step**: a compiled gradient-ascent step on raw pixels through the
  truncated model, batched, nothing else: the floor any recipe adds to.
* **tf-keras-vis** ``ActivationMaximization`` (TensorFlow only) with its
  defaults (RMSprop 1.0, jitter 4, rotate 1, total variation and L1 norm
  regularisers), on the model truncated by its ``ExtractIntermediateLayer``,
  used both ways people use it: one channel per call (a
  ``CategoricalScore(channel)`` and one seed image), and all channels
  batched (a ``CategoricalScore(channels)``, which returns a value per
  sample, and a batch of seed images).

Every mode is warmed up first (a short call: tracing, first-call set-up),
then timed in ``--rounds`` rounds that alternate the modes, so that a change
of load on a shared machine reaches every mode alike: each figure is the
median over rounds, each speed-up the median of the per-round ratios. The
one-channel-per-call mode, the slow one, runs its share of the channels in
each round (all of them over the rounds). Figures: seconds per channel per 100 steps, and the **final
channel activation**: the channel's mean output at ``block4_sepconv1`` on
each mode's final image, fed alone at 128 pixels as the tool returns it
(uint8 for tb_featureviz, float for tf-keras-vis), averaged over channels;
and the same on uniform-noise images for scale. With random weights an
activation only compares optimisers; it says nothing about what the channel
means.

Run from the repository root::

    python benchmarks/bench_feature_vis.py                        # the documented setting
    python benchmarks/bench_feature_vis.py --steps 10 --channels 4 --single-channels 2 --rounds 2   # a quick look
    python benchmarks/bench_feature_vis.py --onednn on            # TensorFlow's oneDNN kernels (off on AMD CPUs)
    KERAS_BACKEND=jax python benchmarks/bench_feature_vis.py --backend jax   # in a venv with jax

Prints a table and, with ``--json PATH``, writes the figures as JSON.
"""

import argparse
import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("tensorflow", "jax", "torch"), default=None,
                        help="Keras backend (default: KERAS_BACKEND, else tensorflow)")
    parser.add_argument("--layer", default="block4_sepconv1")
    parser.add_argument("--size", type=int, default=128, help="image side (default 128)")
    parser.add_argument("--channels", type=int, default=16, help="channels 0..N-1 (default 16)")
    parser.add_argument("--steps", type=int, default=100, help="optimisation steps (default 100)")
    parser.add_argument("--single-channels", type=int, default=None,
                        help="channels tf-keras-vis runs one per call (default: all); time is per channel")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds alternating the modes (default 3); one-per-call channels are shared out")
    parser.add_argument("--skip-tf-keras-vis", action="store_true")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--onednn", choices=("default", "on", "off"), default="default",
                        help="TensorFlow's oneDNN CPU kernels for every mode (TF_ENABLE_ONEDNN_OPTS); TensorFlow "
                             "turns them on by itself only on some Intel CPUs (default: leave it to TensorFlow)")
    args = parser.parse_args(argv)
    if args.onednn != "default":
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1" if args.onednn == "on" else "0"
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    return args


def build_model(size=None):
    """Rescaling(0..255 -> -1..1) + Xception(weights=None), one flat functional model."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1, name="rescale")(inputs)
    return keras.applications.Xception(weights=None, include_top=False, input_tensor=x)


def machine():
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores available, {platform.system()} {platform.release()}"


class Timer:
    """Wall and CPU seconds (all threads of this process) of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def take_turns(calls, unit, rounds, *, before=None, after=None, end_of_round=None):
    """Time ``calls`` (``{name: callable}``) in turns for ``rounds``, the ``unit`` call first and last in each.

    A change of load then reaches every mode alike; the unit's time in a
    round is the mean of its two calls. ``before(name)`` and
    ``after(name, timer)`` run around each timed call, ``end_of_round(r)``
    before the unit's second call (neither is timed).

    Returns:
        ``(walls, cpus, units)``: per name the wall and CPU seconds of each
        round, and the unit's seconds per round.
    """
    walls = {name: [] for name in calls}
    cpus = {name: [] for name in calls}
    units = []
    for r in range(rounds):
        first = None
        for name, call in calls.items():
            if before is not None:
                before(name)
            with Timer() as timer:
                call()
            if after is not None:
                after(name, timer)
            if name == unit:
                first = timer
            walls[name].append(timer.wall)
            cpus[name].append(timer.cpu)
            print(f"round {r + 1}/{rounds}: {name}: {timer.wall:.3f} s", file=sys.stderr, flush=True)
        if end_of_round is not None:
            end_of_round(r)
        with Timer() as last:
            calls[unit]()
        print(f"round {r + 1}/{rounds}: {unit}: {last.wall:.3f} s", file=sys.stderr, flush=True)
        units.append((first.wall + last.wall) / 2)
        walls[unit][-1] = units[-1]
    return walls, cpus, units


def channel_activation(truncated, images, channels):
    """Mean output of each sample's channel on ``images`` (0..255, alone, no canvas)."""
    import keras
    import numpy as np

    out = truncated.predict_on_batch(np.asarray(images, np.float32))
    out = keras.ops.convert_to_numpy(out[0] if isinstance(out, (list, tuple)) else out)
    return np.array([out[i, ..., c].mean() for i, c in enumerate(channels)])


def time_ours(visualizer, channels, steps):
    """One timed run of the full recipe, all channels batched (the step already traced)."""
    with Timer() as timer:
        result = visualizer.run(channels, steps=steps, seed=0)
    return result, timer


def bare_step(truncated, total_channels, size, channels, steps):
    """A function timing ``steps`` compiled gradient steps on raw pixels, batched (TensorFlow or JAX), traced now."""
    import keras
    import numpy as np

    if keras.backend.backend() == "jax":
        return _bare_step_jax(truncated, total_channels, size, channels, steps)
    import tensorflow as tf

    onehot = tf.constant(np.eye(total_channels, dtype=np.float32)[channels])

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = truncated(x, training=False)
            out = out[0] if isinstance(out, (list, tuple)) else out
            loss = tf.reduce_sum(tf.reduce_mean(out, axis=(1, 2)) * onehot)
        return x + 0.01 * tape.gradient(loss, x)

    start = step(tf.random.uniform((len(channels), size, size, 3), 0, 255, seed=0))

    def timed():
        x = start
        with Timer() as timer:
            for _ in range(steps):
                x = step(x)
            keras.ops.convert_to_numpy(x)
        return timer

    return timed


def _bare_step_jax(truncated, total_channels, size, channels, steps):
    import jax
    import jax.numpy as jnp
    import numpy as np

    onehot = jnp.asarray(np.eye(total_channels, dtype=np.float32)[channels])

    def loss(x, trainable, non_trainable):
        out = truncated.stateless_call(trainable, non_trainable, x, training=False)[0]
        out = out[0] if isinstance(out, (list, tuple)) else out
        return jnp.sum(jnp.mean(out, axis=(1, 2)) * onehot)

    grad = jax.grad(loss)
    step = jax.jit(lambda x, t, n: x + 0.01 * grad(x, t, n))
    weights = ([v.value for v in truncated.trainable_variables], [v.value for v in truncated.non_trainable_variables])
    x0 = jnp.asarray(np.random.default_rng(0).uniform(0, 255, (len(channels), size, size, 3)).astype(np.float32))
    start = step(x0, *weights).block_until_ready()

    def timed():
        x = start
        with Timer() as timer:
            for _ in range(steps):
                x = step(x, *weights)
            x.block_until_ready()
        return timer

    return timed


def tf_keras_vis_modes(model, layer, size, steps):
    """tf-keras-vis' two ways, each a function ``run(channels) -> (images, Timer)``, warmed up; or an error."""
    import numpy as np
    import tensorflow as tf

    try:
        import tf_keras_vis
        from tf_keras_vis.activation_maximization import ActivationMaximization
        from tf_keras_vis.utils.model_modifiers import ExtractIntermediateLayer
        from tf_keras_vis.utils.scores import CategoricalScore
    except ImportError as error:
        return None, f"import failed: {error!r}"
    # clone=False: the model is used as it is (a clone only costs set-up time).
    maximizer = ActivationMaximization(model, model_modifier=ExtractIntermediateLayer(layer), clone=False)
    rng = np.random.default_rng(0)

    def seeds(count):
        return tf.constant(rng.uniform(0, 255, (count, size, size, 3)).astype(np.float32))

    def call(group, count_steps):
        return np.asarray(maximizer(CategoricalScore(group), seed_input=seeds(len(group)), steps=count_steps))

    def batched(channels):
        with Timer() as timer:
            images = call(list(channels), steps)
        return images, timer

    def one_per_call(channels):
        with Timer() as timer:
            images = np.concatenate([call([c], steps) for c in channels])
        return images, timer

    return {"version": tf_keras_vis.__version__, "batched": batched, "one per call": one_per_call,
            "warm_up": call}, None


def median(values):
    import numpy as np

    return float(np.median(np.asarray(values, np.float64)))


def main(argv=None):
    args = parse_args(argv)
    import keras
    import numpy as np

    from tb_featureviz.featurevis import visualizer as featurevis

    backend = keras.backend.backend()
    channels = list(range(args.channels))
    single = channels[:args.single_channels] if args.single_channels else channels
    rounds = max(1, args.rounds)
    model = build_model()
    visualizer = featurevis.FeatureVisualizer(model, args.layer, size=args.size)
    visualizer.run(channels, steps=2)  # traces the step for this batch size
    truncated = visualizer.truncated
    modes = {}  # name -> (function of the round's channels -> (images or None, Timer), channels per round)
    ours_name = f"tb_featureviz, {len(channels)} batched, full recipe ({backend})"
    ours = {}

    def run_ours(chosen):
        result, timer = time_ours(visualizer, chosen, args.steps)
        ours["result"] = result
        return result.images, timer

    modes[ours_name] = (run_ours, [channels] * rounds)
    if backend in ("tensorflow", "jax"):
        timed = bare_step(truncated, visualizer.total_channels, args.size, channels, args.steps)
        modes[f"bare compiled step on {args.size}-px pixels, {len(channels)} batched"] = (
            lambda chosen: (None, timed()), [channels] * rounds)
    tkv, tkv_error = ({}, None)
    if backend == "tensorflow" and not args.skip_tf_keras_vis:
        tkv, tkv_error = tf_keras_vis_modes(model, args.layer, args.size, args.steps)
    if tkv:
        tkv["warm_up"]([channels[0]], 1)
        tkv["warm_up"](channels, 1)
        # One channel per call is slow: each round takes its share of the channels.
        modes[f"tf-keras-vis, {len(single)} one per call"] = (
            tkv["one per call"], [part for part in (single[r::rounds] for r in range(rounds)) if part])
        modes[f"tf-keras-vis, {len(channels)} batched"] = (tkv["batched"], [channels] * rounds)

    # Rounds alternate the modes, so a change of load on a shared machine
    # reaches every mode alike; the speed-ups are medians of per-round ratios.
    per_round = {name: [] for name in modes}
    images = {name: [] for name in modes}
    for r in range(rounds):
        for name, (run, parts) in modes.items():
            if r >= len(parts):
                continue
            got, timer = run(parts[r])
            per_round[name].append((timer, len(parts[r])))
            if got is not None:
                images[name].append((got, parts[r]))
            print(f"round {r + 1}/{rounds}: {name}: {timer.wall / len(parts[r]) * 100.0 / args.steps:.2f} "
                  "s per channel per 100 steps", file=sys.stderr, flush=True)

    per_100 = 100.0 / args.steps
    rows = []
    for name in modes:
        walls = [t.wall / n * per_100 for t, n in per_round[name]]
        cpus = [t.cpu / n * per_100 for t, n in per_round[name]]
        activation = None
        if images[name]:
            # The last round's images (ours are the same every round), or every round's share.
            pairs = images[name] if "one per call" in name else images[name][-1:]
            got = np.concatenate([p[0] for p in pairs])
            chosen = [c for p in pairs for c in p[1]]
            activation = float(channel_activation(truncated, got, chosen).mean())
        rows.append({"mode": name, "per_channel_100": median(walls), "cpu_per_channel_100": median(cpus),
                     "rounds": walls, "activation": activation})
    ours_walls = rows[0]["rounds"]
    for entry in rows[1:]:
        if len(entry["rounds"]) == len(ours_walls):
            entry["speedup_of_ours"] = median([theirs / mine for theirs, mine in zip(entry["rounds"], ours_walls)])
    if tkv_error:
        rows.append({"mode": "tf-keras-vis", "error": tkv_error})

    result = ours["result"]
    quality = result.quality()
    noise = np.random.default_rng(1).uniform(0, 255, (len(channels), args.size, args.size, 3))
    setting = {
        "machine": machine(), "backend": backend, "keras": keras.__version__, "layer": args.layer,
        "size": args.size, "canvas": result.canvas, "channels": len(channels), "steps": args.steps,
        "rounds": rounds, "load_average": os.getloadavg(),
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset"),
        "command": "python benchmarks/bench_feature_vis.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "noise_activation": float(channel_activation(truncated, noise, channels).mean()),
        "ours_quality_mean": {k: float(np.nanmean(v)) for k, v in quality.items()},
        "ours_history_first_last": [float(result.history[0].mean()), float(result.history[-1].mean())],
        "tf_keras_vis_version": tkv.get("version") if tkv else None,
    }
    if backend == "tensorflow":
        import tensorflow as tf

        setting["tensorflow"] = tf.__version__
    print(json.dumps(setting))
    print("| mode | s per channel per 100 steps, wall (CPU), median of rounds | rounds (wall) "
          "| tb_featureviz faster by (median of per-round ratios) | final channel activation |")
    print("|---|---|---|---|---|")
    for entry in rows:
        if "error" in entry:
            print(f"| {entry['mode']} | failed: {entry['error']} | | | |")
            continue
        act = "" if entry["activation"] is None else f"{entry['activation']:.3g}"
        speedup = f"{entry['speedup_of_ours']:.2f}x" if "speedup_of_ours" in entry else ""
        print(f"| {entry['mode']} | {entry['per_channel_100']:.2f} ({entry['cpu_per_channel_100']:.2f}) | "
              f"{', '.join(f'{w:.2f}' for w in entry['rounds'])} | {speedup} | {act} |")
    print(f"| uniform noise 0..255 | | | | {setting['noise_activation']:.3g} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"setting": setting, "rows": rows}, handle, indent=2)


if __name__ == "__main__":
    main()
