// Tiny benchmark helpers: ops/s over a fixed time, median of several runs, and a ratio table.

/** Runs `fn` in batches for ~`ms` milliseconds; returns operations per second. */
export function opsPerSec(fn: () => void, ms = 300, batch = 1000): number {
  for (let i = 0; i < Math.min(batch, 1000); i++) fn(); // warm up
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) fn();
    n += batch;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

/** Median of `runs` measurements (with min and max). */
export function median(measure: () => number, runs = 5): { median: number; min: number; max: number } {
  const xs = Array.from({ length: runs }, measure).sort((a, b) => a - b);
  return { median: xs[Math.floor(xs.length / 2)]!, min: xs[0]!, max: xs[xs.length - 1]! };
}

export function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

export function table(title: string, head: string[], rows: (string | number)[][]): void {
  console.log(`\n${title}`);
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  for (const [k, r] of cells.entries()) {
    console.log(`  ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')}`);
    if (k === 0) console.log(`  ${w.map((x) => '-'.repeat(x)).join('  ')}`);
  }
}

// The same-run comparison helpers live in @shm/test-utils (the flavour packages' benches use them too).
export {
  type Case,
  fmtRatio,
  interleaved,
  med,
  ratioOf,
  sizeLabel,
  verdict,
} from '@shm/test-utils/bench';
