// View state kept in the URL hash, so a view can be shared and survives a
// reload.
//
// The panel lives in TensorBoard's iframe (data/plugin_entry.html). A reload
// of the TensorBoard page recreates that iframe from its original src, so
// the iframe's own hash alone would be lost. The state is therefore written
// to both: the iframe's own location.hash, and, when the parent is
// same-origin (it is, for TensorBoard's unsandboxed plugin iframe), the
// parent's hash as extra `fv-<key>=<value>` pairs after TensorBoard's own
// `#featureviz`, the legacy "#tab&key=value" form TensorBoard itself parses.
// Both writes use history.replaceState: no hashchange event, no history
// entry per click.

/**
 * @typedef {Object} ViewState
 * @property {string} [run]
 * @property {string} [layer]
 * @property {string} [kind]
 * @property {number} [step]
 * @property {number} [sample]
 * @property {number} [channel]   channel index (tiles), output filter (mosaic)
 * @property {number} [input]     input channel (mosaic layout)
 * @property {number} [target]    the attribution view's target class
 * @property {number} [example]   the open channel's dataset example (its slot,
 *     0 for the strongest)
 * @property {string} [cmap]
 * @property {string} [zoom]      'auto', 'fit' or a number
 * @property {string} [compare]   second run shown side by side
 * @property {string} [view]      'grid' or 'charts'
 */

/** Keys kept in the hash, in the order they are written. */
export const KEYS = ['run', 'layer', 'kind', 'step', 'sample', 'channel', 'input', 'example', 'target',
  'cmap', 'zoom', 'compare', 'view'];
const NUMERIC = new Set(['step', 'sample', 'channel', 'input', 'example', 'target']);
const PARENT_PREFIX = 'fv-';
const PLUGIN_TAB = 'featureviz';

/**
 * Parse "k=v&k=v" (the iframe's own hash) into a ViewState.
 *
 * @param {string} text   hash without '#'
 * @param {string} [prefix]  only keys with this prefix, prefix removed
 * @returns {ViewState}
 */
export function parseHash(text, prefix = '') {
  /** @type {Object<string, *>} */
  const state = {};
  for (const part of text.replace(/^#/, '').split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    let key;
    let value;
    try {
      key = decodeURIComponent(part.slice(0, eq));
      value = decodeURIComponent(part.slice(eq + 1).replace(/\+/g, '%20'));
    } catch (err) {
      continue;  // a malformed escape: ignore that pair
    }
    if (prefix) {
      if (!key.startsWith(prefix)) continue;
      key = key.slice(prefix.length);
    }
    if (!KEYS.includes(key)) continue;
    if (NUMERIC.has(key)) {
      const num = Number(value);
      if (value !== '' && Number.isInteger(num)) state[key] = num;
    } else if (value !== '') {
      state[key] = value;
    }
  }
  return state;
}

/**
 * Serialise a ViewState as "k=v&k=v" (empty values left out).
 *
 * @param {ViewState} state
 * @param {string} [prefix]
 * @returns {string}
 */
export function formatHash(state, prefix = '') {
  const parts = [];
  for (const key of KEYS) {
    const value = /** @type {Object<string, *>} */ (state)[key];
    if (value == null || value === '') continue;
    parts.push(`${encodeURIComponent(prefix + key)}=${encodeURIComponent(String(value))}`);
  }
  return parts.join('&');
}

/**
 * The parent TensorBoard window when it is reachable (same origin), else null.
 *
 * @returns {?Window}
 */
function parentWindow() {
  try {
    if (window.parent && window.parent !== window) {
      // Reading location.href throws for a cross-origin parent.
      void window.parent.location.href;
      return window.parent;
    }
  } catch (err) {
    return null;
  }
  return null;
}

/**
 * The state from the iframe's hash, or else from the parent's.
 *
 * @returns {ViewState}
 */
export function readState() {
  const own = parseHash(window.location.hash);
  if (Object.keys(own).length) return own;
  const parent = parentWindow();
  if (!parent) return {};
  return parseHash(parent.location.hash, PARENT_PREFIX);
}

/**
 * Write the state to the iframe's hash and the parent's.
 *
 * @param {ViewState} state
 */
export function writeState(state) {
  const own = formatHash(state);
  const ownUrl = new URL(window.location.href);
  ownUrl.hash = own;
  if (ownUrl.href !== window.location.href) {
    window.history.replaceState(window.history.state, '', ownUrl.href);
  }
  const parent = parentWindow();
  if (!parent) return;
  // Keep TensorBoard's own entries (its tab and any keys of other
  // dashboards); replace only ours.
  const kept = parent.location.hash.replace(/^#/, '').split('&')
      .filter((part) => part && !decodeURIComponentSafe(part).startsWith(PARENT_PREFIX));
  if (!kept.length || kept[0].includes('=')) kept.unshift(PLUGIN_TAB);
  if (kept[0] !== PLUGIN_TAB) return;  // another dashboard is showing
  const ours = formatHash(state, PARENT_PREFIX);
  const hash = [...kept, ...(ours ? [ours] : [])].join('&');
  const parentUrl = new URL(parent.location.href);
  parentUrl.hash = hash;
  if (parentUrl.href !== parent.location.href) {
    parent.history.replaceState(parent.history.state, '', parentUrl.href);
  }
}

/** @param {string} text */
function decodeURIComponentSafe(text) {
  try {
    return decodeURIComponent(text);
  } catch (err) {
    return text;
  }
}
