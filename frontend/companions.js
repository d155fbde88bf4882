// The views that accompany the shown grid: the open channel (channel.js),
// the attribution view (attributionpanel.js) and the Examples view
// (examplespanel.js). Each is rendered from the view state (the model's)
// and what the layer panes show; what the user does in them goes back to
// the controller through its actions. No state of its own.

import {AttributionPanel} from './attributionpanel.js';
import {ChannelPanel} from './channel.js';
import {ExamplesPanel} from './examplespanel.js';

/**
 * @typedef {import('./api.js').Api} Api
 * @typedef {import('./layerpanes.js').LayerPanes} LayerPanes
 * @typedef {import('./model.js').PanelModel} PanelModel
 *
 * @typedef {Object} CompanionActions   the controller's setters
 * @property {function(?number): void} setTarget   an attribution target (its class)
 * @property {function(number): void} setStep
 * @property {function(string, number=): void} setKind   a kind, at a step
 * @property {function(): void} closeChannel
 * @property {function(number): void} moveChannel    next (+1) or previous (-1) tile
 * @property {function(number): void} setExample     a dataset example (its slot)
 */

/** The channel, attribution and examples views, and their renders. */
export class Companions {
  /**
   * @param {Object} options
   * @param {Api} options.api
   * @param {PanelModel} options.model
   * @param {CompanionActions} options.actions
   */
  constructor({api, model, actions}) {
    this.model = model;
    /** @type {?LayerPanes} set once the panes exist (they hold these views' parts) */
    this.panes = null;
    this.attribution = new AttributionPanel({api, onTarget: actions.setTarget, onStep: actions.setStep,
      onKind: (kind) => actions.setKind(kind)});
    this.examples = new ExamplesPanel({api});
    this.channel = new ChannelPanel({api, onClose: actions.closeChannel, onMove: actions.moveChannel,
      onStep: actions.setStep, onKind: actions.setKind, onExample: actions.setExample});
  }

  /** Render all three (the panes' latest load has settled). */
  render() {
    this.renderChannel();
    this.renderAttribution();
    this.renderExamples();
  }

  renderAttribution() {
    const {run, layer, kind, sample, target} = this.model.state;
    const model = this.model;
    this.attribution.render({shown: this.panes && this.panes.shown, run, layer, kind, sample, target,
      layerInfo: model.layer(), probe: model.doc && model.doc.probe, kindLabel: (k) => model.kindLabel(k)});
  }

  renderExamples() {
    const {run, layer, kind, channel, example} = this.model.state;
    const shown = this.panes && this.panes.shown;
    // A grid of another layer or kind may still be on screen while the next loads.
    const current = shown && shown.grid.layer === layer && shown.grid.kind === kind ? shown : null;
    this.examples.render({shown: current, run, channel, example, pictures: this.pictures()});
  }

  renderChannel() {
    const {run, layer, kind, channel, input, example} = this.model.state;
    const shown = this.panes && this.panes.shown;
    const model = this.model;
    this.channel.render({shown, compared: this.panes && this.panes.compared, channel, input, example,
      cmap: model.look().cmap, run: /** @type {string} */ (run),
      layer: /** @type {string} */ (layer), kind: /** @type {string} */ (kind),
      kindText: shown ? model.kindLabel(shown.grid.kind) : '',
      tileLabel: (k) => model.tileLabel(k), layerInfo: model.layer(), pictures: this.pictures()});
  }

  /** @returns {?import('./api.js').ProbeInfo} the run's pictures behind its examples */
  pictures() {
    return (this.model.doc && this.model.doc.pictures) || null;
  }
}
