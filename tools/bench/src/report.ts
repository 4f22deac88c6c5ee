import type { Workload } from './driver.js';
import type { PayloadKind } from './payload.js';

/** The median of a cell's runs, with the smallest and largest. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** A cell is figures from every run, or the reason it has none. */
export type Cell = { values: number[] } | { na: string };

/** results[contender id][kind][workload] */
export type Results = Record<string, Partial<Record<PayloadKind, Partial<Record<Workload, Cell>>>>>;

export function summarize(values: number[]): Summary {
  const xs = [...values].sort((a, b) => a - b);
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
  return { median, min: xs[0]!, max: xs[xs.length - 1]!, runs: xs.length };
}

/** Throughput workloads are better higher; latency lower. */
export const higherIsBetter = (w: Workload) => w !== 'latency';

export const WORKLOAD_TITLES: Record<Workload, string> = {
  store: 'store: writes/s in process A',
  fetch: 'fetch: reads/s in process B of the value A wrote',
  latency: 'hand-off latency: A writes, B sees it (µs, one way = round trip / 2)',
};

export function fmtOps(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 1 : 2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e5 ? 0 : 1)}k`;
  return n.toFixed(n >= 100 ? 0 : 1);
}

export function fmtMicros(us: number): string {
  if (us >= 1000) return `${(us / 1000).toFixed(us >= 10_000 ? 1 : 2)} ms`;
  return `${us.toFixed(us >= 100 ? 0 : 1)} µs`;
}

const fmt = (w: Workload, n: number) => (higherIsBetter(w) ? fmtOps(n) : fmtMicros(n));

/** How many times slower than the fastest in the column (1 for the fastest). */
export function slowdown(w: Workload, value: number, best: number): number {
  return higherIsBetter(w) ? best / value : value / best;
}

function fmtRatio(r: number): string {
  return r < 1.005 ? '×1' : r < 10 ? `×${r.toFixed(1)}` : `×${Math.round(r)}`;
}

export interface TableOptions {
  workload: Workload;
  kinds: readonly PayloadKind[];
  contenders: readonly { id: string; label: string }[];
  results: Results;
  kindLabel(k: PayloadKind): string;
  /** Footnote markers for n/a reasons (filled as cells need them). */
  notes: string[];
}

/** Rows of cells `median (min–max) ×slowdown`, the fastest of each column marked; a header row first. */
export function tableRows(o: TableOptions, markdown: boolean): string[][] {
  const best = new Map<PayloadKind, number>();
  for (const k of o.kinds) {
    const medians = o.contenders.flatMap((c) => {
      const cell = o.results[c.id]?.[k]?.[o.workload];
      return cell && 'values' in cell ? [summarize(cell.values).median] : [];
    });
    if (medians.length) best.set(k, higherIsBetter(o.workload) ? Math.max(...medians) : Math.min(...medians));
  }
  const rows = [['contender', ...o.kinds.map(o.kindLabel)]];
  for (const c of o.contenders) {
    rows.push([
      c.label,
      ...o.kinds.map((k) => {
        const cell = o.results[c.id]?.[k]?.[o.workload];
        if (!cell) return '';
        if ('na' in cell) {
          let i = o.notes.indexOf(`${c.label}, ${o.kindLabel(k)}: ${cell.na}`);
          if (i < 0) i = o.notes.push(`${c.label}, ${o.kindLabel(k)}: ${cell.na}`) - 1;
          return `n/a [${i + 1}]`;
        }
        const s = summarize(cell.values);
        const r = slowdown(o.workload, s.median, best.get(k)!);
        const main = fmt(o.workload, s.median);
        const range = s.runs > 1 ? ` (${fmt(o.workload, s.min)}–${fmt(o.workload, s.max)})` : '';
        return `${markdown && r < 1.005 ? `**${main}**` : main}${range} ${fmtRatio(r)}`;
      }),
    ]);
  }
  return rows;
}

export function markdownTable(rows: string[][]): string {
  const [head, ...body] = rows;
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [
    line(head!),
    `|---|${head!
      .slice(1)
      .map(() => '---:')
      .join('|')}|`,
    ...body.map(line),
  ].join('\n');
}

export function textTable(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(rows[0]!), w.map((x) => '-'.repeat(x)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
