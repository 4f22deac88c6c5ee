// Key derivation (PERL-FORMATS.md §8), checked against the table, against Perl's pack/unpack and end to end
// against shares the real module creates.
import { randomBytes, randomInt } from 'node:crypto';
import { sysv } from '@shm/core';
import { deriveKey, IPC_PRIVATE, ShareLite } from '@shm/sharelite';
import { type Peer, uniqueKey } from '@shm/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cmd, perlPeer, purge, stopPeer } from './helpers.js';

const TABLE: [string, number][] = [
  ['test', 1953719668],
  ['ab', 538993249],
  ['a', 538976353],
  ['ABCD', 1145258561],
  ['-1', 538980653],
  ['\xe9t\xe9', 552170729],
  ['1234', 1234],
  ['00012', 12],
  ['1234\n', 1234],
  ['4294967295', -1],
  ['4294967296', 0],
  ['2147483648', -2147483648],
  ['99999999999999999999', -1],
];

describe('deriveKey', () => {
  it.each(TABLE)('%j -> %i (the table of PERL-FORMATS.md §8)', (k, v) => {
    expect(deriveKey(k)).toBe(v);
  });

  it('no key, 0, "0" and "" are IPC_PRIVATE', () => {
    for (const k of [undefined, null, 0, '0', '']) expect(deriveKey(k)).toBe(IPC_PRIVATE);
  });

  it('numbers take Perl’s path: non-negative integers pass through (truncated to 32 bits), negatives are strings', () => {
    expect(deriveKey(1971)).toBe(1971);
    expect(deriveKey(2 ** 32 + 5)).toBe(5);
    expect(deriveKey(0xffffffff)).toBe(-1);
    expect(deriveKey(-1)).toBe(0x2020312d); // Perl stringifies -1 to "-1", which is not /^\d+$/
    expect(deriveKey(-999)).toBe(deriveKey('-999'));
  });

  it('rejects what Perl rejects, with "Expected ... for key but received ..."', () => {
    expect(() => deriveKey('abcde')).toThrow(
      new RangeError('Expected a number or a string of at most four characters for key but received "abcde"'),
    );
    expect(() => deriveKey(-12345)).toThrow(RangeError); // "-12345" is a 6-character string
    expect(() => deriveKey('\u263a')).toThrow(/8-bit clean/);
  });

  it('rejects what Perl would silently turn into a surprising key', () => {
    expect(() => deriveKey(1.5)).toThrow(RangeError);
    expect(() => deriveKey(Number.NaN)).toThrow(RangeError);
    expect(() => deriveKey(2 ** 60)).toThrow(RangeError);
    expect(() => deriveKey('\u0661\u0662')).toThrow(/ASCII digits/); // Perl's \d matches, SvIV gives 0
    expect(() => deriveKey({} as any)).toThrow(TypeError);
    expect(() => deriveKey(true as any)).toThrow(TypeError);
  });
});

describe('deriveKey against Perl', () => {
  let perl: Peer;
  beforeAll(async () => {
    perl = await perlPeer();
  });
  afterAll(async () => {
    await stopPeer(perl);
  });

  const stringKeys = TABLE.map(([k]) => k).filter((k) => !/^\d+\n?$/.test(k));
  it.each(stringKeys)(
    'unpack("i", pack("A4", %j)) equals deriveKey, also for an upgraded UTF-8 string',
    async (k) => {
      const keyHex = Buffer.from(k, 'latin1').toString('hex');
      expect((await cmd(perl, { cmd: 'derive', keyHex })).packed).toBe(deriveKey(k));
      expect((await cmd(perl, { cmd: 'derive', keyHex, upgrade: 1 })).packed).toBe(deriveKey(k));
    },
  );

  it('random 1-4 byte strings derive the same keys in Perl and Node', async () => {
    for (let i = 0; i < 40; i++) {
      let k: string;
      do k = randomBytes(randomInt(1, 5)).toString('latin1');
      while (/^\d+\n?$/.test(k) || k === '0');
      const keyHex = Buffer.from(k, 'latin1').toString('hex');
      expect((await cmd(perl, { cmd: 'derive', keyHex })).packed).toBe(deriveKey(k));
    }
  });
});

describe('keys end to end: the real module creates the share, Node opens it by the same key spec', () => {
  let perl: Peer | undefined;
  const made: number[] = [];
  afterEach(async () => {
    await stopPeer(perl);
    perl = undefined;
    for (const k of made.splice(0)) purge(k, 4);
  });

  /** A 4-byte string key whose derived key is unused on this machine. */
  function freeStringKey(len: number): string {
    for (;;) {
      const k = randomBytes(len).toString('latin1');
      if (/^\d+\n?$/.test(k) || k === '0') continue;
      const d = deriveKey(k);
      if (!sysv.listSysv().some((e) => e.key >= d && e.key < d + 4)) return k;
    }
  }

  const cases: [string, () => { perl: Record<string, unknown>; node: string | number }][] = [
    ['a numeric string with leading zeros', () => ({ perl: { key: `000${uniqueKey()}` }, node: '' })],
    ['a number', () => ({ perl: { key: uniqueKey() }, node: 0 })],
    ['a numeric string with a trailing newline', () => ({ perl: { key: `${uniqueKey()}\n` }, node: '' })],
    ['a 4-byte binary string', () => ({ perl: { keyHex: '' }, node: freeStringKey(4) })],
    ['a 2-byte string (padded with spaces)', () => ({ perl: { keyHex: '' }, node: freeStringKey(2) })],
    [
      'a 3-byte string upgraded to UTF-8 in Perl',
      () => ({ perl: { keyHex: '', upgrade: 1 }, node: freeStringKey(3) }),
    ],
  ];

  it.each(cases)('%s', async (_label, make) => {
    const c = make();
    if ('keyHex' in c.perl) c.perl.keyHex = Buffer.from(c.node as string, 'latin1').toString('hex');
    else c.node = c.perl.key as string | number;
    const nodeKey = deriveKey(c.node);
    made.push(nodeKey);
    perl = await perlPeer();
    await cmd(perl, { cmd: 'open', ...c.perl, create: 'yes' });
    await cmd(perl, { cmd: 'store', text: 'made by perl' });
    expect(sysv.listSysv().filter((e) => e.key === nodeKey && e.kind === 'sem')).toHaveLength(1);
    const s = new ShareLite({ key: c.node }); // no create: it must find Perl's share
    try {
      expect(s.key).toBe(nodeKey);
      expect(s.fetch().toString()).toBe('made by perl');
    } finally {
      s.close();
    }
    await stopPeer(perl);
    perl = undefined;
    new ShareLite({ key: c.node }).destroy();
    expect(sysv.listSysv().filter((e) => e.key === nodeKey)).toEqual([]);
  });
});
