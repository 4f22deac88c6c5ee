import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { loadBinding } from '../src/index.js';

/** Absolute path of a peer script in test/fixtures/. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/**
 * A peer started with child_process.fork, the way @shm/mmap-share hands an anonymous area to a child: extra fds go
 * in the stdio array after the IPC slot, so `extraFds[0]` is fd 4 in the child. Messages come over the IPC channel.
 */
export interface ForkedPeer {
  child: ChildProcess;
  next(match?: (m: any) => boolean, timeoutMs?: number): Promise<any>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Node arguments that let a peer import the workspace packages from their TypeScript sources. */
const nodeSourceArgs = ['--conditions=@shm/source', '--import', 'tsx'];

export function forkPeer(script: string, args: string[], extraFds: number[]): ForkedPeer {
  const child = fork(script, args, {
    execArgv: nodeSourceArgs,
    stdio: ['pipe', 'pipe', 'pipe', 'ipc', ...extraFds],
  });
  const messages: any[] = [];
  const waiters: { match: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  let stderr = '';
  let consumed = 0;
  child.stderr?.on('data', (d) => (stderr += String(d)));
  child.stdout?.resume();
  child.on('message', (m) => {
    messages.push(m);
    for (const w of [...waiters]) {
      if (w.match(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        consumed = messages.length;
        w.resolve(m);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('exit', (code, signal) => setImmediate(() => resolve({ code, signal, stderr }))),
  );
  return {
    child,
    exited,
    next(match = () => true, timeoutMs = 20_000) {
      for (let i = consumed; i < messages.length; i++) {
        if (match(messages[i])) {
          consumed = i + 1;
          return Promise.resolve(messages[i]);
        }
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `forked ${script} sent no matching message; got ${JSON.stringify(messages)}; ${stderr}`,
              ),
            ),
          timeoutMs,
        );
        const entry = {
          match,
          resolve: (m: any) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        waiters.push(entry);
        void exited.then((r) => {
          if (!waiters.includes(entry)) return;
          clearTimeout(timer);
          reject(
            new Error(`forked ${script} exited (${r.code ?? r.signal}) before sending; stderr: ${r.stderr}`),
          );
        });
      });
    },
  };
}

/**
 * True while the task `tid` sleeps in a shared (not FUTEX_PRIVATE) FUTEX_WAIT, read from /proc/<tid>/syscall.
 * Node's own threads only use private futexes, so this identifies a wait made through @shm/native.
 */
export function inSharedFutexWait(tid: number): boolean {
  // Under qemu-user (tools/scripts/arm64-check.sh) /proc shows the host's syscall numbers, which it names here.
  const arch = process.env.SHM_TEST_SYSCALL_ARCH ?? process.arch;
  const nr = ({ x64: 202, arm64: 98 } as Record<string, number>)[arch];
  if (nr === undefined) throw new Error(`no futex syscall number known for ${arch}`);
  let line: string;
  try {
    line = readFileSync(`/proc/${tid}/syscall`, 'utf8').trim();
  } catch {
    return false;
  }
  const [num, , op] = line.split(' ');
  return Number(num) === nr && Number(op) === 0; // FUTEX_WAIT without FUTEX_PRIVATE_FLAG
}

/** Lines of /proc/self/maps that mention `needle` (a memfd name, a path). */
export function mapsLines(needle: string): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes(needle)).length;
}

/** How many threads of process `pid` sleep in a shared FUTEX_WAIT (for waits running on libuv pool threads). */
export function threadsInSharedFutexWait(pid: number): number {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  return tids.filter((t) => inSharedFutexWait(Number(t))).length;
}

/** The name of thread `tid` of process `pid` ('' once it is gone). */
function threadName(pid: number, tid: string): string {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * How many words the async waiter of process `pid` sleeps on in the kernel right now: for a thread in
 * futex_waitv (syscall 449 on x64 and arm64) its futex count less the control word; for a thread in a shared
 * FUTEX_WAIT (the thread-per-wait fallback) one. Only the waiter's own threads count (the addon names them
 * shm-waitv and shm-waiter): other threads of the process may sleep in a shared FUTEX_WAIT too, as qemu-user's
 * RCU thread does in every emulated process.
 */
export function asyncWaitsInKernel(pid: number): number {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  let n = 0;
  for (const t of tids) {
    if (!threadName(pid, t).startsWith('shm-wait')) continue;
    if (inSharedFutexWait(Number(t))) {
      n++;
      continue;
    }
    let line: string;
    try {
      line = readFileSync(`/proc/${pid}/task/${t}/syscall`, 'utf8').trim();
    } catch {
      continue;
    }
    const [num, , count] = line.split(' ');
    if (Number(num) === 449) n += Number(count) - 1;
  }
  return n;
}

/** This env's async waiter, as the addon reports it. */
export function asyncWaitStats(): { backend: string; threads: number; pending: number } {
  return (loadBinding() as unknown as { asyncWaitStats(): any }).asyncWaitStats();
}

/** A list of cleanup functions run (last first) after each test, even when it failed. */
export function useCleanups(): (() => void)[] {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        c();
      } catch {
        /* already gone */
      }
    }
  });
  return cleanups;
}

/** The error `fn` throws; fails the test if it returns. */
export function errorOf(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw, but the call returned');
}
