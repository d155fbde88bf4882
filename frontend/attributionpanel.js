// The attribution view's loads: for the shown attribution grid (one probe
// picture at one step), the probe picture to draw the map over, the same
// picture's record at other kept steps for the strip (only steps the grid
// route serves: TensorBoard may have dropped some), and the link between
// the layer's attribution and its feature maps. Which target is selected
// is the controller's state (the URL's `target`: a class); the opacity the
// user chose is kept here, across steps and pictures. Every answer of an
// older render is dropped.

import {ATTRIBUTION, FEATURE_MAPS, isAttribution, pickTarget, readAttribution,
  targetName} from './attribution.js';
import {AttributionView} from './attributionview.js';
import {Latest, clampSample} from './paneloader.js';
import {pictureOf} from './pictures.js';
import {nearestStep, spreadSteps} from './steps.js';

/**
 * @typedef {import('./api.js').Api} Api
 * @typedef {import('./api.js').GridDoc} GridDoc
 * @typedef {import('./api.js').ProbeInfo} ProbeInfo
 * @typedef {import('./pictures.js').Picture} Picture
 * @typedef {import('./attribution.js').Target} Target
 * @typedef {import('./attributionview.js').StepItem} StepItem
 *
 * @typedef {Object} OpenAttribution   what the controller shows
 * @property {?import('./api.js').ShownGrid} shown   the selected run's grid on screen
 * @property {?string|undefined} run
 * @property {?string|undefined} layer
 * @property {?string|undefined} kind
 * @property {?number|undefined} sample
 * @property {?number|undefined} target    the class chosen (URL state)
 * @property {?import('./api.js').LayerInfo} layerInfo
 * @property {?ProbeInfo} probe
 * @property {function(string): string} kindLabel
 */

/** At most this many steps in the strip. */
const STRIP_STEPS = 12;

/** The attribution view's loads. */
export class AttributionPanel {
  /**
   * @param {Object} options
   * @param {Api} options.api
   * @param {function(?number): void} options.onTarget   a target was chosen: its class
   *     (null when the record names none)
   * @param {function(number): void} options.onStep   a step of the strip was clicked
   * @param {function(string): void} options.onKind   the link to another kind was clicked
   */
  constructor({api, onTarget, onStep, onKind}) {
    this.api = api;
    this.onTarget = onTarget;
    this.onKind = onKind;
    this.onStep = onStep;
    this.view = new AttributionView({
      onTarget: (tile) => this.pickTile(tile),
      onOpacity: (opacity) => { this.opacity = opacity; },
      onStep: (step) => this.moveTo(step),
    });
    this.latest = new Latest();
    /** @type {?number} the opacity the user chose; null: the record's */
    this.opacity = null;
    /** @type {?number} the tile last chosen, for targets without a class */
    this.tile = null;
    /** @type {Target[]} the targets shown */
    this.targets = [];
    /** @type {?Target} the target shown */
    this.target = null;
  }

  /**
   * Show `step` (a figure of the strip), keeping the class the strip showed.
   *
   * @param {number} step
   */
  moveTo(step) {
    if (this.target && this.target.class != null) this.onTarget(this.target.class);
    this.onStep(step);
  }

  /**
   * Choose the target of tile `tile`.
   *
   * @param {number} tile
   */
  pickTile(tile) {
    this.tile = tile;
    const target = this.targets[tile];
    this.onTarget(target ? target.class : null);
  }

  /**
   * A click on a tile of the plain grid: an attribution grid's tile chooses
   * its target (there is no channel to open).
   *
   * @param {GridDoc} grid
   * @param {number} tile
   * @returns {boolean} true when the click was taken
   */
  selects(grid, tile) {
    if (!isAttribution(grid)) return false;
    this.pickTile(tile);
    return true;
  }

