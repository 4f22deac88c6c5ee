import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { ShmError, Store } from '@shm/core';
import { msgpack } from '@shm/serializer-msgpack';
import { runFuzzDriver, snapshotKernelObjects, uniqueKey } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';
import { isTied, ScalarRef, type TieOptions, tie, tied, untie } from '../src/index.js';
import { segments, useNamespace } from './helpers.js';

const { ns, extra } = useNamespace();
const fuzzScript = fileURLToPath(new URL('./fixtures/corrupt-tied.ts', import.meta.url));
const REF = '@shm/tied:ref';

function local<T extends object>(target: T, name?: string, options: TieOptions = {}): T {
  const v =
    name === undefined
      ? tie(target, { namespace: ns(), ...options })
      : tie(target, name, { namespace: ns(), ...options });
  extra.push(() => untie(v));
  return v;
}

/** Rewrites the envelope a variable keeps in shared memory, as corruption (or a buggy foreign writer) would. */
function poke(x: object, change: (env: any) => unknown): void {
  const id = tied(x).handle;
  const s = Store.open({ name: id.slice(2), serializer: msgpack, register: false });
  try {
    s.setValue(change(s.getValue()));
  } finally {
    s.close();
  }
}

/** Writes raw bytes as a variable's value (with its serializer's id). */
function pokeBytes(x: object, bytes: Uint8Array): void {
  const s = Store.open({ name: tied(x).handle.slice(2), serializer: msgpack, register: false });
  try {
    s.store(bytes, s.serializerId);
  } finally {
    s.close();
  }
}

function thrown(fn: () => unknown): { code: string; message: string } | undefined {
  try {
    fn();
  } catch (e) {
    if (!ShmError.isInstance(e)) throw e;
    return { code: e.code, message: e.message };
  }
  return undefined;
}

function badFormat(fn: () => unknown): string {
  const e = thrown(fn);
  expect(e?.code, e?.message).toBe('ERR_SHM_BAD_FORMAT');
  return e!.message;
}

describe('Corrupted shared memory: seeded fuzz', () => {
  // Each run: rounds of build, corrupt, operate, removeAll (test/fixtures/corrupt-tied.ts). SHM_FUZZ_SEED and
  // SHM_FUZZ_ROUNDS replay or extend a run.
  const runs = [
    { serializer: 'msgpack', seed: 0x5eed0001, rounds: 300 },
    { serializer: 'v8', seed: 0x5eed0002, rounds: 150 },
    { serializer: 'json', seed: 0x5eed0003, rounds: 150 },
  ] as const;
  for (const run of runs) {
    it(`every operation succeeds or throws ShmError, without hang or crash, and removeAll() leaves nothing (${run.serializer})`, async () => {
      await runFuzzDriver(fuzzScript, {
        seed: run.seed,
        rounds: run.rounds,
        namespace: ns(),
        serializer: run.serializer,
        key: uniqueKey(),
      });
      expect(segments(ns())).toEqual([]);
    });
  }
});

