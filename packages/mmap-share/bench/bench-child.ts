// The child of set-get.bench.ts: answers process.send round trips, and times get() of the shares it inherited.
import { MmapShare } from '@shm/mmap-share';

const shares: Record<string, MmapShare> = {
  small: MmapShare.inherited('small'),
  kb64: MmapShare.inherited('kb64'),
  mb1: MmapShare.inherited('mb1'),
};
let stored: unknown;

process.on('message', (m: any) => {
  if (m.op === 'set') {
    stored = m.value; // the value crossed once; answer with a small ack
    process.send!({ op: 'ack' });
  } else if (m.op === 'get') {
    process.send!({ op: 'value', value: stored });
  } else if (m.op === 'time-get') {
    const share = shares[m.name]!;
    const end = performance.now() + m.ms;
    let n = 0;
    let t = performance.now();
    const start = t;
    while (t < end) {
      share.get();
      n++;
      if ((n & 15) === 0) t = performance.now();
    }
    t = performance.now();
    process.send!({ op: 'timed', opsPerSec: (n * 1000) / (t - start) });
  } else if (m.op === 'exit') {
    for (const s of Object.values(shares)) s.close();
    process.exit(0);
  }
});
process.send!({ op: 'ready' });
