// View: the head of the grid view: the selected layer's name and facts
// (class, shapes, drift, dead channels) and the tabs of the kinds logged
// for it. The server lists a layer's kinds in display order (the `layers`
// route); the panel only knows their display names.

import {el, fmt, pct, replace} from './dom.js';
import {shapeText} from './layerlist.js';
import {DEAD, DRIFT} from './charts.js';

/**
 * @typedef {import('./api.js').LayerInfo} LayerInfo
 * @typedef {import('./api.js').ScalarsDoc} ScalarsDoc
 */

/** Display names of the kinds the writer knows; any other kind shows its own name. */
const KIND_LABELS = new Map([
  ['activations', 'Activations'],
  ['features', 'Features'],
  ['filters', 'Filters'],
  ['filter_change', 'Filter change'],
  ['filters_mosaic', 'Filter mosaic'],
  ['pointwise', 'Pointwise'],
]);

/**
 * The display name of a kind.
 *
 * @param {string} kind
 * @returns {string}
 */
export function kindLabel(kind) {
  return KIND_LABELS.get(kind) || kind;
}

/**
 * The facts of a layer in one line: "Conv2D · output 149×149×32 · kernel
 * 3×3×3×32 · drift 0.12 · dead 3.1%".
 *
 * @param {LayerInfo} layer
 * @param {?ScalarsDoc} scalars   the run's drift and health, when loaded
 * @returns {string}
 */
export function layerFacts(layer, scalars) {
  const parts = [layer.class || 'unknown class'];
  const shape = shapeText(layer.output_shape);
  if (shape) parts.push(`output ${shape}`);
  for (const [name, kshape] of Object.entries(layer.kernel_shapes || {})) {
    parts.push(`${name} ${(kshape || []).join('×')}`);
  }
  if (layer.trainable === false) parts.push('frozen');
  const series = scalars && scalars.layers ? scalars.layers[layer.name] : null;
  if (series) {
    const drift = series[DRIFT];
    const dead = series[DEAD];
    if (drift && drift.length) parts.push(`drift ${fmt(drift[drift.length - 1][1])}`);
    if (dead && dead.length) parts.push(`dead ${pct(dead[dead.length - 1][1])}`);
  }
  return parts.join(' · ');
}

/** The layer's name, facts and kind tabs. */
export class LayerHead {
  /** @param {{onKind: function(string): void}} options  a kind tab was clicked */
  constructor({onKind}) {
    this.onKind = onKind;
    this.title = el('h2', {className: 'fv-layer-title'});
    this.facts = el('div', {className: 'fv-muted'});
    this.tabs = el('div', {className: 'fv-tabs', attrs: {role: 'tablist', 'aria-label': 'Kind'}});
    this.element = el('div', {className: 'fv-layer-head'},
        el('div', {}, this.title, this.facts), this.tabs);
  }

  /**
   * @param {?LayerInfo} layer     null: nothing selected
   * @param {?ScalarsDoc} scalars
   */
  setLayer(layer, scalars) {
    this.title.textContent = layer ? layer.name : '';
    this.facts.textContent = layer ? layerFacts(layer, scalars) : '';
  }

  /**
   * One tab per kind, in the order given.
   *
   * @param {string[]} kinds
   * @param {?string} selected
   */
  setKinds(kinds, selected) {
    replace(this.tabs, ...kinds.map((kind) => el('button', {
      className: 'fv-tab',
      text: kindLabel(kind),
      testid: 'kind-tab',
      attrs: {type: 'button', role: 'tab', 'aria-selected': String(kind === selected),
        'data-kind': kind},
      on: {click: () => this.onKind(kind)},
    })));
  }
}
