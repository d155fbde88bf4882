// Dataset examples (the `examples` kind): reading the record and finding
// a crop in a tile (exampletext.js says them in words; pictures.js draws
// an example's whole picture).
// A logged examples grid has one tile per drawn channel; each tile holds
// the channel's k crops, strongest first, row by row (`crop_rows` x
// `crop_cols` slots of `crop_size` px, 1 px apart, grey where a slot is
// empty). The record's `examples` header (docs/format.md) lists, for EVERY
// channel of the layer (drawn or not), its k examples: the picture's data
// index, the unit's receptive field as a box in picture pixels (`[top,
// left, bottom, right]`, bottom and right exclusive) and the activation;
// per channel the mean, max and zero fraction over the data, and the
// layer's health. Once per pass a pseudo layer (the `layers` reply's
// `pictures`: `_data`, kind `pictures`) holds a thumbnail of every picture
// behind a drawn example, its data index in `indices`, and
// `picture_height`/`picture_width`, the size the boxes are in. Grids are
// recognised by their `examples` key, not by the kind's name. Logs are
// untrusted: a malformed field reads as missing and says so in a note.
// Pure functions over plain objects and typed arrays: no DOM, no fetching.

import {finite, fraction, isObject, readOnce, whole} from './values.js';

/**
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./api.js').Pixels} Pixels
 * @typedef {import('./pictures.js').Picture} Picture
 * @typedef {import('./geometry.js').TileMeaning} TileMeaning
 *
 * @typedef {Object} Example   one example of a channel
 * @property {number} slot       its place in the channel's list (0: strongest)
 * @property {number} index      the picture's position in the data
 * @property {?number[]} box     [top, left, bottom, right] in picture pixels
 *     (bottom and right exclusive); null when unreadable
 * @property {?number} value     the unit's activation; null when unreadable
 *
 * @typedef {Object} CropLayout   where the crops lie inside a tile
 * @property {number} k          crops per tile
 * @property {number} size       side of a crop, px
 * @property {number} rows
 * @property {number} cols
 *
 * @typedef {Object} Health   the layer over the data (fractions, null: unreadable)
 * @property {?number} dead
 * @property {?number} saturated
 * @property {?number} nonfinite
 *
 * @typedef {Object} ExamplesRead   what the panel can use of a record
 * @property {?number} k              examples kept per channel
 * @property {?number} pictures       pictures scanned
 * @property {?{height: number, width: number}} pictureSize   the size boxes are in
 * @property {?CropLayout} layout     null when the crops cannot be located
 * @property {?{size: number[], jump: number[], start: number[], exact: boolean}} field
 *     the receptive field (rows, then columns)
 * @property {Array<?Example[]>} perChannel   per channel of the layer; null
 *     where the record's entry is unreadable
 * @property {{mean: Array<?number>, max: Array<?number>, zero: Array<?number>}} stats
 * @property {?Health} health
 * @property {string[]} notes         what could not be read, in words
 */

/**
 * The kind the writer logs examples under (names.EXAMPLES_KIND), to find a
 * layer's examples from its other kinds. The pictures' pseudo layer and
 * kind are the `layers` reply's (`pictures`): the panel keeps no literal.
 */
export const EXAMPLES = 'examples';

/**
 * True when a grid is a dataset-examples grid: its record has an
 * `examples` header, or it is of the writer's examples kind (a malformed
 * one is shown with notes on what it lacks).
 *
 * @param {?GridDoc} grid
 * @returns {boolean}
 */
export function isExamples(grid) {
  const g = /** @type {*} */ (grid);
  return !!g && (isObject(g.examples) || g.kind === EXAMPLES);
}

/**
 * A box `[top, left, bottom, right]` of whole numbers with top < bottom
 * and left < right; null otherwise.
 *
 * @param {*} box
 * @returns {?number[]}
 */
export function readBox(box) {
  if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => whole(v, 0) != null)) return null;
  const [top, left, bottom, right] = box;
  return top < bottom && left < right ? [top, left, bottom, right] : null;
}

