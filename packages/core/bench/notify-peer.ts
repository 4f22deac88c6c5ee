// The echo side of the hand-off benchmark (notify.bench.ts): waits for each commit to `ping` the way `mode` says,
// fetches it and commits it to `pong`, until the value is empty. Modes: sleep (waitForChange), spin (busy loads of
// `serial`), poll (check `serial`, then sleep 1 ms).
import { Store } from '@shm/core';

const [mode, ping, pong, size] = process.argv.slice(2) as [string, string, string, string];
const a = Store.open({ name: ping, register: false });
const b = Store.open({ name: pong, register: false });
const buf = new Uint8Array(Number(size));
const nap = new Int32Array(new SharedArrayBuffer(4));

function waitChange(s: Store, seen: number): number {
  if (mode === 'sleep') return s.waitForChange(seen);
  for (;;) {
    const now = s.serial;
    if (now !== seen) return now;
    if (mode === 'poll') Atomics.wait(nap, 0, 0, 1);
  }
}

let seen = a.serial;
process.send!('ready');
for (;;) {
  seen = waitChange(a, seen);
  const v = a.fetch(buf);
  if (v.byteLength === 0) break;
  b.store(v);
}
a.close();
b.close();
process.exit(0);
