// What a 64-byte get() with 'raw' is made of, against core fetch(): each piece alone, in 2000-call slices taking
// turns, best slice of 200 (ns per call; the best is what the code costs, the rest is the machine's noise).
// docs/decisions/0013 cites it. Run: node --conditions=@shm/source --import tsx bench/get-parts.bench.ts [size]
import { raw, Store } from '@shm/core';
import { MmapShare } from '@shm/mmap-share';

const size = Number(process.argv[2] ?? 64);
const value = Buffer.alloc(size, 7);
const HEAD = raw.encodeView!(value).head;
const share = new MmapShare(size + 1, { serializer: 'raw' });
const core = Store.create({ inlineCapacity: size + 1, maxValueSize: size + 1 });
// The share's bytes in a store of its own: a tag, then the Buffer, recorded with raw's id.
const tagged = Store.create({ inlineCapacity: size + 1, maxValueSize: size + 1, serializer: raw });
share.set(value);
core.store(value);
tagged.setValue(value);
const info = { serial: 0, serializerId: 0 };
const lock = tagged.lock;
const scratch = new Uint8Array(size + 1);
tagged.fetch(scratch, info); // raw.decode(scratch) decodes the value
const body = new Uint8Array(size + 1).subarray(1);
const fetched = tagged.fetch(undefined, info);

const cases: Record<string, () => unknown> = {
  'core fetch()': () => core.fetch(),
  'core store()': () => core.store(value),
  'storeParts(tag, bytes)': () => tagged.storeParts(HEAD, value, info.serializerId),
  'set()': () => share.set(value),
  'get()': () => share.get(),
  'lockShared+unlockShared': () => {
    lock.lockShared();
    lock.unlockShared();
  },
  'lock + viewLocked()': () => {
    lock.lockShared();
    const v = tagged.viewLocked(info);
    lock.unlockShared();
    return v;
  },
  serial: () => tagged.serial,
  'fetch(undefined, info)': () => tagged.fetch(undefined, info),
  'fetch(scratch, info)': () => tagged.fetch(scratch, info),
  'Buffer.subarray(1)': () => fetched.subarray(1),
  'Buffer.allocUnsafe(n)': () => Buffer.allocUnsafe(size),
  'allocUnsafe(n) + set(view)': () => {
    const o = Buffer.allocUnsafe(size);
    o.set(body);
    return o;
  },
  'raw.decode(view)': () => raw.decode(scratch),
};
let sink: unknown;
const best: Record<string, number> = {};
for (let round = 0; round < 200; round++) {
  for (const [k, fn] of Object.entries(cases)) {
    const t0 = performance.now();
    for (let i = 0; i < 2000; i++) sink = fn();
    const ns = ((performance.now() - t0) * 1e6) / 2000;
    if (round >= 5 && !((best[k] ?? Number.POSITIVE_INFINITY) <= ns)) best[k] = ns;
  }
}
void sink;
console.log(`${size}-byte values, ns per call (best 2000-call slice of 195):`);
for (const [k, v] of Object.entries(best)) console.log(`  ${k.padEnd(28)} ${v.toFixed(1)}`);
share.close();
core.destroy();
tagged.destroy();
