// The one way a grid gets into a pane: ask the data layer for the record
// and its pixels, and then, unless a newer load has started meanwhile (the
// slider moved on), draw it with its caption or show why there is nothing.
// The main grid, the probe image and the compared run differ only in what
// they ask for and how they word it; layerpanes.js loads the three together.

import {notice} from './dom.js';
import {nearestStep} from './steps.js';

/**
 * @typedef {import('./api.js').Api} Api
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./api.js').GridQuery} GridQuery
 * @typedef {import('./api.js').ProbeInfo} ProbeInfo
 * @typedef {import('./api.js').ShownGrid} ShownGrid
 * @typedef {import('./gridview.js').GridPane} GridPane
 */

/**
 * Nothing to draw, and that is not a failure (the compared run did not log
 * this layer, say): the pane shows the message as an empty state.
 */
export class NoGrid extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'NoGrid';
  }
}

/**
 * Tells the latest of a series of loads from the earlier ones, so that an
 * answer arriving late never overwrites a newer one.
 */
export class Latest {
  constructor() {
    this.id = 0;
  }

  /**
   * Start a load.
   *
   * @returns {function(): boolean} true while no later load has started
   */
  start() {
    const id = ++this.id;
    return () => id === this.id;
  }
}

/**
 * The sample to ask for when a grid has only `count` of them: asking a
 * one-image grid for image 2 would 404.
 *
 * @param {?number|undefined} sample
 * @param {number|undefined} count
 * @returns {number}
 */
export function clampSample(sample, count) {
  return Math.min(sample || 0, Math.max(0, (count || 1) - 1));
}

/**
 * @typedef {Object} PaneLoad
 * @property {function(): (GridQuery|Promise<GridQuery>)} query  which grid;
 *     may throw NoGrid
 * @property {function(): boolean} current   false once a newer load started
 * @property {function(GridDoc): string} caption
 * @property {function(): {cmap: string, zoom: string}} look   read when the
 *     grid arrives: the user may have changed them while it loaded
 * @property {function(Error): string} failure    the error notice's text
 * @property {function(Error): Promise<boolean>} [recover]  tried before the
 *     error notice; true when it handled the failure (started another load)
 */

/**
 * Load one grid into `pane`.
 *
 * @param {Api} api
 * @param {GridPane} pane
 * @param {PaneLoad} load
 * @returns {Promise<?ShownGrid>} the grid drawn; null when there was none
 *     or a newer load started (ask `load.current()` to tell them apart)
 */
export async function loadPane(api, pane, load) {
  try {
    const shown = await api.gridWithPixels(await load.query());
    if (!load.current()) return null;
    const {cmap, zoom} = load.look();
    pane.setCaption(load.caption(shown.grid));
    pane.draw(shown.grid, shown.pixels, cmap, zoom);
    return shown;
  } catch (err) {
    if (!load.current()) return null;
    if (err instanceof NoGrid) {
      pane.showNotice(notice('empty', err.message));
    } else if (!(load.recover && await load.recover(err))) {
      pane.showNotice(notice('error', load.failure(err)));
    }
    return null;
  }
}

/**
 * After a 404 at `step`: the steps the grid route serves for a grid (its
 * latest record lists them) and the one nearest to `step`.
 *
 * @param {Api} api
 * @param {{run: string, layer: string, kind: string}} which
 * @param {?number|undefined} step
 * @returns {Promise<?{steps: number[], step: number}>} null when the route
 *     fails too, or offers no other step
 */
export async function servedStep(api, {run, layer, kind}, step) {
  let latest;
  try {
    latest = await api.grid({run, layer, kind, sample: 0});
  } catch (err) {
    return null;
  }
  const nearest = nearestStep(latest.steps, step);
  return nearest == null || nearest === step ? null : {steps: latest.steps, step: nearest};
}

/**
 * The probe image beside the grid: the run's probe pseudo-layer at its
 * kept step nearest to `step`; the pane is hidden when the run logged none.
 *
 * @param {Api} api
 * @param {GridPane} pane
 * @param {Object} load
 * @param {?ProbeInfo} load.probe       the `layers` answer's probe entry
 * @param {?string|undefined} load.run
 * @param {?number|undefined} load.step
 * @param {?number|undefined} load.sample
 * @param {function(): boolean} load.current
 * @param {function(): {cmap: string, zoom: string}} load.look   the grid's look
 */
export async function loadProbe(api, pane, {probe, run, step, sample, current, look}) {
  if (!probe || !probe.steps.length || !run) {
    pane.element.hidden = true;
    return;
  }
  pane.element.hidden = false;
  const image = clampSample(sample, probe.samples);
  await loadPane(api, pane, {
    query: () => ({run, layer: probe.layer, kind: probe.kind,
      step: nearestStep(probe.steps, step), sample: image}),
    current,
    caption: (grid) => `Probe image ${image + 1} · step ${grid.step}`,
    // Grey: the image as it is, never recoloured. Never 'fit': a small
    // image blown up to the pane's width helps nobody.
    look: () => ({cmap: 'grey', zoom: look().zoom === 'fit' ? 'auto' : look().zoom}),
    failure: (err) => `Could not load the probe image: ${err.message}`,
  });
}

/**
 * The same layer and kind in another run, at its kept step nearest to
 * `step`; the pane is hidden when there is no other run to compare with.
 *
 * @param {Api} api
 * @param {GridPane} pane
 * @param {Object} load
 * @param {?string|undefined} load.other    the compared run
 * @param {string} load.run                 the selected run
 * @param {string} load.layer
 * @param {string} load.kind
 * @param {?number|undefined} load.step
 * @param {number} load.sample
 * @param {function(): boolean} load.current
 * @param {function(): {cmap: string, zoom: string}} load.look
 * @returns {Promise<?(ShownGrid & {run: string})>} the grid drawn, if any
 */
export async function loadCompare(api, pane, {other, run, layer, kind, step, sample, current, look}) {
  if (!other || other === run) {
    pane.element.hidden = true;
    return null;
  }
  pane.element.hidden = false;
  pane.setCaption(`${other}`);
  const shown = await loadPane(api, pane, {
    query: async () => {
      const doc = await api.layers(other);
      const info = doc.layers.find((l) => l.name === layer);
      const kindInfo = info ? (info.kinds || {})[kind] : null;
      if (!kindInfo) throw new NoGrid(`Run “${other}” has no ${kind} for layer “${layer}”.`);
      return {run: other, layer, kind, step: nearestStep(kindInfo.steps, step),
        sample: clampSample(sample, kindInfo.samples)};
    },
    current,
    caption: (grid) => `${other} · step ${grid.step}` +
      (grid.step !== step ? ' (nearest kept step)' : ''),
    look,
    failure: (err) => `Could not load run “${other}”: ${err.message}`,
  });
  return shown && current() ? {...shown, run: other} : null;
}
