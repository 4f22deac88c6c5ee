import { fileURLToPath } from 'node:url';
import { sysv } from '@shm/core';
import { type Peer, runPerl, spawnPeer } from '@shm/test-utils';

export { md5, pattern } from './pattern.js';

export const PERL_PEER = fileURLToPath(new URL('./fixtures/perl-peer.pl', import.meta.url));
export const NODE_PEER = fileURLToPath(new URL('./fixtures/node-peer.ts', import.meta.url));

let nextId = 1;
const exitedPeers = new WeakSet<Peer>();

async function ready(p: Peer): Promise<Peer> {
  p.exited.then(() => exitedPeers.add(p));
  await p.next((m) => m.ready === 1);
  return p;
}

export function perlPeer(): Promise<Peer> {
  return ready(runPerl(PERL_PEER));
}

export function nodePeer(opts: Parameters<typeof spawnPeer>[2] = {}): Promise<Peer> {
  return ready(spawnPeer(NODE_PEER, [], opts));
}

/** A command in flight: `begun` resolves when the peer starts it (it may then block), `done` with its reply. */
export interface Pending {
  id: number;
  begun: Promise<any>;
  done: Promise<any>;
  /** The reply if it has arrived, else undefined (never waits). */
  peek(): any;
}

function waitMsg(p: Peer, match: (m: any) => boolean, what: string, timeoutMs = 60_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      const m = p.messages.find(match);
      if (m) return resolve(m);
      if (exitedPeers.has(p))
        return reject(new Error(`peer ${p.pid} exited before ${what}; stderr: ${p.stderr.join('')}`));
      if (Date.now() > deadline) return reject(new Error(`peer ${p.pid}: no ${what} in ${timeoutMs} ms`));
      setTimeout(tick, 2);
    };
    tick();
  });
}

export function send(p: Peer, cmd: Record<string, unknown>): Pending {
  const id = nextId++;
  p.send({ ...cmd, id });
  const isReply = (m: any) => m.id === id && (m.ok === 1 || m.error !== undefined);
  return {
    id,
    begun: waitMsg(p, (m) => m.id === id && m.begin !== undefined, `begin of ${cmd.cmd} #${id}`),
    done: waitMsg(p, isReply, `reply to ${cmd.cmd} #${id}`),
    peek: () => p.messages.find(isReply),
  };
}

/** Sends a command and waits for a successful reply (throws with the peer's error otherwise). */
export async function cmd(p: Peer, c: Record<string, unknown>): Promise<any> {
  const r = await send(p, c).done;
  if (r.error !== undefined) throw new Error(`peer ${c.cmd} failed: ${r.error} (errno ${r.errno})`);
  return r;
}

/** Sends a command that is expected to fail and returns the error reply. */
export async function cmdError(p: Peer, c: Record<string, unknown>): Promise<any> {
  const r = await send(p, c).done;
  if (r.error === undefined) throw new Error(`peer ${c.cmd} unexpectedly succeeded: ${JSON.stringify(r)}`);
  return r;
}

/** Ends a peer: asks it to exit, kills it if it does not, and waits. */
export async function stopPeer(p: Peer | undefined): Promise<void> {
  if (!p || exitedPeers.has(p)) return;
  p.send({ cmd: 'exit', id: 0 });
  const t = setTimeout(() => p.kill('SIGKILL'), 5000);
  await p.exited;
  clearTimeout(t);
}

/** The SysV objects whose key is in [key, key + span), as listSysv reports them. */
export function objectsInRange(key: number, span = 2048) {
  return sysv.listSysv().filter((e) => e.key >= key && e.key < key + span);
}

/**
 * Removes every segment and semaphore set whose key is in [key, key + span): a share's head (key), its chained
 * segments (key+1..) and its set. For afterEach, so a failing test leaves nothing behind.
 */
export function purge(key: number, span = 2048): void {
  for (const e of objectsInRange(key, span)) {
    try {
      if (e.kind === 'shm') sysv.shmRemove(e.id);
      else sysv.semRemove(e.id);
    } catch {
      /* already gone */
    }
  }
}

/** The head segment's header words {next, length, state, version} of the share with this key. */
export function rawHeader(key: number): {
  next: number;
  length: number;
  state: number;
  version: number;
  hex: string;
} {
  const m = sysv.shmat(sysv.shmget(key, 1, 0), { readonly: true });
  try {
    const i = new Int32Array(m.buffer!, 0, 4);
    const u = new Uint32Array(m.buffer!, 0, 4);
    return {
      next: i[0]!,
      length: i[1]!,
      state: u[2]!,
      version: u[3]!,
      hex: Buffer.from(m.buffer!, 0, 16).toString('hex'),
    };
  } finally {
    m.close();
  }
}

/** Writes one int32 header word of segment `shmid` (to corrupt a share on purpose). */
export function pokeHeader(shmid: number, word: number, value: number): void {
  const m = sysv.shmat(shmid);
  try {
    new Int32Array(m.buffer!, 0, 4)[word] = value;
  } finally {
    m.close();
  }
}

/** The semaphore values [init, readers, writer] of the share with this key. */
export function semValues(key: number): number[] {
  return sysv.semGetAll(sysv.semget(key, 0, 0));
}
