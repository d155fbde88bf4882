// The loads behind the dataset-example views (examplesview.js): the
// Examples view of a layer's examples grid, the channel view's section on
// one channel's examples (from the shown examples grid, or else from the
// layer's examples grid at the kept step nearest the shown one), and the
// whole picture behind an example: its thumbnail in the pictures grid
// logged with the examples (the pseudo layer the `layers` reply names in
// `pictures`) at the same step, found by its data index. Which
// channel and example are chosen is the controller's state (the URL's
// `channel` and `example`); every answer of an older render is dropped.

import {EXAMPLES, exampleAt, examplesOf, isExamples, readExamples, slotOrigin} from './examples.js';
import {boxText, channelStatsText, exampleText, healthText, scannedText} from './exampletext.js';
import {ChannelExamplesView, ExamplesView} from './examplesview.js';
import {tileOf, tileOrigin} from './geometry.js';
import {Latest} from './paneloader.js';
import {boxSpace, cut, pictureTile} from './pictures.js';
import {nearestStep} from './steps.js';

/**
 * @typedef {import('./api.js').Api} Api
 * @typedef {import('./api.js').ProbeInfo} ProbeInfo
 * @typedef {import('./api.js').ShownGrid} ShownGrid
 * @typedef {import('./pictures.js').Picture} Picture
 * @typedef {import('./examples.js').Example} Example
 * @typedef {import('./examples.js').ExamplesRead} ExamplesRead
 * @typedef {import('./examplesview.js').CropItem} CropItem
 * @typedef {import('./examplesview.js').PictureFigure} PictureFigure
 *
 * @typedef {Object} Found   the picture behind an example, or why there is none
 * @property {?Picture} thumbnail
 * @property {?{height: number, width: number}} space   the size its boxes are in
 * @property {string} note
 */

/**
 * The whole picture of data index `index`: its tile in the pictures grid
 * logged with the examples of `step`. Asked for only where the `layers`
 * reply lists that step (no request that must fail).
 *
 * @param {Api} api
 * @param {?ProbeInfo|undefined} pictures   the `layers` reply's `pictures`
 * @param {string} run
 * @param {number} step
 * @param {number} index
 * @param {?{height: number, width: number}} fallback   the examples record's
 *     picture size, for a pictures record that lacks its own
 * @returns {Promise<Found>}
 */
export async function loadPicture(api, pictures, run, step, index, fallback) {
  const none = {thumbnail: null, space: null};
  if (!pictures || !Array.isArray(pictures.steps) || !pictures.steps.includes(step)) {
    const why = pictures ? '' : ' (this run logged none; older logs keep none)';
    return {...none, note: `No pictures were logged with the examples of step ${step}${why}, ` +
      `so picture ${index} cannot be shown.`};
  }
  let shown;
  try {
    shown = await api.gridWithPixels({run, layer: pictures.layer, kind: pictures.kind, step, sample: 0});
  } catch (err) {
    return {...none, note: `Could not load the pictures of step ${step}: ${err.message}`};
  }
  const {grid, pixels} = shown;
  const tile = pictureTile(grid, index);
  if (tile < 0) {
    return {...none, note: `Picture ${index} was not logged at step ${step}: ` +
      'only the pictures behind the drawn channels’ examples are kept.'};
  }
  const {x, y} = tileOrigin(grid, tile);
  const thumbnail = cut(pixels, x, y, grid.tile_width, grid.tile_height);
  const space = boxSpace(grid, fallback);
  if (!thumbnail || !space) {
    return {...none, note: `Picture ${index} could not be read from the logged pictures.`};
  }
  return {thumbnail, space, note: ''};
}

/**
 * Show an example's whole picture in `figure`: a loading line, then the
 * picture with the box, or why there is none.
 *
 * @param {Api} api
 * @param {PictureFigure} figure
 * @param {Object} what
 * @param {?ProbeInfo|undefined} what.pictures   the `layers` reply's `pictures`
 * @param {string} what.run
 * @param {number} what.step     the examples grid's step
 * @param {Example} what.example
 * @param {ExamplesRead} what.read
 * @param {function(): boolean} what.current   false once a newer render started
 */
