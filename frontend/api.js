// Data layer: the plugin's HTTP routes (see the project's HTTP API notes),
// fetched with RELATIVE urls and cached. TensorBoard's plugin iframe has
// <base href="plugin/featureviz/">, so "./layers" resolves under
// /data/plugin/featureviz/ and keeps working under --path_prefix.
//
// Nothing here touches the DOM of the panel.

/**
 * @typedef {Object} Sampling
 * @property {number} [images]      per-plugin sample limit (0 = all)
 * @property {number} [featureviz]
 * @property {boolean} [dropped]    some tag kept fewer records than written
 */

/**
 * @typedef {Object} KindInfo
 * @property {number[]} steps       kept steps
 * @property {number} samples       probe images per step
 * @property {number} written       records written (max sequence + 1)
 */

/**
 * @typedef {Object} LayerInfo
 * @property {number} index
 * @property {string} name          qualified name, e.g. "xception/block1_conv1"
 * @property {?string} class
 * @property {string[]} path        enclosing models
 * @property {?Array<?number>} output_shape
 * @property {Object<string, number[]>} kernel_shapes
 * @property {boolean} spatial
 * @property {boolean} trainable
 * @property {boolean} is_model
 * @property {Object<string, KindInfo>} kinds
 */

/**
 * @typedef {Object} ProbeInfo
 * @property {string} layer         pseudo-layer name to ask the grid route for
 * @property {string} kind          its kind
 * @property {number[]} steps       kept steps
 * @property {number} samples       probe images per step
 */

/**
 * @typedef {Object} LayersDoc
 * @property {string} run
 * @property {?string} model
 * @property {LayerInfo[]} layers
 * @property {?ProbeInfo} probe    the probe images, logged as a pseudo-layer
 * @property {?ProbeInfo} [pictures]  the pictures behind a data-set pass's
 *     examples, logged as a pseudo-layer (absent when the run logged none)
 * @property {number[]} steps
 * @property {import('./layerstate.js').RunEvent[]} events
 * @property {Sampling} sampling
 * @property {Object<string, string>} [kind_labels]  display name of every kind
 *     the writer knows, in display order (read through PanelModel.kindLabel)
 * @property {Object<string, string>} [tile_labels]  what one tile of a kind is
 *     called, for kinds whose tiles each show one channel (PanelModel.tileLabel)
 */

/**
 * A grid: the record's geometry and meaning for one sample (docs/format.md).
 *
 * @typedef {Object} GridDoc
 * @property {string} layer
 * @property {string} kind
 * @property {?string} class
 * @property {number} step
 * @property {number} sequence
 * @property {'tiles'|'mosaic'|'matrix'} layout
 * @property {string} scale
 * @property {boolean} symmetric
 * @property {number[]} source_shape
 * @property {number} width
 * @property {number} height
 * @property {number} depth
 * @property {number} rows
 * @property {number} cols
 * @property {number} tile_height
 * @property {number} tile_width
 * @property {number} pad
 * @property {number[]} channels
 * @property {number} total_channels
 * @property {?number[]} input_channels
 * @property {Array<?number>} lo
 * @property {Array<?number>} hi
 * @property {number} nonfinite
 * @property {{mean?: Array<?number>, zero_fraction?: Array<?number>,
 *             nonfinite_fraction?: Array<?number>}} stats
 * @property {number} sample
 * @property {number} num_samples
 * @property {number[]} steps
 * @property {string} image_url
 */

/**
 * @typedef {Object} ScalarsDoc
 * @property {string} run
 * @property {Object<string, Object<string, Array<[number, number]>>>} layers
 */

/**
 * Which grid to load: the grid route's parameters.
 *
 * @typedef {Object} GridQuery
 * @property {string} run
 * @property {string} layer
 * @property {string} kind
 * @property {?number} [step]       latest when left out
 * @property {?number} [sample]     probe image
 */

