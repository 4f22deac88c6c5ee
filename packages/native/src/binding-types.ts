/**
 * The exact shape of what the addon (build/Release/shm_native.node) exports. test/binding-types.test.ts keeps
 * this in step with the addon. Arguments are positional and already validated by the TypeScript wrappers.
 */

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

/** What `fstat(2)` reports about an fd. */
export interface FstatResult {
  /** Size in bytes (st_size). */
  size: number;
  /** Permission and type bits (st_mode). */
  mode: number;
  /** Owner's user id. */
  uid: number;
  /** Owner's group id. */
  gid: number;
  /** Inode number. */
  ino: number;
  /** Device number. */
  dev: number;
  /** True for a regular file (memfds and /dev/shm objects are regular files too). */
  isFile: boolean;
}

/** What `shmctl(IPC_STAT)` reports about a SysV segment. */
export interface ShmStatResult {
  /** The segment's key (0 for IPC_PRIVATE). */
  key: number;
  /** Size in bytes (shm_segsz). */
  size: number;
  /** Permission bits. */
  mode: number;
  /** Owner's user id. */
  uid: number;
  /** Owner's group id. */
  gid: number;
  /** Creator's user id. */
  cuid: number;
  /** Creator's pid. */
  cpid: number;
  /** Pid of the last shmat/shmdt. */
  lpid: number;
  /** Number of current attachments. */
  nattch: number;
  /** Last attach, seconds since the epoch. */
  atime: number;
  /** Last detach, seconds since the epoch. */
  dtime: number;
  /** Last change, seconds since the epoch. */
  ctime: number;
}

/** What `semctl(IPC_STAT)` reports about a SysV semaphore set. */
export interface SemStatResult {
  /** The set's key (0 for IPC_PRIVATE). */
  key: number;
  /** Number of semaphores in the set. */
  nsems: number;
  /** Permission bits. */
  mode: number;
  /** Owner's user id. */
  uid: number;
  /** Creator's user id. */
  cuid: number;
  /** Last semop, seconds since the epoch. */
  otime: number;
  /** Last change, seconds since the epoch. */
  ctime: number;
}

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

/** The POSIX part of the raw addon (not on Windows). Use the validated wrappers (`shmOpen`, `mapFd`...). */
export interface PosixBinding {
  /** `shm_open(name, oflag, mode)`: an fd. */
  shmOpen(name: string, oflag: number, mode: number): number;
  /** `shm_unlink(name)`. */
  shmUnlink(name: string): void;
  /** `open(path, oflag, mode)` of a regular file: an fd. */
  openFile(path: string, oflag: number, mode: number): number;
  /** `ftruncate(fd, size)`. */
  ftruncate(fd: number, size: number): void;
  /** `posix_fallocate(fd, offset, length)`: ENOSPC now rather than SIGBUS later. */
  fallocate(fd: number, offset: number, length: number): void;
  /** `fstat(fd)`. */
  fstat(fd: number): FstatResult;
  /** `close(fd)`. */
  closeFd(fd: number): void;
  /** `mmap(MAP_SHARED)` of `size` bytes of `fd` from `offset`. */
  mmap(fd: number, size: number, offset: number, readonly: boolean, populate: boolean): NativeMapping;
  /** The C values of `O_RDONLY`, `O_RDWR`, `O_CREAT`, `O_EXCL`, `O_TRUNC`, and the page size in bytes. */
  fdConstants: {
    O_RDONLY: number;
    O_RDWR: number;
    O_CREAT: number;
    O_EXCL: number;
    O_TRUNC: number;
    PAGE_SIZE: number;
  };
}

/** The memfd part of the raw addon (Linux). */
export interface MemfdBinding {
  /** `memfd_create` + `ftruncate` + `posix_fallocate`, sealed unless `seal` is false: an fd. */
  memfdCreate(name: string, size: number, seal: boolean): number;
  /** `fcntl(F_GET_SEALS)`: the seal bits of `fd`. */
  memfdSeals(fd: number): number;
  /** The C values of the `F_SEAL_*` bits. */
  memfdConstants: { F_SEAL_SHRINK: number; F_SEAL_GROW: number; F_SEAL_SEAL: number; F_SEAL_WRITE: number };
}

