import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { uniqueKey, uniqueName, uniquePath } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';
import type { NameSource } from '../src/contender.js';
import { CONTENDERS } from '../src/contenders/index.js';
import { BEGIN, END, writeSection } from '../src/docs-section.js';
import { WORKLOADS } from '../src/driver.js';
import { makeValue, type PayloadKind, toWire } from '../src/payload.js';
import { type Results, tableRows } from '../src/report.js';
import { runContender } from '../src/run-contender.js';

const names: NameSource = { name: () => uniqueName(), key: uniqueKey, path: () => uniquePath() };
const KINDS: PayloadKind[] = ['object', '64B'];

describe('every contender of the side-by-side benchmark (two real processes each, Redis and Perl included)', () => {
  it.each(CONTENDERS.map((c) => [c.label, c] as const))(
    '%s: a value stored in one process is fetched whole and equal in the other, and each workload runs once',
    async (_, c) => {
      const kinds = KINDS.filter((k) => !c.unsupported?.(k));
      expect(kinds.length).toBeGreaterThan(0);
      const config = (await c.prepare?.(names, kinds)) ?? {};
      try {
        const r = await runContender({
          contender: c.id,
          config,
          kinds,
          workloads: [...WORKLOADS],
          ms: 5000,
          maxOps: 1,
          verify: true,
        });
        for (const k of kinds) {
          expect(r.checks[k]?.seenByB, `${k} stored by A, fetched by B`).toEqual(toWire(makeValue(k, 101)));
          expect(r.checks[k]?.seenByA, `${k} stored by B, fetched by A`).toEqual(toWire(makeValue(k, 202)));
          for (const w of WORKLOADS) expect(r.cells[k]?.[w], `${k} ${w}`).toBeGreaterThan(0);
        }
      } finally {
        await c.cleanup?.(config);
      }
    },
  );
});

describe('the report', () => {
  it('marks the fastest of each column ×1 and gives the others how many times slower they are', () => {
    const results: Results = {
      fast: { '64B': { store: { values: [200, 100, 300] }, latency: { values: [10, 30, 20] } } },
      slow: {
        '64B': { store: { values: [50] }, latency: { values: [80] } },
        '4KB': { store: { na: 'no reason' } },
      },
    };
    const o = {
      kinds: ['64B', '4KB'] as PayloadKind[],
      contenders: [
        { id: 'fast', label: 'Fast' },
        { id: 'slow', label: 'Slow' },
      ],
      results,
      kindLabel: (k: PayloadKind) => k,
      notes: [] as string[],
    };
    const store = tableRows({ ...o, workload: 'store' }, false);
    expect(store[1]).toEqual(['Fast', '200 (100–300) ×1', '']);
    expect(store[2]).toEqual(['Slow', '50.0 ×4.0', 'n/a [1]']);
    expect(o.notes).toEqual(['Slow, 4KB: no reason']);
    const latency = tableRows({ ...o, workload: 'latency' }, true);
    expect(latency[1]![1]).toBe('**20.0 µs** (10.0 µs–30.0 µs) ×1');
    expect(latency[2]![1]).toBe('80.0 µs ×4.0');
  });

  it('replaces only the text between the markers of the docs, and appends them when missing', () => {
    const file = uniquePath();
    try {
      writeFileSync(file, '# Title\n\nkept before\n');
      writeSection(file, 'first');
      expect(readFileSync(file, 'utf8')).toBe(`# Title\n\nkept before\n\n${BEGIN}\nfirst\n${END}\n`);
      writeFileSync(file, readFileSync(file, 'utf8').replace(END, `${END}\nkept after`));
      writeSection(file, 'second');
      expect(readFileSync(file, 'utf8')).toBe(
        `# Title\n\nkept before\n\n${BEGIN}\nsecond\n${END}\nkept after\n`,
      );
    } finally {
      rmSync(file, { force: true });
    }
  });
});
