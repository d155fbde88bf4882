"""Feature visualization speed and strength: tb_featureviz against tf-keras-vis.

The setting (issue 11): Keras' Xception (``weights=None``: same shapes and
cost as the ImageNet weights, nothing downloaded) with a ``Rescaling`` layer
in front, so that every tool works on pixels in 0..255; 16 channels of
``block4_sepconv1``; 128-pixel images; 100 steps.

It measures, in the same process:

* **tb_featureviz**: :class:`tb_featureviz.featurevis.FeatureVisualizer`, the
  full recipe (Fourier parametrisation with decorrelated colours, random
  pad/jitter/scale/rotate every step, Adam 0.05), all channels in one batch,
  one compiled step (``tf.function``, or ``jax.jit`` with ``--backend jax``).
  Its canvas is 140 pixels (the 128-pixel image with Lucid's margin).
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
then timed. Figures: seconds per channel per 100 steps, and the **final
channel activation**: the channel's mean output at ``block4_sepconv1`` on
each mode's final image, fed alone at 128 pixels as the tool returns it
(uint8 for tb_featureviz, float for tf-keras-vis), averaged over channels;
and the same on uniform-noise images for scale. With random weights an
activation only compares optimisers; it says nothing about what the channel
means.

Run from the repository root::

    python benchmarks/bench_feature_vis.py                        # the documented setting
    python benchmarks/bench_feature_vis.py --steps 10 --channels 4 --single-channels 2   # a quick look
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
    parser.add_argument("--skip-tf-keras-vis", action="store_true")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
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


def channel_activation(truncated, images, channels):
    """Mean output of each sample's channel on ``images`` (0..255, alone, no canvas)."""
    import keras
    import numpy as np

    out = truncated.predict_on_batch(np.asarray(images, np.float32))
    out = keras.ops.convert_to_numpy(out[0] if isinstance(out, (list, tuple)) else out)
    return np.array([out[i, ..., c].mean() for i, c in enumerate(channels)])


def time_ours(model, layer, size, channels, steps):
    from tb_featureviz import featurevis

    visualizer = featurevis.FeatureVisualizer(model, layer, size=size)
    visualizer.run(channels, steps=2)  # traces the step for this batch size
    with Timer() as timer:
        result = visualizer.run(channels, steps=steps, seed=0)
    return visualizer, result, timer


def time_bare_step(truncated, total_channels, size, channels, steps):
    """A compiled gradient step on raw pixels, batched (TensorFlow or JAX)."""
    import keras
    import numpy as np

    if keras.backend.backend() == "jax":
        return _time_bare_step_jax(truncated, total_channels, size, channels, steps)
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

    x = tf.random.uniform((len(channels), size, size, 3), 0, 255, seed=0)
    x = step(x)
    with Timer() as timer:
        for _ in range(steps):
            x = step(x)
        keras.ops.convert_to_numpy(x)
    return timer


def _time_bare_step_jax(truncated, total_channels, size, channels, steps):
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
    x = jnp.asarray(np.random.default_rng(0).uniform(0, 255, (len(channels), size, size, 3)).astype(np.float32))
    x = step(x, *weights).block_until_ready()
    with Timer() as timer:
        for _ in range(steps):
            x = step(x, *weights)
        x.block_until_ready()
    return timer


def time_tf_keras_vis(model, layer, size, channels, single, steps):
    """tf-keras-vis batched and one channel per call: figures, or what failed."""
    import numpy as np
    import tensorflow as tf

    figures = {}
    try:
        import tf_keras_vis
        from tf_keras_vis.activation_maximization import ActivationMaximization
        from tf_keras_vis.utils.model_modifiers import ExtractIntermediateLayer
        from tf_keras_vis.utils.scores import CategoricalScore
    except ImportError as error:
        return {"error": f"import failed: {error!r}"}
    figures["version"] = tf_keras_vis.__version__
    # clone=False: the model is used as it is (a clone only costs set-up time).
    maximizer = ActivationMaximization(model, model_modifier=ExtractIntermediateLayer(layer), clone=False)
    rng = np.random.default_rng(0)

    def seeds(count):
        return tf.constant(rng.uniform(0, 255, (count, size, size, 3)).astype(np.float32))

    for mode, groups in (("batched", [channels]), ("one per call", [[c] for c in single])):
        try:
            maximizer(CategoricalScore(groups[0]), seed_input=seeds(len(groups[0])), steps=1)  # warm-up
            images = []
            with Timer() as timer:
                for group in groups:
                    images.append(np.asarray(maximizer(CategoricalScore(group), seed_input=seeds(len(group)),
                                                       steps=steps)))
            figures[mode] = {"timer": timer, "channels": sum(len(g) for g in groups),
                             "images": np.concatenate(images)}
        except Exception as error:  # report exactly what fails, measure the rest
            figures[mode] = {"error": f"{type(error).__name__}: {error}"}
    return figures


