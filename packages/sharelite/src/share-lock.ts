// The lock of one IPC::ShareLite handle: which of the share's locks it holds, and taking and releasing them with
// the protocol's semop tables (protocol.ts), synchronously or on a waiter thread that never occupies the libuv pool.
import { sysv } from '@shm/core';
import { LOCK_EX, type LOCK_SH } from './constants.js';
import { EX_LOCK, EX_LOCK_NB, EX_UNLOCK, SH_LOCK, SH_LOCK_NB, SH_UNLOCK } from './protocol.js';
import type { ShareErrors } from './share-errors.js';

/** The lock a handle holds: 0 (none), LOCK_SH or LOCK_EX. */
export type LockState = 0 | typeof LOCK_SH | typeof LOCK_EX;

// Indices into the tables handed to semTables, in this order.
const TABLES = [EX_LOCK, EX_LOCK_NB, EX_UNLOCK, SH_LOCK, SH_LOCK_NB, SH_UNLOCK];
const EX = 0;
const EX_NB = 1;
const EX_UN = 2;
const SH = 3;
const SH_NB = 4;
const SH_UN = 5;
const { GuardFailed: GUARD_FAILED, UnlockLost: UNLOCK_LOST } = sysv.GuardedCopyStatus;

/**
 * One handle's view of a share's 3-semaphore set. Locks are not counted: the caller asks for a lock only when it
 * holds none (release() first, so changing between SH and EX is not atomic, as in Perl).
 */
export class ShareLock {
  /** The lock this handle holds. */
  state: LockState = 0;
  /** The semaphore set's id. */
  readonly semid: number;
  readonly #errors: ShareErrors;
  /** The six tables, read once by the addon; every lock and unlock is then one call with three numbers. */
  readonly tables: sysv.NativeSemTables;
  readonly #id: number;
  /** sysv.semApply and sysv.guardedCopy without their wrappers. */
  readonly #semApply = sysv.semApplyFn();
  readonly #guardedCopy = sysv.guardedCopyFn();
  /** Aborted (and replaced) by cancelWaits: every takeAsync waiting at that moment rejects. */
  #abort = new AbortController();
  #waits = 0;

  constructor(semid: number, errors: ShareErrors) {
    this.semid = semid;
    this.#errors = errors;
    this.tables = sysv.semTables(semid, TABLES);
    this.#id = this.tables.id;
  }

  /** True while a takeAsync waits on its thread. */
  get waiting(): boolean {
    return this.#waits > 0;
  }

  /**
   * Takes `mode` (the handle holds no lock). With `wait` false it does not wait (IPC_NOWAIT); else it waits up to
   * `timeoutMs` (< 0: forever), blocking the thread. False when it would block or the time ran out.
   * @throws ShmSystemError from semop (EINVAL/EIDRM: the share was removed).
   */
  take(mode: typeof LOCK_SH | typeof LOCK_EX, wait = true, timeoutMs = -1): boolean {
    const k = mode === LOCK_EX ? (wait ? EX : EX_NB) : wait ? SH : SH_NB;
    if (!this.#apply(k, wait ? timeoutMs : -1)) return false;
    this.state = mode;
    return true;
  }

  /**
   * take() that waits on a thread of its own (sysv.semopAsync), so neither the event loop nor the libuv pool is
   * held. A non-blocking attempt comes first: uncontended, no thread is started. Rejects with cancelWaits' reason
   * if that is called meanwhile (a lock granted at that moment is given back).
   */
  async takeAsync(mode: typeof LOCK_SH | typeof LOCK_EX, timeoutMs = -1): Promise<boolean> {
    if (this.take(mode, false)) return true;
    if (timeoutMs === 0) return false;
    const { signal } = this.#abort;
    const table = mode === LOCK_EX ? EX_LOCK : SH_LOCK;
    this.#waits++;
    let ok: boolean;
    try {
      ok = await sysv.semopAsync(this.semid, table, timeoutMs < 0 ? undefined : timeoutMs, { signal });
    } catch (e) {
      if (signal.aborted && e === signal.reason) throw e;
      throw this.#errors.system(e, 'cannot lock');
    } finally {
      this.#waits--;
    }
    if (signal.aborted) {
      // Granted, but cancelled before this continuation ran: nobody else will release it.
      if (ok) this.#giveBack(mode);
      throw signal.reason;
    }
    if (ok) this.state = mode;
    return ok;
  }

  /**
   * Runs a guarded copy plan of this lock's tables (ShareChain.readPlan/writePlan) in one addon call, under `mode`
   * taken and released by that call when this handle holds no lock (with `wait` false it does not wait), or under
   * the lock the handle holds. Returns the byte count; GuardedCopyStatus.WouldBlock (`wait` false: nothing held);
   * or GuardFailed: nothing was written and the handle now holds `mode` (or still its own lock), so the caller
   * does the work the slow way and releases.
   * @throws ShmSystemError from semop (EINVAL/EIDRM: the share was removed), EAGAIN when the unlock found the
   *   semaphore already 0.
   */
  copy(plan: number, mode: typeof LOCK_SH | typeof LOCK_EX, wait: boolean, data: Uint8Array): number {
    const own = this.state === 0;
    let r: number;
    try {
      if (!own) r = this.#guardedCopy(plan, -1, -1, data);
      else if (mode === LOCK_EX) r = this.#guardedCopy(plan, wait ? EX : EX_NB, EX_UN, data);
      else r = this.#guardedCopy(plan, wait ? SH : SH_NB, SH_UN, data);
    } catch (e) {
      throw this.#errors.system(e, 'cannot lock');
    }
    if (r >= 0) return r;
    if (r === GUARD_FAILED) {
      if (own) this.state = mode;
    } else if (r === UNLOCK_LOST) throw this.#errors.unlockLost();
    return r;
  }

  /** Makes every takeAsync that is waiting now reject with `reason` (close and destroy). */
  cancelWaits(reason: Error): void {
    if (this.#waits === 0) return;
    const a = this.#abort;
    this.#abort = new AbortController();
    a.abort(reason);
  }

  /**
   * Releases the lock this handle holds (none: nothing). The state is 0 afterwards whatever happens.
   * @throws ShmSystemError EAGAIN when the semaphore was already 0 (the set was reset), or from semop.
   */
  release(): void {
    const s = this.state;
    if (s === 0) return;
    this.state = 0;
    if (!this.#apply(s === LOCK_EX ? EX_UN : SH_UN, -1)) throw this.#errors.unlockLost();
  }

  /** The set is gone (removed by us or another handle): forget the lock without a semop. */
  forget(): void {
    this.state = 0;
  }

  /** IPC_RMID of the set; processes waiting on it get EIDRM. */
  removeSet(): void {
    this.state = 0;
    sysv.semRemove(this.semid);
  }

  #giveBack(mode: LockState): void {
    try {
      this.#apply(mode === LOCK_EX ? EX_UN : SH_UN, -1);
    } catch {
      /* the set was removed meanwhile: nothing to give back */
    }
  }

  /** One atomic semop of table `k`: true when applied, false when it would block or timed out. */
  #apply(k: number, timeoutMs: number): boolean {
    let r: number;
    try {
      r = this.#semApply(this.#id, k, timeoutMs);
    } catch (e) {
      throw this.#errors.system(e, 'cannot lock');
    }
    return r === 0;
  }
}
