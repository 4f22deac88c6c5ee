import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach } from 'vitest';
import type { MmapShare } from '../src/index.js';

/** Node arguments that let a child load TypeScript and the workspace packages' sources. */
export const execArgv = ['--conditions=@shm/source', '--import', 'tsx'];

export const childScript = fileURLToPath(new URL('./fixtures/child.ts', import.meta.url));
export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** stdio for share.fork() in tests: the child's output goes to ours, messages through IPC. */
export const forkStdio = ['ignore', 'inherit', 'inherit', 'ipc'] as const;

const children = new Set<ChildProcess>();
const shares = new Set<MmapShare>();

/** Kills what a test left running and closes its shares. */
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
  for (const s of shares) s.close();
  shares.clear();
});

/** Registers a share to close after the test. */
export function track<T extends MmapShare>(s: T): T {
  shares.add(s);
  return s;
}

export interface Messages {
  child: ChildProcess;
  all: any[];
  next(match?: (m: any) => boolean, timeoutMs?: number): Promise<any>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Collects a child's IPC messages; next() waits for the next one (matching `match`) not yet returned. */
export function messages(child: ChildProcess): Messages {
  children.add(child);
  const all: any[] = [];
  let consumed = 0;
  const listeners = new Set<() => void>();
  child.on('message', (m) => {
    all.push(m);
    for (const l of listeners) l();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => setImmediate(() => resolve({ code, signal })));
  });
  return {
    child,
    all,
    exited,
    next(match = () => true, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (let i = consumed; i < all.length; i++) {
            if (match(all[i])) {
              consumed = i + 1;
              done();
              resolve(all[i]);
              return true;
            }
          }
          return false;
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `child ${child.pid} sent no matching message in ${timeoutMs} ms: ${JSON.stringify(all)}`,
            ),
          );
        }, timeoutMs);
        const onExit = () =>
          setImmediate(() => {
            if (check()) return;
            done();
            reject(
              new Error(
                `child ${child.pid} exited before sending a matching message: ${JSON.stringify(all)}`,
              ),
            );
          });
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        if (check()) return;
        listeners.add(check);
        child.on('exit', onExit);
      });
    },
  };
}

/** A URL a worker_threads Worker can start that registers tsx and then runs the TypeScript `script`. */
export function tsWorkerUrl(script: string): URL {
  const tsxApi = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/index\.cjs$/, 'index.mjs'),
  ).href;
  const target = pathToFileURL(script).href;
  const boot = `import { register } from ${JSON.stringify(tsxApi)}; register(); await import(${JSON.stringify(target)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}

/** Whether a process is still there (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Every process that maps the file (dev, ino) or holds an fd to it, found by reading /proc/<pid>/maps and
 * stat-ing /proc/<pid>/fd/*. Processes we may not inspect are skipped.
 */
export function holdersOf(dev: number, ino: number): { pid: number; how: 'map' | 'fd' }[] {
  const out: { pid: number; how: 'map' | 'fd' }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
        // address perms offset dev inode path
        const f = line.split(/\s+/);
        if (f[4] === String(ino) && line.includes('/memfd:')) {
          out.push({ pid, how: 'map' });
          break;
        }
      }
    } catch {
      /* gone, or not ours to read */
    }
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          const st = statSync(`/proc/${pid}/fd/${fd}`);
          if (st.ino === ino && st.dev === dev) {
            out.push({ pid, how: 'fd' });
            break;
          }
        } catch {
          /* closed meanwhile */
        }
      }
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}
