import { unlinkSync } from 'node:fs';
import {
  checkFd,
  checkKey,
  checkMode,
  checkSize,
  closedError,
  closeFd,
  expected,
  fallocate,
  features,
  fstat,
  ftruncate,
  isMemfd,
  mapFd,
  memfdCreate,
  type NativeMapping,
  openFile,
  ShmError,
  ShmSystemError,
  shmat,
  shmget,
  shmOpen,
  shmRemove,
  shmStat,
  shmUnlink,
  sysvFlags,
  withTarget,
} from '@shm/native';
import { isExistsError } from './error-codes.js';
import { forgetCreated, recordCreated } from './registry.js';
import { checkRegionOptions, checkRemoveTarget } from './validate-args.js';
import {
  removeWin32File,
  unsupportedBackend,
  type Win32Made,
  win32File,
  win32Mapping,
  win32ObjectName,
} from './win32/region-win32.js';
import { setEventBase } from './win32/word-events.js';
import { releaseWordWaits } from './word-wait.js';

/**
 * Where a region's memory comes from. 'win32' is a named pagefile-backed section (Windows only); on Windows an
 * anonymous region is one too, with an unguessable name.
 */
export type Backend = 'memfd' | 'posix' | 'file' | 'sysv' | 'win32';

const onWindows = process.platform === 'win32';

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

