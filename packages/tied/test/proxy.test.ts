import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ShmError } from '@shm/core';
import { uniqueKey, uniqueName } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';
import { isTied, removeAll, ScalarRef, type TieOptions, tie, tied, untie } from '../src/index.js';
import { segments, useNamespace } from './helpers.js';

const { ns, extra } = useNamespace();

function local<T extends object>(target: T, name?: string, options: TieOptions = {}): T {
  const v =
    name === undefined
      ? tie(target, { namespace: ns(), ...options })
      : tie(target, name, { namespace: ns(), ...options });
  extra.push(() => {
    if (!tied(v).anonymous) return untie(v);
    try {
      untie(v);
    } catch {
      /* removed by the test */
    }
  });
  return v;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return ShmError.isInstance(e) ? e.code : (e as Error).name;
  }
  return undefined;
}

describe('a tied hash behaves like a plain object', () => {
  it('get, set, delete, in, keys, entries, spread, JSON.stringify, inspect', () => {
    const h = local<Record<string, any>>({ a: 1, b: 'two' }, 'h');
    expect(h.a).toBe(1);
    h.c = true;
    h.b = 'deux';
    expect('c' in h).toBe(true);
    expect('zz' in h).toBe(false);
    expect('toString' in h).toBe(true);
    expect(Object.keys(h)).toEqual(['a', 'b', 'c']);
    expect(Object.entries(h)).toEqual([
      ['a', 1],
      ['b', 'deux'],
      ['c', true],
    ]);
    expect({ ...h }).toEqual({ a: 1, b: 'deux', c: true });
    expect(JSON.stringify(h)).toBe('{"a":1,"b":"deux","c":true}');
    expect(delete h.a).toBe(true);
    expect(h.a).toBeUndefined();
    expect(Object.hasOwn(h, 'a')).toBe(false);
    expect(Object.hasOwn(h, 'b')).toBe(true);
    expect(String(h)).toBe('[object Object]');
    expect(inspect(h)).toBe("{ b: 'deux', c: true }");
    for (const k in h) expect(['b', 'c']).toContain(k);
    expect(Object.assign({}, h)).toEqual({ b: 'deux', c: true });
    expect(isTied(h)).toBe(true);
    expect(isTied({})).toBe(false);
  });

  it('gives the initial contents only to the call that creates the variable', () => {
    const a = local<Record<string, number>>({ x: 1 }, 'init');
    const b = tie<Record<string, number>>({ x: 2, y: 3 }, 'init', { namespace: ns() });
    expect(b).toBe(a); // one Proxy per variable per process
    expect({ ...b }).toEqual({ x: 1 });
    untie(b);
  });

  it('moves a nested object into its own segment and returns a tied Proxy that writes through', () => {
    const cfg = local<any>({}, 'cfg');
    const plain = { port: 1, hosts: ['a'] };
    cfg.db = plain;
    expect(segments(ns())).toHaveLength(3);
    expect(isTied(cfg.db)).toBe(true);
    expect(cfg.db).not.toBe(plain);
    expect(cfg.db).toBe(cfg.db);
    cfg.db.port = 5432;
    cfg.db.hosts.push('b');
    expect(plain.port).toBe(1);
    expect(JSON.stringify(cfg)).toBe('{"db":{"port":5432,"hosts":["a","b"]}}');
    expect(tied(cfg).debug().children).toEqual([{ key: 'db', id: tied(cfg.db).handle }]);
    // Replaced or deleted nested values release their segments.
    cfg.db = { port: 2 };
    expect(segments(ns())).toHaveLength(2);
    delete cfg.db;
    expect(segments(ns())).toHaveLength(1);
  });

  it('shares a nested variable assigned into two places, and removes it with the last reference', () => {
    const h = local<any>({}, 'two');
    h.a = { n: 1 };
    h.b = h.a;
    h.b.n = 2;
    expect(h.a.n).toBe(2);
    expect(tied(h.a).debug().links).toBe(2);
    delete h.a;
    expect(h.b.n).toBe(2);
    expect(segments(ns())).toHaveLength(2);
    h.b = 0;
    expect(segments(ns())).toHaveLength(1);
  });

  it('rewrites a replaced nested object or array of the same kind in place, at every level, keeping its segment', () => {
    const h = local<any>({}, 'inplace');
    h.item = { id: 1, tags: ['a'], nested: { stock: { shelf: 1 } } };
    const before = segments(ns());
    expect(before).toHaveLength(5);
    const item = h.item;
    const handles = [tied(h.item).handle, tied(h.item.tags).handle, tied(h.item.nested.stock).handle];
    h.item = { id: 2, tags: ['b', 'c'], nested: { stock: { shelf: 2 } } };
    expect(segments(ns())).toEqual(before);
    expect([tied(h.item).handle, tied(h.item.tags).handle, tied(h.item.nested.stock).handle]).toEqual(
      handles,
    );
    expect(h.item).toBe(item); // the same variable: a Proxy kept from before sees the new contents
    expect(item.id).toBe(2);
    expect(tied(h).snapshot()).toEqual({
      item: { id: 2, tags: ['b', 'c'], nested: { stock: { shelf: 2 } } },
    });
    expect(tied(h.item.tags).debug().links).toBe(1);
    // Keys that went away free their segments; a container of another kind gets a new one.
    h.item = { id: 3, tags: { not: 'an array' } };
    expect(segments(ns())).toHaveLength(3);
    expect(tied(h.item).handle).toBe(handles[0]);
    expect(tied(h.item.tags).handle).not.toBe(handles[1]);
    // Array elements and ScalarRef values likewise.
    const a = local<any[]>([{ n: 1 }], 'inplace-arr');
    const el = tied(a[0]).handle;
    a[0] = { n: 2 };
    expect(tied(a[0]).handle).toBe(el);
    expect(a[0].n).toBe(2);
    const r = local(new ScalarRef<any>({ list: [1] }), 'inplace-ref');
    const list = tied(r.value.list).handle;
    r.value = { list: [1, 2] };
    expect(tied(r.value.list).handle).toBe(list);
    expect(segments(ns())).toHaveLength(3 + 2 + 3);
  });

  it('never rewrites a nested variable that something else references or holds: it gets a new one', () => {
    const h = local<any>({}, 'shared-child');
    h.a = { x: 1 };
    h.b = h.a; // two references
    const first = tied(h.a).handle;
    h.a = { x: 2 };
    expect(tied(h.a).handle).not.toBe(first);
    expect([h.a.x, h.b.x]).toEqual([2, 1]);
    expect(tied(h.b).debug().links).toBe(1);
    // An anonymous variable some process holds (tie() without a name) is its own variable too.
    const anon = local<any>({ y: 1 });
    h.c = anon;
    h.c = { y: 2 };
    expect(anon.y).toBe(1);
    expect(h.c.y).toBe(2);
    expect(tied(h.c).handle).not.toBe(tied(anon).handle);
    // A value holding a tied Proxy takes the usual path (new segments, counts settled).
    h.d = { z: 1 };
    h.d = { z: 2, link: h.b };
    expect(tied(h.b).debug().links).toBe(2);
    expect(h.d.link.x).toBe(1);
  });

  it('a rewrite in place the serializer rejects changes nothing', () => {
    const h = local<any>({}, 'inplace-bad');
    h.keep = { ok: 1, inner: { n: 1 } };
    const before = segments(ns());
    const handle = tied(h.keep).handle;
    expect(codeOf(() => (h.keep = { ok: 2, inner: { n: 2, m: new Map([['f', () => 1]]) } }))).toBe(
      'ERR_SHM_UNSERIALIZABLE',
    );
    expect(tied(h).snapshot()).toEqual({ keep: { ok: 1, inner: { n: 1 } } });
    expect(tied(h.keep).handle).toBe(handle);
    expect(segments(ns())).toEqual(before);
    // The claimed children were unlocked.
    expect(tied(h.keep.inner).writeLock(0)).toBe(true);
    tied(h.keep.inner).unlock();
    h.keep = { ok: 3, inner: { n: 3 } };
    expect(h.keep.inner.n).toBe(3);
  });

  it('rejects values that cannot be shared and keeps the previous value, creating nothing', () => {
    const h = local<any>({ keep: 1 }, 'bad');
    class Point {
      x = 1;
    }
    const before = segments(ns());
    const cycle: any = { a: 1 };
    cycle.self = cycle;
    const bad: [string, () => void][] = [
      ['function', () => (h.keep = () => 1)],
      ['symbol', () => (h.keep = Symbol('s'))],
      ['class instance', () => (h.keep = new Point())],
      ['nested function', () => (h.keep = { ok: { list: [1, 2, () => 3] } })],
      ['cycle', () => (h.keep = cycle)],
      ['function in a Map', () => (h.keep = { m: new Map([['f', () => 1]]) })],
    ];
    for (const [what, fn] of bad) {
      expect(codeOf(fn), what).toBe('ERR_SHM_UNSERIALIZABLE');
      expect(h.keep, what).toBe(1);
      expect(segments(ns()), what).toEqual(before);
    }
    expect(() => (h.keep = () => 1)).toThrow(
      /Cannot share 'bad'\.keep: it is a function; the variable keeps its previous value/,
    );
    const arr = local<any[]>([1], 'badarr');
    expect(codeOf(() => arr.push(2, () => 3))).toBe('ERR_SHM_UNSERIALIZABLE');
    expect([...arr]).toEqual([1]);
  });

  it('reads an unchanged variable from the decoded copy (no decode), and its own writes too', () => {
    const h = local<any>({ a: 1 }, 'stats');
    const t = tied(h);
    const d0 = t.stats.decodes;
    for (let i = 0; i < 1000; i++) expect(h.a).toBe(1);
    h.b = 2;
    for (let i = 0; i < 1000; i++) expect(h.b).toBe(2);
    expect(t.stats.decodes).toBe(d0);
    expect(t.stats.cacheHits).toBeGreaterThanOrEqual(2000);
  });
});

