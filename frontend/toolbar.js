// View: the toolbar across the top: run, compared run, grid or chart view,
// colour map, zoom and reload. It shows what it is told and reports the
// user's choices through callbacks; the controller owns the state.

import {el, replace} from './dom.js';
import {COLORMAPS} from './colormap.js';
import {ZOOMS} from './geometry.js';

/**
 * @typedef {Object} ToolbarActions
 * @property {function(string): void} onRun       a run was chosen
 * @property {function(string): void} onCompare   a run to compare with ('' for none)
 * @property {function(string): void} onView      'grid' or 'charts'
 * @property {function(string): void} onCmap      a COLORMAPS entry
 * @property {function(string): void} onZoom      a ZOOMS entry
 * @property {function(): void} onReload
 */

/** @param {string} name  a COLORMAPS entry */
function colormapLabel(name) {
  if (name === 'auto') return 'auto (diverging for kernels)';
  return name === 'viridis' ? 'viridis-like' : name;
}

/** @param {string} zoom  a ZOOMS entry */
function zoomLabel(zoom) {
  if (zoom === 'auto') return 'auto (whole pixels)';
  return zoom === 'fit' ? 'fit width' : `${zoom}×`;
}

/**
 * A select with an accessible name and its options.
 *
 * @param {string} testid
 * @param {string} label              accessible name
 * @param {function(string): void} onChange
 * @param {Array<[string, string]>} [options]   [value, text] pairs
 * @returns {HTMLSelectElement}
 */
function select(testid, label, onChange, options = []) {
  const node = /** @type {HTMLSelectElement} */ (el('select', {
    testid, attrs: {'aria-label': label},
    on: {change: () => onChange(node.value)},
  }, ...options.map(([value, text]) => el('option', {text, attrs: {value}}))));
  return node;
}

/** The toolbar. */
export class Toolbar {
  /** @param {ToolbarActions} actions */
  constructor(actions) {
    this.runSelect = select('run-select', 'Run', actions.onRun);
    this.compareSelect = select('compare-select', 'Compare with run', actions.onCompare);
    this.cmapSelect = select('cmap-select', 'Colour map', actions.onCmap,
        COLORMAPS.map((name) => [name, colormapLabel(name)]));
    this.zoomSelect = select('zoom-select', 'Zoom', actions.onZoom,
        ZOOMS.map((zoom) => [zoom, zoomLabel(zoom)]));
    /** @type {Object<string, HTMLElement>} */
    this.viewButtons = {
      grid: el('button', {text: 'Grids', testid: 'view-grid',
        attrs: {type: 'button', 'aria-pressed': 'true'}, on: {click: () => actions.onView('grid')}}),
      charts: el('button', {text: 'Drift & health', testid: 'view-charts',
        attrs: {type: 'button', 'aria-pressed': 'false'}, on: {click: () => actions.onView('charts')}}),
    };
    const reload = el('button', {text: '↻', attrs: {type: 'button', title: 'Reload data',
      'aria-label': 'Reload data'}, on: {click: () => actions.onReload()}});
    this.element = el('header', {className: 'fv-toolbar'},
        el('h1', {text: 'Feature maps'}),
        el('label', {}, el('span', {text: 'Run'}), this.runSelect),
        el('label', {}, el('span', {text: 'Compare'}), this.compareSelect),
        el('div', {className: 'fv-segmented', attrs: {role: 'group', 'aria-label': 'View'}},
            this.viewButtons.grid, this.viewButtons.charts),
        el('label', {}, el('span', {text: 'Colour'}), this.cmapSelect),
        el('label', {}, el('span', {text: 'Zoom'}), this.zoomSelect),
        reload);
  }

  /**
   * Offer `runs`; the compare menu offers the others.
   *
   * @param {string[]} runs
   * @param {?string} run        the selected run
   * @param {?string} compare    the compared run, if any
   */
  setRuns(runs, run, compare) {
    replace(this.runSelect, ...runs.map((r) => el('option', {text: r, attrs: {value: r}})));
    this.runSelect.value = run || '';
    this.runSelect.disabled = runs.length === 0;
    replace(this.compareSelect, el('option', {text: 'none', attrs: {value: ''}}),
        ...runs.filter((r) => r !== run).map((r) => el('option', {text: r, attrs: {value: r}})));
    this.compareSelect.value = compare || '';
    this.compareSelect.disabled = runs.length < 2;
  }

  /**
   * Show the chosen colour map, zoom and view (unknown values as 'auto').
   *
   * @param {{cmap?: string, zoom?: string, view: 'grid'|'charts'}} choice
   */
  show({cmap, zoom, view}) {
    this.cmapSelect.value = COLORMAPS.includes(cmap || '') ? String(cmap) : 'auto';
    this.zoomSelect.value = ZOOMS.includes(zoom || '') ? String(zoom) : 'auto';
    for (const [name, button] of Object.entries(this.viewButtons)) {
      button.setAttribute('aria-pressed', String(name === view));
    }
  }

  /** @param {string} zoom  a ZOOMS entry */
  showZoom(zoom) {
    this.zoomSelect.value = zoom;
  }

  /**
   * RGB tiles keep their own colours: the colour menu does not apply.
   *
   * @param {boolean} rgb
   */
  setColourless(rgb) {
    this.cmapSelect.disabled = rgb;
    this.cmapSelect.title = rgb ? 'RGB tiles are shown in their own colours' : '';
  }
}