  /**
   * Show the attribution of the shown grid, or hide the view when it shows
   * none; and the link to the other kind.
   *
   * @param {OpenAttribution} open
   */
  render(open) {
    const current = this.latest.start();
    this.renderLink(open);
    const grid = open.shown ? open.shown.grid : null;
    if (!grid || !open.run || grid.layer !== open.layer || grid.kind !== open.kind ||
        !isAttribution(grid)) {
      this.targets = [];
      this.target = null;
      this.view.hide();
      return;
    }
    const run = open.run;
    const read = readAttribution(grid);
    this.targets = read.targets;
    const tile = pickTarget(read.targets, open.target, this.tile);
    const target = read.targets[tile] || null;
    this.target = target;
    const image = `image ${grid.sample + 1}`;
    const size = {height: grid.tile_height, width: grid.tile_width};
    this.view.show({
      title: [open.kindLabel(grid.kind), read.method, `step ${grid.step}`, image].filter(Boolean).join(' · '),
      targets: read.targets, selected: tile, opacity: this.opacity ?? read.opacity, notes: read.notes,
    });
    this.picture(run, open.probe, grid.step, grid.sample).then(({picture, note}) => {
      if (!current()) return;
      const what = `${read.method || 'attribution'} map of ${target ? targetName(target) : 'no target'}`;
      this.view.draw({picture, map: target && target.map, ...size}, read.method,
          `${what} over ${image} at step ${grid.step}`);
      if (note) this.view.addNote(note);
    });
    this.renderStrip(run, open.probe, grid, target, current);
  }

  /**
   * The same picture's map at each kept step the grid route serves (up to
   * STRIP_STEPS of them): the target of the same class, else the same tile.
   *
   * @param {string} run
   * @param {?ProbeInfo} probe
   * @param {GridDoc} grid
   * @param {?Target} target
   * @param {function(): boolean} current
   */
  renderStrip(run, probe, grid, target, current) {
    const steps = spreadSteps(grid.steps, grid.step, STRIP_STEPS);
    const heading = steps.length < grid.steps.length ?
      `Same picture at ${steps.length} of ${grid.steps.length} kept steps` :
      'Same picture at every kept step';
    /** @type {StepItem[]} */
    const items = steps.map((step) => ({step, current: step === grid.step}));
    this.view.setStrip(items, heading);
    steps.forEach((step, i) => {
      const record = step === grid.step ? Promise.resolve(grid) :
        this.api.grid({run, layer: grid.layer, kind: grid.kind, step, sample: grid.sample});
      Promise.all([record, this.picture(run, probe, step, grid.sample)]).then(([other, {picture}]) => {
        const targets = readAttribution(other).targets;
        const found = target ? targets[pickTarget(targets, target.class, target.tile)] : null;
        return found && found.map ? {...items[i], detail: targetName(found),
          drawing: {picture, map: found.map, height: other.tile_height, width: other.tile_width}} :
          {...items[i], message: 'no map'};
      }, (err) => ({...items[i], message: `error: ${err.message}`})).then((item) => {
        if (current()) this.view.setStripItem(i, item);
      });
    });
  }

  /**
   * The probe picture `sample` at the kept probe step nearest to `step`.
   *
   * @param {string} run
   * @param {?ProbeInfo} probe
   * @param {number} step
   * @param {number} sample
   * @returns {Promise<{picture: ?Picture, note: string}>} without a picture,
   *     a note saying why
   */
  async picture(run, probe, step, sample) {
    const alone = 'the map is drawn alone';
    if (!probe || !Array.isArray(probe.steps) || !probe.steps.length) {
      return {picture: null, note: `This run logged no probe pictures: ${alone}.`};
    }
    try {
      const shown = await this.api.gridWithPixels({run, layer: probe.layer, kind: probe.kind,
        step: nearestStep(probe.steps, step), sample: clampSample(sample, probe.samples)});
      const picture = pictureOf(shown.pixels, shown.grid);
      return {picture, note: picture ? '' : `The probe picture could not be read: ${alone}.`};
    } catch (err) {
      return {picture: null, note: `Could not load the probe picture (${err.message}): ${alone}.`};
    }
  }

  /**
   * The link between the layer's attribution and its feature maps, for the
   * same picture, when the layer logged both.
   *
   * @param {OpenAttribution} open
   */
  renderLink({layerInfo, kind, sample, kindLabel}) {
    const kinds = (layerInfo && layerInfo.kinds) || {};
    const other = kind === ATTRIBUTION ? FEATURE_MAPS : kind === FEATURE_MAPS ? ATTRIBUTION : null;
    if (!other || !Object.prototype.hasOwnProperty.call(kinds, other)) {
      this.view.setLink(null);
      return;
    }
    const image = `image ${(sample || 0) + 1}`;
    this.view.setLink({
      text: other === FEATURE_MAPS ? `${kindLabel(other)} of ${image} →` : `← ${kindLabel(other)} of ${image}`,
      title: other === FEATURE_MAPS ? 'The feature maps of this picture in this layer' :
        'Where the classifier looks in this picture, from this layer',
      onClick: () => this.onKind(other),
    });
  }
}
