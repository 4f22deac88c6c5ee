// Same-run benchmark helpers: cases measured in turns, per-round ratios, target verdicts (issue 18's benches).
/** A case of `interleaved()`: a label and one operation. */
export interface Case {
  label: string;
  fn: () => void;
}

/**
 * Ops/s of each case, measured in turns: every round runs each case for `sliceMs` at a time, the cases taking
 * turns (the first one rotating), until each had `roundMs`. On this shared machine the load changes by a factor
 * of two within seconds, and a slow phase then slows every case alike. Each case first runs for `warmMs`. Returns, per case, its ops/s in each
 * round (`rates[case][round]`).
 */
export function interleaved(
  cases: Case[],
  opts: { rounds?: number; roundMs?: number; sliceMs?: number; warmMs?: number } = {},
): number[][] {
  const rounds = opts.rounds ?? 5;
  const roundMs = opts.roundMs ?? 200;
  const sliceMs = opts.sliceMs ?? 2;
  // Long enough for the optimizing compiler, whose background thread a loaded machine starves: the first few
  // thousand calls of a large code path can run 50x slower than the rest.
  const warmMs = opts.warmMs ?? 400;
  for (let w = 0; w < 2; w++) {
    for (const c of cases) {
      const end = performance.now() + warmMs / 2;
      while (performance.now() < end) for (let i = 0; i < 16; i++) c.fn();
    }
  }
  const rates = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    const ops = cases.map(() => 0);
    const time = cases.map(() => 0);
    while (time.some((t) => t < roundMs)) {
      for (let k = 0; k < cases.length; k++) {
        const i = (k + r) % cases.length;
        const fn = cases[i]!.fn;
        let n = 0;
        const start = performance.now();
        let now = start;
        while (now - start < sliceMs) {
          for (let j = 0; j < 8; j++) fn();
          n += 8;
          now = performance.now();
        }
        ops[i]! += n;
        time[i]! += now - start;
      }
    }
    for (let i = 0; i < cases.length; i++) rates[i]!.push((ops[i]! * 1000) / time[i]!);
  }
  return rates;
}

/** The median of `xs`. */
export function med(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median (min-max) of the per-round ratios a[i] / b[i]. */
export function ratioOf(a: number[], b: number[]): { median: number; min: number; max: number } {
  const r = a.map((x, i) => x / b[i]!);
  return { median: med(r), min: Math.min(...r), max: Math.max(...r) };
}

/** '0.82x (0.71-0.90)'. */
export function fmtRatio(r: { median: number; min: number; max: number }): string {
  return `${r.median.toFixed(2)}x (${r.min.toFixed(2)}-${r.max.toFixed(2)})`;
}

/** 'met' or 'MISSED' for a ratio against its target (at least `target`). */
export function verdict(r: { median: number }, target: number): string {
  return r.median >= target ? `target ${target}x met` : `target ${target}x MISSED`;
}

/** '64 B', '4 KB', '1 MB'. */
export function sizeLabel(size: number): string {
  return size >= 1 << 20 ? `${size >> 20} MB` : size >= 1024 ? `${size >> 10} KB` : `${size} B`;
}

/** Ops/s as '2.50M', '431.2k', '950'. */
export function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

/** Prints a titled, aligned table (the first column left-aligned, the others right-aligned). */
export function table(title: string, head: string[], rows: (string | number)[][]): void {
  console.log(`\n${title}`);
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  for (const [k, r] of cells.entries()) {
    console.log(`  ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')}`);
    if (k === 0) console.log(`  ${w.map((x) => '-'.repeat(x)).join('  ')}`);
  }
}
