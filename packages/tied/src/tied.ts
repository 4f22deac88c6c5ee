import { type ChangeIterator, expected, LockStatus, ShmError } from '@shm/core';
import { checkFunction, checkOptionsObject, checkTimeout } from './check-args.js';
import { releaseRefs } from './release-refs.js';
import { isAnonymousId } from './tie-options.js';
import * as watch from './tied-watch.js';
import type { VarNode } from './var-node.js';

function timeout(node: VarNode, mode: 'exclusive' | 'shared', ms: number): ShmError {
  return node.store.lock.timeoutError(mode, ms);
}

/**
 * The control object of a tied variable (what Perl's `tied` returns): locks that group several accesses, the
 * handle to give an anonymous variable to another process, debug() and remove().
 *
 * Locks are per variable and pseudo-nested as in IPC::Shm: asking for a lock this process already holds returns
 * false instead of deadlocking, so `const mine = t.writeLock(); ...; if (mine) t.unlock();` nests safely.
 * A nested variable (cfg.db) has its own lock: tied(cfg).writeLock() does not lock cfg.db.
 */
export class Tied {
  readonly #node: VarNode;

  /** @internal */
  constructor(node: VarNode) {
    this.#node = node;
  }

  /** The name given to tie(), or undefined for an anonymous or nested variable. */
  get name(): string | undefined {
    return this.#node.name;
  }

  /** 'hash', 'array' or 'scalar'. */
  get kind(): 'hash' | 'array' | 'scalar' {
    return this.#node.kind;
  }

  /** The namespace: the prefix of every segment of this variable (default 'shareable'). */
  get namespace(): string {
    return this.#node.space.namespace;
  }