/**
 * A grid's record with its decoded pixels.
 *
 * @typedef {Object} ShownGrid
 * @property {GridDoc} grid
 * @property {Pixels} pixels
 */

// The routes document their step lists as sorted; these hold the panel to
// that in one place, so that no view sorts again.

/** @param {number[]|undefined} steps */
function ascending(steps) {
  return Array.isArray(steps) ? steps.sort((a, b) => a - b) : [];
}

/** @param {LayersDoc} doc  @returns {LayersDoc} */
function prepareLayers(doc) {
  doc.layers = Array.isArray(doc.layers) ? doc.layers : [];
  for (const layer of doc.layers) {
    for (const info of Object.values(layer.kinds || {})) info.steps = ascending(info.steps);
  }
  if (doc.probe) doc.probe.steps = ascending(doc.probe.steps);
  if (doc.pictures) doc.pictures.steps = ascending(doc.pictures.steps);
  return doc;
}

/** @param {GridDoc} grid  @returns {GridDoc} */
function prepareGrid(grid) {
  grid.steps = ascending(grid.steps);
  return grid;
}

/** An HTTP or network failure, with the backend's message when it sent one. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} status   HTTP status, 0 for a network failure
   * @param {string} url
   */
  constructor(message, status, url) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.url = url;
  }
}

/**
 * Build a relative url with encoded query parameters (undefined/null left out).
 *
 * @param {string} route
 * @param {Object<string, string|number|undefined|null>} [params]
 * @returns {string}
 */
export function routeUrl(route, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value != null) query.set(key, String(value));
  }
  const text = query.toString();
  return `./${route}${text ? `?${text}` : ''}`;
}

/**
 * Resolve a url the backend returned (relative, e.g. "image?run=...").
 * Absolute urls and other origins are refused: the panel only loads its own
 * plugin's data.
 *
 * @param {string} url
 * @returns {string}
 */
function sameOriginUrl(url) {
  const resolved = new URL(url, document.baseURI);
  if (resolved.origin !== window.location.origin) {
    throw new ApiError(`refusing to load ${url}: not the plugin's origin`, 0, url);
  }
  return resolved.href;
}

/**
 * Decoded pixels of one served PNG.
 *
 * @typedef {Object} Pixels
 * @property {number} width
 * @property {number} height
 * @property {Uint8ClampedArray} data   RGBA, as the PNG holds it (no colour
 *     management, alpha not premultiplied)
 */

/** A small LRU map. */
class Lru {
  /** @param {number} size */
  constructor(size) {
    this.size = size;
    /** @type {Map<string, *>} */
    this.map = new Map();
  }

  /** @param {string} key */
  get(key) {
    if (!this.map.has(key)) return undefined;
    const value = this.map.get(key);
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** @param {string} key @param {*} value */
  set(key, value) {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.size) this.map.delete(this.map.keys().next().value);
  }

  /** @param {string} key */
  delete(key) {
    this.map.delete(key);
  }
}

/**
 * Client of the featureviz routes. JSON answers and decoded images are
 * cached (a logged step never changes); `refresh()` drops the run lists.
 */
export class Api {
  /** @param {typeof fetch} [fetchImpl] */
  constructor(fetchImpl) {
    this.fetch = fetchImpl || window.fetch.bind(window);
    this.json = new Lru(400);
    this.images = new Lru(120);
  }

  /**
   * @param {string} url
   * @param {boolean} [cache]
   * @param {function(*): *} [prepare]  applied once to the answer, before
   *     it is cached
   * @returns {Promise<*>}
   */
  getJson(url, cache = true, prepare = (body) => body) {
    const hit = cache ? this.json.get(url) : undefined;
    if (hit) return hit;
    const promise = this._fetchJson(url).then(prepare);
    if (cache) {
      this.json.set(url, promise);
      // A failed request is not cached: the next attempt asks again.
      promise.catch(() => this.json.delete(url));
    }
    return promise;
  }

