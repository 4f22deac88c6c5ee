// Argument checks of core's public entry points (issue 15). Each throws a TypeError or RangeError worded
// "Expected <what> for <name> but received <value>" before anything is changed; callers keep the checks to one
// line at the top of a method, and hot paths test the common case inline and call these only on the rare branch.
import { checkFd, checkKey, checkMode, checkSize, expected } from '@shm/native';
import { getSerializer } from './serializers/get-serializer.js';

const BACKENDS = ['memfd', 'posix', 'file', 'sysv', 'win32'];
const REGION_BOOLEANS = [
  'create',
  'exclusive',
  'readonly',
  'populate',
  'persistent',
  'register',
  'seal',
  'keepFd',
] as const;

/** The largest poll interval a lock accepts: 2^31-1 ms (about 24 days; a futex timeout beyond is meaningless). */
const MAX_POLL_MS = 2 ** 31 - 1;

/** `v` as the exact bytes it covers: a Uint8Array as is, any other ArrayBufferView or an ArrayBuffer as a view of its bytes. */
export function checkBytes(v: unknown, name: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) return new Uint8Array(v);
  throw expected('a Uint8Array (or another ArrayBufferView, or an ArrayBuffer)', name, v);
}

/** A serializer id recorded with a value: an integer from 0 to 2^32-1. */
export function checkSerializerId(v: unknown, name = 'serializer'): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw expected('a serializer id (integer)', name, v);
  if (v < 0 || v > 0xffffffff) throw expected('a serializer id from 0 to 4294967295', name, v, RangeError);
  return v;
}

/** fetch()'s optional buffer: undefined or a Uint8Array. */
export function checkInto(v: unknown, name = 'into'): void {
  if (v !== undefined && !(v instanceof Uint8Array)) throw expected('a Uint8Array or undefined', name, v);
}

/** fetch()'s optional info object: undefined or an object it may write `serial`/`serializerId` to. */
export function checkInfo(v: unknown, name = 'info'): void {
  if (v !== undefined && (typeof v !== 'object' || v === null))
    throw expected('an object or undefined', name, v);
}

/** A callback argument. */
export function checkFunction(v: unknown, name: string): void {
  if (typeof v !== 'function') throw expected('a function', name, v);
}

/**
 * The error for a bad lock timeout: undefined/Infinity wait forever, 0 tries once, otherwise a number of ms >= 0.
 * Callers test `timeoutMs === undefined || (typeof timeoutMs === 'number' && timeoutMs >= 0)` inline first, so the
 * uncontended lock pays one comparison.
 */
export function timeoutArgError(v: unknown, name = 'timeoutMs'): Error {
  return typeof v === 'number'
    ? expected('a number of milliseconds >= 0 (or undefined/Infinity to wait forever)', name, v, RangeError)
    : expected('a number of milliseconds (or undefined to wait forever)', name, v);
}

/** A lock timeout (see timeoutArgError). */
export function checkTimeoutArg(v: unknown, name = 'timeoutMs'): void {
  if (v !== undefined && !(typeof v === 'number' && v >= 0)) throw timeoutArgError(v, name);
}

/** How often a lock waiter checks for a dead holder: a finite number of ms > 0. */
export function checkPollMs(v: unknown, name = 'options.pollMs'): void {
  if (v === undefined) return;
  if (typeof v !== 'number') throw expected('a number of milliseconds', name, v);
  if (!(v > 0 && v <= MAX_POLL_MS))
    throw expected(`a number of milliseconds above 0, at most ${MAX_POLL_MS}`, name, v, RangeError);
}

/** An optional non-negative integer option. */
function optionalInt(v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw expected('an integer', name, v);
  if (v < min || v > max) throw expected(`an integer from ${min} to ${max}`, name, v, RangeError);
}

function optionalString(v: unknown, name: string): void {
  if (v !== undefined && (typeof v !== 'string' || v === '' || v.includes('\0')))
    throw expected('a non-empty string without NUL', name, v);
}

/** The options of Region.create/open/fromFd/remove (types and ranges; which combination makes sense is checked later). */
export function checkRegionOptions(o: unknown, name = 'options'): void {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw expected('an options object', name, o);
  const r = o as Record<string, unknown>;
  if (r.backend !== undefined && !BACKENDS.includes(r.backend as string))
    throw expected(`one of ${BACKENDS.map((b) => `'${b}'`).join(', ')}`, `${name}.backend`, r.backend);
  optionalString(r.name, `${name}.name`);
  optionalString(r.path, `${name}.path`);
  optionalString(r.tag, `${name}.tag`);
  if (r.key !== undefined) checkKey(r.key, `${name}.key`);
  optionalInt(r.shmid, `${name}.shmid`, 0, 2 ** 31 - 1);
  if (r.fd !== undefined) checkFd(r.fd, `${name}.fd`);
  if (r.size !== undefined) checkSize(r.size, `${name}.size`);
  if (r.mode !== undefined) checkMode(r.mode, `${name}.mode`);
  for (const b of REGION_BOOLEANS)
    if (r[b] !== undefined && typeof r[b] !== 'boolean') throw expected('a boolean', `${name}.${b}`, r[b]);
}

/** Region.remove()'s target: an options object or a Region itself (whose shmid and fd are -1 when they do not apply). */
export function checkRemoveTarget(o: unknown, name = 'target'): void {
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw expected('an options object or a Region', name, o);
  const r = o as Record<string, unknown>;
  if (r.backend !== undefined && !BACKENDS.includes(r.backend as string))
    throw expected(`one of ${BACKENDS.map((b) => `'${b}'`).join(', ')}`, `${name}.backend`, r.backend);
  if (r.name !== undefined && typeof r.name !== 'string') throw expected('a string', `${name}.name`, r.name);
  if (r.path !== undefined && typeof r.path !== 'string') throw expected('a string', `${name}.path`, r.path);
  if (r.key !== undefined) checkKey(r.key, `${name}.key`);
  optionalInt(r.shmid, `${name}.shmid`, -1, 2 ** 31 - 1);
}

/** The options of Store.create/open/fromFd: a region address plus the store's own settings. */
export function checkStoreOptions(o: unknown, name = 'options'): void {
  checkRegionOptions(o, name);
  const r = o as Record<string, unknown>;
  optionalInt(r.inlineCapacity, `${name}.inlineCapacity`, 0, 2 ** 31);
  optionalInt(r.maxSegmentSize, `${name}.maxSegmentSize`, 0, 2 ** 32);
  optionalInt(r.maxValueSize, `${name}.maxValueSize`, 0);
  checkPollMs(r.pollMs, `${name}.pollMs`);
  // Resolved again by the constructor; checked here so that a bad one is refused before a region is created.
  if (r.serializer !== undefined) getSerializer(r.serializer as string);
}

/** RwLock's options. */
export function checkLockOptions(o: unknown, name = 'options'): void {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw expected('an options object', name, o);
  const r = o as Record<string, unknown>;
  if (r.name !== undefined && typeof r.name !== 'string') throw expected('a string', `${name}.name`, r.name);
  checkPollMs(r.pollMs, `${name}.pollMs`);
  optionalInt(r.spins, `${name}.spins`, 0, 1e9);
  if (r.identity !== undefined) {
    const id = r.identity as Record<string, unknown> | null;
    if (
      typeof id !== 'object' ||
      id === null ||
      typeof id.id !== 'function' ||
      typeof id.alive !== 'function' ||
      typeof id.startTime !== 'function'
    )
      throw expected('an OwnerIdentity (id, alive, startTime)', `${name}.identity`, r.identity);
  }
}
