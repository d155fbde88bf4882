// Grid geometry: where each tile of a grid PNG lies, which tile a pixel
// belongs to, what a tile shows, and how large a grid is drawn. The record
// of a grid carries the layout (`rows`, `cols`, `tile_height`, `tile_width`,
// `pad`, `channels`, docs/format.md); everything here is derived from it.
// Pure functions over plain objects: no DOM, no fetching.

/**
 * @typedef {import('./api.js').GridDoc} GridDoc
 *
 * @typedef {Object} TileHit
 * @property {number} tile       tile index in the grid
 * @property {number} x          pixel column inside the tile
 * @property {number} y          pixel row inside the tile
 *
 * @typedef {Object} TileMeaning
 * @property {?number} channel   channel (tiles), output filter (mosaic), or null
 * @property {?number} input     input channel (mosaic), or null
 * @property {string} label      the tile in words, for tooltips and titles
 */

/** Zoom settings of the zoom menu: 'auto', 'fit' and fixed CSS scales. */
export const ZOOMS = ['auto', 'fit', '0.5', '1', '2', '3', '4', '6', '8', '12', '16'];

/**
 * Number of tiles a grid holds (one lo/hi entry each).
 *
 * @param {GridDoc} grid
 * @returns {number}
 */
export function tileCount(grid) {
  if (grid.layout === 'matrix') return 1;
  if (Array.isArray(grid.lo) && grid.lo.length) return Math.min(grid.lo.length, grid.rows * grid.cols);
  return Math.min((grid.channels || []).length, grid.rows * grid.cols) || 1;
}

/**
 * Top-left pixel of tile t.
 *
 * @param {GridDoc} grid
 * @param {number} t
 * @returns {{x: number, y: number}}
 */
export function tileOrigin(grid, t) {
  const row = Math.floor(t / grid.cols);
  const col = t % grid.cols;
  return {x: col * (grid.tile_width + grid.pad), y: row * (grid.tile_height + grid.pad)};
}

/**
 * Which tile, if any, holds grid pixel (px, py); null on a pad line or an
 * empty cell.
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
 * @returns {TileMeaning}
 */
export function describeTile(grid, tile, x, y) {
  const channels = grid.channels || [];
  const inputs = grid.input_channels || [];
  if (grid.layout === 'mosaic') {
    // One row per input channel, one column per output filter.
    const channel = channels[tile % grid.cols] ?? null;
    const input = inputs[Math.floor(tile / grid.cols)] ?? null;
    return {channel, input, label: `input ${input} → filter ${channel}`};
  }
  if (grid.layout === 'matrix') {
    // A single tile whose pixels are the weights: the pixel names the pair.
    if (x == null || y == null) return {channel: null, input: null, label: 'input × output matrix'};
    const channel = channels[x] ?? x;
    const input = inputs[y] ?? y;
    return {channel: null, input: null, label: `input ${input} → output ${channel}`};
  }
  const channel = channels[tile] ?? tile;
  return {channel, input: null, label: `channel ${channel}`};
}

/**
 * The channel a click on `tile` opens, or null for a tile that names none.
 * A matrix is a single tile: it opens as channel 0.
 *
 * @param {GridDoc} grid
 * @param {number} tile
 * @returns {?{channel: number, input: ?number}}
 */
export function channelAt(grid, tile) {
  if (grid.layout === 'matrix') return {channel: 0, input: null};
  const {channel, input} = describeTile(grid, tile);
  return channel == null ? null : {channel, input};
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
 * The tile `delta` places after the one showing a channel (the channel
 * view's previous and next buttons), kept inside the grid.
 *
 * @param {GridDoc} grid
 * @param {?number} channel
 * @param {?number|undefined} input
 * @param {number} delta
 * @returns {number} -1 when the channel has no tile or the move stays put
 */
export function nextTile(grid, channel, input, delta) {
  const tile = tileOf(grid, channel, input);
  const next = Math.max(0, Math.min(tileCount(grid) - 1, tile + delta));
  return tile >= 0 && next !== tile ? next : -1;
}

/**
 * One of a tile's statistics (`mean`, `zero_fraction`, ...). Records hold
 * them per channel in `channels` order, which is one per tile for a tiles
 * layout; other layouts have none per tile.
 *
 * @param {GridDoc} grid
 * @param {number} tile
 * @param {string} key
 * @returns {?number|undefined} null for a non-finite value; undefined when the
 *     record has no such entry
 */
export function statOf(grid, tile, key) {
  const list = /** @type {Object<string, Array<?number>>} */ (grid.stats || {})[key];
  if (grid.layout !== 'tiles' || !Array.isArray(list)) return undefined;
  return list[tile];
}

/**
 * The CSS scale for a zoom setting.
 *
 * @param {string} zoom     a ZOOMS entry
 * @param {{width: number}} grid
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
 * The fixed zoom one step larger (+1) or smaller (-1) than the scale
 * `current` a pane shows now (the + and - keys).
 *
 * @param {number} current   the CSS scale in use
 * @param {number} delta     +1 or -1
 * @returns {string} a numeric ZOOMS entry
 */
export function nextZoom(current, delta) {
  const numeric = ZOOMS.filter((z) => Number(z) > 0);
  const index = numeric.findIndex((z) => Number(z) >= current - 1e-9);
  const base = index < 0 ? numeric.length - 1 : index;
  // From a scale between two entries, "larger" is the entry just above it.
  const step = Number(numeric[base]) > current + 1e-9 && delta > 0 ? base : base + delta;
  return numeric[Math.max(0, Math.min(numeric.length - 1, step))];
}
