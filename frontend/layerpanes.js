// The load sequence of the layer view's panes: for the view state, the
// selected run's grid, the probe image beside it and the same grid in the
// compared run, each through paneloader.js, all three belonging to one load
// so that a newer load (the slider moved on) drops every answer of an older
// one. It keeps what the runs' panes show, for the channel view and for
// recolouring, and after a 404 at the chosen step moves to the nearest step
// the grid route serves. The controller decides when to load; the view
// state and the step bar stay the controller's.

import {notice} from './dom.js';
import {EXAMPLES} from './examples.js';
import {Latest, clampSample, loadCompare, loadPane, loadProbe, servedStep} from './paneloader.js';

/**
 * @typedef {import('./api.js').Api} Api
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./api.js').ShownGrid} ShownGrid
 * @typedef {import('./layerview.js').LayerView} LayerView
 * @typedef {import('./model.js').PanelModel} PanelModel
 */

/** What the layer view's panes show, and the loads that fill them. */
export class LayerPanes {
  /**
   * @param {Object} options
   * @param {Api} options.api
   * @param {PanelModel} options.model    read for the view state and the run's layers
   * @param {LayerView} options.view      its panes, message line and step bar
   * @param {function(number[], ?number): void} options.showSteps   show these
   *     steps in the step bar, one selected
   * @param {function(GridDoc): void} options.onDrawn   the selected run's grid
   *     was drawn
   * @param {function(): void} options.onSettled   every pane of the latest load
   *     has its answer
   */
  constructor({api, model, view, showSteps, onDrawn, onSettled}) {
    this.api = api;
    this.model = model;
    this.view = view;
    this.showSteps = showSteps;
    this.onDrawn = onDrawn;
    this.onSettled = onSettled;
    this.latest = new Latest();
    /** @type {?ShownGrid} the selected run's grid on screen */
    this.shown = null;
    /** @type {?(ShownGrid & {run: string})} the compared run's grid on screen */
    this.compared = null;
  }

  /**
   * Load and draw the selected grid, the probe image and the compared run.
   *
   * @param {boolean} [retried]  this is the retry at a step grid serves
   */
  async load(retried = false) {
    const current = this.latest.start();
    const state = this.model.state;
    const {run, layer, kind} = state;
    const info = this.model.kindInfo();
    if (!run || !layer || !kind || !info) return;
    const sample = clampSample(state.sample, info.samples);
    this.view.setBusy(true);
    // A grid already on screen stays (dimmed) while the next one loads.
    if (!this.shown) {
      this.view.setMessage(notice('loading', `Loading step ${state.step ?? ''}…`));
    }
    const look = () => this.model.look();
    const {step, compare} = state;
    this.compared = null;
    this.showProbe(current);
    const comparing = loadCompare(this.api, this.view.comparePane,
        {other: compare, run, layer, kind, step, sample, current, look}).then((compared) => {
      if (current()) this.compared = compared;
    });
    const shown = await loadPane(this.api, this.view.pane, {
      query: () => ({run, layer, kind, step: state.step, sample}),
      current,
      caption: (grid) => (state.compare ? `${run} · step ${grid.step}` :
        `${this.model.kindLabel(kind)} · step ${grid.step}` +
        (grid.num_samples > 1 ? ` · image ${grid.sample + 1}` : '')),
      look,
      failure: (err) => `Could not load ${kind} of “${layer}” at step ` +
        `${state.step ?? 'latest'}: ${err.message}`,
      recover: async (err) => !retried && /** @type {{status?: number}} */ (err).status === 404 &&
        this.moveToServedStep(current),
    });
    // Stale: a newer load, or the retry at a served step, owns the view now.
    if (!current()) return;
    this.shown = shown;
    if (shown) {
      this.syncSteps(shown.grid);
      this.onDrawn(shown.grid);
    }
    this.view.setMessage(null);
    this.view.setBusy(false);
    await comparing;
    if (!current()) return;
    this.onSettled();
  }

  /**
   * The probe image at the shown step and image (none beside dataset examples).
   *
   * @param {function(): boolean} current  false once a newer grid load started
   */
  showProbe(current) {
    const {run, step, sample, kind} = this.model.state;
    // Dataset examples come from the data, not from the probe images.
    const probe = kind === EXAMPLES ? null : this.model.doc && this.model.doc.probe;
    loadProbe(this.api, this.view.probePane,
        {probe, run, step, sample, current, look: () => this.model.look()});
  }

  /**
   * The step bar over the steps the grid route serves for this grid.
   * They equal the layer list's steps unless TensorBoard keeps images and
   * records with different sample limits.
   *
   * @param {GridDoc} grid
   */
  syncSteps(grid) {
    if (grid.steps.length && grid.steps.join() !== this.view.stepBar.steps.join()) {
      this.showSteps(grid.steps, grid.step);
    }
  }

  /**
   * After a 404 at the chosen step: ask for the grid's latest step, whose
   * answer lists the steps that grid serves, and load the nearest of them.
   *
   * @param {function(): boolean} current   the failed load is still the latest
   * @returns {Promise<boolean>} true when a retry was started
   */
  async moveToServedStep(current) {
    const state = this.model.state;
    const {run, layer, kind} = state;
    if (!run || !layer || !kind) return false;
    const served = await servedStep(this.api, {run, layer, kind}, state.step);
    if (!current()) return true;
    if (!served) return false;
    state.step = served.step;
    this.showSteps(served.steps, served.step);
    this.model.commit();
    this.load(true);
    return true;
  }
}
