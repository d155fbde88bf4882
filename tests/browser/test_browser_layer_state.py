"""The layer head's facts at the step viewed, in headless Chromium.

A two-phase fine-tuning run (``browser_fixtures.write_fine_tuning_logs``: a
base model frozen for the first ``fit``, then ``base.trainable = True`` with
its first conv kept frozen, a recompile and a second ``fit`` with the same
``FeatureVizCallback``) is served by a real ``tensorboard``. The head must
say what held at the step on the slider: frozen before the unfreezing event,
trainable after it, and that step's drift and dead fraction (exact texts,
from the values the plugin's scalars route serves, formatted as the panel's
``fmt`` and ``pct`` do), never the newest ones. The rule itself
(``frontend/layerstate.js``) is checked on its own in the panel's frame.
"""

import math
import os
from decimal import ROUND_HALF_UP, Decimal

import pytest
from playwright.sync_api import expect

from tests import browser_fixtures as bf
from tests.browser_fixtures import open_panel, wait_grid
from tests.eventfiles import tensors_by_tag

RUN = "featureviz"
SEP = "base/block2_sepconv1"   # frozen in phase 1, trainable from the event at step 4
KEPT = "base/block1_conv1"     # frozen in both phases
ACT = "base/block1_act"        # no weights: never named by an event
DRIFT = "drift/relative_change"
DEAD = "health/dead_fraction"


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    path = tmp_path_factory.mktemp("fine-tuning-logs")
    return {"logdir": str(path), **bf.write_fine_tuning_logs(str(path), run=RUN)}


@pytest.fixture(scope="module")
def logdir(logs):
    return logs["logdir"]


# The panel's number formats (frontend/dom.js), in Python: JavaScript rounds
# the exact binary value half up (toExponential, toPrecision, toFixed) and
# prints a number with its shortest round-trip digits.


def panel_fmt(value):
    """``fmt()`` of frontend/dom.js."""
    if value is None or math.isnan(value):
        return "—"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mag = Decimal(abs(value))
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        exponent = mag.adjusted()
        mantissa = mag.scaleb(-exponent).quantize(Decimal("0.01"), ROUND_HALF_UP)
        if mantissa >= 10:
            exponent += 1
            mantissa = mag.scaleb(-exponent).quantize(Decimal("0.01"), ROUND_HALF_UP)
        return f"{sign}{mantissa}e{exponent}"
    rounded = float(mag.quantize(Decimal(1).scaleb(mag.adjusted() - 3), ROUND_HALF_UP))
    text = repr(rounded)
    return sign + (text[:-2] if text.endswith(".0") else text)


def panel_pct(value):
    """``pct()`` of frontend/dom.js."""
    if value is None or math.isnan(value):
        return "—"
    return f"{Decimal(value * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


def test_number_formats_match_the_panel(page, tensorboard):
    frame = open_panel(page, tensorboard)
    values = [0.0, 3.41e-4, 0.000341, 0.0021, 0.123456, 1.0, 12.5, 99999.4, 123456.0, -2.5e-5,
              0.0625, 0.3333333333333333, 1 / 6, 5e-4, 0.9995]
    shown = frame.evaluate(
        """async (values) => {
          const dom = await import('./dom.js');
          return values.map((v) => [dom.fmt(v), dom.pct(v)]);
        }""", values)
    assert shown == [[panel_fmt(v), panel_pct(v)] for v in values]


def served_series(tensorboard, layer, tag):
    """``{step: value}`` of one scalar as the plugin serves it."""
    doc = tensorboard.get_json(f"/data/plugin/featureviz/scalars?run={RUN}")
    return {step: value for step, value in doc["layers"][layer][tag]}


def facts_line(layer_doc, *facts):
    """The head's facts line: class, shapes, then ``facts``."""
    parts = [layer_doc["class"]]
    parts.append("output " + "×".join(str(d) for d in layer_doc["output_shape"][1:]))
    parts += [f"{name} {'×'.join(map(str, shape))}" for name, shape in layer_doc["kernel_shapes"].items()]
    return " · ".join(parts + list(facts))


