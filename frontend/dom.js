// Small DOM builders shared by the views.
//
// Every piece of text goes through textContent (or a property such as
// `title`), never innerHTML: run, layer and tag names come from log files,
// and script in this iframe runs with the whole TensorBoard origin.

/**
 * @typedef {Object} ElProps
 * @property {string} [className]
 * @property {string} [text]          set as textContent
 * @property {string} [testid]        data-testid hook for the browser tests
 * @property {Object<string, string>} [attrs]   attributes (values as text)
 * @property {Object<string, Function>} [on]    event listeners
 */

/**
 * Create an element. Children may be nodes, strings (text nodes) or
 * null/false (skipped).
 *
 * @param {string} tag
 * @param {ElProps} [props]
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text != null) node.textContent = String(props.text);
  if (props.testid) node.dataset.testid = props.testid;
  for (const [name, value] of Object.entries(props.attrs || {})) {
    if (value != null && value !== false) node.setAttribute(name, String(value));
  }
  for (const [type, handler] of Object.entries(props.on || {})) {
    node.addEventListener(type, /** @type {EventListener} */ (handler));
  }
  append(node, children);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Create an SVG element with attributes.
 *
 * @param {string} tag
 * @param {Object<string, string|number>} [attrs]
 * @param {...(Node|null|undefined|false)} children
 * @returns {SVGElement}
 */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value != null) node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

/**
 * @param {Node} node
 * @param {Array<Node|string|null|undefined|false>} children
 */
function append(node, children) {
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

/**
 * Replace all children of `node`.
 *
 * @param {Node} node
 * @param {...(Node|string|null|undefined|false)} children
 */
export function replace(node, ...children) {
  while (node.firstChild) node.removeChild(node.firstChild);
  append(node, children);
}

/**
 * A short human number: 4 significant digits, exponent form for very large
 * or very small magnitudes, an em dash for null (a non-finite value).
 *
 * @param {?number} value
 * @returns {string}
 */
export function fmt(value) {
  if (value == null || Number.isNaN(value)) return '—';
  if (value === 0) return '0';
  const mag = Math.abs(value);
  if (mag >= 1e5 || mag < 1e-3) return value.toExponential(2).replace('e+', 'e');
  return String(Number(value.toPrecision(4)));
}

/**
 * A fraction as a percentage with one decimal.
 *
 * @param {?number} value
 * @returns {string}
 */
export function pct(value) {
  if (value == null || Number.isNaN(value)) return '—';
  return `${(value * 100).toFixed(1)}%`;
}

/**
 * A message box for the loading, empty and error states.
 *
 * @param {'loading'|'empty'|'error'} kind
 * @param {string} message
 * @returns {HTMLElement}
 */
export function notice(kind, message) {
  return el('div', {
    className: `fv-notice fv-${kind}`,
    text: message,
    attrs: {role: kind === 'error' ? 'alert' : 'status'},
    testid: `${kind}-state`,
  });
}

/**
 * True when a keyboard event comes from a control that uses the keys itself.
 *
 * @param {KeyboardEvent} event
 * @returns {boolean}
 */
export function isTyping(event) {
  const target = /** @type {HTMLElement} */ (event.target);
  if (!target || !target.tagName) return false;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable) return true;
  if (tag === 'INPUT') {
    const type = /** @type {HTMLInputElement} */ (target).type;
    return type !== 'checkbox' && type !== 'radio' && type !== 'button';
  }
  return false;
}

/**
 * Put RGBA pixels on a canvas at their own size (its CSS size is left as is).
 *
 * @param {HTMLCanvasElement} canvas
 * @param {{width: number, height: number, data: Uint8ClampedArray}} picture
 */
export function putPixels(canvas, picture) {
  canvas.width = picture.width;
  canvas.height = picture.height;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  ctx.putImageData(new ImageData(/** @type {Uint8ClampedArray<ArrayBuffer>} */ (picture.data),
      picture.width, picture.height), 0, 0);
}

/**
 * Scale a canvas (CSS) so its longer side is about `box` px: by a whole
 * factor when it is smaller, so pixels stay sharp squares.
 *
 * @param {HTMLCanvasElement} canvas
 * @param {number} box
 */
export function fitCanvas(canvas, box) {
  const side = Math.max(canvas.width, canvas.height, 1);
  const factor = side <= box ? Math.floor(box / side) : box / side;
  canvas.style.width = `${canvas.width * factor}px`;
  canvas.style.height = `${canvas.height * factor}px`;
}

/**
 * Run `go` when `node` (a role=button element) is clicked, or activated
 * from the keyboard with Enter or Space, as a button is.
 *
 * @param {HTMLElement} node
 * @param {function(): void} go
 */
export function onActivate(node, go) {
  node.addEventListener('click', go);
  node.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      go();
    }
  });
}
