/**
 * The exact shape of what the addon (build/Release/shm_native.node) exports. test/binding-types.test.ts keeps
 * this in step with the addon. Arguments are positional and already validated by the TypeScript wrappers.
 */

/** A mapped area. `buffer` is an external ArrayBuffer over the memory (no copy), or undefined once closed. */
export interface NativeMapping {
  readonly buffer: ArrayBuffer | undefined;
  readonly size: number;
  readonly closed: boolean;
  readonly kind: 'mmap' | 'sysv' | 'win32';
  /** Detaches `buffer` and unmaps at once (or when an in-flight async wait returns). Returns false if already closed. */
  close(): boolean;
}

/** Result of a futex wait. */
export const WaitResult = { Woken: 0, TimedOut: 1, NotEqual: 2, Interrupted: 3 } as const;
export type WaitResult = (typeof WaitResult)[keyof typeof WaitResult];

export interface FstatResult {
  size: number;
  mode: number;
  uid: number;
  gid: number;
  ino: number;
  dev: number;
  isFile: boolean;
}

export interface ShmStatResult {
  key: number;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  cuid: number;
  cpid: number;
  lpid: number;
  nattch: number;
  atime: number;
  dtime: number;
  ctime: number;
}

export interface SemStatResult {
  key: number;
  nsems: number;
  mode: number;
  uid: number;
  cuid: number;
  otime: number;
  ctime: number;
}

export interface ProcInfo {
  /** One-letter state from /proc/<id>/stat ('Z' zombie, 'X' dead, '?' unknown). */
  state: string;
  /** Start time in clock ticks since boot (0 when unknown). */
  startTime: number;
}

export interface Features {
  platform: 'linux' | 'darwin' | 'win32';
  posix?: boolean;
  sysv?: boolean;
  memfd?: boolean;
  futex?: boolean;
  ulock?: boolean;
  win32?: boolean;
}

export interface PosixBinding {
  shmOpen(name: string, oflag: number, mode: number): number;
  shmUnlink(name: string): void;
  openFile(path: string, oflag: number, mode: number): number;
  ftruncate(fd: number, size: number): void;
  fallocate(fd: number, offset: number, length: number): void;
  fstat(fd: number): FstatResult;
  closeFd(fd: number): void;
  mmap(fd: number, size: number, offset: number, readonly: boolean, populate: boolean): NativeMapping;
  fdConstants: { O_RDONLY: number; O_RDWR: number; O_CREAT: number; O_EXCL: number; O_TRUNC: number; PAGE_SIZE: number };
}

export interface MemfdBinding {
  memfdCreate(name: string, size: number, seal: boolean): number;
  memfdSeals(fd: number): number;
  memfdConstants: { F_SEAL_SHRINK: number; F_SEAL_GROW: number; F_SEAL_SEAL: number; F_SEAL_WRITE: number };
}

