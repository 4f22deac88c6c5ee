/**
 * The shape of a package's bad-input table (`tools/bad-input/entries/<package dir>.ts`).
 *
 * Every public function of a package (its exports, the static and prototype methods of exported classes, and the
 * functions of exported objects) needs an entry, keyed as the enumeration names it:
 *   `name` (a function), `Class.method` (static), `Class#method` (prototype), `new Class` (the constructor),
 *   `Class#prop=` (a setter), `object.fn` (a function of an exported object such as `registry.list`).
 * An entry is a list of bad calls, or a statement of why the function has no input to refuse (`accepts`/`internal`).
 * test/bad-input.test.ts fails for an export without an entry and for an entry naming nothing.
 */

/** What a bad call gets wrong. Every kind must appear somewhere in the table. */
export type Kind =
  /** a value of the wrong type */
  | 'type'
  /** a number out of range, an unknown name, a malformed string */
  | 'range'
  /** an object that does not exist (ENOENT, ERR_SHM_NOT_FOUND) */
  | 'missing'
  /** creating, exclusively, an object that exists (EEXIST) */
  | 'exclusive'
  /** an object another user created with mode 0600, opened as user nobody (EACCES) */
  | 'permission'
  /** a tmpfs too small for what is asked (ENOSPC) */
  | 'full'
  /** a handle used after close() */
  | 'closed'
  /** a call the handle's state forbids (unlock without the lock, ...) */
  | 'state';

/** One bad call and the error it must raise. */
export interface BadCall<F> {
  /** What is wrong with it, for the test's name: "a string for bytes". */
  what: string;
  kind: Kind;
  /**
   * Makes the call (may return a promise, which must reject). `fx` are the package's fixtures (undefined in a child
   * process, see `as`); `prepared` is what `prepare` returned.
   */
  call(fx: F, prepared: any): unknown;
  /**
   * An argument name the TypeError/RangeError must name ("bytes", "options.pollMs"; the message reads "Expected ...
   * for <name> but received ..." or Node's 'The "<name>" argument ...'), or the `code` of the ShmError it must be
   * (`ERR_SHM_CLOSED`, `ENOENT`, ...).
   */
  throws: string;
  /**
   * Runs in a child process: as user nobody (uid/gid 65534), or with a 1 MiB tmpfs mounted on /dev/shm in a private
   * mount namespace. Needs root; without it the case is skipped (and reported so).
   */
  as?: 'nobody' | 'full-tmpfs';
  /** Runs first, in the test process (as root): makes what the child opens. Its JSON-able result is `prepared`. */
  prepare?(fx: F): unknown;
  /** Runs after the call failed, in the same process: checks what the package snapshot cannot see. */
  after?(fx: F, prepared: any): void | Promise<void>;
}

/** A function with nothing to refuse: no arguments, or any value is valid input. Say why. */
export interface Accepts {
  accepts: string;
}

/** Not an entry point although JavaScript can reach it (a TypeScript-private constructor, an @internal one). Say why. */
export interface Internal {
  internal: string;
}

export type Entry<F> = BadCall<F>[] | Accepts | Internal;

/** A package's table: fixtures the calls use, a snapshot compared before and after every call, and the entries. */
export interface PackageTable<F> {
  /** Makes the objects bad calls are made on (stores, locks, shares...), once for the package. */
  setup(): F | Promise<F>;
  /** Removes them. */
  teardown(fx: F): void | Promise<void>;
  /** The state bad calls must leave alone (serials, values, lock states...), compared with toEqual. */
  snapshot(fx: F): unknown;
  entries: Record<string, Entry<F>>;
}

/** What an entries file exports by default: given the package's module (as the enumeration imported it), its table. */
export type TableFactory<M = any, F = any> = (m: M) => PackageTable<F>;

/** Declares a package's table (typing helper). */
export function definePackage<M, F>(make: (m: M) => PackageTable<F>): TableFactory<M, F> {
  return make;
}

/** Shorthand for a bad call. */
export function bad<F>(
  kind: Kind,
  what: string,
  throws: string,
  call: (fx: F, prepared: any) => unknown,
  more: Partial<BadCall<F>> = {},
): BadCall<F> {
  return { kind, what, throws, call, ...more };
}

/** The values every "expects an object" argument is tried with. */
export const NOT_OBJECTS: readonly [string, unknown][] = [
  ['a string', 'x'],
  ['a number', 123],
  ['null', null],
];

/** Values that are not numbers, for "expects a number" arguments. */
export const NOT_NUMBERS: readonly [string, unknown][] = [
  ['a string', '5'],
  ['null', null],
  ['an object', {}],
];
