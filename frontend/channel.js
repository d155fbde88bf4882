// The open channel: one tile of the shown grid large (ChannelView), the
// same channel at other kept steps, drawn as each step's grid arrives, in
// the layer's other kinds (related.js), its dataset examples
// (examplespanel.js) and in the compared run, and its downloads. Which
// channel is open is the controller's state; this module only turns it
// into what the view shows.

import {isAttribution} from './attribution.js';
import {ChannelView} from './channelview.js';
import {ChannelExamples} from './examplespanel.js';
import {STATS_COLUMNS, channelStatsRow, downloadBlob, downloadCanvas, fileName, gridNameParts,
  toCsv} from './export.js';
import {tileCount, tileOf} from './geometry.js';
import {Latest} from './paneloader.js';
import {loadRelated, namesOutputChannel, relatedGrids} from './related.js';
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
 * @property {?number|undefined} example  the dataset example chosen (its slot)
 * @property {string} cmap
 * @property {string} run       the grid's run, layer and kind, to ask for other steps
 * @property {string} layer
 * @property {string} kind
 * @property {string} kindText  the kind's display name
 * @property {function(string): string} tileLabel  what one tile of a kind is
 *     called (the model's tileLabel), for the related grids
 * @property {?import('./api.js').LayerInfo} layerInfo  the layer, with its kinds
 * @property {?import('./api.js').ProbeInfo} pictures  the pictures behind the
 *     run's dataset examples (the `layers` reply's), if any
 */

/** At most this many steps in the "other steps" strip. */
const STRIP_STEPS = 12;

/** Requests in flight at once while a CSV export gathers its steps. */
const EXPORT_REQUESTS = 6;

/** The channel panel and the loads of its strips. */
export class ChannelPanel {
  /**
   * @param {Object} options
   * @param {Api} options.api
   * @param {function(): void} options.onClose
   * @param {function(number): void} options.onMove   next (+1) or previous (-1) tile
   * @param {function(number): void} options.onStep   a step of the strip was clicked
   * @param {function(string, ?number): void} options.onKind   a related kind was
   *     clicked: show it at that step
   * @param {function(number): void} options.onExample   a dataset example was
   *     chosen (its slot)
   */
  constructor({api, onClose, onMove, onStep, onKind, onExample}) {
    this.api = api;
    this.onStep = onStep;
    this.onKind = onKind;
    this.examples = new ChannelExamples({api, onExample, onKind});
    this.view = new ChannelView({onClose, onMove, examples: this.examples.element,
      onExportPng: () => this.exportPng(), onExportCsv: () => this.exportCsv()});
    this.element = this.view.element;
    // Strip answers of an earlier channel or step must not land in this one.
    this.latest = new Latest();
    /** @type {?OpenChannel} the channel shown, for its downloads */
    this.open = null;
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
   * shown grid lacks it (an attribution grid's tiles are target classes,
   * not channels).
   *
   * @param {OpenChannel} open
   */
  render(open) {
    const current = this.latest.start();
    this.open = null;
    const shown = open.shown;
    const tile = shown && open.channel != null ? tileOf(shown.grid, open.channel, open.input) : -1;
    if (!shown || isAttribution(shown.grid) || tile < 0 || tile >= tileCount(shown.grid)) {
      this.examples.render({...open, follows: false});
      this.view.hide();
      return;
    }
    const {grid, pixels} = shown;
    this.open = open;
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

    const related = open.layerInfo ? relatedGrids(grid, open.layerInfo, open.run, open.tileLabel) : [];
    loadRelated(this.api, related, open.channel,
        this.onKind, (items) => {
          if (current()) this.view.setStrip('related', items, 'Same channel in other views');
        });
    this.examples.render({...open, follows: !!open.layerInfo && namesOutputChannel(grid, open.layerInfo)});

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

  /**
   * The parts of the open channel's file names.
   *
   * @param {boolean} [allSteps]   for a file about every step
   */
  fileParts(allSteps = false) {
    const open = /** @type {OpenChannel} */ (this.open);
    const grid = /** @type {import('./api.js').ShownGrid} */ (open.shown).grid;
    return gridNameParts(open.run, grid, {channel: open.channel, input: open.input, allSteps});
  }

  /** Download the channel as the canvas shows it. */
  exportPng() {
    if (!this.open) return;
    this.view.setExportStatus('');
    downloadCanvas(this.view.canvas, fileName(this.fileParts(), 'png')).catch((err) => {
      this.view.setExportStatus(`Could not export the PNG: ${err.message}`);
    });
  }

  /**
   * Download the channel's range and statistics at every step its grid
   * serves (one record each, EXPORT_REQUESTS at a time), as CSV.
   */
  async exportCsv() {
    const open = this.open;
    if (!open || !open.shown) return;
    const grid = open.shown.grid;
    const {run, layer, kind, channel, input} = open;
    const name = fileName([...this.fileParts(true), 'stats'], 'csv');
    this.view.setExportStatus(`Gathering ${grid.steps.length} steps…`);
    /** @type {Array<?Array<?number>>} */
    const rows = new Array(grid.steps.length).fill(null);
    let next = 0;
    const worker = async () => {
      while (next < grid.steps.length) {
        const i = next++;
        const record = await this.api.grid({run, layer, kind, step: grid.steps[i], sample: grid.sample});
        rows[i] = channelStatsRow(record, channel ?? null, input);
      }
    };
    try {
      await Promise.all(Array.from({length: EXPORT_REQUESTS}, worker));
    } catch (err) {
      this.view.setExportStatus(`Could not export the CSV: ${err.message}`);
      return;
    }
    // Steps whose grid does not hold this channel have no row.
    const csv = toCsv(STATS_COLUMNS, rows.filter((row) => row !== null));
    downloadBlob(new Blob([csv], {type: 'text/csv'}), name);
    this.view.setExportStatus('');
  }
}
