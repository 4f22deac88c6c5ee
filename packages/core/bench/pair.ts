// Two processes at once: this one stores back to back, a peer (pair-peer.ts) fetches into a buffer it reuses, into
// the same kind of memory: a Store, or the raw spin-locked region of naive.ts.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Region, Store } from '@shm/core';
import { naiveStore } from './naive.js';

const peer = fileURLToPath(new URL('./pair-peer.ts', import.meta.url));

/** Stores/s here and fetches/s in the peer, over `ms`. */
export async function pair(
  kind: 'store' | 'naive',
  size: number,
  ms: number,
): Promise<{ stores: number; fetches: number }> {
  const name = `shm-bench-${process.pid}-${kind}-${size}`;
  const value = new Uint8Array(size).fill(7);
  let doStore: () => void;
  let cleanup: () => void;
  if (kind === 'store') {
    const s = Store.create({ name, register: false, inlineCapacity: 64 * 1024 });
    s.store(value);
    doStore = () => s.store(value);
    cleanup = () => s.destroy();
  } else {
    const r = Region.create({ name, size: size + 4096, register: false });
    naiveStore(r, value);
    doStore = () => naiveStore(r, value);
    cleanup = () => r.destroy();
  }
  const child = fork(peer, [kind, name, String(size)], {
    execArgv: ['--conditions=@shm/source', '--import', 'tsx'],
  });
  try {
    await new Promise((res) => child.once('message', res));
    let stores = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      for (let i = 0; i < 10; i++) doStore();
      stores += 10;
      if (stores % 1000 === 0) await new Promise((r) => setImmediate(r));
    }
    const elapsed = performance.now() - start;
    child.send('stop');
    const { fetches } = await new Promise<{ fetches: number }>((res) => child.once('message', res as never));
    return { stores: (stores * 1000) / elapsed, fetches: (fetches * 1000) / elapsed };
  } finally {
    cleanup();
  }
}

/**
 * `runs` rounds of both contenders back to back, the order swapped each round; ratios (Store / naive) are taken
 * per round (the host's load drifts between rounds far more than within one).
 */
export async function pairRounds(
  size: number,
  runs: number,
  ms: number,
): Promise<{ base: { stores: number[]; fetches: number[] }; ours: { stores: number[]; fetches: number[] } }> {
  const base = { stores: [] as number[], fetches: [] as number[] };
  const ours = { stores: [] as number[], fetches: [] as number[] };
  const push = (into: typeof base, x: { stores: number; fetches: number }) => {
    into.stores.push(x.stores);
    into.fetches.push(x.fetches);
  };
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      push(base, await pair('naive', size, ms));
      push(ours, await pair('store', size, ms));
    } else {
      push(ours, await pair('store', size, ms));
      push(base, await pair('naive', size, ms));
    }
  }
  return { base, ours };
}
