"""Latency of the featureviz plugin's routes on an Xception-sized run.

Writes (once; reused when ``--logdir`` already holds it) a run of 134
Xception-like layers logged at 50 steps: the structure, an ``activations``
grid of every layer and ``filters`` of every conv layer, with records of
the real size (every channel's ``lo``/``hi``/stats, up to 2048 channels),
then serves it through the TensorBoard WSGI app, built as ``tensorboard``
builds it, with each loader, and prints median latencies:

* ``layers`` cold (first call: newest record and blob keys of every grid read) and warm;
* ``grid`` cold (record not yet in the plugin's cache) and warm;
* ``image`` (the PNG of a grid).

Requests go through ``werkzeug.test.Client`` in this process, so the figures
are the plugin's and TensorBoard's handling, without sockets.

The log takes about 1.7 GiB (50 steps of full-size records and PNGs); pass
``--logdir`` to keep it and reuse it on the next run.

Usage:
    python benchmarks/bench_plugin.py                      # both loaders
    python benchmarks/bench_plugin.py --load_fast false --samples_per_plugin images=0,featureviz=0
"""

import argparse
import gzip
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, ".."))

RUN = "xception"

# (block, output side, channels, layer pattern) of an Xception-like model;
# each pattern letter is one layer: C Conv2D, S SeparableConv2D, B
# BatchNormalization, A Activation, P MaxPooling2D, D Add.
_BLOCKS = [
    ("block1", 149, 32, "CBA"), ("block1b", 147, 64, "CBA"),
    ("block2", 147, 128, "SBASBCBPD"), ("block3", 74, 256, "ASBASBCBPD"),
    ("block4", 37, 728, "ASBASBCBPD"),
] + [(f"block{i}", 19, 728, "ASBASBASBD") for i in range(5, 13)] + [
    ("block13", 19, 1024, "ASBASBCBPD"), ("block14", 10, 1536, "SBA"), ("block14b", 10, 2048, "SBA"),
]
_CLASSES = {"C": "Conv2D", "S": "SeparableConv2D", "B": "BatchNormalization", "A": "Activation",
            "P": "MaxPooling2D", "D": "Add"}


def xception_layers(count=134):
    """``count`` layer descriptions ``(name, class, side, channels)`` in model order."""
    layers = []
    for block, side, channels, pattern in _BLOCKS:
        for i, letter in enumerate(pattern):
            layers.append((f"xception/{block}_{letter.lower()}{i}", _CLASSES[letter], side, channels))
    while len(layers) < count:
        layers.append((f"xception/extra{len(layers)}", "Activation", 10, 2048))
    return layers[:count]


def _grid_and_record(layer, cls, kind, tiles, source_shape, symmetric):
    from plugin_fixtures import make_record

    return make_record(layer, cls, kind, 0, 0, [tiles], source_shape=source_shape,
                       channels=range(tiles.shape[0]), total_channels=tiles.shape[0],
                       symmetric=symmetric)


def write_run(logdir, num_layers, steps, tile_cap):
    """Write the benchmark run; returns the expected provider listing."""
    from tb_featureviz import names
    from tb_featureviz.writing import summary_writer
    from plugin_fixtures import structure_layer

    rng = np.random.default_rng(0)
    layers = xception_layers(num_layers)
    writer = summary_writer.SummaryWriter(os.path.join(logdir, RUN))
    structure = {"version": 1, "model": "functional", "layers": [
        structure_layer(i, name, cls, [None, side, side, ch],
                        {"kernel": [3, 3, 3, ch]} if cls in ("Conv2D", "SeparableConv2D") else {})
        for i, (name, cls, side, ch) in enumerate(layers)
    ]}
    # One drawing per grid, reused at every step (only step and sequence
    # change): the point is the plugin's reading, not the drawing.
    grids = []
    for name, cls, side, channels in layers:
        h = min(side, tile_cap)
        y, x = np.mgrid[0:h, 0:h] / h
        smooth = np.sin(6 * x[None] + rng.normal(size=(channels, 1, 1))) * np.cos(4 * y[None])
        tiles = (smooth + 0.1 * rng.normal(size=(channels, h, h))).astype(np.float32)
        grids.append((name, cls, "activations", _grid_and_record(
            name, cls, "activations", tiles, [1, side, side, channels], False)))
        if cls in ("Conv2D", "SeparableConv2D"):
            kernel = rng.normal(size=(channels, 3, 3)).astype(np.float32)
            grids.append((name, cls, "filters", _grid_and_record(
                name, cls, "filters", kernel, [3, 3, 3, channels], True)))
    expected = {}
    for sequence, step in enumerate(range(0, steps * 10, 10)):
        if sequence == 0:
            writer.write_structure(structure, step)
            expected[("featureviz", RUN, names.STRUCTURE_TAG)] = step
        for name, cls, kind, (pngs, width, height, record) in grids:
            writer.write_grid(name, kind, step, pngs, width, height,
                              {**record, "step": step, "sequence": sequence})
            expected[("images", RUN, names.image_tag(name, kind))] = step
            expected[("featureviz", RUN, names.record_tag(name, kind))] = step
    writer.close()
    return expected, grids


