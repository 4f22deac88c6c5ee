import {
  checkFd,
  checkMode,
  checkSize,
  closedError,
  closeFd,
  type NativeMapping,
  ShmError,
} from '@shm/native';
import { currentPlatform } from './platform/choose-platform.js';
import type { Backend, MadeMapping, Platform } from './platform/platform.js';
import { forgetCreated, recordCreated } from './registry.js';
import { checkRegionOptions, checkRemoveTarget } from './validate-args.js';

export type { Backend } from './platform/platform.js';

/** Where a region lives and how to create or open it (`Region.create`, `Region.open`, `Region.fromFd`; also the base of `StoreOptions`). */
export interface RegionOptions {
  /**
   * Default: 'sysv' with a key, 'file' with a path, 'posix' with a name ('win32' on Windows), 'memfd' with neither
   * (or an fd; on Windows an anonymous 'win32' section).
   */
  backend?: Backend;
  /**
   * POSIX shm name ('/name' or 'name'). On Windows the section 'Local\shm-<name>' (a leading '/' is dropped), or a
   * full object name starting with 'Local\' or 'Global\'.
   */
  name?: string;
  /** File path (backend 'file'). */
  path?: string;
  /** SysV key. */
  key?: number;
  /** SysV segment id (open only). */
  shmid?: number;
  /** An fd to map (an inherited memfd, for example). The region takes ownership and closes it. */
  fd?: number;
  /** Bytes. Required to create; when opening, the existing size is used and a larger request is an error. */
  size?: number;
  /** Create if missing. */
  create?: boolean;
  /** Create, failing with EEXIST if it exists. */
  exclusive?: boolean;
  /** Permission bits for a new object. Default 0o600 (owner only). */
  mode?: number;
  /** Map read-only (for inspection: writing through a view would crash the process). Default false. */
  readonly?: boolean;
  /** Fault every page in at creation (faster first writes, slower creation). */
  populate?: boolean;
  /** A label recorded in the registry (`shm ls` shows it). */
  tag?: string;
  /** Recorded in the registry: a persistent object is kept by `cleanup()` even after its creator exits. */
  persistent?: boolean;
  /** Record a created named object in the registry (default true). */
  register?: boolean;
  /** memfd only: seal against shrink/grow (default true). */
  seal?: boolean;
  /** With `fd`: leave the fd open on close() (it belongs to someone else, e.g. the main thread). */
  keepFd?: boolean;
}

/**
 * The platform a region was made with (its kind, word waits and owner identity): for word-wait.ts, rw-lock.ts
 * and the registry, not public.
 */
// Set by Region's static block (it reads a private field); declared first so the block finds it initialized.
export let platformOf: (region: Region) => Platform;

/**
 * A mapped area from any backend. `bytes`/`i32` are views over the shared memory itself (no copy). After
 * close(), every access through the region throws ERR_SHM_CLOSED and the views have length 0.
 */
export class Region {
  /** Where the memory comes from. */
  readonly backend: Backend;
  /** Human-readable identity: '/name', a path, 'key 0x...' or 'memfd:...'. */
  readonly id: string;
  /** Bytes mapped (for an opened object: its real size). */
  readonly size: number;
  /** True if this call created the object. */
  readonly created: boolean;
  /** The POSIX shm name ('/name') or the file path; undefined for SysV and memfd. */
  readonly name: string | undefined;
  /** The SysV key; undefined for other backends. */
  readonly key: number | undefined;
  /** The SysV segment id, or -1 for other backends. */
  readonly shmid: number;
  /** The fd (memfd, posix, file) or -1. Children can receive it through stdio (memfd/posix/file). */
  readonly fd: number;
  #mapping: NativeMapping;
  #bytes: Uint8Array;
  #i32: Int32Array;
  #closed = false;
  readonly #platform: Platform;

  static {
    platformOf = (r) => r.#platform;
  }

  private constructor(made: MadeMapping, platform: Platform) {
    this.backend = made.backend;
    this.id = made.id;
    this.created = made.created;
    this.name = made.name;
    this.key = made.key;
    this.shmid = made.shmid ?? -1;
    this.fd = made.fd ?? -1;
    this.#mapping = made.mapping;
    this.#platform = platform;
    this.size = made.mapping.size;
    this.#bytes = new Uint8Array(made.mapping.buffer!);
    this.#i32 = new Int32Array(made.mapping.buffer!, 0, Math.floor(made.mapping.size / 4));
  }

