import { constants } from 'node:os';

const MARKER = Symbol.for('@shm/error');

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno))
  if (!errnoNames.has(num)) errnoNames.set(num, name);

/** Our own error codes; system errors use the errno name (`EACCES`, `ENOSPC`, ...) instead. */
export type ShmErrorCode =
  | 'ERR_SHM_CLOSED'
  | 'ERR_SHM_TOO_LARGE'
  | 'ERR_SHM_BAD_FORMAT'
  | 'ERR_SHM_LOCK_TIMEOUT'
  | 'ERR_SHM_WOULD_BLOCK'
  | 'ERR_SHM_SERIALIZER_MISMATCH'
  | 'ERR_SHM_OWNER_DIED'
  | 'ERR_SHM_NOT_SUPPORTED'
  | 'ERR_SHM_NOT_FOUND'
  | 'ERR_SHM_EXISTS'
  | 'ERR_SHM_SIZE_MISMATCH'
  | 'ERR_SHM_TOO_MANY_READERS'
  | 'ERR_SHM_BUSY'
  | 'ERR_SHM_UNSERIALIZABLE'
  | 'ERR_SHM_NATIVE_LOAD';

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

/** Returns a copy of `e` with more context in its message and target (keeps class, code and errno). */
export function withTarget<E extends ShmError>(e: E, target: string): E {
  if (typeof e !== 'object' || e === null) throw expected('an error', 'e', e);
  if (typeof target !== 'string') throw expected('a string', 'target', target);
  Object.defineProperty(e, 'target', { value: target, enumerable: true });
  e.message = `${e.message} [${target}]`;
  return e;
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
