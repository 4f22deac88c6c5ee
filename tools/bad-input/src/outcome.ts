import type { BadCall } from './table.js';

/** What a bad call did, as plain data (a child process reports it as JSON). */
export interface Outcome {
  /** False if the call returned (or its promise resolved) instead of failing. */
  threw: boolean;
  /** The error's constructor name ('TypeError', 'RangeError', 'ShmError', 'ShmSystemError', ...). */
  name?: string;
  /** TypeError/RangeError, or an error of ours (`ShmError.isInstance`, by its Symbol.for marker). */
  kind?: 'TypeError' | 'RangeError' | 'ShmError' | 'other';
  code?: string;
  message?: string;
  /** What the call returned, when it did not throw. */
  returned?: string;
}

const SHM_MARKER = Symbol.for('@shm/error');

function describe(v: unknown): string {
  try {
    return typeof v === 'object' && v !== null ? Object.prototype.toString.call(v) : String(v);
  } catch {
    return typeof v;
  }
}

/** Runs a bad call and reports what happened (awaiting a returned promise). */
export async function outcomeOf(run: () => unknown): Promise<Outcome> {
  let r: unknown;
  try {
    r = run();
    if (r instanceof Promise) r = await r;
  } catch (e) {
    const err = e as { name?: string; code?: unknown; message?: unknown } | null;
    const kind =
      typeof e === 'object' && e !== null && (e as any)[SHM_MARKER] === true
        ? 'ShmError'
        : e instanceof RangeError
          ? 'RangeError'
          : e instanceof TypeError
            ? 'TypeError'
            : 'other';
    return {
      threw: true,
      name: err?.constructor?.name ?? typeof e,
      kind,
      code: typeof err?.code === 'string' ? err.code : undefined,
      message: typeof err?.message === 'string' ? err.message : String(e),
    };
  }
  return { threw: false, returned: describe(r) };
}

const CODE = /^(ERR_[A-Z0-9_]+|E[A-Z0-9]+)$/;

/**
 * Why `o` is not the failure `c` asks for (undefined when it is): an argument error naming `c.throws`, or an error of
 * ours with that code.
 */
export function mismatch(c: BadCall<unknown>, o: Outcome): string | undefined {
  if (!o.threw) return `it did not throw (returned ${o.returned})`;
  const got = `${o.name}${o.code ? ` ${o.code}` : ''}: ${o.message}`;
  if (CODE.test(c.throws)) {
    if (o.kind !== 'ShmError') return `expected a ShmError with code ${c.throws}, got ${got}`;
    return o.code === c.throws ? undefined : `expected code ${c.throws}, got ${got}`;
  }
  if (o.kind !== 'TypeError' && o.kind !== 'RangeError')
    return `expected a TypeError or RangeError naming ${c.throws}, got ${got}`;
  if (c.kind === 'type' && o.kind !== 'TypeError') return `expected a TypeError for a wrong type, got ${got}`;
  const m = o.message ?? '';
  // "Expected <what> for <name> but received <value>" (ours; the addon's own checks end at the name), or Node's
  // 'The "<name>" argument must be ...'.
  const arg = c.throws.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const names = m.includes(`"${c.throws}"`) || new RegExp(`^Expected\\b.*\\bfor ${arg}(?![\\w.\\[])`).test(m);
  return names ? undefined : `expected the message to name ${c.throws}, got ${got}`;
}
