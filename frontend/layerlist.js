// View: the model's layers in model order, as a tree.
//
// Nested models are groups (the model's own row first, its layers inside),
// and within each model the layers that share a `blockN_` prefix (Xception's
// block1 ... block14) are grouped too. A filter box narrows the list by name
// or class; j/k or the arrow keys move through the visible layers.

import {el, replace} from './dom.js';

/**
 * @typedef {import('./api.js').LayerInfo} LayerInfo
 *
 * @typedef {Object} TreeNode
 * @property {'layer'|'group'} type
 * @property {LayerInfo} [layer]       the layer (type 'layer'), or the
 *                                     model's own layer (a model group)
 * @property {string} [label]          group label
 * @property {'model'|'block'} [group]
 * @property {string} [key]
 * @property {TreeNode[]} [children]
 */

const BLOCK = /^(block\d+)(?:[_-]|$)/i;

/**
 * The last part of a qualified name, relative to its enclosing models.
 *
 * @param {LayerInfo} layer
 * @returns {{prefix: string, leaf: string}}
 */
export function splitName(layer) {
  const parent = (layer.path || []).join('/');
  if (parent && layer.name.startsWith(`${parent}/`)) {
    return {prefix: `${parent}/`, leaf: layer.name.slice(parent.length + 1)};
  }
  return {prefix: '', leaf: layer.name};
}

/**
 * "149×149×32" for [null, 149, 149, 32]; '' when unknown.
 *
 * @param {?Array<?number>} shape
 * @returns {string}
 */
export function shapeText(shape) {
  if (!Array.isArray(shape) || !shape.length) return '';
  return shape.slice(1).map((d) => (d == null ? '?' : String(d))).join('×');
}

/**
 * Group layers (in model order) into the navigation tree.
 *
 * @param {LayerInfo[]} layers
 * @returns {TreeNode[]} top-level nodes
 */
export function buildTree(layers) {
  /** @type {TreeNode[]} */
  const root = [];
  /** @type {Map<string, TreeNode[]>} */
  const containers = new Map([['', root]]);
  /** @type {Map<string, TreeNode>} */
  const blocks = new Map();

  /**
   * Children list of the model named `key`, creating a group for a model
   * that is not itself in the list.
   *
   * @param {string[]} path
   * @returns {TreeNode[]}
   */
  function container(path) {
    const key = path.join('/');
    let list = containers.get(key);
    if (list) return list;
    const parent = container(path.slice(0, -1));
    /** @type {TreeNode} */
    const group = {type: 'group', group: 'model', key, label: path[path.length - 1], children: []};
    parent.push(group);
    containers.set(key, group.children);
    return group.children;
  }

  for (const layer of layers) {
    const path = Array.isArray(layer.path) ? layer.path : [];
    const list = container(path);
    const {leaf} = splitName(layer);
    const match = BLOCK.exec(leaf);
    let target = list;
    if (match) {
      const key = `${path.join('/')}\u0000${match[1]}`;
      let block = blocks.get(key);
      if (!block) {
        block = {type: 'group', group: 'block', key, label: match[1], children: []};
        blocks.set(key, block);
        list.push(block);
      }
      target = /** @type {TreeNode[]} */ (block.children);
    }
    if (layer.is_model) {
      /** @type {TreeNode} */
      const group = {type: 'group', group: 'model', key: layer.name, label: leaf, layer,
        children: []};
      target.push(group);
      if (!containers.has(layer.name)) containers.set(layer.name, group.children);
    } else {
      target.push({type: 'layer', layer});
    }
  }
  return root;
}

