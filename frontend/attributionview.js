// View: the attribution view of one probe picture and one target class:
// the picture with the map drawn over it (attribution.js does the math), an
// opacity slider, the colour scale labelled in real values, the class with
// its logit and probability, the map's value under the pointer, a tab per
// target class, notes on what a malformed record lacks, the same picture's
// map at other kept steps, and the link between the layer's attribution
// and its feature maps. Layout and drawing only; attributionpanel.js
// decides what it shows. Text goes in through textContent only.

import {el, fitCanvas, fmt, onActivate, putPixels, replace} from './dom.js';
import {scaleColors} from './colormap.js';
import {readoutText, scoreText, tabText} from './attribution.js';
import {blend, colourScale, heatColours, valueAt} from './heatmap.js';

/**
 * @typedef {import('./pictures.js').Picture} Picture
 * @typedef {import('./heatmap.js').RawMap} RawMap
 * @typedef {import('./attribution.js').Target} Target
 *
 * @typedef {Object} Drawing   a map over a picture
 * @property {?Picture} picture     null: the map is drawn alone
 * @property {?RawMap} map          null: nothing to draw
 * @property {number} height        the size drawn without a picture
 * @property {number} width
 *
 * @typedef {Object} StepItem   one figure of the per-step strip
 * @property {number} step
 * @property {boolean} current
 * @property {?Drawing} [drawing]   null while loading or when missing
 * @property {string} [detail]      second caption line (the target drawn)
 * @property {string} [message]     why there is no drawing
 *
 * @typedef {Object} AttributionActions
 * @property {function(number): void} onTarget    a target tab was clicked (its tile)
 * @property {function(number): void} onOpacity   the slider moved (0..1)
 * @property {function(number): void} onStep      a step of the strip was clicked
 */

/** CSS size of the longer side of the picture and of a strip thumbnail. */
const MAIN_BOX = 288;
const THUMB_BOX = 64;

/** The size a drawing has: its picture's, else the one given. */
function sizeOf(/** @type {Drawing} */ d) {
  return d.picture ? {height: d.picture.height, width: d.picture.width} :
    {height: d.height, width: d.width};
}

/**
 * Draw a map over its picture into `canvas` at the picture's pixel size.
 *
 * @param {HTMLCanvasElement} canvas
 * @param {Drawing} drawing     with a map
 * @param {Uint8ClampedArray} colours   heatColours of the drawing's size
 * @param {number} opacity
 */
function paint(canvas, drawing, colours, opacity) {
  const {height, width} = sizeOf(drawing);
  putPixels(canvas, blend(drawing.picture, colours, opacity, height, width));
}

/** The attribution view and the attribution / feature-maps link. */
export class AttributionView {
  /** @param {AttributionActions} actions */
  constructor({onTarget, onOpacity, onStep}) {
    this.onTarget = onTarget;
    this.onStep = onStep;
    this.opacity = 0.5;
    this.redrawRequested = false;
    /** what the canvas shows, in words */
    this.label = '';
    /** @type {?Drawing} */
    this.drawing = null;
    /** @type {?Uint8ClampedArray} the drawing's heat colours, blended anew per opacity */
    this.colours = null;
    /** @type {Array<{item: StepItem, figure: HTMLElement, colours: ?Uint8ClampedArray}>} */
    this.figures = [];
    this.title = el('h3', {className: 'fv-attr-title', testid: 'attribution-title'});
    this.tabs = el('div', {className: 'fv-attr-targets', attrs: {role: 'tablist',
      'aria-label': 'Target class'}});
    this.score = el('div', {className: 'fv-attr-score', testid: 'attribution-class'});
    this.canvas = /** @type {HTMLCanvasElement} */ (el('canvas', {className: 'fv-canvas',
      testid: 'attribution-canvas', attrs: {role: 'img'}}));
    this.placeholder = el('div', {className: 'fv-attr-empty'});
    this.readout = el('div', {className: 'fv-readout', testid: 'attribution-readout',
      attrs: {'aria-live': 'polite'}});
    this.slider = /** @type {HTMLInputElement} */ (el('input', {testid: 'attribution-opacity',
      attrs: {type: 'range', min: '0', max: '100', step: '1', value: '50',
        'aria-label': 'Opacity of the map'}}));
    this.opacityText = el('output', {testid: 'attribution-opacity-value'});
    this.slider.addEventListener('input', () => {
      this.opacity = Number(this.slider.value) / 100;
      this.opacityText.textContent = `${this.slider.value}%`;
      onOpacity(this.opacity);
      // One redraw per frame however fast the slider moves.
      if (this.redrawRequested) return;
      this.redrawRequested = true;
      requestAnimationFrame(() => {
        this.redrawRequested = false;
        this.redraw();
      });
    });
    this.legend = el('div', {className: 'fv-scale'});
    this.notes = el('div', {className: 'fv-attr-notes', testid: 'attribution-notes'});
    this.stripHeading = el('h3', {text: 'Same picture at other steps'});
    this.strip = el('div', {className: 'fv-strip', testid: 'attribution-steps'});
    this.element = el('section', {className: 'fv-attribution', testid: 'attribution-view',
      attrs: {'aria-label': 'Attribution'}},
    this.title, this.tabs, this.score, this.notes,
    el('div', {className: 'fv-canvas-wrap'}, this.canvas), this.placeholder, this.readout,
    el('label', {className: 'fv-attr-opacity'}, 'Opacity ', this.slider, this.opacityText),
    this.legend, this.stripHeading, this.strip);
    this.element.hidden = true;
    /** The link between a layer's attribution and its feature maps. */
    this.link = el('div', {className: 'fv-attr-link'});
    this.link.hidden = true;
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
  }

