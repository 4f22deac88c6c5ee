import { loadBinding } from './binding.js';
import {
  type NativeMapping,
  type Win32Binding,
  type Win32MappingResult,
  Win32OpenMode,
  Win32WaitResult,
} from './binding-types.js';
import { closedError, expected, ShmError } from './errors.js';
import { checkOptions, checkSize, checkString, checkTimeout } from './validate.js';

export { type Win32MappingResult, Win32OpenMode, Win32WaitResult } from './binding-types.js';

// Windows file mappings, named mutexes and events (cpp/win32). Policy lives here: defaults, validation, the size
// check of an existing mapping, and turning Busy/Closed results into errors. See
// docs/decisions/0002-windows-under-wine.md for how @shm/core maps regions and locks onto these.

let binding: Win32Binding | undefined;

function win32(): Win32Binding {
  if (binding) return binding;
  const b = loadBinding();
  if (!b.win32CreateMapping) {
    throw new ShmError(
      'ERR_SHM_NOT_SUPPORTED',
      `Win32 file mappings are not available on ${process.platform}`,
    );
  }
  binding = b as unknown as Win32Binding;
  return binding;
}

/** True when this addon is the Windows build. */
export function hasWin32(): boolean {
  return typeof loadBinding().win32CreateMapping === 'function';
}

/**
 * A Win32 object name as given to CreateFileMappingW and friends: 1 to 260 characters, no NUL. A "Local\" or
 * "Global\" prefix selects the session or global namespace; other backslashes are rejected by Windows.
 */
export function checkWin32Name(v: unknown, name = 'name'): string {
  if (typeof v !== 'string') throw expected('a string', name, v);
  if (v.length < 1 || v.length > 260 || v.includes('\0')) {
    throw expected('a name of 1 to 260 characters without NUL', name, v, RangeError);
  }
  return v;
}

/** Options of `createWin32Mapping`. */
export interface Win32MappingOptions {
  /** Omit for an anonymous mapping (visible only to this process). */
  name?: string;
  /** Bytes. An existing mapping of that name must be at least this large (else ERR_SHM_SIZE_MISMATCH). */
  size: number;
  /** Fail with ERROR_ALREADY_EXISTS if the name exists. */
  exclusive?: boolean;
}

function checkExisting(r: Win32MappingResult, size: number, what: string): Win32MappingResult {
  if (r.existed && size > 0 && r.mapping.size < size) {
    const have = r.mapping.size;
    r.mapping.close();
    throw new ShmError(
      'ERR_SHM_SIZE_MISMATCH',
      `${what} already exists with ${have} bytes, fewer than the ${size} requested`,
      { target: what },
    );
  }
  return r;
}

/**
 * A pagefile-backed mapping (CreateFileMappingW with INVALID_HANDLE_VALUE). It lives while any process holds a
 * handle or view: it disappears with the last close, so "persists after exit" needs createWin32FileMapping.
 */
export function createWin32Mapping(opts: Win32MappingOptions): Win32MappingResult {
  checkOptions(opts, 'opts', ['exclusive']);
  const name = opts.name === undefined ? '' : checkWin32Name(opts.name);
  const size = checkSize(opts.size);
  const r = win32().win32CreateMapping(name, size, '', !!opts.exclusive);
  return checkExisting(r, size, name ? `mapping "${name}"` : 'anonymous mapping');
}

/** Options of `createWin32FileMapping`. */
export interface Win32FileMappingOptions {
  /** Also give the mapping this name, so other processes can open it with openWin32Mapping. */
  name?: string;
  /** Bytes; the file is grown to this size if smaller. Default: the file's size (which must be > 0). */
  size?: number;
  /** Fail with ERROR_FILE_EXISTS / ERROR_ALREADY_EXISTS if the file or the name exists. */
  exclusive?: boolean;
}

