// One Node case of the Storable benchmark in a process of its own (storable.bench.ts runs it): warms up for 1.5 s,
// then prints the case's operations per second over the given seconds.
// argv: <decodeNet|decodeNative|encodeNet|encodeNative> <nfreeze image file> <freeze image file> <seconds>
import { readFileSync } from 'node:fs';
import { createStorableSerializer, freeze, nfreeze, storable } from '../dist/index.js';
import { large, run } from './data.js';

const [op, netFile, natFile, secs] = process.argv.slice(2) as [string, string, string, string];
const net = readFileSync(netFile);
const nat = readFileSync(natFile);
// The value as the mixed bench encodes it: decoded from this serializer's own freeze image.
const v = storable.decode(createStorableSerializer({ byteOrder: 'native' }).encode(large));
const cases: Record<string, () => unknown> = {
  decodeNet: () => storable.decode(net),
  decodeNative: () => storable.decode(nat),
  encodeNet: () => nfreeze(v),
  encodeNative: () => freeze(v),
};
const fn = cases[op];
if (fn === undefined) throw new Error(`unknown case ${op}`);
run(1.5, fn);
console.log(run(Number(secs), fn));
