import {
  closedError,
  MemoryProcessTable,
  type NativeMapping,
  type OwnerIdentity,
  ownerIdentityFor,
  type ProcessCalls,
  ShmError,
  ShmSystemError,
  WaitResult,
} from '@shm/native';
import { sizeMismatch, sizeRequired } from './mapping-errors.js';
import type {
  Backend,
  MadeMapping,
  MappingRequest,
  Platform,
  RegionKind,
  WordTarget,
  WordWaits,
} from './platform.js';

// A platform with no operating system under it, for unit tests (SHM_PLATFORM=memory, or setPlatform()): regions
// are SharedArrayBuffers, named ones kept in a table of this instance; a word wait is Atomics.wait/waitAsync and a
// wake Atomics.notify, so waits work between the threads that share a buffer; owners and their liveness come from
// a MemoryProcessTable, whose "processes" a test starts and kills at will. Nothing is recorded in the registry.

/** A mapping over a SharedArrayBuffer, closed like a native one (the views go with the Region's own check). */
class MemoryMapping implements NativeMapping {
  readonly size: number;
  readonly kind = 'mmap' as const;
  #buffer: SharedArrayBuffer | undefined;

  constructor(buffer: SharedArrayBuffer) {
    this.#buffer = buffer;
    this.size = buffer.byteLength;
  }

  get buffer(): ArrayBuffer | undefined {
    // A Uint8Array or Int32Array over it works as over an external ArrayBuffer, and Atomics.wait needs it shared.
    return this.#buffer as unknown as ArrayBuffer | undefined;
  }

  get closed(): boolean {
    return this.#buffer === undefined;
  }

  close(): boolean {
    if (this.#buffer === undefined) return false;
    this.#buffer = undefined;
    return true;
  }
}

function enoent(id: string): ShmSystemError {
  return new ShmSystemError(`no memory region ${id}`, 2, 'memory_open', id, 'ENOENT');
}

function eexist(id: string): ShmSystemError {
  return new ShmSystemError(`memory region ${id} exists`, 17, 'memory_open', id, 'EEXIST');
}

const RESULTS: Record<string, WaitResult> = {
  ok: WaitResult.Woken,
  'timed-out': WaitResult.TimedOut,
  'not-equal': WaitResult.NotEqual,
};

/** Atomics' timeout: Infinity for forever (< 0 or Infinity here, as the native waits take it). */
function atomicsTimeout(ms: number): number {
  return ms >= 0 ? ms : Number.POSITIVE_INFINITY;
}

/** Options of `new MemoryPlatform()`. */
export interface MemoryPlatformOptions {
  /** The process table owners live in (default: a 'linux' table with one process started). */
  table?: MemoryProcessTable;
  /**
   * Builds the owner identity of the calling thread of the table (default: `ownerIdentityFor(table.platform,
   * calls)`, the one that platform's kernel answers consistently). Tests pass a mismatched one to show it fails.
   */
  identity?: (calls: ProcessCalls) => OwnerIdentity;
  /** What pidNamespace() answers (default 0). */
  pidNamespace?: number;
}

/** The in-memory platform (see the top of this file). Each instance has its own names and its own process table. */
export class MemoryPlatform implements Platform {
  readonly name = 'memory' as const;
  readonly label = 'the memory platform';
  readonly namedBackend = 'posix' as const;
  readonly mapsFds = false;
  readonly removableWhileMapped = true;
  readonly wakeWakesAll = true;
  readonly kinds: Readonly<Partial<Record<Backend, RegionKind>>>;
  readonly words: WordWaits;
  /** The process table owners live in. */
  readonly table: MemoryProcessTable;
  readonly #named = new Map<string, SharedArrayBuffer>();
  readonly #identities = new Map<number, OwnerIdentity>();
  readonly #makeIdentity: (calls: ProcessCalls) => OwnerIdentity;
  readonly #pidns: number;
  #anon = 0;

