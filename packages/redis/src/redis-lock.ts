import { expected, LockStatus, ShmError } from '@shm/core';
import { W_LEASE_LOST } from './protocol.js';
import type { RedisConnection } from './redis-connection.js';
import { checkTimeout } from './validate.js';

/**
 * A store's reader/writer lock on the server, as leases: the holder's worker renews its lease every third of
 * `leaseMs`; a holder that dies, is paused or is cut off from the server loses the lock when its lease ends, and
 * the next acquirer gets `LockStatus.OwnerDied`. Each exclusive acquire gets a fencing token (increasing per
 * store); `storeLocked()`/`update()` under the lock send it, and the server refuses a commit whose token is not the
 * live lease's (ERR_SHM_LEASE_EXPIRED), so a holder that lost its lease cannot overwrite its successor's work.
 *
 * Holds count per handle: lock() twice needs unlock() twice. One handle belongs to one thread.
 */
export class RedisLock {
  /** Names the lock in errors: `lock of 'name' on redis host:port`. */
  readonly name: string;
  readonly #conn: RedisConnection;
  readonly #hid: () => number;
  readonly #words: Int32Array;
  #exclusive = 0;
  #shared = 0;
  #token: number | undefined;

  /** @internal */
  constructor(conn: RedisConnection, storeName: string, hid: () => number, words: Int32Array) {
    this.#conn = conn;
    this.#hid = hid;
    this.#words = words;
    this.name = `lock of '${storeName}' on ${conn.label}`;
  }

  /** Whether this handle holds the lock exclusively. */
  get holdsExclusive(): boolean {
    return this.#exclusive > 0;
  }

  /** Whether this handle holds the lock shared. */
  get holdsShared(): boolean {
    return this.#shared > 0;
  }

  /** The fencing token of the exclusive lease this handle holds, or undefined. */
  get token(): number | undefined {
    return this.#exclusive > 0 ? this.#token : undefined;
  }

