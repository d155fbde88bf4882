// Export: what the panel shows, as files. A grid or a channel is saved as
// the canvas holds it (colour map applied, one pixel per grid pixel, pad
// lines transparent), not as the grey PNG the logger wrote: that one is a
// click away in TensorBoard's Images tab. A channel's per-step statistics
// are saved as CSV.
//
// Names in logs are untrusted. File names keep only [A-Za-z0-9._-] of
// them; the CSV holds numbers only (names stay in the file name), so no
// cell can start a spreadsheet formula. csvCell() still neutralises one
// that would, for any text column added later.

import {el} from './dom.js';
import {statOf, tileOf} from './geometry.js';

/**
 * @typedef {import('./api.js').GridDoc} GridDoc
 */

/** Longest file name stem offered (file systems allow 255 bytes). */
const MAX_STEM = 150;

/**
 * One part of a file name: runs of anything but letters, digits, '.', '_'
 * and '-' become '_', and leading dots go (no hidden or '..' names).
 *
 * @param {*} part
 * @returns {string}
 */
function safePart(part) {
  return String(part).normalize('NFKD').replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^[._]+|_+$/g, '');
}

/**
 * A safe file name from its parts: "cnn_block1_conv1_activations_step10.png".
 *
 * @param {Array<*>} parts     run, layer, kind, "step10", ...; empty ones dropped
 * @param {string} extension   without the dot
 * @returns {string}
 */
export function fileName(parts, extension) {
  const stem = parts.map(safePart).filter(Boolean).join('_').slice(0, MAX_STEM)
      .replace(/_+$/, '');
  return `${stem || 'featureviz'}.${extension}`;
}

/**
 * The parts naming one grid or one of its channels in a file name.
 *
 * @param {string} run
 * @param {GridDoc} grid
 * @param {{channel?: ?number, input?: ?number, allSteps?: boolean}} [which]
 *     a channel of it; `allSteps` for a file about every step (no step part)
 * @returns {Array<string|number>}
 */
export function gridNameParts(run, grid, which = {}) {
  const parts = [run, grid.layer, grid.kind];
  if (!which.allSteps) parts.push(`step${grid.step}`);
  if (grid.num_samples > 1) parts.push(`image${grid.sample + 1}`);
  if (which.input != null) parts.push(`input${which.input}`);
  if (which.channel != null) parts.push(`channel${which.channel}`);
  return parts;
}

/**
 * A number as a plain decimal, never in exponent form ("0.0000012", not
 * "1.2e-6"), with the digits of its shortest round-trip form; '' for
 * null or a non-finite value.
 *
 * @param {?number|undefined} value
 * @returns {string}
 */
export function plainDecimal(value) {
  if (value == null || !Number.isFinite(value)) return '';
  const text = String(value);
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!match) return text === '-0' ? '0' : text;
  const [, sign, lead, rest = '', exp] = match;
  const digits = lead + rest;
  const point = 1 + Number(exp);  // where the decimal point goes in `digits`
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * One CSV cell: numbers as plain decimals; text quoted when it must be, and
 * prefixed with ' when a spreadsheet would read it as a formula.
 *
 * @param {*} value
 * @returns {string}
 */
export function csvCell(value) {
  if (value == null) return '';
  if (typeof value === 'number') return plainDecimal(value);
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The statistics columns of a channel's CSV, in order. */
export const STATS_COLUMNS = ['step', 'lo', 'hi', 'mean', 'zero_fraction', 'nonfinite_fraction'];

/**
 * The statistics of one channel at one step: a CSV row, or null when the
 * grid does not hold the channel.
 *
 * @param {GridDoc} grid
 * @param {?number} channel
 * @param {?number} [input]   input channel (mosaic)
 * @returns {?Array<?number>}
 */
export function channelStatsRow(grid, channel, input) {
  const tile = tileOf(grid, channel, input);
  if (tile < 0) return null;
  /** @param {Array<?number>|undefined} list */
  const at = (list) => (Array.isArray(list) ? list[tile] ?? null : null);
  return [grid.step, at(grid.lo), at(grid.hi), statOf(grid, tile, 'mean'),
    statOf(grid, tile, 'zero_fraction'), statOf(grid, tile, 'nonfinite_fraction')];
}

/**
 * CSV text (header row first, CRLF line ends as RFC 4180 has them).
 *
 * @param {string[]} header
 * @param {Array<Array<*>>} rows
 * @returns {string}
 */
export function toCsv(header, rows) {
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/**
 * Hand a blob to the browser as a download named `name`.
 *
 * @param {Blob} blob
 * @param {string} name   from fileName()
 */
export function downloadBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el('a', {attrs: {href: url, download: name}});
  link.hidden = true;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // The download has its own copy once it started; a minute is ample.
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/**
 * Download a run's grid as its canvas shows it.
 *
 * @param {HTMLCanvasElement} canvas
 * @param {string} run
 * @param {GridDoc} grid    the grid drawn on the canvas
 * @returns {Promise<void>}
 */
export function downloadGrid(canvas, run, grid) {
  return downloadCanvas(canvas, fileName(gridNameParts(run, grid), 'png'));
}

/**
 * Download what a canvas holds as a PNG at its own pixel size (not its
 * CSS size): exactly the pixels drawn.
 *
 * @param {HTMLCanvasElement} canvas
 * @param {string} name
 * @returns {Promise<void>}
 */
export function downloadCanvas(canvas, name) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => {
      if (!blob) {
        reject(new Error('the canvas could not be encoded as PNG'));
        return;
      }
      downloadBlob(blob, name);
      resolve();
    }, 'image/png');
  });
}
