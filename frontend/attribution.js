// Attribution maps (the `attribution` kind, Grad-CAM family): reading the
// record and the math the panel draws them with. A logged attribution grid
// holds, per probe picture, one tile per target class: the picture with the
// map blended over it (docs/format.md). Its record carries the raw maps
// (`targets[t].heatmap`, rows of floats at the layer's resolution), each
// target's class, name, logit and probability, and a header (`attribution`:
// method, opacity, ...). The panel draws its own overlay from the raw map
// exactly as the writer does (tb_featureviz/render/heatmaps.py): the map
// upsampled bilinearly with half-pixel centres to the picture's size,
// coloured on viridis from 0 to the map's maximum, blended with the picture
// at an opacity, every step rounded as numpy rounds it (half to even). So
// at the record's opacity the panel's overlay is the logged PNG, and a
// value read under the pointer is the value the colour shows. Grids are
// recognised by their keys (`targets`, `attribution`), not by the kind's
// name. Logs are untrusted: a malformed field reads as missing, and says so
// in a note. Pure functions over plain objects and typed arrays: no DOM.

import {VIRIDIS_STOPS} from './colormap.js';
import {fmt, pct} from './dom.js';

/**
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./geometry.js').TileMeaning} TileMeaning
 *
 * @typedef {Object} RawMap   one raw map, row-major
 * @property {number} height
 * @property {number} width
 * @property {Float64Array} values   NaN where the record holds no finite number
 * @property {number} max            the largest finite value (0 when none)
 * @property {number} min            the smallest finite value (0 when none)
 * @property {number} nonfinite      cells without a finite number
 *
 * @typedef {Object} Target   one target class of a picture (one tile)
 * @property {number} tile
 * @property {?number} class
 * @property {?string} name
 * @property {?number} score         the class's logit
 * @property {?number} probability   in [0, 1]
 * @property {?RawMap} map
 *
 * @typedef {Object} Picture   RGBA pixels, row-major
 * @property {number} width
 * @property {number} height
 * @property {Uint8ClampedArray} data
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
/** The largest map drawn (cells); a larger one in a log is refused. */
export const MAX_CELLS = 1 << 20;

/** @param {*} value  @returns {?number} a finite number, else null */
function finite(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** @param {*} value  @returns {boolean} an object that is not an array */
function isObject(value) {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/**
 * numpy's rint: the nearest integer, ties to even, so that the panel's
 * bytes equal the writer's (Math.round rounds ties up).
 *
 * @param {number} x
 * @returns {number}
 */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * A raw map from the record's rows of numbers; null when it is not a
 * non-empty rectangle of numbers and nulls (a null is a cell without a
 * finite value) or larger than MAX_CELLS.
 *
 * @param {*} rows
 * @returns {?RawMap}
 */
export function readMap(rows) {
  if (!Array.isArray(rows) || !rows.length || !Array.isArray(rows[0])) return null;
  const height = rows.length;
  const width = rows[0].length;
  if (!width || height * width > MAX_CELLS) return null;
  const values = new Float64Array(height * width);
  let max = -Infinity;
  let min = Infinity;
  let nonfinite = 0;
  for (let r = 0; r < height; r++) {
    const row = rows[r];
    if (!Array.isArray(row) || row.length !== width) return null;
    for (let c = 0; c < width; c++) {
      const v = row[c];
      if (v !== null && typeof v !== 'number') return null;
      const value = finite(v);
      if (value == null) {
        values[r * width + c] = NaN;
        nonfinite++;
      } else {
        values[r * width + c] = value;
        if (value > max) max = value;
        if (value < min) min = value;
      }
    }
  }
  return {height, width, values, nonfinite,
    max: max === -Infinity ? 0 : max, min: min === Infinity ? 0 : min};
}

/**
 * Bilinear sampling positions along one axis, half-pixel centred (the
 * writer's heatmaps._axis_weights): pixel `i` of `target` samples source
 * position `(i + 0.5) * source / target - 0.5`, clamped to the source.
 *
 * @param {number} source   cells along the axis
 * @param {number} target   pixels along the axis
 * @returns {{lower: Int32Array, upper: Int32Array, weight: Float64Array}}
 */
export function axisWeights(source, target) {
  const lower = new Int32Array(target);
  const upper = new Int32Array(target);
  const weight = new Float64Array(target);
  const scale = source / target;
  for (let i = 0; i < target; i++) {
    const position = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), source - 1);
    lower[i] = Math.floor(position);
    upper[i] = Math.min(lower[i] + 1, source - 1);
    weight[i] = position - lower[i];
  }
  return {lower, upper, weight};
}