  constructor(opts: MemoryPlatformOptions = {}) {
    if (opts.table === undefined) {
      this.table = new MemoryProcessTable('linux');
      this.table.startProcess();
    } else this.table = opts.table;
    const table = this.table;
    this.#makeIdentity = opts.identity ?? ((calls) => ownerIdentityFor(table.platform, calls));
    this.#pidns = opts.pidNamespace ?? 0;
    this.kinds = { memfd: this.#anonymousKind(), posix: this.#namedKind() };
    this.words = memoryWords();
  }

  /** The identity of the table's calling thread (one per thread, as each real thread has its own). */
  get identity(): OwnerIdentity {
    const tid = this.table.gettid();
    let id = this.#identities.get(tid);
    if (id === undefined) {
      id = this.#makeIdentity(this.table);
      this.#identities.set(tid, id);
    }
    return id;
  }

  pidNamespace(): number {
    return this.#pidns;
  }

  unsupported(backend: Backend): ShmError {
    return new ShmError(
      'ERR_SHM_NOT_SUPPORTED',
      `The '${backend}' backend is not available on the memory platform (it offers 'memfd' and 'posix')`,
    );
  }

  /** How many named regions exist (for tests: a removed one is gone). */
  get namedCount(): number {
    return this.#named.size;
  }

  #anonymousKind(): RegionKind {
    return {
      make: (o: MappingRequest): MadeMapping => {
        if (!o.create)
          throw new TypeError(
            'Expected the memory platform to create an anonymous region (it cannot open one by fd) for options.create but received false',
          );
        if (o.size === undefined) throw sizeRequired();
        const mapping = new MemoryMapping(new SharedArrayBuffer(o.size));
        return { mapping, backend: 'memfd', id: `memory:anon-${++this.#anon}`, created: true, record: false };
      },
      remove: () => {},
      idOf: () => undefined,
      exists: () => false,
    };
  }

  #namedKind(): RegionKind {
    const slashed = (n: string) => (n.startsWith('/') ? n : `/${n}`);
    return {
      make: (o: MappingRequest): MadeMapping => {
        if (!o.name)
          throw new TypeError('Expected a name for a memory region for options.name but received undefined');
        const id = slashed(o.name);
        let buf = this.#named.get(id);
        let created = false;
        if (buf !== undefined) {
          if (o.create && o.exclusive) throw eexist(id);
          if (o.size !== undefined && o.size > buf.byteLength) throw sizeMismatch(id, o.size, buf.byteLength);
        } else {
          if (!o.create) throw enoent(id);
          if (o.size === undefined) throw sizeRequired();
          buf = new SharedArrayBuffer(o.size);
          this.#named.set(id, buf);
          created = true;
        }
        return { mapping: new MemoryMapping(buf), backend: 'posix', id, created, name: id, record: false };
      },
      remove: (t) => {
        if (t.name === undefined) return;
        const id = slashed(t.name);
        if (!this.#named.delete(id)) throw enoent(id);
      },
      idOf: (t) => (t.name === undefined ? undefined : slashed(t.name)),
      exists: (e) => this.#named.has(e.id),
    };
  }
}

/** Atomics.waitAsync (Node 16+; not in this TypeScript lib yet). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      index: number,
      value: number,
      ms: number,
    ):
      | { async: false; value: 'not-equal' | 'timed-out' }
      | { async: true; value: Promise<'ok' | 'timed-out'> };
  }
).waitAsync;

/** Atomics.wait/waitAsync/notify on the target's Int32Array; a release() ends its async waits with ERR_SHM_CLOSED. */
function memoryWords(): WordWaits {
  const pending = new WeakMap<WordTarget, { i32: Int32Array; offsets: Set<number>; closed: boolean }>();
  return {
    wait(t, offset, expected, ms) {
      return RESULTS[Atomics.wait(t.i32, offset >> 2, expected | 0, atomicsTimeout(ms))]!;
    },
    async waitAsync(t, offset, expected, ms) {
      const i32 = t.i32; // ERR_SHM_CLOSED now if closed already
      const r = waitAsync(i32, offset >> 2, expected | 0, atomicsTimeout(ms));
      if (!r.async) return RESULTS[r.value]!;
      let p = pending.get(t);
      if (p === undefined) {
        p = { i32, offsets: new Set(), closed: false };
        pending.set(t, p);
      }
      p.offsets.add(offset);
      const v = await r.value;
      if (p.closed) throw closedError('mapping');
      return RESULTS[v]!;
    },
    wake(t, offset) {
      Atomics.notify(t.i32, offset >> 2);
    },
    attach() {},
    release(t) {
      const p = pending.get(t);
      if (p === undefined) return;
      p.closed = true;
      // Wakes every waiter of those words (other handles' too: they re-check, as after any spurious wake-up).
      for (const off of p.offsets) Atomics.notify(p.i32, off >> 2);
    },
  };
}