def reopen(page, tensorboard, hash_state):
    """Open the panel afresh (a new document, not a hash change) at ``hash_state``."""
    page.goto("about:blank")
    return open_panel(page, tensorboard, hash_state)


def show_step(frame, steps, step, layer, kind_label="Activations"):
    """Move the slider to ``step`` and wait for its grid."""
    frame.locator('[data-testid="step-slider"]').fill(str(steps.index(step)))
    wait_grid(frame, layer, kind_label, step)


def test_head_says_frozen_and_drift_at_the_step_viewed(page, tensorboard, logs):
    doc = tensorboard.get_json(f"/data/plugin/featureviz/layers?run={RUN}")
    # What the rule reads: the structure's flags (first step) and the event of the unfreezing.
    assert doc["events"] == [{"step": 4, "type": "trainable", "trainable": ["base", SEP], "frozen": []}]
    layers = {layer["name"]: layer for layer in doc["layers"]}
    assert layers[SEP]["trainable"] is False and layers["base"]["trainable"] is False
    steps = layers[SEP]["kinds"]["activations"]["steps"]
    assert steps == [0, 2, 4, 6, 8]

    drift = served_series(tensorboard, SEP, DRIFT)
    dead = served_series(tensorboard, SEP, DEAD)
    # The served values are the ones in the event files.
    written = tensors_by_tag(logs["run_dir"])
    assert drift == {step: float(v) for step, v in written[f"featureviz/{SEP}/{DRIFT}"]}
    assert dead == {step: float(v) for step, v in written[f"featureviz/{SEP}/{DEAD}"]}
    assert sorted(drift) == steps == sorted(dead)
    # Frozen in phase 1: no drift; trained in phase 2: it grows, so each step's text differs.
    assert drift[0] == drift[2] == drift[4] == 0.0
    assert 0 < drift[6] < drift[8] and panel_fmt(drift[6]) != panel_fmt(drift[8])

    frame = open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer={SEP}&fv-kind=activations&fv-step=0")
    wait_grid(frame, SEP, "Activations", 0)
    facts = frame.locator('[data-testid="layer-facts"]')
    trainable = frame.locator('[data-testid="fact-trainable"]')
    shown_drift = frame.locator('[data-testid="fact-drift"]')
    shown_dead = frame.locator('[data-testid="fact-dead"]')
    expect(facts).to_have_text(facts_line(layers[SEP], "frozen", "drift 0", f"dead {panel_pct(dead[0])}"))
    expect(trainable).to_have_text("frozen")

    expected = {
        2: "frozen",
        4: "trainable since step 4",   # the event at step 4: base unfrozen
        6: "trainable since step 4",   # an intermediate step: its own drift, not the newest
        8: "trainable since step 4",
    }
    for step, state in expected.items():
        show_step(frame, steps, step, SEP)
        expect(facts).to_have_text(facts_line(
            layers[SEP], state, f"drift {panel_fmt(drift[step])}", f"dead {panel_pct(dead[step])}"))
        expect(trainable).to_have_text(state)
        expect(shown_drift).to_have_text(f"drift {panel_fmt(drift[step])}")
        expect(shown_dead).to_have_text(f"dead {panel_pct(dead[step])}")

    # Back to the first step: frozen again (the head follows the slider both ways).
    show_step(frame, steps, 0, SEP)
    expect(trainable).to_have_text("frozen")
    expect(shown_drift).to_have_text("drift 0")
    page.screenshot(path=os.path.join(bf.artifacts_dir(), "layer-state.png"))


