// View: one channel large, with a colour scale labelled in real values
// (from the tile's lo/hi), its stats, buttons that download it, and the
// same channel at other steps, in the layer's other kinds (feature map,
// filter, feature visualization) and in the compared run, side by side. A
// feature visualization's quality is said in a note; a dead channel's
// image is covered wherever it is drawn, as in the grid.

import {el, fitCanvas, fmt, onActivate, pct, replace} from './dom.js';
import {colorizeTile, isRgb, resolveColormap, scaleColors, valueAt} from './colormap.js';
import {describeTile, statOf} from './geometry.js';
import {deadCover, describeWithQuality, isDead, optimisationText, qualityNote,
  qualityOf} from './features.js';
import {rangeText} from './gridview.js';
import {isExamples} from './examples.js';

/**
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./api.js').Pixels} Pixels
 *
 * @typedef {Object} TileRef
 * @property {GridDoc} grid
 * @property {Pixels} pixels
 * @property {number} tile
 *
 * @typedef {Object} StripItem
 * @property {string} label
 * @property {?TileRef} ref         null while loading or when missing
 * @property {string} [message]     why there is no tile
 * @property {string} [detail]      second caption line (default: the tile's range)
 * @property {string} [note]        a further caption line (how a feature
 *     visualization was made)
 * @property {string} [warning]     a marker line under the caption, sign and
 *     words (features.tileWarning), not colour
 * @property {string} [kind]        the kind the figure shows (data-kind)
 * @property {boolean} [current]
 * @property {function(): void} [onClick]
 *
 * @typedef {Object} ChannelViewActions
 * @property {function(): void} onClose
 * @property {function(number): void} onMove     next (+1) or previous (-1) channel
 * @property {function(): void} onExportPng      download the channel as shown
 * @property {function(): void} onExportCsv      download its statistics per step
 * @property {HTMLElement} examples    the section on the channel's dataset
 *     examples (examplespanel.js fills it), placed after the other views
 */

/**
 * Draw one tile into a canvas at its own pixel size; CSS scales it.
 *
 * @param {HTMLCanvasElement} canvas
 * @param {TileRef} ref
 * @param {string} cmap
 */
export function drawTile(canvas, ref, cmap) {
  canvas.width = ref.grid.tile_width;
  canvas.height = ref.grid.tile_height;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  ctx.putImageData(colorizeTile(ref.pixels, ref.grid, ref.tile, resolveColormap(cmap, ref.grid)),
      0, 0);
}

/** The channel panel. */
export class ChannelView {
  /** @param {ChannelViewActions} actions */
  constructor({onClose, onMove, onExportPng, onExportCsv, examples}) {
    this.title = el('h2', {className: 'fv-channel-title'});
    this.subtitle = el('div', {className: 'fv-muted'});
    this.quality = el('div');
    this.optimisation = el('div', {className: 'fv-muted fv-optimisation', testid: 'optimisation-caption'});
    this.canvas = /** @type {HTMLCanvasElement} */ (el('canvas', {
      className: 'fv-canvas fv-channel-canvas', testid: 'channel-canvas', attrs: {role: 'img'}}));
    // Over the canvas at its CSS size: the dead channel's cover, if any.
    this.cover = el('div', {className: 'fv-overlay'});
    this.readout = el('div', {className: 'fv-readout', attrs: {'aria-live': 'polite'},
      text: 'Point at a pixel to read its value.'});
    this.scale = el('div', {className: 'fv-scale'});
    this.stats = el('dl', {className: 'fv-stats'});
    this.strip = el('div', {className: 'fv-strip', testid: 'channel-steps'});
    this.compare = el('div', {className: 'fv-strip', testid: 'channel-compare'});
    this.related = el('div', {className: 'fv-strip', testid: 'channel-related'});
    this.exportStatus = el('span', {className: 'fv-muted', attrs: {'aria-live': 'polite'}});
    const exports = el('div', {className: 'fv-exports'},
        el('button', {text: 'Download PNG', testid: 'export-channel-png', attrs: {type: 'button',
          title: 'Download this channel as shown: colour map applied, one pixel per value'},
        on: {click: () => onExportPng()}}),
        el('button', {text: 'Download CSV', testid: 'export-channel-csv', attrs: {type: 'button',
          title: 'Download this channel’s range and statistics at every kept step, as CSV'},
        on: {click: () => onExportCsv()}}),
        this.exportStatus);
    this.stripHeading = el('h3', {text: 'Same channel at other steps'});
    const close = el('button', {className: 'fv-close', text: '×',
      attrs: {type: 'button', 'aria-label': 'Close channel', title: 'Close (Esc)'},
      on: {click: () => onClose()}});
    const prev = el('button', {text: '◀', attrs: {type: 'button', title: 'Previous channel',
      'aria-label': 'Previous channel'}, on: {click: () => onMove(-1)}});
    const next = el('button', {text: '▶', attrs: {type: 'button', title: 'Next channel',
      'aria-label': 'Next channel'}, on: {click: () => onMove(1)}});
    this.element = el('aside', {
      className: 'fv-channel',
      testid: 'channel-view',
      attrs: {'aria-label': 'Channel', tabindex: '-1'},
    },
    el('div', {className: 'fv-channel-head'}, this.title, el('span', {className: 'fv-grow'}),
        prev, next, close),
    this.subtitle,
    this.quality,
    this.optimisation,
    el('div', {className: 'fv-channel-body'},
        el('div', {className: 'fv-canvas-wrap'}, this.canvas, this.cover)),
    this.readout,
    exports,
    this.scale,
    this.related,
    examples,
    this.stats,
    this.stripHeading, this.strip,
    this.compare);
    this.element.hidden = true;
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
    /** @type {?TileRef} */
    this.ref = null;
  }

