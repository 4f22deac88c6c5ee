// Untrusted images: truncated, wrong magic or version, absurd lengths, nesting beyond the limit, and a seeded fuzz
// run in its own process with a watchdog. Only ShmErrors, never a crash, a hang or a giant allocation.
import { randomInt } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runFuzzDriver, uniquePath } from '@shm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorableSerializer, nfreeze, PerlRef, storable } from '../src/index.js';
import { StorablePeer } from './perl-peer.js';

const FUZZ_DRIVER = fileURLToPath(new URL('./fixtures/fuzz-driver.ts', import.meta.url));
const NET = [0x05, 0x0b];
const NATIVE = [0x04, 0x0b, 8, ...Buffer.from('12345678'), 4, 8, 8, 8];

let perl: StorablePeer;
const perlImages: Buffer[] = [];
beforeAll(async () => {
  perl = new StorablePeer();
  perl.send('gen', 4242, 0, 40);
  for (const f of await perl.batch()) {
    for (const b64 of [f[2]!, f[3]!]) {
      const img = Buffer.from(b64, 'base64');
      if (img.length < 20_000) perlImages.push(img);
    }
  }
});
afterAll(async () => {
  await perl?.close();
});

function codeOf(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (e: any) {
    return { code: e.code, message: e.message };
  }
  return { message: 'returned a value' };
}

const be32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

describe('truncated images', () => {
  it('every proper prefix of real images is ERR_SHM_BAD_FORMAT', () => {
    let prefixes = 0;
    for (const img of perlImages.slice(0, 30)) {
      for (let n = 0; n < img.length; n++) {
        const r = codeOf(() => storable.decode(img.subarray(0, n)));
        expect(r.code, `prefix of ${n} of ${img.length} bytes: ${r.message}`).toBe('ERR_SHM_BAD_FORMAT');
        prefixes++;
      }
    }
    expect(prefixes).toBeGreaterThan(1000);
  });

  it('trailing bytes are ERR_SHM_BAD_FORMAT too', () => {
    const r = codeOf(() => storable.decode(Buffer.concat([nfreeze({ a: 1 }), Buffer.from([0])])));
    expect(r.code).toBe('ERR_SHM_BAD_FORMAT');
    expect(r.message).toMatch(/1 bytes after the end/);
  });
});

describe('wrong magic or version', () => {
  it.each([
    ['JSON text', Buffer.from('{"a":1}')],
    ['major 1', Uint8Array.from([0x02, 0x08, 0x81])],
    ['major 3, network order', Uint8Array.from([0x07, 0x0b, 0x08, 0x81])],
    ['pst0 then garbage', Uint8Array.from([...Buffer.from('pst0'), 0xff, 0xff])],
    ['perl-store', Buffer.from('perl-store\x00\x00')],
    [
      'a native byte order of 3412',
      Uint8Array.from([0x04, 0x0b, 4, ...Buffer.from('3412'), 4, 4, 4, 8, 8, 0x81]),
    ],
    [
      'a native int size of 8',
      Uint8Array.from([0x04, 0x0b, 8, ...Buffer.from('12345678'), 8, 8, 8, 8, 8, 0x81]),
    ],
    ['an unknown type byte', Uint8Array.from([...NET, 0x24])],
    ['an old (pre-0.6) marker', Uint8Array.from([...NET, 0x69])],
    ['a native integer in a network image', Uint8Array.from([...NET, 6, 0, 0, 0, 0, 0, 0, 0, 1])],
  ])('%s is ERR_SHM_BAD_FORMAT', (_what, bytes) => {
    expect(codeOf(() => storable.decode(bytes)).code).toBe('ERR_SHM_BAD_FORMAT');
  });
});

