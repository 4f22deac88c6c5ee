import { msgpack } from '@shm/serializer-msgpack';
import { describe, expect, it } from 'vitest';
import { ScalarRef, tie, tied, untie } from '../src/index.js';
import { ready, run, segments, useNamespace } from './helpers.js';

const { ns, peer, extra } = useNamespace();

/** Ties in this (test) process, untied after the test. */
function local<T extends object>(target: T, name: string, options = {}): T {
  const v = tie(target, name, { namespace: ns(), ...options });
  extra.push(() => untie(v));
  return v;
}

describe('tied variables across processes', () => {
  it('4 processes x 1000 increments of a hash field under withWriteLock give the exact total', async () => {
    const h = local<{ count?: number }>({}, 'counter');
    h.count = 0;
    const peers = [0, 1, 2, 3].map(() => peer('hash', 'counter'));
    await Promise.all(peers.map(ready));
    await Promise.all(
      peers.map((p) =>
        run(
          p,
          'const t = api.tied(v); for (let i = 0; i < 1000; i++) t.withWriteLock(() => { v.count++; });',
        ),
      ),
    );
    expect(h.count).toBe(4000);
  });

  it('without the write lock, v.count++ is a get and a set: a write in between is lost (documented, not atomic)', async () => {
    const h = local<{ count?: number }>({ count: 0 }, 'racy');
    const a = peer('hash', 'racy');
    const b = peer('hash', 'racy');
    await Promise.all([ready(a), ready(b)]);
    // A reads, B increments, A writes what it read + 1: B's increment is lost.
    expect(await run(a, 'state.seen = v.count; return state.seen;')).toBe(0);
    await run(b, 'v.count++;');
    await run(a, 'v.count = state.seen + 1;');
    expect(h.count).toBe(1);
    // The same interleaving when both use the write lock: B waits for A, nothing is lost.
    h.count = 0;
    await run(a, 'api.tied(v).writeLock(); state.seen = v.count;');
    const bDone = run(b, 'api.tied(v).withWriteLock(() => { v.count++; }); return v.count;');
    await run(a, 'v.count = state.seen + 1; api.tied(v).unlock();');
    expect(await bDone).toBe(2);
    expect(h.count).toBe(2);
  });

  it('process A sets cfg.db = { port: 1 }, process B sets cfg.db.port = 2, A reads 2', async () => {
    const a = peer('hash', 'cfg');
    const b = peer('hash', 'cfg');
    await Promise.all([ready(a), ready(b)]);
    await run(a, 'v.db = { port: 1 };');
    expect(await run(b, 'return v.db.port;')).toBe(1);
    await run(b, 'v.db.port = 2;');
    expect(await run(a, 'return v.db.port;')).toBe(2);
    expect(await run(a, 'return api.isTied(v.db) && api.tied(v.db).anonymous;')).toBe(true);
    const cfg = local<any>({}, 'cfg');
    expect(JSON.parse(JSON.stringify(cfg))).toEqual({ db: { port: 2 } });
  });

  it('arrays of objects write through likewise', async () => {
    const a = peer('array', 'rows');
    const b = peer('array', 'rows');
    await Promise.all([ready(a), ready(b)]);
    await run(a, "v.push({ id: 1, tags: ['x'] }, { id: 2, tags: [] });");
    await run(b, "v[1].tags.push('y'); v[0].id = 10;");
    expect(await run(a, 'return JSON.stringify(v);')).toBe('[{"id":10,"tags":["x"]},{"id":2,"tags":["y"]}]');
    await run(b, 'v.sort((x, y) => x.id - y.id);');
    expect(await run(a, 'return v.map((r) => r.id);')).toEqual([2, 10]);
  });

  it('a named variable written by a process that exits is read by a new process; remove() leaves nothing', async () => {
    const a = peer('hash', 'persist');
    await ready(a);
    await run(a, "v.greeting = 'hello'; v.nested = { list: [1, { deep: true }] };");
    a.send('not json: the peer exits on a parse error');
    await a.exited;
    const b = peer('hash', 'persist');
    await ready(b);
    expect(await run(b, 'return JSON.stringify(v);')).toBe(
      '{"greeting":"hello","nested":{"list":[1,{"deep":true}]}}',
    );
    // Head + nested + its list + the {deep} inside it.
    expect(segments(ns())).toHaveLength(4);
    await run(b, 'api.tied(v).remove();');
    expect(segments(ns())).toEqual([]);
  });

  it('reading an unchanged variable 1000 times decodes it at most once', async () => {
    let decodes = 0;
    const spy = {
      name: 'msgpack',
      encode: msgpack.encode,
      decode: (b: Uint8Array) => {
        decodes++;
        return msgpack.decode(b);
      },
    };
    const h = local<Record<string, unknown>>({}, 'cached', { serializer: spy });
    const w = peer('hash', 'cached');
    await ready(w);
    await run(w, "for (let i = 0; i < 500; i++) v['k' + i] = i;");
    decodes = 0;
    let sum = 0;
    for (let i = 0; i < 1000; i++) sum += h.k499 as number;
    expect(sum).toBe(499_000);
    expect(decodes).toBeLessThanOrEqual(1);
    // A write by another process is seen, with exactly one more decode.
    await run(w, 'v.k0 = -1;');
    for (let i = 0; i < 1000; i++) expect(h.k0).toBe(-1);
    expect(decodes).toBe(2);
    // Our own writes are cached as written: no decode to read them back.
    h.mine = 'x';
    for (let i = 0; i < 1000; i++) expect(h.mine).toBe('x');
    expect(decodes).toBe(2);
  });

  it('a process SIGKILLed inside a write lock does not wedge the others', async () => {
    const h = local<{ n?: number }>({ n: 1 }, 'wedge');
    const a = peer('hash', 'wedge');
    await ready(a);
    await run(a, 'api.tied(v).writeLock(); v.n = 2;');
    expect(tied(h).debug().lock.exclusiveOwner).toBe(a.pid);
    a.kill('SIGKILL');
    await a.exited;
    const b = peer('hash', 'wedge');
    await ready(b);
    expect(await run(b, 'v.n = v.n + 1; return [v.n, api.tied(v).ownerDied];')).toEqual([3, true]);
    expect(h.n).toBe(3);
    expect(tied(h).writeLock()).toBe(true);
    tied(h).unlock();
  });

  it('an anonymous variable is shared through its handle and disappears when its last holder unties it', async () => {
    const anon = tie({ hits: 0, list: [1] }, { namespace: ns() });
    const handle = tied(anon).handle;
    const p = peer('hash', undefined, { handle });
    await ready(p);
    await run(p, 'v.hits = 5; v.list.push(2);');
    expect(anon.hits).toBe(5);
    expect([...anon.list]).toEqual([1, 2]);
    expect(segments(ns())).toHaveLength(2);
    untie(anon);
    expect(segments(ns())).toHaveLength(2); // the peer still holds it
    await run(p, 'api.untie(v);');
    expect(segments(ns())).toEqual([]);
  });

  it('an anonymous variable held by a process that exits normally is removed at its exit', async () => {
    const p = peer('hash', undefined);
    await ready(p);
    await run(p, 'v.a = { b: [1] };');
    expect(segments(ns())).toHaveLength(3);
    p.send('exit');
    await p.exited;
    expect(segments(ns())).toEqual([]);
  });

  it('a nested object rewritten in place is seen by another process holding it; one referenced elsewhere is not overwritten', async () => {
    const ref = local(new ScalarRef<any>(), 'handoff');
    ref.value = { id: 1, tags: ['a'], nested: { stock: { shelf: 1 } } };
    const b = peer('scalar', 'handoff');
    await ready(b);
    await run(
      b,
      'state.nested = v.value.nested; state.tags = v.value.tags; state.keep = api.tie({}, "keep", { namespace: api.tied(v).namespace }); state.keep.it = v.value.nested.stock;',
    );
    ref.value = { id: 2, tags: ['b', 'c'], nested: { stock: { shelf: 2 } } };
    // B's Proxies of the nested variables follow them (before, B got ERR_SHM_NOT_FOUND).
    expect(await run(b, 'return [state.nested.stock ? 1 : 0, [...state.tags], v.value.id];')).toEqual([
      1,
      ['b', 'c'],
      2,
    ]);
    // `stock` was also referenced from B's 'keep': it was not overwritten but replaced, and keeps its value there.
    expect(
      await run(
        b,
        'return [state.keep.it.shelf, state.nested.stock.shelf, api.tied(state.keep.it).debug().links];',
      ),
    ).toEqual([1, 2, 1]);
    await run(b, 'api.tied(state.keep).remove();');
    expect(segments(ns())).toHaveLength(5);
  });

  it('many stores of an object from two processes keep the segment count and the reference counts flat', async () => {
    const ref = local(new ScalarRef<any>(), 'flat');
    const obj = (i: number) => ({
      id: i,
      name: 'w',
      tags: ['a', 'b', 'c'],
      nested: { price: i / 2, stock: { shelf: i } },
    });
    ref.value = obj(0);
    const before = segments(ns());
    expect(before).toHaveLength(5); // the ScalarRef, the hash, tags, nested, stock
    const b = peer('scalar', 'flat');
    await ready(b);
    const far = run(
      b,
      'for (let i = 1; i <= 500; i++) v.value = { id: -i, name: "w", tags: ["a", "b", "c"], nested: { price: i, stock: { shelf: i } } };',
    );
    for (let i = 1; i <= 500; i++) ref.value = obj(i);
    await far;
    expect(segments(ns())).toEqual(before);
    const v = tied(ref).snapshot() as any;
    expect(v.tags).toEqual(['a', 'b', 'c']);
    expect(v.nested.stock.shelf).toBe(Math.abs(v.id)); // a whole store, whichever process's came last
    for (const x of [ref.value, ref.value.tags, ref.value.nested, ref.value.nested.stock])
      expect(tied(x).debug().links).toBe(1);
  });

  it('a process SIGKILLed in the middle of storing objects leaves a whole structure and no stray segment', async () => {
    const ref = local(new ScalarRef<any>(), 'killed');
    ref.value = { id: 0, tags: ['t'], nested: { stock: { shelf: 0 } } };
    const b = peer('scalar', 'killed');
    await ready(b);
    b.send({
      id: -1,
      code: 'for (let i = 1; ; i++) v.value = { id: i, tags: ["t", i], nested: { stock: { shelf: i } } };',
    });
    await new Promise((r) => setTimeout(r, 300));
    b.kill('SIGKILL');
    await b.exited;
    expect(segments(ns())).toHaveLength(5);
    const v = tied(ref).snapshot() as any;
    expect(v.id).toBeGreaterThan(0);
    // Children commit before their parent: they are at least as new as the parent, and each is whole.
    expect(v.tags[1]).toBeGreaterThanOrEqual(v.id);
    expect(v.nested.stock.shelf).toBeGreaterThanOrEqual(v.id);
    for (const x of [ref.value, ref.value.tags, ref.value.nested, ref.value.nested.stock])
      expect(tied(x).debug().links).toBe(1);
    // The next store works, whatever locks the dead process held, and leaves the same five segments.
    ref.value = { id: -1, tags: ['u'], nested: { stock: { shelf: -1 } } };
    expect(tied(ref).snapshot()).toEqual({ id: -1, tags: ['u'], nested: { stock: { shelf: -1 } } });
    expect(segments(ns())).toHaveLength(5);
  });

  it('a ScalarRef counter incremented with withWriteLock in several processes', async () => {
    const c = local(new ScalarRef(0), 'hits');
    const peers = [0, 1, 2].map(() => peer('scalar', 'hits'));
    await Promise.all(peers.map(ready));
    await Promise.all(
      peers.map((p) =>
        run(p, 'for (let i = 0; i < 300; i++) api.tied(v).withWriteLock(() => { v.value++; });'),
      ),
    );
    expect(c.value).toBe(900);
  });
});