describe('a tied array behaves like an array', () => {
  it('length, indices, iteration, spread, Array.isArray, JSON.stringify', () => {
    const a = local<any[]>([1, 2], 'arr');
    expect(Array.isArray(a)).toBe(true);
    expect(a.length).toBe(2);
    a[2] = 3;
    expect([...a]).toEqual([1, 2, 3]);
    expect(Array.from(a)).toEqual([1, 2, 3]);
    const seen: number[] = [];
    for (const x of a) seen.push(x);
    expect(seen).toEqual([1, 2, 3]);
    expect(Object.keys(a)).toEqual(['0', '1', '2']);
    expect(1 in a).toBe(true);
    expect(5 in a).toBe(false);
    expect(JSON.stringify({ a })).toBe('{"a":[1,2,3]}');
    a.length = 1;
    expect([...a]).toEqual([1]);
    expect(inspect(a)).toBe('[ 1 ]');
  });

  it('push, pop, shift, unshift, splice, sort, reverse, fill, copyWithin are each one atomic write', () => {
    const a = local<any[]>([], 'ops');
    const commits = () => tied(a).stats.commits;
    const c0 = commits();
    expect(a.push(3, 1, 2)).toBe(3);
    expect(commits()).toBe(c0 + 1);
    expect(a.sort()).toBe(a);
    expect([...a]).toEqual([1, 2, 3]);
    a.sort((x, y) => y - x);
    expect([...a]).toEqual([3, 2, 1]);
    expect(a.reverse()).toBe(a);
    expect(a.pop()).toBe(3);
    expect(a.shift()).toBe(1);
    expect(a.unshift(0, 1)).toBe(3);
    expect([...a]).toEqual([0, 1, 2]);
    expect(a.splice(1, 1, 'x', 'y')).toEqual([1]);
    expect([...a]).toEqual([0, 'x', 'y', 2]);
    a.fill(7, 2);
    expect([...a]).toEqual([0, 'x', 7, 7]);
    a.copyWithin(0, 2);
    expect([...a]).toEqual([7, 7, 7, 7]);
    expect(commits()).toBe(c0 + 10);
  });

  it('read-only methods run on one snapshot', () => {
    const a = local<any[]>([1, 2, 3, 4], 'ro');
    expect(a.map((x: number) => x * 2)).toEqual([2, 4, 6, 8]);
    expect(a.filter((x: number) => x % 2)).toEqual([1, 3]);
    expect(a.reduce((s: number, x: number) => s + x, 0)).toBe(10);
    expect(a.indexOf(3)).toBe(2);
    expect(a.includes(4)).toBe(true);
    expect(a.slice(1, 3)).toEqual([2, 3]);
    expect(a.join('-')).toBe('1-2-3-4');
    expect(a.at(-1)).toBe(4);
    expect(a.find((x: number) => x > 2)).toBe(3);
    expect(a.some((x: number) => x > 3)).toBe(true);
    expect(a.every((x: number) => x > 0)).toBe(true);
    expect([...a.entries()][1]).toEqual([1, 2]);
    expect(a.toString()).toBe('1,2,3,4');
    expect(a.concat([5])).toEqual([1, 2, 3, 4, 5]);
  });

  it('arrays of objects: elements are tied Proxies; removed elements come back as plain copies and free their segment', () => {
    const a = local<any[]>([], 'objs');
    a.push({ id: 2 }, { id: 1 });
    a.sort((x, y) => x.id - y.id);
    expect(a.map((r: any) => r.id)).toEqual([1, 2]);
    a[0].id = 10;
    expect(a[0].id).toBe(10);
    expect(segments(ns())).toHaveLength(3);
    const popped = a.pop();
    expect(isTied(popped)).toBe(false);
    expect(popped).toEqual({ id: 2 });
    expect(segments(ns())).toHaveLength(2);
    a.length = 0;
    expect(segments(ns())).toHaveLength(1);
  });
});

