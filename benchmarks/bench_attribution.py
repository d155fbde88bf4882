"""Grad-CAM speed: tb_featureviz's Attributor against a bare compiled step and the peers.

The setting (issue 18): Keras' Xception at 299x299 **with** its top
(``keras.applications.Xception(weights=None)``: 1000 classes behind a
softmax; random weights cost what ImageNet's do, nothing downloaded),
``--images`` probe pictures (default 8: the bundled cat and astronaut,
whole, mirrored and cropped in turn), each picture's predicted class,
Grad-CAM at ``block14_sepconv2_act`` (Xception's last spatial layer,
10x10x2048).

It measures, in the same process:

* **forward pass**: ``model.predict_on_batch`` of the preprocessed batch:
  the unit every figure is a ratio to.
* **bare compiled Grad-CAM**: one ``tf.function``: a ``GradientTape`` from
  the input to ``[layer output, avg_pool output]`` (a sub-model of this
  flat model), the logits as ``avg_pool @ kernel + bias`` of the
  ``predictions`` Dense layer (before its softmax), the predicted class's
  logit, its gradient, ``relu(sum_k mean_hw(grad_k) A_k)``; the maps come
  back as numpy. The floor any tool adds to (TensorFlow only).
* **tb_featureviz**: one :class:`tb_featureviz.attribution.Attributor`
  (``preprocess=xception.preprocess_input``) called on the uint8 pictures,
  as a user calls it (loading, preprocessing, the compiled pass, the
  numpy maths, the result); kept across rounds. Its first call (tracing)
  is reported apart. Add ``--backend jax|torch`` for the other backends
  (forward pass and tb_featureviz only: the peers need TensorFlow).
* **tf-keras-vis** ``Gradcam`` with ``model_modifier=ReplaceToLinear()``
  (its docs' advice for a softmax output), ``penultimate_layer`` the same
  layer with ``seek_penultimate_conv_layer=False`` (by default it would seek
  back to a ``Conv`` layer, see the definitions printed), the score
  ``lambda output: tf.reduce_max(output, axis=-1)`` (each picture's
  predicted-class output, from the same forward pass), its other defaults
  (``expand_cam=True``: maps zoomed to 299x299 by scipy, normalised);
  with its default ``clone=True`` and with ``clone=False`` (on a second
  copy of the model, since ``ReplaceToLinear`` then changes the model it
  is given). Made once, reused; making it (the clone) is reported apart.
* **tf-explain** ``GradCAM().explain((images, None), model, class_index,
  layer_name=...)``: one class index for all the images of a call, so it
  is called once per distinct predicted class, on the pictures predicted
  as that class (the classes are known beforehand, from tb_featureviz's
  warm-up call, and finding them is not timed), with its defaults (guided gradients, the model's softmax
  output, an OpenCV overlay grid as the result).

Every mode is warmed up first (its first call is reported apart), then
timed in ``--rounds`` rounds that take the modes in turn, the forward pass
first and last in each round (its unit is the mean of the two), so that a
change of load on a shared machine reaches every mode alike: each figure
is the median over rounds, each ratio the median of the per-round ratios.
A fastest-round ratio (fastest round over fastest forward pass) is given
beside the medians: on a shared host the least disturbed round. Each round
also times the parts of one tb_featureviz call (loading, the gradient pass
and its conversion to numpy, the numpy maths, the result). A peer that
fails on Keras 3 prints one line saying where and how, and the run goes on
without it.

It also checks the maps: tb_featureviz against the bare step (the same
definition: the predicted class's pre-softmax logit, Grad-CAM at the same
layer) as the largest absolute difference relative to the largest value;
and each peer's raw maps, as computed by default and on our definition.

Run from the repository root::

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/bench_attribution.py --rounds 5
    .venv-jax/bin/python benchmarks/bench_attribution.py --backend jax
    .venv-torch/bin/python benchmarks/bench_attribution.py --backend torch
    python benchmarks/bench_attribution.py --rounds 2 --images 2 --json out.json   # a quick look

Prints a table and, with ``--json PATH``, writes the figures as JSON.
"""

