// What packages/core/test/conformance/platform-suite.ts takes from vitest, on node:test, for the Windows run under
// Wine (vitest itself needs a Linux-built esbuild). Only the matchers the suite uses; a new one fails loudly.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

export { describe, it };
export const beforeAll = before;
export const afterAll = after;

function matchers(actual, negate) {
  const check = (ok, what) =>
    assert.ok(negate ? !ok : ok, `expected ${String(actual)} ${negate ? 'not ' : ''}${what}`);
  return {
    toBe: (v) => (negate ? assert.notStrictEqual(actual, v) : assert.strictEqual(actual, v)),
    toEqual: (v) => (negate ? assert.notDeepStrictEqual(actual, v) : assert.deepStrictEqual(actual, v)),
    toBeGreaterThan: (v) => check(actual > v, `> ${v}`),
    toBeGreaterThanOrEqual: (v) => check(actual >= v, `>= ${v}`),
    toBeLessThan: (v) => check(actual < v, `< ${v}`),
    toThrow: () => (negate ? assert.doesNotThrow(actual) : assert.throws(actual)),
    toMatchObject: (o) => {
      for (const [k, v] of Object.entries(o)) assert.deepStrictEqual(actual?.[k], v, `property ${k}`);
    },
  };
}

export function expect(actual) {
  return {
    ...matchers(actual, false),
    not: matchers(actual, true),
    rejects: {
      async toMatchObject(o) {
        let err;
        await assert.rejects(
          Promise.resolve(actual).catch((e) => {
            err = e;
            throw e;
          }),
        );
        matchers(err, false).toMatchObject(o);
      },
    },
  };
}
