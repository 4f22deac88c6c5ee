// Micro-benchmark of the pieces of a small store(): lock+unlock, store() and storeLocked() under a held lock,
// against the raw baseline, interleaved in the same run.
// Run (in packages/core): node --conditions=@shm/source --import tsx bench/micro-lock.ts [--size=4096]
import { LOCK_BYTES, Region, RwLock, Store } from '@shm/core';
import { type Case, fmtRatio, interleaved, med, ratioOf, table } from './harness.js';
import { naiveFetch, naiveStore } from './naive.js';

const tag = `shm-bench-micro-${process.pid}`;
const size = Number(process.argv.find((a) => a.startsWith('--size='))?.slice(7) ?? 64);
const raw = Region.create({ name: `${tag}-raw`, size: size + 4096, register: false });
const lr = Region.create({ name: `${tag}-lock`, size: LOCK_BYTES + 64, register: false });
RwLock.init(lr, 0);
const lock = new RwLock(lr, 0);
const s = Store.create({ name: `${tag}-s`, register: false });
const held = Store.open({ name: `${tag}-s` });
const value = new Uint8Array(size).fill(7);
const into = new Uint8Array(size + 64);
const a = raw.i32;
try {
  s.store(value);
  const cases: Case[] = [
    { label: 'raw store', fn: () => naiveStore(raw, value) },
    {
      label: 'CAS pair',
      fn: () => {
        Atomics.compareExchange(a, 1000, 0, 1);
        Atomics.store(a, 1000, 0);
      },
    },
    {
      label: 'lock+unlock',
      fn: () => {
        lock.lock();
        lock.unlock();
      },
    },
    {
      label: 'shared',
      fn: () => {
        lock.lockShared();
        lock.unlockShared();
      },
    },
    { label: 'store()', fn: () => s.store(value) },
    {
      label: 'store.lock+unlock',
      fn: () => {
        s.lock.lock();
        s.lock.unlock();
      },
    },
    { label: 'raw fetch', fn: () => naiveFetch(raw, into) },
    { label: 'fetch(into)', fn: () => s.fetch(into) },
  ];
  const res = interleaved(cases, { rounds: 7, roundMs: 250 });
  const base = res[0]!;
  table(
    `size ${size}: ns/op and ops ratio to raw store (same run)`,
    ['case', 'ns/op', 'vs raw store'],
    cases.map((c, i) => [c.label, (1e9 / med(res[i]!)).toFixed(1), fmtRatio(ratioOf(res[i]!, base))]),
  );
  // storeLocked under a held lock: the commit without the lock (plus storeLocked's argument checks).
  held.lock.lock();
  const t = (fn: () => void) => {
    for (let i = 0; i < 1e5; i++) fn();
    const n = 3e6;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    return ((performance.now() - t0) * 1e6) / n;
  };
  const xs: number[] = [];
  for (let r = 0; r < 5; r++) xs.push(t(() => held.storeLocked(value)));
  held.lock.unlock();
  console.log(`storeLocked (lock held, no lock cost): ${xs.map((x) => x.toFixed(1)).join(' ')} ns/op`);
} finally {
  lock.release();
  held.close();
  s.destroy();
  raw.destroy();
  lr.destroy();
}
