import { threadId as nodeThreadId } from 'node:worker_threads';
import { loadBinding } from './binding.js';
import type { ProcInfo } from './binding-types.js';
import { expected } from './errors.js';
import { checkInt } from './validate.js';

// The id a lock writes into its owner words and the check whether that owner still lives come from one object,
// built per platform from the same system calls, so that they cannot disagree. They once did: on macOS the owner
// word held a thread id (pthread_threadid_np) while liveness asked kill(id, 0), which knows only pids, so a live
// holder was judged dead and its lock taken over. docs/decisions/0008-owner-identity.md explains the choice.

/**
 * Who owns a lock word, and whether that owner still lives. One implementation per platform
 * (`ownerIdentity()`), and one over an in-memory process table for tests (`MemoryProcessTable`).
 */
export interface OwnerIdentity {
  /** The platform whose ids these are: `linux`, `darwin` or `win32`. */
  readonly platform: 'linux' | 'darwin' | 'win32';
  /**
   * The calling thread's owner id: an integer from 1 to 2^30-1 that no other live thread of this machine (pid
   * namespace) has, as far as the platform allows (see each platform's notes in decision 0008).
   */
  id(): number;
  /**
   * The start time of the task that owner `id` names, reduced to an unsigned 32-bit integer (0: unknown). A lock
   * stores it beside the id so that a reused id is not taken for the same owner.
   */
  startTime(id: number): number;
  /**
   * Whether owner `id` lives: false if its task is gone or a zombie, or if `startTime` (as `startTime()` returned
   * it; 0: do not compare) differs from the task's now, which means the id was reused.
   */
  alive(id: number, startTime?: number): boolean;
}

/** The system calls an identity is built from (the addon's, or a `MemoryProcessTable`'s). */
export interface ProcessCalls {
  /** This process's id. */
  getpid(): number;
  /** The calling thread's system-wide id (Linux `gettid`, macOS `pthread_threadid_np`, Windows `GetCurrentThreadId`). */
  gettid(): number;
  /** The calling thread's index within its process: Node's `worker_threads.threadId` (0 for the main thread). */
  threadIndex(): number;
  /** State and start time of the process (or, where the platform can, the thread) with this id; null if none. */
  procInfo(id: number): ProcInfo | null;
}

/** macOS pids stay below PID_MAX = 99999 < 2^17: the low 17 bits of a darwin owner id are the pid. */
const DARWIN_PID_BITS = 17;
const DARWIN_PID_MASK = (1 << DARWIN_PID_BITS) - 1;
/** The thread discriminator takes the next 13 bits, so the id stays below 2^30. */
const DARWIN_THREAD_MASK = (1 << 13) - 1;

function liveInfo(p: ProcInfo | null, start32: number): boolean {
  if (p === null || p.state === 'Z' || p.state === 'X' || p.state === 'x') return false;
  if (start32 === 0 || p.startTime === 0) return true;
  return (p.startTime | 0) >>> 0 === start32 >>> 0;
}

function checkPlatform(v: unknown): 'linux' | 'darwin' | 'win32' {
  if (v !== 'linux' && v !== 'darwin' && v !== 'win32')
    throw expected(
      "'linux', 'darwin' or 'win32'",
      'platform',
      v,
      typeof v === 'string' ? RangeError : TypeError,
    );
  return v;
}

function checkCalls(v: unknown): ProcessCalls {
  if (typeof v !== 'object' || v === null) throw expected('an object of process calls', 'calls', v);
  for (const k of ['getpid', 'gettid', 'threadIndex', 'procInfo'] as const) {
    if (typeof (v as Record<string, unknown>)[k] !== 'function')
      throw expected('a function', `calls.${k}`, (v as Record<string, unknown>)[k]);
  }
  return v as ProcessCalls;
}

/**
 * The owner identity of `platform`, built from `calls`:
 * - `linux`: the thread id (`gettid`); alive if `/proc/<tid>/stat` exists and is no zombie.
 * - `win32`: the thread id (`GetCurrentThreadId`; thread and process ids share one pool); alive if `OpenThread`
 *   finds it still running.
 * - `darwin`: the pid in the low 17 bits and the worker thread index (mod 8192) above them; alive if the
 *   process lives (`kill(pid, 0)` and `proc_pidinfo`), since macOS cannot ask whether another process's thread
 *   lives. A worker thread that dies holding a lock inside a process that lives on is therefore not recovered.
 */