/** The SysV part of the raw addon (not on Windows). Use the validated wrappers (`shmget`, `semop`...). */
export interface SysvBinding {
  /** `shmget(key, size, flags)`: a shmid. */
  shmget(key: number, size: number, flags: number): number;
  /** `shmat(shmid)`; `close()` of the mapping is `shmdt`. */
  shmat(shmid: number, readonly: boolean): NativeMapping;
  /** `shmctl(IPC_STAT)`. */
  shmStat(shmid: number): ShmStatResult;
  /** `shmctl(IPC_RMID)`. */
  shmRemove(shmid: number): void;
  /** `semget(key, nsems, flags)`: a semid. */
  semget(key: number, nsems: number, flags: number): number;
  /** Flat (num, op, flg) triples applied atomically. Returns 0, or -EAGAIN (would block / timed out). */
  semop(semid: number, ops: number[] | Int32Array, timeoutMs: number): number;
  /**
   * Applies `ops` atomically on a thread of its own (never a libuv pool thread), waiting up to `timeoutMs` (< 0:
   * forever), then calls `done(null, 0)` (applied), `done(null, -EAGAIN)` (would block / timed out) or
   * `done(error)`. `cancel()` returns true when `done` will not be called (a semop that succeeds meanwhile is
   * taken back), false when it already ran. A pending wait keeps the event loop alive; a cancelled one does not.
   */
  semopWait(
    semid: number,
    ops: number[] | Int32Array,
    timeoutMs: number,
    done: (err: Error | null, rc: number) => void,
  ): { cancel(): boolean };
  /** See NativeSemTables. */
  SemTables: new (
    semid: number,
    tables: Int32Array[],
  ) => NativeSemTables;
  /** Applies table `index` of a NativeSemTables (by its id) as `semop` does: 0 or -EAGAIN; throws otherwise. */
  semApply(tables: number, index: number, timeoutMs: number): number;
  /**
   * See NativeGuardedCopy. `checks` (seg, offset, value) triples; `count` empty or (seg, offset); `pieces` (seg,
   * offset, length) triples; `before`/`after` (seg, offset, op, value) quadruples (op 0 set, 1 add, 2 the count).
   */
  GuardedCopy: new (
    tables: number,
    maps: NativeMapping[],
    write: boolean,
    checks: Int32Array,
    count: Int32Array,
    pieces: Int32Array,
    before: Int32Array,
    after: Int32Array,
  ) => NativeGuardedCopy;
  /**
   * Runs a NativeGuardedCopy (by its id) under tables `lock` and `unlock` of its SemTables (-1: none): the byte
   * count, or -1 (the lock would block), -2 (a check failed: the lock is held), -3 (done, the unlock found EAGAIN).
   */
  guardedCopy(plan: number, lock: number, unlock: number, data: Uint8Array): number;
  /** `semctl(GETVAL)`. */
  semGetVal(semid: number, num: number): number;
  /** `semctl(SETVAL)`. */
  semSetVal(semid: number, num: number, value: number): void;
  /** `semctl(GETALL)`. */
  semGetAll(semid: number): number[];
  /** `semctl(IPC_STAT)`. */
  semStat(semid: number): SemStatResult;
  /** `semctl(IPC_RMID)`. */
  semRemove(semid: number): void;
  /** The C values of `IPC_CREAT`, `IPC_EXCL`, `IPC_NOWAIT`, `IPC_PRIVATE` and `SEM_UNDO`. */
  sysvConstants: {
    IPC_CREAT: number;
    IPC_EXCL: number;
    IPC_NOWAIT: number;
    IPC_PRIVATE: number;
    SEM_UNDO: number;
  };
}