def test_kept_frozen_and_weightless_layers(page, tensorboard):
    doc = tensorboard.get_json(f"/data/plugin/featureviz/layers?run={RUN}")
    layers = {layer["name"]: layer for layer in doc["layers"]}
    steps = layers[KEPT]["kinds"]["activations"]["steps"]
    drift = served_series(tensorboard, KEPT, DRIFT)
    dead = served_series(tensorboard, KEPT, DEAD)

    # base/block1_conv1 was set back to frozen when the base was unfrozen: no
    # event names it, it holds weights, so it stayed frozen; its drift stays 0.
    frame = open_panel(page, tensorboard, f"&fv-run={RUN}&fv-layer={KEPT}&fv-kind=activations")
    wait_grid(frame, KEPT, "Activations", steps[-1])
    expect(frame.locator('[data-testid="layer-facts"]')).to_have_text(facts_line(
        layers[KEPT], "frozen", "drift 0", f"dead {panel_pct(dead[steps[-1]])}"))
    assert drift[steps[-1]] == 0.0

    # The base model itself: frozen at step 0, trainable from step 4.
    assert layers["base"]["kinds"] == {}
    base = reopen(page, tensorboard, f"&fv-run={RUN}&fv-layer=base&fv-step=0")
    expect(base.locator(".fv-layer-title")).to_have_text("base")
    expect(base.locator('[data-testid="fact-trainable"]')).to_have_text("frozen")
    base = reopen(page, tensorboard, f"&fv-run={RUN}&fv-layer=base&fv-step=8")
    expect(base.locator(".fv-layer-title")).to_have_text("base")
    expect(base.locator('[data-testid="fact-trainable"]')).to_have_text("trainable since step 4")

    # A layer without weights: frozen with its model at step 0; after the
    # unfreezing the logs cannot tell (Keras passed the flag down, but no
    # event lists a layer without weights), so the head claims nothing.
    assert layers[ACT]["kinds"] == {} and layers[ACT]["kernel_shapes"] == {}
    act = reopen(page, tensorboard, f"&fv-run={RUN}&fv-layer={ACT}&fv-step=0")
    expect(act.locator(".fv-layer-title")).to_have_text(ACT)
    expect(act.locator('[data-testid="fact-trainable"]')).to_have_text("frozen")
    act = reopen(page, tensorboard, f"&fv-run={RUN}&fv-layer={ACT}&fv-step=8")
    expect(act.locator(".fv-layer-title")).to_have_text(ACT)
    expect(act.locator('[data-testid="layer-facts"]')).to_have_text(facts_line(layers[ACT]))
    expect(act.locator('[data-testid="fact-trainable"]')).to_have_count(0)


