import { expected } from '@shm/core';

/**
 * The property (a non-enumerable symbol) holding the Perl class of a blessed object, array or {@link PerlRef}.
 * `Symbol.for`, so two copies of this package agree. Read it with {@link blessed}, set it with {@link bless}.
 */
export const PERL_CLASS: unique symbol = Symbol.for('@shm/serializer-storable/class') as any;

const REF_MARKER = Symbol.for('@shm/serializer-storable/ref');

/**
 * A Perl reference to a scalar (`\"text"`, `\42`) or to another reference (`\\%h`): JS has no references to
 * primitives, so the referenced scalar lives in `value`. One PerlRef is one Perl scalar: two references to the
 * same scalar decode to the same PerlRef, and a PerlRef used twice encodes as one shared scalar.
 * References to hashes and arrays are plain objects and arrays instead.
 */
export class PerlRef<T = unknown> {
  /** The referenced scalar: a string, number, BigInt, boolean, null, bytes, or a reference (object, array, PerlRef). */
  value: T;
  /** @param value the referenced scalar */
  constructor(value: T) {
    this.value = value;
  }
  /** True for a PerlRef, also one made by another copy of this package. */
  static isInstance(x: unknown): x is PerlRef {
    return x instanceof PerlRef || (typeof x === 'object' && x !== null && (x as any)[REF_MARKER] === true);
  }
}
Object.defineProperty(PerlRef.prototype, REF_MARKER, { value: true });

/**
 * Perl's `bless`: marks an object, array or {@link PerlRef} as an instance of the Perl class `className`, so it
 * encodes as a blessed reference (`bless {...}, 'My::Class'`). Returns `target`. The class is a non-enumerable
 * symbol property ({@link PERL_CLASS}): JSON, `Object.keys` and spreading do not see it (a copy is unblessed).
 * @throws TypeError when target is not an object, an array or a PerlRef, or className is not a non-empty string.
 */
export function bless<T extends object>(target: T, className: string): T {
  if (typeof target !== 'object' || target === null || ArrayBuffer.isView(target)) {
    throw expected('an object, an array or a PerlRef', 'target', target);
  }
  if (typeof className !== 'string' || className === '') {
    throw expected('a non-empty class name', 'className', className);
  }
  Object.defineProperty(target, PERL_CLASS, {
    value: className,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return target;
}

/** Perl's `Scalar::Util::blessed`: the class of a blessed object, array or PerlRef, else undefined. */
export function blessed(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const c = (value as any)[PERL_CLASS];
  return typeof c === 'string' ? c : undefined;
}