export interface SysvBinding {
  shmget(key: number, size: number, flags: number): number;
  shmat(shmid: number, readonly: boolean): NativeMapping;
  shmStat(shmid: number): ShmStatResult;
  shmRemove(shmid: number): void;
  semget(key: number, nsems: number, flags: number): number;
  /** Flat (num, op, flg) triples applied atomically. Returns 0, or -EAGAIN (would block / timed out). */
  semop(semid: number, ops: number[] | Int32Array, timeoutMs: number): number;
  semopAsync(semid: number, ops: number[], timeoutMs: number): Promise<number>;
  semGetVal(semid: number, num: number): number;
  semSetVal(semid: number, num: number, value: number): void;
  semGetAll(semid: number): number[];
  semStat(semid: number): SemStatResult;
  semRemove(semid: number): void;
  /** See NativeShareLiteChain. */
  ShareLiteChain: new (
    semid: number,
    exLock: Int32Array,
    exLockNb: Int32Array,
    exUnlock: Int32Array,
    shLock: Int32Array,
    shLockNb: Int32Array,
    shUnlock: Int32Array,
  ) => NativeShareLiteChain;
  /**
   * IPC::ShareLite's fetch (read_share) in one call: the shared lock per `lock`; then, when the head's shm_state
   * equals `state` and the attached segments hold the header's length, the value is copied into `dest` when it
   * fits (returns the byte count) or else into a fresh Buffer of exactly that length (returned); the shared unlock
   * unless `lock` is Held. Otherwise returns a ShareLiteStatus: Slow (lock held), WouldBlock (TryTake) or
   * UnlockLost. Throws only after releasing a lock it took: TypeError/RangeError for bad arguments or an unknown
   * chain id, ShmSystemError EBADF for a closed segment, ShmSystemError `semop` for a semop failure but EAGAIN.
   */
  shareliteFetch(chain: number, lock: ShareLiteLock, state: number, dest: Uint8Array | null): Buffer | number;
  /**
   * IPC::ShareLite's store (write_share steps 2-7) in one call: the exclusive lock per `lock`; then, when the
   * head's shm_state equals `state`, the attached segments hold `data` and the last one needed ends the chain:
   * length = 0, copy, length = data.length, ++version, and returns 0 after the exclusive unlock (unless Held).
   * Otherwise Slow with the lock held and nothing written, WouldBlock or UnlockLost; throws as shareliteFetch.
   */
  shareliteStore(chain: number, lock: ShareLiteLock, state: number, data: Uint8Array): number;
  sysvConstants: { IPC_CREAT: number; IPC_EXCL: number; IPC_NOWAIT: number; IPC_PRIVATE: number; SEM_UNDO: number };
}

/**
 * The fixed part of one IPC::ShareLite 0.17 share for shareliteFetch/shareliteStore (cpp/sysv/sharelite.cc): its
 * semaphore set, the six op tables (flat (num, op, flg) triples, applied exactly as given) and the attached
 * segments, which the caller keeps up to date with setSegments(). The hot calls take its `id`, a plain number,
 * which stops working once the object has been garbage-collected.
 */
export interface NativeShareLiteChain {
  /** The handle the hot calls take (slot and generation; never reused while this object lives). */
  readonly id: number;
  /**
   * The attached segments in chain order, head first, every one of the head's size (> 16 bytes); [] drops them.
   * The caller keeps owning (and closing) the mappings; a hot call that needs a closed one throws EBADF.
   */
  setSegments(maps: NativeMapping[]): void;
}

/** How shareliteFetch/shareliteStore lock: take and release (blocking), the same with IPC_NOWAIT, or none (held). */
export const ShareLiteLock = { Take: 0, TryTake: 1, Held: 2 } as const;
export type ShareLiteLock = (typeof ShareLiteLock)[keyof typeof ShareLiteLock];

/**
 * Non-success returns of shareliteFetch/shareliteStore. `WouldBlock`: TryTake would block; no lock was taken. `Slow`: the
 * lock is held and nothing was read or written (the chain changed or is not attached far enough, a tail must be
 * collected, or the length is negative): the caller finishes the operation and unlocks. `UnlockLost`: the
 * operation completed but the unlock found the semaphore already at 0.
 */
export const ShareLiteStatus = { WouldBlock: -1, Slow: -2, UnlockLost: -3 } as const;
export type ShareLiteStatus = (typeof ShareLiteStatus)[keyof typeof ShareLiteStatus];

export interface WaitBinding {
  futexWait(mapping: NativeMapping, offset: number, expected: number, timeoutMs: number): WaitResult;
  futexWake(mapping: NativeMapping, offset: number, count: number): number;
  futexWaitAsync(mapping: NativeMapping, offset: number, expected: number, timeoutMs: number): Promise<WaitResult>;
}

