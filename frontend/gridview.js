// View: a layer's grid drawn on a canvas at true pixel size (zoomable,
// never blurred), a tooltip naming the tile under the pointer, a click
// that opens the channel, markers over feature visualizations that likely
// failed, covers over dead channels (whose images show nothing), how the
// images were made, and (where the owner asks for it) a button that
// downloads the grid as drawn.

import {el, fmt, replace} from './dom.js';
import {colorizeGrid, resolveColormap, valueAt} from './colormap.js';
import {hitTest, tileCount, zoomFactor} from './geometry.js';
import {NOISE_OFF_NOTE, deadBadges, deadSummary, describeWithQuality, failedBadges,
  failedSummary, isDead, optimisationText, qualityOf, ratioIsBound, tileWarning} from './features.js';

/**
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./api.js').Pixels} Pixels
 * @typedef {import('./geometry.js').TileHit} TileHit
 * @typedef {import('./geometry.js').TileMeaning} TileMeaning
 */

/**
 * Value range text of a tile.
 *
 * @param {GridDoc} grid
 * @param {number} tile
 * @returns {string}
 */
export function rangeText(grid, tile) {
  const lo = grid.lo ? grid.lo[tile] : null;
  const hi = grid.hi ? grid.hi[tile] : null;
  if (lo == null || hi == null) return 'no finite value';
  return `${fmt(lo)} … ${fmt(hi)}`;
}

/** One grid on a canvas, with hover and click. */
export class GridPane {
  /**
   * @param {Object} options
   * @param {function(GridDoc, number, number, number): void} options.onTile  a tile
   *     was clicked: the grid, the tile and the pixel inside it (x, y)
   * @param {string} [options.caption]   caption until the first grid is drawn
   * @param {function(GridDoc, number, number, number): TileMeaning} [options.describe]
   *     names the tile under the pointer; a pane of whole images (the probe)
   *     names the image instead of a channel. A meaning with `lines` (a crop
   *     of dataset examples) is shown in those lines instead of the pixel's
   *     value, which says nothing there
   * @param {function(HTMLCanvasElement, GridDoc): void} [options.onExport]  offer a
   *     download button; called with the canvas and the grid it shows
   */
  constructor({onTile, caption, describe = describeWithQuality, onExport}) {
    this.onTile = onTile;
    this.describe = describe;
    /** @type {?GridDoc} */
    this.grid = null;
    /** @type {?Pixels} */
    this.pixels = null;
    this.canvas = /** @type {HTMLCanvasElement} */ (el('canvas', {
      className: 'fv-canvas',
      testid: 'grid-canvas',
      attrs: {role: 'img'},
    }));
    this.tooltip = el('div', {className: 'fv-tooltip', attrs: {role: 'tooltip'}, testid: 'tile-tooltip'});
    this.tooltip.hidden = true;
    // The overlay has the canvas' CSS size, so markers placed in percent
    // stay on their tiles at every zoom.
    this.overlay = el('div', {className: 'fv-overlay'});
    this.scroller = el('div', {className: 'fv-scroller'},
        el('div', {className: 'fv-canvas-wrap'}, this.canvas, this.overlay), this.tooltip);
    this.caption = el('div', {className: 'fv-pane-caption', text: caption || ''});
    this.status = el('div', {className: 'fv-pane-status'});
    this.optimisation = el('div', {className: 'fv-pane-optimisation', testid: 'optimisation-caption'});
    this.dead = el('div', {className: 'fv-pane-dead', testid: 'dead-summary'});
    this.failed = el('div', {className: 'fv-pane-failed', testid: 'failed-summary'});
    /** @type {?HTMLButtonElement} enabled while a grid is drawn */
    this.exportButton = onExport ? /** @type {HTMLButtonElement} */ (el('button', {
      text: 'Download PNG', testid: 'export-grid-png',
      attrs: {type: 'button', disabled: 'disabled',
        title: 'Download this grid as shown: colour map applied, one pixel per grid pixel'},
      on: {click: () => this.grid && onExport(this.canvas, this.grid)}})) : null;
    this.element = el('section', {className: 'fv-pane'},
        el('div', {className: 'fv-pane-head'}, this.caption, this.exportButton),
        this.scroller, this.status, this.optimisation, this.dead, this.failed);
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
    this.canvas.addEventListener('mouseleave', () => { this.tooltip.hidden = true; });
    this.canvas.addEventListener('click', (e) => {
      const hit = this.hitAt(e);
      if (hit && this.grid) this.onTile(this.grid, hit.tile, hit.x, hit.y);
    });
  }

  /** @param {string} text */
  setCaption(text) {
    this.caption.textContent = text;
  }

  /**
   * Show a message in place of the grid.
   *
   * @param {HTMLElement} node
   */
  showNotice(node) {
    this.grid = null;
    this.pixels = null;
    this.canvas.hidden = true;
    this.tooltip.hidden = true;
    if (this.exportButton) this.exportButton.disabled = true;
    replace(this.overlay);
    replace(this.optimisation);
    replace(this.dead);
    replace(this.failed);
    replace(this.status, node);
  }

