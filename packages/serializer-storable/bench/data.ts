// The data of the Storable benchmark (storable.bench.ts and isolated.ts share it).

/** The data: numbers as integers and doubles, ASCII and non-ASCII strings, nested arrays and hashes. */
export const small = { id: 12345, name: 'widget-42', active: 1, tags: ['a', 'b'], score: 3.75 };
export const large = Array.from({ length: 7000 }, (_, i) => ({
  id: i,
  name: `item-${i}`,
  label: i % 7 === 0 ? `caf\u00e9 \u263a ${i}` : `plain label number ${i}`,
  price: i / 8 + 0.1,
  tags: ['red', 'green', i % 2 ? 'blue' : 'yellow'],
  dims: { w: i % 100, h: (i * 7) % 100, unit: 'cm' },
}));

/** Operations per second of `fn` over `secs` seconds, in doubling batches. */
export function run(secs: number, fn: () => unknown): number {
  let n = 0;
  let batch = 1;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < secs) {
    for (let i = 0; i < batch; i++) fn();
    n += batch;
    if (batch < 4096) batch *= 2;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  return n / elapsed;
}