  /** True for a variable without a name (tie() without one, or a nested object or array). */
  get anonymous(): boolean {
    return isAnonymousId(this.#node.id);
  }

  /**
   * Identifies the variable's segment. Give it to another process, which attaches with
   * `tie({}, { handle, namespace })` (same options); an anonymous variable lives while a holder lives.
   */
  get handle(): string {
    return this.#node.id;
  }

  /** Changes on every write, by any process. */
  get serial(): number {
    return this.#node.store.serial;
  }

  /**
   * Blocks until this variable's serial differs from `serial` (a write by any process), sleeping in the kernel.
   * Returns the new serial, or undefined once `timeoutMs` passed (default: wait forever). Only writes to this
   * variable count: a write to a nested variable (`cfg.db.port = 1`) changes `tied(cfg.db)`, not `tied(cfg)`.
   * @throws ShmError ERR_SHM_CLOSED once the variable is untied here, ERR_SHM_NOT_SUPPORTED on a backend that
   *   cannot wait; TypeError/RangeError for a bad serial or timeout.
   */
  waitForChange(serial: number, timeoutMs?: number): number | undefined {
    return watch.waitForChange(this.#node, serial, timeoutMs);
  }

  /** waitForChange() that never blocks the event loop; `signal` aborts it. */
  waitForChangeAsync(serial: number, timeoutMs?: number, signal?: AbortSignal): Promise<number | undefined> {
    return watch.waitForChangeAsync(this.#node, serial, timeoutMs, signal);
  }

  /**
   * An async iterator of this variable's changes: `for await (const { serial, value } of tied(cfg).changes())`,
   * where `value` is a deep plain copy (as snapshot()) read with the serial it belongs to. It coalesces (a slow
   * consumer gets the latest state, never an older one after a newer one), ends on `break`/`return()` or untie in
   * this process, and throws ERR_SHM_NOT_FOUND when another process removes the variable.
   * @param options.since yield once the serial differs from this one (default: the serial now; 0: the current
   *   value first).
   */
  changes(options?: { since?: number }): ChangeIterator<unknown> {
    checkOptionsObject(options, 'options');
    const since = options?.since;
    if (since !== undefined && typeof since !== 'number')
      throw expected('a serial (number)', 'options.since', since);
    if (since !== undefined && !(Number.isInteger(since) && since >= 0 && since <= 0x3fffffff))
      throw expected('a serial (an integer from 0 to 1073741823)', 'options.since', since, RangeError);
    return watch.changes(this.#node, since);
  }

  /** True if the last lock this process took here was taken over from a process that died holding it. */
  get ownerDied(): boolean {
    return this.#node.ownerDied;
  }

  /** Reads served from the decoded copy vs decodes, and commits, by this process. */
  get stats(): {
    /** Reads that decoded the value afresh. */
    decodes: number;
    /** Reads served from the decoded copy. */
    cacheHits: number;
    /** Writes committed by this process. */
    commits: number;
  } {
    return { ...this.#node.stats };
  }

  #took(status: LockStatus): void {
    this.#node.ownerDied = status === LockStatus.OwnerDied;
  }

  /**
   * Takes the shared lock: no process can write until unlock(). Returns true if this call took it, false if this
   * process already holds the read or write lock (pseudo-nesting). Throws ERR_SHM_LOCK_TIMEOUT after `timeoutMs`.
   */
  readLock(timeoutMs?: number): boolean {
    checkTimeout(timeoutMs);
    const n = this.#node;
    if (n.userLock !== 0) return false;
    const s = n.store.lock.lockShared(timeoutMs);
    if (s === LockStatus.WouldBlock) throw timeout(n, 'shared', timeoutMs ?? 0);
    this.#took(s);
    n.userLock = 1;
    return true;
  }

  /**
   * Takes the exclusive lock: no other process can read under a read lock or write until unlock() (lock-free
   * single reads still see the last committed value). True if this call took it, false if this process already
   * holds it. Throws ERR_SHM_DEADLOCK while this process holds the read lock (an upgrade would deadlock).
   */
  writeLock(timeoutMs?: number): boolean {
    checkTimeout(timeoutMs);
    const n = this.#node;
    if (n.userLock === 2) return false;
    if (n.userLock === 1) {
      throw new ShmError(
        'ERR_SHM_DEADLOCK',
        `Cannot take the write lock of ${n.label} while this process holds its read lock; unlock() first`,
        { target: n.label },
      );
    }
    const s = n.store.lock.lock(timeoutMs);
    if (s === LockStatus.WouldBlock) throw timeout(n, 'exclusive', timeoutMs ?? 0);
    this.#took(s);
    n.userLock = 2;
    return true;
  }

  /** readLock() that waits without blocking the event loop. */
  async readLockAsync(timeoutMs?: number): Promise<boolean> {
    checkTimeout(timeoutMs);
    const n = this.#node;
    if (n.userLock !== 0) return false;
    const s = await n.store.lock.lockSharedAsync(timeoutMs);
    if (s === LockStatus.WouldBlock) throw timeout(n, 'shared', timeoutMs ?? 0);
    if ((n.userLock as number) !== 0) {
      n.store.lock.unlockShared(); // taken meanwhile by another call of this process
      return false;
    }
    this.#took(s);
    n.userLock = 1;
    return true;
  }

  /** writeLock() that waits without blocking the event loop. */
  async writeLockAsync(timeoutMs?: number): Promise<boolean> {
    checkTimeout(timeoutMs);
    const n = this.#node;
    if (n.userLock === 2) return false;
    if (n.userLock === 1) return this.writeLock(); // throws the upgrade error
    const s = await n.store.lock.lockAsync(timeoutMs);
    if (s === LockStatus.WouldBlock) throw timeout(n, 'exclusive', timeoutMs ?? 0);
    if ((n.userLock as number) !== 0) {
      n.store.lock.unlock(); // taken meanwhile by another call of this process
      return false;
    }
    this.#took(s);
    n.userLock = 2;
    return true;
  }

  /** Releases the lock taken by readLock()/writeLock(). Returns false if this process held none. */
  unlock(): boolean {
    const n = this.#node;
    if (n.userLock === 0) return false;
    if (n.userLock === 2) n.store.lock.unlock();
    else n.store.lock.unlockShared();
    n.userLock = 0;
    return true;
  }

  /** Runs `fn` under the write lock (nesting-safe) and returns its result: `withWriteLock(() => counter.value++)`. */
  withWriteLock<R>(fn: () => R, timeoutMs?: number): R {
    checkFunction(fn, 'fn');
    const mine = this.writeLock(timeoutMs);
    try {
      return fn();
    } finally {
      if (mine) this.unlock();
    }
  }

  /** withWriteLock() for async functions; waits for the lock without blocking the event loop. */
  async withWriteLockAsync<R>(fn: () => R | Promise<R>, timeoutMs?: number): Promise<R> {
    checkFunction(fn, 'fn');
    const mine = await this.writeLockAsync(timeoutMs);
    try {
      return await fn();
    } finally {
      if (mine) this.unlock();
    }
  }

  /** Runs `fn` under the read lock: several reads that see one consistent state. */
  withReadLock<R>(fn: () => R, timeoutMs?: number): R {
    checkFunction(fn, 'fn');
    const mine = this.readLock(timeoutMs);
    try {
      return fn();
    } finally {
      if (mine) this.unlock();
    }
  }

  /** A deep plain copy of the value (for structuredClone, postMessage, or keeping a version). */
  snapshot(): unknown {
    return this.#node.snapshot();
  }

  /** What is stored where: segment, backend, sizes, serial, chained segments, references, lock and cache state. */
  debug(): ReturnType<VarNode['debug']> {
    return this.#node.debug();
  }

  /**
   * Removes the variable from the system now, with every nested variable only it referenced. Other processes
   * get ERR_SHM_NOT_FOUND on their next access. Named variables otherwise persist until removed.
   */
  remove(): void {
    const n = this.#node;
    const held = n.remove();
    releaseRefs(n.space, held);
  }
}