function showPicture(api, figure, {pictures, run, step, example, read, current}) {
  const caption = `picture ${example.index} · ${boxText(example.box)}`;
  figure.say('Loading the picture…', caption);
  loadPicture(api, pictures, run, step, example.index, read.pictureSize).then((found) => {
    if (!current()) return;
    if (found.thumbnail && found.space) figure.draw(found.thumbnail, example.box, found.space, caption);
    else figure.say(found.note, caption);
  });
}

/** The Examples view's loads. */
export class ExamplesPanel {
  /** @param {{api: Api}} options */
  constructor({api}) {
    this.api = api;
    this.view = new ExamplesView();
    this.latest = new Latest();
  }

  /**
   * Show the examples of the shown grid and the example chosen (with its
   * picture), or hide the view when the grid shows no examples.
   *
   * @param {Object} open
   * @param {?ShownGrid} open.shown      the selected run's grid on screen
   * @param {?string|undefined} open.run
   * @param {?number|undefined} open.channel
   * @param {?number|undefined} open.example   the slot chosen
   * @param {?ProbeInfo|undefined} open.pictures   the `layers` reply's `pictures`
   */
  render({shown, run, channel, example, pictures}) {
    const current = this.latest.start();
    const grid = shown ? shown.grid : null;
    if (!grid || !run || !isExamples(grid)) {
      this.view.hide();
      return;
    }
    const read = readExamples(grid);
    this.view.show({title: `Dataset examples · step ${grid.step}`, summary: scannedText(read),
      health: healthText(read), notes: read.notes});
    const chosen = exampleAt(read, channel, example);
    if (channel == null || !chosen) {
      this.view.picture.clear();
      this.view.select(channel == null ?
        ['Point at a crop to read its example; click it to see its picture.'] :
        [`channel ${channel}`, 'Click one of its crops to see its whole picture.', statsLine(read, channel)]);
      return;
    }
    this.view.select([`channel ${channel} · example ${chosen.slot + 1} of ${read.k ?? '?'}`,
      exampleText(chosen), statsLine(read, channel)]);
    showPicture(this.api, this.view.picture,
        {pictures, run, step: grid.step, example: chosen, read, current});
  }
}

/**
 * @param {ExamplesRead} read
 * @param {number} channel
 * @returns {string}
 */
function statsLine(read, channel) {
  const stats = channelStatsText(read, channel);
  return stats ? `channel over the data: ${stats}` : 'No statistics for this channel.';
}

/**
 * What the channel view's section is asked to show.
 *
 * @typedef {Object} OpenExamples
 * @property {?ShownGrid} shown        the grid the channel was opened in
 * @property {string} run
 * @property {?import('./api.js').LayerInfo} layerInfo
 * @property {?number|undefined} channel
 * @property {?number|undefined} example   the slot chosen
 * @property {?ProbeInfo|undefined} pictures   the `layers` reply's `pictures`
 * @property {boolean} follows   the grid's tiles are the layer's output
 *     channels (related.js: false for a depthwise kernel's input channels)
 */

/** The channel view's section on the open channel's examples. */
export class ChannelExamples {
  /**
   * @param {Object} options
   * @param {Api} options.api
   * @param {function(number): void} options.onExample   an example was chosen (its slot)
   * @param {function(string, ?number): void} options.onKind   show that kind at that step
   */
  constructor({api, onExample, onKind}) {
    this.api = api;
    this.onExample = onExample;
    this.view = new ChannelExamplesView({onPick: (slot) => this.pick(slot),
      onOpen: () => this.shown && onKind(EXAMPLES, this.shown.grid.step)});
    this.element = this.view.element;
    this.latest = new Latest();
    /** @type {?ShownGrid} the examples grid the section shows */
    this.shown = null;
    /** @type {?{run: string, pictures: ?ProbeInfo|undefined, channel: number, read: ExamplesRead,
     *     own: boolean}} */
    this.open = null;
  }

