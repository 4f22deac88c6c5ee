// Shared by the Windows suite: loads @shm/native compiled to plain JS (tools/windows/stage-js.sh builds it, and
// run-tests.sh points SHM_NATIVE_DIST at it and SHM_NATIVE_PATH at the MinGW-built addon), names, and peers.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist =
  process.env.SHM_NATIVE_DIST ??
  join(here, '..', '..', '..', 'tools', 'windows', '.cache', 'js', 'node_modules', '@shm', 'native', 'dist');

/** The @shm/native module (the compiled src/index.ts). */
export const native = await import(pathToFileURL(join(dist, 'index.js')).href);

let counter = 0;
/** A name no other test (or earlier run) uses. */
export function uniqueName(tag) {
  counter += 1;
  return `shm-test-${process.pid}-${Date.now().toString(36)}-${counter}-${tag}`;
}

/**
 * Forks fixtures/peer.mjs: `call(op, args)` sends one command and resolves with its reply (rejects with the
 * peer's error); `kill()` ends it with TerminateProcess; `exited` resolves with its exit code.
 */
export function spawnPeer() {
  const child = fork(join(here, 'fixtures', 'peer.mjs'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
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
  child.on('message', (m) => {
    const p = pending.get(m.seq);
    if (!p) return;
    pending.delete(m.seq);
    if (m.error) p.reject(Object.assign(new Error(m.error.message), m.error));
    else p.resolve(m.result);
  });
  const ready = new Promise((resolve) => child.once('message', resolve));
  return {
    pid: child.pid,
    ready,
    exited,
    /** Sends a command; the peer replies when it has run it. */
    call(op, args = {}) {
      seq += 1;
      const id = seq;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ seq: id, op, ...args });
      });
    },
    /** Sends a command without waiting for its reply (one that blocks, such as a sync acquire). */
    post(op, args = {}) {
      const p = this.call(op, args);
      p.catch(() => {});
      return p;
    },
    kill() {
      child.kill('SIGKILL');
      return exited;
    },
  };
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
