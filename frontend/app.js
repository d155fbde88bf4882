// The panel's controller: owns the view state, asks the data layer, and
// hands results to the views. The views never fetch; the data layer never
// touches the DOM.

import {Api, routeUrl} from './api.js';
import {el, fmt, isTyping, notice, pct, replace} from './dom.js';
import {COLORMAPS, isRgb, tileCount} from './colormap.js';
import {LayerList, shapeText} from './layerlist.js';
import {GridPane, ZOOMS, describeTile, tileOf} from './gridview.js';
import {ChannelView} from './channelview.js';
import {StepBar, nearestStep} from './steps.js';
import {Charts} from './charts.js';
import {readState, writeState} from './state.js';

/**
 * @typedef {import('./api.js').LayersDoc} LayersDoc
 * @typedef {import('./api.js').LayerInfo} LayerInfo
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./api.js').Pixels} Pixels
 * @typedef {import('./state.js').ViewState} ViewState
 */

/** Display order and labels of the known grid kinds; others follow by name. */
const KINDS = [
  ['activations', 'Activations'],
  ['filters', 'Filters'],
  ['filter_change', 'Filter change'],
  ['filters_mosaic', 'Filter mosaic'],
  ['pointwise', 'Pointwise'],
];
const KIND_LABELS = new Map(KINDS);
const PROBE_LAYER = '_probe';
const PROBE_KIND = 'probe';
/** At most this many steps in the channel's "other steps" strip. */
const STRIP_STEPS = 12;

/**
 * Kinds of a layer in display order.
 *
 * @param {LayerInfo} layer
 * @returns {string[]}
 */
export function orderedKinds(layer) {
  const kinds = Object.keys((layer && layer.kinds) || {});
  const known = KINDS.map(([k]) => k).filter((k) => kinds.includes(k));
  return [...known, ...kinds.filter((k) => !KIND_LABELS.has(k)).sort()];
}

/**
 * Up to `count` steps spread over `steps`, always including `current`.
 *
 * @param {number[]} steps
 * @param {number} current
 * @param {number} count
 * @returns {number[]}
 */
export function spreadSteps(steps, current, count) {
  if (steps.length <= count) return steps.slice();
  const picked = new Set([current]);
  for (let i = 0; i < count - 1; i++) {
    picked.add(steps[Math.round((i * (steps.length - 1)) / (count - 2))]);
  }
  return steps.filter((s) => picked.has(s));
}

/**
 * True when the user is typing in a field of the TensorBoard page itself.
 *
 * @returns {boolean}
 */
function parentIsTyping() {
  try {
    const active = window.parent !== window ? window.parent.document.activeElement : null;
    if (!active) return false;
    return active.tagName === 'INPUT' || active.tagName === 'TEXTAREA' ||
      active.tagName === 'SELECT' || /** @type {HTMLElement} */ (active).isContentEditable;
  } catch (err) {
    return false;
  }
}