  /**
   * Show a tile.
   *
   * @param {TileRef} ref
   * @param {string} cmap
   * @param {string} context    run · layer · kind, for the subtitle
   */
  show(ref, cmap, context) {
    this.ref = ref;
    this.cmap = cmap;
    const {grid, tile} = ref;
    const what = describeWithQuality(grid, tile);
    this.element.hidden = false;
    this.title.textContent = what.label;
    replace(this.quality, qualityNote(qualityOf(grid, tile)));
    replace(this.cover, deadCover(grid, tile));
    this.optimisation.textContent = optimisationText(grid);
    this.exportStatus.textContent = '';
    this.subtitle.textContent = `${context} · step ${grid.step} · image ${grid.sample + 1}`;
    drawTile(this.canvas, ref, cmap);
    fitCanvas(this.canvas, 300);
    this.canvas.setAttribute('aria-label', `${what.label} at step ${grid.step}`);
    this.readout.textContent = 'Point at a pixel to read its value.';
    this.renderScale(grid, tile, cmap);
    this.renderStats(grid, tile);
  }

  hide() {
    this.element.hidden = true;
    this.ref = null;
  }

  /**
   * Say how an export went (an error, or nothing).
   *
   * @param {string} text
   */
  setExportStatus(text) {
    this.exportStatus.textContent = text;
  }

  /**
   * @param {GridDoc} grid
   * @param {number} tile
   * @param {string} cmap
   */
  renderScale(grid, tile, cmap) {
    const lo = grid.lo ? grid.lo[tile] : null;
    const hi = grid.hi ? grid.hi[tile] : null;
    const used = isRgb(grid) ? 'grey' : resolveColormap(cmap, grid);
    const bar = /** @type {HTMLCanvasElement} */ (
      el('canvas', {className: 'fv-scale-bar', testid: 'colour-scale'}));
    bar.width = 256;
    bar.height = 1;
    const ctx = /** @type {CanvasRenderingContext2D} */ (bar.getContext('2d'));
    ctx.putImageData(new ImageData(/** @type {Uint8ClampedArray<ArrayBuffer>} */ (
      scaleColors(used, lo, hi)), 256, 1), 0, 0);
    const labels = el('div', {className: 'fv-scale-labels'});
    if (lo == null || hi == null) {
      labels.appendChild(el('span', {text: 'no finite value in this channel'}));
    } else {
      for (const v of [lo, (lo + hi) / 2, hi]) labels.appendChild(el('span', {text: fmt(v)}));
    }
    const note = isRgb(grid) ? 'RGB tile: each colour linear over the same range' :
      `${used} colour scale, linear in value`;
    replace(this.scale, bar, labels, el('div', {className: 'fv-muted', text: note}));
  }

