// The TensorBoard page around the panel's iframe: its theme and its focus,
// and the panel's keyboard shortcuts. The iframe is same-origin and
// unsandboxed, so the parent document can be read; every access is guarded
// all the same, for a page that embeds the panel differently.

import {isTyping} from './dom.js';

/**
 * True when the user is typing in a field of the TensorBoard page itself.
 *
 * @returns {boolean}
 */
export function parentIsTyping() {
  try {
    const active = window.parent !== window ? window.parent.document.activeElement : null;
    if (!active) return false;
    return active.tagName === 'INPUT' || active.tagName === 'TEXTAREA' ||
      active.tagName === 'SELECT' || /** @type {HTMLElement} */ (active).isContentEditable;
  } catch (err) {
    return false;
  }
}

/**
 * Follow TensorBoard's dark mode (a class on the parent's body) from now on.
 */
export function followParentTheme() {
  let parentBody = null;
  try {
    parentBody = window.parent !== window ? window.parent.document.body : null;
  } catch (err) {
    parentBody = null;
  }
  if (!parentBody) return;
  const sync = () => {
    const dark = /** @type {HTMLElement} */ (parentBody).classList.contains('dark-mode');
    if (dark) document.documentElement.dataset.theme = 'dark';
    else delete document.documentElement.dataset.theme;
  };
  sync();
  new MutationObserver(sync).observe(parentBody, {attributes: true, attributeFilter: ['class']});
}

/**
 * @typedef {Object} KeyActions
 * @property {function(): boolean} channelOpen
 * @property {function(): void} closeChannel   Escape
 * @property {function(number): void} moveLayer   j/k, down/up
 * @property {function(number): void} moveStep    l/h, right/left
 * @property {function(number): void} stepZoom    + and -
 */

/**
 * The panel's keyboard shortcuts, on the iframe's document. Keys typed in a
 * field, or Enter/Space on a role=button element, keep their own meaning.
 *
 * @param {KeyActions} actions
 */
export function bindKeys(actions) {
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'Escape' && actions.channelOpen()) {
      e.preventDefault();
      actions.closeChannel();
      return;
    }
    if (isTyping(e)) return;
    const target = /** @type {HTMLElement} */ (e.target);
    if (target && target.getAttribute && target.getAttribute('role') === 'button' &&
        (e.key === 'Enter' || e.key === ' ')) return;
    switch (e.key) {
      case 'j': case 'ArrowDown':
        e.preventDefault();
        actions.moveLayer(1);
        break;
      case 'k': case 'ArrowUp':
        e.preventDefault();
        actions.moveLayer(-1);
        break;
      case 'ArrowLeft': case 'h':
        e.preventDefault();
        actions.moveStep(-1);
        break;
      case 'ArrowRight': case 'l':
        e.preventDefault();
        actions.moveStep(1);
        break;
      case '+': case '=':
        actions.stepZoom(1);
        break;
      case '-':
        actions.stepZoom(-1);
        break;
      default:
    }
  });
}
