// The open channel: one tile of the shown grid large (ChannelView), the
// same channel at other kept steps, drawn as each step's grid arrives, and
// the same channel in the compared run. Which channel is open is the
// controller's state; this module only turns it into what the view shows.

import {ChannelView} from './channelview.js';
import {tileCount, tileOf} from './geometry.js';
import {Latest} from './paneloader.js';
import {spreadSteps} from './steps.js';

/**
 * @typedef {import('./api.js').Api} Api
 * @typedef {import('./api.js').ShownGrid} ShownGrid
 * @typedef {import('./channelview.js').StripItem} StripItem
 *
 * @typedef {Object} OpenChannel
 * @property {?ShownGrid} shown          the selected run's grid on screen
 * @property {?(ShownGrid & {run: string})} compared   the compared run's grid
 * @property {?number|undefined} channel  channel (tiles), output filter (mosaic)
 * @property {?number|undefined} input    input channel (mosaic)
 * @property {string} cmap
 * @property {string} run       the grid's run, layer and kind, to ask for other steps
 * @property {string} layer
 * @property {string} kind
 * @property {string} kindText  the kind's display name
 */

/** At most this many steps in the "other steps" strip. */
const STRIP_STEPS = 12;

/** The channel panel and the loads of its strips. */
export class ChannelPanel {
  /**
   * @param {Object} options
   * @param {Api} options.api
   * @param {function(): void} options.onClose
   * @param {function(number): void} options.onMove   next (+1) or previous (-1) tile
   * @param {function(number): void} options.onStep   a step of the strip was clicked
   */
  constructor({api, onClose, onMove, onStep}) {
    this.api = api;
    this.onStep = onStep;
    this.view = new ChannelView({onClose, onMove});
    this.element = this.view.element;
    // Strip answers of an earlier channel or step must not land in this one.
    this.latest = new Latest();
  }

  /** True while a channel is shown. */
  isOpen() {
    return !this.element.hidden;
  }

  hide() {
    this.view.hide();
  }

  /**
   * Show the open channel, or hide the panel when none is open or the
   * shown grid lacks it.
   *
   * @param {OpenChannel} open
   */
  render(open) {
    const current = this.latest.start();
    if (open.channel == null || !open.shown) {
      this.view.hide();
      return;
    }
    const {grid, pixels} = open.shown;
    const tile = tileOf(grid, open.channel, open.input);
    if (tile < 0 || tile >= tileCount(grid)) {
      this.view.hide();
      return;
    }
    this.view.show({grid, pixels, tile}, open.cmap, `${open.run} · ${open.layer} · ${open.kindText}`);

    const steps = spreadSteps(grid.steps, grid.step, STRIP_STEPS);
    const heading = steps.length < grid.steps.length ?
      `Same channel at ${steps.length} of ${grid.steps.length} kept steps` :
      'Same channel at other steps';
    /** @type {StripItem[]} */
    const items = steps.map((step) => ({
      label: `step ${step}`,
      ref: step === grid.step ? {grid, pixels, tile} : null,
      current: step === grid.step,
      onClick: step === grid.step ? undefined : () => this.onStep(step),
    }));
    this.view.setStrip('steps', items, heading);
    steps.forEach((step, i) => {
      if (step === grid.step) return;
      const query = {run: open.run, layer: open.layer, kind: open.kind, step, sample: grid.sample};
      this.api.gridWithPixels(query).then((other) => {
        const t = tileOf(other.grid, open.channel ?? null, open.input);
        items[i].ref = t >= 0 ? {...other, tile: t} : null;
        items[i].message = t >= 0 ? undefined : 'not logged';
      }, (err) => {
        items[i].message = `error: ${err.message}`;
      }).then(() => {
        if (current()) this.view.setStrip('steps', items, heading);
      });
    });

    const compared = open.compared;
    if (compared) {
      const t = tileOf(compared.grid, open.channel, open.input);
      this.view.setStrip('compare', [{
        label: `${compared.run} · step ${compared.grid.step}`,
        ref: t >= 0 ? {grid: compared.grid, pixels: compared.pixels, tile: t} : null,
        message: 'not logged',
      }], `In run ${compared.run}`);
    } else {
      this.view.setStrip('compare', []);
    }
  }
}
