// Feature visualization (the `features` kind): one optimised RGB image per
// channel, whose record adds `quality` (docs/format.md): per entry of
// `channels`, the channel's objective on the optimised image, on a noise
// image of the same size, their ratio (capped at RATIO_CAP) and a status
// word. The ratio is what tells a real visualization from a failed one, so
// the panel puts it wherever a tile of such a grid is named, and marks a
// low one with words and a sign, never with colour alone. The status says
// when the ratio is not a measurement: "noise_off" (noise leaves the
// channel at 0, so a capped ratio is a bound, "≥1000× noise"), "nonfinite"
// (the model gave NaN/inf) and "dead" (the channel stayed at 0 however the
// image was pushed: the image shows nothing, and the panel covers the tile
// with its own marker instead of calling it a failed visualization).
// Older records have no status (and may have null ratios); they read as
// before. The record's `optimisation` (how the images were made:
// objective, steps, size, canvas, seed) is put in one caption line beside
// them. Grids are recognised by their `quality` and `optimisation` keys, not
// by the kind's name: a renamed or newer kind with the same keys reads the
// same.

import {el} from './dom.js';
import {describeTile, tileCount, tileOrigin} from './geometry.js';
import {finite, whole} from './values.js';

/**
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./geometry.js').TileMeaning} TileMeaning
 *
 * @typedef {Object} Quality
 * @property {?number} objective   the channel's objective on the optimised image
 * @property {?number} noise       ... on a random-noise image of the same size
 * @property {?number} ratio       objective / |noise|, within ±RATIO_CAP in
 *     records with a status; null when missing or not a finite number (older
 *     records write null where the ratio is undefined)
 * @property {?string} status      one of STATUSES; null in older records
 *     and where the logged word is unknown
 */

/** The kind the feature-visualization engine logs. */
export const FEATURES = 'features';

/**
 * Below this many times the noise image's objective a visualization has
 * most likely failed: the optimiser found nothing the channel prefers
 * clearly to noise.
 */
export const FAILED_BELOW = 2;

/**
 * The largest ratio a record states, and the status words of a channel's
 * quality. Their owner is the writer: RATIO_CAP and STATUS_* in
 * tb_featureviz/featurevis/quality.py; these mirror them for the panel.
 */
export const RATIO_CAP = 1000;

/** A measured ratio. */
export const STATUS_OK = 'ok';

/** Noise leaves the channel at exactly 0: the ratio is a bound (±RATIO_CAP). */
export const STATUS_NOISE_OFF = 'noise_off';

/**
 * The layer's activation clips and the channel stayed at 0 on every
 * optimisation step and on the final image although the optimiser pushed
 * its input up all along: a dead unit, whose image shows nothing.
 */
export const STATUS_DEAD = 'dead';

/** The model gave NaN or infinity: the ratio is not a measurement. */
export const STATUS_NONFINITE = 'nonfinite';

/** Every status word the panel knows; any other reads as none. */
export const STATUSES = Object.freeze([STATUS_OK, STATUS_NOISE_OFF, STATUS_DEAD, STATUS_NONFINITE]);

/**
 * The quality figures of tile `tile`, or null when the grid carries none.
 * A malformed `quality` (logs are untrusted) reads as missing figures, and
 * a status that is not one of STATUSES as no status.
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
  const word = Array.isArray(q.status) ? q.status[tile] : null;
  const status = typeof word === 'string' && STATUSES.includes(word) ? word : null;
  return {objective: pick(q.objective), noise: pick(q.noise_objective), ratio: pick(q.ratio), status};
}

/** A dead channel, in words, everywhere it is named. */
export const DEAD_TEXT = 'dead channel';

/** Why a channel is called dead ("stays …"; several "stay …"). */
const STAYS_OFF = 'at 0 however the image is pushed';

export const DEAD_WHY = `stays ${STAYS_OFF}`;

/** What a ratio at the cap means where noise leaves the channel at 0. */
export const NOISE_OFF_NOTE = 'noise leaves this channel at 0, so the ratio is a bound';

/**
 * The ratio in words: "23.4× noise" (whole numbers from 100 up). Rounded
 * down, so that a ratio under FAILED_BELOW never reads as 2.0 beside its
 * failed marker; the epsilon keeps 2.3 (22.999… tenths in binary) at 2.3.
 * At the cap, or where noise leaves the channel at 0, the ratio is a
 * bound: "≥1000× noise" ("≤−1000× noise" below zero). A dead channel
 * reads "dead channel"; where the model gave non-finite values, or both
 * the image and noise leave the channel at 0, there is no ratio to state.
 *
 * @param {?Quality} quality
 * @returns {string}
 */