/** A file-backed mapping (Win32::MMF's swapfile option): the data stays in the file after every process closes. */
export function createWin32FileMapping(path: string, opts: Win32FileMappingOptions = {}): Win32MappingResult {
  const p = checkString(path, 'path');
  checkOptions(opts, 'opts', ['exclusive']);
  const name = opts.name === undefined ? '' : checkWin32Name(opts.name);
  const size = opts.size === undefined ? 0 : checkSize(opts.size);
  const r = win32().win32CreateMapping(name, size, p, !!opts.exclusive);
  return checkExisting(r, size, name ? `mapping "${name}"` : `file mapping ${p}`);
}

/** Opens an existing named mapping whole: ERROR_FILE_NOT_FOUND when no process holds one of that name. */
export function openWin32Mapping(name: string): NativeMapping {
  const n = checkWin32Name(name);
  return win32().win32OpenMapping(n);
}

/** The page size and the allocation granularity (the alignment of mapping offsets), in bytes. */
export function win32Constants(): { PAGE_SIZE: number; ALLOCATION_GRANULARITY: number } {
  return win32().win32Constants;
}

/** Mutex and event ids open in this process (for leak checks). */
export function win32OpenHandles(): number {
  return win32().win32OpenHandles();
}

/** How a named mutex or event is opened. */
export interface Win32OpenOptions {
  /** Create the object if it does not exist (default true); false opens an existing one (ERROR_FILE_NOT_FOUND). */
  create?: boolean;
  /** Fail with ERROR_ALREADY_EXISTS if it exists. */
  exclusive?: boolean;
}

function openMode(o: Win32OpenOptions): Win32OpenMode {
  checkOptions(o, 'opts', ['create', 'exclusive', 'manualReset', 'initialState']);
  if (o.exclusive) return Win32OpenMode.CreateNew;
  return o.create === false ? Win32OpenMode.OpenExisting : Win32OpenMode.OpenOrCreate;
}

/**
 * The id bookkeeping Win32Mutex and Win32Event share: one native mutex or event id, 0 once closed. Each class holds
 * one in a private field rather than extending it, so the helper stays out of their public API and generated docs
 * (typedoc would list an unexported base class under "Extends" and "Inherited from").
 */
class Win32Handle {
  #id: number;
  /** How errors name the object: `mutex "name"` or `event "name"`. */
  readonly #what: string;
  constructor(what: string, id: number) {
    this.#what = what;
    this.#id = id;
  }

  get closed(): boolean {
    return this.#id === 0;
  }

