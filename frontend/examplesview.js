// Views of the dataset examples (examples.js reads the record): the
// Examples view beside a layer's examples grid (how the pass was made, the
// layer's health over the data, the example clicked with its channel's
// statistics, and its whole picture with the box outlined), the channel
// view's section listing one channel's examples (crops with their values
// and picture indices, or text for a channel whose crops were not drawn),
// and the figure both draw a whole picture in. Layout and drawing only;
// examplespanel.js decides what they show. Text goes in through
// textContent only.

import {el, fitCanvas, fmt, onActivate, putPixels, replace} from './dom.js';
import {boxText} from './exampletext.js';
import {boxOutline, enlarge, paintOutline, pictureFactor} from './pictures.js';

/**
 * @typedef {import('./pictures.js').Picture} Picture
 * @typedef {import('./examples.js').Example} Example
 *
 * @typedef {Object} CropItem   one example of the channel view's section
 * @property {Example} example
 * @property {?Picture} crop    its crop as drawn in the examples grid; null:
 *     the channel's crops were not drawn, the example is listed as text
 */

/** CSS size of the longer side of a crop in the channel view. */
const CROP_BOX = 64;

/**
 * Put a picture on a canvas at its pixel size; CSS shows it `box` px on its
 * longer side (a whole factor when smaller, never blurred).
 *
 * @param {HTMLCanvasElement} canvas
 * @param {Picture} picture
 * @param {number} [box]    CSS px; the picture's own size when left out
 */
export function putPicture(canvas, picture, box) {
  putPixels(canvas, picture);
  fitCanvas(canvas, box ?? Math.max(picture.width, picture.height, 1));  // its own longer side: factor 1
}

/** A whole picture with an example's box outlined, or a note saying why there is none. */
export class PictureFigure {
  /** @param {string} prefix   of the test ids: `<prefix>-picture`, `-caption`, `-note` */
  constructor(prefix) {
    this.canvas = /** @type {HTMLCanvasElement} */ (el('canvas', {className: 'fv-canvas',
      testid: `${prefix}-picture`, attrs: {role: 'img'}}));
    this.caption = el('figcaption', {className: 'fv-muted', testid: `${prefix}-picture-caption`});
    this.note = el('div', {className: 'fv-note', testid: `${prefix}-picture-note`});
    this.element = el('figure', {className: 'fv-example-picture'}, this.canvas, this.caption, this.note);
    this.clear();
  }

  /** Show nothing. */
  clear() {
    this.element.hidden = true;
    this.canvas.hidden = true;
    this.note.hidden = true;
  }

  /**
   * Say something in place of the picture (loading, or why it is missing).
   *
   * @param {string} text
   * @param {string} [caption]
   */
  say(text, caption = '') {
    this.element.hidden = false;
    this.canvas.hidden = true;
    this.caption.textContent = caption;
    this.note.hidden = !text;
    this.note.textContent = text;
  }

  /**
   * Draw a thumbnail enlarged by pictureFactor, the box outlined on it
   * (scaled from the picture's size `space` to the drawing's).
   *
   * @param {Picture} thumbnail
   * @param {?number[]} box     [top, left, bottom, right] in picture pixels;
   *     null (unreadable): the picture is drawn without it, and a note says so
   * @param {{height: number, width: number}} space
   * @param {string} caption
   */
  draw(thumbnail, box, space, caption) {
    const drawn = enlarge(thumbnail, pictureFactor(thumbnail.height, thumbnail.width));
    if (box) paintOutline(drawn, boxOutline(box, space, drawn.height, drawn.width));
    putPicture(this.canvas, drawn);
    this.canvas.setAttribute('aria-label', box ? `${caption}, ${boxText(box)} outlined` : caption);
    this.canvas.hidden = false;
    this.element.hidden = false;
    this.caption.textContent = caption;
    this.note.hidden = !!box;
    this.note.textContent = box ? '' : 'The example’s box is unreadable: the picture is shown without it.';
  }
}

/** The Examples view beside a layer's examples grid. */
export class ExamplesView {
  constructor() {
    this.title = el('h3', {className: 'fv-attr-title', testid: 'examples-title'});
    this.summary = el('div', {testid: 'examples-summary'});
    this.health = el('div', {testid: 'examples-health'});
    this.notes = el('div', {className: 'fv-attr-notes', testid: 'examples-notes'});
    this.selected = el('div', {className: 'fv-example-selected', testid: 'examples-selected',
      attrs: {'aria-live': 'polite'}});
    this.picture = new PictureFigure('example');
    this.element = el('section', {className: 'fv-attribution fv-examples', testid: 'examples-view',
      attrs: {'aria-label': 'Dataset examples'}},
    this.title, this.summary, this.health, this.notes, this.selected, this.picture.element);
    this.element.hidden = true;
  }

  hide() {
    this.element.hidden = true;
  }

