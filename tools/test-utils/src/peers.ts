import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * A peer process started by a test. Peers print one JSON object per line on stdout; `messages` collects them
 * and `next()` waits for the next one (or one matching a predicate).
 */
export interface Peer {
  child: ChildProcess;
  pid: number;
  messages: any[];
  stderr: string[];
  next(match?: (m: any) => boolean, timeoutMs?: number): Promise<any>;
  send(line: string | object): void;
  exited: Promise<PeerResult>;
  kill(signal?: NodeJS.Signals): void;
}

export interface PeerResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  messages: any[];
  stderr: string;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function attach(child: ChildProcess, label: string): Peer {
  live.add(child);
  const messages: any[] = [];
  const stderr: string[] = [];
  const waiters: { match: (m: any) => boolean; resolve: (m: any) => void; seen: number }[] = [];
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (line) => {
    let msg: any;
    try {
      msg = JSON.parse(line);
    } catch {
      msg = { text: line };
    }
    messages.push(msg);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.match(msg)) {
        waiters.splice(i, 1);
        w.resolve(msg);
      }
    }
  });
  child.stderr?.on('data', (d) => stderr.push(String(d)));
  const exited = new Promise<PeerResult>((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      // Let readline drain the last lines before resolving.
      setImmediate(() => resolve({ code, signal, messages, stderr: stderr.join('') }));
    });
  });
  let consumed = 0;
  return {
    child,
    pid: child.pid!,
    messages,
    stderr,
    exited,
    send(line) {
      child.stdin?.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`);
    },
    kill(signal = 'SIGKILL') {
      child.kill(signal);
    },
    next(match = () => true, timeoutMs = 20_000) {
      for (let i = consumed; i < messages.length; i++) {
        if (match(messages[i])) {
          consumed = i + 1;
          return Promise.resolve(messages[i]);
        }
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `${label} (pid ${child.pid}) sent no matching message in ${timeoutMs} ms; got ${JSON.stringify(
                messages,
              )}; stderr: ${stderr.join('')}`,
            ),
          );
        }, timeoutMs);
        const entry = {
          match,
          seen: 0,
          resolve: (m: any) => {
            clearTimeout(timer);
            consumed = messages.indexOf(m) + 1;
            resolve(m);
          },
        };
        waiters.push(entry);
        exited.then((r) => {
          if (waiters.includes(entry)) {
            clearTimeout(timer);
            reject(
              new Error(
                `${label} exited (code ${r.code}, signal ${r.signal}) before sending; stderr: ${r.stderr}`,
              ),
            );
          }
        });
      });
    },
  };
}

/** Node arguments that let a peer import workspace packages from their TypeScript sources. */
export const nodeSourceArgs = ['--conditions=@shm/source', '--import', 'tsx'];

/**
 * Starts `node <script> ...args` with TypeScript support. `stdio` may add extra slots (for passing fds).
 */
export function spawnPeer(
  script: string,
  args: string[] = [],
  opts: { env?: Record<string, string>; stdio?: StdioOptions; uid?: number; gid?: number; cwd?: string } = {},
): Peer {
  const stdio = (opts.stdio as any[]) ?? ['pipe', 'pipe', 'pipe'];
  const child = spawn(process.execPath, [...nodeSourceArgs, script, ...args], {
    stdio,
    env: { ...process.env, ...opts.env },
    uid: opts.uid,
    gid: opts.gid,
    cwd: opts.cwd,
  });
  return attach(child, `peer ${script}`);
}

/** Runs a peer to completion and returns its result. */
export async function runPeer(
  script: string,
  args: string[] = [],
  opts: Parameters<typeof spawnPeer>[2] = {},
) {
  const p = spawnPeer(script, args, opts);
  return p.exited;
}

/** Starts `perl <script> ...args`; the script prints JSON lines like a Node peer. */
export function runPerl(
  script: string,
  args: string[] = [],
  opts: { env?: Record<string, string> } = {},
): Peer {
  const child = spawn('perl', [script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  return attach(child, `perl ${script}`);
}
