// The open channel in the layer's other kinds: its feature map, its filter
// and its feature visualization (the optimised image), so that what a
// channel detects, how its kernel looks and what it responds to most sit
// side by side. Feature maps and filters come from the kept step nearest
// the shown one; the feature visualization from the newest `features` grid
// (the optimisation is expensive and logged rarely, and the newest image
// is the one that describes the weights now). Only grids whose tiles name
// the same channel are related: see kernelTilesAreOutputs().

import {tileOf} from './geometry.js';
import {FEATURES, optimisationText, qualityOf, ratioText, tileWarning} from './features.js';
import {clampSample} from './paneloader.js';
import {nearestStep} from './steps.js';

/**
 * @typedef {import('./api.js').Api} Api
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./api.js').GridQuery} GridQuery
 * @typedef {import('./api.js').KindInfo} KindInfo
 * @typedef {import('./api.js').LayerInfo} LayerInfo
 * @typedef {import('./channelview.js').StripItem} StripItem
 *
 * @typedef {Object} RelatedGrid
 * @property {string} kind
 * @property {string} label
 * @property {?GridQuery} query    null: the layer logged no such grid
 */

/**
 * The kinds shown beside a channel, in this order. What one tile of each is
 * called comes from the server (the model's tileLabel).
 */
const RELATED = ['activations', 'filters', FEATURES];

/** What the panel says when a channel has no optimised image. */
export const NO_FEATURES = 'no feature visualization for this channel';

/** Kinds drawn from the layer's kernel, one tile per kernel channel. */
const KERNEL_KINDS = new Set(['filters', 'filter_change']);

/**
 * True when tile `c` of the layer's kernel grids belongs to output channel
 * `c`, as its feature map's and feature visualization's tiles do. A layer
 * with a pointwise kernel (SeparableConv2D) logs its depthwise kernel as
 * `filters`: one tile per input channel, another channel with the same
 * index (docs/format.md).
 *
 * @param {LayerInfo} layer
 * @returns {boolean}
 */
export function kernelTilesAreOutputs(layer) {
  return !('pointwise_kernel' in (layer.kernel_shapes || {})) && !('pointwise' in (layer.kinds || {}));
}

/**
 * True when the tiles of `grid` name the layer's output channels, so that
 * the same channel can be followed into the layer's other kinds (and its
 * dataset examples). A matrix is one tile of weights: it names no channel;
 * a depthwise kernel's tiles are input channels.
 *
 * @param {GridDoc} grid
 * @param {LayerInfo} layer
 * @returns {boolean}
 */
export function namesOutputChannel(grid, layer) {
  return grid.layout !== 'matrix' && !(KERNEL_KINDS.has(grid.kind) && !kernelTilesAreOutputs(layer));
}

/**
 * Which grids show the channel of `grid` in the layer's other kinds. A
 * feature visualization is always offered, so that its absence is said.
 *
 * @param {GridDoc} grid       the grid the channel was opened in
 * @param {LayerInfo} layer    its layer (`layers` route)
 * @param {string} run
 * @param {function(string): string} tileLabel   what one tile of a kind is
 *     called (the `layers` route's `tile_labels`, through the model)
 * @returns {RelatedGrid[]}
 */
export function relatedGrids(grid, layer, run, tileLabel) {
  if (!namesOutputChannel(grid, layer)) return [];
  const apart = !kernelTilesAreOutputs(layer);
  const kinds = layer.kinds || {};
  /** @type {RelatedGrid[]} */
  const out = [];
  for (const kind of RELATED) {
    if (kind === grid.kind || (apart && KERNEL_KINDS.has(kind))) continue;
    const label = tileLabel(kind);
    const info = kinds[kind];
    if (!info || !info.steps || !info.steps.length) {
      if (kind === FEATURES) out.push({kind, label, query: null});
      continue;
    }
    const step = kind === FEATURES ? info.steps[info.steps.length - 1] :
      nearestStep(info.steps, grid.step);
    const sample = kind === 'activations' ? clampSample(grid.sample, info.samples) : 0;
    out.push({kind, label, query: {run, layer: grid.layer, kind, step, sample}});
  }
  return out;
}

/**
 * The strip item of a related grid once loaded: the channel's tile, with
 * the noise ratio, the failed marker (or the dead one: the channel stays
 * at 0, its image shows nothing) and how it was made for a feature
 * visualization.
 *
 * @param {RelatedGrid} related
 * @param {import('./api.js').ShownGrid} other   the related grid, loaded
 * @param {number} channel
 * @param {StripItem} item    updated in place
 */
function fill(related, other, channel, item) {
  const tile = other.grid.layout === 'tiles' ? tileOf(other.grid, channel) : -1;
  if (tile < 0) {
    item.message = related.kind === FEATURES ? NO_FEATURES : 'not logged';
    item.onClick = undefined;  // that kind would not show this channel either
    return;
  }
  item.ref = {...other, tile};
  item.label = `${related.label} · step ${other.grid.step}`;
  const quality = qualityOf(other.grid, tile);
  if (quality) {
    item.detail = ratioText(quality);
    const warning = tileWarning(quality);
    if (warning) item.warning = warning;
  }
  const made = optimisationText(other.grid);
  if (made) item.note = made;
}

/**
 * Load the related grids of an open channel; `show` gets the strip items
 * at once (placeholders) and again as each grid arrives.
 *
 * @param {Api} api
 * @param {RelatedGrid[]} related
 * @param {number} channel
 * @param {function(string, ?number): void} onKind   a figure was clicked: show
 *     that kind at the figure's step
 * @param {function(StripItem[]): void} show
 */
export function loadRelated(api, related, channel, onKind, show) {
  /** @type {StripItem[]} */
  const items = related.map((r) => ({
    label: r.label,
    kind: r.kind,
    ref: null,
    message: r.query ? undefined : NO_FEATURES,
    onClick: r.query ? () => onKind(r.kind, /** @type {GridQuery} */ (r.query).step) : undefined,
  }));
  show(items);
  related.forEach((r, i) => {
    if (!r.query) return;
    api.gridWithPixels(r.query).then((other) => fill(r, other, channel, items[i]), (err) => {
      items[i].message = `error: ${err.message}`;
    }).then(() => show(items));
  });
}