  hide() {
    this.element.hidden = true;
    this.drawing = null;
  }

  /**
   * Show a picture's targets, the selected one's class and score, and notes.
   *
   * @param {Object} shown
   * @param {string} shown.title     what, where: "Attribution · gradcam · step 2 · image 1"
   * @param {Target[]} shown.targets
   * @param {number} shown.selected  tile of the target shown, -1 for none
   * @param {number} shown.opacity   0..1
   * @param {string[]} shown.notes
   */
  show({title, targets, selected, opacity, notes}) {
    this.element.hidden = false;
    this.title.textContent = title;
    replace(this.tabs, ...targets.map((target) => el('button', {
      className: 'fv-tab', text: tabText(target), testid: 'target-tab',
      attrs: {type: 'button', role: 'tab', 'aria-selected': String(target.tile === selected),
        'data-class': target.class == null ? null : String(target.class),
        title: scoreText(target)},
      on: {click: () => this.onTarget(target.tile)},
    })));
    const target = targets[selected];
    this.score.textContent = target ? scoreText(target) : '';
    this.setOpacity(opacity);
    replace(this.notes, ...notes.map((text) => el('div', {className: 'fv-note', text})));
  }

  /** @param {string} text  one more note under the picture */
  addNote(text) {
    this.notes.appendChild(el('div', {className: 'fv-note', text}));
  }

  /** @param {number} opacity  0..1, shown on the slider */
  setOpacity(opacity) {
    this.opacity = opacity;
    this.slider.value = String(Math.round(opacity * 100));
    this.opacityText.textContent = `${this.slider.value}%`;
  }

  /**
   * Draw the selected target's map over the picture, with its legend.
   *
   * @param {Drawing} drawing
   * @param {?string} method   the method's name, for the legend's note
   * @param {string} label     what is drawn, for assistive technology
   */
  draw(drawing, method, label) {
    this.drawing = drawing.map ? drawing : null;
    this.canvas.hidden = !drawing.map;
    this.placeholder.textContent = drawing.map ? '' : 'No map to draw for this target.';
    this.readout.textContent = drawing.map ? 'Point at the picture to read the map’s value.' : '';
    // Without a picture there is nothing to blend with.
    this.slider.disabled = !drawing.map || !drawing.picture;
    if (!drawing.map) {
      replace(this.legend);
      return;
    }
    const {height, width} = sizeOf(drawing);
    this.colours = heatColours(drawing.map, height, width);
    paint(this.canvas, drawing, this.colours, this.opacity);
    fitCanvas(this.canvas, MAIN_BOX);
    this.label = label;
    this.labelCanvas();
    this.renderLegend(drawing.map, method);
  }

  /** Say what the canvas shows, at which opacity. */
  labelCanvas() {
    const drawing = this.drawing;
    if (!drawing) return;
    this.canvas.setAttribute('aria-label', drawing.picture ?
      `${this.label}, ${Math.round(this.opacity * 100)}% opacity` : `${this.label}, drawn alone`);
  }

