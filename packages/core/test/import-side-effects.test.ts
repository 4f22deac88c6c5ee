import { describe, expect, it } from 'vitest';

// Its own file, so this fork has imported nothing of core before the test runs.
describe('importing @shm/core', () => {
  it('registers nothing; the store remover is added on the first registry removal, once', async () => {
    const internal = await import('../src/registry.js');
    const { registry } = await import('../src/index.js');
    expect(internal.objectRemoverCount()).toBe(0);
    expect(registry.cleanup({ dryRun: true, tag: `no-such-tag-${process.pid}` })).toEqual([]);
    expect(internal.objectRemoverCount()).toBe(1);
    expect(registry.remove(`/no-such-object-${process.pid}`)).toBe(false);
    expect(internal.objectRemoverCount()).toBe(1);
  });
});