/**
 * One channel's examples, strongest first; null when the entry is not a
 * list. An entry without a readable picture index is left out (it cannot
 * be shown), and counted in `bad`.
 *
 * @param {*} entries
 * @param {{bad: number}} count
 * @returns {?Example[]}
 */
function readChannel(entries, count) {
  if (!Array.isArray(entries)) return null;
  /** @type {Example[]} */
  const out = [];
  entries.forEach((entry, slot) => {
    const index = isObject(entry) ? whole(entry.index, 0) : null;
    if (index == null) {
      count.bad++;
      return;
    }
    const box = readBox(entry.box);
    const value = finite(entry.value);
    if (box == null || value == null) count.bad++;
    out.push({slot, index, box, value});
  });
  return out;
}

/**
 * The crop layout of a record, checked against its tiles: `crop_rows` x
 * `crop_cols` crops of `crop_size` px, 1 px apart, must fill a tile.
 *
 * @param {*} header    the record's `examples`
 * @param {GridDoc} grid
 * @returns {?CropLayout}
 */
function readLayout(header, grid) {
  const k = whole(header.k, 1);
  const size = whole(header.crop_size, 1);
  const rows = whole(header.crop_rows, 1);
  const cols = whole(header.crop_cols, 1);
  if (k == null || size == null || rows == null || cols == null || k > rows * cols) return null;
  if (rows * (size + 1) - 1 !== grid.tile_height || cols * (size + 1) - 1 !== grid.tile_width) return null;
  return {k, size, rows, cols};
}

/** @param {*} list  @returns {Array<?number>} */
function numbers(list) {
  return Array.isArray(list) ? list.map(finite) : [];
}

/**
 * @param {*} field
 * @returns {?{size: number[], jump: number[], start: number[], exact: boolean}}
 */
function readField(field) {
  if (!isObject(field)) return null;
  /** @param {*} pair */
  const pair = (pair) => (Array.isArray(pair) && pair.length === 2 && pair.every((v) => finite(v) != null) ?
    pair : null);
  const size = pair(field.size);
  const jump = pair(field.jump);
  const start = pair(field.start);
  return size && jump && start ? {size, jump, start, exact: field.exact !== false} : null;
}

/**
 * What the panel can use of an examples record, and notes on the rest.
 * Read once per grid object (`readOnce`: hovering asks at every move).
 *
 * @param {GridDoc} grid
 * @returns {ExamplesRead}
 */
export const readExamples = readOnce(function readExamples(grid) {
  const header = /** @type {*} */ (grid).examples;
  /** @type {string[]} */
  const notes = [];
  /** @type {ExamplesRead} */
  const read = {k: null, pictures: null, pictureSize: null, layout: null, field: null, perChannel: [],
    stats: {mean: [], max: [], zero: []}, health: null, notes};
  if (!isObject(header)) {
    notes.push('This examples record has no readable “examples” header: the crops cannot be named.');
    return read;
  }
  read.k = whole(header.k, 1);
  read.pictures = whole(header.pictures, 0);
  const height = whole(header.picture_height, 1);
  const width = whole(header.picture_width, 1);
  read.pictureSize = height != null && width != null ? {height, width} : null;
  read.layout = grid.layout === 'tiles' ? readLayout(header, grid) : null;
  read.field = readField(header.receptive_field);
  if (read.k == null) notes.push('The record does not say how many examples it keeps per channel.');
  if (read.pictures == null) notes.push('The record does not say how many pictures were scanned.');
  if (!read.pictureSize) notes.push('The record does not give the pictures’ size: boxes cannot be drawn.');
  if (!read.layout) notes.push('The crops’ layout does not fit the tiles: crops cannot be told apart.');
  const count = {bad: 0};
  let lists = 0;
  if (Array.isArray(header.per_channel)) {
    read.perChannel = header.per_channel.map((entries) => {
      const list = readChannel(entries, count);
      if (list == null) lists++;
      return list;
    });
  } else {
    notes.push('The record has no list of examples per channel.');
  }
  if (lists) notes.push(`${lists} channel${lists === 1 ? '’s' : 's’'} list of examples is unreadable.`);
  if (count.bad) {
    notes.push(`${count.bad} example${count.bad === 1 ? ' is' : 's are'} unreadable or incomplete.`);
  }
  const stats = isObject(header.stats) ? header.stats : {};
  read.stats = {mean: numbers(stats.mean), max: numbers(stats.max), zero: numbers(stats.zero_fraction)};
  if (!isObject(header.stats)) notes.push('The record has no statistics per channel.');
  const health = header.health;
  read.health = isObject(health) ? {dead: fraction(health.dead_fraction),
    saturated: fraction(health.saturated_fraction), nonfinite: fraction(health.nonfinite_fraction)} : null;
  if (!read.health) notes.push('The record has no health figures for the layer.');
  return read;
});

