import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { NodeSide } from './node-side.js';
import type { SideCommand, SideResult } from './side-protocol.js';

/** How the driver gives a side its commands, wherever the side runs. */
export interface SideCtl {
  /** Runs `c` and resolves with the side's answer; `onStarted` is called when a `pong` begins waiting. */
  run(c: SideCommand, onStarted?: () => void): Promise<SideResult>;
  /** Asks the side to close everything and end, waiting at most `ms`; kills it after that. */
  exit(ms: number): Promise<void>;
}

/** Process A of a Node contender: the driver process itself. */
export function inProcessSide(side: NodeSide): SideCtl {
  return {
    run: (c, onStarted) => side.handle(c, onStarted),
    exit: async () => {
      await side.handle({ cmd: 'exit' });
    },
  };
}

interface Pending {
  resolve(r: SideResult): void;
  reject(e: Error): void;
  onStarted?: (() => void) | undefined;
}

function exitOrKill(child: ChildProcess, ms: number, ask: () => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      ask();
    } catch {
      child.kill('SIGKILL');
    }
  });
}

function rejectAllOnExit(
  child: ChildProcess,
  pending: () => Iterable<Pending>,
  what: string,
  stderr: () => string,
) {
  child.once('exit', (code, signal) => {
    for (const p of pending())
      p.reject(new Error(`${what} exited (code ${code}, signal ${signal}) ${stderr()}`));
  });
}

/** Process B of a Node contender: the driver's forked child (peer.ts), over the IPC channel. */
export async function ipcSide(child: ChildProcess): Promise<SideCtl> {
  const pending = new Map<number, Pending>();
  let next = 0;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`process B exited (code ${code}) before it was ready`)));
    child.on('message', (m: any) => {
      if (m?.ctlReady) resolve();
      else if (m?.ctlStarted !== undefined) pending.get(m.ctlStarted)?.onStarted?.();
      else if (m?.ctlResult !== undefined) {
        pending.get(m.ctlResult)?.resolve(m.result);
        pending.delete(m.ctlResult);
      }
    });
  });
  rejectAllOnExit(
    child,
    () => pending.values(),
    'process B',
    () => '',
  );
  await ready;
  return {
    run(c, onStarted) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, onStarted });
        child.send({ ctl: c, id });
      });
    },
    exit: (ms) => exitOrKill(child, ms, () => child.send({ ctl: { cmd: 'exit' }, id: next++ })),
  };
}

/** A side of an external contender: one JSON object per line on the child's stdin and stdout. */
export function stdioSide(child: ChildProcess, what: string): SideCtl {
  const queue: Pending[] = [];
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let m: SideResult;
    try {
      m = JSON.parse(line) as SideResult;
    } catch {
      queue.shift()?.reject(new Error(`${what} printed a line that is not JSON: ${line}`));
      return;
    }
    if (m.started) queue[0]?.onStarted?.();
    else queue.shift()?.resolve(m);
  });
  rejectAllOnExit(
    child,
    () => queue.splice(0),
    what,
    () => stderr.trim(),
  );
  return {
    run(c, onStarted) {
      return new Promise((resolve, reject) => {
        queue.push({ resolve, reject, onStarted });
        child.stdin!.write(`${JSON.stringify(c)}\n`);
      });
    },
    exit: (ms) =>
      exitOrKill(child, ms, () => {
        child.stdin!.write(`${JSON.stringify({ cmd: 'exit' })}\n`);
        child.stdin!.end();
      }),
  };
}