def main(argv=None):
    args = parse_args(argv)
    import keras
    import numpy as np

    backend = keras.backend.backend()
    channels = list(range(args.channels))
    single = channels[:args.single_channels] if args.single_channels else channels
    model = build_model()
    visualizer, result, timer = time_ours(model, args.layer, args.size, channels, args.steps)
    truncated = visualizer.truncated
    per_100 = 100.0 / args.steps

    def row(mode, timer, count, activation=None):
        return {"mode": mode, "seconds": timer.wall, "cpu_seconds": timer.cpu,
                "per_channel_100": timer.wall / count * per_100, "cpu_per_channel_100": timer.cpu / count * per_100,
                "activation": activation}

    noise = np.random.default_rng(1).uniform(0, 255, (len(channels), args.size, args.size, 3))
    rows = [row(f"tb_featureviz, {len(channels)} batched, full recipe ({backend})", timer, len(channels),
                float(channel_activation(truncated, result.images, channels).mean()))]
    quality = result.quality()
    if backend in ("tensorflow", "jax"):
        bare = time_bare_step(truncated, visualizer.total_channels, args.size, channels, args.steps)
        rows.append(row(f"bare compiled step on {args.size}-px pixels, {len(channels)} batched", bare,
                        len(channels)))
    tkv = {}
    if backend == "tensorflow" and not args.skip_tf_keras_vis:
        tkv = time_tf_keras_vis(model, args.layer, args.size, channels, single, args.steps)
        for mode in ("one per call", "batched"):
            entry = tkv.get(mode)
            if entry is None or "error" in entry:
                rows.append({"mode": f"tf-keras-vis, {mode}", "error": (entry or tkv).get("error")})
                continue
            chosen = channels if mode == "batched" else single
            label = f"tf-keras-vis, {len(chosen)} " + ("batched" if mode == "batched" else "one per call")
            rows.append(row(label, entry["timer"], entry["channels"],
                            float(channel_activation(truncated, entry["images"], chosen).mean())))
    setting = {
        "machine": machine(), "backend": backend, "keras": keras.__version__, "layer": args.layer,
        "size": args.size, "canvas": result.canvas, "channels": len(channels), "steps": args.steps,
        "command": "python benchmarks/bench_feature_vis.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "noise_activation": float(channel_activation(truncated, noise, channels).mean()),
        "ours_quality_mean": {k: float(np.nanmean(v)) for k, v in quality.items()},
        "ours_history_first_last": [float(result.history[0].mean()), float(result.history[-1].mean())],
        "tf_keras_vis_version": tkv.get("version"),
    }
    if backend == "tensorflow":
        import tensorflow as tf

        setting["tensorflow"] = tf.__version__
    print(json.dumps(setting))
    print("| mode | wall s | s per channel per 100 steps, wall (CPU) | final channel activation |")
    print("|---|---|---|---|")
    for entry in rows:
        if "error" in entry:
            print(f"| {entry['mode']} | failed: {entry['error']} | | |")
            continue
        act = "" if entry["activation"] is None else f"{entry['activation']:.4g}"
        print(f"| {entry['mode']} | {entry['seconds']:.1f} | {entry['per_channel_100']:.2f} "
              f"({entry['cpu_per_channel_100']:.2f}) | {act} |")
    print(f"| uniform noise 0..255 | | | {setting['noise_activation']:.4g} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"setting": setting, "rows": rows}, handle, indent=2)


if __name__ == "__main__":
    main()
