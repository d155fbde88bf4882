// View: the grid view of the selected layer, assembled from its parts: the
// layer head with the kind tabs, the probe image picker, the step bar, a
// message line, and three grid panes (the probe image, the selected run's
// grid and the compared run's grid beside it), with the attribution view
// (attributionview.js) beside the probe image and its link to the feature
// maps under the step bar, and the Examples view (examplesview.js) beside a
// layer's dataset examples (in place of the probe image, which they do not
// come from). Layout and drawing only; the controller decides
// what each part shows.

import {describeTarget} from './attribution.js';
import {el, notice, replace} from './dom.js';
import {describeCrop} from './exampletext.js';
import {describeWithQuality} from './features.js';
import {GridPane} from './gridview.js';
import {LayerHead} from './layerhead.js';
import {SamplePicker} from './samplepicker.js';
import {StepBar} from './steps.js';

/**
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./api.js').ShownGrid} ShownGrid
 *
 * @typedef {Object} LayerViewActions
 * @property {function(string): void} onKind      a kind tab was clicked
 * @property {function(number): void} onSample    a probe image was picked
 * @property {function(number): void} onStep      the slider moved to a step
 * @property {function(GridDoc, number, number, number): void} onTile   a tile of a
 *     run's grid was clicked, at pixel (x, y) of the tile
 * @property {function(HTMLCanvasElement, GridDoc): void} onExportGrid   download the
 *     selected run's grid as drawn
 * @property {import('./attributionview.js').AttributionView} attribution   placed here,
 *     filled by its panel
 * @property {import('./examplesview.js').ExamplesView} examples   placed here, filled
 *     by its panel
 */

/** The grid view. */
export class LayerView {
  /** @param {LayerViewActions} actions */
  constructor({onKind, onSample, onStep, onTile, onExportGrid, attribution, examples}) {
    this.head = new LayerHead({onKind});
    this.samples = new SamplePicker({onPick: onSample});
    this.stepBar = new StepBar({onChange: onStep});
    // An attribution grid's tiles are target classes, an examples grid's
    // crops are pictures: named so.
    /** @type {function(GridDoc, number, number, number): import('./geometry.js').TileMeaning} */
    const describe = (grid, tile, x, y) => describeTarget(grid, tile) ?? describeCrop(grid, tile, x, y) ??
      describeWithQuality(grid, tile, x, y);
    this.pane = new GridPane({onTile, onExport: onExportGrid, describe});
    this.pane.element.classList.add('fv-main-pane');
    this.comparePane = new GridPane({onTile, describe});
    this.comparePane.element.classList.add('fv-compare-pane');
    this.comparePane.element.hidden = true;
    // Its tiles are whole images, not channels: named so, and not clickable.
    this.probePane = new GridPane({onTile: () => {}, caption: 'Probe image',
      describe: (grid) => ({channel: null, input: null, label: `image ${grid.sample + 1}`})});
    this.probePane.element.classList.add('fv-probe');
    this.message = el('div', {className: 'fv-grid-message'});
    const pair = el('div', {className: 'fv-pair'}, this.pane.element, this.comparePane.element);
    // The views beside the grids (attribution, examples) appear once a grid
    // is drawn and take width from them: fit the grids again. The pair's
    // width never depends on the canvases (flex basis, no minimum).
    new ResizeObserver(() => this.resize()).observe(pair);
    this.element = el('section', {className: 'fv-gridview', testid: 'grid-view',
      attrs: {'aria-label': 'Grid'}},
    this.head.element,
    this.samples.element,
    this.stepBar.element,
    attribution.link,
    this.message,
    el('div', {className: 'fv-panes'}, this.probePane.element, attribution.element, examples.element,
        // The compared run's grid shares the row with the selected run's.
        pair));
  }

  /**
   * The line above the panes: loading, an error, or nothing.
   *
   * @param {?HTMLElement} node
   */
  setMessage(node) {
    replace(this.message, node || el('span'));
  }

  /**
   * Dim the grids while the next ones load (they stay: no layout jump).
   *
   * @param {boolean} busy
   */
  setBusy(busy) {
    if (busy) this.element.setAttribute('aria-busy', 'true');
    else this.element.removeAttribute('aria-busy');
  }

  /**
   * The layer logged nothing: say so in place of its grid.
   *
   * @param {string} layer
   */
  showNothingLogged(layer) {
    this.stepBar.set({steps: [], step: null});
    this.pane.showNotice(notice('empty', `Nothing was logged for layer “${layer}”.`));
    this.comparePane.element.hidden = true;
    this.setMessage(null);
  }

  /** Fit the panes to the width they have now. */
  resize() {
    for (const pane of [this.pane, this.comparePane, this.probePane]) pane.resize();
  }

  /**
   * Redraw the runs' grids with another colour map (no request).
   *
   * @param {?ShownGrid} shown      the selected run's grid
   * @param {?ShownGrid} compared   the compared run's grid
   * @param {{cmap: string, zoom: string}} look
   */
  recolour(shown, compared, {cmap, zoom}) {
    if (shown) this.pane.draw(shown.grid, shown.pixels, cmap, zoom);
    if (compared) this.comparePane.draw(compared.grid, compared.pixels, cmap, zoom);
  }

  /**
   * Zoom the runs' grids. The probe image keeps its zoom until it is next
   * drawn: it is small and never fit to the width.
   *
   * @param {string} zoom   a ZOOMS entry
   */
  zoomTo(zoom) {
    for (const pane of [this.pane, this.comparePane]) {
      pane.zoom = zoom;
      pane.resize();
    }
  }
}