export function ratioText(quality) {
  if (quality && quality.status === STATUS_DEAD) return DEAD_TEXT;
  if (quality && quality.status === STATUS_NONFINITE) return 'no noise ratio (non-finite values)';
  if (!quality || quality.ratio == null) return 'no noise ratio';
  const r = quality.ratio;
  const noiseOff = quality.status === STATUS_NOISE_OFF;
  if (noiseOff && r === 0) return 'no noise ratio (0 on this image and on noise)';
  if (noiseOff || Math.abs(r) >= RATIO_CAP) {
    return r > 0 ? `≥${RATIO_CAP}× noise` : `≤−${RATIO_CAP}× noise`;
  }
  const shown = Math.abs(r) >= 100 ? String(Math.floor(r + 1e-9)) :
    (Math.floor(r * 10 + 1e-9) / 10).toFixed(1);
  return `${shown}× noise`;
}

/**
 * True when the ratio says the visualization most likely failed. Never for
 * a dead channel (it has its own marker, isDead) nor where the model gave
 * non-finite values (the ratio is then no measurement).
 *
 * @param {?Quality} quality
 * @returns {boolean}
 */
export function likelyFailed(quality) {
  return !!quality && quality.ratio != null && quality.ratio < FAILED_BELOW &&
    quality.status !== STATUS_DEAD && quality.status !== STATUS_NONFINITE;
}

/**
 * True when the channel is dead: its image is not a visualization.
 *
 * @param {?Quality} quality
 * @returns {boolean}
 */
export function isDead(quality) {
  return !!quality && quality.status === STATUS_DEAD;
}

/**
 * True when the stated ratio is a bound because noise leaves the channel
 * at 0 (and the image does not).
 *
 * @param {?Quality} quality
 * @returns {boolean}
 */
