import { fileURLToPath } from 'node:url';
import { type Peer, spawnPeer, uniqueKey } from '@shm/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ShareLite } from '../src/index.js';
import { cmd, perlPeer, purge, stopPeer } from './helpers.js';

const watchPeer = fileURLToPath(new URL('./fixtures/watch-peer.ts', import.meta.url));
let key = 0;
const peers: Peer[] = [];
const shares: ShareLite[] = [];

beforeEach(() => {
  key = uniqueKey();
});
afterEach(async () => {
  for (const p of peers.splice(0)) {
    p.kill('SIGKILL');
    await p.exited;
  }
  for (const s of shares.splice(0)) {
    try {
      s.close();
    } catch {
      /* removed already */
    }
  }
  purge(key);
});

function open(): ShareLite {
  const s = new ShareLite({ key, create: true, destroy: false });
  shares.push(s);
  return s;
}

function peer(mode: string, arg: string): Peer {
  const p = spawnPeer(watchPeer, [String(key), mode, arg]);
  peers.push(p);
  return p;
}

describe('ShareLite change notification (polling the version)', () => {
  it('waitForChangeAsync wakes with the version of a store by a Perl process', async () => {
    const share = open();
    const perl = await perlPeer();
    try {
      await cmd(perl, { cmd: 'open', key, create: 'no' });
      const from = share.version();
      const pending = share.waitForChangeAsync(from, 20_000);
      const stored = await cmd(perl, { cmd: 'store', text: 'from perl' });
      expect(await pending).toBe(stored.version);
      expect(share.fetch().toString()).toBe('from perl');
    } finally {
      await stopPeer(perl);
    }
  });

  it('a child blocked in waitForChange wakes with this process’s store', async () => {
    const share = open();
    const p = peer('wait', '20000');
    const ready = await p.next((m) => m.ready);
    expect(ready.version).toBe(share.version());
    await new Promise((r) => setTimeout(r, 100));
    share.store('new');
    const r = await p.next((m) => 'woke' in m);
    expect(r.woke).toBe(share.version());
  });

  it('times out with undefined, and a child polling for 2 s costs little CPU', async () => {
    const share = open();
    expect(share.waitForChange(share.version(), 0)).toBeUndefined();
    const t = performance.now();
    expect(await share.waitForChangeAsync(share.version(), 60, { pollMs: 5 })).toBeUndefined();
    expect(performance.now() - t).toBeGreaterThanOrEqual(55);
    const p = peer('wait', '2000');
    const r = await p.next((m) => 'woke' in m, 30_000);
    expect(r.woke).toBeNull();
    expect(r.ms).toBeGreaterThanOrEqual(1990);
    // 200 polls (one header load and one semctl each) in 2 s: the README states what this costs.
    console.log(`ShareLite: waiting 2 s with the default 10 ms poll used ${r.cpuMs.toFixed(1)} ms of CPU`);
    expect(r.cpuMs).toBeLessThan(100);
  });

  it('changes() gives a slow consumer 300 stores in version order, each value matching its version', async () => {
    const share = open();
    const p = peer('burst', '300');
    await p.next((m) => m.ready);
    const it = share.changes({ pollMs: 1 });
    const seen: number[] = [];
    let last = -1;
    p.next((m) => m.done).then((m) => {
      last = m.last;
    });
    p.send('go');
    for await (const { serial, value } of it) {
      const [tag, pad] = value.toString().split(':');
      expect(Number(tag)).toBe(serial);
      expect(pad).toBe('x'.repeat(serial % 100));
      if (seen.length) expect(serial).toBeGreaterThan(seen.at(-1)!);
      seen.push(serial);
      await new Promise((r) => setTimeout(r, 2));
      if (serial === last) break;
    }
    expect(seen.at(-1)).toBe(last);
  });

  it('a watcher gets ERR_SHM_CLOSED when the share is destroyed, and changes() ends on close()', async () => {
    const share = open();
    const other = new ShareLite({ key, create: false, destroy: false });
    const wait = share.waitForChangeAsync(share.version());
    const it = share.changes();
    const pending = it.next();
    await new Promise((r) => setTimeout(r, 30));
    other.destroy();
    await expect(wait).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED', message: /destroyed/ });
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
    const again = new ShareLite({ key, create: true, destroy: false });
    const it2 = again.changes();
    const p2 = it2.next();
    await new Promise((r) => setTimeout(r, 30));
    again.close();
    expect(await p2).toEqual({ done: true, value: undefined });
    await expect(again.waitForChangeAsync(0)).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
    expect(() => again.waitForChange(0)).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
  });

  it('refuses bad versions, timeouts and options', async () => {
    const share = open();
    expect(() => share.waitForChange('1' as never)).toThrow(TypeError);
    expect(() => share.waitForChange(-1)).toThrow(RangeError);
    expect(() => share.waitForChange(2 ** 32)).toThrow(RangeError);
    expect(() => share.waitForChange(0, -1)).toThrow(RangeError);
    expect(() => share.waitForChange(0, 1, { pollMs: 0 })).toThrow(RangeError);
    await expect(share.waitForChangeAsync(0, 'x' as never)).rejects.toThrow(TypeError);
    await expect(share.waitForChangeAsync(0, 1, { signal: 5 as never })).rejects.toThrow(TypeError);
    expect(() => share.changes({ since: 1.5 })).toThrow(RangeError);
    expect(() => share.changes('x' as never)).toThrow(TypeError);
  });
});