  /**
   * GET a url; a network failure or an HTTP error becomes an ApiError that
   * carries the backend's {"error": ...} message when it sent one.
   *
   * @param {string} url
   * @param {string} what   what was asked for, for the message
   * @returns {Promise<Response>}
   */
  async _get(url, what) {
    let response;
    try {
      response = await this.fetch(url, {credentials: 'same-origin'});
    } catch (err) {
      throw new ApiError(`cannot reach TensorBoard (${err && err.message})`, 0, url);
    }
    if (response.ok) return response;
    const text = await response.text();
    let detail = text.slice(0, 200);
    try {
      const body = JSON.parse(text);
      if (body && typeof body.error === 'string') detail = body.error;
    } catch (err) {
      // Not JSON: keep the start of the text.
    }
    throw new ApiError(`${what}: ${response.status} ${response.statusText}: ${detail || 'no message'}`,
        response.status, url);
  }

  /** @param {string} url */
  async _fetchJson(url) {
    const response = await this._get(url, url.replace(/^\.\/|\?.*$/g, ''));
    try {
      return await response.json();
    } catch (err) {
      throw new ApiError('the server sent no JSON', response.status, url);
    }
  }

  /** @returns {Promise<{runs: string[], sampling: Sampling}>} */
  runs() {
    return this.getJson(routeUrl('runs'), false);
  }

  /**
   * @param {string} run
   * @param {boolean} [fresh]  bypass the cache (after a reload)
   * @returns {Promise<LayersDoc>}
   */
  layers(run, fresh = false) {
    const url = routeUrl('layers', {run});
    if (fresh) this.json.delete(url);
    return this.getJson(url, true, prepareLayers);
  }

  /**
   * The record of a grid; without `step`, of its latest step (not cached:
   * the latest step moves while training runs).
   *
   * @param {GridQuery} q
   * @returns {Promise<GridDoc>}
   */
  grid(q) {
    return this.getJson(routeUrl('grid', {
      run: q.run, layer: q.layer, kind: q.kind, step: q.step, sample: q.sample,
    }), q.step != null, prepareGrid);
  }

  /**
   * A grid's record and its decoded PNG, checked to belong together.
   *
   * @param {GridQuery} q
   * @returns {Promise<ShownGrid>}
   */
  async gridWithPixels(q) {
    const grid = await this.grid(q);
    const pixels = await this.pixels(grid.image_url);
    if (pixels.width !== grid.width || pixels.height !== grid.height) {
      throw new Error(`the image is ${pixels.width}×${pixels.height} px but its record says ` +
        `${grid.width}×${grid.height}`);
    }
    return {grid, pixels};
  }

  /**
   * @param {string} run
   * @param {boolean} [fresh]
   * @returns {Promise<ScalarsDoc>}
   */
  scalars(run, fresh = false) {
    const url = routeUrl('scalars', {run});
    if (fresh) this.json.delete(url);
    return this.getJson(url);
  }

  /**
   * Fetch and decode the PNG of a grid, exactly as stored: no colour
   * conversion, alpha not premultiplied.
   *
   * @param {string} imageUrl   the grid's image_url
   * @returns {Promise<Pixels>}
   */
  pixels(imageUrl) {
    const url = sameOriginUrl(imageUrl);
    const hit = this.images.get(url);
    if (hit) return hit;
    const promise = this._decode(url);
    this.images.set(url, promise);
    promise.catch(() => this.images.delete(url));
    return promise;
  }

  /** @param {string} url */
  async _decode(url) {
    const response = await this._get(url, 'image');
    const blob = await response.blob();
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob, {
        premultiplyAlpha: 'none',
        colorSpaceConversion: 'none',
      });
    } catch (err) {
      throw new ApiError('the image could not be decoded', response.status, url);
    }
    const canvas = document.createElement('canvas');
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const ctx = /** @type {CanvasRenderingContext2D} */ (
      canvas.getContext('2d', {willReadFrequently: true}));
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
    return {width: image.width, height: image.height, data: image.data};
  }
}