  /**
   * True once a renewal found this handle's current lease ended (it was paused or cut off for longer than the
   * lease): its commits are refused from then on. Cleared by the next acquire.
   */
  get leaseLost(): boolean {
    return (this.#exclusive > 0 || this.#shared > 0) && Atomics.load(this.#words, W_LEASE_LOST) === 1;
  }

  /**
   * Takes the lock exclusively, blocking this thread until it has it or `timeoutMs` ran out (0: try once;
   * undefined: wait as long as it takes). Returns LockStatus: WouldBlock (0) on timeout, Acquired, or OwnerDied when
   * the previous holder's lease ended without a release.
   */
  lock(timeoutMs?: number): LockStatus {
    checkTimeout(timeoutMs, 'timeoutMs');
    if (this.#exclusive > 0) {
      this.#exclusive++;
      return LockStatus.Acquired;
    }
    if (this.#shared > 0) throw this.#upgradeError();
    const r = this.#conn.lockSync(this.#hid(), 'exclusive', timeoutMs ?? -1);
    return this.#tookExclusive({ status: r.status as LockStatus, token: String(r.serial) });
  }

  /** lock() that waits without blocking the event loop. */
  async lockAsync(timeoutMs?: number): Promise<LockStatus> {
    checkTimeout(timeoutMs, 'timeoutMs');
    if (this.#exclusive > 0) {
      this.#exclusive++;
      return LockStatus.Acquired;
    }
    if (this.#shared > 0) throw this.#upgradeError();
    const r = await this.#conn.call<{ status: LockStatus; token: string }>('lock', {
      hid: this.#hid(),
      mode: 'exclusive',
      timeoutMs: timeoutMs ?? -1,
    });
    if (this.#exclusive > 0 && r.status !== LockStatus.WouldBlock) {
      // Taken meanwhile by another call of this thread: give this lease back, count a nested hold.
      await this.#conn.call('unlock', { hid: this.#hid(), mode: 'exclusive' }).catch(() => {});
    }
    return this.#tookExclusive(r);
  }

  #tookExclusive(r: { status: LockStatus; token: string }): LockStatus {
    if (r.status === LockStatus.WouldBlock) return r.status;
    this.#exclusive++;
    if (this.#exclusive === 1) this.#token = Number(r.token);
    return r.status;
  }

  /** lock(0). */
  tryLock(): LockStatus {
    return this.lock(0);
  }

  /**
   * Releases one exclusive hold. Returns true when released, false when the lease had ended first (another
   * process may have held the lock meanwhile; commits made with this token after the end were refused).
   * ERR_SHM_NOT_HELD if this handle does not hold it.
   */
  unlock(): boolean {
    if (this.#exclusive === 0) throw this.#notHeld('exclusive');
    if (--this.#exclusive > 0) return true;
    this.#token = undefined;
    return this.#conn.unlockSync(this.#hid(), 'exclusive').status === 1;
  }

  /** unlock() without blocking the event loop. */
  async unlockAsync(): Promise<boolean> {
    if (this.#exclusive === 0) throw this.#notHeld('exclusive');
    if (--this.#exclusive > 0) return true;
    this.#token = undefined;
    return (await this.#conn.call<{ ok: boolean }>('unlock', { hid: this.#hid(), mode: 'exclusive' })).ok;
  }

  /** Takes the lock shared (any number of shared holders, no exclusive one). Same results as lock(). */
  lockShared(timeoutMs?: number): LockStatus {
    checkTimeout(timeoutMs, 'timeoutMs');
    if (this.#shared > 0 || this.#exclusive > 0) {
      this.#shared++;
      return LockStatus.Acquired;
    }
    const status = this.#conn.lockSync(this.#hid(), 'shared', timeoutMs ?? -1).status as LockStatus;
    if (status !== LockStatus.WouldBlock) this.#shared++;
    return status;
  }

  /** lockShared() that waits without blocking the event loop. */
  async lockSharedAsync(timeoutMs?: number): Promise<LockStatus> {
    checkTimeout(timeoutMs, 'timeoutMs');
    if (this.#shared > 0 || this.#exclusive > 0) {
      this.#shared++;
      return LockStatus.Acquired;
    }
    const r = await this.#conn.call<{ status: LockStatus }>('lock', {
      hid: this.#hid(),
      mode: 'shared',
      timeoutMs: timeoutMs ?? -1,
    });
    if (r.status !== LockStatus.WouldBlock) {
      if (this.#shared > 0) {
        await this.#conn.call('unlock', { hid: this.#hid(), mode: 'shared' }).catch(() => {});
      }
      this.#shared++;
    }
    return r.status;
  }

  /** lockShared(0). */
  tryLockShared(): LockStatus {
    return this.lockShared(0);
  }

  /** Releases one shared hold; false when the lease had ended first. */
  unlockShared(): boolean {
    if (this.#shared === 0) throw this.#notHeld('shared');
    if (--this.#shared > 0 || this.#exclusive > 0) return true;
    return this.#conn.unlockSync(this.#hid(), 'shared').status === 1;
  }

  /** unlockShared() without blocking the event loop. */
  async unlockSharedAsync(): Promise<boolean> {
    if (this.#shared === 0) throw this.#notHeld('shared');
    if (--this.#shared > 0 || this.#exclusive > 0) return true;
    return (await this.#conn.call<{ ok: boolean }>('unlock', { hid: this.#hid(), mode: 'shared' })).ok;
  }

  /** @internal Forgets the holds (the worker released them when the handle closed). */
  reset(): void {
    this.#exclusive = 0;
    this.#shared = 0;
    this.#token = undefined;
  }

  /** What this handle holds. */
  state(): { exclusive: number; shared: number; token: number | undefined; leaseLost: boolean } {
    return { exclusive: this.#exclusive, shared: this.#shared, token: this.token, leaseLost: this.leaseLost };
  }

  /** The error for a timed-out acquire, naming the lock and mode. */
  timeoutError(mode: 'exclusive' | 'shared', timeoutMs: number): ShmError {
    if (mode !== 'exclusive' && mode !== 'shared') throw expected("'exclusive' or 'shared'", 'mode', mode);
    if (typeof timeoutMs !== 'number') throw expected('a number of milliseconds', 'timeoutMs', timeoutMs);
    return new ShmError(
      'ERR_SHM_LOCK_TIMEOUT',
      `Timed out after ${timeoutMs} ms waiting for the ${mode} ${this.name}`,
      { target: this.name },
    );
  }

  #notHeld(mode: string): ShmError {
    return new ShmError(
      'ERR_SHM_NOT_HELD',
      `${this.name}: unlock of a ${mode} lock this handle does not hold`,
      {
        target: this.name,
      },
    );
  }

  #upgradeError(): ShmError {
    return new ShmError(
      'ERR_SHM_DEADLOCK',
      `${this.name}: cannot take the exclusive lock while holding it shared (upgrade would deadlock); unlock first`,
      { target: this.name },
    );
  }
}
