// Indicative @shm/core figures on Windows (under Wine here, where every kernel-object call is a wineserver round
// trip): uncontended lock+unlock, two processes contending, and a 6 MB value through chained sections.
// Run: bash tools/windows/run-tests.sh 20 (once, to build), then bash tools/windows/run-node.sh 20 packages/core/bench/win32.bench.mjs
import { core, pattern, spawnPeer, uniqueName } from '../test-win32/helpers.mjs';

const { Region, RwLock, Store, LOCK_BYTES } = core;
const peerFixture = new URL('../test-win32/fixtures/peer.mjs', import.meta.url);
const MB = 1024 * 1024;
const fmt = (n, d = 2) => n.toFixed(d);

const name = uniqueName('bench');
const region = Region.create({ name, size: 64 + LOCK_BYTES });
RwLock.init(region, 64);
const lock = new RwLock(region, 64);
for (let round = 0; round < 3; round++) {
  const n = 200_000;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    lock.lock();
    lock.unlock();
  }
  console.log(`uncontended lock+unlock: ${fmt(((performance.now() - t) * 1e6) / n, 0)} ns`);
}
lock.release();

const a = spawnPeer(peerFixture);
const b = spawnPeer(peerFixture);
await Promise.all([a.ready, b.ready]);
await Promise.all([a.call('openRegion', { key: 'l', name }), b.call('openRegion', { key: 'l', name })]);
for (const holdUs of [0, 20]) {
  region.i32[0] = 0;
  const times = 2000;
  const startAt = Date.now() + 300;
  const args = { key: 'l', offset: 64, counter: 0, times, holdUs, startAt };
  const [sa, sb] = await Promise.all([
    a.call('lockIncr', args),
    b.call('lockIncr', { ...args, useAsync: true }),
  ]);
  const ms = Date.now() - startAt;
  console.log(
    `2 processes x ${times} increments held ${holdUs} us: ${fmt(ms, 0)} ms, ${fmt((2 * times) / (ms / 1000), 0)} ops/s, contended ${sa.contended + sb.contended}, counter ${region.i32[0]}`,
  );
}
await Promise.all([a.kill(), b.kill()]);
region.close();

const sname = uniqueName('bench-store');
const s = Store.create({ name: sname });
const value = pattern(6 * MB, 5);
let t = 0;
for (let i = 0; i < 4; i++) {
  // Commits alternate between two banks: the first two create each bank's sections, later ones reuse them.
  t = performance.now();
  s.store(value);
  console.log(
    `store 6 MB (${i < 2 ? 'new sections' : 'reused sections'}): ${fmt(performance.now() - t, 1)} ms`,
  );
}
const peer = spawnPeer(peerFixture);
await peer.ready;
await peer.call('openStore', { key: 's', name: sname });
t = performance.now();
await peer.call('storeBig', { key: 's', length: 6 * MB, seed: 9 });
console.log(`peer store 6 MB (round trip incl. IPC): ${fmt(performance.now() - t, 1)} ms`);
for (let i = 0; i < 2; i++) {
  t = performance.now();
  const got = s.fetch();
  console.log(
    `fetch 6 MB written by the peer (${i === 0 ? 'maps its sections' : 'mapped'}): ${fmt(performance.now() - t, 1)} ms, ${got.length} bytes`,
  );
}
await peer.kill();
s.destroy();