/**
 * One upsampled value, in the writer's order of operations (a term of
 * weight 0 is left out, so a cell without a value spoils only the pixels
 * that use it).
 *
 * @param {RawMap} map
 * @param {number} r0  @param {number} r1  @param {number} rw   row sampling
 * @param {number} c0  @param {number} c1  @param {number} cw   column sampling
 * @returns {number}
 */
function sample(map, r0, r1, rw, c0, c1, cw) {
  const v = map.values;
  const w = map.width;
  const mix = (a, b, t) => a * (1 - t) + (t === 0 ? 0 : b * t);
  return mix(mix(v[r0 * w + c0], v[r0 * w + c1], cw), mix(v[r1 * w + c0], v[r1 * w + c1], cw), rw);
}

/**
 * The map resized to `height` x `width` pixels, bilinear with half-pixel
 * centres (heatmaps.upsample of the writer).
 *
 * @param {RawMap} map
 * @param {number} height
 * @param {number} width
 * @returns {Float64Array} row-major
 */
export function upsample(map, height, width) {
  const rows = axisWeights(map.height, height);
  const cols = axisWeights(map.width, width);
  const out = new Float64Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      out[y * width + x] = sample(map, rows.lower[y], rows.upper[y], rows.weight[y],
          cols.lower[x], cols.upper[x], cols.weight[x]);
    }
  }
  return out;
}

/**
 * The map's value at pixel (x, y) of a `height` x `width` picture: the
 * value upsample() gives that pixel, so the read-out matches the colour.
 *
 * @param {RawMap} map
 * @param {number} height
 * @param {number} width
 * @param {number} x   pixel column
 * @param {number} y   pixel row
 * @returns {number} NaN where the map has no finite value
 */
export function valueAt(map, height, width, x, y) {
  const scale = (source, target, i) => {
    const position = Math.min(Math.max((i + 0.5) * (source / target) - 0.5, 0), source - 1);
    const lower = Math.floor(position);
    return [lower, Math.min(lower + 1, source - 1), position - lower];
  };
  const [r0, r1, rw] = scale(map.height, height, y);
  const [c0, c1, cw] = scale(map.width, width, x);
  return sample(map, r0, r1, rw, c0, c1, cw);
}

/**
 * The colour scale of a map in real values: from 0 to its maximum (the
 * writer's), values below 0 drawn as 0.
 *
 * @param {RawMap} map
 * @returns {{lo: number, hi: number}}
 */
export function colourScale(map) {
  return {lo: 0, hi: Math.max(0, map.max)};
}

/**
 * The viridis colour of a value on a scale, as the writer computes it
 * (heatmaps.colorize: numpy's interp over colormap.js's stops, rounded).
 * A value that is not finite is drawn as the scale's bottom.
 *
 * @param {number} value
 * @param {number} lo
 * @param {number} hi
 * @returns {[number, number, number]}
 */
export function heatColour(value, lo, hi) {
  const out = new Uint8ClampedArray(3);
  colourInto(out, 0, value, lo, hi);
  return [out[0], out[1], out[2]];
}

/**
 * heatColour() written into `out` at `offset` (no allocation per pixel).
 *
 * @param {Uint8ClampedArray} out
 * @param {number} offset
 * @param {number} value
 * @param {number} lo
 * @param {number} hi
 */
function colourInto(out, offset, value, lo, hi) {
  const span = hi - lo;
  const t = span > 0 && Number.isFinite(value) ? Math.min(Math.max((value - lo) / span, 0), 1) : 0;
  let j = 0;
  while (j < VIRIDIS_STOPS.length - 2 && VIRIDIS_STOPS[j + 1][0] <= t) j++;
  const [t0, c0] = VIRIDIS_STOPS[j];
  const [t1, c1] = VIRIDIS_STOPS[j + 1];
  for (let c = 0; c < 3; c++) {
    // numpy's interp: slope * (x - x0) + y0; the last stop exactly at its end.
    out[offset + c] = t >= t1 ? c1[c] : roundHalfEven(((c1[c] - c0[c]) / (t1 - t0)) * (t - t0) + c0[c]);
  }
}

/**
 * The viridis colours of a map upsampled to `height` x `width` pixels, on
 * its colour scale (colourScale): the heatmap before it is blended.
 *
 * @param {RawMap} map
 * @param {number} height
 * @param {number} width
 * @returns {Uint8ClampedArray} RGB, row-major
 */
