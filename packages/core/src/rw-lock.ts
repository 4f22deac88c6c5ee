import { expected, type OwnerIdentity, ShmError, WaitResult } from '@shm/native';
import type { WordWaits } from './platform/platform.js';
import { platformOf, Region } from './region.js';
import { checkLockOptions, timeoutArgError } from './validate-args.js';

// Layout of one lock, in 32-bit words from its (64-byte aligned) offset. docs/architecture/locks.md explains it.
const W = 0; // exclusive owner: the holder's owner id (OwnerIdentity.id()), 0 when free
const W_WAITERS = 1; // threads sleeping on W
const R_WAITERS = 2; // writers sleeping until the readers drain
const R_SEQ = 3; // futex word those writers sleep on; bumped by a leaving reader
const MAGIC = 4;
const SLOTS = 5; // number of participant slots
const PIDNS = 6; // pid namespace of the creator: tids mean something only inside one namespace
const HIGH = 7; // set once any slot >= 32 was claimed: until then writers check one bitmap word, not four
const BITMAP = 8; // 4 words: bit i set = slot i holds the lock shared
const OWNER = 16; // SLOT_COUNT words: the owner id of participant slot i (0 = free)
const START = OWNER + 128; // SLOT_COUNT words: OwnerIdentity.startTime() of that owner (guards id reuse)
const SLOT_COUNT = 128;
const LOCK_MAGIC = 0x314b434c; // 'LCK1'

/** Bytes one lock occupies. */
export const LOCK_BYTES = (START + SLOT_COUNT) * 4;

/** Results of an acquire: falsy when it would block (try) or timed out. */
export const LockStatus = {
  /** Not acquired: would block (try) or the timeout ran out. */
  WouldBlock: 0,
  /** Acquired; the previous holder (if any) released it normally. */
  Acquired: 1,
  /** Acquired, and a previous holder died holding it: check the state it protected. */
  OwnerDied: 2,
} as const;
export type LockStatus = (typeof LockStatus)[keyof typeof LockStatus];

/** Options of `new RwLock(region, offset, options)`. */
export interface LockOptions {
  /** Named in errors. */
  name?: string;
  /** How often a sleeping waiter checks whether the holder died, in ms (default 10). */
  pollMs?: number;
  /** Spins before sleeping in the kernel (default 100). */
  spins?: number;
  /**
   * Where owner ids and their liveness come from (default: the identity of the region's platform, which on an
   * operating system is `ownerIdentity()`). Every handle of one lock must use the same kind of identity; tests pass
   * one over a `MemoryProcessTable`.
   */
  identity?: OwnerIdentity;
}

const SPIN_DEFAULT = 100;

/**
 * x86 keeps loads in order with a locked instruction before them (TSO: a load is never performed before an earlier
 * locked CAS/RMW/xchg completes). There a fast path may read a word with a plain element load right after the
 * Atomics call that orders it: an Atomics call is a builtin call on Node 20 (~8 ns each, a plain load ~0), and the
 * uncontended exclusive lock+unlock needs two of them instead of five. Weakly ordered CPUs (arm64: a plain `ldr`
 * after `stlxr` may be satisfied before the store is visible) keep every load atomic. docs/decisions/0010.
 */
const TSO = process.arch === 'x64' || process.arch === 'ia32';

/** What a step of the wait protocol asks its driver: sleep while word `index` holds `value`, up to `left` ms. */
interface Sleep {
  index: number;
  value: number;
  left: number;
}
/** A slow path of the lock: yields Sleeps, is resumed with whether each timed out, returns the acquire's status. */
type Protocol = Generator<Sleep, LockStatus, boolean>;

/** The shortest liveness poll of an async wait, in ms (see RwLock#asyncPoll). */
const ASYNC_POLL_MS = 100;

/**
 * A reader/writer lock in shared memory, for processes and worker threads.
 *
 * Fast path: one CAS (exclusive) or one atomic OR (shared) on the mapped words, no native call. Waiters spin
 * briefly, then sleep through the region's platform (a shared futex; on Windows a named event per word: see
 * platform/platform.ts). The exclusive owner word holds the owner's id (OwnerIdentity) and each shared
 * holder sets its own bit in a slot bitmap, so a holder that dies (SIGKILL included) is found by a waiter's
 * liveness check (a zombie counts as dead; start times guard against id reuse) and its hold is taken over:
 * the acquirer gets LockStatus.OwnerDied. Writers have preference: a waiting writer keeps new readers out.
 *
 * One instance belongs to one thread (it uses that thread's id); open one per worker.
 */
