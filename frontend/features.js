// Feature visualization (the `features` kind): one optimised RGB image per
// channel, whose record adds `quality` (docs/format.md): per entry of
// `channels`, the channel's objective on the optimised image, on a noise
// image of the same size, and their ratio. The ratio is what tells a real
// visualization from a failed one, so the panel puts it wherever a tile of
// such a grid is named, and marks a low one with words and a sign, never
// with colour alone. The record's `optimisation` (how the images were made:
// objective, steps, size, canvas, seed) is put in one caption line beside
// them. Grids are recognised by their `quality` and `optimisation` keys, not
// by the kind's name: a renamed or newer kind with the same keys reads the
// same.

import {el} from './dom.js';
import {describeTile, tileCount, tileOrigin} from './geometry.js';

/**
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./geometry.js').TileMeaning} TileMeaning
 *
 * @typedef {Object} Quality
 * @property {?number} objective   the channel's objective on the optimised image
 * @property {?number} noise       ... on a random-noise image of the same size
 * @property {?number} ratio       objective / |noise|; null when undefined
 */

/** The kind the feature-visualization engine logs. */
export const FEATURES = 'features';

/**
 * Below this many times the noise image's objective a visualization has
 * most likely failed: the optimiser found nothing the channel prefers
 * clearly to noise.
 */
export const FAILED_BELOW = 2;