def test_layer_state_rule(page, tensorboard):
    """frontend/layerstate.js and the head's text, imported as served, in the plugin's frame."""
    frame = open_panel(page, tensorboard)
    result = frame.evaluate(
        """async () => {
          const ls = await import('./layerstate.js');
          const lh = await import('./layerhead.js');
          const k = {kernel: [3, 3, 4, 4]};
          const layers = [
            {name: 'stem', path: [], trainable: true, kernel_shapes: k},
            {name: 'base', path: [], trainable: false, kernel_shapes: {}, is_model: true},
            {name: 'base/conv', class: 'Conv2D', path: ['base'], trainable: false, kernel_shapes: k,
             output_shape: [null, 8, 8, 4]},
            {name: 'base/kept', path: ['base'], trainable: false, kernel_shapes: k},
            {name: 'base/bn', path: ['base'], trainable: false, kernel_shapes: {}},
            {name: 'base/act', path: ['base'], trainable: false, kernel_shapes: {}},
            {name: 'base/inner', path: ['base'], trainable: false, kernel_shapes: {}, is_model: true},
            {name: 'base/inner/conv', path: ['base', 'inner'], trainable: false, kernel_shapes: k},
          ];
          const all = ['base', 'base/conv', 'base/kept', 'base/inner', 'base/inner/conv'];
          // Out of step order on purpose, with entries a hostile log may hold.
          const events = [
            {step: 16, type: 'trainable', trainable: [...all, 'base/bn'], frozen: []},
            {step: 12, type: 'trainable', trainable: [], frozen: all},
            {step: 4, type: 'trainable', trainable: ['base', 'base/conv', 'base/inner',
                                                     'base/inner/conv'], frozen: []},
            {step: 8, type: 'trainable', trainable: ['base/kept'], frozen: []},
            {step: 2, type: 'other', frozen: ['base/conv']},
            {type: 'trainable', trainable: ['base/kept']},
            {step: 3, type: 'trainable', trainable: 'base/kept', frozen: [7, null, 'stem']},
            null,
          ];
          const by = Object.fromEntries(layers.map((l) => [l.name, l]));
          const at = (name, step) => ls.trainableAt(by[name] || {name, path: [], trainable: null},
                                                    layers, events, step);
          const series = [[0, 0], [4, 0.5], [8, null], [12, 0.25]];
          const run = {layers, events, scalars: {layers: {'base/conv': {
            'drift/relative_change': [[0, 0], [4, 0.000341], [8, 0.0021]],
            'health/dead_fraction': [[0, 0.25], [8, 0.5]]}}}};
          return {
            trainable: [
              at('base/conv', 0), at('base/conv', 4), at('base/conv', 7), at('base/conv', null),
              at('base/kept', 4), at('base/kept', 8), at('base/kept', 12),
              at('base/bn', 4), at('base/bn', 16),
              at('base/act', 0), at('base/act', 4), at('base/act', 12),
              at('base/inner/conv', 4), at('base/inner/conv', 12),
              at('stem', 0), at('stem', 3), at('stem', null), at('extra', 4),
            ],
            enclosing: ls.enclosingModels(by['base/inner/conv']),
            values: [ls.valueAt(series, 2), ls.valueAt(series, 4), ls.valueAt(series, 9),
                     ls.valueAt(series, -1), ls.valueAt(series, null),
                     ls.valueAt([[8, 1], [0, 2]], 5), ls.valueAt(undefined, 3)],
            facts: [6, 8, 0, -1, 12, null].map((step) => lh.layerFacts(by['base/conv'], run, step)),
            noScalars: lh.layerFacts(by['base/conv'], {...run, scalars: null}, 4),
          };
        }"""
    )
    state = lambda trainable, since: {"trainable": trainable, "since": since}  # noqa: E731
    assert result["trainable"] == [
        state(False, None), state(True, 4), state(True, 4), state(True, 16),
        # kept frozen when its model was unfrozen: it has kernels, no event names it
        state(False, None), state(True, 8), state(False, 12),
        # no kernels but named at step 16: it holds weights, so it kept its state at step 4
        state(False, None), state(True, 16),
        # no weights as far as the logs tell: unknown once its model's state changed, frozen with it
        state(False, None), state(None, None), state(False, 12),
        state(True, 4), state(False, 12),
        state(True, None), state(False, 3), state(False, 3), state(None, None),
    ]
    assert result["enclosing"] == ["base", "base/inner"]
    assert result["values"] == [{"step": 0, "value": 0}, {"step": 4, "value": 0.5},
                                {"step": 8, "value": None}, None, {"step": 12, "value": 0.25},
                                {"step": 0, "value": 2}, None]
    head = "Conv2D · output 8×8×4 · kernel 3×3×4×4"
    assert result["facts"] == [
        f"{head} · trainable since step 4 · drift 3.41e-4 (step 4) · dead 25.0% (step 0)",
        f"{head} · trainable since step 4 · drift 0.0021 · dead 50.0%",
        f"{head} · frozen · drift 0 · dead 25.0%",
        f"{head} · frozen",
        f"{head} · frozen since step 12 · drift 0.0021 (step 8) · dead 50.0% (step 8)",
        f"{head} · trainable since step 16 · drift 0.0021 · dead 50.0%",
    ]
    assert result["noScalars"] == f"{head} · trainable since step 4"