describe('length fields of 2^31 and beyond', () => {
  it.each([
    ['SX_LSCALAR of 2^31 bytes', [...NET, 1, ...be32(0x80000000)]],
    ['SX_LUTF8STR of 2^32 - 1 bytes', [...NET, 24, ...be32(0xffffffff)]],
    ['SX_ARRAY of 2^31 - 1 elements', [...NET, 2, ...be32(0x7fffffff), 8, 0x81]],
    ['SX_ARRAY of -2^31 elements', [...NET, 2, ...be32(0x80000000)]],
    ['SX_HASH of 2^31 - 1 pairs', [...NET, 3, ...be32(0x7fffffff), 8, 0x81]],
    ['a hash key of 2^31 bytes', [...NET, 3, ...be32(1), 8, 0x81, ...be32(0x80000000)]],
    ['a class name of 2^31 bytes', [...NET, 17, 0x80, ...be32(0x80000000), 3, 0, 0, 0, 0]],
    ['SX_LOBJECT of a 2^40-byte string', [...NET, 33, 1, ...be32(0x100), ...be32(0)]],
    ['SX_LOBJECT of a 2^62-element array', [...NET, 33, 2, ...be32(0x40000000), ...be32(0)]],
    ['SX_OBJECT of tag 2^31', [...NET, 2, ...be32(1), 0, ...be32(0x80000000)]],
    ['a native SX_LSCALAR of 2^31 bytes (little-endian)', [...NATIVE, 1, 0, 0, 0, 0x80]],
  ])('%s: ERR_SHM_BAD_FORMAT before allocating anything', (_what, bytes) => {
    const before = process.memoryUsage().arrayBuffers;
    const r = codeOf(() => storable.decode(Uint8Array.from(bytes)));
    expect(r.code, r.message).toBe('ERR_SHM_BAD_FORMAT');
    expect(r.message).toMatch(/exceeds the image|above 2\^53|refers to object/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
  });
});

describe('nesting', () => {
  /** [[[...[1]...]]] as Perl writes it: the root array, then SX_REF and SX_ARRAY of 1 for each level below. */
  const nested = (depth: number) => {
    const body = new Uint8Array(5 + (depth - 1) * 6 + 2);
    body.set([2, ...be32(1)], 0);
    for (let i = 1; i < depth; i++) body.set([4, 2, ...be32(1)], 5 + (i - 1) * 6);
    body.set([8, 0x81], body.length - 2);
    return Buffer.concat([Uint8Array.from(NET), body]);
  };
  const depthOf = (v: unknown) => {
    let d = 0;
    while (Array.isArray(v)) {
      v = v[0];
      d++;
    }
    return d;
  };

  it('up to maxDepth (default 10,000) decodes; one more is ERR_SHM_BAD_FORMAT naming the limit', () => {
    expect(depthOf(storable.decode(nested(10_000)))).toBe(10_000);
    const r = codeOf(() => storable.decode(nested(10_001)));
    expect(r.code).toBe('ERR_SHM_BAD_FORMAT');
    expect(r.message).toMatch(/nested deeper than maxDepth \(10000\)/);
    expect(codeOf(() => createStorableSerializer({ maxDepth: 5 }).decode(nested(6))).code).toBe(
      'ERR_SHM_BAD_FORMAT',
    );
  });

  it('a million levels decode and encode without overflowing the stack (explicit stacks)', () => {
    const deep = createStorableSerializer({ maxDepth: 2_000_000 });
    const v = deep.decode(nested(1_000_000));
    expect(depthOf(v)).toBe(1_000_000);
    const img = deep.encode(v);
    expect(Buffer.compare(img, nested(1_000_000))).toBe(0);
    expect(codeOf(() => storable.encode(v)).message).toMatch(
      /nested deeper than maxDepth \(10000\) at value(\[0\])+/,
    );
    // A chain of a million references to references is one frame.
    const chain = Buffer.concat([
      Uint8Array.from(NET),
      new Uint8Array(1_000_000).fill(4),
      Uint8Array.from([8, 0x81]),
    ]);
    let r: unknown = storable.decode(chain);
    let hops = 0;
    while (r instanceof PerlRef) {
      r = r.value;
      hops++;
    }
    // thaw returns a reference to the first of them: 1,000,001 references above the 1.
    expect([hops, r]).toEqual([1_000_001, 1]);
  });

  it('Perl thaws what Node writes at the default limit', async () => {
    let v: unknown = 'leaf';
    for (let i = 0; i < 10_000; i++) v = i % 2 ? [v] : { k: v };
    expect(
      await perl.eval(
        'my $d = 0; while (ref $v) { $v = ref $v eq "HASH" ? $v->{k} : $v->[0]; $d++ } "$d $v"',
        nfreeze(v),
      ),
    ).toBe('10000 leaf');
  });
});

describe('references to what is not there', () => {
  it.each([
    ['SX_OBJECT to a later tag', [...NET, 2, ...be32(2), 0, ...be32(5), 8, 0x81]],
    ['SX_IX_BLESS of a class never named', [...NET, 18, 3, 8, 0x81]],
    ['SX_OBJECT as the root', [...NET, 0, ...be32(0)]],
  ])('%s is ERR_SHM_BAD_FORMAT', (_what, bytes) => {
    expect(codeOf(() => storable.decode(Uint8Array.from(bytes))).code).toBe('ERR_SHM_BAD_FORMAT');
  });
});

describe('seeded fuzzing', () => {
  it('thousands of mutated images: ShmErrors only, no crash or hang, and what decodes re-encodes', async () => {
    const corpus = uniquePath('storable-fuzz');
    const node = [
      nfreeze({ a: [1, 'two', 3.5, null], b: { c: new PerlRef('x') }, d: 'é\u263a', e: 2n ** 60n }),
      createStorableSerializer({ byteOrder: 'native' }).encode([{ x: 1.5, y: -(2 ** 40) }, 'k'.repeat(300)]),
    ];
    writeFileSync(
      corpus,
      JSON.stringify([...perlImages, ...node].map((b) => Buffer.from(b).toString('base64'))),
    );
    try {
      const done = await runFuzzDriver(FUZZ_DRIVER, { seed: randomInt(1, 2 ** 31), rounds: 6000, corpus });
      console.log(`fuzz: ${JSON.stringify(done.seen)}`);
      expect(done.seen.decoded).toBeGreaterThan(100);
    } finally {
      rmSync(corpus, { force: true });
    }
  }, 120_000);
});