def median_ms(samples):
    return statistics.median(samples) * 1000


def timed(client, url):
    start = time.perf_counter()
    reply = client.get(url, headers={"Accept-Encoding": "gzip"})
    elapsed = time.perf_counter() - start
    if reply.status_code != 200:
        raise RuntimeError(f"GET {url} answered {reply.status_code}: {reply.get_data()[:300]!r}")
    return elapsed, reply


def bench(logdir, expected, load_fast, samples_per_plugin, repeat):
    from urllib.parse import quote

    from werkzeug import test, wrappers

    from plugin_fixtures import PREFIX, tensorboard_app

    t0 = time.perf_counter()
    with tensorboard_app(logdir, expected, load_fast, samples_per_plugin, timeout=600) as (app, _, _):
        load_s = time.perf_counter() - t0
        client = test.Client(app, wrappers.Response)
        cold, reply = timed(client, f"{PREFIX}layers?run={RUN}")
        size = len(reply.get_data())
        text = gzip.decompress(reply.get_data())
        layers = json.loads(text)
        warm = [timed(client, f"{PREFIX}layers?run={RUN}")[0] for _ in range(repeat)]
        pairs = [(l["name"], kind, step) for l in layers["layers"]
                 for kind, info in l["kinds"].items() for step in info["steps"]]
        picks = random.Random(0).sample(pairs, min(repeat, len(pairs)))
        urls = [f"{PREFIX}grid?run={RUN}&layer={quote(n, safe='')}&kind={k}&step={s}" for n, k, s in picks]
        grid_cold, grid_bytes = [], []
        for u in urls:
            elapsed, reply = timed(client, u)
            grid_cold.append(elapsed)
            grid_bytes.append(len(gzip.decompress(reply.get_data())))
        grid_warm = [timed(client, u)[0] for u in urls]
        images = [f"{PREFIX}image?run={RUN}&layer={quote(n, safe='')}&kind={k}&step={s}&sample=0"
                  for n, k, s in picks]
        image_times, image_bytes = [], []
        for u in images:
            elapsed, reply = timed(client, u)
            image_times.append(elapsed)
            image_bytes.append(len(reply.get_data()))
    loader = "true" if load_fast else "false"
    print(f"--load_fast={loader} --samples_per_plugin={samples_per_plugin or '(default)'}: "
          f"{len(layers['layers'])} layers, {len(pairs)} kept grids, data loaded in {load_s:.1f} s")
    print(f"  layers  cold {cold * 1000:8.1f} ms   warm median {median_ms(warm):6.1f} ms"
          f"   ({len(text) / 1024:.0f} KiB JSON, {size / 1024:.0f} KiB gzip)")
    print(f"  grid    cold median {median_ms(grid_cold):6.1f} ms   warm median {median_ms(grid_warm):6.1f} ms"
          f"   ({len(urls)} grids, median reply {statistics.median(grid_bytes) / 1024:.0f} KiB JSON)")
    print(f"  image   median {median_ms(image_times):6.1f} ms   (median PNG {statistics.median(image_bytes) / 1024:.0f} KiB)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logdir", help="reuse or create this log directory (default: a temporary one)")
    parser.add_argument("--layers", type=int, default=134)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--tile_cap", type=int, default=24,
                        help="largest tile side drawn, to keep the log small (default 24)")
    parser.add_argument("--load_fast", choices=["true", "false", "both"], default="both")
    parser.add_argument("--samples_per_plugin", default="")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    logdir = args.logdir or tempfile.mkdtemp(prefix="bench_featureviz_")
    marker = os.path.join(logdir, "expected.json")
    if os.path.exists(marker):
        with open(marker) as f:
            expected = {tuple(k): v for k, v in json.load(f)}
    else:
        t0 = time.perf_counter()
        expected, grids = write_run(logdir, args.layers, args.steps, args.tile_cap)
        size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(logdir) for f in fs)
        print(f"wrote {len(grids)} grids x {args.steps} steps ({size / 2**20:.0f} MiB) to {logdir} "
              f"in {time.perf_counter() - t0:.0f} s")
        with open(marker, "w") as f:
            json.dump([[list(k), v] for k, v in expected.items()], f)
    try:
        for load_fast in {"true": [True], "false": [False], "both": [False, True]}[args.load_fast]:
            bench(logdir, expected, load_fast, args.samples_per_plugin, args.repeat)
    finally:
        if not args.logdir:  # the log is about 1.7 GiB: keep it only when asked to
            shutil.rmtree(logdir, ignore_errors=True)


if __name__ == "__main__":
    main()
