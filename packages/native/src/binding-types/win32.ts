import type { AsyncWaitStats, NativeMapping } from './common.js';

// The Windows part of the addon (cpp/win32): sections, named mutexes and events.

/** How a Win32 named object is opened (win32MutexOpen, win32EventOpen). */
export const Win32OpenMode = {
  /** Open the object, creating it if it does not exist. */
  OpenOrCreate: 0,
  /** Create the object; ERROR_ALREADY_EXISTS if it exists. */
  CreateNew: 1,
  /** Open an existing object; ERROR_FILE_NOT_FOUND if none. */
  OpenExisting: 2,
} as const;
export type Win32OpenMode = (typeof Win32OpenMode)[keyof typeof Win32OpenMode];

/**
 * Result of a Win32 mutex acquire or event wait. `Abandoned`: the mutex is now held, but its previous owner
 * (thread or process) ended while holding it, so the state it protects may be inconsistent. `Busy`: this handle
 * already holds the mutex or is acquiring it (handles are not recursive). `Closed`: the handle was closed while
 * waiting. Events report only Signaled (0), TimedOut or Closed.
 */
export const Win32WaitResult = {
  /** The mutex is held now. */
  Acquired: 0,
  /** The event was set (same value as Acquired). */
  Signaled: 0,
  /** The timeout ran out. */
  TimedOut: 1,
  /** The mutex is held now, but its previous owner ended while holding it. */
  Abandoned: 2,
  /** This handle already holds the mutex or is acquiring it. */
  Busy: 3,
  /** The handle was closed while waiting. */
  Closed: 4,
} as const;
export type Win32WaitResult = 0 | 1 | 2 | 3 | 4;

/** A pagefile- or file-backed mapping, and whether it (its name, or its file) existed before the call. */
export interface Win32MappingResult {
  /** The view of the whole section. */
  mapping: NativeMapping;
  /** True if the name (or the file) existed before this call. */
  existed: boolean;
}

/**
 * Windows only (cpp/win32). Names are used as given ("Local\\x", "Global\\x" or a bare name); '' means unnamed.
 * Mutexes and events are small integer ids valid in the whole process (every call checks them; a closed or
 * unknown id throws ERROR_INVALID_HANDLE). Timeouts are milliseconds, < 0 = forever. Failures throw
 * ShmSystemError with the Win32 error name as `code` and GetLastError() as `errno`.
 */
export interface Win32Binding {
  /**
   * CreateFileMappingW + MapViewOfFile of the whole section. `path` '' = pagefile-backed (size > 0), else backed by
   * that file (opened or created, grown to `size`; size 0 = the file's size). `exclusive` fails with
   * ERROR_ALREADY_EXISTS if the name or the file exists. An existing mapping keeps its size, reported as
   * `mapping.size` (rounded up to whole pages under Wine).
   */
  win32CreateMapping(name: string, size: number, path: string, exclusive: boolean): Win32MappingResult;
  /** OpenFileMappingW + MapViewOfFile: ERROR_FILE_NOT_FOUND if no process holds a mapping of that name. */
  win32OpenMapping(name: string): NativeMapping;
  /** A named mutex with its own owner thread: ownership belongs to the handle, not to the calling thread. */
  win32MutexOpen(name: string, mode: Win32OpenMode): number;
  /** Blocks the calling thread: Acquired, TimedOut, Abandoned (held; the previous owner died), Busy or Closed. */
  win32MutexAcquire(handle: number, timeoutMs: number): Win32WaitResult;
  /** The same without blocking the event loop (one libuv pool thread waits). */
  win32MutexAcquireAsync(handle: number, timeoutMs: number): Promise<Win32WaitResult>;
  /** ERROR_NOT_OWNER unless this handle holds the mutex. */
  win32MutexRelease(handle: number): void;
  /** Whether this handle holds the mutex. */
  win32MutexHeld(handle: number): boolean;
  /** CreateEventW / OpenEventW. An auto-reset event wakes one waiter per set; manual-reset stays set until reset. */
  win32EventOpen(name: string, mode: Win32OpenMode, manualReset: boolean, initialState: boolean): number;
  /** `SetEvent`. */
  win32EventSet(handle: number): void;
  /** `ResetEvent`. */
  win32EventReset(handle: number): void;
  /** Signaled, TimedOut or Closed. */
  win32EventWait(handle: number, timeoutMs: number): Win32WaitResult;
  /** `win32EventWait` on the system's wait threads (RegisterWaitForSingleObject), never the libuv pool. */
  win32EventWaitAsync(handle: number, timeoutMs: number): Promise<Win32WaitResult>;
  /** This env's async waits (event waits go to the system's wait threads: `threads` is 0). */
  asyncWaitStats(): AsyncWaitStats;
  /**
   * Closes a mutex or event id (false if unknown). A mutex held through it is released first; pending waits end
   * with Closed. When a thread's env goes away, its ids are closed and a mutex they hold is abandoned instead.
   */
  win32HandleClose(handle: number): boolean;
  /** How many mutex and event ids are open in this process. */
  win32OpenHandles(): number;
  /** The page size and the allocation granularity (the alignment of mapping offsets), in bytes. */
  win32Constants: { PAGE_SIZE: number; ALLOCATION_GRANULARITY: number };
}

/** Exported by the Windows build only. */
export const win32Exports = [
  'win32CreateMapping',
  'win32OpenMapping',
  'win32MutexOpen',
  'win32MutexAcquire',
  'win32MutexAcquireAsync',
  'win32MutexRelease',
  'win32MutexHeld',
  'win32EventOpen',
  'win32EventSet',
  'win32EventReset',
  'win32EventWait',
  'win32EventWaitAsync',
  'asyncWaitStats',
  'win32HandleClose',
  'win32OpenHandles',
  'win32Constants',
] as const;
