// The peer protocol of the Windows suites (packages/*/test-win32): unique names, command-driven peer processes
// and the loop a peer runs. Plain JS with no @shm import, so every suite can use it whatever it loads.
import { fork } from 'node:child_process';

let counter = 0;
/** A name no other test (or earlier run) uses. */
export function uniqueName(tag) {
  counter += 1;
  return `shm-test-${process.pid}-${Date.now().toString(36)}-${counter}-${tag}`;
}

/**
 * Forks a command-driven peer (a fixture that calls servePeer): `call(op, args)` sends one command and resolves with
 * its reply (rejects with the peer's error, code included); `post` does not wait; `kill()` ends it with
 * TerminateProcess; `exited` resolves with its exit code.
 */
export function spawnPeer(fixture) {
  const child = fork(fixture, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let seq = 0;
  const pending = new Map();
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      for (const p of pending.values())
        p.reject(new Error(`peer exited (${code ?? signal}) before replying`));
      pending.clear();
      resolve(code ?? signal);
    });
  });
  const ready = new Promise((resolve) => child.once('message', resolve));
  child.on('message', (m) => {
    const p = pending.get(m.seq);
    if (!p) return;
    pending.delete(m.seq);
    if (m.error) p.reject(Object.assign(new Error(m.error.message), m.error));
    else p.resolve(m.result);
  });
  return {
    pid: child.pid,
    ready,
    exited,
    call(op, args = {}) {
      seq += 1;
      const id = seq;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ seq: id, op, ...args });
      });
    },
    post(op, args = {}) {
      const p = this.call(op, args);
      p.catch(() => {});
      return p;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

/** The peer side: runs `ops[m.op](m)` for each command (awaiting promises) and replies with its result or error. */
export function servePeer(ops) {
  process.on('message', async (m) => {
    try {
      const result = await ops[m.op](m);
      process.send({ seq: m.seq, result });
    } catch (e) {
      process.send({ seq: m.seq, error: { message: e.message, code: e.code, name: e.name } });
    }
  });
  process.send('ready');
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
