"""Feature visualization on trained networks: which channels light up, and what the start image does.

The networks of ``tests/trained_cnn.py``, trained here in seconds on
stripes and discs, with 16 channels of one layer made to be off everywhere
on flat grey and on for some training picture (the case a trained VGG16
presents): ``conv3`` (``Conv2D(..., activation="relu")``), ``sep2``
(``SeparableConv2D`` with one), ``relu3`` (a separate ``Activation("relu")``
after BatchNormalization), and ``conv3`` of the same fused network untrained
(numpy-drawn kernels, nothing switched off).

For each network it runs, on the same 16 channels, 32-pixel images and
``--steps`` steps:

* ``output only``: the layer's output optimised directly (what the
  visualizer did for a fused activation before it reached the
  pre-activation);
* ``mean``, ``max``, ``soft max``: the pre-activation reached, a blocked
  sample's gradient taken from the mean over positions, the strongest
  position, or the soft maximum the visualizer uses
  (:func:`tb_featureviz.featurevis.target.soft_strongest`);
* ``start sd 0`` / ``0.1``: the soft maximum from a flat grey start (a
  spectrum of zeros) or a spectrum ten times Lucid's (standard deviation
  0.01 is the default).

Figures per mode: channels that stay at 0 (flat), the smallest and median
ratio to noise (capped at 1000, see ``quality_figures``), and the smallest
and median objective as a fraction of the best training picture's.

Run from the repository root (any backend)::

    python benchmarks/bench_feature_vis_trained.py
    KERAS_BACKEND=torch .venv-torch/bin/python benchmarks/bench_feature_vis_trained.py --steps 128
"""

import argparse
import contextlib
import os
import platform
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import keras  # noqa: E402

from tb_featureviz.featurevis import visualizer as featurevis, target as featurevis_target  # noqa: E402
from tb_featureviz.featurevis import objectives, parametrization  # noqa: E402
from tests import trained_cnn  # noqa: E402

SIZE = trained_cnn.SIZE


def _mean(activations, objective, vectors):
    return objectives.objective_values(activations, objective, vectors, ops=keras.ops)


def _max(activations, objective, vectors):
    positions = keras.ops.sum(keras.ops.multiply(activations, keras.ops.reshape(vectors, (-1, 1, 1, vectors.shape[-1]))),
                              axis=-1)
    return keras.ops.max(positions, axis=(1, 2))


@contextlib.contextmanager
def patched(module, name, value):
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


MODES = {
    "output only": lambda: patched(featurevis_target, "redirect_for", lambda info, owner: None),
    "mean": lambda: patched(featurevis_target, "soft_strongest", _mean),
    "max": lambda: patched(featurevis_target, "soft_strongest", _max),
    "soft max (default)": contextlib.nullcontext,
    "soft max, start sd 0": lambda: patched(parametrization, "SPECTRUM_SD", 0.0),
    "soft max, start sd 0.1": lambda: patched(parametrization, "SPECTRUM_SD", 0.1),
}


def networks():
    """``(label, model, layer, channels)`` for each network measured."""
    for form, label in (("fused", "conv3, Conv2D(relu), trained"), ("fused_separable", "sep2, SeparableConv2D(relu), trained"),
                        ("separate", "relu3, BN + Activation(relu), trained")):
        model, layer, channels = trained_cnn.trained(form)
        yield label, model, layer, channels
    keras.utils.set_random_seed(0)
    yield "conv3, Conv2D(relu), untrained", trained_cnn.fused_cnn(), "conv3", list(range(16))


def measure(model, layer, channels, steps):
    probe = keras.Model(model.inputs[0], model.get_layer(layer).output)
    pictures = keras.ops.convert_to_numpy(probe(trained_cnn.patterns(256, SIZE, 5)[0]))
    best = pictures.mean(axis=(1, 2)).max(axis=0)[channels]
    rows = []
    for mode, context in MODES.items():
        with context():
            result = featurevis.visualize_features(model, layer, channels, steps=steps, size=SIZE,
                                                   input_range=(0.0, 1.0))
        quality = result.quality()
        ratio, objective = np.array(quality["ratio"]), np.array(quality["objective"])
        share = objective / np.maximum(best, 1e-12)
        rows.append((mode, int((objective <= 0).sum()), ratio.min(), np.median(ratio), share.min(), np.median(share)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=256, help="optimisation steps (default 256)")
    args = parser.parse_args(argv)
    print(f"backend {keras.backend.backend()}, keras {keras.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs; 16 channels, {SIZE} px, {args.steps} steps")
    for label, model, layer, channels in networks():
        print(f"\n{label}")
        print("| mode | channels left at 0 | ratio to noise: min | median | objective / best picture: min | median |")
        print("|---|---|---|---|---|---|")
        for mode, off, rmin, rmed, smin, smed in measure(model, layer, channels, args.steps):
            print(f"| {mode} | {off} of 16 | {rmin:.1f} | {rmed:.1f} | {smin:.2f} | {smed:.2f} |")


if __name__ == "__main__":
    main()