  /** Creates the object (or opens it if it exists and `exclusive` is not set). */
  static create(opts: RegionOptions): Region {
    checkRegionOptions(opts);
    return Region.#make({ ...opts, create: true });
  }

  /** Opens an existing object; ENOENT if it does not exist. */
  static open(opts: RegionOptions): Region {
    checkRegionOptions(opts);
    return Region.#make({ ...opts, create: false, exclusive: false });
  }

  /** Maps an fd this process received (for example a memfd in a stdio slot). */
  static fromFd(fd: number, opts: Omit<RegionOptions, 'fd'> = {}): Region {
    checkFd(fd);
    checkRegionOptions(opts);
    return Region.#make({ ...opts, fd, backend: opts.backend ?? 'memfd' });
  }

  /** Looks the backend up in this thread's platform (platform/*.ts) and maps what its region kind makes. */
  static #make(o: RegionOptions): Region {
    const p = currentPlatform();
    const backend = o.backend ?? inferBackend(o, p);
    const mode = checkMode(o.mode ?? 0o600);
    if (o.size !== undefined) checkSize(o.size);
    if (o.fd !== undefined && !p.mapsFds) {
      throw new ShmError(
        'ERR_SHM_NOT_SUPPORTED',
        `${p.label} cannot hand a mapping over as a file descriptor: give the other process region.name and open it with Region.open({ name })`,
      );
    }
    const kind = p.kinds[backend];
    if (kind === undefined) throw p.unsupported(backend);
    const made = kind.make({ ...o, backend, mode });
    const region = new Region(made, p);
    p.words.attach(region, made.waitIdentity ?? made.id);
    if (made.record && o.register !== false) region.#record(o);
    return region;
  }

  #record(o: RegionOptions) {
    recordCreated({
      backend: this.backend,
      id: this.id,
      name: this.name,
      key: this.key,
      shmid: this.shmid >= 0 ? this.shmid : undefined,
      size: this.size,
      ownerPid: process.pid,
      createdAt: Date.now(),
      tag: o.tag,
      persistent: !!o.persistent,
    });
  }

  /** True once `close()` (or `destroy()`) ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The native mapping (for futex waits on words of this region). */
  get mapping(): NativeMapping {
    if (this.#closed) throw closedError(`Region ${this.id}`);
    return this.#mapping;
  }

  /** The mapped memory as an ArrayBuffer (no copy). ERR_SHM_CLOSED after close(). */
  get buffer(): ArrayBuffer {
    if (this.#closed) throw closedError(`Region ${this.id}`);
    return this.#mapping.buffer!;
  }

  /** A byte view over the whole region (shared memory, no copy). */
  get bytes(): Uint8Array {
    if (this.#closed) throw closedError(`Region ${this.id}`);
    return this.#bytes;
  }

  /** An Int32Array over the whole region, for Atomics. */
  get i32(): Int32Array {
    if (this.#closed) throw closedError(`Region ${this.id}`);
    return this.#i32;
  }

  /** Unmaps (and closes the fd). The object itself stays (see destroy()). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#platform.words.release(this);
    this.#mapping.close();
    if (this.fd >= 0) {
      try {
        closeFd(this.fd);
      } catch {
        /* already closed by its owner */
      }
    }
  }

  /**
   * Closes and removes the object from the system (unlink / IPC_RMID) and from the registry. On Windows a 'win32'
   * section cannot be removed: it vanishes when the other processes holding it close it too.
   */
  destroy(): void {
    this.close();
    Region.remove(this);
  }

  /** Removes a named object without mapping it. Missing objects are ignored. */
  static remove(o: Pick<RegionOptions, 'backend' | 'name' | 'path' | 'key'> & { shmid?: number }): void {
    checkRemoveTarget(o);
    const p = currentPlatform();
    const backend = o.backend ?? inferBackend(o, p);
    const kind = p.kinds[backend];
    // A backend no platform can remove anything of ('win32' on POSIX, where it never existed) is a no-op.
    if (kind === undefined) {
      if (backend === 'win32') return;
      throw p.unsupported(backend);
    }
    try {
      kind.remove(o);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'ENOENT' && code !== 'EINVAL' && code !== 'EIDRM') throw e;
    }
    const id = kind.idOf(o);
    if (id) forgetCreated(backend, id);
  }
}

function inferBackend(
  o: { key?: number; path?: string; name?: string; fd?: number; shmid?: number },
  p: Platform,
): Backend {
  if (o.key !== undefined || o.shmid !== undefined) return 'sysv';
  if (o.path !== undefined) return 'file';
  if (o.name !== undefined) return p.namedBackend;
  return 'memfd';
}