/**
 * The semop tables of one semaphore set (cpp/sysv/sem_table.cc), read once and applied with `semApply(id, index,
 * timeoutMs)`: three numbers per call, for callers that lock and unlock on every operation. The `id` stops
 * working once the object has been garbage-collected.
 */
export interface NativeSemTables {
  /** The handle semApply takes (slot and generation; never reused while this object lives). */
  readonly id: number;
}

/**
 * A copy plan of cpp/sysv/guarded_copy.cc: segments, word checks, the pieces to copy and word writes, read and
 * bounds-checked once, then run with `guardedCopy(id, lock, unlock, data)`. The `id` stops working once the object
 * has been garbage-collected.
 */
export interface NativeGuardedCopy {
  /** The handle guardedCopy takes (slot and generation; never reused while this object lives). */
  readonly id: number;
}

/** Cross-process waits on a 32-bit word of a mapping (Linux futex, macOS ulock). */
export interface WaitBinding {
  /** Sleeps while the word at `offset` equals `expected`, up to `timeoutMs` (< 0: forever). */
  futexWait(mapping: NativeMapping, offset: number, expected: number, timeoutMs: number): WaitResult;
  /** Wakes up to `count` waiters (<= 0: all); returns how many woke. */
  futexWake(mapping: NativeMapping, offset: number, count: number): number;
  /** `futexWait` on a libuv pool thread. */
  futexWaitAsync(
    mapping: NativeMapping,
    offset: number,
    expected: number,
    timeoutMs: number,
  ): Promise<WaitResult>;
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
  /** `win32EventWait` on a libuv pool thread. */
  win32EventWaitAsync(handle: number, timeoutMs: number): Promise<Win32WaitResult>;
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

/**
 * Everything the addon exports, as `loadBinding()` returns it: raw, positional and unvalidated; parts a platform
 * lacks are undefined. Each function has a validated wrapper exported by this package under the same name
 * (`mapFd` for `mmap`, `Win32Mutex`/`Win32Event` for the `win32Mutex*`/`win32Event*` ids): use those.
 */
export interface Binding
  extends ProcessBinding,
    Partial<PosixBinding & MemfdBinding & SysvBinding & WaitBinding & Win32Binding> {
  /** The native class behind every `NativeMapping`. */
  Mapping: Function;
  /** Hands the addon the error class it throws (`ShmSystemError`); called once at load. */
  setErrorClass(ctor: Function): void;
  /** What this build offers. */
  features: Features;
}

/** The names each platform's addon must export (checked by test/binding-types.test.ts). */
export const bindingExports = {
  /** Exported on every platform. */
  common: [
    'Mapping',
    'setErrorClass',
    'features',
    'getpid',
    'gettid',
    'pidNamespace',
    'procInfo',
    'kill',
    'geteuid',
  ],
  /** Exported where POSIX mappings exist (Linux, macOS). */
  posix: [
    'shmOpen',
    'shmUnlink',
    'openFile',
    'ftruncate',
    'fallocate',
    'fstat',
    'closeFd',
    'mmap',
    'fdConstants',
  ],
  /** Exported on Linux only (memfd, futex). */
  linux: ['memfdCreate', 'memfdSeals', 'memfdConstants', 'futexWait', 'futexWake', 'futexWaitAsync'],
  /** Exported where SysV IPC exists (Linux, macOS). */
  sysv: [
    'shmget',
    'shmat',
    'shmStat',
    'shmRemove',
    'semget',
    'semop',
    'semopWait',
    'SemTables',
    'semApply',
    'GuardedCopy',
    'guardedCopy',
    'semGetVal',
    'semSetVal',
    'semGetAll',
    'semStat',
    'semRemove',
    'sysvConstants',
  ],
  /** Exported by the Windows build only. */
  win32: [
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
    'win32HandleClose',
    'win32OpenHandles',
    'win32Constants',
  ],
} as const;