describe('ScalarRef', () => {
  it('holds one shared value, including objects that then write through', () => {
    const s = local(new ScalarRef<any>(41), 'scalar');
    expect(s).toBeInstanceOf(ScalarRef);
    expect(s.value).toBe(41);
    tied(s).withWriteLock(() => s.value++);
    expect(s.value).toBe(42);
    expect((s as unknown as number) + 1).toBe(43); // valueOf()
    expect(JSON.stringify({ s })).toBe('{"s":42}');
    s.value = { list: [1] };
    s.value.list.push(2);
    expect(JSON.stringify(s)).toBe('{"list":[1,2]}');
    expect(new ScalarRef('local').value).toBe('local');
  });
});

describe('locks', () => {
  it('are pseudo-nested: asking again for a held lock returns false instead of deadlocking', () => {
    const h = local<any>({ n: 0 }, 'locks');
    const t = tied(h);
    expect(t.writeLock()).toBe(true);
    expect(t.writeLock()).toBe(false);
    h.n = 1; // writes under our own lock
    expect(t.withWriteLock(() => h.n + 1)).toBe(2);
    expect(t.debug().lock.heldHere).toBe('write');
    expect(t.unlock()).toBe(true);
    expect(t.unlock()).toBe(false);
    expect(t.readLock()).toBe(true);
    expect(t.readLock()).toBe(false);
    expect(h.n).toBe(1);
    expect(() => (h.n = 2)).toThrow(
      expect.objectContaining({
        code: 'ERR_SHM_DEADLOCK',
        message: expect.stringMatching(/while this process holds its read lock/),
      }),
    );
    expect(() => t.writeLock()).toThrow(
      expect.objectContaining({
        code: 'ERR_SHM_DEADLOCK',
        message: expect.stringMatching(/holds its read lock/),
      }),
    );
    t.unlock();
    h.n = 2;
    expect(h.n).toBe(2);
  });

  it('async lock and withWriteLockAsync', async () => {
    const h = local<any>({ n: 0 }, 'async');
    const t = tied(h);
    await t.withWriteLockAsync(async () => {
      await new Promise((r) => setTimeout(r, 1));
      h.n++;
    });
    expect(await t.readLockAsync()).toBe(true);
    expect(h.n).toBe(1);
    t.unlock();
  });
});

