// Dataset examples in words (examples.js reads the record): a box, an
// example, a channel's statistics and the layer's health over the data, how
// the pass was made, and the grid tooltip's lines for the crop under the
// pointer. Pure functions: no DOM.

import {fmt, pct} from './dom.js';
import {cropAt, examplesOf} from './examples.js';

/**
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./examples.js').Example} Example
 * @typedef {import('./examples.js').ExamplesRead} ExamplesRead
 * @typedef {import('./geometry.js').TileMeaning} TileMeaning
 */

/**
 * A box in words: "box top 3, left 9, bottom 8, right 14".
 *
 * @param {?number[]} box
 * @returns {string}
 */
export function boxText(box) {
  return box ? `box top ${box[0]}, left ${box[1]}, bottom ${box[2]}, right ${box[3]}` : 'box unreadable';
}

/**
 * An example in words: "value 4406 · picture 17 · box top 3, left 9,
 * bottom 8, right 14" (the value as fmt() writes numbers).
 *
 * @param {Example} example
 * @returns {string}
 */
export function exampleText(example) {
  return `value ${fmt(example.value)} · picture ${example.index} · ${boxText(example.box)}`;
}

/**
 * A channel's statistics over the data in words: "mean 0.003 · max 4406 ·
 * zeros 0.0%"; '' when the record has none for it.
 *
 * @param {ExamplesRead} read
 * @param {?number|undefined} channel
 * @returns {string}
 */
export function channelStatsText(read, channel) {
  if (channel == null) return '';
  const {mean, max, zero} = read.stats;
  if (channel >= Math.max(mean.length, max.length, zero.length)) return '';
  return `mean ${fmt(mean[channel] ?? null)} · max ${fmt(max[channel] ?? null)} · ` +
    `zeros ${pct(zero[channel] ?? null)}`;
}

/**
 * The layer's health over the data in words: "dead 0.0% · saturated 0.0%
 * · non-finite 0.0%"; '' when the record has none.
 *
 * @param {ExamplesRead} read
 * @returns {string}
 */
export function healthText(read) {
  const h = read.health;
  return h ? `dead ${pct(h.dead)} · saturated ${pct(h.saturated)} · non-finite ${pct(h.nonfinite)}` : '';
}

/**
 * How the pass was made in words: "top 5 per channel · pictures scanned:
 * 300 · pictures 96×160 px · receptive field 5×5 px".
 *
 * @param {ExamplesRead} read
 * @returns {string}
 */
export function scannedText(read) {
  const parts = [`top ${read.k ?? '?'} per channel`, `pictures scanned: ${read.pictures ?? '?'}`];
  if (read.pictureSize) parts.push(`pictures ${read.pictureSize.height}×${read.pictureSize.width} px`);
  if (read.field) {
    parts.push(`receptive field ${read.field.size[0]}×${read.field.size[1]} px` +
      (read.field.exact ? '' : ' (the whole picture)'));
  }
  return parts.join(' · ');
}

/**
 * What a crop of an examples grid shows, for the grid's tooltip: the
 * channel and slot, the example, the channel's statistics and the layer's
 * health over the data; null for other grids.
 *
 * @param {GridDoc} grid
 * @param {number} tile
 * @param {number} [x]
 * @param {number} [y]
 * @returns {?(TileMeaning & {lines: string[]})}
 */
export function describeCrop(grid, tile, x, y) {
  const crop = cropAt(grid, tile, x, y);
  if (!crop) return null;
  const {channel, slot, example, read} = crop;
  const k = read.k ?? '?';
  const label = slot == null ? `channel ${channel}` : `channel ${channel} · example ${slot + 1} of ${k}`;
  const stats = channelStatsText(read, channel);
  const health = healthText(read);
  let what = 'Point at a crop to read its example.';
  if (!examplesOf(read, channel)) what = 'the record lists no examples for this channel';
  else if (slot != null) what = example ? exampleText(example) : 'empty slot: no example here';
  const lines = [
    what,
    stats ? `channel over the data: ${stats}` : 'no statistics for this channel',
    health ? `layer over the data: ${health}` : 'no health figures for this layer',
    scannedText(read),
  ];
  return {channel, input: null, label, lines};
}
