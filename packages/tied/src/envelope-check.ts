import { describeType, ShmError } from '@shm/core';
import type { Envelope } from './envelope.js';
import { isPlainObject } from './plain-object.js';

// Every envelope is read from shared memory, which any process (or a bug) may have written: these checks stand
// between its bytes and the Proxy traps.

/**
 * Checks a decoded envelope field by field: everything in it came from shared memory. A variable whose envelope
 * does not hold up is ERR_SHM_BAD_FORMAT (never a TypeError from deep inside a Proxy trap, never a negative count).
 */
export function checkEnvelope(env: unknown, label: string): asserts env is Envelope {
  const problem = envelopeProblem(env);
  if (problem !== undefined) {
    throw new ShmError('ERR_SHM_BAD_FORMAT', `Tied variable ${label} is corrupt: ${problem}`, {
      target: label,
    });
  }
}

function envelopeProblem(env: unknown): string | undefined {
  if (typeof env !== 'object' || env === null || Array.isArray(env))
    return `its value is ${shown(env)}, not one written by @shm/tied`;
  const e = env as Record<string, unknown>;
  if (e.t !== 'hash' && e.t !== 'array' && e.t !== 'scalar')
    return `its kind is ${shown(e.t)} (not one written by @shm/tied)`;
  if (typeof e.l !== 'number' || !Number.isSafeInteger(e.l) || e.l < 0)
    return `its reference count is ${shown(e.l)}`;
  if (!Array.isArray(e.h)) return `its list of holders is ${shown(e.h)}`;
  for (const pid of e.h) {
    if (!(Number.isInteger(pid) && pid > 0 && pid <= 0xffffffff))
      return `its list of holders names ${shown(pid)}, not a process id`;
  }
  if (e.gone !== undefined && e.gone !== true) return `its removal mark is ${shown(e.gone)}`;
  if (e.gone) return undefined;
  const v = e.v;
  if (e.t === 'hash' && !(typeof v === 'object' && v !== null && isPlainObject(v)))
    return `it holds ${shown(v)} where a hash (plain object) belongs`;
  if (e.t === 'array' && !Array.isArray(v)) return `it holds ${shown(v)} where an array belongs`;
  return undefined;
}

/** A short description of a value read from shared memory, for error messages. */
function shown(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}...` : x);
  if (typeof x === 'number' || typeof x === 'boolean' || x === null || x === undefined) return String(x);
  return `${/^[aeiou]/i.test(describeType(x)) ? 'an' : 'a'} ${describeType(x)}`;
}
