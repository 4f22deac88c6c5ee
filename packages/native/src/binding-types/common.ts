// What every platform's addon exports: the mapping object, the word-wait result codes, process identity and
// the build's features. binding-types/index.ts assembles the whole Binding from this file and one per directory.

/** A mapped area. `buffer` is an external ArrayBuffer over the memory (no copy), or undefined once closed. */
export interface NativeMapping {
  /** The memory itself as an external ArrayBuffer (no copy); `undefined` once closed. */
  readonly buffer: ArrayBuffer | undefined;
  /** Bytes mapped. */
  readonly size: number;
  /** True once `close()` ran (or the GC finalizer unmapped it). */
  readonly closed: boolean;
  /** How it was mapped: `mmap` (memfd, POSIX shm, file), `sysv` (shmat) or `win32` (MapViewOfFile). */
  readonly kind: 'mmap' | 'sysv' | 'win32';
  /** Detaches `buffer` and unmaps at once (or when an in-flight async wait returns). Returns false if already closed. */
  close(): boolean;
}

/** Result of a futex wait. */
export const WaitResult = {
  /** A waker woke this waiter (or a spurious wake-up: re-check the word). */
  Woken: 0,
  /** The timeout ran out. */
  TimedOut: 1,
  /** The word did not hold the expected value, so the call did not sleep. */
  NotEqual: 2,
  /** A signal interrupted the wait. */
  Interrupted: 3,
} as const;
export type WaitResult = (typeof WaitResult)[keyof typeof WaitResult];

/** What the addon knows about a process or thread id (from /proc/<id>/stat on Linux). */
export interface ProcInfo {
  /** One-letter state from /proc/<id>/stat ('Z' zombie, 'X' dead, '?' unknown). */
  state: string;
  /** Start time in clock ticks since boot (0 when unknown). */
  startTime: number;
}

/** What this platform's addon build offers. */
export interface Features {
  /** The platform the addon was built for. */
  platform: 'linux' | 'darwin' | 'win32';
  /** POSIX shm (`shm_open`), files and `mmap`. */
  posix?: boolean;
  /** SysV shared memory and semaphores. */
  sysv?: boolean;
  /** `memfd_create` (Linux). */
  memfd?: boolean;
  /** Cross-process waits on a mapped word (`futexWait`/`futexWake`). */
  futex?: boolean;
  /** macOS `__ulock_wait`/`__ulock_wake`. */
  ulock?: boolean;
  /** Windows file mappings, named mutexes and events. */
  win32?: boolean;
}

/** What `asyncWaitStats()` reports (docs/architecture/waiter.md). */
export interface AsyncWaitStats {
  /**
   * `futex_waitv` (Linux 5.16+), `thread` (one thread per wait: macOS, older Linux, SHM_WAITER=thread) or
   * `RegisterWaitForSingleObject` (Windows).
   */
  backend: 'futex_waitv' | 'thread' | 'RegisterWaitForSingleObject';
  /** Waiter threads running now (futex_waitv: one per 127 concurrent waits; thread: one per wait). */
  threads: number;
  /** Async waits of this env not yet settled. */
  pending: number;
}

/** Process and thread identity, for lock recovery. */
export interface ProcessBinding {
  /** This process's id. */
  getpid(): number;
  /** This thread's system-wide id. */
  gettid(): number;
  /** The pid namespace's inode (Linux), 0 elsewhere. */
  pidNamespace(): number;
  /** State and start time of a task, or null if no such task. */
  procInfo(id: number): ProcInfo | null;
  /** `kill(pid, signal)`; false if the process does not exist. */
  kill(pid: number, signal: number): boolean;
  /** The effective user id. */
  geteuid(): number;
}

/** Exported on every platform. */
export const commonExports = [
  'Mapping',
  'setErrorClass',
  'features',
  'getpid',
  'gettid',
  'pidNamespace',
  'procInfo',
  'kill',
  'geteuid',
] as const;
