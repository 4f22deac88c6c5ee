import { describe, expect, it } from 'vitest';
import { makeRecord, prng, RECORD_HEADER, recordProblem } from '../src/record.js';

describe('A torture record', () => {
  it('checks out whole, with its own serial', () => {
    for (const len of [0, 40, 41, 4096, 300_000])
      expect(recordProblem(makeRecord(7, 1, len, len + 1), 7)).toBeUndefined();
  });

  it('is torn when any byte of header or body changes, or it is cut short', () => {
    const r = makeRecord(9, 2, 100_000, 5);
    for (const at of [0, 4, 13, 17, 25, RECORD_HEADER, 50_000, r.length - 1]) {
      const c = Buffer.from(r);
      c[at] = c[at]! ^ 0x40;
      expect(recordProblem(c, at === 4 ? 9 ^ 0x40 : 9)).toMatch(/^torn/);
    }
    expect(recordProblem(r.subarray(0, 60_000), 9)).toMatch(/^torn/);
    expect(recordProblem(r.subarray(0, 10), 9)).toMatch(/^torn/);
  });

  it('tells a value reported with another serial than its own', () => {
    expect(recordProblem(makeRecord(12, 0, 500, 3), 11)).toBe(
      'fetch() reported serial 11 for the value of serial 12',
    );
  });
});

describe('The torture PRNG', () => {
  it('replays from its seed (the printed seed reproduces the schedule)', () => {
    const a = prng(42);
    const b = prng(42);
    const xs = Array.from({ length: 100 }, a);
    expect(Array.from({ length: 100 }, b)).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Array.from({ length: 100 }, prng(43))).not.toEqual(xs);
  });
});
