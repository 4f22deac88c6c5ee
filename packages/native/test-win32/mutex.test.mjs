// Named Win32 mutexes: exclusion between processes, owner-died (WAIT_ABANDONED), timeouts, async, misuse.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { native, sleep, spawnPeer, uniqueName } from './helpers.mjs';

const { Win32Mutex, Win32WaitResult, createWin32Mapping, win32OpenHandles, ShmSystemError } = native;
const { Acquired, TimedOut, Abandoned } = Win32WaitResult;

after(() => assert.equal(win32OpenHandles(), 0, 'every mutex and event id was closed'));

describe('a named mutex between processes', () => {
  it('excludes another process until released, then lets it in', async () => {
    const name = uniqueName('mx');
    const m = Win32Mutex.open(name);
    const peer = spawnPeer();
    try {
      await peer.ready;
      assert.equal(m.acquire(), Acquired);
      assert.equal(m.held, true);
      assert.equal(await peer.call('lock', { name, timeoutMs: 100 }), TimedOut);
      const waiting = peer.call('lock', { name, timeoutMs: 20_000 });
      await sleep(100);
      m.release();
      assert.equal(await waiting, Acquired);
      assert.equal(m.tryAcquire(), TimedOut);
      await peer.call('unlock', { name });
      assert.equal(m.tryAcquire(), Acquired);
      m.release();
    } finally {
      await peer.kill();
      m.close();
    }
  });

  it('keeps a read-modify-write counter exact with two processes incrementing under it', async () => {
    const name = uniqueName('count');
    const map = uniqueName('count-map');
    const { mapping } = createWin32Mapping({ name: map, size: 4096 });
    const a = spawnPeer();
    const b = spawnPeer();
    try {
      await Promise.all([a.ready, b.ready]);
      await Promise.all([a.call('openMap', { name: map }), b.call('openMap', { name: map })]);
      await Promise.all([
        a.call('incr', { name, map, times: 300 }),
        b.call('incr', { name, map, times: 300 }),
      ]);
      assert.equal(new DataView(mapping.buffer).getUint32(0, true), 600);
    } finally {
      await Promise.all([a.kill(), b.kill()]);
      mapping.close();
    }
  });

  it('tells the next acquirer that a holder killed while holding it died (WAIT_ABANDONED)', async () => {
    const name = uniqueName('killed');
    const m = Win32Mutex.open(name);
    const peer = spawnPeer();
    try {
      await peer.ready;
      assert.equal(await peer.call('lock', { name, timeoutMs: 5000 }), Acquired);
      assert.equal(m.acquire(50), TimedOut);
      await peer.kill();
      assert.equal(m.acquire(5000), Abandoned);
      assert.equal(m.held, true, 'an abandoned mutex is held by the one told so');
      m.release();
      assert.equal(m.acquire(0), Acquired, 'and is an ordinary mutex again after release');
      m.release();
    } finally {
      m.close();
    }
  });

  it('wakes a waiter that was already blocked (async, in this process) when the holder dies', async () => {
    const name = uniqueName('blocked');
    const m = Win32Mutex.open(name);
    const peer = spawnPeer();
    try {
      await peer.ready;
      assert.equal(await peer.call('lock', { name, timeoutMs: 5000 }), Acquired);
      let settled = false;
      const waiting = m.acquireAsync(20_000).finally(() => {
        settled = true;
      });
      await sleep(200);
      assert.equal(settled, false, 'the event loop runs while the acquire waits');
      const t0 = Date.now();
      await peer.kill();
      assert.equal(await waiting, Abandoned);
      assert.ok(Date.now() - t0 < 5000);
      m.release();
    } finally {
      m.close();
    }
  });

  it('wakes a waiter blocked synchronously in another process when the holder dies', async () => {
    const name = uniqueName('blocked-sync');
    const holder = spawnPeer();
    const waiter = spawnPeer();
    try {
      await Promise.all([holder.ready, waiter.ready]);
      assert.equal(await holder.call('lock', { name, timeoutMs: 5000 }), Acquired);
      const waiting = waiter.call('lock', { name, timeoutMs: 20_000 });
      await sleep(200);
      await holder.kill();
      assert.equal(await waiting, Abandoned);
    } finally {
      await Promise.all([holder.kill(), waiter.kill()]);
    }
  });

  it('is abandoned when a worker thread that holds it goes away', async () => {
    const name = uniqueName('worker');
    const src = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.url).then(({ native }) => {
        const m = native.Win32Mutex.open(workerData.name);
        parentPort.postMessage(m.acquire(5000));
        setInterval(() => {}, 1000); // stays until terminated, holding the mutex
      });`;
    const url = new URL('./helpers.mjs', import.meta.url).href;
    // Opened first: a mutex (and its abandoned state) vanishes with its last handle.
    const m = Win32Mutex.open(name);
    const w = new Worker(src, { eval: true, workerData: { name, url } });
    assert.equal(await new Promise((r) => w.once('message', r)), Acquired);
    assert.equal(m.acquire(0), TimedOut);
    await w.terminate();
    assert.equal(m.acquire(5000), Abandoned);
    m.close();
  });
});

describe('timeouts, async and misuse', () => {
  it('times out after about the requested time, sync and async', async () => {
    const name = uniqueName('timeout');
    const holder = Win32Mutex.open(name);
    const other = Win32Mutex.open(name);
    try {
      assert.equal(holder.acquire(), Acquired);
      let t0 = performance.now();
      assert.equal(other.acquire(150), TimedOut, 'two objects exclude each other even on one thread');
      let took = performance.now() - t0;
      assert.ok(took >= 120 && took < 3000, `sync wait took ${took} ms`);
      t0 = performance.now();
      assert.equal(await other.acquireAsync(150), TimedOut);
      took = performance.now() - t0;
      assert.ok(took >= 120 && took < 3000, `async wait took ${took} ms`);
      assert.equal(other.tryAcquire(), TimedOut);
    } finally {
      holder.close();
      other.close();
    }
  });

  it('hands an async acquire the mutex once another object releases it', async () => {
    const name = uniqueName('async');
    const a = Win32Mutex.open(name);
    const b = Win32Mutex.open(name);
    assert.equal(a.acquire(), Acquired);
    const waiting = b.acquireAsync();
    await sleep(50);
    a.release();
    assert.equal(await waiting, Acquired);
    assert.equal(b.held, true);
    b.release(); // released from the JS thread although an async acquire took it
    assert.equal(a.tryAcquire(), Acquired);
    a.close(); // close releases a held mutex
    assert.equal(b.tryAcquire(), Acquired);
    b.close();
  });

  it('refuses a second acquire through the same object and a release it does not hold', () => {
    const m = Win32Mutex.open(uniqueName('misuse'));
    try {
      assert.throws(
        () => m.release(),
        (e) => {
          assert.ok(ShmSystemError.isInstance(e));
          assert.equal(e.code, 'ERROR_NOT_OWNER');
          assert.equal(e.errno, 288);
          assert.equal(e.syscall, 'ReleaseMutex');
          return true;
        },
      );
      assert.equal(m.acquire(), Acquired);
      assert.throws(() => m.acquire(0), { code: 'ERR_SHM_DEADLOCK' });
      m.release();
    } finally {
      m.close();
    }
  });

  it('ends a pending async acquire with ERR_SHM_CLOSED when closed, and throws on use after close', async () => {
    const name = uniqueName('close');
    const holder = Win32Mutex.open(name);
    const m = Win32Mutex.open(name);
    holder.acquire();
    const waiting = m.acquireAsync();
    await sleep(50);
    assert.equal(m.close(), true);
    await assert.rejects(waiting, { code: 'ERR_SHM_CLOSED' });
    assert.equal(m.close(), false);
    assert.equal(m.closed, true);
    assert.throws(() => m.acquire(), { code: 'ERR_SHM_CLOSED' });
    assert.throws(() => m.release(), { code: 'ERR_SHM_CLOSED' });
    holder.close();
    const b = native.loadBinding();
    assert.throws(() => b.win32MutexAcquire(999_999, 0), { code: 'ERROR_INVALID_HANDLE' });
  });

  it('opening an unknown mutex without create fails with ERROR_FILE_NOT_FOUND; exclusive with ERROR_ALREADY_EXISTS', () => {
    const name = uniqueName('nomutex');
    assert.throws(() => Win32Mutex.open(name, { create: false }), {
      code: 'ERROR_FILE_NOT_FOUND',
      syscall: 'OpenMutexW',
      target: name,
    });
    const m = Win32Mutex.open(name, { exclusive: true });
    assert.throws(() => Win32Mutex.open(name, { exclusive: true }), { code: 'ERROR_ALREADY_EXISTS' });
    Win32Mutex.open(name, { create: false }).close();
    assert.throws(() => m.acquire(-5), TypeError);
    assert.throws(() => m.acquire('1'), TypeError);
    m.close();
    assert.throws(() => Win32Mutex.open('bad\0name'), RangeError);
    assert.throws(() => Win32Mutex.open(7), TypeError);
  });
});