  /**
   * The colour scale in real values, from 0 to the map's maximum.
   *
   * @param {RawMap} map
   * @param {?string} method
   */
  renderLegend(map, method) {
    const {lo, hi} = colourScale(map);
    const bar = /** @type {HTMLCanvasElement} */ (el('canvas', {className: 'fv-scale-bar',
      testid: 'attribution-scale'}));
    putPixels(bar, {width: 256, height: 1, data: scaleColors('viridis', lo, hi)});
    const values = hi > lo ? [lo, (lo + hi) / 2, hi] : [lo];
    const labels = el('div', {className: 'fv-scale-labels', testid: 'attribution-legend'},
        ...values.map((v) => el('span', {text: fmt(v)})));
    const name = method ? `${method} map` : 'Map';
    const words = hi > lo ? `${name}: viridis from 0 to its maximum` +
      (map.min < 0 ? '; values below 0 drawn as 0' : '') : `${name}: 0 everywhere`;
    replace(this.legend, bar, labels, el('div', {className: 'fv-muted', text: words}));
  }

  /** Blend the picture and the strip anew at the slider's opacity. */
  redraw() {
    if (this.drawing && this.colours) paint(this.canvas, this.drawing, this.colours, this.opacity);
    this.labelCanvas();
    for (const f of this.figures) {
      const canvas = f.figure.querySelector('canvas');
      if (canvas && f.item.drawing && f.colours) paint(canvas, f.item.drawing, f.colours, this.opacity);
    }
  }

  /** @param {MouseEvent} e */
  hover(e) {
    const drawing = this.drawing;
    if (!drawing || !drawing.map) return;
    const {height, width} = sizeOf(drawing);
    const rect = this.canvas.getBoundingClientRect();
    const x = Math.floor(((e.clientX - rect.left) / rect.width) * width);
    const y = Math.floor(((e.clientY - rect.top) / rect.height) * height);
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    this.readout.textContent = readoutText(valueAt(drawing.map, height, width, x, y), x, y);
  }

  /**
   * The per-step strip: one figure per step, filled by setStripItem.
   *
   * @param {StepItem[]} items
   * @param {string} heading
   */
  setStrip(items, heading) {
    this.stripHeading.textContent = heading;
    this.figures = items.map((item) => {
      const figure = el('figure', {className: `fv-figure${item.current ? ' fv-current' : ''}`,
        testid: 'attribution-step', attrs: {'data-step': String(item.step),
          ...(item.current ? {'aria-current': 'true'} :
            {role: 'button', tabindex: '0', title: `Show step ${item.step}`})}});
      if (!item.current) {
        onActivate(figure, () => this.onStep(item.step));
      }
      return {item, figure, colours: null};
    });
    this.figures.forEach((_, i) => this.setStripItem(i, this.figures[i].item));
    replace(this.strip, ...this.figures.map((f) => f.figure));
  }

  /**
   * Fill one figure of the strip.
   *
   * @param {number} index
   * @param {StepItem} item
   */
  setStripItem(index, item) {
    const f = this.figures[index];
    if (!f) return;
    f.item = item;
    const label = el('span', {text: `step ${item.step}`});
    const drawing = item.drawing;
    if (drawing && drawing.map) {
      const {height, width} = sizeOf(drawing);
      const canvas = /** @type {HTMLCanvasElement} */ (el('canvas', {className: 'fv-canvas fv-mini'}));
      f.colours = heatColours(drawing.map, height, width);
      paint(canvas, drawing, f.colours, this.opacity);
      fitCanvas(canvas, THUMB_BOX);
      replace(f.figure, canvas, el('figcaption', {}, label,
          el('span', {className: 'fv-muted', text: item.detail || ''})));
    } else {
      f.colours = null;
      replace(f.figure, el('div', {className: 'fv-mini fv-placeholder', text: item.message || '…'}),
          el('figcaption', {}, label));
    }
  }

  /**
   * The link to the same picture in the layer's other view, or none.
   *
   * @param {?{text: string, title: string, onClick: function(): void}} link
   */
  setLink(link) {
    this.link.hidden = !link;
    replace(this.link, link ? el('button', {text: link.text, testid: 'attribution-link',
      attrs: {type: 'button', title: link.title}, on: {click: () => link.onClick()}}) : null);
  }
}
