// Colour maps applied in the browser, so switching costs no request.
//
// A grid PNG holds one byte per pixel and tile t is linear between lo[t]
// and hi[t] (docs/format.md). Grey shows the bytes as they are; the
// perceptual map (viridis-like) and the diverging map recolour them. The
// diverging map is centred on the real value zero of each tile, so a signed
// kernel reads blue (negative) / white (zero) / red (positive) whatever its
// range. valueAt() reads the real value back from a byte. Where a tile
// lies in the PNG is geometry.js's business. Pure functions over typed
// arrays: no DOM.

import {tileCount, tileOrigin} from './geometry.js';

/** Names the user can choose; 'auto' picks diverging for symmetric grids. */
export const COLORMAPS = ['auto', 'grey', 'viridis', 'diverging'];

/** Colour of pixels that hold no finite value (alpha 0 in the PNG). */
export const NONFINITE_RGB = [255, 0, 255];

/** @typedef {[number, number, number]} Rgb */

/**
 * viridis, sampled from matplotlib's table; the writer's heatmaps
 * (tb_featureviz/render/heatmaps.py) and attribution.js use the same stops.
 *
 * @type {Array<[number, Rgb]>}
 */
export const VIRIDIS_STOPS = [
  [0.0, [68, 1, 84]], [0.125, [72, 40, 120]], [0.25, [62, 73, 137]],
  [0.375, [49, 104, 142]], [0.5, [38, 130, 142]], [0.625, [31, 158, 137]],
  [0.75, [53, 183, 121]], [0.875, [110, 206, 88]], [1.0, [253, 231, 37]],
];

/** @type {Array<[number, Rgb]>} RdBu reversed: blue < 0 < red */
const DIVERGING_STOPS = [
  [0.0, [5, 48, 97]], [0.1, [33, 102, 172]], [0.2, [67, 147, 195]],
  [0.3, [146, 197, 222]], [0.4, [209, 229, 240]], [0.5, [247, 247, 247]],
  [0.6, [253, 219, 199]], [0.7, [244, 165, 130]], [0.8, [214, 96, 77]],
  [0.9, [178, 24, 43]], [1.0, [103, 0, 31]],
];

/**
 * 256 RGB entries interpolated linearly between colour stops.
 *
 * @param {Array<[number, Rgb]>} stops
 * @returns {Uint8Array} length 768
 */
function table(stops) {
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    let k = 1;
    while (k < stops.length - 1 && stops[k][0] < t) k++;
    const [t0, c0] = stops[k - 1];
    const [t1, c1] = stops[k];
    const f = t1 > t0 ? (t - t0) / (t1 - t0) : 0;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(c0[c] + f * (c1[c] - c0[c]));
  }
  return out;
}

const GREY = (() => {
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) out.fill(i, i * 3, i * 3 + 3);
  return out;
})();

/** @type {Object<string, Uint8Array>} */
export const TABLES = {
  grey: GREY,
  viridis: table(VIRIDIS_STOPS),
  diverging: table(DIVERGING_STOPS),
};

/**
 * The colour map actually used for a grid.
 *
 * @param {string} name          a COLORMAPS entry
 * @param {{symmetric?: boolean}} grid
 * @returns {'grey'|'viridis'|'diverging'}
 */
export function resolveColormap(name, grid) {
  if (name === 'grey' || name === 'viridis' || name === 'diverging') return name;
  return grid && grid.symmetric ? 'diverging' : 'grey';
}

/**
 * Index into a 256-entry table for each byte value of one tile.
 *
 * @param {'grey'|'viridis'|'diverging'} cmap
 * @param {?number} lo
 * @param {?number} hi
 * @returns {Uint8Array} length 256
 */
export function tileIndex(cmap, lo, hi) {
  const index = new Uint8Array(256);
  if (cmap !== 'diverging' || lo == null || hi == null) {
    for (let p = 0; p < 256; p++) index[p] = p;
    return index;
  }
  const top = Math.max(Math.abs(lo), Math.abs(hi));
  for (let p = 0; p < 256; p++) {
    if (top === 0) {
      index[p] = 128;
      continue;
    }
    const value = lo + (p / 255) * (hi - lo);
    index[p] = Math.max(0, Math.min(255, Math.round(127.5 + (value / top) * 127.5)));
  }
  return index;
}

/**
 * The 256 colours a tile's bytes map to (for the colour scale).
 *
 * @param {'grey'|'viridis'|'diverging'} cmap
 * @param {?number} lo
 * @param {?number} hi
 * @returns {Uint8ClampedArray} RGBA, 256 x 1
 */
