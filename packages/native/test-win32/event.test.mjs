// Named Win32 events: the cross-process wake-up that replaces futex wake on Windows.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { native, sleep, spawnPeer, uniqueName } from './helpers.mjs';

const { Win32Event, Win32WaitResult, createWin32Mapping, win32OpenHandles } = native;
const { Signaled, TimedOut } = Win32WaitResult;

after(() => assert.equal(win32OpenHandles(), 0, 'every mutex and event id was closed'));

describe('a named event', () => {
  it('set in another process wakes a waiter here (async) and one blocked there (sync)', async () => {
    const name = uniqueName('ev');
    const back = uniqueName('ev-back');
    const e = Win32Event.open(name);
    const reply = Win32Event.open(back);
    const peer = spawnPeer();
    try {
      await peer.ready;
      const woken = e.waitAsync(20_000);
      await sleep(50);
      await peer.call('setEvent', { name });
      assert.equal(await woken, Signaled);
      const peerWaits = peer.call('waitEvent', { name: back, timeoutMs: 20_000 });
      await sleep(100);
      reply.set();
      assert.equal(await peerWaits, Signaled);
    } finally {
      await peer.kill();
      e.close();
      reply.close();
    }
  });

  it('auto-reset wakes one waiter per set and latches a set that comes before the wait', () => {
    const e = Win32Event.open(uniqueName('auto'));
    assert.equal(e.wait(0), TimedOut);
    e.set();
    assert.equal(e.wait(0), Signaled, 'a set with nobody waiting is not lost');
    assert.equal(e.wait(0), TimedOut, 'and it resets after waking one');
    e.close();
  });

  it('manual-reset stays set until reset', () => {
    const e = Win32Event.open(uniqueName('manual'), { manualReset: true, initialState: true });
    assert.equal(e.wait(0), Signaled);
    assert.equal(e.wait(0), Signaled);
    e.reset();
    assert.equal(e.wait(30), TimedOut);
    e.close();
  });

  it('ends a pending wait with ERR_SHM_CLOSED when closed, and throws on use after close', async () => {
    const e = Win32Event.open(uniqueName('closing'));
    const waiting = e.waitAsync();
    await sleep(30);
    e.close();
    await assert.rejects(waiting, { code: 'ERR_SHM_CLOSED' });
    assert.throws(() => e.set(), { code: 'ERR_SHM_CLOSED' });
    assert.throws(() => e.wait(0), { code: 'ERR_SHM_CLOSED' });
    assert.throws(() => Win32Event.open(uniqueName('none'), { create: false }), {
      code: 'ERROR_FILE_NOT_FOUND',
      syscall: 'OpenEventW',
    });
  });

  it('with a CAS word and a waiter count, makes a lock between processes that stays exact', async () => {
    const map = uniqueName('cas-map');
    const name = uniqueName('cas-ev');
    const { mapping } = createWin32Mapping({ name: map, size: 4096 });
    const a = spawnPeer();
    const b = spawnPeer();
    try {
      await Promise.all([a.ready, b.ready]);
      await Promise.all([a.call('openMap', { name: map }), b.call('openMap', { name: map })]);
      const args = { map, name, times: 300, startAt: Date.now() + 300, holdUs: 100 };
      const stats = await Promise.all([a.call('casIncr', args), b.call('casIncr', args)]);
      const i32 = new Int32Array(mapping.buffer);
      assert.equal(i32[2], 600);
      assert.equal(i32[0], 0, 'unlocked');
      assert.equal(i32[1], 0, 'no waiter left counted');
      const slept = stats.reduce((n, x) => n + x.woken + x.timedOut, 0);
      assert.ok(slept > 0, 'the peers contended and slept on the event');
      console.log(
        `# CAS lock under contention (woken by the event / timed out at 10 ms): ${JSON.stringify(stats)}`,
      );
    } finally {
      await Promise.all([a.kill(), b.kill()]);
      mapping.close();
    }
  });
});
