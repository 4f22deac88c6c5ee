// Process identity and liveness on Windows, and the addon's exports against binding-types.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { native, spawnPeer } from './helpers.mjs';

const { isAlive, procInfo, processId, threadId, pidNamespace, startTimeOf, effectiveUid, loadBinding } =
  native;

describe('process identity', () => {
  it('reports this process, its thread and no pid namespace', () => {
    const b = loadBinding();
    assert.equal(b.getpid(), process.pid);
    assert.equal(processId(), process.pid);
    assert.ok(threadId() > 0 && threadId() !== process.pid);
    assert.equal(pidNamespace(), 0);
    assert.equal(effectiveUid(), 0);
    assert.equal(native.features().platform, 'win32');
    assert.equal(native.features().win32, true);
  });

  it('gives each worker thread its own live thread id', async () => {
    const url = new URL('./helpers.mjs', import.meta.url).href;
    const src = `const { parentPort, workerData } = require('node:worker_threads');
      import(workerData).then(({ native }) => {
        parentPort.postMessage(native.threadId());
        setInterval(() => {}, 1000); // alive until terminated
      });`;
    const w = new Worker(src, { eval: true, workerData: url });
    const tid = await new Promise((r) => w.once('message', r));
    assert.notEqual(tid, threadId());
    assert.equal(isAlive(tid), true);
    await w.terminate();
    assert.equal(isAlive(tid), false, 'a thread that ended is dead');
    assert.equal(isAlive(threadId()), true);
  });

  it('tells a live process from a killed one, and guards against id reuse with the start time', async () => {
    const peer = spawnPeer();
    await peer.ready;
    const info = procInfo(peer.pid);
    assert.equal(info.state, 'R');
    assert.ok(info.startTime > 1.6e15, 'microseconds since 1970');
    assert.equal(isAlive(peer.pid), true);
    assert.equal(isAlive(peer.pid, info.startTime), true);
    assert.equal(isAlive(peer.pid, info.startTime + 1), false);
    assert.equal(startTimeOf(process.pid) > 0, true);
    assert.equal(loadBinding().kill(peer.pid, 0), true);
    await peer.kill();
    assert.equal(isAlive(peer.pid), false);
    assert.equal(loadBinding().kill(peer.pid, 0), false);
    assert.equal(procInfo(0x7ffffff0), null);
  });

  it('terminates a process with kill(pid, 9)', async () => {
    const peer = spawnPeer();
    await peer.ready;
    assert.equal(loadBinding().kill(peer.pid, 9), true);
    assert.equal(await peer.exited, 1);
    assert.throws(() => loadBinding().kill(process.pid, 1), { code: 'ERROR_NOT_SUPPORTED' });
  });
});

describe('the addon exports', () => {
  it('exactly the common and win32 names of binding-types.ts, nothing POSIX', () => {
    const b = loadBinding();
    const declared = [...native.bindingExports.common, ...native.bindingExports.win32];
    assert.deepEqual(Object.keys(b).sort(), [...declared].sort());
    const objects = new Set(['features', 'win32Constants']);
    for (const n of declared) assert.equal(typeof b[n], objects.has(n) ? 'object' : 'function', n);
    assert.throws(() => native.shmOpen('x'), { code: 'ERR_SHM_NOT_SUPPORTED' });
    assert.throws(() => native.futexWake(null, 0), { code: 'ERR_SHM_NOT_SUPPORTED' });
    assert.ok(native.win32Constants().PAGE_SIZE >= 4096);
  });
});
