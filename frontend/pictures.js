// RGBA pictures the panel draws itself: one tile copied out of a grid's
// PNG (a probe picture, a crop, a thumbnail), enlarged by a whole factor,
// with a box outlined at exact pixels; and finding a data picture in the
// pictures grid logged with the dataset examples (its record's `indices`
// give each tile's data index; `picture_height`/`picture_width` the size
// the examples' boxes are in, docs/format.md). Pure functions over plain
// objects and typed arrays: no DOM, no fetching.

import {whole} from './values.js';

/**
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./api.js').Pixels} Pixels
 *
 * @typedef {Object} Picture   RGBA pixels, row-major
 * @property {number} width
 * @property {number} height
 * @property {Uint8ClampedArray} data
 *
 * @typedef {Object} Outline   a box on a drawn picture, canvas pixels
 * @property {number} x0       first column
 * @property {number} y0       first row
 * @property {number} x1       column after the last
 * @property {number} y1       row after the last
 */

/** Longer side, canvas px, a whole picture is enlarged to (by a whole factor). */
export const PICTURE_BOX = 256;

/** The outline's colours, outermost first: 2 px of yellow, then 1 px of black. */
export const OUTLINE_COLOURS = Object.freeze([[255, 221, 0], [255, 221, 0], [0, 0, 0]]);

/**
 * One tile's pixels (a crop, a thumbnail) copied out of a grid's PNG.
 *
 * @param {Pixels} pixels
 * @param {number} x0        left column in the PNG
 * @param {number} y0        top row
 * @param {number} width
 * @param {number} height
 * @returns {?Picture} null when the region leaves the PNG
 */
export function cut(pixels, x0, y0, width, height) {
  if (!(width > 0 && height > 0 && x0 >= 0 && y0 >= 0 && x0 + width <= pixels.width &&
        y0 + height <= pixels.height)) {
    return null;
  }
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const start = ((y0 + y) * pixels.width + x0) * 4;
    data.set(pixels.data.subarray(start, start + width * 4), y * width * 4);
  }
  return {width, height, data};
}

/**
 * Tile 0 of a decoded grid as a picture (a probe grid's tile 0 is the
 * probe picture).
 *
 * @param {Pixels} pixels
 * @param {GridDoc} grid
 * @returns {?Picture} null when the tile lies outside the PNG
 */
export function pictureOf(pixels, grid) {
  return cut(pixels, 0, 0, grid.tile_width, grid.tile_height);
}

/**
 * The whole factor a picture is enlarged by on its canvas: the largest
 * that keeps its longer side within PICTURE_BOX (at least 1).
 *
 * @param {number} height
 * @param {number} width
 * @returns {number}
 */
export function pictureFactor(height, width) {
  return Math.max(1, Math.floor(PICTURE_BOX / Math.max(height, width, 1)));
}

/**
 * A picture enlarged by a whole factor, each pixel a factor x factor square.
 *
 * @param {Picture} picture
 * @param {number} factor
 * @returns {Picture}
 */
export function enlarge(picture, factor) {
  const width = picture.width * factor;
  const height = picture.height * factor;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / factor) * picture.width;
    for (let x = 0; x < width; x++) {
      const s = (row + Math.floor(x / factor)) * 4;
      const d = (y * width + x) * 4;
      data[d] = picture.data[s];
      data[d + 1] = picture.data[s + 1];
      data[d + 2] = picture.data[s + 2];
      data[d + 3] = picture.data[s + 3];
    }
  }
  return {width, height, data};
}

/**
 * Where a box of the picture lies on its drawing: the box scaled from the
 * picture's size (`space`) to the drawing's (`height` x `width` px),
 * widened to whole pixels (first pixel rounded down, end rounded up), at
 * least one pixel each way, clipped to the drawing.
 *
 * @param {number[]} box     [top, left, bottom, right] in picture pixels
 * @param {{height: number, width: number}} space   the picture's size
 * @param {number} height    the drawing's size, px
 * @param {number} width
 * @returns {Outline}
 */
export function boxOutline(box, space, height, width) {
  const [top, left, bottom, right] = box;
  const clip = (/** @type {number} */ v, /** @type {number} */ hi) => Math.max(0, Math.min(hi, v));
  // Whole numbers multiplied before the one division: exact in floats.
  const y0 = clip(Math.floor((top * height) / space.height), height - 1);
  const x0 = clip(Math.floor((left * width) / space.width), width - 1);
  const y1 = clip(Math.max(y0 + 1, Math.ceil((bottom * height) / space.height)), height);
  const x1 = clip(Math.max(x0 + 1, Math.ceil((right * width) / space.width)), width);
  return {x0, y0, x1, y1};
}

/**
 * Paint an outline into a picture (in place): each pixel of the outline's
 * rectangle at distance d < OUTLINE_COLOURS.length from its edge takes
 * colour d, opaque.
 *
 * @param {Picture} picture
 * @param {Outline} outline
 * @returns {Picture} the same picture
 */
export function paintOutline(picture, {x0, y0, x1, y1}) {
  const rings = OUTLINE_COLOURS.length;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const d = Math.min(x - x0, x1 - 1 - x, y - y0, y1 - 1 - y);
      if (d >= rings) continue;
      const [r, g, b] = OUTLINE_COLOURS[d];
      picture.data.set([r, g, b, 255], (y * picture.width + x) * 4);
    }
  }
  return picture;
}

/**
 * The tile of the pictures grid holding data index `index`, or -1. The
 * record's `indices` give each tile's index; a malformed list holds none.
 *
 * @param {GridDoc} pictures   the pictures grid (the `layers` reply's `pictures`)
 * @param {number} index
 * @returns {number}
 */
export function pictureTile(pictures, index) {
  const indices = /** @type {*} */ (pictures).indices;
  if (!Array.isArray(indices)) return -1;
  const tile = indices.indexOf(index);
  const count = Math.min(indices.length, pictures.rows * pictures.cols);
  return tile < count ? tile : -1;
}

/**
 * The size the boxes of a pictures grid are in: its `picture_height` and
 * `picture_width`, else `fallback` (the examples record's).
 *
 * @param {GridDoc} pictures
 * @param {?{height: number, width: number}} fallback
 * @returns {?{height: number, width: number}}
 */
export function boxSpace(pictures, fallback) {
  const p = /** @type {*} */ (pictures);
  const height = whole(p.picture_height, 1);
  const width = whole(p.picture_width, 1);
  return height != null && width != null ? {height, width} : fallback;
}
