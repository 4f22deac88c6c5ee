/** What a tied variable holds: a plain object, an array, or one value (a ScalarRef). */
export type Kind = 'hash' | 'array' | 'scalar';

/**
 * The value committed to each variable's store. `v` is the variable's contents, where every nested plain object or
 * array is replaced by a Ref to the segment that holds it. `l` counts the references stored in other variables
 * (anonymous variables are removed when it reaches 0 and no live process in `h` holds them); `gone` is the
 * tombstone a removal commits before unlinking, so processes that still map the segment learn it was removed.
 */
export interface Envelope {
  t: Kind;
  /** References from other variables (anonymous variables only; 0 for named ones). */
  l: number;
  /** Pids of the processes holding an anonymous root variable (tie() without a name). */
  h: number[];
  gone?: true;
  v: unknown;
}

/** The key of a reference marker: `{ '@shm/tied:ref': 'p:/ns.a.0123abcd' }`. */
export const REF_KEY = '@shm/tied:ref';

export interface Ref {
  [REF_KEY]: string;
}

export function isRef(v: unknown): v is Ref {
  return typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)[REF_KEY] === 'string';
}

export function makeRef(id: string): Ref {
  return { [REF_KEY]: id };
}

function addRef(into: Map<string, number>, x: unknown): void {
  if (typeof x === 'object' && x !== null && isRef(x)) {
    const id = x[REF_KEY];
    into.set(id, (into.get(id) ?? 0) + 1);
  }
}

/** The ids of the variables a container refers to directly, with how many times each. */
export function refCounts(kind: Kind, v: unknown, into = new Map<string, number>()): Map<string, number> {
  if (kind === 'scalar') addRef(into, v);
  else if (kind === 'array' && Array.isArray(v)) for (let i = 0; i < v.length; i++) addRef(into, v[i]);
  else if (typeof v === 'object' && v !== null)
    for (const k in v) addRef(into, (v as Record<string, unknown>)[k]);
  return into;
}

/** refCounts() of a list of values (the ones a write removed or added). */
export function refCountsOf(values: readonly unknown[]): Map<string, number> {
  const into = new Map<string, number>();
  for (let i = 0; i < values.length; i++) addRef(into, values[i]);
  return into;
}

export function emptyOf(kind: Kind): unknown {
  return kind === 'hash' ? {} : kind === 'array' ? [] : undefined;
}

export function kindName(kind: Kind): string {
  return kind === 'hash' ? 'a hash (plain object)' : kind === 'array' ? 'an array' : 'a scalar (ScalarRef)';
}
