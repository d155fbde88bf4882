// Pure: a layer's state at the step being viewed. Whether it was trainable
// or frozen, and its drift and dead-channel fraction, as of that step rather
// than as of the first step (the structure) or the newest one (the scalars).
// No DOM, no fetching: the layer head (layerhead.js) formats what this says.
//
// What the writer records (docs/format.md):
// - the structure (`_model`, written once, at the first logged step) gives
//   each layer's own `trainable` flag as Keras held it then;
// - each `_events` entry of type "trainable" lists, by qualified name, every
//   layer HOLDING WEIGHTS (a nested model included) whose EFFECTIVE state
//   changed at that step: `trainable` (became trainable) and `frozen` (became
//   frozen). Effective: the layer's flag and the flags of all its enclosing
//   models (the callback's `capture.trainable_state`). Unfreezing a nested
//   base model lists the model and each inner layer that became trainable;
//   an inner layer the user kept frozen is not listed. Layers without
//   weights (activations, pooling) are never listed.

/** Scalar tags (per layer, in the scalars route) of drift and dead channels. */
export const DRIFT = 'drift/relative_change';
export const DEAD = 'health/dead_fraction';

/**
 * An entry of the run's events (the layers route's `events`).
 *
 * @typedef {Object} RunEvent
 * @property {number} step
 * @property {string} type          "trainable" is the one read here
 * @property {string[]} [trainable] qualified names that became trainable
 * @property {string[]} [frozen]    qualified names that became frozen
 */

/**
 * The part of a layer the rule reads (a `LayerInfo` of the layers route).
 *
 * @typedef {Object} LayerLike
 * @property {string} name                      qualified name
 * @property {string[]} [path]                  enclosing models, outermost first
 * @property {?boolean} [trainable]             the structure's flag (first step)
 * @property {Object<string, number[]>} [kernel_shapes]
 * @property {?boolean} [has_weights]            the layer holds weights (newer logs)
 */

/**
 * Trainable or frozen at a step.
 *
 * @typedef {Object} TrainableState
 * @property {?boolean} trainable   null: the logs cannot tell (see trainableAt)
 * @property {?number} since        the step of the event the state comes
 *     from; null: the state written at the first step
 */

/**
 * A scalar's value as of a step.
 *
 * @typedef {Object} ScalarAt
 * @property {number} step          the step the value was logged at (<= the asked step)
 * @property {?number} value        null: not finite
 */

/**
 * The step's facts of a layer.
 *
 * @typedef {Object} LayerState
 * @property {TrainableState} trainable
 * @property {?ScalarAt} drift      relative change of the kernels
 * @property {?ScalarAt} dead       fraction of dead channels
 */

/**
 * Qualified names of the models enclosing `layer`, outermost first
 * (`path` ['a', 'b'] -> ['a', 'a/b']).
 *
 * @param {LayerLike} layer
 * @returns {string[]}
 */
export function enclosingModels(layer) {
  const path = Array.isArray(layer.path) ? layer.path.filter((p) => typeof p === 'string') : [];
  return path.map((_, i) => path.slice(0, i + 1).join('/'));
}

/**
 * The "trainable" events at or before `step`, in step order (ties keep
 * their order). A null step means the newest state: every event.
 *
 * @param {RunEvent[]|undefined} events
 * @param {?number} step
 * @returns {RunEvent[]}
 */
export function trainableEventsUpTo(events, step) {
  const kept = (Array.isArray(events) ? events : []).filter((e) => e && e.type === 'trainable' &&
    Number.isFinite(e.step) && (step == null || e.step <= step));
  return kept.map((e, i) => ({e, i})).sort((a, b) => a.e.step - b.e.step || a.i - b.i)
      .map(({e}) => e);
}

/**
 * The latest value each name was given by the events (already in step
 * order): `{value, step}` by qualified name. Within one event `frozen` is
 * read after `trainable`.
 *
 * @param {RunEvent[]} events
 * @returns {Map<string, {value: boolean, step: number}>}
 */
export function namedStates(events) {
  /** @type {Map<string, {value: boolean, step: number}>} */
  const named = new Map();
  /**
   * @param {unknown} names
   * @param {boolean} value
   * @param {number} step
   */
  const take = (names, value, step) => {
    for (const name of Array.isArray(names) ? names : []) {
      if (typeof name === 'string') named.set(name, {value, step});
    }
  };
  for (const event of events) {
    take(event.trainable, true, event.step);
    take(event.frozen, false, event.step);
  }
  return named;
}

