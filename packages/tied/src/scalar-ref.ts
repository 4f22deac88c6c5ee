/**
 * A box around one value, since JavaScript cannot tie a primitive variable: `tie(new ScalarRef(0), 'hits')` returns a
 * ScalarRef whose `value` lives in shared memory. An untied ScalarRef is a plain local box.
 */
export class ScalarRef<T = unknown> {
  #value: T | undefined;

  /** A box holding `value` (tie() it to share it). */
  constructor(value?: T) {
    this.#value = value;
  }

  /** The value (for a tied ScalarRef: read from shared memory, decoded only if another process changed it). */
  get value(): T {
    return this.#value as T;
  }

  /** Sets the value (for a tied ScalarRef: one atomic write to shared memory). */
  set value(v: T) {
    this.#value = v;
  }

  /** JSON.stringify(ref) gives the value itself. */
  toJSON(): unknown {
    return this.value;
  }

  /** `ref + 1`, `` `${ref}` ``: the value itself. */
  valueOf(): unknown {
    return this.value;
  }

  /** `String(ref)`: the value as a string. */
  toString(): string {
    return String(this.value);
  }
}