export class RwLock {
  /** Names the lock in errors (default `lock@<region id>+<offset>`). */
  readonly name: string;
  readonly #region: Region;
  readonly #a: Int32Array;
  readonly #b: number; // word index of the lock in the region
  readonly #tid: number; // this thread's owner id (a thread id on Linux and Windows; see OwnerIdentity)
  readonly #identity: OwnerIdentity;
  readonly #words: WordWaits;
  readonly #pollMs: number;
  readonly #spins: number;
  readonly #recover: boolean;
  #slot = -1;
  readonly #sleepReq: Sleep = { index: 0, value: 0, left: 0 };
  #exclusive = 0; // nesting depth held by this instance
  #shared = 0;

  /** Writes a fresh lock at `offset` (the memory must not be in use). */
  static init(region: Region, offset: number): void {
    checkRegion(region);
    const a = region.i32;
    const b = checkOffset(region, offset);
    a.fill(0, b, b + LOCK_BYTES / 4);
    Atomics.store(a, b + SLOTS, SLOT_COUNT);
    Atomics.store(a, b + PIDNS, platformOf(region).pidNamespace() | 0);
    Atomics.store(a, b + MAGIC, LOCK_MAGIC);
  }

  constructor(region: Region, offset: number, opts: LockOptions = {}) {
    checkRegion(region);
    checkLockOptions(opts);
    this.#region = region;
    this.#a = region.i32;
    this.#b = checkOffset(region, offset);
    this.name = opts.name ?? `lock@${region.id}+${offset}`;
    const platform = platformOf(region);
    this.#identity = opts.identity ?? platform.identity;
    this.#words = platform.words;
    this.#tid = this.#identity.id();
    this.#pollMs = opts.pollMs ?? 10;
    this.#spins = opts.spins ?? SPIN_DEFAULT;
    const a = this.#a;
    const b = this.#b;
    if (Atomics.load(a, b + MAGIC) !== LOCK_MAGIC || Atomics.load(a, b + SLOTS) !== SLOT_COUNT) {
      throw new ShmError('ERR_SHM_BAD_FORMAT', `${this.name}: no lock at offset ${offset} (bad magic)`, {
        target: this.name,
      });
    }
    // Thread ids of another pid namespace name other tasks: never judge liveness across namespaces.
    this.#recover = (Atomics.load(a, b + PIDNS) | 0) === (platform.pidNamespace() | 0);
  }

  /** Whether this instance holds the lock exclusively. */
  get holdsExclusive(): boolean {
    return this.#exclusive > 0;
  }
  /** Whether this instance holds the lock shared (an exclusive holder that called lockShared() counts too). */
  get holdsShared(): boolean {
    return this.#shared > 0;
  }

  // ---------------------------------------------------------------- exclusive

