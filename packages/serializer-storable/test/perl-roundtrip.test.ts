// Seeded random Perl structures through the real Storable, both ways (issue 16): Perl freezes and nfreezes each
// one; Node decodes both images and must describe exactly what Perl describes of thaw(image) (test/canonical.ts
// and the peer's canon()); Node encodes what it decoded and Perl thaws it and compares it with the original
// (the peer's diff(): structure, values of the same kind, doubles bit for bit, classes, sharing).
//   STORABLE_SEED=<n> replays a run; STORABLE_COUNT=<n> changes the number of structures (default 5000);
//   STORABLE_ONLY=<i> runs structure i alone.
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorableSerializer } from '../src/index.js';
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
        sameCanon(canonical(buffers.decode(net), true), cNet, `${replay(i)}: nfreeze, strict`);
        sameCanon(canonical(bNat, true), cNat, `${replay(i)}: freeze, strict`);
        sameCanon(canonical(vNet, false), lNet, `${replay(i)}: nfreeze, latin1`);
        sameCanon(canonical(vNat, false), lNat, `${replay(i)}: freeze, latin1`);
        // Encode what was decoded, for Perl to compare with the original.
        const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');
        perl.send('chk', i, b64(latin1.encode(vNet)), b64(latin1Native.encode(vNat)), b64(buffers.encode(bNat)));
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
    console.log(
      `perl-roundtrip: ${count} structures, ${kinds.images} Perl images (${(kinds.bytes / 1e6).toFixed(1)} MB) decoded, ${3 * count} Node images thawed by Perl`,
    );
  }, 300_000);
});
