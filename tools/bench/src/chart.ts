import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Workload } from './driver.js';
import type { PayloadKind } from './payload.js';
import { higherIsBetter, type Results, summarize, WORKLOAD_TITLES } from './report.js';

export interface ChartOptions {
  kinds: readonly PayloadKind[];
  workloads: readonly Workload[];
  contenders: readonly { id: string; label: string }[];
  results: Results;
  kindLabel(k: PayloadKind): string;
  /** Lines under the title: what ran, on what. */
  subtitle: string[];
}

/**
 * The chart as SVG, rendered by vega-lite + vega without a browser: one panel per workload, payloads along x,
 * one bar per contender (the median) with a rule from the slowest to the fastest run, log-scale y.
 */
export async function renderChart(o: ChartOptions): Promise<string> {
  const rows = o.contenders.flatMap((c) =>
    o.kinds.flatMap((k) =>
      o.workloads.flatMap((w) => {
        const cell = o.results[c.id]?.[k]?.[w];
        if (!cell || !('values' in cell)) return [];
        const s = summarize(cell.values);
        return [{ contender: c.label, payload: o.kindLabel(k), workload: w, ...s }];
      }),
    ),
  );
  const order = o.contenders.map((c) => c.label);
  const panel = (w: Workload) => ({
    title: { text: WORKLOAD_TITLES[w], anchor: 'start' as const, fontSize: 13 },
    width: 820,
    height: 200,
    transform: [{ filter: `datum.workload === '${w}'` }],
    encoding: {
      x: {
        field: 'payload',
        type: 'nominal' as const,
        sort: o.kinds.map(o.kindLabel),
        title: null,
        axis: { labelAngle: 0 },
      },
      xOffset: { field: 'contender', type: 'nominal' as const, sort: order },
      color: {
        field: 'contender',
        type: 'nominal' as const,
        sort: order,
        title: null,
        scale: { scheme: 'tableau10' },
      },
    },
    layer: [
      {
        mark: { type: 'bar' as const },
        encoding: {
          y: {
            field: 'median',
            type: 'quantitative' as const,
            scale: { type: 'log' as const },
            stack: null, // side by side (xOffset), not stacked: a stack on a log scale starts at log(0)
            title: higherIsBetter(w) ? 'operations/s (log, higher is better)' : 'µs (log, lower is better)',
            axis: { format: '~s', grid: true, tickCount: 6 },
          },
          tooltip: [{ field: 'contender' }, { field: 'median', format: '.3s' }],
        },
      },
      {
        mark: { type: 'rule' as const, color: '#333', strokeWidth: 1 },
        encoding: { y: { field: 'min', type: 'quantitative' as const }, y2: { field: 'max' } },
      },
    ],
  });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: '@shm side by side: two processes, median of the runs (the rule spans the slowest and fastest run)',
      subtitle: o.subtitle,
      anchor: 'start',
      fontSize: 15,
      subtitleFontSize: 11,
    },
    background: 'white',
    padding: 12,
    data: { values: rows },
    vconcat: o.workloads.map(panel),
    config: {
      legend: { orient: 'top', columns: 5, labelLimit: 0, labelFontSize: 12, symbolType: 'square' },
      font: 'Helvetica, Arial, sans-serif',
    },
  } as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
