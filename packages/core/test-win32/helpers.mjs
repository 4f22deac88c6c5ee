// Shared by the Windows suites of @shm/core and @shm/tied: the packages compiled to plain JS (tools/windows/stage-js.sh
// lays them out as a node_modules tree in SHM_JS_STAGE; SHM_NATIVE_PATH points at the MinGW-built addon), unique
// names, a private registry folder, and command-driven peer processes.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const stage = process.env.SHM_JS_STAGE ?? join(here, '..', '..', '..', 'tools', 'windows', '.cache', 'js');

/** Imports a staged package: `await load('core')`. */
export function load(pkg) {
  return import(pathToFileURL(join(stage, 'node_modules', '@shm', pkg, 'dist', 'index.js')).href);
}

export const core = await load('core');
export const native = await load('native');

// Each test process (and its peers, which inherit the variable) records created objects in its own registry folder.
if (!process.env.SHM_REGISTRY_DIR) {
  process.env.SHM_REGISTRY_DIR = mkdtempSync(join(tmpdir(), 'shm-registry-test-'));
  const dir = process.env.SHM_REGISTRY_DIR;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
}

let counter = 0;
/** A name no other test (or earlier run) uses. */
export function uniqueName(tag) {
  counter += 1;
  return `shm-test-${process.pid}-${Date.now().toString(36)}-${counter}-${tag}`;
}

/** A fresh folder under the temp dir, removed by the returned function. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'shm-win32-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
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

/** Bytes 0..n-1 of a pattern that differs per `seed`, so a misplaced or stale chunk is caught. */
export function pattern(n, seed) {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
    if (i + 1 < n) out[i + 1] = (x >>> 8) & 0xff;
    if (i + 2 < n) out[i + 2] = (x >>> 16) & 0xff;
    if (i + 3 < n) out[i + 3] = (x >>> 24) & 0xff;
  }
  return out;
}