export function ownerIdentityFor(platform: 'linux' | 'darwin' | 'win32', calls: ProcessCalls): OwnerIdentity {
  const p = checkPlatform(platform);
  const c = checkCalls(calls);
  // Per thread (module state is per thread): the id and its start time are asked once.
  let own = 0;
  let ownStart = 0;
  const task = p === 'darwin' ? (id: number) => id & DARWIN_PID_MASK : (id: number) => id;
  const startOf = (id: number) => {
    const info = c.procInfo(task(id));
    return info === null ? 0 : (info.startTime | 0) >>> 0;
  };
  return {
    platform: p,
    id(): number {
      if (own === 0) {
        own =
          p === 'darwin'
            ? (c.getpid() & DARWIN_PID_MASK) | ((c.threadIndex() & DARWIN_THREAD_MASK) << DARWIN_PID_BITS)
            : c.gettid();
      }
      return own;
    },
    startTime(id: number): number {
      checkInt(id, 'id', 1);
      if (id === own && ownStart !== 0) return ownStart;
      const s = startOf(id);
      if (id === own) ownStart = s;
      return s;
    },
    alive(id: number, startTime = 0): boolean {
      if (typeof id !== 'number') throw expected('an owner id (number)', 'id', id);
      if (typeof startTime !== 'number') throw expected('a start time (number)', 'startTime', startTime);
      if (!(id > 0) || !Number.isInteger(id)) return false;
      return liveInfo(c.procInfo(task(id)), startTime);
    },
  };
}

let current: OwnerIdentity | undefined;

/** The owner identity of this platform, over the addon's system calls (one per thread). */
export function ownerIdentity(): OwnerIdentity {
  if (current === undefined) {
    const b = loadBinding();
    current = ownerIdentityFor(b.features.platform, {
      getpid: () => b.getpid(),
      gettid: () => b.gettid(),
      threadIndex: () => nodeThreadId,
      procInfo: (id) => b.procInfo(id),
    });
  }
  return current;
}

interface FakeTask {
  pid: number;
  index: number;
  start: number;
  state: 'R' | 'Z';
}

/**
 * An in-memory process table that answers `ProcessCalls` as `platform`'s kernel would, for unit tests of
 * identities and locks: on `darwin` `procInfo` knows processes only (as `kill`/`proc_pidinfo` do), on `linux` and
 * `win32` threads too. Thread ids are large and distinct from pids, as on macOS and Linux.
 */
export class MemoryProcessTable implements ProcessCalls {
  /** The platform whose kernel this table imitates. */
  readonly platform: 'linux' | 'darwin' | 'win32';
  readonly #procs = new Map<number, FakeTask & { threads: number }>();
  readonly #threads = new Map<number, FakeTask>();
  #nextPid = 100;
  #nextTid = 0x2000_0000 + 7;
  #clock = 1000;
  #running = 0;

  /** An empty table for `platform`; start a process with `startProcess()`. */
  constructor(platform: 'linux' | 'darwin' | 'win32') {
    this.platform = checkPlatform(platform);
  }

  /** Starts a process with one (main) thread, which becomes the calling thread. Returns the main thread's id. */
  startProcess(): number {
    const pid = this.#nextPid++;
    this.#procs.set(pid, { pid, index: 0, start: this.#clock++, state: 'R', threads: 0 });
    return this.startThread(pid);
  }

  /** Starts another thread in process `pid` (worker index 1, 2, ...), which becomes the calling thread. Returns its id. */
  startThread(pid: number): number {
    const p = this.#procs.get(checkInt(pid, 'pid', 1));
    if (!p) throw expected('the pid of a running process of this table', 'pid', pid, RangeError);
    const tid = this.#nextTid;
    this.#nextTid += 13;
    this.#threads.set(tid, { pid, index: p.threads++, start: this.#clock++, state: 'R' });
    this.#running = tid;
    return tid;
  }

  /** Makes `tid` the calling thread: what `getpid`, `gettid` and `threadIndex` answer. */
  run(tid: number): void {
    if (!this.#threads.has(checkInt(tid, 'tid', 1)))
      throw expected('a thread id of this table', 'tid', tid, RangeError);
    this.#running = tid;
  }

  /** Ends process `pid` and all its threads (they read as gone, not as zombies). */
  kill(pid: number): void {
    checkInt(pid, 'pid', 1);
    this.#procs.delete(pid);
    for (const [tid, t] of this.#threads) if (t.pid === pid) this.#threads.delete(tid);
  }

  /** The calling thread's process id. */
  getpid(): number {
    return this.#current().pid;
  }

  /** The calling thread's id. */
  gettid(): number {
    this.#current();
    return this.#running;
  }

  /** The calling thread's index in its process (0: main thread). */
  threadIndex(): number {
    return this.#current().index;
  }

  /** `{ state, startTime }` of process `id` (or on linux/win32 of thread `id`), or null. */
  procInfo(id: number): ProcInfo | null {
    checkInt(id, 'id');
    const t = this.#procs.get(id) ?? (this.platform === 'darwin' ? undefined : this.#threads.get(id));
    return t ? { state: t.state, startTime: t.start } : null;
  }

  #current(): FakeTask {
    const t = this.#threads.get(this.#running);
    if (!t) throw new RangeError('Expected a running thread in this MemoryProcessTable but received none');
    return t;
  }
}
