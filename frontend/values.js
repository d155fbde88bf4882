// Reading untrusted values out of logged records (logs are untrusted: a
// malformed field reads as missing). Each reader returns the value when it
// has the expected form, else null (isObject: false), so a caller writes
// `finite(e.score) ?? fallback` and never trusts a field it has not read.
// Pure functions: no DOM.

/** @param {*} value  @returns {?number} a finite number, else null */
export function finite(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** @param {*} value  @param {number} least  @returns {?number} a whole number >= least, else null */
export function whole(value, least) {
  return Number.isSafeInteger(value) && value >= least ? value : null;
}

/** @param {*} value  @returns {boolean} an object that is not an array */
export function isObject(value) {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/** @param {*} value  @returns {?number} a number in [0, 1], else null */
export function fraction(value) {
  const v = finite(value);
  return v != null && v >= 0 && v <= 1 ? v : null;
}

/**
 * `read` remembered per object: a record reader called again for the same
 * grid object (hovering asks at every move) returns its first answer.
 * The answer must not be changed by its users.
 *
 * @template T
 * @param {function(*): T} read
 * @returns {function(*): T}
 */
export function readOnce(read) {
  const answers = new WeakMap();
  return (record) => {
    if (!answers.has(record)) answers.set(record, read(record));
    return answers.get(record);
  };
}