export function scaleColors(cmap, lo, hi) {
  const lut = TABLES[cmap];
  const index = tileIndex(cmap, lo, hi);
  const out = new Uint8ClampedArray(256 * 4);
  for (let p = 0; p < 256; p++) {
    const i = index[p] * 3;
    out.set([lut[i], lut[i + 1], lut[i + 2], 255], p * 4);
  }
  return out;
}

/**
 * True when the grid's pixels are RGB tiles (colour maps do not apply).
 *
 * @param {import('./api.js').GridDoc} grid
 */
export function isRgb(grid) {
  return grid.depth === 3 || grid.depth === 4;
}

/**
 * Recolour a rectangle of tile t from `src` into `out`.
 *
 * @param {import('./api.js').Pixels} src
 * @param {import('./api.js').GridDoc} grid
 * @param {number} t
 * @param {'grey'|'viridis'|'diverging'} cmap
 * @param {Uint8ClampedArray} out     RGBA destination
 * @param {number} outWidth           width of the destination
 * @param {number} dx                 destination x of the tile's left edge
 * @param {number} dy                 destination y of the tile's top edge
 */
function paintTile(src, grid, t, cmap, out, outWidth, dx, dy) {
  const {x, y} = tileOrigin(grid, t);
  const h = Math.min(grid.tile_height, src.height - y);
  const w = Math.min(grid.tile_width, src.width - x);
  const rgb = isRgb(grid);
  const lut = TABLES[cmap];
  const lo = grid.lo ? grid.lo[t] : null;
  const hi = grid.hi ? grid.hi[t] : null;
  const index = tileIndex(cmap, lo, hi);
  const data = src.data;
  for (let r = 0; r < h; r++) {
    let s = ((y + r) * src.width + x) * 4;
    let d = ((dy + r) * outWidth + dx) * 4;
    for (let c = 0; c < w; c++, s += 4, d += 4) {
      if (data[s + 3] === 0) {
        out[d] = NONFINITE_RGB[0];
        out[d + 1] = NONFINITE_RGB[1];
        out[d + 2] = NONFINITE_RGB[2];
      } else if (rgb) {
        out[d] = data[s];
        out[d + 1] = data[s + 1];
        out[d + 2] = data[s + 2];
      } else {
        const i = index[data[s]] * 3;
        out[d] = lut[i];
        out[d + 1] = lut[i + 1];
        out[d + 2] = lut[i + 2];
      }
      out[d + 3] = 255;
    }
  }
}

/**
 * The whole grid recoloured; pad lines and empty cells are transparent so
 * the page's background separates the tiles.
 *
 * @param {import('./api.js').Pixels} src
 * @param {import('./api.js').GridDoc} grid
 * @param {'grey'|'viridis'|'diverging'} cmap
 * @returns {ImageData}
 */
export function colorizeGrid(src, grid, cmap) {
  const out = new ImageData(src.width, src.height);
  const n = tileCount(grid);
  for (let t = 0; t < n; t++) {
    const {x, y} = tileOrigin(grid, t);
    paintTile(src, grid, t, cmap, out.data, src.width, x, y);
  }
  return out;
}

/**
 * One tile recoloured, at its own size.
 *
 * @param {import('./api.js').Pixels} src
 * @param {import('./api.js').GridDoc} grid
 * @param {number} t
 * @param {'grey'|'viridis'|'diverging'} cmap
 * @returns {ImageData}
 */
export function colorizeTile(src, grid, t, cmap) {
  const out = new ImageData(grid.tile_width, grid.tile_height);
  paintTile(src, grid, t, cmap, out.data, grid.tile_width, 0, 0);
  return out;
}

/**
 * Real value of one pixel of tile t (null for a non-finite pixel).
 *
 * @param {import('./api.js').Pixels} src
 * @param {import('./api.js').GridDoc} grid
 * @param {number} t
 * @param {number} x   pixel column inside the tile
 * @param {number} y   pixel row inside the tile
 * @returns {?number|Array<?number>} one value, or three for RGB tiles
 */
export function valueAt(src, grid, t, x, y) {
  const o = tileOrigin(grid, t);
  const s = ((o.y + y) * src.width + (o.x + x)) * 4;
  if (src.data[s + 3] === 0) return null;
  const lo = grid.lo ? grid.lo[t] : null;
  const hi = grid.hi ? grid.hi[t] : null;
  if (lo == null || hi == null) return null;
  const decode = (p) => lo + (p / 255) * (hi - lo);
  if (isRgb(grid)) return [decode(src.data[s]), decode(src.data[s + 1]), decode(src.data[s + 2])];
  return decode(src.data[s]);
}