/**
 * Whether `layer` was trainable at `step`.
 *
 * The rule, from what the writer records (this module's header):
 * 1. If a model enclosing the layer is frozen at `step`, the layer is
 *    frozen (nothing inside a frozen model trains).
 * 2. Else, if an event at or before `step` names the layer, the latest such
 *    event says (events carry the effective state).
 * 3. Else, if no enclosing model was named by an event at or before `step`,
 *    or the layer is known to hold weights (the structure's `has_weights`,
 *    older logs: it has kernels, or an event of the run names it at any
 *    step), the state written at the first step
 *    holds: its own flag and those of its enclosing models. A layer with
 *    weights that no event names kept its state.
 * 4. Else (a layer without weights, or of older logs without kernels, never
 *    named, inside a model whose state changed) the logs cannot tell: Keras passed the model's flag down to
 *    it, but the user may have set it back, and a layer without weights is
 *    never listed. `trainable` is null.
 *
 * @param {LayerLike} layer
 * @param {LayerLike[]} layers   the run's layers (for the enclosing models' flags)
 * @param {RunEvent[]|undefined} events   the run's events
 * @param {?number} step         the step viewed; null: the newest state
 * @returns {TrainableState}
 */
export function trainableAt(layer, layers, events, step) {
  const upTo = trainableEventsUpTo(events, step);
  const named = namedStates(upTo);
  const everNamed = namedStates(trainableEventsUpTo(events, null));
  const byName = new Map((layers || []).map((l) => [l.name, l]));
  /** @type {Map<string, TrainableState>} */
  const memo = new Map();

  /**
   * @param {LayerLike} current
   * @returns {TrainableState}
   */
  const stateOf = (current) => {
    const known = memo.get(current.name);
    if (known) return known;
    const models = enclosingModels(current);
    /** @type {TrainableState} */
    let state = {trainable: null, since: null};
    const frozenModel = models.map((name) => stateOf(byName.get(name) || {name, path: []}))
        .find((s) => s.trainable === false);
    const mine = named.get(current.name);
    if (frozenModel) {
      state = {trainable: false, since: mine && !mine.value ? mine.step : frozenModel.since};
    } else if (mine) {
      state = {trainable: mine.value, since: mine.step};
    } else if (!models.some((name) => named.has(name)) || holdsWeights(current, everNamed)) {
      state = {trainable: firstState(current, byName), since: null};
    }
    memo.set(current.name, state);
    return state;
  };
  return stateOf(layer);
}

/**
 * @param {LayerLike} layer
 * @param {Map<string, unknown>} everNamed
 * @returns {boolean}
 */
function holdsWeights(layer, everNamed) {
  return layer.has_weights === true || Object.keys(layer.kernel_shapes || {}).length > 0 ||
    everNamed.has(layer.name);
}

/**
 * The effective state written at the first step: the layer's own flag and
 * those of its enclosing models (null when a flag is missing).
 *
 * @param {LayerLike} layer
 * @param {Map<string, LayerLike>} byName
 * @returns {?boolean}
 */
function firstState(layer, byName) {
  const flags = [layer, ...enclosingModels(layer).map((name) => byName.get(name))]
      .map((l) => (l && typeof l.trainable === 'boolean' ? l.trainable : null));
  return flags.includes(false) ? false : flags[0];
}

/**
 * The value of `series` as of `step`: the point at the last step at or
 * before it (null when there is none); a null step means the newest point.
 *
 * @param {Array<[number, ?number]>|undefined} series   [step, value] pairs
 * @param {?number} step
 * @returns {?ScalarAt}
 */
export function valueAt(series, step) {
  /** @type {?ScalarAt} */
  let best = null;
  for (const point of Array.isArray(series) ? series : []) {
    if (!Array.isArray(point) || !Number.isFinite(point[0])) continue;
    const [at, value] = point;
    if (step != null && at > step) continue;
    if (!best || at >= best.step) best = {step: at, value: typeof value === 'number' ? value : null};
  }
  return best;
}

/**
 * A layer's trainable state, drift and dead fraction at `step`.
 *
 * @param {LayerLike} layer
 * @param {Object} run
 * @param {LayerLike[]} run.layers   the run's layers
 * @param {RunEvent[]} [run.events]  the run's events
 * @param {?{layers?: Object<string, Object<string, Array<[number, ?number]>>>}} [run.scalars]
 *     the run's drift and health (the scalars route), when loaded
 * @param {?number} step   the step viewed; null: the newest
 * @returns {LayerState}
 */
export function layerStateAt(layer, {layers, events, scalars}, step) {
  const series = scalars && scalars.layers ? scalars.layers[layer.name] || {} : {};
  return {
    trainable: trainableAt(layer, layers, events, step),
    drift: valueAt(series[DRIFT], step),
    dead: valueAt(series[DEAD], step),
  };
}
