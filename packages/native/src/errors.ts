import { constants } from 'node:os';

const MARKER = Symbol.for('@shm/error');

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno))
  if (!errnoNames.has(num)) errnoNames.set(num, name);

/**
 * Our own error codes, exactly those some `@shm` package throws (test/error-codes.test.ts scans every package's
 * src/ and fails if a code is thrown but missing here, or listed here but never thrown). System errors use the
 * errno name (`EACCES`, `ENOSPC`, ...) instead.
 *
 * - `ERR_SHM_CLOSED`: the handle, region or store was used after `close()`.
 * - `ERR_SHM_TOO_LARGE`: a value or size exceeds what the area, chain or limit can hold.
 * - `ERR_SHM_BAD_FORMAT`: the memory (or bytes) is not in the format expected (bad magic, corrupt header).
 * - `ERR_SHM_LOCK_TIMEOUT`: a lock was not acquired within the timeout given.
 * - `ERR_SHM_NOT_HELD`: an unlock, a commit or an operation that needs a lock this caller does not hold
 *   (`unlock()` without `lock()`, `storeLocked()` without the exclusive lock).
 * - `ERR_SHM_DEADLOCK`: a lock request that could never succeed: an upgrade from shared to exclusive, a write
 *   while holding the read lock, asking again through another handle of the thread that holds it, re-acquiring
 *   a non-recursive mutex.
 * - `ERR_SHM_SERIALIZER_MISMATCH`: the value was written by another serializer than the reader's.
 * - `ERR_SHM_UNSERIALIZABLE`: the serializer cannot carry this value.
 * - `ERR_SHM_NOT_SUPPORTED`: not available on this platform or backend.
 * - `ERR_SHM_NOT_FOUND`: no such object (a name of ours, a store, an fd hand-off) where the OS has no errno for it.
 * - `ERR_SHM_EXISTS`: an exclusive create found the object already there (@shm/redis; the OS backends use EEXIST).
 * - `ERR_SHM_SIZE_MISMATCH`: an existing object is smaller than the size asked for.
 * - `ERR_SHM_TOO_MANY_READERS`: all participant slots of a lock are taken by live threads.
 * - `ERR_SHM_BUSY`: the object is in use and cannot be removed or reused now.
 * - `ERR_SHM_NATIVE_LOAD`: the native addon could not be loaded.
 * - `ERR_SHM_TIMEOUT`: a command to a server (@shm/redis) did not complete in time.
 * - `ERR_SHM_UNREACHABLE`: the server (@shm/redis) could not be reached.
 * - `ERR_SHM_REDIS`: the server (@shm/redis) refused a command.
 * - `ERR_SHM_LEASE_EXPIRED`: a lock lease (@shm/redis) ran out before the holder released it.
 */
export type ShmErrorCode =
  | 'ERR_SHM_CLOSED'
  | 'ERR_SHM_TOO_LARGE'
  | 'ERR_SHM_BAD_FORMAT'
  | 'ERR_SHM_LOCK_TIMEOUT'
  | 'ERR_SHM_NOT_HELD'
  | 'ERR_SHM_DEADLOCK'
  | 'ERR_SHM_SERIALIZER_MISMATCH'
  | 'ERR_SHM_UNSERIALIZABLE'
  | 'ERR_SHM_NOT_SUPPORTED'
  | 'ERR_SHM_NOT_FOUND'
  | 'ERR_SHM_EXISTS'
  | 'ERR_SHM_SIZE_MISMATCH'
  | 'ERR_SHM_TOO_MANY_READERS'
  | 'ERR_SHM_BUSY'
  | 'ERR_SHM_NATIVE_LOAD'
  | 'ERR_SHM_TIMEOUT'
  | 'ERR_SHM_UNREACHABLE'
  | 'ERR_SHM_REDIS'
  | 'ERR_SHM_LEASE_EXPIRED';

/**
 * The base of every error `@shm` throws on purpose. `code` is an errno name for system errors or one of the
 * `ERR_SHM_*` codes. `ShmError.isInstance(e)` works across duplicate installs of the package.
 */