  /**
   * @param {GridDoc} grid
   * @param {number} tile
   */
  renderStats(grid, tile) {
    /** @param {string} key */
    const stat = (key) => statOf(grid, tile, key);
    // An examples tile is crops of pictures: its pixel figures say nothing
    // of the channel (its statistics over the data are in its section).
    const pictures = isExamples(grid);
    /** @type {Array<[string, string]>} */
    const rows = pictures ? [['size', `${grid.tile_height}×${grid.tile_width}`]] : [
      ['range', rangeText(grid, tile)],
      ['size', `${grid.tile_height}×${grid.tile_width}`],
    ];
    if (!pictures && stat('mean') !== undefined) rows.push(['mean', fmt(stat('mean') ?? null)]);
    if (!pictures && stat('zero_fraction') !== undefined) {
      rows.push(['zeros', pct(stat('zero_fraction') ?? null)]);
    }
    if (!pictures && stat('nonfinite_fraction') !== undefined) {
      rows.push(['non-finite', pct(stat('nonfinite_fraction') ?? null)]);
    }
    if (grid.layout === 'tiles' && grid.total_channels) {
      rows.push(['channels logged', `${(grid.channels || []).length} of ${grid.total_channels}`]);
    }
    rows.push(['scale', `${grid.scale}${grid.symmetric ? ', symmetric' : ''}`]);
    replace(this.stats, ...rows.flatMap(([k, v]) => [el('dt', {text: k}), el('dd', {text: v})]));
  }

  /** @param {MouseEvent} e */
  hover(e) {
    if (!this.ref) return;
    const {grid, pixels, tile} = this.ref;
    const rect = this.canvas.getBoundingClientRect();
    const x = Math.floor(((e.clientX - rect.left) / rect.width) * grid.tile_width);
    const y = Math.floor(((e.clientY - rect.top) / rect.height) * grid.tile_height);
    if (x < 0 || y < 0 || x >= grid.tile_width || y >= grid.tile_height) return;
    const value = valueAt(pixels, grid, tile, x, y);
    const text = Array.isArray(value) ? value.map(fmt).join(', ') : fmt(value);
    const what = describeTile(grid, tile, x, y);
    this.readout.textContent = grid.layout === 'matrix' ?
      `${what.label}: ${text}` : `(${y}, ${x}): ${text}`;
  }

  /**
   * Render small multiples of the channel (other steps, other kinds, other run).
   *
   * @param {'steps'|'related'|'compare'} which
   * @param {StripItem[]} items
   * @param {string} [heading]
   */
  setStrip(which, items, heading) {
    const target = {steps: this.strip, related: this.related, compare: this.compare}[which];
    const figures = items.map((item) => {
      const canvas = /** @type {HTMLCanvasElement} */ (el('canvas', {className: 'fv-canvas fv-mini'}));
      const figure = el('figure', {
        className: `fv-figure${item.current ? ' fv-current' : ''}`,
        attrs: {...(item.onClick ? {role: 'button', tabindex: '0', title: `Show ${item.label}`} : {}),
          'data-kind': item.kind},
      });
      const dead = !!item.ref && isDead(qualityOf(item.ref.grid, item.ref.tile));
      const warning = item.warning ? el('span', {
        className: `fv-warning${dead ? ' fv-warning-dead' : ''}`, text: item.warning}) : null;
      if (item.ref) {
        drawTile(canvas, item.ref, this.cmap || 'auto');
        fitCanvas(canvas, 72);
        const cover = deadCover(item.ref.grid, item.ref.tile);
        figure.append(cover ? el('div', {className: 'fv-canvas-wrap'}, canvas,
            el('div', {className: 'fv-overlay'}, cover)) : canvas, el('figcaption', {},
            el('span', {text: item.label}),
            el('span', {className: 'fv-muted',
              text: item.detail ?? rangeText(item.ref.grid, item.ref.tile)}),
            item.note ? el('span', {className: 'fv-muted fv-figure-note', text: item.note,
              testid: 'optimisation-caption'}) : null,
            warning));
      } else {
        figure.append(el('div', {className: 'fv-mini fv-placeholder', text: item.message || '…'}),
            el('figcaption', {text: item.label}));
      }
      if (item.onClick) {
        onActivate(figure, /** @type {function(): void} */ (item.onClick));
      }
      return figure;
    });
    if (which === 'steps' && heading) this.stripHeading.textContent = heading;
    if (which !== 'steps') {
      replace(target, ...(items.length ? [el('h3', {text: heading || ''}), ...figures] : []));
    } else {
      replace(target, ...figures);
    }
  }
}