export function ratioIsBound(quality) {
  return !!quality && quality.status === STATUS_NOISE_OFF && quality.ratio != null && quality.ratio !== 0;
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

/** The signs beside the words: a failed visualization, a dead channel. */
export const FAILED_SIGN = '⚠';

export const DEAD_SIGN = '⊘';

/**
 * The warning line of a tile, sign and words: "⊘ dead channel: stays at 0
 * however the image is pushed" or "⚠ likely failed visualization"; null
 * when there is nothing to warn of.
 *
 * @param {?Quality} quality
 * @returns {?string}
 */
export function tileWarning(quality) {
  if (isDead(quality)) return `${DEAD_SIGN} ${DEAD_TEXT}: ${DEAD_WHY}`;
  if (likelyFailed(quality)) return `${FAILED_SIGN} ${FAILED_TEXT}`;
  return null;
}

/**
 * The tiles of a grid whose quality passes `test`.
 *
 * @param {GridDoc} grid
 * @param {function(?Quality): boolean} test
 * @returns {number[]}
 */
function tilesWhere(grid, test) {
  const out = [];
  for (let t = 0; t < tileCount(grid); t++) {
    if (test(qualityOf(grid, t))) out.push(t);
  }
  return out;
}

/**
 * The tiles of a grid whose visualization likely failed.
 *
 * @param {GridDoc} grid
 * @returns {number[]}
 */
export function failedTiles(grid) {
  return tilesWhere(grid, likelyFailed);
}

/**
 * The tiles of a grid whose channel is dead.
 *
 * @param {GridDoc} grid
 * @returns {number[]}
 */
export function deadTiles(grid) {
  return tilesWhere(grid, isDead);
}

/**
 * @param {GridDoc} grid
 * @param {number} tile
 * @returns {*} the channel tile `tile` shows
 */
function channelOf(grid, tile) {
  return (grid.channels || [])[tile] ?? tile;
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
  const names = failed.map((t) => channelOf(grid, t)).join(', ');
  return `${FAILED_SIGN} ${failed.length} ${FAILED_TEXT}${failed.length === 1 ? '' : 's'} ` +
    `(under ${FAILED_BELOW}× noise): channel${failed.length === 1 ? '' : 's'} ${names}`;
}

/**
 * One sentence on the dead channels of a grid, for the pane's status line
 * ('' when none is dead or the grid has no quality figures).
 *
 * @param {GridDoc} grid
 * @returns {string}
 */
export function deadSummary(grid) {
  const dead = deadTiles(grid);
  if (!dead.length) return '';
  const one = dead.length === 1;
  const names = dead.map((t) => channelOf(grid, t)).join(', ');
  return `${DEAD_SIGN} ${dead.length} ${DEAD_TEXT}${one ? '' : 's'} ` +
    `(${one ? DEAD_WHY : `stay ${STAYS_OFF}`}): channel${one ? '' : 's'} ${names}`;
}

/**
 * A cover over a dead channel's tile: hatched, with the word "dead", so the
 * image is never taken for a visualization. Placed by `style` (positions
 * in percent of what it covers).
 *
 * @param {*} channel
 * @param {string} style
 * @returns {HTMLElement}
 */
function deadBadge(channel, style) {
  const words = `channel ${channel}: ${DEAD_TEXT}: ${DEAD_WHY}`;
  return el('span', {className: 'fv-dead-badge', testid: 'dead-marker',
    attrs: {role: 'img', 'aria-label': words, title: words, style}},
  el('span', {className: 'fv-dead-word', text: 'dead', attrs: {'aria-hidden': 'true'}}));
}

/**
 * Covers over the dead tiles of a grid, for the overlay the size of the
 * grid's canvas (as failedBadges): each covers its whole tile.
 *
 * @param {GridDoc} grid
 * @returns {HTMLElement[]}
 */
export function deadBadges(grid) {
  /** @param {number} v  @param {number} of */
  const pct = (v, of) => `${(v / of) * 100}%`;
  return deadTiles(grid).map((t) => {
    const {x, y} = tileOrigin(grid, t);
    return deadBadge(channelOf(grid, t),
        `left: ${pct(x, grid.width)}; top: ${pct(y, grid.height)}; ` +
        `width: ${pct(grid.tile_width, grid.width)}; height: ${pct(grid.tile_height, grid.height)}`);
  });
}

/**
 * A cover over one tile drawn on its own (the channel view, its strips),
 * when its channel is dead; null otherwise.
 *
 * @param {GridDoc} grid
 * @param {number} tile
 * @returns {?HTMLElement}
 */
export function deadCover(grid, tile) {
  return isDead(qualityOf(grid, tile)) ?
    deadBadge(channelOf(grid, tile), 'left: 0; top: 0; width: 100%; height: 100%') : null;
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
    const words = `channel ${channelOf(grid, t)}: ${FAILED_TEXT}, ${ratioText(qualityOf(grid, t))}`;
    return el('span', {className: 'fv-failed-badge', text: FAILED_SIGN, testid: 'failed-marker',
      attrs: {role: 'img', 'aria-label': words, title: words,
        style: `left: ${(x / grid.width) * 100}%; top: ${(y / grid.height) * 100}%`}});
  });
}

/**
 * The quality figures of one tile in a line, with the failed marker when
 * the ratio is low, a stronger one instead when the channel is dead, and a
 * word on the bound where noise leaves the channel at 0; null when the
 * grid has none.
 *
 * @param {?Quality} quality
 * @returns {?HTMLElement}
 */
export function qualityNote(quality) {
  if (!quality) return null;
  /** @param {?number} v */
  const num = (v) => (v == null ? '—' : String(Number(v.toPrecision(4))));
  const dead = isDead(quality);
  const figures = `objective ${num(quality.objective)} on this image, ${num(quality.noise)} on noise` +
    (dead ? '' : `: ${ratioText(quality)}`) +
    (ratioIsBound(quality) ? ` (${NOISE_OFF_NOTE})` : '');
  const failed = likelyFailed(quality);
  let lead = null;
  if (dead) {
    lead = `${DEAD_SIGN} Dead channel: it ${DEAD_WHY}, so this image is not a visualization of anything. `;
  } else if (failed) {
    lead = `${FAILED_SIGN} ${FAILED_TEXT} (under ${FAILED_BELOW}× noise). `;
  }
  const marked = dead ? ' fv-quality-dead' : failed ? ' fv-quality-failed' : '';
  return el('div', {className: `fv-quality${marked}`, testid: 'quality-note'},
      lead ? el('strong', {text: lead}) : null,
      figures);
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