/**
 * The slot of the crop holding pixel (x, y) of a tile; null on the grey
 * line between crops, outside the tile or past the k-th crop.
 *
 * @param {?CropLayout} layout
 * @param {number} x     pixel column inside the tile
 * @param {number} y     pixel row inside the tile
 * @returns {?number}
 */
export function slotAt(layout, x, y) {
  if (!layout || !(x >= 0) || !(y >= 0)) return null;
  const cell = layout.size + 1;
  const col = Math.floor(x / cell);
  const row = Math.floor(y / cell);
  if (col >= layout.cols || row >= layout.rows) return null;
  if (x - col * cell >= layout.size || y - row * cell >= layout.size) return null;
  const slot = row * layout.cols + col;
  return slot < layout.k ? slot : null;
}

/**
 * Top-left pixel of crop `slot` inside its tile.
 *
 * @param {CropLayout} layout
 * @param {number} slot
 * @returns {{x: number, y: number}}
 */
export function slotOrigin(layout, slot) {
  const cell = layout.size + 1;
  return {x: (slot % layout.cols) * cell, y: Math.floor(slot / layout.cols) * cell};
}

/**
 * A channel's examples, strongest first; null when the record lists none
 * for it (no such channel, or an unreadable entry).
 *
 * @param {ExamplesRead} read
 * @param {?number|undefined} channel
 * @returns {?Example[]}
 */
export function examplesOf(read, channel) {
  if (channel == null || !Number.isSafeInteger(channel) || channel < 0) return null;
  return read.perChannel[channel] ?? null;
}

/**
 * Example `slot` of a channel, or null (an empty slot: fewer pictures than
 * k, or an entry left out).
 *
 * @param {ExamplesRead} read
 * @param {?number|undefined} channel
 * @param {?number|undefined} slot
 * @returns {?Example}
 */
export function exampleAt(read, channel, slot) {
  const list = examplesOf(read, channel);
  return list && slot != null ? list.find((e) => e.slot === slot) || null : null;
}

/**
 * The crop under pixel (x, y) of tile `tile`, with its channel and slot;
 * null for a grid that is no examples grid (or a tile naming no channel).
 *
 * @param {GridDoc} grid
 * @param {number} tile
 * @param {number} [x]
 * @param {number} [y]
 * @returns {?{channel: number, slot: ?number, example: ?Example, read: ExamplesRead}}
 *     slot null between crops or where the record's layout is unreadable
 */
export function cropAt(grid, tile, x, y) {
  if (!isExamples(grid) || grid.layout !== 'tiles') return null;
  const channel = (grid.channels || [])[tile];
  if (!Number.isSafeInteger(channel)) return null;
  const read = readExamples(grid);
  const slot = x == null || y == null ? null : slotAt(read.layout, x, y);
  return {channel, slot, example: exampleAt(read, channel, slot), read};
}

/**
 * The example a click at pixel (x, y) of tile `tile` chooses: its slot, or
 * null (no examples grid, between crops, an empty slot).
 *
 * @param {GridDoc} grid
 * @param {number} tile
 * @param {number} [x]
 * @param {number} [y]
 * @returns {?number}
 */
export function exampleSlot(grid, tile, x, y) {
  const crop = cropAt(grid, tile, x, y);
  return crop && crop.example ? crop.slot : null;
}