  /**
   * Show the channel's examples, or nothing when the layer logged none.
   *
   * @param {OpenExamples} open
   */
  render(open) {
    const current = this.latest.start();
    this.shown = null;
    this.open = null;
    const {shown, layerInfo, channel} = open;
    const info = layerInfo && Object.prototype.hasOwnProperty.call(layerInfo.kinds || {}, EXAMPLES) ?
      layerInfo.kinds[EXAMPLES] : null;
    const own = !!shown && isExamples(shown.grid);
    if (!shown || channel == null || !open.follows || (!own && !(info && info.steps && info.steps.length))) {
      this.view.clear();
      return;
    }
    const source = own ? Promise.resolve(shown) : this.api.gridWithPixels({run: open.run,
      layer: shown.grid.layer, kind: EXAMPLES, step: nearestStep(info.steps, shown.grid.step), sample: 0});
    source.then((examples) => {
      if (current()) this.fill(open, examples, own, current);
    }, (err) => {
      if (!current()) return;
      this.view.show({heading: 'Dataset examples', summary: [], linked: false, items: [], selected: null,
        note: `Could not load the examples: ${err.message}`});
    });
  }

  /**
   * @param {OpenExamples} open
   * @param {ShownGrid} examples   the layer's examples grid
   * @param {boolean} own          it is the grid the channel was opened in
   * @param {function(): boolean} current
   */
  fill(open, examples, own, current) {
    const channel = /** @type {number} */ (open.channel);
    const {grid, pixels} = examples;
    const read = readExamples(grid);
    const list = examplesOf(read, channel) || [];
    const tile = tileOf(grid, channel);
    const layout = read.layout;
    /** @type {CropItem[]} */
    const items = list.map((example) => {
      if (tile < 0 || !layout) return {example, crop: null};
      const at = tileOrigin(grid, tile);
      const slot = slotOrigin(layout, example.slot);
      return {example, crop: cut(pixels, at.x + slot.x, at.y + slot.y, layout.size, layout.size)};
    });
    let note = '';
    if (!examplesOf(read, channel)) {
      note = `The record lists no examples for channel ${channel}.`;
    } else if (!list.length) {
      note = `No examples for channel ${channel}.`;
    } else if (items.some((item) => !item.crop)) {
      const drawn = `${(grid.channels || []).length} of ${grid.total_channels}`;
      note = tile < 0 ? `The crops of channel ${channel} were not drawn (the grid draws ${drawn} ` +
        'channels): its examples are listed as text.' :
        'The crops cannot be located in the tile: the examples are listed as text.';
    }
    const stats = channelStatsText(read, channel);
    this.shown = examples;
    this.open = {run: open.run, pictures: open.pictures, channel, read, own};
    const chosen = exampleAt(read, channel, open.example);
    this.view.show({heading: `Dataset examples · step ${grid.step}`,
      summary: [stats ? `channel ${channel} over the data: ${stats}` :
        `No statistics for channel ${channel}.`, scannedText(read)],
      linked: !own, note, items, selected: chosen ? chosen.slot : null});
    this.showChosen(chosen, current);
  }

  /**
   * An example was clicked: mark it, show its picture, tell the controller.
   *
   * @param {number} slot
   */
  pick(slot) {
    if (!this.open) return;
    this.view.mark(slot);
    this.onExample(slot);
    this.showChosen(exampleAt(this.open.read, this.open.channel, slot), this.latest.start());
  }

  /**
   * The chosen example's picture, unless the Examples view beside the grid
   * shows it already (the channel was opened in the examples grid).
   *
   * @param {?Example} example
   * @param {function(): boolean} current
   */
  showChosen(example, current) {
    const open = this.open;
    if (!open || !this.shown || !example || open.own) {
      this.view.picture.clear();
      return;
    }
    showPicture(this.api, this.view.picture, {pictures: open.pictures, run: open.run,
      step: this.shown.grid.step, example, read: open.read, current});
  }
}