/** @param {*} value  @returns {?number} a finite number, else null */
function finite(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * The quality figures of tile `tile`, or null when the grid carries none.
 * A malformed `quality` (logs are untrusted) reads as missing figures.
 *
 * @param {GridDoc} grid
 * @param {number} tile
 * @returns {?Quality}
 */
export function qualityOf(grid, tile) {
  const q = /** @type {*} */ (grid).quality;
  if (!q || typeof q !== 'object' || grid.layout !== 'tiles') return null;
  /** @param {*} list */
  const pick = (list) => (Array.isArray(list) ? finite(list[tile]) : null);
  return {objective: pick(q.objective), noise: pick(q.noise_objective), ratio: pick(q.ratio)};
}

/**
 * The ratio in words: "23.4× noise" (whole numbers from 100 up). Rounded
 * down, so that a ratio under FAILED_BELOW never reads as 2.0 beside its
 * failed marker; the epsilon keeps 2.3 (22.999… tenths in binary) at 2.3.
 *
 * @param {?Quality} quality
 * @returns {string}
 */
export function ratioText(quality) {
  if (!quality || quality.ratio == null) return 'no noise ratio';
  const r = quality.ratio;
  const shown = Math.abs(r) >= 100 ? String(Math.floor(r + 1e-9)) :
    (Math.floor(r * 10 + 1e-9) / 10).toFixed(1);
  return `${shown}× noise`;
}

/**
 * True when the ratio says the visualization most likely failed.
 *
 * @param {?Quality} quality
 * @returns {boolean}
 */
export function likelyFailed(quality) {
  return !!quality && quality.ratio != null && quality.ratio < FAILED_BELOW;
}

/**
 * What a tile shows (geometry.describeTile), its noise ratio added to the
 * label when the grid has quality figures: "channel 7 · 23.4× noise".
 * The default namer of grid panes and the channel view.
 *
 * @param {GridDoc} grid
 * @param {number} tile
 * @param {number} [x]
 * @param {number} [y]
 * @returns {TileMeaning}
 */
export function describeWithQuality(grid, tile, x, y) {
  const what = describeTile(grid, tile, x, y);
  const quality = qualityOf(grid, tile);
  return quality ? {...what, label: `${what.label} · ${ratioText(quality)}`} : what;
}

/** The marker's words, everywhere it appears. */
export const FAILED_TEXT = 'likely failed visualization';

/**
 * The tiles of a grid whose visualization likely failed.
 *
 * @param {GridDoc} grid
 * @returns {number[]}
 */
export function failedTiles(grid) {
  const out = [];
  for (let t = 0; t < tileCount(grid); t++) {
    if (likelyFailed(qualityOf(grid, t))) out.push(t);
  }
  return out;
}

/**
 * One sentence on the failed tiles of a grid, for the pane's status line
 * ('' when none failed or the grid has no quality figures).
 *
 * @param {GridDoc} grid
 * @returns {string}
 */
export function failedSummary(grid) {
  const failed = failedTiles(grid);
  if (!failed.length) return '';
  const names = failed.map((t) => (grid.channels || [])[t] ?? t).join(', ');
  return `⚠ ${failed.length} ${FAILED_TEXT}${failed.length === 1 ? '' : 's'} ` +
    `(under ${FAILED_BELOW}× noise): channel${failed.length === 1 ? '' : 's'} ${names}`;
}

/**
 * Markers over the failed tiles of a grid, for an overlay the size of the
 * grid's canvas: positions in percent, so every zoom keeps them in place.
 * Each says what it marks to assistive technology.
 *
 * @param {GridDoc} grid
 * @returns {HTMLElement[]}
 */
export function failedBadges(grid) {
  return failedTiles(grid).map((t) => {
    const {x, y} = tileOrigin(grid, t);
    const channel = (grid.channels || [])[t] ?? t;
    const words = `channel ${channel}: ${FAILED_TEXT}, ${ratioText(qualityOf(grid, t))}`;
    return el('span', {className: 'fv-failed-badge', text: '⚠', testid: 'failed-marker',
      attrs: {role: 'img', 'aria-label': words, title: words,
        style: `left: ${(x / grid.width) * 100}%; top: ${(y / grid.height) * 100}%`}});
  });
}

/**
 * The quality figures of one tile in a line, with the failed marker when
 * the ratio is low; null when the grid has none.
 *
 * @param {?Quality} quality
 * @returns {?HTMLElement}
 */
export function qualityNote(quality) {
  if (!quality) return null;
  /** @param {?number} v */
  const num = (v) => (v == null ? '—' : String(Number(v.toPrecision(4))));
  const figures = `objective ${num(quality.objective)} on this image, ` +
    `${num(quality.noise)} on noise: ${ratioText(quality)}`;
  const failed = likelyFailed(quality);
  return el('div', {className: `fv-quality${failed ? ' fv-quality-failed' : ''}`, testid: 'quality-note'},
      failed ? el('strong', {text: `⚠ ${FAILED_TEXT} (under ${FAILED_BELOW}× noise). `}) : null,
      figures);
}

/**
 * @param {*} value
 * @param {number} least
 * @returns {?number} a whole number >= `least`, else null
 */
function whole(value, least) {
  return Number.isSafeInteger(value) && value >= least ? value : null;
}

/**
 * How a grid's feature visualizations were made, in one caption line:
 * "channel objective · 64 steps · 128 px (on a 299 px canvas) · seed 0".
 * The canvas (the side of the picture the model saw) is said only where it
 * differs from the image's size. Each field that is missing or malformed
 * (logs are untrusted) is left out; '' when the grid has no `optimisation`
 * object or none of its fields is readable. An objective is a short word
 * (`channel`, `neuron`, `direction` today), never free text.
 *
 * @param {GridDoc} grid
 * @returns {string}
 */
export function optimisationText(grid) {
  const o = /** @type {*} */ (grid).optimisation;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return '';
  const parts = [];
  if (typeof o.objective === 'string' && /^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(o.objective)) {
    parts.push(`${o.objective} objective`);
  }
  const steps = whole(o.steps, 1);
  if (steps != null) parts.push(`${steps} step${steps === 1 ? '' : 's'}`);
  const size = whole(o.size, 1);
  const canvas = whole(o.canvas, 1);
  const onCanvas = canvas != null && canvas !== size ? `on a ${canvas} px canvas` : '';
  if (size != null) parts.push(`${size} px${onCanvas ? ` (${onCanvas})` : ''}`);
  else if (onCanvas) parts.push(onCanvas);
  const seed = whole(o.seed, 0);
  if (seed != null) parts.push(`seed ${seed}`);
  return parts.join(' · ');
}