describe('lifecycle and options', () => {
  it('remove() deletes the variable and everything nested, and the Proxy reports it', () => {
    const h = local<any>({}, 'gone');
    h.a = { b: { c: [1, { d: 1 }] } };
    expect(segments(ns())).toHaveLength(5);
    tied(h).remove();
    expect(segments(ns())).toEqual([]);
    expect(codeOf(() => h.a)).toBe('ERR_SHM_NOT_FOUND');
  });

  it('an anonymous variable stored in a named one persists through it, and goes with it', () => {
    const named = local<any>({}, 'holder');
    const anon = tie({ x: 1 }, { namespace: ns() });
    named.session = anon;
    untie(anon);
    expect(named.session.x).toBe(1);
    expect(segments(ns())).toHaveLength(2);
    delete named.session;
    expect(segments(ns())).toHaveLength(1);
  });

  it('untie() of a destroy: true variable removes it; other variables persist after untie', () => {
    const d = tie<any>({ a: { b: 1 } }, 'tmp', { namespace: ns(), destroy: true });
    const p = tie<any>({ a: 1 }, 'stay', { namespace: ns() });
    expect(segments(ns())).toHaveLength(3);
    untie(d);
    untie(p);
    expect(segments(ns())).toEqual([`${ns()}.v.stay`]);
    expect(codeOf(() => p.a)).toBe('ERR_SHM_CLOSED');
  });

  it('create: false, exclusive: true and a kind mismatch fail clearly', () => {
    expect(codeOf(() => tie({}, 'nope', { namespace: ns(), create: false }))).toBe('ENOENT');
    local({}, 'once');
    expect(codeOf(() => tie({}, 'once', { namespace: ns(), exclusive: true }))).toBe('EEXIST');
    expect(() => tie([], 'once', { namespace: ns() })).toThrow(
      "Expected an array for tie() of 'once' but received a variable holding a hash (plain object)",
    );
  });

  it('validates its arguments', () => {
    expect(() => tie(new Map() as any, 'x')).toThrow(TypeError);
    expect(() => tie({}, 'x', { namespace: 'a/b' })).toThrow(/Expected a non-empty namespace/);
    expect(() => tie({}, 'x', { namespace: ns(), size: 1 })).toThrow(RangeError);
    expect(() => tie({}, 'x', { namespace: ns(), bogus: 1 } as any)).toThrow(
      /for an option name but received "bogus"/,
    );
    expect(() => tie({}, { namespace: ns(), handle: 'nonsense' })).toThrow(/handle from tied/);
    expect(() => tied({})).toThrow(TypeError);
  });

  it('names with dots, slashes and unicode are escaped into one segment name', () => {
    const h = local<any>({}, 'a.b/c ü');
    h.x = 1;
    expect(segments(ns())).toEqual([`${ns()}.v.a%2Eb%2Fc%20%C3%BC`]);
  });

  it('size sets the inline capacity; bigger values chain into more segments and shrink back', () => {
    const h = local<any>({}, 'big', { size: 1024 });
    h.blob = 'x'.repeat(200_000);
    expect(
      tied(h)
        .debug()
        .chainedSegments.some((s) => s.used),
    ).toBe(true);
    expect(h.blob.length).toBe(200_000);
    h.blob = 'small';
    expect(
      tied(h)
        .debug()
        .chainedSegments.filter((s) => s.used),
    ).toEqual([]);
  });

  it("serializer: 'v8' keeps Map, Set, Date and BigInt", () => {
    const h = local<any>({}, 'v8', { serializer: 'v8' });
    h.m = new Map([[1, 'a']]);
    h.s = new Set([1]);
    h.d = new Date(0);
    h.n = 10n;
    expect(h.m.get(1)).toBe('a');
    expect(h.s.has(1)).toBe(true);
    expect(h.d.getTime()).toBe(0);
    expect(h.n).toBe(10n);
  });

  it('swapfile puts the namespace in files next to that path (they survive a reboot)', () => {
    const swap = join(tmpdir(), uniqueName('shmtest-swap'));
    extra.push(() => removeAll({ namespace: ns(), swapfile: swap }));
    const h = tie<any>({}, 'onfile', { namespace: ns(), swapfile: swap });
    h.a = { b: 1 };
    expect(tied(h).debug().backend).toBe('file');
    const files = readdirSync(tmpdir()).filter((f) => f.startsWith(`${swap.split('/').pop()}.`));
    expect(files).toHaveLength(2);
    tied(h).remove();
    expect(existsSync(`${swap}.v.onfile`)).toBe(false);
  });

  it('key puts the head in a SysV segment (IPC::Shareable)', () => {
    const key = uniqueKey();
    const h = tie<any>({}, { namespace: ns(), key });
    extra.push(() => removeAll({ namespace: ns() }));
    h.a = [1, 2];
    expect(tied(h).debug().backend).toBe('sysv');
    const again = tie<any>({}, { namespace: ns(), key });
    expect([...again.a]).toEqual([1, 2]);
    tied(h).remove();
    expect(segments(ns())).toEqual([]);
  });
});
