import type { NativeMapping, OwnerIdentity, ShmError, WaitResult } from '@shm/native';

// The seam between @shm/core and the operating system (docs/architecture/platform.md). Everything core does that
// differs by OS goes through one Platform: which kinds of region exist and how each is made, opened and removed,
// how a thread sleeps on a word of shared memory and is woken, and who owns a lock word and whether that owner
// lives. Region, RwLock, the registry and change notification ask the platform of their region instead of
// branching on process.platform; choose-platform.ts picks the implementation at run time.

/**
 * Where a region's memory comes from. 'win32' is a named pagefile-backed section (Windows only); on Windows an
 * anonymous region is one too, with an unguessable name.
 */
export type Backend = 'memfd' | 'posix' | 'file' | 'sysv' | 'win32';

/** The implementations: one per operating system, and one in memory for unit tests. */
export type PlatformName = 'linux' | 'darwin' | 'win32' | 'memory';

/**
 * The memory a word wait sleeps on. A Region is one; the platform never needs more of it, which keeps the
 * platform modules free of imports from region.ts.
 */
export interface WordTarget {
  /** Names the memory in errors. */
  readonly id: string;
  /** The native mapping (throws ERR_SHM_CLOSED once closed). */
  readonly mapping: NativeMapping;
  /** An Int32Array over the whole mapping (throws ERR_SHM_CLOSED once closed). */
  readonly i32: Int32Array;
  /** True once closed. */
  readonly closed: boolean;
}

/**
 * Sleeping on a 32-bit word of shared memory and waking its sleepers. Callers keep the protocol: they count
 * themselves as waiters before checking the word, change the word before waking, and wake only when such a count
 * is above zero. Offsets are bytes, 4-aligned; `ms` is a timeout in milliseconds (Infinity: forever).
 */
export interface WordWaits {
  /** Blocks while the word at `offset` equals `expected`, up to `ms`. */
  wait(target: WordTarget, offset: number, expected: number, ms: number): WaitResult;
  /**
   * The same without blocking the event loop and without occupying a libuv pool thread
   * (docs/architecture/waiter.md). Rejects with ERR_SHM_CLOSED if the target is closed before the wait ends.
   */
  waitAsync(target: WordTarget, offset: number, expected: number, ms: number): Promise<WaitResult>;
  /** Wakes the sleepers on the word (all of them, or one where `wakeWakesAll` is false). */
  wake(target: WordTarget, offset: number): void;
  /**
   * Called once for each new region, before any wait: `identity` is a string every process mapping the same
   * object derives alike (Windows names its wake-up events after it). A no-op where words need no objects.
   */
  attach(target: WordTarget, identity: string): void;
  /** Releases what waits hold for a target that is closing (Windows: its events). */
  release(target: WordTarget): void;
}

/** What a region kind reads of a create/open request (RegionOptions, with the mode already defaulted). */
export interface MappingRequest {
  /** The backend asked for. */
  backend: Backend;
  name?: string | undefined;
  path?: string | undefined;
  key?: number | undefined;
  shmid?: number | undefined;
  fd?: number | undefined;
  size?: number | undefined;
  create?: boolean | undefined;
  exclusive?: boolean | undefined;
  /** Permission bits for a new object. */
  mode: number;
  readonly?: boolean | undefined;
  populate?: boolean | undefined;
  seal?: boolean | undefined;
  keepFd?: boolean | undefined;
}

/** What a region kind made or opened: the mapping, and what the Region shows and records of it. */
export interface MadeMapping {
  mapping: NativeMapping;
  /** The backend it really is (Windows serves 'memfd' with a 'win32' section). */
  backend: Backend;
  /** Human-readable identity: '/name', a path, 'key 0x...', 'memfd:...' or a section name. */
  id: string;
  /** True if this call created the object. */
  created: boolean;
  name?: string | undefined;
  key?: number | undefined;
  shmid?: number | undefined;
  fd?: number | undefined;
  /** Whether a created object goes into the registry (anonymous ones cannot leak and do not). */
  record: boolean;
  /** See WordWaits.attach (default: `id`). */
  waitIdentity?: string | undefined;
}

/** What identifies an object for removal (Region.remove's target, a registry entry or one of its parts). */
export interface RemoveTarget {
  name?: string | undefined;
  path?: string | undefined;
  key?: number | undefined;
  shmid?: number | undefined;
}

/** One kind of region on one platform: make or open it, remove it, and what the registry asks about it. */
export interface RegionKind {
  /** Creates (req.create; req.exclusive: fail if it exists) or opens the object and maps it. */
  make(req: MappingRequest): MadeMapping;
  /** Removes the object from the system; system errors (ENOENT...) are the caller's to judge. */
  remove(target: RemoveTarget): void;
  /** The id the registry records the object under (undefined: the target names none). */
  idOf(target: RemoveTarget): string | undefined;
  /** Whether the object a registry entry names still exists. */
  exists(entry: { id: string; key?: number | undefined; shmid?: number | undefined }): boolean;
}

/**
 * One operating system, as core sees it. Capabilities are data, so callers branch on what a platform can do
 * rather than on which platform it is.
 */
export interface Platform {
  /** Which implementation this is. */
  readonly name: PlatformName;
  /** The system's name in messages: 'Linux', 'macOS', 'Windows', 'the memory platform'. */
  readonly label: string;
  /** The region kinds this platform offers, by backend; a missing one is ERR_SHM_NOT_SUPPORTED. */
  readonly kinds: Readonly<Partial<Record<Backend, RegionKind>>>;
  /** The backend a region given only a name has ('posix', or 'win32' on Windows). */
  readonly namedBackend: Backend;
  /** Whether a region can be mapped from an fd (Region.fromFd, RegionOptions.fd) and handed to a child so. */
  readonly mapsFds: boolean;
  /** Whether a named object can be removed while processes map it (POSIX: yes; a Windows section: no). */
  readonly removableWhileMapped: boolean;
  /** Whether one wake reaches every sleeper of a word (a futex: yes; an auto-reset event wakes one). */
  readonly wakeWakesAll: boolean;
  /** Word waits and wake-ups. */
  readonly words: WordWaits;
  /** Lock owner ids and their liveness check, from one implementation (decision 0008). */
  readonly identity: OwnerIdentity;
  /** An id of the calling thread's pid namespace: owner ids are comparable only within one (0: one namespace). */
  pidNamespace(): number;
  /** The error for a backend this platform does not offer. */
  unsupported(backend: Backend): ShmError;
}
