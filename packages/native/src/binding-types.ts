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
  semop(semid: number, ops: number[], timeoutMs: number): number;
  semopAsync(semid: number, ops: number[], timeoutMs: number): Promise<number>;
  semGetVal(semid: number, num: number): number;
  semSetVal(semid: number, num: number, value: number): void;
  semGetAll(semid: number): number[];
  semStat(semid: number): SemStatResult;
  semRemove(semid: number): void;
  sysvConstants: { IPC_CREAT: number; IPC_EXCL: number; IPC_NOWAIT: number; IPC_PRIVATE: number; SEM_UNDO: number };
}

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

/** Windows only (see cpp/win32): named and anonymous file mappings and named mutexes. */
export interface Win32Binding {
  win32CreateMapping(name: string, size: number, filePath: string, openExisting: boolean): NativeMapping;
  win32OpenMapping(name: string): NativeMapping;
  win32MutexCreate(name: string): number;
  win32MutexAcquire(handle: number, timeoutMs: number): number;
  win32MutexAcquireAsync(handle: number, timeoutMs: number): Promise<number>;
  win32MutexRelease(handle: number): void;
  win32CloseHandle(handle: number): void;
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
    'semGetAll', 'semStat', 'semRemove', 'sysvConstants'],
} as const;
