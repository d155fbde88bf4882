// Attribution maps (the `attribution` kind, Grad-CAM family): reading the
// record. A logged attribution grid holds, per probe picture, one tile per
// target class: the picture with the map blended over it (docs/format.md).
// Its record carries the raw maps (`targets[t].heatmap`, rows of floats at
// the layer's resolution), each target's class, name, logit and
// probability, and a header (`attribution`: method, opacity, ...). The
// panel draws its own overlay from the raw map with heatmap.js, exactly as
// the writer does. Grids are recognised by their keys (`targets`,
// `attribution`), not by the kind's name. Logs are untrusted: a malformed
// field reads as missing, and says so in a note. Pure functions over plain
// objects: no DOM.

import {fmt, pct} from './dom.js';
import {readMap} from './heatmap.js';
import {finite, fraction, isObject, readOnce, whole} from './values.js';

/**
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./geometry.js').TileMeaning} TileMeaning
 *
 * @typedef {import('./heatmap.js').RawMap} RawMap
 * @typedef {Object} Target   one target class of a picture (one tile)
 * @property {number} tile
 * @property {?number} class
 * @property {?string} name
 * @property {?number} score         the class's logit
 * @property {?number} probability   in [0, 1]
 * @property {?RawMap} map
 *
 * @typedef {Object} AttributionRead   what the panel can use of a record
 * @property {?string} method        a short word ('gradcam'), else null
 * @property {number} opacity        the record's, else DEFAULT_OPACITY
 * @property {Target[]} targets
 * @property {string[]} notes        what could not be read, in words
 */

/** The kind the writer logs attribution maps under (names.ATTRIBUTION_KIND). */
export const ATTRIBUTION = 'attribution';

/** The kind holding the same pictures' feature maps (the "feature maps" link). */
export const FEATURE_MAPS = 'activations';

/** Weight of the map's colour in the blend (heatmaps.OPACITY of the writer). */
export const DEFAULT_OPACITY = 0.5;

/**
 * True when a grid is an attribution grid: its record has a `targets` list
 * or an `attribution` header, or it is of the writer's attribution kind (a
 * malformed one is shown with notes on what it lacks).
 *
 * @param {?GridDoc} grid
 * @returns {boolean}
 */
export function isAttribution(grid) {
  const g = /** @type {*} */ (grid);
  return !!g && (Array.isArray(g.targets) || isObject(g.attribution) || g.kind === ATTRIBUTION);
}

/**
 * What the panel can use of an attribution record, and notes on the rest.
 * Read once per grid object (`readOnce`: hovering asks at every move).
 *
 * @param {GridDoc} grid
 * @returns {AttributionRead}
 */
export const readAttribution = readOnce(function readAttribution(grid) {
  const g = /** @type {*} */ (grid);
  const notes = [];
  const header = isObject(g.attribution) ? g.attribution : null;
  if (!header) notes.push('The record has no readable attribution header.');
  const method = header && typeof header.method === 'string' &&
    /^[A-Za-z][A-Za-z0-9+_-]{0,31}$/.test(header.method) ? header.method : null;
  const logged = header ? finite(header.opacity) : null;
  const opacity = fraction(logged) ?? DEFAULT_OPACITY;
  if (header && logged !== opacity) notes.push(`No readable opacity: ${pct(opacity)} is used.`);
  /** @type {Target[]} */
  const targets = [];
  if (!Array.isArray(g.targets)) {
    notes.push('The record has no list of targets for this picture: no map to draw.');
  } else {
    g.targets.forEach((/** @type {*} */ entry, /** @type {number} */ tile) => {
      const e = isObject(entry) ? entry : {};
      const map = readMap(e.heatmap);
      const target = {tile, class: whole(e.class, 0), name: typeof e.name === 'string' ? e.name : null,
        score: finite(e.score), probability: fraction(e.probability), map};
      targets.push(target);
      if (!map) notes.push(`${targetName(target)}: no readable map.`);
      else if (map.nonfinite) {
        notes.push(`${targetName(target)}: ${map.nonfinite} cell${map.nonfinite === 1 ? '' : 's'} ` +
          'without a value (drawn as 0).');
      }
    });
  }
  return {method, opacity, targets, notes};
});

/**
 * Which target to show: the one of class `wanted` (the URL's), else tile
 * `fallback` when there is one, else the first; -1 for none.
 *
 * @param {Target[]} targets
 * @param {?number|undefined} wanted
 * @param {?number|undefined} [fallback]
 * @returns {number}
 */
export function pickTarget(targets, wanted, fallback) {
  if (!targets.length) return -1;
  const match = wanted == null ? -1 : targets.findIndex((t) => t.class === wanted);
  if (match >= 0) return match;
  return fallback != null && fallback >= 0 && fallback < targets.length ? fallback : 0;
}

/**
 * A target in words: its class name, else "class N", else "target N".
 *
 * @param {Target} target
 * @returns {string}
 */
export function targetName(target) {
  if (target.name) return target.name;
  return target.class != null ? `class ${target.class}` : `target ${target.tile + 1}`;
}

/**
 * A target's class and score in one line:
 * "tabby · class 281 · logit 9.87 · probability 83.4%"; what is missing is
 * left out.
 *
 * @param {Target} target
 * @returns {string}
 */
export function scoreText(target) {
  const parts = [targetName(target)];
  if (target.name && target.class != null) parts.push(`class ${target.class}`);
  if (target.score != null) parts.push(`logit ${fmt(target.score)}`);
  if (target.probability != null) parts.push(`probability ${pct(target.probability)}`);
  return parts.join(' · ');
}

/**
 * The label of a target's tab: "tabby · 83.4%".
 *
 * @param {Target} target
 * @returns {string}
 */
export function tabText(target) {
  return target.probability == null ? targetName(target) :
    `${targetName(target)} · ${pct(target.probability)}`;
}

/**
 * What a tile of an attribution grid shows (the grid pane's tooltip): its
 * target class; null for other grids.
 *
 * @param {GridDoc} grid
 * @param {number} tile
 * @returns {?TileMeaning}
 */
export function describeTarget(grid, tile) {
  if (!isAttribution(grid)) return null;
  const target = readAttribution(grid).targets[tile];
  return {channel: null, input: null, label: target ? scoreText(target) : `target ${tile + 1}`};
}

/**
 * The read-out under the pointer: "value 0.0123 · pixel row 4, column 7".
 *
 * @param {number} value
 * @param {number} x
 * @param {number} y
 * @returns {string}
 */
export function readoutText(value, x, y) {
  return `value ${fmt(value)} · pixel row ${y}, column ${x}`;
}