export function heatColours(map, height, width) {
  const values = upsample(map, height, width);
  const {lo, hi} = colourScale(map);
  const out = new Uint8ClampedArray(height * width * 3);
  for (let i = 0; i < height * width; i++) colourInto(out, i * 3, values[i], lo, hi);
  return out;
}

/**
 * A picture with heat colours over it: each pixel
 * `(1 - opacity) * picture + opacity * colour`, rounded as the writer
 * rounds (heatmaps.overlay). Without a picture, the colours alone.
 *
 * @param {?Picture} picture
 * @param {Uint8ClampedArray} colours   RGB of the picture's size (heatColours)
 * @param {number} opacity    in [0, 1]
 * @param {number} height     the colours' size
 * @param {number} width
 * @returns {Picture} opaque RGBA
 */
export function blend(picture, colours, opacity, height, width) {
  const a = picture ? opacity : 1;
  const data = new Uint8ClampedArray(height * width * 4);
  for (let i = 0; i < height * width; i++) {
    for (let c = 0; c < 3; c++) {
      const under = picture ? picture.data[i * 4 + c] : 0;
      data[i * 4 + c] = roundHalfEven((1 - a) * under + a * colours[i * 3 + c]);
    }
    data[i * 4 + 3] = 255;
  }
  return {width, height, data};
}

/**
 * A picture with a map drawn over it at `opacity` (heatmaps.overlay of the
 * writer); without a picture, the map's colours alone at `height` x `width`.
 *
 * @param {?Picture} picture
 * @param {RawMap} map
 * @param {number} opacity
 * @param {number} [height]
 * @param {number} [width]
 * @returns {Picture}
 */
export function overlay(picture, map, opacity, height = map.height, width = map.width) {
  const h = picture ? picture.height : height;
  const w = picture ? picture.width : width;
  return blend(picture, heatColours(map, h, w), opacity, h, w);
}

/**
 * One tile of a decoded grid as a picture (a probe grid's tile 0 is the
 * probe picture).
 *
 * @param {import('./api.js').Pixels} pixels
 * @param {GridDoc} grid
 * @returns {?Picture} null when the tile lies outside the PNG
 */
export function pictureOf(pixels, grid) {
  const h = grid.tile_height;
  const w = grid.tile_width;
  if (!(h > 0 && w > 0 && h <= pixels.height && w <= pixels.width)) return null;
  const data = new Uint8ClampedArray(h * w * 4);
  for (let y = 0; y < h; y++) {
    data.set(pixels.data.subarray(y * pixels.width * 4, (y * pixels.width + w) * 4), y * w * 4);
  }
  return {width: w, height: h, data};
}

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
 *
 * @param {GridDoc} grid
 * @returns {AttributionRead}
 */
export function readAttribution(grid) {
  const g = /** @type {*} */ (grid);
  const notes = [];
  const header = isObject(g.attribution) ? g.attribution : null;
  if (!header) notes.push('The record has no readable attribution header.');
  const method = header && typeof header.method === 'string' &&
    /^[A-Za-z][A-Za-z0-9+_-]{0,31}$/.test(header.method) ? header.method : null;
  const logged = header ? finite(header.opacity) : null;
  const opacity = logged != null && logged >= 0 && logged <= 1 ? logged : DEFAULT_OPACITY;
  if (header && logged !== opacity) notes.push(`No readable opacity: ${pct(opacity)} is used.`);
  /** @type {Target[]} */
  const targets = [];
  if (!Array.isArray(g.targets)) {
    notes.push('The record has no list of targets for this picture: no map to draw.');
  } else {
    g.targets.forEach((/** @type {*} */ entry, /** @type {number} */ tile) => {
      const e = isObject(entry) ? entry : {};
      const cls = Number.isSafeInteger(e.class) && e.class >= 0 ? e.class : null;
      const p = finite(e.probability);
      const map = readMap(e.heatmap);
      const target = {tile, class: cls, name: typeof e.name === 'string' ? e.name : null,
        score: finite(e.score), probability: p != null && p >= 0 && p <= 1 ? p : null, map};
      targets.push(target);
      if (!map) notes.push(`${targetName(target)}: no readable map.`);
      else if (map.nonfinite) {
        notes.push(`${targetName(target)}: ${map.nonfinite} cell${map.nonfinite === 1 ? '' : 's'} ` +
          'without a value (drawn as 0).');
      }
    });
  }
  return {method, opacity, targets, notes};
}

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