  /** The id, or ERR_SHM_CLOSED once closed. */
  live(): number {
    if (this.#id === 0) throw closedError(this.#what);
    return this.#id;
  }

  /** Closes the id (the native side releases a held mutex and ends pending waits); false if already closed. */
  close(): boolean {
    if (this.#id === 0) return false;
    const id = this.#id;
    this.#id = 0;
    return win32().win32HandleClose(id);
  }

  /** A wait that close() ended (Win32WaitResult.Closed) becomes ERR_SHM_CLOSED; other results pass through. */
  checkClosed(r: Win32WaitResult): Win32WaitResult {
    if (r === Win32WaitResult.Closed) throw closedError(this.#what);
    return r;
  }
}

/**
 * A named Win32 mutex. Ownership belongs to this object (a native owner thread does every wait and release), not
 * to the JS thread: two Win32Mutex objects exclude each other even on one thread, and acquire is not recursive.
 * When a holder dies (process killed, thread env torn down), the next acquire returns Win32WaitResult.Abandoned.
 */
export class Win32Mutex {
  /** The name given to `open()` ('' for an unnamed mutex). */
  readonly name: string;
  readonly #handle: Win32Handle;
  private constructor(name: string, id: number) {
    this.name = name;
    this.#handle = new Win32Handle(`mutex "${name}"`, id);
  }

  /** Opens or creates the mutex `name` ('' for an unnamed one). */
  static open(name: string, opts: Win32OpenOptions = {}): Win32Mutex {
    const n = name === '' ? '' : checkWin32Name(name);
    return new Win32Mutex(n, win32().win32MutexOpen(n, openMode(opts)));
  }

  /** True once `close()` ran. */
  get closed(): boolean {
    return this.#handle.closed;
  }

  /** Whether this object holds the mutex. */
  get held(): boolean {
    return !this.#handle.closed && win32().win32MutexHeld(this.#handle.live());
  }

  /**
   * Waits up to timeoutMs (default forever) on the calling thread: Acquired, TimedOut, or Abandoned (held now; the
   * previous owner died holding it). Throws ERR_SHM_DEADLOCK if this object already holds or is acquiring it.
   */
  acquire(timeoutMs?: number): Win32WaitResult {
    const r = win32().win32MutexAcquire(this.#handle.live(), checkTimeout(timeoutMs));
    return this.#check(r);
  }

  /** acquire(0). */
  tryAcquire(): Win32WaitResult {
    return this.acquire(0);
  }

  /** acquire without blocking the event loop. */
  async acquireAsync(timeoutMs?: number): Promise<Win32WaitResult> {
    const r = await win32().win32MutexAcquireAsync(this.#handle.live(), checkTimeout(timeoutMs));
    return this.#check(r);
  }

  /** Throws ERROR_NOT_OWNER unless this object holds the mutex. */
  release(): void {
    win32().win32MutexRelease(this.#handle.live());
  }

  /** Releases the mutex if held, ends pending acquires (they throw ERR_SHM_CLOSED). Returns false if already closed. */
  close(): boolean {
    return this.#handle.close();
  }

  #check(r: Win32WaitResult): Win32WaitResult {
    if (r === Win32WaitResult.Busy) {
      throw new ShmError(
        'ERR_SHM_DEADLOCK',
        `mutex "${this.name}" is already held or being acquired through this object (Win32Mutex is not recursive)`,
        { target: this.name },
      );
    }
    return this.#handle.checkClosed(r);
  }
}

/** Options of `Win32Event.open`. */
export interface Win32EventOptions extends Win32OpenOptions {
  /** Manual-reset: stays signaled (waking every waiter) until reset(). Default false: each set() wakes one waiter. */
  manualReset?: boolean;
  /** Signaled when created. Default false. */
  initialState?: boolean;
}

/** A named Win32 event: the cross-process wake-up (futexes do not cross processes on Windows). */
export class Win32Event {
  /** The name given to `open()` ('' for an unnamed event). */
  readonly name: string;
  readonly #handle: Win32Handle;
  private constructor(name: string, id: number) {
    this.name = name;
    this.#handle = new Win32Handle(`event "${name}"`, id);
  }

  /** Opens or creates the event `name` ('' for an unnamed one); auto-reset unless `manualReset`. */
  static open(name: string, opts: Win32EventOptions = {}): Win32Event {
    const n = name === '' ? '' : checkWin32Name(name);
    const id = win32().win32EventOpen(n, openMode(opts), !!opts.manualReset, !!opts.initialState);
    return new Win32Event(n, id);
  }

  /** True once `close()` ran. */
  get closed(): boolean {
    return this.#handle.closed;
  }

  /** Signals the event: wakes one waiter (auto-reset) or every waiter until `reset()` (manual-reset). */
  set(): void {
    win32().win32EventSet(this.#handle.live());
  }

  /** Clears a manual-reset event. */
  reset(): void {
    win32().win32EventReset(this.#handle.live());
  }

  /** Signaled (0) or TimedOut (1); throws ERR_SHM_CLOSED if closed while waiting. */
  wait(timeoutMs?: number): Win32WaitResult {
    return this.#handle.checkClosed(win32().win32EventWait(this.#handle.live(), checkTimeout(timeoutMs)));
  }

  /** `wait()` without blocking the event loop, on the system's wait threads (never the libuv pool). */
  async waitAsync(timeoutMs?: number): Promise<Win32WaitResult> {
    return this.#handle.checkClosed(
      await win32().win32EventWaitAsync(this.#handle.live(), checkTimeout(timeoutMs)),
    );
  }

  /** Closes the event; pending waits throw ERR_SHM_CLOSED. Returns false if already closed. */
  close(): boolean {
    return this.#handle.close();
  }
}
