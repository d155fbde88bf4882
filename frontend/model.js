// The panel's model: what the user chose (the view state, kept in the URL
// hash by state.js) and what the server said about the selected run, with
// the rules that reconcile the two: a run that vanished, a layer without
// the chosen kind, a step that was not kept. No DOM, no fetching.

import {routeUrl} from './api.js';
import {EXAMPLES} from './examples.js';
import {nearestStep} from './steps.js';
import {readState, writeState} from './state.js';

/**
 * @typedef {import('./api.js').LayersDoc} LayersDoc
 * @typedef {import('./api.js').LayerInfo} LayerInfo
 * @typedef {import('./api.js').KindInfo} KindInfo
 * @typedef {import('./api.js').ScalarsDoc} ScalarsDoc
 * @typedef {import('./state.js').ViewState} ViewState
 */

/**
 * The label `labels` gives `kind`, or null. Kinds are data from logs: only
 * the reply's own string entries count (never "constructor" and the like).
 *
 * @param {?Object<string, string>|undefined} labels
 * @param {string} kind
 * @returns {?string}
 */
function servedLabel(labels, kind) {
  if (!labels || typeof labels !== 'object' || !Object.prototype.hasOwnProperty.call(labels, kind)) {
    return null;
  }
  const label = labels[kind];
  return typeof label === 'string' ? label : null;
}

/** The view state and the selected run's documents. */
export class PanelModel {
  constructor() {
    /** @type {ViewState} */
    this.state = readState();
    /** @type {string[]} runs with feature-map data */
    this.runs = [];
    /** @type {?LayersDoc} the selected run's layers */
    this.doc = null;
    /** @type {?ScalarsDoc} the selected run's drift and health */
    this.scalars = null;
  }

  /** Save the view state in the URL hash (the iframe's and TensorBoard's). */
  commit() {
    writeState(this.state);
  }

  /**
   * Take the run list; keep the chosen run if it is still there (else the
   * first) and the compared run if it is another one still there.
   *
   * @param {string[]} runs   at least one
   */
  setRuns(runs) {
    this.runs = runs;
    const state = this.state;
    if (!state.run || !runs.includes(state.run)) state.run = runs[0];
    if (state.compare && (!runs.includes(state.compare) || state.compare === state.run)) {
      delete state.compare;
    }
  }

  /**
   * Take the selected run's layers; when the chosen layer is not among
   * them, choose the first layer with data (else the first layer).
   *
   * @param {LayersDoc} doc   with at least one layer
   */
  setDoc(doc) {
    this.doc = doc;
    if (this.layer()) return;
    const first = doc.layers.find((l) => Object.keys(l.kinds || {}).length) || doc.layers[0];
    this.state.layer = first.name;
    this.closeChannel();
  }

  /** @param {string} name */
  setLayer(name) {
    this.state.layer = name;
    this.closeChannel();
  }

  closeChannel() {
    delete this.state.channel;
    delete this.state.input;
    delete this.state.example;
  }

  /** @param {?number} slot  the open channel's dataset example (null: none) */
  setExample(slot) {
    if (slot == null || slot < 0) delete this.state.example;
    else this.state.example = slot;
  }

  /**
   * The display name of a kind: the server's (`kind_labels` of the layers
   * route). A kind it does not name (one a newer writer logged) shows its
   * own name. The one place the panel turns a kind into words.
   *
   * @param {string} kind
   * @returns {string}
   */
  kindLabel(kind) {
    return servedLabel(this.doc && this.doc.kind_labels, kind) ?? kind;
  }

  /**
   * What one tile of a kind is called, where a tile shows one channel: the
   * server's (`tile_labels`); else the kind's display name.
   *
   * @param {string} kind
   * @returns {string}
   */
  tileLabel(kind) {
    return servedLabel(this.doc && this.doc.tile_labels, kind) ?? this.kindLabel(kind);
  }

  /** @returns {?LayerInfo} the selected layer */
  layer() {
    if (!this.doc || !this.state.layer) return null;
    return this.doc.layers.find((l) => l.name === this.state.layer) || null;
  }