export class ShmError extends Error {
  /** An errno name (`ENOENT`, `ENOSPC`...) for a failed system call, else one of the `ERR_SHM_*` codes. */
  readonly code: string;
  /** What the error is about: a key, a name, a path, a lock. */
  readonly target: string | undefined;
  constructor(code: string, message: string, options: { target?: string; cause?: unknown } = {}) {
    if (typeof code !== 'string' || code === '') throw expected('an error code (string)', 'code', code);
    if (typeof message !== 'string') throw expected('a string', 'message', message);
    if (typeof options !== 'object' || options === null)
      throw expected('an options object', 'options', options);
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ShmError';
    this.code = code;
    this.target = options.target;
    Object.defineProperty(this, MARKER, { value: true });
  }
  /** True for any `ShmError`, even one made by another copy of this package (checked by a `Symbol.for` marker). */
  static isInstance(e: unknown): e is ShmError {
    return typeof e === 'object' && e !== null && (e as any)[MARKER] === true;
  }
}

/**
 * A failed system call: `code` is the errno name, with `errno`, `syscall` and the key or name involved.
 * On Windows `errno` is the Win32 error number (GetLastError) and the addon passes its name
 * (`ERROR_FILE_NOT_FOUND`) as `code`, since those numbers are not errno values.
 */
export class ShmSystemError extends ShmError {
  /** The errno number (on Windows, the `GetLastError()` value). */
  readonly errno: number;
  /** The system call that failed (`shmget`, `posix_fallocate`, `mmap`...). */
  readonly syscall: string;
  constructor(message: string, errno: number, syscall: string, target: string, code?: string) {
    if (!Number.isInteger(errno)) throw expected('an errno (integer)', 'errno', errno);
    if (typeof syscall !== 'string') throw expected('a system call name', 'syscall', syscall);
    code ??= errnoNames.get(errno) ?? `E${errno}`;
    super(code, `${code}: ${message}`, { target: target || undefined });
    this.name = 'ShmSystemError';
    this.errno = errno;
    this.syscall = syscall;
  }
  /** True for any `ShmSystemError`, even one made by another copy of this package. */
  static override isInstance(e: unknown): e is ShmSystemError {
    return (
      ShmError.isInstance(e) && typeof (e as any).errno === 'number' && typeof (e as any).syscall === 'string'
    );
  }
}

/**
 * Returns a copy of `e` with `target` set and ` [target]` appended to its message; `e` itself is left unchanged.
 * The copy keeps the class (so `instanceof` and `isInstance` hold), the code, errno, syscall, cause and stack.
 */
export function withTarget<E extends ShmError>(e: E, target: string): E {
  if (typeof e !== 'object' || e === null) throw expected('an error', 'e', e);
  if (typeof target !== 'string') throw expected('a string', 'target', target);
  const copy = Object.create(Object.getPrototypeOf(e)) as E;
  Object.defineProperties(copy, Object.getOwnPropertyDescriptors(e));
  Object.defineProperty(copy, 'target', { value: target, enumerable: true });
  Object.defineProperty(copy, 'message', {
    value: `${e.message} [${target}]`,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  // The stack's first line repeats the message: keep it in step so a printed copy shows the target.
  if (typeof e.stack === 'string' && e.stack.includes(e.message)) {
    Object.defineProperty(copy, 'stack', {
      value: e.stack.replace(e.message, copy.message),
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  return copy;
}

/** The `ERR_SHM_CLOSED` error for use of `what` after `close()`. */
export function closedError(what: string): ShmError {
  return new ShmError('ERR_SHM_CLOSED', `${what} is closed`, { target: what });
}

/** "Expected <what> for <name> but received <value>" */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return String(v);
  return Object.prototype.toString.call(v);
}

/** A TypeError (or `Ctor`, e.g. RangeError) worded "Expected <what> for <name> but received <value>", for argument checks. */
export function expected(
  what: string,
  name: string,
  value: unknown,
  Ctor: typeof TypeError = TypeError,
): Error {
  return new Ctor(`Expected ${what} for ${name} but received ${describeValue(value)}`);
}
