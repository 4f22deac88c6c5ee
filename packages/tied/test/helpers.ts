import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Peer, spawnPeer, uniqueName } from '@shm/test-utils';
import { afterEach, beforeEach } from 'vitest';
import { removeAll, type TieOptions } from '../src/index.js';

const peerScript = fileURLToPath(new URL('./fixtures/tied-peer.ts', import.meta.url));

/** Per-test namespace, peers and cleanup: every test removes its variables (and nested segments) even on failure. */
export function useNamespace(): {
  ns: () => string;
  peer: (kind: 'hash' | 'array' | 'scalar', name: string | undefined, options?: TieOptions) => Peer;
  extra: (() => void)[];
} {
  let ns = '';
  let peers: Peer[] = [];
  const extra: (() => void)[] = [];
  beforeEach(() => {
    ns = uniqueName(); // shmtest-<run>-…: inside the prefix the leak check watches
  });
  afterEach(async () => {
    for (const p of peers) p.kill('SIGKILL');
    await Promise.all(peers.map((p) => p.exited));
    peers = [];
    for (const f of extra.splice(0)) {
      try {
        f();
      } catch {
        /* best effort */
      }
    }
    removeAll({ namespace: ns });
  });
  function startPeer(kind: 'hash' | 'array' | 'scalar', name: string | undefined, options: TieOptions = {}) {
    const p = spawnPeer(peerScript, [JSON.stringify({ kind, name, options: { namespace: ns, ...options } })]);
    peers.push(p);
    return p;
  }
  return { ns: () => ns, peer: startPeer, extra };
}

let seq = 0;

/** Runs `code` in a peer (body of an async function of v, api, state) and returns its result. */
export async function run(p: Peer, code: string, timeoutMs = 30_000): Promise<any> {
  const id = ++seq;
  p.send({ id, code });
  const m = await p.next((x) => x.id === id || x.fatal !== undefined, timeoutMs);
  if (m.fatal !== undefined) throw new Error(`peer failed to tie: ${m.fatal}`);
  if (m.error !== undefined) throw Object.assign(new Error(m.error), { code: m.code });
  return m.result;
}

export async function ready(p: Peer): Promise<void> {
  const m = await p.next((x) => x.ready === true || x.fatal !== undefined);
  if (m.fatal !== undefined) throw new Error(`peer failed to tie: ${m.fatal}`);
}

/** The /dev/shm objects of namespace `ns`. */
export function segments(ns: string): string[] {
  return readdirSync('/dev/shm')
    .filter((f) => f.startsWith(`${ns}.`))
    .sort();
}
