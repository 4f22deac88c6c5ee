import { pbkdf2 } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadBinding } from '@shm/native';
import { type Peer, spawnPeer, uniqueName, waitFor } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_BYTES, LockStatus, Region, RwLock } from '../src/index.js';

// Async lock waits must not occupy libuv pool threads (docs/architecture/waiter.md): with the default pool of four,
// four parked waits used to stall every fs, dns, crypto and zlib call of the process.

const peerScript = fileURLToPath(new URL('./fixtures/hold-locks-peer.ts', import.meta.url));
const N = 64;
const pending = () =>
  (loadBinding() as unknown as { asyncWaitStats(): { pending: number } }).asyncWaitStats().pending;

let region: Region | undefined;
let peer: Peer | undefined;
afterEach(async () => {
  peer?.kill();
  await peer?.exited;
  peer = undefined;
  region?.destroy();
  region = undefined;
});

/** How long one fs.readFile, one crypto.pbkdf2 and one dns.lookup('localhost'), started together, take (ms). */
async function poolProbe(): Promise<number> {
  const t0 = performance.now();
  await Promise.all([
    readFile(fileURLToPath(import.meta.url)),
    promisify(pbkdf2)('secret', 'salt', 20_000, 32, 'sha256'),
    lookup('localhost'),
  ]);
  return performance.now() - t0;
}

async function medianProbe(runs = 7): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) t.push(await poolProbe());
  t.sort((a, b) => a - b);
  return t[runs >> 1]!;
}

describe('async lock waits and the libuv pool', () => {
  it(`leave fs, crypto and dns prompt while ${N} lockAsync calls wait on locks another process holds`, async () => {
    const name = uniqueName();
    region = Region.create({ name, size: N * LOCK_BYTES, exclusive: true, register: false });
    for (let i = 0; i < N; i++) RwLock.init(region, i * LOCK_BYTES);
    peer = spawnPeer(peerScript, [name, String(N)]);
    await peer.next((m) => m.held);

    await poolProbe(); // warm up (first dns lookup, crypto init)
    const idle = await medianProbe();

    const locks = Array.from({ length: N }, (_, i) => new RwLock(region!, i * LOCK_BYTES));
    const waits = locks.map((l) => l.lockAsync(60_000));
    for (const w of waits) w.catch(() => {}); // on failure, afterEach closes the region under them
    await waitFor(() => pending() === N, `${N} async waits to be parked`);
    const busy = await medianProbe();
    // Same-run ratio, generous for a loaded machine: with the waits on the pool this takes 160 ms and more.
    expect(busy).toBeLessThan(3 * idle + 50);
    expect(pending()).toBe(N); // still waiting: the probes ran beside them, not after them

    peer.send('release');
    await peer.next((m) => m.released);
    expect(await Promise.all(waits)).toEqual(locks.map(() => LockStatus.Acquired));
    for (const l of locks) {
      l.unlock();
      l.release();
    }
    console.log(`pool probe: ${idle.toFixed(1)} ms idle, ${busy.toFixed(1)} ms with ${N} waiters`);
  });

  it('take over from a SIGKILLed holder within the async liveness poll', async () => {
    const name = uniqueName();
    region = Region.create({ name, size: LOCK_BYTES, exclusive: true, register: false });
    RwLock.init(region, 0);
    peer = spawnPeer(peerScript, [name, '1']);
    await peer.next((m) => m.held);
    const lock = new RwLock(region, 0);
    const waiting = lock.lockAsync(30_000);
    await waitFor(() => pending() === 1, 'the async wait to be parked');
    const t0 = performance.now();
    peer.kill('SIGKILL');
    expect(await waiting).toBe(LockStatus.OwnerDied);
    expect(performance.now() - t0).toBeLessThan(5_000);
    lock.unlock();
    lock.release();
  });
});