import argparse
import json
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_feature_vis import Timer, machine, take_turns  # noqa: E402 (sets TF_CPP_MIN_LOG_LEVEL and the repository path)
from bench_logging import SAMPLE, use_backend  # noqa: E402

ASTRONAUT = os.path.join(os.path.dirname(SAMPLE), "astronaut.png")
LAYER = "block14_sepconv2_act"
SIZE = 299

#: The issue's aims: ours within this factor of the bare step, the bare step this many times faster than the
#: faster peer.
AIM_OURS_OVER_BARE = 1.5
AIM_PEER_OVER_BARE = 3.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("tensorflow", "jax", "torch"), default=None,
                        help="Keras backend (default: KERAS_BACKEND, else tensorflow); the peers need tensorflow")
    parser.add_argument("--rounds", type=int, default=5, help="rounds taking the modes in turn (default 5)")
    parser.add_argument("--images", type=int, default=8, help="probe pictures in the batch (default 8)")
    parser.add_argument("--layer", default=LAYER, help=f"the Grad-CAM layer (default {LAYER})")
    parser.add_argument("--skip-peers", action="store_true", help="leave out tf-keras-vis and tf-explain")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    use_backend(args.backend, "bench_attribution")
    if args.rounds < 1 or args.images < 1:
        parser.error(f"--rounds and --images expect at least 1. Received: {args.rounds} and {args.images}")
    return args


def pictures(count, size=SIZE):
    """uint8 ``[count, size, size, 3]``: the cat and the astronaut in turn, whole, then mirrored and cropped.

    Deterministic: picture ``i`` is photo ``i % 2``, variant ``i // 2``
    (0: whole; then crops of 60 to 90 % from a seeded generator, every
    other one mirrored), resized bilinearly.
    """
    import numpy as np
    from PIL import Image, ImageOps

    photos = [Image.open(path).convert("RGB") for path in (SAMPLE, ASTRONAUT)]
    rng = np.random.default_rng(18)
    out = []
    for i in range(count):
        photo, variant = photos[i % 2], i // 2
        if variant:
            width, height = photo.size
            scale = rng.uniform(0.6, 0.9)
            w, h = int(width * scale), int(height * scale)
            left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            photo = photo.crop((left, top, left + w, top + h))
            if variant % 2:
                photo = ImageOps.mirror(photo)
        out.append(np.asarray(photo.resize((size, size), Image.BILINEAR)))
    return np.stack(out)


def build_model():
    """``keras.applications.Xception(weights=None)``: 299x299, its top (1000 classes, softmax), seeded."""
    import keras

    keras.utils.set_random_seed(0)
    return keras.applications.Xception(weights=None)


def copy_model(model):
    """A second Xception with ``model``'s weights (for a peer that changes the model it is given)."""
    import keras

    other = keras.applications.Xception(weights=None)
    other.set_weights(model.get_weights())
    return other


def bare_gradcam(model, layer_name):
    """The bare compiled Grad-CAM step, traced later: ``run(batch) -> (maps [N, h, w], classes [N])`` as numpy."""
    import keras
    import tensorflow as tf

    head = model.get_layer("predictions")
    sub = keras.Model(model.inputs, [model.get_layer(layer_name).output, head.input])

    @tf.function
    def step(x):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)
            activations, pooled = sub(x, training=False)
            logits = tf.matmul(pooled, head.kernel) + head.bias  # the Dense layer before its softmax
            classes = tf.argmax(logits, axis=-1, output_type=tf.int32)
            score = tf.reduce_sum(tf.gather(logits, classes, batch_dims=1))
        grads = tape.gradient(score, activations)
        weights = tf.reduce_mean(grads, axis=(1, 2))  # [N, C]
        return tf.nn.relu(tf.einsum("nhwc,nc->nhw", activations, weights)), classes

    def run(batch):
        maps, classes = step(tf.constant(batch))
        return maps.numpy(), classes.numpy()

    return run