let anonCounter = 0;

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

  private constructor(
    init: {
      backend: Backend;
      id: string;
      created: boolean;
      name?: string | undefined;
      key?: number | undefined;
      shmid?: number;
      fd?: number;
    },
    mapping: NativeMapping,
  ) {
    this.backend = init.backend;
    this.id = init.id;
    this.created = init.created;
    this.name = init.name;
    this.key = init.key;
    this.shmid = init.shmid ?? -1;
    this.fd = init.fd ?? -1;
    this.#mapping = mapping;
    this.size = mapping.size;
    this.#bytes = new Uint8Array(mapping.buffer!);
    this.#i32 = new Int32Array(mapping.buffer!, 0, Math.floor(mapping.size / 4));
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

  static #make(o: RegionOptions): Region {
    const backend = o.backend ?? inferBackend(o);
    const mode = checkMode(o.mode ?? 0o600);
    if (o.size !== undefined) checkSize(o.size);
    if (onWindows) return Region.#windows(o, backend);
    switch (backend) {
      case 'memfd':
        return Region.#memfd(o);
      case 'posix':
        return Region.#posix(o, mode);
      case 'file':
        return Region.#file(o, mode);
      case 'sysv':
        return Region.#sysv(o, mode);
      case 'win32':
        throw new ShmError('ERR_SHM_NOT_SUPPORTED', `The 'win32' backend is available on Windows only`);
      default:
        throw new TypeError(
          `Expected 'memfd', 'posix', 'file', 'sysv' or 'win32' for backend but received ${String(backend)}`,
        );
    }
  }

  /** Windows: named and anonymous pagefile sections, file-backed sections (win32/region-win32.ts). */
  static #windows(o: RegionOptions, backend: Backend): Region {
    let made: Win32Made;
    if (o.fd !== undefined) {
      throw new ShmError(
        'ERR_SHM_NOT_SUPPORTED',
        'Windows cannot hand a mapping over as a file descriptor: give the other process region.name and open it with Region.open({ name })',
      );
    }
    if (backend === 'win32') made = win32Mapping(o, false);
    else if (backend === 'memfd') made = win32Mapping(o, true);
    else if (backend === 'file') made = win32File(o);
    else if (backend === 'posix' || backend === 'sysv') throw unsupportedBackend(backend);
    else
      throw new TypeError(
        `Expected 'win32', 'file' or 'memfd' (anonymous) for backend on Windows but received ${String(backend)}`,
      );
    const region = new Region(
      { backend: made.backend, id: made.id, created: made.created, name: made.name },
      made.mapping,
    );
    setEventBase(region, made.identity);
    // Anonymous sections are not recorded: like a memfd, they cannot outlive their last user.
    if (made.created && backend !== 'memfd' && o.register !== false) region.#record(o);
    return region;
  }

  static #memfd(o: RegionOptions): Region {
    if (o.fd !== undefined) {
      if (!features().memfd && o.backend === 'memfd') {
        // macOS: any fd (shm_open'ed and unlinked) is accepted.
      } else if (features().memfd && !isMemfd(o.fd)) {
        throw new ShmError('ERR_SHM_BAD_FORMAT', `fd ${o.fd} is not a memfd`, { target: `fd ${o.fd}` });
      }
      const st = fstat(o.fd);
      if (o.size !== undefined && o.size > st.size) throw sizeMismatch(`fd ${o.fd}`, o.size, st.size);
      const m = mapFd(o.fd, { readonly: !!o.readonly });
      return new Region(
        { backend: 'memfd', id: `memfd:fd${o.fd}`, created: false, fd: o.keepFd ? -1 : o.fd },
        m,
      );
    }
    if (!o.create)
      throw new TypeError(
        'Expected an fd to open an anonymous (memfd) region for options.fd but received undefined',
      );
    if (o.size === undefined)
      throw new TypeError(
        'Expected a size (bytes) to create a region for options.size but received undefined',
      );
    const label = `shm-anon-${process.pid}-${++anonCounter}`;
    let fd: number;
    if (features().memfd) {
      fd = memfdCreate(label, o.size, { seal: o.seal ?? true });
    } else {
      // No memfd: an unlinked POSIX object behaves the same (anonymous, freed with its last mapping).
      fd = shmOpen(label, { create: true, exclusive: true, mode: 0o600 });
      shmUnlink(label);
      ftruncate(fd, o.size);
    }
    try {
      const m = mapFd(fd, { populate: !!o.populate });
      return new Region({ backend: 'memfd', id: `memfd:${label}`, created: true, fd }, m);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
  }

  static #openFd(
    o: RegionOptions,
    id: string,
    open: (create: boolean, exclusive: boolean) => number,
    unlink: () => void,
  ): { fd: number; created: boolean; size: number } {
    let fd = -1;
    let created = false;
    if (o.create) {
      try {
        fd = open(true, true);
        created = true;
      } catch (e) {
        if (!(ShmSystemError.isInstance(e) && isExistsError(e)) || o.exclusive) throw e;
      }
    }
    if (fd < 0) fd = open(false, false);
    try {
      if (created) {
        if (o.size === undefined)
          throw new TypeError(
            'Expected a size (bytes) to create a region for options.size but received undefined',
          );
        try {
          ftruncate(fd, o.size);
          fallocate(fd, 0, o.size);
        } catch (e) {
          unlink();
          // The native error names the fd; the caller knows the object by its name.
          throw ShmSystemError.isInstance(e) ? withTarget(e, id) : e;
        }
        return { fd, created, size: o.size };
      }
      // A creator may be between open and ftruncate: give it a moment before calling the object empty.
      let size = fstat(fd).size;
      for (let i = 0; size === 0 && i < 200; i++) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        size = fstat(fd).size;
      }
      if (size === 0) throw new ShmError('ERR_SHM_BAD_FORMAT', `${id} is empty (size 0)`, { target: id });
      if (o.size !== undefined && o.size > size) throw sizeMismatch(id, o.size, size);
      return { fd, created, size };
    } catch (e) {
      closeFd(fd);
      throw e;
    }
  }

  static #posix(o: RegionOptions, mode: number): Region {
    if (!o.name)
      throw new TypeError('Expected a name for a POSIX shm region for options.name but received undefined');
    const name = o.name.startsWith('/') ? o.name : `/${o.name}`;
    const r = Region.#openFd(
      o,
      name,
      (create, exclusive) => shmOpen(name, { create, exclusive, mode, readonly: !!o.readonly }),
      () => shmUnlink(name),
    );
    let m: NativeMapping;
    try {
      m = mapFd(r.fd, { size: r.size, readonly: !!o.readonly, populate: !!o.populate });
    } catch (e) {
      closeFd(r.fd);
      if (r.created) shmUnlink(name);
      throw e;
    }
    const region = new Region({ backend: 'posix', id: name, created: r.created, name, fd: r.fd }, m);
    if (r.created && o.register !== false) region.#record(o);
    return region;
  }

  static #file(o: RegionOptions, mode: number): Region {
    const path = o.path ?? o.name;
    if (!path)
      throw new TypeError('Expected a path for a file region for options.path but received undefined');
    const r = Region.#openFd(
      o,
      path,
      (create, exclusive) => openFile(path, { create, exclusive, mode, readonly: !!o.readonly }),
      () => unlinkSync(path),
    );
    let m: NativeMapping;
    try {
      m = mapFd(r.fd, { size: r.size, readonly: !!o.readonly, populate: !!o.populate });
    } catch (e) {
      closeFd(r.fd);
      if (r.created) unlinkSync(path);
      throw e;
    }
    const region = new Region({ backend: 'file', id: path, created: r.created, name: path, fd: r.fd }, m);
    if (r.created && o.register !== false) region.#record(o);
    return region;
  }

  static #sysv(o: RegionOptions, mode: number): Region {
    let shmid: number;
    let created = false;
    let key: number | undefined;
    if (o.shmid !== undefined) {
      shmid = o.shmid;
    } else {
      if (o.key === undefined)
        throw new TypeError(
          'Expected a key or shmid for a SysV region for options.key but received undefined',
        );
      key = checkKey(o.key);
      // shmget(IPC_PRIVATE) always makes a new segment: opening "key 0" would create one (and leak it) each time.
      if (key === 0 && !o.create)
        throw expected('a key other than 0 (IPC_PRIVATE) to open a segment', 'key', o.key, RangeError);
      const id = `key 0x${(key >>> 0).toString(16).padStart(8, '0')}`;
      shmid = -1;
      if (o.create) {
        if (o.size === undefined)
          throw new TypeError(
            'Expected a size (bytes) to create a region for options.size but received undefined',
          );
        try {
          shmid = shmget(key, o.size, sysvFlags({ mode, exclusive: true }));
          created = true;
        } catch (e) {
          if (!(ShmSystemError.isInstance(e) && e.code === 'EEXIST') || o.exclusive || key === 0) throw e;
        }
      }
      if (shmid < 0) {
        try {
          // Size 0 opens whatever size exists; a larger request is checked below with a clearer error.
          shmid = shmget(key, 1, sysvFlags({ mode: 0 }));
        } catch (e) {
          if (ShmSystemError.isInstance(e) && e.code === 'ENOENT') {
            throw Object.assign(e, { message: `${e.message}: no SysV segment with ${id}` });
          }
          throw e;
        }
      }
    }
    const st = shmStat(shmid);
    if (!created && o.size !== undefined && o.size > st.size)
      throw sizeMismatch(`shmid ${shmid}`, o.size, st.size);
    let m: NativeMapping;
    try {
      m = shmat(shmid, { readonly: !!o.readonly });
    } catch (e) {
      if (created) shmRemove(shmid);
      throw e;
    }
    const id = key !== undefined ? `key 0x${(key >>> 0).toString(16).padStart(8, '0')}` : `shmid ${shmid}`;
    const region = new Region({ backend: 'sysv', id, created, key: key ?? st.key, shmid }, m);
    if (created && o.register !== false && key !== 0) region.#record(o);
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
    releaseWordWaits(this);
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
    const backend = o.backend ?? inferBackend(o);
    try {
      if (backend === 'win32' || (onWindows && backend === 'memfd')) {
        // No unlink for a named section: it goes with its last handle.
      } else if (backend === 'posix' && o.name) shmUnlink(o.name);
      else if (backend === 'file' && (o.path ?? o.name)) {
        if (onWindows) removeWin32File((o.path ?? o.name)!);
        else unlinkSync((o.path ?? o.name)!);
      } else if (backend === 'sysv') {
        const shmid = o.shmid !== undefined && o.shmid >= 0 ? o.shmid : shmget(checkKey(o.key), 1, 0);
        shmRemove(shmid);
      }
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'ENOENT' && code !== 'EINVAL' && code !== 'EIDRM') throw e;
    }
    const id =
      backend === 'win32'
        ? o.name && win32ObjectName(o.name)
        : backend === 'posix'
          ? o.name?.startsWith('/')
            ? o.name
            : `/${o.name}`
          : backend === 'file'
            ? (o.path ?? o.name)
            : o.key !== undefined
              ? `key 0x${(o.key >>> 0).toString(16).padStart(8, '0')}`
              : `shmid ${o.shmid}`;
    if (id) forgetCreated(backend, id);
  }
}

function inferBackend(o: {
  key?: number;
  path?: string;
  name?: string;
  fd?: number;
  shmid?: number;
}): Backend {
  if (o.key !== undefined || o.shmid !== undefined) return 'sysv';
  if (o.path !== undefined) return 'file';
  if (o.name !== undefined) return onWindows ? 'win32' : 'posix';
  return 'memfd';
}

function sizeMismatch(id: string, asked: number, actual: number): ShmError {
  return new ShmError(
    'ERR_SHM_SIZE_MISMATCH',
    `${id} has ${actual} bytes but ${asked} were asked for; open it without a size, or with at most ${actual}`,
    { target: id },
  );
}
