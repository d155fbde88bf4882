// Steps: picking among the kept steps (pure helpers), and the view with
// the step slider over the kept steps of the shown grid and the note saying
// when TensorBoard kept fewer samples than were written. Step lists are
// ascending everywhere in the panel: api.js sorts them once on arrival.

import {el, replace} from './dom.js';

/** The flag that makes TensorBoard keep every logged step. */
export const SAMPLES_FLAG = '--samples_per_plugin=images=0,featureviz=0';

/**
 * The kept step nearest to `step` (the latest one at or before it, else the
 * first after it); null for no steps.
 *
 * @param {number[]} steps   ascending
 * @param {?number|undefined} step
 * @returns {?number}
 */
export function nearestStep(steps, step) {
  if (!steps || !steps.length) return null;
  if (step == null) return steps[steps.length - 1];
  let best = steps[0];
  for (const s of steps) {
    if (s <= step) best = s;
  }
  return best;
}

/**
 * Up to `count` steps spread evenly over `steps`, always including
 * `current` (the channel's "other steps" strip).
 *
 * @param {number[]} steps   ascending
 * @param {number} current
 * @param {number} count
 * @returns {number[]} ascending
 */
export function spreadSteps(steps, current, count) {
  if (steps.length <= count) return steps.slice();
  const picked = new Set([current]);
  for (let i = 0; i < count - 1; i++) {
    picked.add(steps[Math.round((i * (steps.length - 1)) / (count - 2))]);
  }
  return steps.filter((s) => picked.has(s));
}

/**
 * @typedef {Object} StepInfo
 * @property {number[]} steps           kept steps, ascending
 * @property {?number} step             the step shown
 * @property {number} [written]         records written for this grid
 * @property {import('./api.js').Sampling} [sampling]  TensorBoard's active limits
 * @property {Array<{step: number, type: string, trainable?: string[], frozen?: string[]}>} [events]
 */

/** The step slider. */
export class StepBar {
  /** @param {{onChange: function(number): void}} options */
  constructor({onChange}) {
    this.onChange = onChange;
    /** @type {number[]} */
    this.steps = [];
    this.slider = /** @type {HTMLInputElement} */ (el('input', {
      className: 'fv-slider',
      testid: 'step-slider',
      attrs: {type: 'range', min: '0', max: '0', step: '1', value: '0', 'aria-label': 'Step'},
    }));
    this.slider.addEventListener('input', () => {
      const step = this.steps[Number(this.slider.value)];
      if (step != null) {
        this.label.textContent = `step ${step}`;
        this.onChange(step);
      }
    });
    this.label = el('output', {className: 'fv-step-label', testid: 'step-label'});
    this.position = el('span', {className: 'fv-muted'});
    this.marks = el('div', {className: 'fv-marks', attrs: {'aria-hidden': 'true'}});
    this.note = el('div', {className: 'fv-note', testid: 'sampling-note'});
    this.note.hidden = true;
    this.events = el('div', {className: 'fv-events'});
    this.element = el('div', {className: 'fv-steps'},
        el('div', {className: 'fv-step-row'}, this.label,
            el('div', {className: 'fv-slider-wrap'}, this.slider, this.marks), this.position),
        this.events, this.note);
  }

  /** @param {StepInfo} info */
  set(info) {
    this.steps = info.steps || [];
    const index = Math.max(0, this.steps.indexOf(info.step ?? NaN));
    this.slider.max = String(Math.max(0, this.steps.length - 1));
    this.slider.value = String(index);
    this.slider.disabled = this.steps.length < 2;
    this.slider.setAttribute('aria-valuetext', info.step == null ? 'no step' : `step ${info.step}`);
    this.label.textContent = info.step == null ? 'no steps' : `step ${info.step}`;
    this.position.textContent = this.steps.length ?
      `${index + 1} of ${this.steps.length} kept` : '';
    this.position.title = limitText(info.sampling);
    this.renderEvents(info);
    const kept = this.steps.length;
    const written = info.written || 0;
    if (written > kept) {
      this.note.hidden = false;
      replace(this.note,
          `TensorBoard kept ${kept} of ${written} samples of this grid. To keep every logged ` +
          'step, start tensorboard with ',
          el('code', {text: SAMPLES_FLAG}), '.');
    } else {
      this.note.hidden = true;
    }
  }

  /** @param {StepInfo} info */
  renderEvents(info) {
    const events = info.events || [];
    const n = this.steps.length;
    replace(this.marks, ...events.filter(() => n > 1).map((event) => {
      const first = this.steps[0];
      const last = this.steps[n - 1];
      const at = last > first ? (event.step - first) / (last - first) : 0;
      return el('span', {className: 'fv-mark', attrs: {
        style: `left: ${Math.max(0, Math.min(1, at)) * 100}%`,
        title: `step ${event.step}: ${event.type}`}});
    }));
    const here = events.filter((e) => e.step === info.step);
    replace(this.events, ...here.map((event) => el('div', {
      className: 'fv-muted',
      text: `step ${event.step}: ${describeEvent(event)}`,
    })));
  }

  /**
   * Move by `delta` kept steps (the left/right keys).
   *
   * @param {number} delta
   */
  move(delta) {
    if (!this.steps.length) return;
    const index = Math.max(0, Math.min(this.steps.length - 1, Number(this.slider.value) + delta));
    if (String(index) === this.slider.value) return;
    this.slider.value = String(index);
    this.slider.dispatchEvent(new Event('input'));
  }
}

/**
 * @param {{type: string, trainable?: string[], frozen?: string[]}} event
 * @returns {string}
 */
function describeEvent(event) {
  if (event.type === 'trainable') {
    const parts = [];
    if (event.trainable && event.trainable.length) {
      parts.push(`${event.trainable.length} layer(s) became trainable`);
    }
    if (event.frozen && event.frozen.length) parts.push(`${event.frozen.length} frozen`);
    return parts.join(', ') || 'trainable layers changed';
  }
  return event.type;
}

/**
 * The active sample limits, in words (0 means TensorBoard keeps all).
 *
 * @param {import('./api.js').Sampling|undefined} sampling
 * @returns {string}
 */
export function limitText(sampling) {
  if (!sampling) return '';
  /** @param {number|undefined} n */
  const words = (n) => (n === 0 ? 'all' : n == null ? 'the default number of' : `up to ${n}`);
  return `TensorBoard keeps ${words(sampling.images)} images and ${words(sampling.featureviz)} ` +
    `records per grid; ${SAMPLES_FLAG} keeps all.`;
}