def fails(peer, where, error):
    """The one line saying where and how a peer fails, printed; the text kept for the JSON."""
    text = f"{peer}: fails on Keras 3 ({where}): {type(error).__name__}: {str(error).splitlines()[0][:300]}"
    print(text, flush=True)
    return text


def tf_keras_vis_modes(model, batch, layer_name):
    """tf-keras-vis' Gradcam, clone=True and clone=False: ``({name: mode}, notes, errors)``.

    A mode is ``{"call": run(), "setup_s": seconds}``.
    """
    import tensorflow as tf

    modes, notes, errors = {}, {}, []
    try:
        import tf_keras_vis
        from tf_keras_vis.gradcam import Gradcam
        from tf_keras_vis.utils import find_layer
        from tf_keras_vis.utils.model_modifiers import Conv, ReplaceToLinear
    except Exception as error:  # noqa: BLE001 (any import failure is the peer's, reported)
        return modes, notes, [fails("tf-keras-vis", "import", error)]
    notes["version"] = tf_keras_vis.__version__
    try:  # where its default seek_penultimate_conv_layer=True would look
        sought = find_layer(model, lambda layer: isinstance(layer, Conv), offset=model.get_layer(layer_name))
        notes["default_seek_layer"] = getattr(sought, "name", None)
    except Exception as error:  # noqa: BLE001
        notes["default_seek_layer"] = f"error: {error!r}"

    def score(output):  # each picture's predicted-class output, from the same forward pass
        return tf.reduce_max(output, axis=-1)

    for clone in (True, False):
        name = f"tf-keras-vis Gradcam, clone={clone}"
        try:
            target = model if clone else copy_model(model)  # not timed: the user's model as it is
            with Timer() as setup:
                gradcam = Gradcam(target, model_modifier=ReplaceToLinear(), clone=clone)
        except Exception as error:  # noqa: BLE001
            errors.append(fails("tf-keras-vis", f"Gradcam(model, model_modifier=ReplaceToLinear(), clone={clone})",
                                error))
            continue

        def call(gradcam=gradcam):
            return gradcam(score, batch, penultimate_layer=layer_name, seek_penultimate_conv_layer=False)

        modes[name] = {"call": call, "setup_s": setup.wall, "gradcam": gradcam}
    return modes, notes, errors


def tf_explain_mode(model, batch, classes, layer_name):
    """tf-explain's GradCAM, once per distinct predicted class: ``(mode or None, notes, errors)``."""
    import numpy as np

    try:
        import tf_explain
        from tf_explain.core.grad_cam import GradCAM
    except Exception as error:  # noqa: BLE001
        return None, {}, [fails("tf-explain", "import", error)]
    explainer = GradCAM()
    groups = [(int(c), np.flatnonzero(classes == c)) for c in np.unique(classes)]
    notes = {"version": getattr(tf_explain, "__version__", "?"),
             "calls": [{"class_index": c, "images": len(idx)} for c, idx in groups]}
    try:  # its default layer inference (layer_name=None)
        notes["default_layer"] = GradCAM.infer_grad_cam_target_layer(model)
    except Exception as error:  # noqa: BLE001
        notes["default_layer"] = f"fails on Keras 3: {type(error).__name__}: {error}"

    # Its grad model is Model([model.inputs], ...): a nested list, which Keras 3 warns about on every call.
    notes["keras_warning"] = "UserWarning: The structure of `inputs` doesn't match the expected structure " \
                             "(Expected: [['keras_tensor']]), from its Model([model.inputs], ...)"

    def call():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
            return [explainer.explain((batch[idx], None), model, c, layer_name=layer_name) for c, idx in groups]

    return {"call": call, "setup_s": 0.0}, notes, []


def relative_difference(ours, theirs, normalise=False):
    """Max abs difference over max abs value of ``ours``; each map scaled to [0, 1] first with ``normalise``."""
    import numpy as np

    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    if normalise:
        def scaled(maps):
            flat = maps.reshape(len(maps), -1)
            lo, hi = flat.min(1, keepdims=True), flat.max(1, keepdims=True)
            return ((flat - lo) / np.where(hi > lo, hi - lo, 1.0)).reshape(maps.shape)
        ours, theirs = scaled(ours), scaled(theirs)
    return float(np.abs(ours - theirs).max() / max(np.abs(ours).max(), 1e-30))