  /**
   * Draw a grid.
   *
   * @param {GridDoc} grid
   * @param {Pixels} pixels
   * @param {string} cmap     a COLORMAPS entry
   * @param {string} zoom     a ZOOMS entry
   */
  draw(grid, pixels, cmap, zoom) {
    this.grid = grid;
    this.pixels = pixels;
    this.cmap = cmap;
    this.zoom = zoom;
    this.canvas.hidden = false;
    this.canvas.width = pixels.width;
    this.canvas.height = pixels.height;
    const ctx = /** @type {CanvasRenderingContext2D} */ (this.canvas.getContext('2d'));
    ctx.putImageData(colorizeGrid(pixels, grid, resolveColormap(cmap, grid)), 0, 0);
    const shown = grid.total_channels > (grid.channels || []).length && grid.layout === 'tiles' ?
      `${grid.channels.length} of ${grid.total_channels} channels` :
      `${tileCount(grid)} tile${tileCount(grid) === 1 ? '' : 's'}`;
    this.canvas.setAttribute('aria-label',
        `${grid.kind} of ${grid.layer} at step ${grid.step}: ${shown}`);
    replace(this.status, `${shown} · ${grid.tile_height}×${grid.tile_width} px · ` +
        `${grid.width}×${grid.height} px grid · ${grid.scale} scale` +
        (grid.nonfinite ? ` · ${grid.nonfinite} non-finite values (magenta)` : ''));
    // A dead channel's tile is covered (its image shows nothing), never
    // marked failed: features.likelyFailed leaves dead channels out.
    replace(this.overlay, ...deadBadges(grid), ...failedBadges(grid));
    this.optimisation.textContent = optimisationText(grid);
    this.dead.textContent = deadSummary(grid);
    this.failed.textContent = failedSummary(grid);
    if (this.exportButton) this.exportButton.disabled = false;
    this.resize();
  }

  /** Apply the zoom to the canvas' CSS size. */
  resize() {
    if (!this.grid) return;
    const width = this.scroller.clientWidth || this.element.clientWidth || 600;
    const factor = zoomFactor(this.zoom || 'auto', this.grid, width - 2);
    this.factor = factor;
    this.canvas.style.width = `${Math.round(this.grid.width * factor * 100) / 100}px`;
    this.canvas.style.height = `${Math.round(this.grid.height * factor * 100) / 100}px`;
  }

  /**
   * @param {MouseEvent} e
   * @returns {?TileHit}
   */
  hitAt(e) {
    if (!this.grid) return null;
    const rect = this.canvas.getBoundingClientRect();
    if (!rect.width || !rect.height) return null;
    const px = Math.floor(((e.clientX - rect.left) / rect.width) * this.grid.width);
    const py = Math.floor(((e.clientY - rect.top) / rect.height) * this.grid.height);
    return hitTest(this.grid, px, py);
  }

  /** @param {MouseEvent} e */
  hover(e) {
    const hit = this.hitAt(e);
    if (!hit || !this.grid || !this.pixels) {
      this.tooltip.hidden = true;
      this.canvas.style.cursor = 'default';
      return;
    }
    this.canvas.style.cursor = 'pointer';
    const grid = this.grid;
    const what = /** @type {TileMeaning & {lines?: string[]}} */ (
      this.describe(grid, hit.tile, hit.x, hit.y));
    const value = valueAt(this.pixels, grid, hit.tile, hit.x, hit.y);
    const valueText = Array.isArray(value) ? value.map(fmt).join(', ') : fmt(value);
    const quality = qualityOf(grid, hit.tile);
    const warning = tileWarning(quality);
    const lines = Array.isArray(what.lines) ? what.lines :
      [`range ${rangeText(grid, hit.tile)}`, `value ${valueText} at (${hit.y}, ${hit.x})`];
    replace(this.tooltip,
        el('strong', {text: what.label}),
        warning ? el('div', {className: `fv-warning${isDead(quality) ? ' fv-warning-dead' : ''}`,
          text: warning}) : null,
        ratioIsBound(quality) ? el('div', {className: 'fv-muted', text: NOISE_OFF_NOTE}) : null,
        ...lines.map((text) => el('div', {text})));
    this.tooltip.hidden = false;
    const box = this.scroller.getBoundingClientRect();
    let left = e.clientX - box.left + this.scroller.scrollLeft + 14;
    const top = e.clientY - box.top + this.scroller.scrollTop + 14;
    const width = this.tooltip.offsetWidth;
    if (left + width > this.scroller.scrollLeft + this.scroller.clientWidth) {
      left = Math.max(0, left - width - 28);
    }
    this.tooltip.style.left = `${left}px`;
    this.tooltip.style.top = `${top}px`;
  }
}