export interface ProcessBinding {
  getpid(): number;
  gettid(): number;
  pidNamespace(): number;
  procInfo(id: number): ProcInfo | null;
  kill(pid: number, signal: number): boolean;
  geteuid(): number;
}

/** How a Win32 named object is opened (win32MutexOpen, win32EventOpen). */
export const Win32OpenMode = { OpenOrCreate: 0, CreateNew: 1, OpenExisting: 2 } as const;
export type Win32OpenMode = (typeof Win32OpenMode)[keyof typeof Win32OpenMode];

/**
 * Result of a Win32 mutex acquire or event wait. `Abandoned`: the mutex is now held, but its previous owner
 * (thread or process) ended while holding it, so the state it protects may be inconsistent. `Busy`: this handle
 * already holds the mutex or is acquiring it (handles are not recursive). `Closed`: the handle was closed while
 * waiting. Events report only Signaled (0), TimedOut or Closed.
 */
export const Win32WaitResult = { Acquired: 0, Signaled: 0, TimedOut: 1, Abandoned: 2, Busy: 3, Closed: 4 } as const;
export type Win32WaitResult = 0 | 1 | 2 | 3 | 4;

/** A pagefile- or file-backed mapping, and whether it (its name, or its file) existed before the call. */
export interface Win32MappingResult {
  mapping: NativeMapping;
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
  win32MutexHeld(handle: number): boolean;
  /** CreateEventW / OpenEventW. An auto-reset event wakes one waiter per set; manual-reset stays set until reset. */
  win32EventOpen(name: string, mode: Win32OpenMode, manualReset: boolean, initialState: boolean): number;
  win32EventSet(handle: number): void;
  win32EventReset(handle: number): void;
  /** Signaled, TimedOut or Closed. */
  win32EventWait(handle: number, timeoutMs: number): Win32WaitResult;
  win32EventWaitAsync(handle: number, timeoutMs: number): Promise<Win32WaitResult>;
  /**
   * Closes a mutex or event id (false if unknown). A mutex held through it is released first; pending waits end
   * with Closed. When a thread's env goes away, its ids are closed and a mutex they hold is abandoned instead.
   */
  win32HandleClose(handle: number): boolean;
  /** How many mutex and event ids are open in this process. */
  win32OpenHandles(): number;
  win32Constants: { PAGE_SIZE: number; ALLOCATION_GRANULARITY: number };
}

export interface Binding
  extends ProcessBinding,
    Partial<PosixBinding & MemfdBinding & SysvBinding & WaitBinding & Win32Binding> {
  Mapping: Function;
  setErrorClass(ctor: Function): void;
  features: Features;
}

/** The names each platform's addon must export (checked by test/binding-types.test.ts). */
export const bindingExports = {
  common: ['Mapping', 'setErrorClass', 'features', 'getpid', 'gettid', 'pidNamespace', 'procInfo', 'kill', 'geteuid'],
  posix: ['shmOpen', 'shmUnlink', 'openFile', 'ftruncate', 'fallocate', 'fstat', 'closeFd', 'mmap', 'fdConstants'],
  linux: ['memfdCreate', 'memfdSeals', 'memfdConstants', 'futexWait', 'futexWake', 'futexWaitAsync'],
  sysv: ['shmget', 'shmat', 'shmStat', 'shmRemove', 'semget', 'semop', 'semopAsync', 'semGetVal', 'semSetVal',
    'semGetAll', 'semStat', 'semRemove', 'ShareLiteChain', 'shareliteFetch', 'shareliteStore', 'sysvConstants'],
  win32: ['win32CreateMapping', 'win32OpenMapping', 'win32MutexOpen', 'win32MutexAcquire', 'win32MutexAcquireAsync',
    'win32MutexRelease', 'win32MutexHeld', 'win32EventOpen', 'win32EventSet', 'win32EventReset', 'win32EventWait',
    'win32EventWaitAsync', 'win32HandleClose', 'win32OpenHandles', 'win32Constants'],
} as const;