/** The layer tree with its filter box. */
export class LayerList {
  /**
   * @param {{onSelect: function(string): void}} options
   */
  constructor({onSelect}) {
    this.onSelect = onSelect;
    /** @type {Map<string, HTMLElement>} */
    this.items = new Map();
    /** @type {?string} */
    this.selected = null;
    this.filter = el('input', {
      className: 'fv-filter',
      attrs: {type: 'search', placeholder: 'Filter layers (name or class)',
        'aria-label': 'Filter layers', spellcheck: 'false', autocomplete: 'off'},
      testid: 'layer-filter',
      on: {
        input: () => this.applyFilter(),
        keydown: (/** @type {KeyboardEvent} */ e) => {
          if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
            e.preventDefault();
            this.move(e.key === 'ArrowDown' ? 1 : -1);
          } else if (e.key === 'Escape') {
            this.filter.value = '';
            this.applyFilter();
          }
        },
      },
    });
    this.count = el('div', {className: 'fv-count', attrs: {'aria-live': 'polite'}});
    this.tree = el('div', {className: 'fv-tree', attrs: {role: 'tree', 'aria-label': 'Layers'}});
    this.element = el('nav', {className: 'fv-layers', attrs: {'aria-label': 'Layers'}},
        el('div', {className: 'fv-filter-row'}, this.filter, this.count), this.tree);
    this.total = 0;
  }

  /**
   * Show a message instead of the tree (loading, empty, error).
   *
   * @param {HTMLElement} node
   */
  showNotice(node) {
    this.items.clear();
    this.selected = null;
    this.count.textContent = '';
    replace(this.tree, node);
  }

  /**
   * @param {LayerInfo[]} layers   in model order
   * @param {?string} selected
   */
  setLayers(layers, selected) {
    this.items.clear();
    this.total = layers.length;
    const nodes = buildTree(layers);
    replace(this.tree, ...nodes.map((n) => this.renderNode(n, 1)));
    this.selected = null;
    if (selected) this.select(selected, {scroll: true});
    this.applyFilter();
  }

  /**
   * @param {TreeNode} node
   * @param {number} depth
   * @returns {HTMLElement}
   */
  renderNode(node, depth) {
    if (node.type === 'layer') return this.renderLayer(/** @type {LayerInfo} */ (node.layer), depth);
    const children = el('div', {className: 'fv-children', attrs: {role: 'group'}},
        ...(node.children || []).map((c) => this.renderNode(c, depth + 1)));
    const toggle = el('button', {
      className: 'fv-toggle',
      attrs: {type: 'button', 'aria-expanded': 'true',
        'aria-label': `collapse ${node.label}`, title: `Collapse or expand ${node.label}`},
      text: '▾',
    });
    const group = el('div', {className: `fv-group fv-group-${node.group}`});
    toggle.addEventListener('click', (e) => {
      e.stopPropagation();
      const collapsed = group.classList.toggle('fv-collapsed');
      toggle.setAttribute('aria-expanded', String(!collapsed));
      toggle.textContent = collapsed ? '▸' : '▾';
    });
    const size = countLayers(node);
    const header = el('div', {className: 'fv-group-header'}, toggle);
    if (node.layer) {
      header.appendChild(this.renderLayer(node.layer, depth));
      // Shown instead of the model's row while the filter hides that row.
      header.appendChild(el('span', {className: 'fv-group-label fv-model-fallback',
        text: node.label || ''}));
    } else {
      header.appendChild(el('span', {className: 'fv-group-label', text: node.label || ''}));
      header.appendChild(el('span', {className: 'fv-muted fv-group-size',
        text: `${size} layer${size === 1 ? '' : 's'}`}));
      header.addEventListener('click', () => toggle.click());
    }
    group.append(header, children);
    return group;
  }

  /**
   * @param {LayerInfo} layer
   * @param {number} depth
   * @returns {HTMLElement}
   */
  renderLayer(layer, depth) {
    const {prefix, leaf} = splitName(layer);
    const kinds = Object.keys(layer.kinds || {});
    const item = el('div', {
      className: `fv-layer${kinds.length ? '' : ' fv-nodata'}${layer.is_model ? ' fv-model' : ''}`,
      testid: 'layer-item',
      attrs: {role: 'treeitem', tabindex: '-1', 'aria-selected': 'false',
        'aria-level': String(depth), title: layer.name},
      on: {click: () => this.choose(layer.name)},
    },
    // The enclosing models' prefix stays in the text (screen readers, tests)
    // but is hidden visually: the tree already shows it.
    prefix ? el('span', {className: 'fv-sr', text: prefix}) : null,
    el('span', {className: 'fv-lname', text: leaf}),
    el('span', {className: 'fv-lmeta'},
        el('span', {className: 'fv-lclass', text: layer.class || ''}),
        el('span', {className: 'fv-lshape', text: shapeText(layer.output_shape)})));
    if (!kinds.length) item.title = `${layer.name} (nothing logged)`;
    this.items.set(layer.name, item);
    return item;
  }

  /** @param {string} name */
  choose(name) {
    this.select(name, {focus: true});
    this.onSelect(name);
  }

  /**
   * Mark a layer selected (expanding its groups) without notifying.
   *
   * @param {?string} name
   * @param {{focus?: boolean, scroll?: boolean}} [options]
   */
  select(name, options = {}) {
    const previous = this.selected ? this.items.get(this.selected) : null;
    if (previous) {
      previous.setAttribute('aria-selected', 'false');
      previous.tabIndex = -1;
      previous.classList.remove('fv-selected');
    }
    this.selected = name;
    const item = name ? this.items.get(name) : null;
    if (!item) return;
    item.setAttribute('aria-selected', 'true');
    item.tabIndex = 0;
    item.classList.add('fv-selected');
    for (let g = item.parentElement; g && g !== this.tree; g = g.parentElement) {
      if (g.classList.contains('fv-collapsed')) {
        const toggle = g.querySelector(':scope > .fv-group-header > .fv-toggle');
        if (toggle instanceof HTMLElement) toggle.click();
      }
    }
    if (options.focus) item.focus({preventScroll: true});
    if (options.focus || options.scroll) item.scrollIntoView({block: 'nearest'});
  }

  /** Layer items currently shown, in display order. */
  visibleItems() {
    return [...this.tree.querySelectorAll('[data-testid="layer-item"]')]
        .filter((node) => /** @type {HTMLElement} */ (node).offsetParent !== null);
  }

  /**
   * Select the next (+1) or previous (-1) visible layer.
   *
   * @param {number} delta
   */
  move(delta) {
    const visible = this.visibleItems();
    if (!visible.length) return;
    const current = this.selected ? this.items.get(this.selected) : null;
    let index = current ? visible.indexOf(current) : -1;
    if (index < 0) index = delta > 0 ? -1 : visible.length;
    const next = visible[Math.max(0, Math.min(visible.length - 1, index + delta))];
    const name = [...this.items].find(([, node]) => node === next);
    if (name && name[0] !== this.selected) this.choose(name[0]);
  }

  /** Hide layers that do not match the filter text; show the count. */
  applyFilter() {
    const query = this.filter.value.trim().toLowerCase();
    this.tree.classList.toggle('fv-filtering', !!query);
    let shown = 0;
    for (const [name, item] of this.items) {
      const cls = item.querySelector('.fv-lclass');
      const match = !query || name.toLowerCase().includes(query) ||
          (cls && (cls.textContent || '').toLowerCase().includes(query));
      item.classList.toggle('fv-hidden', !match);
      if (match) shown++;
    }
    // A group stays visible while any layer inside it matches.
    const groups = [...this.tree.querySelectorAll('.fv-group')].reverse();
    for (const group of groups) {
      const any = [...group.querySelectorAll('[data-testid="layer-item"]')]
          .some((n) => !n.classList.contains('fv-hidden'));
      group.classList.toggle('fv-hidden', !any);
    }
    this.count.textContent = query ? `${shown} of ${this.total} layers` : `${this.total} layers`;
  }
}

/**
 * @param {TreeNode} node
 * @returns {number}
 */
function countLayers(node) {
  if (node.type === 'layer') return 1;
  return (node.layer ? 1 : 0) + (node.children || []).reduce((n, c) => n + countLayers(c), 0);
}
