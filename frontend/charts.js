// View: drift from the starting weights and dead-channel fraction per layer
// over steps (from the scalars route), one row per layer, all rows on one
// scale so the layers that fine-tuning moved stand out. Clicking a row
// selects the layer.

import {el, fmt, pct, replace, svg} from './dom.js';
import {DEAD, DRIFT} from './layerstate.js';

/**
 * @typedef {Array<[number, number]>} Series
 */

/**
 * An SVG sparkline of `series` over the steps [x0, x1], values [0, yMax].
 *
 * @param {Series} series
 * @param {number} x0
 * @param {number} x1
 * @param {number} yMax
 * @param {string} className
 * @returns {SVGElement}
 */
export function sparkline(series, x0, x1, yMax, className) {
  const width = 160;
  const height = 28;
  const sx = (/** @type {number} */ s) => (x1 > x0 ? ((s - x0) / (x1 - x0)) * (width - 4) + 2 : width / 2);
  const sy = (/** @type {number} */ v) => height - 2 - (yMax > 0 ? (v / yMax) * (height - 4) : 0);
  const finite = series.filter(([, v]) => v != null && Number.isFinite(v));
  const points = finite.map(([s, v]) => `${sx(s).toFixed(1)},${sy(v).toFixed(1)}`).join(' ');
  const last = finite[finite.length - 1];
  // preserveAspectRatio none stretches the chart to its cell; strokes keep
  // their width (vector-effect in the stylesheet).
  return svg('svg', {class: `fv-spark ${className}`, viewBox: `0 0 ${width} ${height}`,
    width, height, role: 'img', 'aria-hidden': 'true', preserveAspectRatio: 'none'},
  svg('line', {x1: 0, y1: height - 2, x2: width, y2: height - 2, class: 'fv-axis'}),
  finite.length > 1 ? svg('polyline', {points, class: 'fv-line'}) :
    last ? svg('line', {x1: sx(last[0]) - 3, x2: sx(last[0]) + 3, y1: sy(last[1]),
      y2: sy(last[1]), class: 'fv-line'}) : null);
}

/** The drift and health chart. */
export class Charts {
  /** @param {{onSelect: function(string): void}} options */
  constructor({onSelect}) {
    this.onSelect = onSelect;
    this.sort = /** @type {HTMLSelectElement} */ (el('select', {
      attrs: {'aria-label': 'Order of layers'},
      on: {change: () => this.render()},
    }, el('option', {text: 'model order', attrs: {value: 'model'}}),
    el('option', {text: 'largest drift first', attrs: {value: 'drift'}}),
    el('option', {text: 'most dead channels first', attrs: {value: 'dead'}})));
    this.body = el('div', {className: 'fv-chart-body', testid: 'drift-chart'});
    this.element = el('section', {className: 'fv-charts', attrs: {'aria-label': 'Drift and health'}},
        el('div', {className: 'fv-chart-head'},
            el('h2', {text: 'Drift and health per layer'}),
            el('span', {className: 'fv-grow'}),
            el('label', {}, 'Order: ', this.sort)),
        el('p', {className: 'fv-muted', text:
          'Drift: relative change of the kernel from its starting weights, ‖W − W₀‖ / ‖W₀‖. ' +
          'Dead: fraction of channels whose activation is zero for every probe image. ' +
          'All rows share one scale. Click a layer to show its grids.'}),
        this.body);
    /** @type {?import('./api.js').ScalarsDoc} */
    this.doc = null;
    /** @type {string[]} */
    this.order = [];
    /** @type {?string} */
    this.selected = null;
  }

  /** @param {HTMLElement} node */
  showNotice(node) {
    this.doc = null;
    replace(this.body, node);
  }

  /**
   * @param {import('./api.js').ScalarsDoc} doc
   * @param {string[]} order    layer names in model order
   * @param {?string} selected
   */
  set(doc, order, selected) {
    this.doc = doc;
    this.order = order;
    this.selected = selected;
    this.render();
  }

  /** @param {?string} name */
  select(name) {
    this.selected = name;
    for (const row of this.body.querySelectorAll('.fv-chart-row')) {
      const el = /** @type {HTMLElement} */ (row);
      const on = el.dataset.layer === name;
      el.classList.toggle('fv-selected', on);
      el.setAttribute('aria-current', on ? 'true' : 'false');
    }
  }

  render() {
    const doc = this.doc;
    if (!doc) return;
    const layers = doc.layers || {};
    const known = new Set(this.order);
    const names = [...this.order.filter((n) => n in layers),
      ...Object.keys(layers).filter((n) => !known.has(n))];
    if (!names.length) {
      replace(this.body, el('div', {className: 'fv-notice fv-empty', testid: 'empty-state',
        text: 'No drift or health scalars in this run. FeatureVizCallback writes them ' +
          'while the model trains.'}));
      return;
    }
    /** @type {function(string, string): Series} */
    const seriesOf = (name, key) => (layers[name] && layers[name][key]) || [];
    /** @type {function(Series): ?number} */
    const lastOf = (s) => (s.length ? s[s.length - 1][1] : null);
    let steps = [];
    let driftMax = 0;
    for (const name of names) {
      for (const key of [DRIFT, DEAD]) {
        for (const [step, value] of seriesOf(name, key)) {
          steps.push(step);
          if (key === DRIFT && Number.isFinite(value)) driftMax = Math.max(driftMax, value);
        }
      }
    }
    steps = steps.sort((a, b) => a - b);
    const x0 = steps[0] ?? 0;
    const x1 = steps[steps.length - 1] ?? 0;
    const order = this.sort.value;
    if (order !== 'model') {
      const key = order === 'drift' ? DRIFT : DEAD;
      names.sort((a, b) => (lastOf(seriesOf(b, key)) ?? -1) - (lastOf(seriesOf(a, key)) ?? -1));
    }
    const header = el('div', {className: 'fv-chart-row fv-chart-header', attrs: {'aria-hidden': 'true'}},
        el('span', {text: 'layer'}),
        el('span', {text: `drift, steps ${x0}–${x1} (0–${fmt(driftMax)})`}),
        el('span', {text: 'latest'}),
        el('span', {text: 'dead channels (0–100%)'}),
        el('span', {text: 'latest'}));
    const rows = names.map((name) => {
      const drift = seriesOf(name, DRIFT);
      const dead = seriesOf(name, DEAD);
      const row = el('div', {
        className: 'fv-chart-row',
        testid: 'chart-row',
        attrs: {role: 'button', tabindex: '0', title: `Show ${name}`},
        on: {
          click: () => this.onSelect(name),
          keydown: (/** @type {KeyboardEvent} */ e) => {
            if (e.key === 'Enter' || e.key === ' ') {
              e.preventDefault();
              this.onSelect(name);
            }
          },
        },
      },
      el('span', {className: 'fv-chart-name', text: name}),
      drift.length ? sparkline(drift, x0, x1, driftMax, 'fv-drift') : el('span', {className: 'fv-muted', text: 'no drift'}),
      el('span', {className: 'fv-num', text: fmt(lastOf(drift))}),
      dead.length ? sparkline(dead, x0, x1, 1, 'fv-dead') : el('span', {className: 'fv-muted', text: 'no health'}),
      el('span', {className: 'fv-num', text: pct(lastOf(dead))}));
      row.dataset.layer = name;
      return row;
    });
    replace(this.body, header, ...rows);
    this.select(this.selected);
  }
}
