// Seeded random Perl structures through the real Storable, both ways (issue 16): Perl freezes and nfreezes each
// one; Node decodes both images and must describe exactly what Perl describes of thaw(image) (test/canonical.ts
// and the peer's canon()); Node encodes what it decoded and Perl thaws it and compares it with the original
// (the peer's diff(): structure, values of the same kind, doubles bit for bit, classes, sharing).
//   STORABLE_SEED=<n> replays a run; STORABLE_COUNT=<n> changes the number of structures (default 5000);
//   STORABLE_ONLY=<i> runs structure i alone.
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blessed, createStorableSerializer, PerlRef } from '../src/index.js';
import { canonical } from './canonical.js';
import { StorablePeer } from './perl-peer.js';

const seed = Number(process.env.STORABLE_SEED ?? randomInt(1, 2 ** 31));
const only = process.env.STORABLE_ONLY === undefined ? undefined : Number(process.env.STORABLE_ONLY);
const count = only !== undefined ? 1 : Number(process.env.STORABLE_COUNT ?? 5000);
const first = only ?? 0;
const BATCH = 250;

const latin1 = createStorableSerializer();
const latin1Native = createStorableSerializer({ byteOrder: 'native' });
const buffers = createStorableSerializer({ byteOrder: 'native', byteStrings: 'buffer' });

/** Counts of the features the issue lists, over one decoded value (latin1 strings, native image). */
function tally(value: unknown, t: Record<string, number>): void {
  const bump = (k: string) => {
    t[k] = (t[k] ?? 0) + 1;
  };
  const seen = new Set<object>();
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > 100) bump('nested deeper than 100');
    if (v === null) bump('undef');
    else if (typeof v === 'bigint') bump('BigInt (beyond 2^53)');
    else if (typeof v === 'number')
      bump(Number.isInteger(v) ? (v < 0 ? 'negative integer' : 'integer') : 'double');
    else if (typeof v === 'boolean') bump('boolean (immortal)');
    else if (typeof v === 'string') {
      if (v.length > 255) bump('string > 255 characters');
      if (/[\u0100-\uffff]/.test(v)) bump('string beyond U+00FF');
      else if (/[\u0080-\u00ff]/.test(v)) bump('string with high bytes');
    } else if (typeof v === 'object') {
      if (seen.has(v)) {
        bump('shared referent or cycle');
        continue;
      }
      seen.add(v);
      if (blessed(v) !== undefined) bump('blessed');
      if (v instanceof PerlRef) {
        bump(v.value instanceof PerlRef ? 'ref to ref' : 'ref to scalar');
        stack.push([v.value, depth + 1]);
      } else if (Array.isArray(v)) {
        bump(v.length === 0 ? 'empty array' : v.length > 255 ? 'array > 255 elements' : 'array');
        for (const x of v) stack.push([x, depth + 1]);
      } else {
        const keys = Object.keys(v);
        bump(keys.length === 0 ? 'empty hash' : keys.length > 255 ? 'hash > 255 keys' : 'hash');
        for (const k of keys) {
          if (/[\u0100-\uffff]/.test(k)) bump('UTF-8 key');
          stack.push([(v as any)[k], depth + 1]);
        }
      }
    }
  }
}

/** Where two canonical texts first differ, with some context, instead of two pages of hex. */
function sameCanon(got: string, want: string | undefined, what: string): void {
  if (got === want) return;
  const w = want ?? '';
  let k = 0;
  while (k < got.length && got[k] === w[k]) k++;
  const at = (s: string) => JSON.stringify(s.slice(Math.max(0, k - 80), k + 80));
  expect.fail(`${what}: the canonical forms differ at character ${k}\n  Node: ${at(got)}\n  Perl: ${at(w)}`);
}

const replay = (i: number) =>
  `seed ${seed}, structure ${i}: replay with STORABLE_SEED=${seed} STORABLE_ONLY=${i} pnpm --filter @shm/serializer-storable test perl-roundtrip`;

describe(`${count} random Perl structures through Storable 3.26 both ways (seed ${seed})`, () => {
  let perl: StorablePeer;
  beforeAll(() => {
    console.log(`perl-roundtrip: STORABLE_SEED=${seed} replays this run`);
    perl = new StorablePeer();
  });
  afterAll(async () => {
    await perl?.close();
  });

  it('Node decodes freeze and nfreeze images as Perl describes them, and Perl thaws what Node encodes back', async () => {
    const kinds = { images: 0, bytes: 0, checks: 0 };
    const features: Record<string, number> = {};
    for (let from = first; from < first + count; from += BATCH) {
      const n = Math.min(BATCH, first + count - from);
      perl.send('gen', seed, from, n);
      const generated = await perl.batch();
      expect(generated.length).toBe(n);
      for (const [tag, is, natB64, netB64, cNat, cNet, lNat, lNet] of generated) {
        expect(tag).toBe('G');
        const i = Number(is);
        const nat = Buffer.from(natB64!, 'base64');
        const net = Buffer.from(netB64!, 'base64');
        kinds.images += 2;
        kinds.bytes += nat.length + net.length;
        // Decode: both orders, strict (byte strings as Buffers, so the UTF-8 flag is visible) and latin1.
        const vNat = latin1.decode(nat);
        const vNet = latin1.decode(net);
        const bNat = buffers.decode(nat);
        tally(vNat, features);
        sameCanon(canonical(buffers.decode(net), true), cNet, `${replay(i)}: nfreeze, strict`);
        sameCanon(canonical(bNat, true), cNat, `${replay(i)}: freeze, strict`);
        sameCanon(canonical(vNet, false), lNet, `${replay(i)}: nfreeze, latin1`);
        sameCanon(canonical(vNat, false), lNat, `${replay(i)}: freeze, latin1`);
        // Encode what was decoded, for Perl to compare with the original.
        const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');
        perl.send(
          'chk',
          i,
          b64(latin1.encode(vNet)),
          b64(latin1Native.encode(vNat)),
          b64(buffers.encode(bNat)),
        );
      }
      perl.send('end');
      const checked = await perl.batch();
      expect(checked.length).toBe(n);
      for (const [tag, is, verdict] of checked) {
        expect(tag).toBe('C');
        expect(verdict, replay(Number(is))).toBe('ok');
        kinds.checks++;
      }
    }
    expect(kinds.checks).toBe(count);
    if (only === undefined && count >= 1000) {
      // The run covered every kind of value the issue names, each many times.
      for (const f of [
        'undef',
        'BigInt (beyond 2^53)',
        'integer',
        'negative integer',
        'double',
        'boolean (immortal)',
        'string > 255 characters',
        'string beyond U+00FF',
        'string with high bytes',
        'shared referent or cycle',
        'blessed',
        'ref to ref',
        'ref to scalar',
        'empty array',
        'array > 255 elements',
        'array',
        'empty hash',
        'hash > 255 keys',
        'hash',
        'UTF-8 key',
        'nested deeper than 100',
      ]) {
        expect(features[f] ?? 0, `${f} in seed ${seed}`).toBeGreaterThan(10);
      }
    }
    console.log(`perl-roundtrip: features ${JSON.stringify(features)}`);
    console.log(
      `perl-roundtrip: ${count} structures, ${kinds.images} Perl images (${(kinds.bytes / 1e6).toFixed(1)} MB) decoded, ${3 * count} Node images thawed by Perl`,
    );
  }, 300_000);
});
