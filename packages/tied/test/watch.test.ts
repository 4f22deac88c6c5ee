import { describe, expect, it } from 'vitest';
import { ScalarRef, tie, tied, untie } from '../src/index.js';
import { run, useNamespace } from './helpers.js';

const { ns, peer } = useNamespace();

describe('tied(x).waitForChange / changes()', () => {
  it('a peer sleeping in waitForChange wakes with the serial of this process’s write', async () => {
    const cfg = tie({ port: 1 }, 'cfg', { namespace: ns() });
    const p = peer('hash', 'cfg');
    await p.next((m) => m.ready);
    const from = tied(cfg).serial;
    p.send({ id: 1, code: `return api.tied(v).waitForChange(${from}, 20000)` });
    await new Promise((r) => setTimeout(r, 200));
    cfg.port = 2;
    const m = await p.next((x) => x.id === 1);
    expect(m.result).toBe(tied(cfg).serial);
    expect(m.result).not.toBe(from);
    untie(cfg);
  });

  it('waitForChangeAsync here wakes with a peer’s write, and times out with undefined', async () => {
    const ref = tie(new ScalarRef(0), 'n', { namespace: ns() });
    const t = tied(ref);
    expect(await t.waitForChangeAsync(t.serial, 50)).toBeUndefined();
    expect(t.waitForChange(t.serial, 20)).toBeUndefined();
    const p = peer('scalar', 'n');
    await p.next((m) => m.ready);
    const pending = t.waitForChangeAsync(t.serial, 20_000);
    await run(p, 'v.value = 42');
    expect(await pending).toBe(t.serial);
    expect(ref.value).toBe(42);
    untie(ref);
  });

  it('changes() yields whole snapshots in serial order, coalescing, and ends on untie', async () => {
    const list = tie([], 'list', { namespace: ns() });
    const p = peer('array', 'list');
    await p.next((m) => m.ready);
    const it = tied(list).changes();
    const seen: { serial: number; value: unknown }[] = [];
    const writer = run(p, 'for (let i = 1; i <= 200; i++) v.push(i); return v.length');
    for await (const c of it) {
      const arr = c.value as number[];
      // Whole: 1..k for some k, never a torn array
      expect(arr).toEqual(Array.from({ length: arr.length }, (_, i) => i + 1));
      if (seen.length) {
        expect(c.serial).toBeGreaterThan(seen.at(-1)!.serial);
        expect(arr.length).toBeGreaterThanOrEqual((seen.at(-1)!.value as number[]).length);
      }
      seen.push(c);
      await new Promise((r) => setTimeout(r, 3)); // slow consumer
      if (arr.length === 200) break;
    }
    expect(await writer).toBe(200);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThanOrEqual(200);
    // Untie ends a waiting next() cleanly.
    const it2 = tied(list).changes();
    const pending = it2.next();
    await new Promise((r) => setTimeout(r, 30));
    untie(list);
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it('a watcher gets a clear error when another process removes the variable', async () => {
    const cfg = tie({ a: 1 }, 'gone', { namespace: ns() });
    const p = peer('hash', 'gone');
    await p.next((m) => m.ready);
    const it = tied(cfg).changes();
    const pending = it.next();
    await new Promise((r) => setTimeout(r, 50));
    await run(p, 'api.tied(v).remove()');
    // NOT_FOUND if it read the removal mark, CLOSED ("destroyed") if the removal had finished by then.
    const e = await pending.then(
      () => undefined,
      (x) => x,
    );
    expect(['ERR_SHM_NOT_FOUND', 'ERR_SHM_CLOSED']).toContain(e?.code);
    expect(e.message).toMatch(/removed|destroyed/);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('refuses bad serials, timeouts and options', async () => {
    const cfg = tie({}, 'args', { namespace: ns() });
    const t = tied(cfg);
    expect(() => t.waitForChange('1' as never)).toThrow(TypeError);
    expect(() => t.waitForChange(-1)).toThrow(RangeError);
    expect(() => t.waitForChange(0, -1)).toThrow(RangeError);
    await expect(t.waitForChangeAsync(0, 'x' as never)).rejects.toThrow(TypeError);
    expect(() => t.changes({ since: 1.5 })).toThrow(RangeError);
    expect(() => t.changes(5 as never)).toThrow(TypeError);
    untie(cfg);
  });
});