def check_peers(model, batch, classes, layer_name, ours_maps, tkv, tkv_notes):
    """Each peer's raw maps against ours: on our definition where it can be set, and with its defaults."""
    import numpy as np
    import tensorflow as tf

    checks = {}
    if tkv:
        from tf_keras_vis.gradcam import Gradcam

        def score(output):
            return tf.reduce_max(output, axis=-1)

        def raw(gradcam, **kwargs):
            return np.asarray(gradcam(score, batch, penultimate_layer=layer_name, expand_cam=False,
                                      normalize_cam=False, **kwargs))

        gradcam = next(iter(tkv.values()))["gradcam"]
        try:
            checks["tf-keras-vis, ReplaceToLinear, same layer (our definition)"] = relative_difference(
                ours_maps, raw(gradcam, seek_penultimate_conv_layer=False))
            plain = Gradcam(model)  # no modifier: the softmax output, no clone
            checks["tf-keras-vis defaults but the layer (softmax output), maps scaled to [0, 1]"] = relative_difference(
                ours_maps, raw(plain, seek_penultimate_conv_layer=False), normalise=True)
            seek = tkv_notes.get("default_seek_layer")
            checks[f"tf-keras-vis, ReplaceToLinear, its default seek (layer {seek}), maps scaled to [0, 1]"] = (
                relative_difference(ours_maps, raw(gradcam), normalise=True))
        except Exception as error:  # noqa: BLE001
            checks["tf-keras-vis"] = fails("tf-keras-vis", "raw maps for the check", error)
    try:
        from tf_explain.core.grad_cam import GradCAM

        for guided in (True, False):
            maps = np.zeros(ours_maps.shape, np.float64)
            for c in np.unique(classes):
                idx = np.flatnonzero(classes == c)
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
                    outputs, grads = GradCAM.get_gradients_and_filters(model, batch[idx], layer_name, int(c), guided)
                maps[idx] = np.stack([m.numpy() for m in GradCAM.generate_ponderated_output(outputs, grads)])
            label = "its defaults: guided gradients" if guided else "use_guided_grads=False"
            checks[f"tf-explain, {label}, softmax output, no ReLU, maps scaled to [0, 1]"] = relative_difference(
                ours_maps, maps, normalise=True)
    except ImportError:
        pass
    except Exception as error:  # noqa: BLE001
        checks["tf-explain"] = fails("tf-explain", "raw maps for the check", error)
    return checks


def parts_of_ours(attributor, images):
    """Seconds of the parts of one ``attributor(images)`` (Grad-CAM, predicted class), as it runs them."""
    from tb_featureviz.attribution import methods

    start = time.perf_counter()
    probe = attributor.load(images)
    t1 = time.perf_counter()
    activations, grads, logits, classes = attributor.capture(probe, "predicted")
    t2 = time.perf_counter()
    maps = methods.grad_cam(activations, grads)
    t3 = time.perf_counter()
    attributor.result(maps, logits, classes, "gradcam", "predicted", probe.display)
    t4 = time.perf_counter()
    return dict(zip(PARTS, (t1 - start, t2 - t1, t3 - t2, t4 - t3)))


PARTS = ("load (check, to float32, preprocess)", "capture (gradient pass, to numpy)",
         "Grad-CAM numpy maths (float64)", "result (softmax, gathers)")


def warm_up(modes, names, first, errors):
    """Each mode's first call (tracing, first-call set-up), timed; a peer failing here is reported and dropped."""
    for name in names:
        try:
            with Timer() as timer:
                modes[name]["result"] = modes[name]["call"]()
        except Exception as error:  # noqa: BLE001
            if name.startswith(("tf-keras-vis", "tf-explain")):
                errors.append(fails(name.split()[0], f"first call of {name}", error))
                del modes[name]
                continue
            raise
        first[name] = timer.wall
        print(f"warm-up: {name}: {timer.wall:.3f} s", file=sys.stderr, flush=True)


