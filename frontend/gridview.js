// View: a layer's grid drawn on a canvas at true pixel size (zoomable,
// never blurred), a tooltip naming the tile under the pointer, and a click
// that opens the channel.

import {el, fmt, replace} from './dom.js';
import {colorizeGrid, resolveColormap, tileCount, valueAt} from './colormap.js';

/**
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./api.js').Pixels} Pixels
 *
 * @typedef {Object} TileHit
 * @property {number} tile       tile index in the grid
 * @property {number} x          pixel column inside the tile
 * @property {number} y          pixel row inside the tile
 */

/** Zoom steps offered by the zoom menu (besides 'auto' and 'fit'). */
export const ZOOMS = ['auto', 'fit', '0.5', '1', '2', '3', '4', '6', '8', '12', '16'];

/**
 * Which tile, if any, holds grid pixel (px, py).
 *
 * @param {GridDoc} grid
 * @param {number} px
 * @param {number} py
 * @returns {?TileHit}
 */
export function hitTest(grid, px, py) {
  if (px < 0 || py < 0 || px >= grid.width || py >= grid.height) return null;
  const cellW = grid.tile_width + grid.pad;
  const cellH = grid.tile_height + grid.pad;
  const col = Math.floor(px / cellW);
  const row = Math.floor(py / cellH);
  const x = px - col * cellW;
  const y = py - row * cellH;
  if (x >= grid.tile_width || y >= grid.tile_height || col >= grid.cols) return null;
  const tile = row * grid.cols + col;
  if (tile >= tileCount(grid)) return null;
  return {tile, x, y};
}

/**
 * What a tile shows: its channel (and input channel for a mosaic).
 *
 * @param {GridDoc} grid
 * @param {number} tile
 * @param {number} [x]   pixel inside the tile (a matrix names row/column)
 * @param {number} [y]
 * @returns {{channel: ?number, input: ?number, label: string}}
 */
export function describeTile(grid, tile, x, y) {
  const channels = grid.channels || [];
  const inputs = grid.input_channels || [];
  if (grid.layout === 'mosaic') {
    const channel = channels[tile % grid.cols] ?? null;
    const input = inputs[Math.floor(tile / grid.cols)] ?? null;
    return {channel, input, label: `input ${input} → filter ${channel}`};
  }
  if (grid.layout === 'matrix') {
    if (x == null || y == null) return {channel: null, input: null, label: 'input × output matrix'};
    const channel = channels[x] ?? x;
    const input = inputs[y] ?? y;
    return {channel: null, input: null, label: `input ${input} → output ${channel}`};
  }
  if (grid.kind === 'probe') return {channel: null, input: null, label: `image ${grid.sample + 1}`};
  const channel = channels[tile] ?? tile;
  return {channel, input: null, label: `channel ${channel}`};
}

/**
 * The tile showing a channel (and input channel for a mosaic), or -1.
 *
 * @param {GridDoc} grid
 * @param {?number} channel
 * @param {?number} [input]
 * @returns {number}
 */
export function tileOf(grid, channel, input) {
  if (grid.layout === 'matrix') return 0;
  if (channel == null) return -1;
  const channels = grid.channels || [];
  if (grid.layout === 'mosaic') {
    const col = channels.indexOf(channel);
    const row = (grid.input_channels || []).indexOf(input == null ? -1 : input);
    return col < 0 || row < 0 ? -1 : row * grid.cols + col;
  }
  return channels.indexOf(channel);
}

/**
 * The CSS scale for a zoom setting.
 *
 * @param {string} zoom     a ZOOMS entry
 * @param {GridDoc} grid
 * @param {number} width    width available, CSS px
 * @returns {number}
 */
export function zoomFactor(zoom, grid, width) {
  const available = Math.max(120, width);
  if (zoom === 'fit') return available / grid.width;
  const fixed = Number(zoom);
  if (zoom !== 'auto' && fixed > 0) return fixed;
  // auto: true pixel size for grids that fit, whole-number enlargement of
  // small ones (never blurred), up to 8x.
  if (grid.width >= available) return 1;
  return Math.max(1, Math.min(8, Math.floor(available / grid.width)));
}

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
   * @param {{onTile: function(GridDoc, number): void, caption?: string}} options
   */
  constructor({onTile, caption}) {
    this.onTile = onTile;
    /** @type {?GridDoc} */
    this.grid = null;
    /** @type {?Pixels} */
    this.pixels = null;
    this.canvas = el('canvas', {
      className: 'fv-canvas',
      testid: 'grid-canvas',
      attrs: {role: 'img'},
    });
    this.tooltip = el('div', {className: 'fv-tooltip', attrs: {role: 'tooltip'}, testid: 'tile-tooltip'});
    this.tooltip.hidden = true;
    this.scroller = el('div', {className: 'fv-scroller'}, this.canvas, this.tooltip);
    this.caption = el('div', {className: 'fv-pane-caption', text: caption || ''});
    this.status = el('div', {className: 'fv-pane-status'});
    this.element = el('section', {className: 'fv-pane'}, this.caption, this.scroller, this.status);
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
    this.canvas.addEventListener('mouseleave', () => { this.tooltip.hidden = true; });
    this.canvas.addEventListener('click', (e) => {
      const hit = this.hitAt(e);
      if (hit && this.grid) this.onTile(this.grid, hit.tile);
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
    const what = describeTile(grid, hit.tile, hit.x, hit.y);
    const value = valueAt(this.pixels, grid, hit.tile, hit.x, hit.y);
    const valueText = Array.isArray(value) ? value.map(fmt).join(', ') : fmt(value);
    replace(this.tooltip,
        el('strong', {text: what.label}),
        el('div', {text: `range ${rangeText(grid, hit.tile)}`}),
        el('div', {text: `value ${valueText} at (${hit.y}, ${hit.x})`}));
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
