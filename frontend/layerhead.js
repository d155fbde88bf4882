// View: the head of the grid view: the selected layer's name and facts
// (class, shapes, and at the step viewed: trainable or frozen, drift, dead
// channels; layerstate.js has the rule) and the tabs of the kinds logged
// for it. The server lists a layer's kinds in display order and names them
// (the `layers` route's `kind_labels`, read through the model): the panel
// keeps no kind names of its own.

import {el, fmt, pct, replace} from './dom.js';
import {shapeText} from './layerlist.js';
import {layerStateAt} from './layerstate.js';

/**
 * @typedef {import('./api.js').LayerInfo} LayerInfo
 * @typedef {import('./api.js').ScalarsDoc} ScalarsDoc
 * @typedef {import('./layerstate.js').RunEvent} RunEvent
 */

/**
 * What a layer's facts at a step are read from: the selected run's layers
 * and events (the layers route) and its drift and health (the scalars
 * route, null until loaded).
 *
 * @typedef {Object} RunFacts
 * @property {LayerInfo[]} layers
 * @property {RunEvent[]} events
 * @property {?ScalarsDoc} scalars
 */

/**
 * One fact of the layer head: `fact` names it (`class`, `output`, `kernel`,
 * `trainable`, `drift`, `dead`), `text` is what is shown.
 *
 * @typedef {{fact: string, text: string}} Fact
 */

/**
 * The facts of a layer at the step viewed: "Conv2D · output 149×149×32 ·
 * kernel 3×3×3×32 · frozen · drift 0.12 · dead 3.1%". Trainable state,
 * drift and dead fraction are those of `step` (layerstate.js has the rule):
 * "frozen" or "frozen since step 12", "trainable since step 4" once an event
 * made it so (a layer trainable from the start says nothing), and a scalar
 * logged before the step viewed names its step: "drift 3.4e-4 (step 4)".
 *
 * @param {LayerInfo} layer
 * @param {RunFacts} run   the run's layers, events and scalars
 * @param {?number} step   the step viewed; null: the newest
 * @returns {Fact[]}
 */
export function layerFactList(layer, run, step) {
  /** @type {Fact[]} */
  const facts = [{fact: 'class', text: layer.class || 'unknown class'}];
  const shape = shapeText(layer.output_shape);
  if (shape) facts.push({fact: 'output', text: `output ${shape}`});
  for (const [name, kshape] of Object.entries(layer.kernel_shapes || {})) {
    facts.push({fact: 'kernel', text: `${name} ${(kshape || []).join('×')}`});
  }
  const state = layerStateAt(layer, run, step);
  const {trainable, since} = state.trainable;
  const from = since == null ? '' : ` since step ${since}`;
  if (trainable === false) facts.push({fact: 'trainable', text: `frozen${from}`});
  if (trainable === true && since != null) facts.push({fact: 'trainable', text: `trainable${from}`});
  /** @param {?import('./layerstate.js').ScalarAt} at */
  const stepNote = (at) => (at && step != null && at.step !== step ? ` (step ${at.step})` : '');
  if (state.drift) facts.push({fact: 'drift', text: `drift ${fmt(state.drift.value)}${stepNote(state.drift)}`});
  if (state.dead) facts.push({fact: 'dead', text: `dead ${pct(state.dead.value)}${stepNote(state.dead)}`});
  return facts;
}

/**
 * The facts of a layer at the step viewed, in one line (layerFactList).
 *
 * @param {LayerInfo} layer
 * @param {RunFacts} run
 * @param {?number} step
 * @returns {string}
 */
export function layerFacts(layer, run, step) {
  return layerFactList(layer, run, step).map((f) => f.text).join(' · ');
}

/** The layer's name, facts and kind tabs. */
export class LayerHead {
  /** @param {{onKind: function(string): void}} options  a kind tab was clicked */
  constructor({onKind}) {
    this.onKind = onKind;
    this.title = el('h2', {className: 'fv-layer-title'});
    this.facts = el('div', {className: 'fv-muted', testid: 'layer-facts'});
    this.tabs = el('div', {className: 'fv-tabs', attrs: {role: 'tablist', 'aria-label': 'Kind'}});
    this.element = el('div', {className: 'fv-layer-head'},
        el('div', {}, this.title, this.facts), this.tabs);
  }

  /**
   * Show `layer` with its facts at `step`; call again when the step viewed,
   * the run's scalars or the layer change.
   *
   * @param {?LayerInfo} layer     null: nothing selected
   * @param {RunFacts} run
   * @param {?number} step         the step viewed; null: the newest
   */
  setLayer(layer, run, step) {
    this.title.textContent = layer ? layer.name : '';
    if (!layer) {
      replace(this.facts);
      return;
    }
    const facts = layerFactList(layer, run, step);
    replace(this.facts, ...facts.flatMap(({fact, text}, i) => [i ? ' · ' : null,
      el('span', {text, testid: `fact-${fact}`, attrs: {'data-fact': fact}})]));
  }

  /**
   * One tab per kind, in the order given, titled with its display name.
   *
   * @param {Array<{kind: string, label: string}>} tabs
   * @param {?string} selected
   */
  setKinds(tabs, selected) {
    replace(this.tabs, ...tabs.map(({kind, label}) => el('button', {
      className: 'fv-tab',
      text: label,
      testid: 'kind-tab',
      attrs: {type: 'button', role: 'tab', 'aria-selected': String(kind === selected),
        'data-kind': kind},
      on: {click: () => this.onKind(kind)},
    })));
  }
}