/** The Feature maps panel. */
export class App {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.root = root;
    this.api = new Api();
    /** @type {ViewState} */
    this.state = readState();
    /** @type {string[]} */
    this.runs = [];
    /** @type {?LayersDoc} */
    this.doc = null;
    /** @type {?import('./api.js').ScalarsDoc} */
    this.scalars = null;
    /** @type {?{grid: GridDoc, pixels: Pixels}} */
    this.shown = null;
    /** @type {?{grid: GridDoc, pixels: Pixels, run: string}} */
    this.compared = null;
    this.seq = {run: 0, grid: 0, channel: 0, scalars: 0};
    this.build();
    this.bindKeys();
  }

  // ---------------------------------------------------------------- layout

  build() {
    this.runSelect = /** @type {HTMLSelectElement} */ (el('select', {
      testid: 'run-select', attrs: {'aria-label': 'Run'},
      on: {change: () => this.setRun(this.runSelect.value)},
    }));
    this.compareSelect = /** @type {HTMLSelectElement} */ (el('select', {
      testid: 'compare-select', attrs: {'aria-label': 'Compare with run'},
      on: {change: () => this.setCompare(this.compareSelect.value)},
    }));
    this.cmapSelect = /** @type {HTMLSelectElement} */ (el('select', {
      testid: 'cmap-select', attrs: {'aria-label': 'Colour map'},
      on: {change: () => this.setCmap(this.cmapSelect.value)},
    }, ...COLORMAPS.map((name) => el('option', {text: name === 'auto' ?
      'auto (diverging for kernels)' : name === 'viridis' ? 'viridis-like' : name,
    attrs: {value: name}}))));
    this.zoomSelect = /** @type {HTMLSelectElement} */ (el('select', {
      testid: 'zoom-select', attrs: {'aria-label': 'Zoom'},
      on: {change: () => this.setZoom(this.zoomSelect.value)},
    }, ...ZOOMS.map((z) => el('option', {text: z === 'auto' ? 'auto (whole pixels)' :
      z === 'fit' ? 'fit width' : `${z}×`, attrs: {value: z}}))));
    this.viewButtons = {
      grid: el('button', {text: 'Grids', testid: 'view-grid',
        attrs: {type: 'button', 'aria-pressed': 'true'}, on: {click: () => this.setView('grid')}}),
      charts: el('button', {text: 'Drift & health', testid: 'view-charts',
        attrs: {type: 'button', 'aria-pressed': 'false'}, on: {click: () => this.setView('charts')}}),
    };
    const reload = el('button', {text: '↻', attrs: {type: 'button', title: 'Reload data',
      'aria-label': 'Reload data'}, on: {click: () => this.reload()}});
    const toolbar = el('header', {className: 'fv-toolbar'},
        el('h1', {text: 'Feature maps'}),
        el('label', {}, el('span', {text: 'Run'}), this.runSelect),
        el('label', {}, el('span', {text: 'Compare'}), this.compareSelect),
        el('div', {className: 'fv-segmented', attrs: {role: 'group', 'aria-label': 'View'}},
            this.viewButtons.grid, this.viewButtons.charts),
        el('label', {}, el('span', {text: 'Colour'}), this.cmapSelect),
        el('label', {}, el('span', {text: 'Zoom'}), this.zoomSelect),
        reload);

    this.layerList = new LayerList({onSelect: (name) => this.setLayer(name)});

    this.layerTitle = el('h2', {className: 'fv-layer-title'});
    this.layerMeta = el('div', {className: 'fv-muted'});
    this.kindTabs = el('div', {className: 'fv-tabs', attrs: {role: 'tablist', 'aria-label': 'Kind'}});
    this.samplePicker = el('div', {className: 'fv-samples', attrs: {role: 'group',
      'aria-label': 'Probe image'}});
    this.stepBar = new StepBar({onChange: (step) => this.setStep(step)});
    this.pane = new GridPane({onTile: (grid, tile) => this.openTile(grid, tile)});
    this.comparePane = new GridPane({onTile: (grid, tile) => this.openTile(grid, tile)});
    this.pane.element.classList.add('fv-main-pane');
    this.comparePane.element.classList.add('fv-compare-pane');
    this.comparePane.element.hidden = true;
    this.probePane = new GridPane({onTile: () => {}, caption: 'Probe image'});
    this.probePane.element.classList.add('fv-probe');
    this.gridMessage = el('div', {className: 'fv-grid-message'});
    this.gridView = el('section', {className: 'fv-gridview', testid: 'grid-view',
      attrs: {'aria-label': 'Grid'}},
    el('div', {className: 'fv-layer-head'},
        el('div', {}, this.layerTitle, this.layerMeta), this.kindTabs),
    this.samplePicker,
    this.stepBar.element,
    this.gridMessage,
    el('div', {className: 'fv-panes'}, this.probePane.element,
        // The compared run's grid shares the row with the selected run's.
        el('div', {className: 'fv-pair'}, this.pane.element, this.comparePane.element)));

    this.charts = new Charts({onSelect: (name) => {
      this.setView('grid');
      this.setLayer(name);
    }});
    this.charts.element.hidden = true;

    this.channel = new ChannelView({
      onClose: () => this.closeChannel(),
      onMove: (delta) => this.moveChannel(delta),
    });

    this.content = el('main', {className: 'fv-content'}, this.gridView, this.charts.element);
    this.banner = el('div', {className: 'fv-banner'});
    const body = el('div', {className: 'fv-body'}, this.layerList.element, this.content,
        this.channel.element);
    replace(this.root, toolbar, this.banner, body);

    const observer = new ResizeObserver(() => {
      this.pane.resize();
      this.comparePane.resize();
      this.probePane.resize();
    });
    observer.observe(this.content);
  }

  bindKeys() {
    document.addEventListener('keydown', (e) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 'Escape' && !this.channel.element.hidden) {
        e.preventDefault();
        this.closeChannel();
        return;
      }
      if (isTyping(e)) return;
      const target = /** @type {HTMLElement} */ (e.target);
      if (target && target.getAttribute && target.getAttribute('role') === 'button' &&
          (e.key === 'Enter' || e.key === ' ')) return;
      switch (e.key) {
        case 'j': case 'ArrowDown':
          e.preventDefault();
          this.layerList.move(1);
          break;
        case 'k': case 'ArrowUp':
          e.preventDefault();
          this.layerList.move(-1);
          break;
        case 'ArrowLeft': case 'h':
          e.preventDefault();
          this.stepBar.move(-1);
          break;
        case 'ArrowRight': case 'l':
          e.preventDefault();
          this.stepBar.move(1);
          break;
        case '+': case '=':
          this.stepZoom(1);
          break;
        case '-':
          this.stepZoom(-1);
          break;
        default:
      }
    });
  }

  // ----------------------------------------------------------- state helpers

  commit() {
    writeState(this.state);
  }

  /** @returns {?LayerInfo} */
  layer() {
    if (!this.doc || !this.state.layer) return null;
    return this.doc.layers.find((l) => l.name === this.state.layer) || null;
  }

  /** @returns {?import('./api.js').KindInfo} */
  kindInfo() {
    const layer = this.layer();
    return layer && this.state.kind ? (layer.kinds || {})[this.state.kind] || null : null;
  }

  /** Number of probe images of the shown grid (or of the run). */
  sampleCount() {
    const info = this.kindInfo();
    const probe = this.doc && this.doc.probe;
    return Math.max(info ? info.samples || 1 : 1, probe ? probe.samples || 1 : 1);
  }

  // ------------------------------------------------------------------ start

  /**
   * Load the runs, then the selected run. Also the Retry and reload action.
   *
   * @param {boolean} [fresh]  ask the server again for cached documents
   */
  async start(fresh = false) {
    if (!this.themed) {
      this.themed = true;
      this.applyTheme();
    }
    this.syncControls();
    this.layerList.showNotice(notice('loading', 'Loading runs…'));
    this.setGridNotice(notice('loading', 'Loading…'));
    let answer;
    try {
      answer = await this.api.runs();
    } catch (err) {
      this.showFatal(`Could not load the runs: ${err.message}`);
      return;
    }
    this.runs = Array.isArray(answer.runs) ? answer.runs : [];
    this.sampling = answer.sampling || {};
    if (!this.runs.length) {
      this.fillRunSelects();
      const empty = notice('empty', 'No feature-map data in this log directory yet. Log with ' +
        'FeatureVizLogger or FeatureVizCallback; TensorBoard picks new data up on its next reload.');
      this.layerList.showNotice(empty);
      this.setGridNotice(notice('empty', 'Nothing to show yet.'));
      return;
    }
    if (!this.state.run || !this.runs.includes(this.state.run)) this.state.run = this.runs[0];
    if (this.state.compare && (!this.runs.includes(this.state.compare) ||
        this.state.compare === this.state.run)) {
      delete this.state.compare;
    }
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
    this.setGridNotice(notice('error', message));
  }

  fillRunSelects() {
    replace(this.runSelect, ...this.runs.map((r) => el('option', {text: r, attrs: {value: r}})));
    this.runSelect.value = this.state.run || '';
    this.runSelect.disabled = this.runs.length === 0;
    replace(this.compareSelect, el('option', {text: 'none', attrs: {value: ''}}),
        ...this.runs.filter((r) => r !== this.state.run)
            .map((r) => el('option', {text: r, attrs: {value: r}})));
    this.compareSelect.value = this.state.compare || '';
    this.compareSelect.disabled = this.runs.length < 2;
  }

  syncControls() {
    this.cmapSelect.value = COLORMAPS.includes(this.state.cmap || '') ? String(this.state.cmap) : 'auto';
    this.zoomSelect.value = ZOOMS.includes(this.state.zoom || '') ? String(this.state.zoom) : 'auto';
    const view = this.state.view === 'charts' ? 'charts' : 'grid';
    for (const [name, button] of Object.entries(this.viewButtons)) {
      button.setAttribute('aria-pressed', String(name === view));
    }
    this.gridView.hidden = view !== 'grid';
    this.charts.element.hidden = view !== 'charts';
  }

  applyTheme() {
    let parentBody = null;
    try {
      parentBody = window.parent !== window ? window.parent.document.body : null;
    } catch (err) {
      parentBody = null;
    }
    if (!parentBody) return;
    const sync = () => {
      const dark = /** @type {HTMLElement} */ (parentBody).classList.contains('dark-mode');
      if (dark) document.documentElement.dataset.theme = 'dark';
      else delete document.documentElement.dataset.theme;
    };
    sync();
    new MutationObserver(sync).observe(parentBody, {attributes: true, attributeFilter: ['class']});
  }

  /** @param {boolean} fresh */
  async loadRun(fresh) {
    const seq = ++this.seq.run;
    const run = /** @type {string} */ (this.state.run);
    this.layerList.showNotice(notice('loading', 'Loading layers…'));
    this.setGridNotice(notice('loading', 'Loading layers…'));
    replace(this.banner);
    let doc;
    try {
      doc = await this.api.layers(run, fresh);
    } catch (err) {
      if (seq !== this.seq.run) return;
      this.doc = null;
      this.layerList.showNotice(notice('error', `Could not load the layers of run “${run}”: ${err.message}`));
      this.setGridNotice(notice('error', `Could not load the layers of run “${run}”: ${err.message}`));
      return;
    }
    if (seq !== this.seq.run) return;
    this.doc = doc;
    const layers = Array.isArray(doc.layers) ? doc.layers : [];
    doc.layers = layers;
    if (!layers.length) {
      this.layerList.showNotice(notice('empty', `Run “${run}” has no layers with data.`));
      this.setGridNotice(notice('empty', 'No layer to show.'));
      return;
    }
    if (!this.layer()) {
      const first = layers.find((l) => Object.keys(l.kinds || {}).length) || layers[0];
      this.state.layer = first.name;
      delete this.state.channel;
      delete this.state.input;
    }
    this.layerList.setLayers(layers, this.state.layer || null);
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
    const seq = ++this.seq.scalars;
    const run = /** @type {string} */ (this.state.run);
    this.charts.showNotice(notice('loading', 'Loading drift and health…'));
    try {
      const doc = await this.api.scalars(run, fresh);
      if (seq !== this.seq.scalars) return;
      this.scalars = doc;
      const order = this.doc ? this.doc.layers.map((l) => l.name) : [];
      this.charts.set(doc, order, this.state.layer || null);
      this.renderLayerHead();
    } catch (err) {
      if (seq !== this.seq.scalars) return;
      this.scalars = null;
      this.charts.showNotice(notice('error', `Could not load drift and health: ${err.message}`));
    }
  }

  async reload() {
    await this.start(true);
  }

  // --------------------------------------------------------------- setters

  /** @param {string} run */
  setRun(run) {
    if (!run || run === this.state.run) return;
    this.state.run = run;
    if (this.state.compare === run) delete this.state.compare;
    this.fillRunSelects();
    this.commit();
    this.loadRun(false);
  }

  /** @param {string} run */
  setCompare(run) {
    if (run) this.state.compare = run;
    else delete this.state.compare;
    this.commit();
    this.loadGrid();
  }

  /** @param {string} name */
  setLayer(name) {
    if (name === this.state.layer) return;
    this.state.layer = name;
    delete this.state.channel;
    delete this.state.input;
    this.layerList.select(name, {scroll: true});
    this.charts.select(name);
    this.showLayer();
  }

  /** @param {string} kind */
  setKind(kind) {
    if (kind === this.state.kind) return;
    this.state.kind = kind;
    this.showLayer();
  }

  /** @param {number} step */
  setStep(step) {
    if (step === this.state.step) return;
    this.state.step = step;
    this.setStepBar(this.stepBar.steps, step);
    this.commit();
    this.scheduleGrid();
  }

  /** @param {number} sample */
  setSample(sample) {
    this.state.sample = sample;
    this.renderSamples();
    this.commit();
    this.loadGrid();
  }

  /** @param {string} cmap */
  setCmap(cmap) {
    this.state.cmap = cmap;
    this.commit();
    this.redraw();
  }

  /** @param {string} zoom */
  setZoom(zoom) {
    this.state.zoom = zoom;
    this.zoomSelect.value = zoom;
    this.commit();
    for (const pane of [this.pane, this.comparePane]) {
      pane.zoom = zoom;
      pane.resize();
    }
  }

  /** @param {number} delta */
  stepZoom(delta) {
    const numeric = ZOOMS.filter((z) => Number(z) > 0);
    const current = this.pane.factor || 1;
    const index = numeric.findIndex((z) => Number(z) >= current - 1e-9);
    const base = index < 0 ? numeric.length - 1 : index;
    const next = numeric[Math.max(0, Math.min(numeric.length - 1,
        Number(numeric[base]) > current + 1e-9 && delta > 0 ? base : base + delta))];
    this.setZoom(next);
  }

  /** @param {string} view */
  setView(view) {
    this.state.view = view === 'charts' ? 'charts' : undefined;
    this.syncControls();
    this.commit();
  }

  // ------------------------------------------------------------- rendering

  /** @param {HTMLElement} node */
  setGridNotice(node) {
    replace(this.gridMessage, node);
  }

  /** Choose kind, step and sample for the selected layer, then load. */
  showLayer() {
    const layer = this.layer();
    this.renderLayerHead();
    if (!layer) {
      this.commit();
      return;
    }
    const kinds = orderedKinds(layer);
    if (!kinds.length) {
      delete this.state.kind;
      this.renderKindTabs([]);
      this.stepBar.set({steps: [], step: null});
      this.renderSamples();
      this.pane.showNotice(notice('empty', `Nothing was logged for layer “${layer.name}”.`));
      this.pane.element.classList.add('fv-main-pane');
    this.comparePane.element.classList.add('fv-compare-pane');
    this.comparePane.element.hidden = true;
      this.setGridNotice(el('span'));
      this.channel.hide();
      this.commit();
      this.loadProbe(null);
      return;
    }
    if (!this.state.kind || !kinds.includes(this.state.kind)) this.state.kind = kinds[0];
    this.renderKindTabs(kinds);
    const info = /** @type {import('./api.js').KindInfo} */ (this.kindInfo());
    const steps = (info.steps || []).slice().sort((a, b) => a - b);
    const step = steps.includes(/** @type {number} */ (this.state.step)) ?
      /** @type {number} */ (this.state.step) : nearestStep(steps, this.state.step);
    if (step != null) this.state.step = step;
    const samples = this.sampleCount();
    if (this.state.sample == null || this.state.sample < 0 || this.state.sample >= samples) {
      this.state.sample = 0;
    }
    this.setStepBar(steps, step);
    this.renderSamples();
    this.commit();
    this.loadGrid();
  }

  renderLayerHead() {
    const layer = this.layer();
    if (!layer) {
      this.layerTitle.textContent = '';
      this.layerMeta.textContent = '';
      return;
    }
    this.layerTitle.textContent = layer.name;
    const parts = [layer.class || 'unknown class'];
    const shape = shapeText(layer.output_shape);
    if (shape) parts.push(`output ${shape}`);
    for (const [name, kshape] of Object.entries(layer.kernel_shapes || {})) {
      parts.push(`${name} ${(kshape || []).join('×')}`);
    }
    if (layer.trainable === false) parts.push('frozen');
    const series = this.scalars && this.scalars.layers ? this.scalars.layers[layer.name] : null;
    if (series) {
      const drift = series['drift/relative_change'];
      const dead = series['health/dead_fraction'];
      if (drift && drift.length) parts.push(`drift ${fmt(drift[drift.length - 1][1])}`);
      if (dead && dead.length) parts.push(`dead ${pct(dead[dead.length - 1][1])}`);
    }
    this.layerMeta.textContent = parts.join(' · ');
  }

  /** @param {string[]} kinds */
  renderKindTabs(kinds) {
    replace(this.kindTabs, ...kinds.map((kind) => el('button', {
      className: 'fv-tab',
      text: KIND_LABELS.get(kind) || kind,
      testid: 'kind-tab',
      attrs: {type: 'button', role: 'tab', 'aria-selected': String(kind === this.state.kind),
        'data-kind': kind},
      on: {click: () => this.setKind(kind)},
    })));
  }

  renderSamples() {
    const count = this.sampleCount();
    if (count < 2 || !this.state.run) {
      replace(this.samplePicker);
      this.samplePicker.hidden = true;
      return;
    }
    this.samplePicker.hidden = false;
    const probe = this.doc && this.doc.probe;
    const probeStep = probe ? nearestStep(probe.steps || [], this.state.step) : null;
    const buttons = [];
    for (let i = 0; i < count; i++) {
      const button = el('button', {
        className: 'fv-sample',
        testid: 'sample-button',
        attrs: {type: 'button', 'aria-pressed': String(i === this.state.sample),
          title: `Probe image ${i + 1}`},
        on: {click: () => this.setSample(i)},
      });
      if (probe && probeStep != null && i < (probe.samples || 0)) {
        const img = el('img', {attrs: {alt: '', width: '32', height: '32'}});
        img.setAttribute('src', routeUrl('image', {run: this.state.run, layer: PROBE_LAYER,
          kind: PROBE_KIND, step: probeStep, sample: i}));
        button.appendChild(img);
      }
      button.appendChild(el('span', {text: `image ${i + 1}`}));
      buttons.push(button);
    }
    replace(this.samplePicker, el('span', {className: 'fv-muted', text: 'Probe image'}), ...buttons);
  }

  scheduleGrid() {
    // Coalesce fast slider moves into one request per frame.
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.loadGrid();
    });
  }

  /**
   * @param {string} run
   * @param {string} layer
   * @param {string} kind
   * @param {?number|undefined} step
   * @param {number} sample
   * @returns {Promise<{grid: GridDoc, pixels: Pixels}>}
   */
  async fetchGrid(run, layer, kind, step, sample) {
    const grid = await this.api.grid({run, layer, kind, step, sample});
    const pixels = await this.api.pixels(grid.image_url);
    if (pixels.width !== grid.width || pixels.height !== grid.height) {
      throw new Error(`the image is ${pixels.width}×${pixels.height} px but its record says ` +
        `${grid.width}×${grid.height}`);
    }
    return {grid, pixels};
  }

  /**
   * Load and draw the selected grid, the probe image and the compared run.
   *
   * @param {boolean} [retried]  this is the retry at a step grid serves
   */
  async loadGrid(retried = false) {
    const seq = ++this.seq.grid;
    const {run, layer, kind} = this.state;
    const info = this.kindInfo();
    if (!run || !layer || !kind || !info) return;
    const sample = Math.min(this.state.sample || 0, Math.max(0, (info.samples || 1) - 1));
    this.gridView.setAttribute('aria-busy', 'true');
    // A grid already on screen stays (dimmed by aria-busy) while the next
    // one loads: no layout jump while the slider moves.
    if (!this.shown) this.setGridNotice(notice('loading', `Loading step ${this.state.step ?? ''}…`));
    this.loadProbe(seq);
    const comparing = this.loadCompare(seq, sample);
    try {
      const shown = await this.fetchGrid(run, layer, kind, this.state.step, sample);
      if (seq !== this.seq.grid) return;
      this.shown = shown;
      this.pane.setCaption(this.state.compare ? `${run} · step ${shown.grid.step}` :
        `${KIND_LABELS.get(kind) || kind} · step ${shown.grid.step}` +
        (shown.grid.num_samples > 1 ? ` · image ${shown.grid.sample + 1}` : ''));
      this.pane.draw(shown.grid, shown.pixels, this.state.cmap || 'auto', this.state.zoom || 'auto');
      this.syncSteps(shown.grid);
      this.cmapSelect.disabled = isRgb(shown.grid);
      this.cmapSelect.title = isRgb(shown.grid) ? 'RGB tiles are shown in their own colours' : '';
      this.setGridNotice(el('span'));
    } catch (err) {
      if (seq !== this.seq.grid) return;
      if (!retried && err.status === 404 && await this.moveToServedStep(seq)) return;
      this.shown = null;
      this.pane.showNotice(notice('error', `Could not load ${kind} of “${layer}” at step ` +
        `${this.state.step ?? 'latest'}: ${err.message}`));
      this.setGridNotice(el('span'));
    } finally {
      if (seq === this.seq.grid) this.gridView.removeAttribute('aria-busy');
    }
    await comparing;
    if (seq !== this.seq.grid) return;
    this.renderChannel();
  }

  /**
   * Show `steps` in the step bar with `step` selected.
   *
   * @param {number[]} steps
   * @param {?number} step
   */
  setStepBar(steps, step) {
    const info = this.kindInfo();
    this.stepBar.set({steps, step, written: info ? info.written : undefined,
      events: this.doc ? this.doc.events : [], sampling: this.doc ? this.doc.sampling : undefined});
  }

  /**
   * The step bar over the steps the grid route serves for this grid.
   * They equal the layer list's steps unless TensorBoard keeps images and
   * records with different sample limits.
   *
   * @param {GridDoc} grid
   */
  syncSteps(grid) {
    const steps = (grid.steps || []).slice().sort((a, b) => a - b);
    if (steps.length && steps.join() !== this.stepBar.steps.join()) this.setStepBar(steps, grid.step);
  }

  /**
   * After a 404 at the chosen step: ask for the grid's latest step, whose
   * answer lists the steps that grid serves, and load the nearest of them.
   *
   * @param {number} seq
   * @returns {Promise<boolean>} true when a retry was started
   */
  async moveToServedStep(seq) {
    const {run, layer, kind} = this.state;
    if (!run || !layer || !kind) return false;
    let latest;
    try {
      latest = await this.api.grid({run, layer, kind, sample: 0});
    } catch (err) {
      return false;
    }
    if (seq !== this.seq.grid) return true;
    const steps = (latest.steps || []).slice().sort((a, b) => a - b);
    const step = nearestStep(steps, this.state.step);
    if (step == null || step === this.state.step) return false;
    this.state.step = step;
    this.setStepBar(steps, step);
    this.commit();
    this.loadGrid(true);
    return true;
  }

  /** @param {?number} seq */
  async loadProbe(seq) {
    const probe = this.doc && this.doc.probe;
    if (!probe || !(probe.steps || []).length || !this.state.run) {
      this.probePane.element.hidden = true;
      return;
    }
    this.probePane.element.hidden = false;
    const step = nearestStep(probe.steps, this.state.step);
    const sample = Math.min(this.state.sample || 0, Math.max(0, (probe.samples || 1) - 1));
    try {
      const shown = await this.fetchGrid(this.state.run, PROBE_LAYER, PROBE_KIND, step, sample);
      if (seq != null && seq !== this.seq.grid) return;
      this.probePane.setCaption(`Probe image ${sample + 1} · step ${shown.grid.step}`);
      this.probePane.draw(shown.grid, shown.pixels, 'grey', this.state.zoom === 'fit' ? 'auto' :
        (this.state.zoom || 'auto'));
    } catch (err) {
      if (seq != null && seq !== this.seq.grid) return;
      this.probePane.showNotice(notice('error', `Could not load the probe image: ${err.message}`));
    }
  }

  /**
   * @param {number} seq
   * @param {number} sample
   */
  async loadCompare(seq, sample) {
    const other = this.state.compare;
    const pane = this.comparePane;
    this.compared = null;
    if (!other || other === this.state.run) {
      pane.element.hidden = true;
      return;
    }
    pane.element.hidden = false;
    pane.setCaption(`${other}`);
    const {layer, kind} = this.state;
    try {
      const doc = await this.api.layers(other);
      const info = doc.layers.find((l) => l.name === layer);
      const kindInfo = info && kind ? (info.kinds || {})[kind] : null;
      if (!kindInfo) {
        if (seq !== this.seq.grid) return;
        pane.showNotice(notice('empty', `Run “${other}” has no ${kind} for layer “${layer}”.`));
        return;
      }
      const steps = (kindInfo.steps || []).slice().sort((a, b) => a - b);
      const step = nearestStep(steps, this.state.step);
      const shown = await this.fetchGrid(other, /** @type {string} */ (layer),
          /** @type {string} */ (kind), step,
          Math.min(sample, Math.max(0, (kindInfo.samples || 1) - 1)));
      if (seq !== this.seq.grid) return;
      this.compared = {...shown, run: other};
      pane.setCaption(`${other} · step ${shown.grid.step}` +
        (shown.grid.step !== this.state.step ? ' (nearest kept step)' : ''));
      pane.draw(shown.grid, shown.pixels, this.state.cmap || 'auto', this.state.zoom || 'auto');
    } catch (err) {
      if (seq !== this.seq.grid) return;
      pane.showNotice(notice('error', `Could not load run “${other}”: ${err.message}`));
    }
  }

  redraw() {
    const cmap = this.state.cmap || 'auto';
    if (this.shown) this.pane.draw(this.shown.grid, this.shown.pixels, cmap, this.state.zoom || 'auto');
    if (this.compared) {
      this.comparePane.draw(this.compared.grid, this.compared.pixels, cmap, this.state.zoom || 'auto');
    }
    this.renderChannel();
  }

  // --------------------------------------------------------------- channel

  /**
   * @param {GridDoc} grid
   * @param {number} tile
   */
  openTile(grid, tile) {
    const what = describeTile(grid, tile);
    if (grid.layout === 'matrix') {
      this.state.channel = 0;
      delete this.state.input;
    } else {
      if (what.channel == null) return;
      this.state.channel = what.channel;
      if (what.input != null) this.state.input = what.input;
      else delete this.state.input;
    }
    this.commit();
    this.renderChannel();
    this.channel.element.focus({preventScroll: true});
  }

  closeChannel() {
    delete this.state.channel;
    delete this.state.input;
    this.channel.hide();
    this.commit();
  }

  /** @param {number} delta */
  moveChannel(delta) {
    if (!this.shown) return;
    const grid = this.shown.grid;
    const tile = tileOf(grid, this.state.channel ?? null, this.state.input);
    const next = Math.max(0, Math.min(tileCount(grid) - 1, tile + delta));
    if (tile >= 0 && next !== tile) this.openTile(grid, next);
  }

  renderChannel() {
    const seq = ++this.seq.channel;
    if (this.state.channel == null || !this.shown) {
      this.channel.hide();
      return;
    }
    const {grid, pixels} = this.shown;
    const tile = tileOf(grid, this.state.channel, this.state.input);
    if (tile < 0 || tile >= tileCount(grid)) {
      this.channel.hide();
      return;
    }
    const cmap = this.state.cmap || 'auto';
    const {run, layer, kind} = this.state;
    this.channel.show({grid, pixels, tile}, cmap,
        `${run} · ${layer} · ${KIND_LABELS.get(grid.kind) || grid.kind}`);

    // The same channel at other kept steps.
    const allSteps = (grid.steps || []).slice().sort((a, b) => a - b);
    const steps = spreadSteps(allSteps, grid.step, STRIP_STEPS);
    const heading = steps.length < allSteps.length ?
      `Same channel at ${steps.length} of ${allSteps.length} kept steps` :
      'Same channel at other steps';
    /** @type {Array<import('./channelview.js').StripItem>} */
    const items = steps.map((step) => ({
      label: `step ${step}`,
      ref: step === grid.step ? {grid, pixels, tile} : null,
      current: step === grid.step,
      onClick: step === grid.step ? undefined : () => this.setStep(step),
    }));
    this.channel.setStrip('steps', items, heading);
    steps.forEach((step, i) => {
      if (step === grid.step) return;
      this.fetchGrid(/** @type {string} */ (run), /** @type {string} */ (layer),
          /** @type {string} */ (kind), step, grid.sample).then((other) => {
        const t = tileOf(other.grid, this.state.channel ?? null, this.state.input);
        items[i].ref = t >= 0 ? {...other, tile: t} : null;
        items[i].message = t >= 0 ? undefined : 'not logged';
      }, (err) => {
        items[i].message = `error: ${err.message}`;
      }).then(() => {
        if (seq === this.seq.channel) this.channel.setStrip('steps', items, heading);
      });
    });

    // The same channel in the compared run.
    if (this.compared) {
      const c = this.compared;
      const t = tileOf(c.grid, this.state.channel, this.state.input);
      this.channel.setStrip('compare', [{
        label: `${c.run} · step ${c.grid.step}`,
        ref: t >= 0 ? {grid: c.grid, pixels: c.pixels, tile: t} : null,
        message: 'not logged',
      }], `In run ${c.run}`);
    } else {
      this.channel.setStrip('compare', []);
    }
  }
}