describe('Corrupted shared memory: hand-made cases', () => {
  it('a nested reference pointing at itself or at its parent: reads, snapshots and removal terminate', () => {
    const h = local<any>({ child: { a: 1 } }, 'h');
    const child = h.child;
    poke(child, (env) => ({ ...env, v: { ...env.v, me: { [REF]: tied(child).handle } } }));
    poke(h, (env) => ({ ...env, v: { ...env.v, self: { [REF]: tied(h).handle } } }));
    expect(h.child.me).toBe(child);
    expect(h.self).toBe(h);
    // Each variable is copied once: a reference back to one being copied is undefined in the snapshot.
    const child1 = { a: 1, me: undefined };
    expect(tied(h).snapshot()).toEqual({ child: child1, self: { child: child1, self: undefined } });
    expect(inspect(h)).toContain('a: 1');
    // Dropping the only counted reference removes the child, though it refers to itself.
    delete h.child;
    expect(segments(ns())).toEqual([`${ns()}.v.h`]);
    tied(h).remove();
    expect(segments(ns())).toEqual([]);
  });

  it('a reference to a removed nested variable reads as undefined, and can be overwritten and deleted', () => {
    const h = local<any>({ a: { x: 1 }, b: [1] }, 'h');
    const gone = tied(h.a).handle;
    tied(h.a).remove(); // remove() takes a nested variable away whatever references it
    poke(h, (env) => ({ ...env, v: { ...env.v, c: { [REF]: gone } } }));
    expect(h.a).toBeUndefined();
    expect(h.c).toBeUndefined();
    expect(tied(h).snapshot()).toEqual({ a: undefined, b: [1], c: undefined });
    h.a = { y: 2 };
    expect(h.a.y).toBe(2);
    delete h.c;
    expect(Object.keys(h)).toEqual(['a', 'b']);
    tied(h).remove();
    expect(segments(ns())).toEqual([]);
  });

  it('a reference that is not a variable id is ERR_SHM_BAD_FORMAT, and opens nothing', () => {
    const h = local<any>({ ok: 1 }, 'h');
    const a = local<any[]>([], 'a');
    const before = snapshotKernelObjects();
    for (const id of ['k:0', 'k:abc', 'k:99999999999', 'f:', 'p:', 'p:/../x', 'zzz', 'f:/dev/null']) {
      poke(h, (env) => ({ ...env, v: { ok: 1, x: { [REF]: id } } }));
      expect(badFormat(() => h.x)).toContain(JSON.stringify(id));
      badFormat(() => tied(h).snapshot());
      badFormat(() => inspect(h));
      // The reference is replaced or deleted like any value; nothing it named is touched.
      h.x = { fresh: true };
      expect(h.x.fresh).toBe(true);
      delete h.x;
      poke(a, (env) => ({ ...env, v: [{ [REF]: id }] }));
      badFormat(() => a.pop());
      expect(a.length).toBe(1);
      a.length = 0;
    }
    // Opening 'k:0' (IPC_PRIVATE) used to create a SysV segment at each read.
    const after = snapshotKernelObjects();
    expect([...after.shm.keys()].filter((id) => !before.shm.has(id))).toEqual([]);
    expect(segments(ns())).toEqual([`${ns()}.v.a`, `${ns()}.v.h`]);
  });

  it('a hash key of absurd length, or counts past the end, is ERR_SHM_BAD_FORMAT', () => {
    const h = local<any>({ a: 1 }, 'h');
    const head = [
      0x84,
      0xa1,
      0x74,
      0xa4,
      ...Buffer.from('hash'),
      0xa1,
      0x6c,
      0x00,
      0xa1,
      0x68,
      0x90,
      0xa1,
      0x76,
    ];
    for (const v of [
      [0x81, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x6b, 0x01], // { <a key of 4 GiB>: 1 }
      [0xdf, 0xff, 0xff, 0xff, 0xff], // a map of 4 billion entries
      [0x81, 0xa1, 0x6b, 0xc6, 0x7f, 0xff, 0xff, 0xff], // { k: <2 GiB of binary> }
    ]) {
      pokeBytes(h, new Uint8Array([...head, ...v]));
      expect(badFormat(() => h.a)).toContain('msgpack');
      badFormat(() => {
        h.b = 2;
      });
    }
    // A correct value written over the corrupt one makes the variable usable again.
    pokeBytes(h, msgpack.encode({ t: 'hash', l: 0, h: [], v: { a: 3 } }));
    expect({ ...h }).toEqual({ a: 3 });
  });

  it('a value that decodes to the wrong type is ERR_SHM_BAD_FORMAT naming the variable, for reads and writes', () => {
    const h = local<any>({ a: 1 }, 'h');
    const a = local<any[]>([1], 'a');
    const s = local(new ScalarRef<any>(1), 's');
    for (const v of [null, 5, 'str', [1, 2], true, new Date(0)]) {
      poke(h, (env) => ({ ...env, v }));
      expect(badFormat(() => h.a)).toMatch(/'h'.*hash/);
      badFormat(() => Object.keys(h));
      badFormat(() => {
        h.b = 1;
      });
      badFormat(() => tied(h).snapshot());
    }
    for (const v of [null, {}, 5, { length: 1e9 }]) {
      poke(a, (env) => ({ ...env, v }));
      expect(badFormat(() => a.length)).toMatch(/'a'.*array/);
      badFormat(() => a.push(1));
      badFormat(() => a.map((x: unknown) => x));
    }
    // The envelope's own fields: kind, reference count, holders.
    for (const change of [
      { t: 'bogus' },
      { l: -1 },
      { l: 1.5 },
      { l: 'x' },
      { h: ['x'] },
      { h: [-1] },
      { h: [0] },
      { h: 'x' },
    ]) {
      poke(s, (env) => ({ ...env, ...change }));
      badFormat(() => s.value);
      badFormat(() => {
        s.value = 2;
      });
    }
    for (const env of [null, 5, 'x', [], {}]) {
      poke(s, () => env);
      expect(badFormat(() => s.value)).toContain("'s'");
    }
    // A kind that does not match the Proxy: reads say so as writes do.
    poke(h, () => ({ t: 'array', l: 0, h: [], v: [] }));
    expect(thrown(() => Object.keys(h))?.code).toBe('ERR_SHM_NOT_FOUND');
    poke(h, () => ({ t: 'hash', l: 0, h: [], v: { ok: true } }));
    expect({ ...h }).toEqual({ ok: true });
  });

  it('a stray reference to an anonymous variable does not remove it while it is still referenced', () => {
    const h = local<any>({}, 'h');
    const anon = tie<any>({ keep: 'me' }, { namespace: ns() });
    h.first = anon; // counted: 1 reference
    // Corruption duplicates the reference without counting it; deleting both drops two.
    poke(h, (env) => ({ ...env, v: { ...env.v, stray: { ...env.v.first } } }));
    delete h.stray;
    delete h.first;
    expect(tied(anon).debug().links).toBe(0); // held by this process, referenced nowhere: not below zero
    h.again = anon;
    untie(anon); // this process lets go: the reference in h.again keeps it
    expect(h.again.keep).toBe('me');
    delete h.again;
    expect(segments(ns())).toEqual([`${ns()}.v.h`]);
  });

  it('remove() of a variable removes every sound nested variable, though one of them is corrupt', () => {
    const h = local<any>({ a: { x: 1 }, b: { y: [2] }, c: { z: 3 } }, 'h');
    const b = h.b;
    const nestedOfB = tied(b.y).handle;
    pokeBytes(b, new Uint8Array([0xc1]));
    tied(h).remove();
    // The corrupt one cannot say what it references: it stays (with what it refers to) for removeAll().
    expect(segments(ns())).toEqual([tied(b).handle.slice(3), nestedOfB.slice(3)].sort());
    expect(isTied(b)).toBe(true);
  });
});
