// The second process of the two-process benchmark: fetches (from the store or the naive baseline region) for
// as long as the first process stores, then reports how many fetches it did.
import { Region, Store } from '@shm/core';
import { naiveFetch } from './naive.js';

const [kind, name, size] = process.argv.slice(2) as [string, string, string];
const buf = new Uint8Array(Number(size) + 64);
let fetches = 0;
let stop = false;
process.on('message', (m) => {
  if (m === 'stop') stop = true;
});
if (kind === 'store') {
  const s = Store.open({ name });
  process.send!('ready');
  const loop = () => {
    const end = performance.now() + 20;
    while (performance.now() < end) {
      s.fetch(buf);
      fetches++;
    }
    if (stop) {
      if (process.env.SHM_BENCH_DEBUG) console.error(`fetches ${fetches}`, s.stats);
      process.send!({ fetches });
      s.close();
      process.exit(0);
    }
    setImmediate(loop);
  };
  loop();
} else {
  const r = Region.open({ name });
  process.send!('ready');
  const loop = () => {
    const end = performance.now() + 20;
    while (performance.now() < end) {
      naiveFetch(r, buf);
      fetches++;
    }
    if (stop) {
      process.send!({ fetches });
      r.close();
      process.exit(0);
    }
    setImmediate(loop);
  };
  loop();
}