  /**
   * Takes the lock exclusively. timeoutMs: 0 = try once, undefined/Infinity = wait forever.
   * Returns LockStatus (WouldBlock = 0 only when a timeout was given and ran out).
   * Nested calls by the same instance count and return Acquired.
   */
  lock(timeoutMs?: number): LockStatus {
    // Checked before the fast path, so a bad timeout fails whether or not the lock is free (one comparison).
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0))
      throw timeoutArgError(timeoutMs);
    if (this.#exclusive > 0) {
      this.#exclusive++;
      return LockStatus.Acquired;
    }
    if (this.#shared > 0) throw this.#upgradeError();
    if (this.#slot < 0) this.#claimSlot();
    const a = this.#a;
    const b = this.#b;
    if (Atomics.compareExchange(a, b + W, 0, this.#tid) === 0) {
      // The fast path: no reader (the check is #noReaders with plain loads on x86, ordered by the CAS).
      if (TSO ? a[b + BITMAP] === 0 && (a[b + HIGH] === 0 || this.#noReaders()) : this.#noReaders()) {
        this.#exclusive = 1;
        return LockStatus.Acquired;
      }
      if (this.#spinDrain()) {
        this.#exclusive = 1;
        return LockStatus.Acquired;
      }
      return this.#run(this.#drainReaders(deadlineOf(timeoutMs), 0, false));
    }
    if (this.#spinW()) {
      if (this.#noReaders() || this.#spinDrain()) {
        this.#exclusive = 1;
        return LockStatus.Acquired;
      }
      return this.#run(this.#drainReaders(deadlineOf(timeoutMs), 0, false));
    }
    return this.#run(this.#exclusiveSteps(deadlineOf(timeoutMs), this.#spins));
  }

  /** lock(0): LockStatus.WouldBlock (0) at once if anyone holds it. */
  tryLock(): LockStatus {
    return this.lock(0);
  }

  /** Releases one exclusive hold (nested holds count), waking a waiter if any. ERR_SHM_NOT_HELD if not held. */
  unlock(): void {
    if (this.#exclusive === 0) throw this.#notHeld('exclusive');
    if (--this.#exclusive > 0) return;
    const a = this.#a;
    const b = this.#b;
    // Atomics.store is an xchg on x86, a full fence: the waiters load below cannot pass it (the Dekker pair with a
    // waiter's locked add then load of W), so it may be plain there. One Atomics call per unlock.
    Atomics.store(a, b + W, 0);
    if ((TSO ? a[b + W_WAITERS]! : Atomics.load(a, b + W_WAITERS)) > 0)
      this.#words.wake(this.#region, (b + W) * 4);
  }

  #noReaders(): boolean {
    const a = this.#a;
    const b = this.#b;
    if (Atomics.load(a, b + BITMAP) !== 0) return false;
    // Slots are claimed lowest first, so words 1-3 are in use only after HIGH was set (before any of their bits).
    if (Atomics.load(a, b + HIGH) === 0) return true;
    return (
      (Atomics.load(a, b + BITMAP + 1) |
        Atomics.load(a, b + BITMAP + 2) |
        Atomics.load(a, b + BITMAP + 3)) ===
      0
    );
  }

  // ---------------------------------------------------------------- shared

  /** Takes the lock shared. Same timeout rules as lock(). Nested calls by the same instance count. */
  lockShared(timeoutMs?: number): LockStatus {
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0))
      throw timeoutArgError(timeoutMs);
    if (this.#shared > 0 || this.#exclusive > 0) {
      // Already inside (an exclusive holder may read too): count it so unlockShared pairs up.
      this.#shared++;
      return LockStatus.Acquired;
    }
    // The fast path inline (as in lock()): a method call here measured ~8% on uncontended lockShared.
    const slot = this.#slot >= 0 ? this.#slot : this.#claimSlot();
    const a = this.#a;
    const b = this.#b;
    // The first look at W is a hint on every CPU (a writer seen late is caught by the load after the OR); the
    // second is ordered after the OR by the locked instruction on x86, so plain there.
    if (a[b + W] === 0) {
      const word = b + BITMAP + (slot >> 5);
      const bit = 1 << (slot & 31);
      Atomics.or(a, word, bit);
      if ((TSO ? a[b + W] : Atomics.load(a, b + W)) === 0) {
        this.#shared = 1;
        return LockStatus.Acquired;
      }
      this.#leaveBit(word, bit);
    }
    if (this.#spinShared()) return LockStatus.Acquired;
    return this.#run(this.#sharedSteps(deadlineOf(timeoutMs)));
  }

  /** The shared fast path of lockSharedAsync (lockShared has it inline): sets this slot's bit while W is free. */
  #enterShared(): boolean {
    const slot = this.#slot >= 0 ? this.#slot : this.#claimSlot();
    const a = this.#a;
    const b = this.#b;
    if (Atomics.load(a, b + W) !== 0) return false;
    const word = b + BITMAP + (slot >> 5);
    const bit = 1 << (slot & 31);
    Atomics.or(a, word, bit);
    if (Atomics.load(a, b + W) === 0) {
      this.#shared = 1;
      return true;
    }
    this.#leaveBit(word, bit);
    return false;
  }

  /** lockShared(0): LockStatus.WouldBlock (0) at once if a writer holds or waits for it. */
  tryLockShared(): LockStatus {
    return this.lockShared(0);
  }

  /** Releases one shared hold (nested holds count). ERR_SHM_NOT_HELD if not held. */
  unlockShared(): void {
    if (this.#shared === 0) throw this.#notHeld('shared');
    if (--this.#shared > 0 || this.#exclusive > 0) return;
    const slot = this.#slot;
    this.#leaveBit(this.#b + BITMAP + (slot >> 5), 1 << (slot & 31));
  }

  #leaveBit(word: number, bit: number): void {
    const a = this.#a;
    const b = this.#b;
    Atomics.and(a, word, ~bit);
    // Ordered after the locked AND on x86 (see TSO), as the writer's count-then-check of the bitmap needs.
    if ((TSO ? a[b + R_WAITERS]! : Atomics.load(a, b + R_WAITERS)) > 0) {
      Atomics.add(a, b + R_SEQ, 1);
      this.#words.wake(this.#region, (b + R_SEQ) * 4);
    }
  }

  // ---------------------------------------------------------------- async

  /**
   * lock() that never blocks the event loop: the wait goes to the native waiter thread (no libuv pool thread is
   * used, docs/architecture/waiter.md), for the whole remaining time or, while the holder could die unnoticed, up
   * to one liveness poll (at least 100 ms; see ASYNC_POLL_MS).
   */
  async lockAsync(timeoutMs?: number): Promise<LockStatus> {
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0))
      throw timeoutArgError(timeoutMs);
    if (this.#exclusive > 0) {
      this.#exclusive++;
      return LockStatus.Acquired;
    }
    if (this.#shared > 0) throw this.#upgradeError();
    if (this.#slot < 0) this.#claimSlot();
    if (Atomics.compareExchange(this.#a, this.#b + W, 0, this.#tid) === 0) {
      if (this.#noReaders()) {
        this.#exclusive = 1;
        return LockStatus.Acquired;
      }
      return this.#runAsync(this.#drainReaders(deadlineOf(timeoutMs), 0, false));
    }
    return this.#runAsync(this.#exclusiveSteps(deadlineOf(timeoutMs), 0));
  }

  /** lockShared() that never blocks the event loop (waits as lockAsync does). */
  async lockSharedAsync(timeoutMs?: number): Promise<LockStatus> {
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0))
      throw timeoutArgError(timeoutMs);
    if (this.#shared > 0 || this.#exclusive > 0) {
      this.#shared++;
      return LockStatus.Acquired;
    }
    if (this.#enterShared()) return LockStatus.Acquired;
    return this.#runAsync(this.#sharedSteps(deadlineOf(timeoutMs)));
  }

  // ---------------------------------------------------------------- the wait protocol, once

  // Each slow path is a generator that does everything but sleep: it attempts the acquire, counts itself as a
  // waiter, re-checks, and yields one Sleep; the driver sleeps (blocking in #run, on the waiter thread in
  // #runAsync) and resumes it with whether the sleep timed out, which is when the protocol checks the holder's
  // liveness. Before its first sleep the sync path first repeats the attempt `spins` times (#spinW and co., outside any
  // generator, so a wait that a spin ends costs no generator); the async path never spins: it would only burn
  // the event loop's thread.

  /** One exclusive attempt: 0 when this thread took W, else the holder's id (ERR_SHM_DEADLOCK if it is ours). */
  #attemptW(): number {
    const a = this.#a;
    const b = this.#b;
    for (;;) {
      const w = Atomics.load(a, b + W);
      if (w === 0) {
        if (Atomics.compareExchange(a, b + W, 0, this.#tid) === 0) return 0;
        continue;
      }
      if (w === this.#tid) throw this.#selfDeadlock();
      return w;
    }
  }

  /** One shared attempt: 0 when this slot's bit is set with W free (then held), else the writer's id. */
  #attemptShared(): number {
    const a = this.#a;
    const b = this.#b;
    const slot = this.#slot;
    const word = b + BITMAP + (slot >> 5);
    const bit = 1 << (slot & 31);
    for (;;) {
      const w = Atomics.load(a, b + W);
      if (w === 0) {
        Atomics.or(a, word, bit);
        if (Atomics.load(a, b + W) === 0) {
          this.#shared = 1;
          return 0;
        }
        this.#leaveBit(word, bit);
        continue;
      }
      if (w === this.#tid) throw this.#selfDeadlock();
      return w;
    }
  }

  /** The sync path's spin on W: up to `spins` exclusive attempts; true once one took W. */
  #spinW(): boolean {
    for (let spin = 0; spin < this.#spins; spin++) if (this.#attemptW() === 0) return true;
    return false;
  }

  /** The sync path's spin for a shared hold: up to `spins` shared attempts; true once one succeeded. */
  #spinShared(): boolean {
    for (let spin = 0; spin < this.#spins; spin++) if (this.#attemptShared() === 0) return true;
    return false;
  }

  /** The sync path's spin on the readers, holding W: up to `spins` looks; true once none holds it. */
  #spinDrain(): boolean {
    for (let spin = 0; spin < this.#spins; spin++) if (this.#noReaders()) return true;
    return false;
  }

  /** Waits for W to be free, takes it, then waits for the readers to drain (spinning `drainSpins` first). */
  *#exclusiveSteps(deadline: number, drainSpins: number): Protocol {
    const a = this.#a;
    const b = this.#b;
    let died = false;
    for (;;) {
      const w = this.#attemptW();
      if (w === 0) break;
      const left = remaining(deadline);
      if (left === 0) return LockStatus.WouldBlock;
      Atomics.add(a, b + W_WAITERS, 1);
      let timedOut = false;
      try {
        if (Atomics.load(a, b + W) === w) timedOut = yield this.#sleepOn(b + W, w, left);
      } finally {
        this.#uncount(W_WAITERS);
      }
      if (timedOut && this.#writerDead(w) && Atomics.compareExchange(a, b + W, w, this.#tid) === w) {
        died = true;
        break;
      }
    }
    if (this.#noReaders()) {
      this.#exclusive = 1;
      return died ? LockStatus.OwnerDied : LockStatus.Acquired;
    }
    return yield* this.#drainReaders(deadline, drainSpins, died);
  }

  /** Holding W, waits for the shared holders to leave (reclaiming dead ones). Releases W on timeout. */
  *#drainReaders(deadline: number, spins: number, died: boolean): Protocol {
    const a = this.#a;
    const b = this.#b;
    for (let spin = 0; !this.#noReaders(); spin++) {
      if (spin < spins) continue;
      const left = remaining(deadline);
      if (left === 0) {
        this.#exclusive = 1;
        this.unlock();
        return LockStatus.WouldBlock;
      }
      // Counted before R_SEQ is read: a reader leaving after this sees the count and bumps R_SEQ.
      Atomics.add(a, b + R_WAITERS, 1);
      let timedOut = false;
      try {
        const seq = Atomics.load(a, b + R_SEQ);
        if (!this.#noReaders()) timedOut = yield this.#sleepOn(b + R_SEQ, seq, left);
      } finally {
        this.#uncount(R_WAITERS);
      }
      if (timedOut && this.#reclaimDeadReaders()) died = true;
    }
    this.#exclusive = 1;
    return died ? LockStatus.OwnerDied : LockStatus.Acquired;
  }

  /** Waits for W to be free, then holds the lock shared (a dead writer's W is cleared and its waiters woken). */
  *#sharedSteps(deadline: number): Protocol {
    const a = this.#a;
    const b = this.#b;
    let died = false;
    for (;;) {
      const w = this.#attemptShared();
      if (w === 0) break;
      const left = remaining(deadline);
      if (left === 0) return LockStatus.WouldBlock;
      Atomics.add(a, b + W_WAITERS, 1);
      let timedOut = false;
      try {
        if (Atomics.load(a, b + W) === w) timedOut = yield this.#sleepOn(b + W, w, left);
      } finally {
        this.#uncount(W_WAITERS);
      }
      if (timedOut && this.#writerDead(w) && Atomics.compareExchange(a, b + W, w, 0) === w) {
        died = true;
        if (Atomics.load(a, b + W_WAITERS) > 0) this.#words.wake(this.#region, (b + W) * 4);
      }
    }
    return died ? LockStatus.OwnerDied : LockStatus.Acquired;
  }

  /**
   * The Sleep a step yields: one object per lock, filled in place (a driver reads it before resuming the step).
   * Every step counts itself in the word's waiter counter before its last check of the word, and uncounts in a
   * finally, so a waker that changes the word after that check sees the count and wakes.
   */
  #sleepOn(index: number, value: number, left: number): Sleep {
    const s = this.#sleepReq;
    s.index = index;
    s.value = value;
    s.left = left;
    return s;
  }

  /** Drops this waiter's count (not on a region closed meanwhile: its views are empty then). */
  #uncount(counter: number): void {
    if (!this.#region.closed) Atomics.sub(this.#a, this.#b + counter, 1);
  }

  /** The sync driver: sleeps in the kernel, up to one liveness poll (pollMs) at a time. */
  #run(steps: Protocol): LockStatus {
    let r = steps.next();
    while (!r.done) {
      const s = r.value;
      let timedOut: boolean;
      try {
        timedOut =
          this.#words.wait(this.#region, s.index * 4, s.value, Math.min(s.left, this.#pollMs)) ===
          WaitResult.TimedOut;
      } catch (e) {
        r = steps.throw(e);
        continue;
      }
      r = steps.next(timedOut);
    }
    return r.value;
  }

  /** The async driver: sleeps on the waiter thread (an ERR_SHM_CLOSED from a closed region goes through). */
  async #runAsync(steps: Protocol): Promise<LockStatus> {
    let r = steps.next();
    while (!r.done) {
      const s = r.value;
      let timedOut: boolean;
      try {
        timedOut =
          (await this.#words.waitAsync(this.#region, s.index * 4, s.value, this.#asyncPoll(s.left))) ===
          WaitResult.TimedOut;
      } catch (e) {
        r = steps.throw(e);
        continue;
      }
      r = steps.next(timedOut);
    }
    return r.value;
  }

  /**
   * How long one async wait may sleep, `left` ms being what the caller's timeout leaves: all of it when no holder
   * can be declared dead (another pid namespace), else up to the liveness poll, since a holder's death wakes
   * nobody. The poll is longer than the sync one (pollMs) because each turn costs a waiter-thread wake-up and an
   * event-loop callback per waiter; a dead holder is taken over within ASYNC_POLL_MS instead of pollMs.
   */
  #asyncPoll(left: number): number {
    if (!this.#recover) return left;
    return Math.min(left, Math.max(this.#pollMs, ASYNC_POLL_MS));
  }

  // ---------------------------------------------------------------- recovery

  /** Is the exclusive owner `w` dead (or its id reused by another task)? */
  #writerDead(w: number): boolean {
    if (!this.#recover) return false;
    const a = this.#a;
    const b = this.#b;
    // Every slot that names w counts, not the first: an id is reused (Linux hands out thread ids again once
    // pid_max, often 32768, wraps), and a dead task's slot can still name it, with that task's start time, below the
    // slot of the live thread that now holds W. Judged by the first, a live holder was taken for dead and its lock
    // taken over: two writers in one commit (torture: chained segments gone under a reader, SysV intents lost).
    let named = false;
    for (let i = 0; i < SLOT_COUNT; i++) {
      if (Atomics.load(a, b + OWNER + i) === w) {
        named = true;
        if (this.#identity.alive(w, Atomics.load(a, b + START + i) >>> 0)) return false;
      }
    }
    return named || !this.#identity.alive(w, 0);
  }

  /** Holding W: clears the bits of dead shared holders. Returns true if any was dead. */
  #reclaimDeadReaders(): boolean {
    if (!this.#recover) return false;
    const a = this.#a;
    const b = this.#b;
    let any = false;
    for (let wi = 0; wi < 4; wi++) {
      let bits = Atomics.load(a, b + BITMAP + wi);
      while (bits !== 0) {
        const low = bits & -bits;
        const i = wi * 32 + (31 - Math.clz32(low));
        bits &= ~low;
        const owner = Atomics.load(a, b + OWNER + i);
        if (owner !== 0 && !this.#identity.alive(owner, Atomics.load(a, b + START + i) >>> 0)) {
          Atomics.and(a, b + BITMAP + wi, ~low);
          Atomics.compareExchange(a, b + OWNER + i, owner, 0);
          any = true;
        }
      }
    }
    return any;
  }

  /** Claims a participant slot for this instance (reusing slots of dead threads that hold nothing). */
  #claimSlot(): number {
    const a = this.#a;
    const b = this.#b;
    const tid = this.#tid;
    const start = this.#identity.startTime(tid) | 0;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < SLOT_COUNT; i++) {
        // Lowest free slot first: with up to 32 participants, writers check a single bitmap word.
        if (i >= 32 && Atomics.load(a, b + HIGH) === 0) Atomics.store(a, b + HIGH, 1);
        const owner = Atomics.load(a, b + OWNER + i);
        const held = (Atomics.load(a, b + BITMAP + (i >> 5)) & (1 << (i & 31))) !== 0;
        const free =
          owner === 0 ||
          (pass === 1 && !held && !this.#identity.alive(owner, Atomics.load(a, b + START + i) >>> 0));
        if (free && Atomics.compareExchange(a, b + OWNER + i, owner, tid) === owner) {
          Atomics.store(a, b + START + i, start);
          this.#slot = i;
          return i;
        }
      }
    }
    throw new ShmError(
      'ERR_SHM_TOO_MANY_READERS',
      `${this.name}: all ${SLOT_COUNT} reader slots are in use by live threads; close unused handles`,
      { target: this.name },
    );
  }

  /** Gives the participant slot back (call when done with the lock; close() of the owner does it). */
  release(): void {
    if (this.#exclusive > 0) {
      this.#exclusive = 1;
      this.unlock();
    }
    if (this.#shared > 0) {
      this.#shared = 1;
      this.unlockShared();
    }
    if (this.#slot >= 0 && !this.#region.closed) {
      Atomics.compareExchange(this.#a, this.#b + OWNER + this.#slot, this.#tid, 0);
    }
    this.#slot = -1;
  }

  /**
   * A snapshot for debugging: `exclusiveOwner` (the holder's thread id, 0 when free), `sharedHolders` (how many
   * hold it shared), `waiters` (threads sleeping on it) and `holders` (the shared holders' thread ids).
   */
  state(): { exclusiveOwner: number; sharedHolders: number; waiters: number; holders: number[] } {
    const a = this.#a;
    const b = this.#b;
    const holders: number[] = [];
    for (let i = 0; i < SLOT_COUNT; i++) {
      if ((Atomics.load(a, b + BITMAP + (i >> 5)) & (1 << (i & 31))) !== 0)
        holders.push(Atomics.load(a, b + OWNER + i));
    }
    return {
      exclusiveOwner: Atomics.load(a, b + W),
      sharedHolders: holders.length,
      waiters: Atomics.load(a, b + W_WAITERS) + Atomics.load(a, b + R_WAITERS),
      holders,
    };
  }

  #describeHolders(): string {
    const s = this.state();
    if (s.exclusiveOwner !== 0) return `held exclusively by thread ${s.exclusiveOwner}`;
    if (s.sharedHolders > 0) return `held shared by thread(s) ${s.holders.join(', ')}`;
    return 'free now';
  }

  /** The error for a timed-out acquire, naming the lock, mode and holder. */
  timeoutError(mode: 'exclusive' | 'shared', timeoutMs: number): ShmError {
    if (mode !== 'exclusive' && mode !== 'shared') throw expected("'exclusive' or 'shared'", 'mode', mode);
    if (typeof timeoutMs !== 'number') throw expected('a number of milliseconds', 'timeoutMs', timeoutMs);
    return new ShmError(
      'ERR_SHM_LOCK_TIMEOUT',
      `Timed out after ${timeoutMs} ms waiting for the ${mode} lock ${this.name} (${this.#describeHolders()})`,
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

  #selfDeadlock(): ShmError {
    return new ShmError(
      'ERR_SHM_DEADLOCK',
      `${this.name}: this thread already holds the exclusive lock through another handle; waiting would deadlock`,
      { target: this.name },
    );
  }
}

function checkRegion(region: unknown): void {
  if (!(region instanceof Region)) throw expected('a Region', 'region', region);
}

function checkOffset(region: Region, offset: number): number {
  if (typeof offset !== 'number') throw expected('an offset in bytes (number)', 'offset', offset);
  if (!Number.isInteger(offset) || offset < 0 || offset % 64 !== 0 || offset + LOCK_BYTES > region.size) {
    throw expected(
      `a 64-byte aligned offset with ${LOCK_BYTES} bytes of room in ${region.id}`,
      'offset',
      offset,
      RangeError,
    );
  }
  return offset / 4;
}

function deadlineOf(timeoutMs: number | undefined): number {
  if (timeoutMs === undefined || timeoutMs === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (!(timeoutMs >= 0)) throw new RangeError(`Expected a timeout >= 0 (ms) but received ${timeoutMs}`);
  return performance.now() + timeoutMs;
}

/** Milliseconds left (Infinity for no deadline, 0 when past it). */
function remaining(deadline: number): number {
  if (deadline === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  const left = deadline - performance.now();
  return Math.max(left, 0);
}
