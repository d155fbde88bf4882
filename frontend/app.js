// The panel's controller: owns the view state (mirrored in the URL hash),
// asks the data layer, and hands results to the views. The views never
// fetch; the data layer never touches the DOM; the layer view's grids
// reach their panes through layerpanes.js, and the views beside them (the
// channel, attribution and examples views) render through companions.js.

import {Api} from './api.js';
import {Companions} from './companions.js';
import {el, notice, replace} from './dom.js';
import {exampleSlot} from './examples.js';
import {downloadGrid} from './export.js';
import {isRgb} from './colormap.js';
import {channelAt, nextTile, nextZoom} from './geometry.js';
import {LayerList} from './layerlist.js';
import {LayerPanes} from './layerpanes.js';
import {LayerView} from './layerview.js';
import {Toolbar} from './toolbar.js';
import {Charts} from './charts.js';
import {PanelModel} from './model.js';
import {Latest} from './paneloader.js';
import {bindKeys, followParentTheme, parentIsTyping} from './frame.js';

/**
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./state.js').ViewState} ViewState
 */

/** The Feature maps panel. */
export class App {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.root = root;
    this.api = new Api();
    this.model = new PanelModel();
    /** @type {ViewState} the model's view state, for short */
    this.state = this.model.state;
    this.latest = {run: new Latest(), scalars: new Latest()};
    this.gridFrameRequested = false;
    this.themed = false;
    this.focused = false;
    this.build();
    this.panes = new LayerPanes({api: this.api, model: this.model, view: this.layerView,
      showSteps: (steps, step) => this.showSteps(steps, step),
      onDrawn: (grid) => this.toolbar.setColourless(isRgb(grid)),
      onSettled: () => this.companions.render()});
    this.companions.panes = this.panes;
    bindKeys({
      channelOpen: () => this.channel.isOpen(),
      closeChannel: () => this.closeChannel(),
      moveLayer: (delta) => this.layerList.move(delta),
      moveStep: (delta) => this.layerView.stepBar.move(delta),
      stepZoom: (delta) => this.setZoom(nextZoom(this.layerView.pane.factor || 1, delta)),
    });
  }

  build() {
    this.toolbar = new Toolbar({
      onRun: (run) => this.setRun(run),
      onCompare: (run) => this.setCompare(run),
      onView: (view) => this.setView(view),
      onCmap: (cmap) => this.setCmap(cmap),
      onZoom: (zoom) => this.setZoom(zoom),
      onReload: () => this.start(true),
    });
    this.layerList = new LayerList({onSelect: (name) => this.setLayer(name)});
    this.companions = new Companions({api: this.api, model: this.model, actions: {
      setTarget: (cls) => this.setTarget(cls), setStep: (step) => this.setStep(step),
      setKind: (kind, step) => this.setKind(kind, step), closeChannel: () => this.closeChannel(),
      moveChannel: (delta) => this.moveChannel(delta), setExample: (slot) => this.setExample(slot)}});
    ({attribution: this.attribution, channel: this.channel} = this.companions);
    this.layerView = new LayerView({
      attribution: this.attribution.view, examples: this.companions.examples.view,
      onKind: (kind) => this.setKind(kind),
      onSample: (sample) => this.setSample(sample),
      onStep: (step) => this.setStep(step),
      onTile: (grid, tile, x, y) => this.openTile(grid, tile, x, y),
      onExportGrid: (canvas, grid) => downloadGrid(canvas, String(this.state.run), grid),
    });
    this.charts = new Charts({onSelect: (name) => {
      this.setView('grid');
      this.setLayer(name);
    }});
    this.charts.element.hidden = true;
    const content = el('main', {className: 'fv-content'}, this.layerView.element, this.charts.element);
    this.banner = el('div', {className: 'fv-banner'});
    replace(this.root, this.toolbar.element, this.banner, el('div', {className: 'fv-body'},
        this.layerList.element, content, this.channel.element));
    new ResizeObserver(() => this.layerView.resize()).observe(content);
  }

  // ------------------------------------------------------------------ loading

  /**
   * Load the runs, then the selected run. Also the Retry and reload action.
   *
   * @param {boolean} [fresh]  ask the server again for cached documents
   */
  async start(fresh = false) {
    if (!this.themed) {
      this.themed = true;
      followParentTheme();
    }
    this.syncControls();
    this.layerList.showNotice(notice('loading', 'Loading runs…'));
    this.layerView.setMessage(notice('loading', 'Loading…'));
    let answer;
    try {
      answer = await this.api.runs();
    } catch (err) {
      this.showFatal(`Could not load the runs: ${err.message}`);
      return;
    }
    const runs = Array.isArray(answer.runs) ? answer.runs : [];
    if (!runs.length) {
      this.model.runs = runs;
      this.fillRunSelects();
      const empty = notice('empty', 'No feature-map data in this log directory yet. Log with ' +
        'FeatureVizLogger or FeatureVizCallback; TensorBoard picks new data up on its next reload.');
      this.layerList.showNotice(empty);
      this.layerView.setMessage(notice('empty', 'Nothing to show yet.'));
      return;
    }
    this.model.setRuns(runs);
    this.fillRunSelects();
    await this.loadRun(fresh);
  }

  /** @param {string} message */
  showFatal(message) {
    const retry = el('button', {text: 'Retry', attrs: {type: 'button'},
      on: {click: () => this.start(true)}});
    replace(this.banner, el('div', {className: 'fv-notice fv-error', testid: 'error-state',
      attrs: {role: 'alert'}}, message, ' ', retry));
    this.layerList.showNotice(notice('error', 'No layers: the backend answered with an error.'));
    this.layerView.setMessage(notice('error', message));
  }

  fillRunSelects() {
    this.toolbar.setRuns(this.model.runs, this.state.run || null, this.state.compare || null);
  }

  syncControls() {
    const view = this.state.view === 'charts' ? 'charts' : 'grid';
    this.toolbar.show({cmap: this.state.cmap, zoom: this.state.zoom, view});
    this.layerView.element.hidden = view !== 'grid';
    this.charts.element.hidden = view !== 'charts';
  }

  /** @param {boolean} fresh */
  async loadRun(fresh) {
    const current = this.latest.run.start();
    const run = /** @type {string} */ (this.state.run);
    this.layerList.showNotice(notice('loading', 'Loading layers…'));
    this.layerView.setMessage(notice('loading', 'Loading layers…'));
    replace(this.banner);
    let doc;
    try {
      doc = await this.api.layers(run, fresh);
    } catch (err) {
      if (!current()) return;
      this.model.doc = null;
      const message = `Could not load the layers of run “${run}”: ${err.message}`;
      this.layerList.showNotice(notice('error', message));
      this.layerView.setMessage(notice('error', message));
      return;
    }
    if (!current()) return;
    if (!doc.layers.length) {
      this.model.doc = doc;
      this.layerList.showNotice(notice('empty', `Run “${run}” has no layers with data.`));
      this.layerView.setMessage(notice('empty', 'No layer to show.'));
      return;
    }
    this.model.setDoc(doc);
    this.layerList.setLayers(doc.layers, this.state.layer || null);
    this.loadScalars(fresh);
    this.showLayer();
    if (!this.focused) {
      // Take the keyboard once, on opening, so j/k and the arrow keys work
      // at once; never from a field the user is typing in.
      this.focused = true;
      if (!parentIsTyping()) this.layerList.select(this.state.layer || null, {focus: true});
    }
  }

  /** @param {boolean} fresh */
  async loadScalars(fresh) {
    const current = this.latest.scalars.start();
    const run = /** @type {string} */ (this.state.run);
    this.charts.showNotice(notice('loading', 'Loading drift and health…'));
    try {
      const doc = await this.api.scalars(run, fresh);
      if (!current()) return;
      this.model.scalars = doc;
      const order = this.model.doc ? this.model.doc.layers.map((l) => l.name) : [];
      this.charts.set(doc, order, this.state.layer || null);
      this.renderHead();
    } catch (err) {
      if (!current()) return;
      this.model.scalars = null;
      this.charts.showNotice(notice('error', `Could not load drift and health: ${err.message}`));
    }
  }

  // ------------------------------------------------------------------ setters

  /** @param {string} run */
  setRun(run) {
    if (!run || run === this.state.run) return;
    this.state.run = run;
    if (this.state.compare === run) delete this.state.compare;
    this.fillRunSelects();
    this.model.commit();
    this.loadRun(false);
  }

  /** @param {string} run  '' for none */
  setCompare(run) {
    if (run) this.state.compare = run;
    else delete this.state.compare;
    this.model.commit();
    this.panes.load();
  }

  /** @param {string} name */
  setLayer(name) {
    if (name === this.state.layer) return;
    this.model.setLayer(name);
    this.layerList.select(name, {scroll: true});
    this.charts.select(name);
    this.showLayer();
  }

  /**
   * @param {string} kind
   * @param {number} [step]   show this step of it (a related figure's)
   */
  setKind(kind, step) {
    if (kind === this.state.kind) return;
    this.state.kind = kind;
    if (step != null) this.state.step = step;
    this.showLayer();
  }

  /** @param {number} step */
  setStep(step) {
    if (step === this.state.step) return;
    this.state.step = step;
    this.showSteps(this.layerView.stepBar.steps, step);
    this.model.commit();
    // Coalesce fast slider moves into one request per frame.
    if (this.gridFrameRequested) return;
    this.gridFrameRequested = true;
    requestAnimationFrame(() => {
      this.gridFrameRequested = false;
      this.panes.load();
    });
  }

  /** @param {number} sample */
  setSample(sample) {
    this.state.sample = sample;
    this.renderSamples();
    this.model.commit();
    this.panes.load();
  }

  /** @param {?number} cls  the target class to show (null: none named) */
  setTarget(cls) {
    if (cls == null) delete this.state.target;
    else this.state.target = cls;
    this.model.commit();
    this.companions.renderAttribution();
  }

  /** @param {string} cmap */
  setCmap(cmap) {
    this.state.cmap = cmap;
    this.model.commit();
    this.layerView.recolour(this.panes.shown, this.panes.compared, this.model.look());
    this.companions.renderChannel();
  }

  /** @param {string} zoom */
  setZoom(zoom) {
    this.state.zoom = zoom;
    this.toolbar.showZoom(zoom);
    this.model.commit();
    this.layerView.zoomTo(zoom);
  }

  /** @param {string} view */
  setView(view) {
    this.state.view = view === 'charts' ? 'charts' : undefined;
    this.syncControls();
    this.model.commit();
  }

  // ---------------------------------------------------------------- the layer

  /** Settle kind, step and probe image for the selected layer, then load. */
  showLayer() {
    const layer = this.model.layer();
    this.renderHead();
    if (!layer) {
      this.model.commit();
      return;
    }
    const {kinds, steps, step} = this.model.settleKind(layer);
    this.layerView.head.setKinds(kinds.map((kind) => ({kind, label: this.model.kindLabel(kind)})),
        this.state.kind || null);
    this.renderSamples();
    if (!kinds.length) {
      this.layerView.showNothingLogged(layer.name);
      this.channel.hide();
      this.companions.renderAttribution();
      this.companions.renderExamples();
      this.model.commit();
      this.panes.showProbe(() => true);  // no grid load follows to supersede it
      return;
    }
    this.showSteps(steps, step);
    this.model.commit();
    this.panes.load();
  }

  /**
   * Show `steps` in the step bar with `step` selected.
   *
   * @param {number[]} steps
   * @param {?number} step
   */
  showSteps(steps, step) {
    this.layerView.stepBar.set(this.model.stepInfo(steps, step));
    this.renderHead();
  }

  /** The selected layer's name and facts at the step viewed. */
  renderHead() {
    this.layerView.head.setLayer(this.model.layer(), this.model.runFacts(), this.state.step ?? null);
  }

  renderSamples() {
    this.layerView.samples.set(this.state.run ? this.model.pickableSamples() : 0, this.state.sample,
        this.model.probeThumbnails());
  }

  // -------------------------------------------------------------- the channel

  /**
   * @param {GridDoc} grid
   * @param {number} tile
   * @param {number} [x]   the pixel clicked in the tile (a crop of dataset examples)
   * @param {number} [y]
   */
  openTile(grid, tile, x, y) {
    if (this.attribution.selects(grid, tile) ||
        !this.model.openChannel(channelAt(grid, tile), exampleSlot(grid, tile, x, y))) return;
    this.model.commit();
    this.companions.renderChannel();
    this.companions.renderExamples();
    this.channel.element.focus({preventScroll: true});
  }

  /** @param {number} slot  the open channel's dataset example chosen */
  setExample(slot) {
    this.model.setExample(slot);
    this.model.commit();
    this.companions.renderExamples();
  }

  closeChannel() {
    this.model.closeChannel();
    this.channel.hide();
    this.model.commit();
    this.companions.renderExamples();
  }

  /** @param {number} delta  the next (+1) or previous (-1) tile */
  moveChannel(delta) {
    const shown = this.panes.shown;
    if (!shown) return;
    const next = nextTile(shown.grid, this.state.channel ?? null, this.state.input, delta);
    if (next >= 0) this.openTile(shown.grid, next);
  }
}