def main(argv=None):
    args = parse_args(argv)
    # Keras' predict_on_batch on torch converts outputs through an __array__ numpy 2 warns about.
    warnings.filterwarnings("ignore", message="__array__ implementation doesn't accept a copy keyword")
    import keras
    import numpy as np

    from tb_featureviz.attribution import Attributor

    backend = keras.backend.backend()
    count = args.images
    model = build_model()
    preprocess = keras.applications.xception.preprocess_input
    images = pictures(count)
    batch = np.asarray(preprocess(images.astype(np.float32)), np.float32)

    modes = {}  # name -> {"call": run(), "setup_s": seconds}
    forward_name = "forward pass (predict_on_batch)"
    modes[forward_name] = {"call": lambda: model.predict_on_batch(batch), "setup_s": 0.0}
    bare_name = "bare compiled Grad-CAM (tf.function)"
    if backend == "tensorflow":
        bare = bare_gradcam(model, args.layer)
        modes[bare_name] = {"call": lambda: bare(batch), "setup_s": 0.0}
    with Timer() as setup:
        attributor = Attributor(model, args.layer, preprocess=preprocess)
    ours_name = f"tb_featureviz Attributor ({backend})"
    modes[ours_name] = {"call": lambda: attributor(images), "setup_s": setup.wall}
    first, errors = {}, []
    warm_up(modes, list(modes), first, errors)
    ours_result = modes[ours_name]["result"]

    peer_notes, tkv = {}, {}
    classes = ours_result.classes[:, 0]
    if backend == "tensorflow" and not args.skip_peers:
        tkv, peer_notes["tf-keras-vis"], tkv_errors = tf_keras_vis_modes(model, batch, args.layer)
        errors += tkv_errors
        explain, peer_notes["tf-explain"], explain_errors = tf_explain_mode(model, batch, classes, args.layer)
        errors += explain_errors
        peers = dict(tkv)
        if explain is not None:
            calls = len(peer_notes["tf-explain"]["calls"])
            peers[f"tf-explain GradCAM.explain, {calls} call(s), one per predicted class"] = explain
        modes.update(peers)
        warm_up(modes, list(peers), first, errors)

    # Rounds take the modes in turn, the forward pass first and last (its unit: the mean of the two), so that a
    # change of load reaches every mode alike; tb_featureviz's parts are timed in each round too.
    parts = {name: [] for name in PARTS}

    def time_our_parts(r):
        for name, seconds in parts_of_ours(attributor, images).items():
            parts[name].append(seconds)
        print(f"round {r + 1}/{args.rounds}: tb_featureviz by part: "
              + ", ".join(f"{values[-1]:.3f}" for values in parts.values()) + " s", file=sys.stderr, flush=True)

    walls, cpus, units = take_turns({name: mode["call"] for name, mode in modes.items()}, forward_name, args.rounds,
                                    end_of_round=time_our_parts)

    rows = []
    for name in modes:
        ratios = [w / u for w, u in zip(walls[name], units)]
        rows.append({"mode": name, "s_per_call": statistics.median(walls[name]),
                     "s_per_image": statistics.median(walls[name]) / count,
                     "cpu_s_per_call": statistics.median(cpus[name]),
                     "forward_passes": statistics.median(ratios), "rounds_s": walls[name],
                     "rounds_forward_passes": ratios, "first_call_s": first[name],
                     # On a shared host the fastest round is the least disturbed one (torch's threads above all).
                     "ratio_of_minimums": min(walls[name]) / min(units),
                     "setup_s": modes[name]["setup_s"]})
    ours_parts = {name: {"s": statistics.median(values), "rounds_s": values,
                         "forward_passes": statistics.median([v / u for v, u in zip(values, units)])}
                  for name, values in parts.items()}

    def paired(numerator, denominator):
        return statistics.median([a / b for a, b in zip(walls[numerator], walls[denominator])])

    has_bare = bare_name in modes
    peers = [name for name in modes if name.startswith(("tf-keras-vis", "tf-explain"))]
    speedups = {}
    if has_bare:
        speedups["ours / bare"] = paired(ours_name, bare_name)
        ours_parts["capture (gradient pass, to numpy)"]["over_bare"] = statistics.median(
            [c / b for c, b in zip(parts["capture (gradient pass, to numpy)"], walls[bare_name])])
    for peer in peers:
        speedups[f"{peer} / ours"] = paired(peer, ours_name)
        if has_bare:
            speedups[f"{peer} / bare"] = paired(peer, bare_name)

    checks = {}
    ours_maps = ours_result.heatmaps[:, 0]
    if has_bare:
        bare_maps, bare_classes = modes[bare_name]["result"]
        checks["ours vs bare (same definition): max |diff| / max"] = relative_difference(ours_maps, bare_maps)
        checks["ours vs bare: same predicted classes"] = bool(np.array_equal(classes, bare_classes))
        if peer_notes:
            checks.update(check_peers(model, batch, classes, args.layer, ours_maps, tkv,
                                      peer_notes.get("tf-keras-vis", {})))

    backend_module = sys.modules[{"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]]
    setting = {
        "machine": machine(), "load_average": os.getloadavg(),
        "python": sys.version.split()[0], "backend": f"{backend} {backend_module.__version__}",
        "keras": keras.__version__, "numpy": np.__version__,
        "model": "keras.applications.Xception(weights=None), 299x299, 1000 classes, softmax",
        "layer": args.layer, "images": count, "rounds": args.rounds,
        "predicted_classes": classes.tolist(),
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset"),
        "command": f"KERAS_BACKEND={os.environ['KERAS_BACKEND']} python benchmarks/bench_attribution.py "
                   + " ".join(sys.argv[1:] if argv is None else argv),
    }
    print(json.dumps(setting))
    print("\n| mode | s per call | s per image | forward passes of the batch (median of per-round ratios) "
          "| rounds (forward passes) | fastest round / fastest forward pass | first call s | set-up s |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['mode']} | {row['s_per_call']:.3f} | {row['s_per_image']:.4f} | {row['forward_passes']:.2f} "
              f"| {', '.join(f'{r:.2f}' for r in row['rounds_forward_passes'])} | {row['ratio_of_minimums']:.2f} "
              f"| {row['first_call_s']:.2f} "
              f"| {row['setup_s']:.3f} |")
    for error in errors:
        print(f"| {error} | | | | | | | |")
    print("\nspeed-ups (median of per-round ratios of seconds per call):")
    for name, value in speedups.items():
        print(f"  {name}: {value:.2f}x")
    if not speedups:
        print(f"  none on {backend}: the bare step and the peers run on TensorFlow only")
    if has_bare:
        ours_ok = speedups["ours / bare"] <= AIM_OURS_OVER_BARE
        print(f"  aim: ours within {AIM_OURS_OVER_BARE}x of the bare step: {'met' if ours_ok else 'NOT met'} "
              f"({speedups['ours / bare']:.2f}x)")
        peer_over_bare = [speedups[f"{peer} / bare"] for peer in peers]
        if peer_over_bare:
            fastest = min(peer_over_bare)
            print(f"  aim: bare step >= {AIM_PEER_OVER_BARE}x faster than the faster peer: "
                  f"{'met' if fastest >= AIM_PEER_OVER_BARE else 'NOT met'} ({fastest:.2f}x)")
    if checks:
        print("\nmaps:")
        for name, value in checks.items():
            print(f"  {name}: {value if isinstance(value, (bool, str)) else f'{value:.2e}'}")
    print(f"\ntb_featureviz call, by part (median of {args.rounds} rounds):")
    for name, part in ours_parts.items():
        extra = f", {part['over_bare']:.2f}x the bare step" if "over_bare" in part else ""
        print(f"  {name}: {part['s']:.4f} s, {part['forward_passes']:.3f} forward passes{extra}")
    if peer_notes:
        print("\npeers:", json.dumps(peer_notes))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"setting": setting, "rows": rows, "speedups": speedups, "checks": checks,
                       "ours_parts": ours_parts, "peers": peer_notes, "errors": errors}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