  /**
   * What the layer head reads a layer's facts at a step from.
   *
   * @returns {import('./layerhead.js').RunFacts}
   */
  runFacts() {
    const doc = this.doc;
    return {layers: doc ? doc.layers : [], events: doc && Array.isArray(doc.events) ? doc.events : [],
      scalars: this.scalars};
  }

  /** @returns {?KindInfo} the selected kind of the selected layer */
  kindInfo() {
    const layer = this.layer();
    return layer && this.state.kind ? (layer.kinds || {})[this.state.kind] || null : null;
  }

  /** @returns {number} probe images of the shown grid (or of the run) */
  sampleCount() {
    const info = this.kindInfo();
    const probe = this.doc && this.doc.probe;
    return Math.max(info ? info.samples || 1 : 1, probe ? probe.samples || 1 : 1);
  }

  /**
   * @returns {number} probe images the picker offers: none beside dataset
   *     examples, which come from the data, not from the probe images
   */
  pickableSamples() {
    return this.state.kind === EXAMPLES ? 0 : this.sampleCount();
  }

  /** @returns {{cmap: string, zoom: string}} the colour map and zoom grids are drawn with */
  look() {
    return {cmap: this.state.cmap || 'auto', zoom: this.state.zoom || 'auto'};
  }

  /**
   * What the step bar shows for `steps` with `step` selected.
   *
   * @param {number[]} steps
   * @param {?number} step
   * @returns {import('./steps.js').StepInfo}
   */
  stepInfo(steps, step) {
    const info = this.kindInfo();
    const doc = this.doc;
    return {steps, step, written: info ? info.written : undefined,
      events: doc ? doc.events : [], sampling: doc ? doc.sampling : undefined};
  }

  /**
   * Open the channel a tile shows (null: the tile names none), with the
   * dataset example clicked in it, if any.
   *
   * @param {?{channel: number, input: ?number}} opened
   * @param {?number} [example]   the slot of the crop clicked (examples grid)
   * @returns {boolean} whether a channel was opened
   */
  openChannel(opened, example = null) {
    if (!opened) return false;
    this.state.channel = opened.channel;
    if (opened.input != null) this.state.input = opened.input;
    else delete this.state.input;
    this.setExample(example);
    return true;
  }

  /**
   * Settle kind, step and probe image for the selected layer: the chosen
   * kind if the layer has it (else its first), the chosen step if kept
   * (else the nearest kept one), the chosen image if it exists (else the
   * first). The server lists a layer's kinds in display order.
   *
   * @param {LayerInfo} layer
   * @returns {{kinds: string[], steps: number[], step: ?number}} the kinds
   *     to offer and the kind's kept steps; no kinds when nothing was logged
   */
  settleKind(layer) {
    const state = this.state;
    const kinds = Object.keys(layer.kinds || {});
    if (!kinds.length) {
      delete state.kind;
      return {kinds, steps: [], step: null};
    }
    if (!state.kind || !kinds.includes(state.kind)) state.kind = kinds[0];
    const steps = /** @type {KindInfo} */ (this.kindInfo()).steps;
    const step = state.step != null && steps.includes(state.step) ?
      state.step : nearestStep(steps, state.step);
    if (step != null) state.step = step;
    if (state.sample == null || state.sample < 0 || state.sample >= this.sampleCount()) {
      state.sample = 0;
    }
    return {kinds, steps, step};
  }

  /**
   * Thumbnail urls of the probe images at the kept probe step nearest to
   * the shown step (none when the run logged no probe images).
   *
   * @returns {string[]}
   */
  probeThumbnails() {
    const probe = this.doc && this.doc.probe;
    const run = this.state.run;
    const step = probe ? nearestStep(probe.steps, this.state.step) : null;
    if (!probe || !run || step == null) return [];
    return Array.from({length: probe.samples || 0}, (_, sample) =>
      routeUrl('image', {run, layer: probe.layer, kind: probe.kind, step, sample}));
  }
}