  /**
   * @param {Object} shown
   * @param {string} shown.title
   * @param {string} shown.summary   how the pass was made (examples.scannedText)
   * @param {string} shown.health    the layer over the data, '' for none
   * @param {string[]} shown.notes   what the record lacks
   */
  show({title, summary, health, notes}) {
    this.element.hidden = false;
    this.title.textContent = title;
    this.summary.textContent = summary;
    this.health.textContent = health ? `Layer over the data: ${health}` : 'No health figures for this layer.';
    replace(this.notes, ...notes.map((text) => el('div', {className: 'fv-note', text})));
  }

  /**
   * The example chosen, in lines (the first in bold), or a hint.
   *
   * @param {string[]} lines
   */
  select(lines) {
    replace(this.selected, ...lines.map((text, i) => el(i ? 'div' : 'strong', {text,
      className: i ? '' : 'fv-example-label'})));
  }
}

/** The channel view's section: one channel's examples. */
export class ChannelExamplesView {
  /** @param {{onPick: function(number): void, onOpen: function(): void}} actions  an
   *     example was clicked (its slot); the link to the Examples view was clicked */
  constructor({onPick, onOpen}) {
    this.onPick = onPick;
    this.heading = el('h3', {testid: 'channel-examples-heading'});
    this.summary = el('div', {className: 'fv-muted', testid: 'channel-examples-summary'});
    this.link = el('button', {text: 'Show the Examples view', testid: 'channel-examples-link',
      attrs: {type: 'button'}, on: {click: () => onOpen()}});
    this.items = el('div', {className: 'fv-strip', testid: 'channel-examples-items'});
    this.note = el('div', {className: 'fv-note', testid: 'channel-examples-note'});
    this.picture = new PictureFigure('channel-example');
    this.element = el('section', {className: 'fv-channel-examples', testid: 'channel-examples'},
        this.heading, this.summary, this.link, this.note, this.items, this.picture.element);
    this.clear();
  }

  /** Show nothing (the layer logged no examples). */
  clear() {
    this.element.hidden = true;
    replace(this.items);
    this.picture.clear();
  }

  /**
   * Show the channel's examples.
   *
   * @param {Object} shown
   * @param {string} shown.heading
   * @param {string[]} shown.summary   lines: the channel over the data, the pass
   * @param {boolean} shown.linked   offer the link to the Examples view
   * @param {string} shown.note      '' for none
   * @param {CropItem[]} shown.items
   * @param {?number} shown.selected  the slot chosen
   */
  show({heading, summary, linked, note, items, selected}) {
    this.element.hidden = false;
    this.heading.textContent = heading;
    replace(this.summary, ...summary.map((text) => el('div', {text})));
    this.link.hidden = !linked;
    this.note.hidden = !note;
    this.note.textContent = note;
    const asText = items.some((item) => !item.crop);
    this.items.className = asText ? 'fv-example-list' : 'fv-strip';
    replace(this.items, ...items.map((item) => (asText ? this.listItem(item, selected) :
      this.cropFigure(item, selected))));
    if (!items.length) this.picture.clear();
  }

  /**
   * @param {CropItem} item
   * @param {?number} selected
   * @returns {HTMLElement}
   */
  cropFigure({example, crop}, selected) {
    const canvas = /** @type {HTMLCanvasElement} */ (el('canvas', {className: 'fv-canvas fv-mini'}));
    putPicture(canvas, /** @type {Picture} */ (crop), CROP_BOX);
    const current = example.slot === selected;
    const figure = el('figure', {className: `fv-figure${current ? ' fv-current' : ''}`,
      testid: 'channel-example', attrs: {role: 'button', tabindex: '0', 'data-slot': String(example.slot),
        title: `Show picture ${example.index} with the box`, 'aria-pressed': String(current)}},
    canvas, el('figcaption', {},
        el('span', {text: `value ${fmt(example.value)}`}),
        el('span', {className: 'fv-muted', text: `picture ${example.index}`})));
    onActivate(figure, () => this.onPick(example.slot));
    return figure;
  }

  /**
   * @param {CropItem} item
   * @param {?number} selected
   * @returns {HTMLElement}
   */
  listItem({example}, selected) {
    const text = `${example.slot + 1}. picture ${example.index} · value ${fmt(example.value)} · ` +
      boxText(example.box);
    const current = example.slot === selected;
    const button = el('button', {className: `fv-example-item${current ? ' fv-current' : ''}`, text,
      testid: 'channel-example', attrs: {type: 'button', 'data-slot': String(example.slot),
        'aria-pressed': String(current)}});
    button.addEventListener('click', () => this.onPick(example.slot));
    return button;
  }

  /**
   * Mark the chosen example.
   *
   * @param {?number} slot
   */
  mark(slot) {
    for (const node of this.items.querySelectorAll('[data-slot]')) {
      const on = node.getAttribute('data-slot') === String(slot);
      node.classList.toggle('fv-current', on);
      node.setAttribute('aria-pressed', String(on));
    }
  }
}
