// Plain data as @shm/tied stores it: which objects are plain containers, and how their keys are set.

/**
 * Sets an own data property as a plain object literal would: an assignment (objects stay in fast mode, which the
 * encoder notices), except '__proto__', which an assignment would take as the prototype setter.
 */
export function setOwn(o: object, k: string, value: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true });
  else (o as Record<string, unknown>)[k] = value;
}

/** Built-in objects stored as leaves (the serializer reproduces them), not as nested variables. */
export const PLAIN_LEAVES = [Date, RegExp, Map, Set, ArrayBuffer, Error, Boolean, Number, String, BigInt];

/** An object literal or Object.create(null): a hash that becomes a nested variable. */
export function isPlainObject(x: object): boolean {
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
}

/** The constructor name of a value, for error messages. */
export function typeName(x: unknown): string {
  if (typeof x !== 'object' || x === null) return typeof x;
  return (x as object).constructor?.name ?? 'object';
}
