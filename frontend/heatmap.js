// The math the panel draws an attribution map with, exactly as the writer
// does (tb_featureviz/render/heatmaps.py): a raw map read from the record's
// rows of floats, upsampled bilinearly with half-pixel centres to the
// picture's size, coloured on viridis from 0 to the map's maximum, blended
// with the picture at an opacity, every step rounded as numpy rounds it
// (half to even). So at the record's opacity the panel's overlay is the
// logged PNG, and a value read under the pointer is the value the colour
// shows. Pure functions over plain objects and typed arrays: no DOM.

import {VIRIDIS_STOPS} from './colormap.js';
import {finite} from './values.js';

/**
 * @typedef {import('./pictures.js').Picture} Picture
 *
 * @typedef {Object} RawMap   one raw map, row-major
 * @property {number} height
 * @property {number} width
 * @property {Float64Array} values   NaN where the record holds no finite number
 * @property {number} max            the largest finite value (0 when none)
 * @property {number} min            the smallest finite value (0 when none)
 * @property {number} nonfinite      cells without a finite number
 */

/** The largest map drawn (cells); a larger one in a log is refused. */
export const MAX_CELLS = 1 << 20;

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
 * Where pixel `i` of `target` pixels samples `source` cells along one axis:
 * bilinear, half-pixel centred (the writer's heatmaps._axis_weights), at
 * source position `(i + 0.5) * source / target - 0.5`, clamped.
 *
 * @param {number} source   cells along the axis
 * @param {number} target   pixels along the axis
 * @param {number} i        the pixel
 * @returns {number[]} [lower cell, upper cell, weight of the upper]
 */
function axisSample(source, target, i) {
  const position = Math.min(Math.max((i + 0.5) * (source / target) - 0.5, 0), source - 1);
  const lower = Math.floor(position);
  return [lower, Math.min(lower + 1, source - 1), position - lower];
}

/**
 * axisSample() of every pixel along one axis.
 *
 * @param {number} source   cells along the axis
 * @param {number} target   pixels along the axis
 * @returns {{lower: Int32Array, upper: Int32Array, weight: Float64Array}}
 */
export function axisWeights(source, target) {
  const lower = new Int32Array(target);
  const upper = new Int32Array(target);
  const weight = new Float64Array(target);
  for (let i = 0; i < target; i++) [lower[i], upper[i], weight[i]] = axisSample(source, target, i);
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
  const [r0, r1, rw] = axisSample(map.height, height, y);
  const [c0, c1, cw] = axisSample(map.width, width, x);
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
