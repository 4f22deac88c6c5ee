// storeValue / fetchValue and their async variants: a serializer around store() and fetch(). (The Storable
// serializer against real Perl processes is tested in packages/serializer-storable/test/sharelite.test.ts.)
import { spawnSync } from 'node:child_process';
import { type Serializer, ShmError } from '@shm/core';
import { ShareLite } from '@shm/sharelite';
import { uniqueKey } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { purge } from './helpers.js';

const keys: number[] = [];
function share(): ShareLite {
  const key = uniqueKey();
  keys.push(key);
  return new ShareLite({ key, create: true, destroy: true });
}
afterEach(() => {
  for (const k of keys.splice(0)) purge(k);
});

describe('storeValue / fetchValue', () => {
  it('store the serializer\u2019s bytes and decode what fetch returns', () => {
    const s = share();
    s.storeValue({ port: 8080, tags: ['a'] }, 'json');
    expect(s.fetch().toString()).toBe('{"port":8080,"tags":["a"]}');
    expect(s.fetchValue('json')).toEqual({ port: 8080, tags: ['a'] });
    s.storeValue(new Map([[1, 'one']]), 'v8');
    expect(s.fetchValue<Map<number, string>>('v8')?.get(1)).toBe('one');
    expect(s.version()).toBe(3);
    s.close();
  });

  it('take any serializer object, and meet Perl in one share', () => {
    const s = share();
    const upper: Serializer<string> = {
      name: 'upper',
      encode: (v) => Buffer.from(String(v).toUpperCase()),
      decode: (b) => Buffer.from(b).toString().toLowerCase(),
    };
    s.storeValue('shout', upper);
    expect(s.fetch().toString()).toBe('SHOUT');
    expect(s.fetchValue(upper)).toBe('shout');
    // The Perl side stores JSON; Node reads it as a value and writes one back.
    const perl = (code: string) => {
      const r = spawnSync('perl', ['-MIPC::ShareLite', '-MJSON::PP', '-e', code, String(s.key)], {
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(r.stderr);
      return r.stdout;
    };
    perl(
      'my $s = IPC::ShareLite->new(-key => $ARGV[0]) or die; $s->store(encode_json({ from => "perl", n => 1 }))',
    );
    const v = s.fetchValue<{ from: string; n: number }>('json')!;
    expect(v).toEqual({ from: 'perl', n: 1 });
    s.storeValue({ ...v, n: v.n + 1 }, 'json');
    expect(
      perl('my $s = IPC::ShareLite->new(-key => $ARGV[0]) or die; print decode_json($s->fetch)->{n}'),
    ).toBe('2');
    s.close();
  });

  it('an empty share fetches as undefined, without calling the serializer', () => {
    const s = share();
    const never: Serializer = {
      name: 'never',
      encode: () => new Uint8Array(0),
      decode: () => {
        throw new Error('called');
      },
    };
    expect(s.fetchValue(never)).toBeUndefined();
    s.storeValue('anything', never); // stores zero bytes
    expect(s.fetchValue(never)).toBeUndefined();
    s.close();
  });

  it('pass on the serializer\u2019s errors, and check the serializer argument', () => {
    const s = share();
    s.store('not json {');
    expect(() => s.fetchValue('json')).toThrow(ShmError);
    expect(() => s.storeValue(() => 1, 'json')).toThrow(/ERR_SHM_UNSERIALIZABLE|cannot/);
    expect(() => s.fetchValue('yaml' as any)).toThrow(RangeError);
    expect(() => s.storeValue(1, {} as any)).toThrow(TypeError);
    expect(s.fetch().toString()).toBe('not json {'); // a failed encode stored nothing
    s.close();
  });
});

describe('storeValueAsync / fetchValueAsync', () => {
  it('do the same without blocking the event loop', async () => {
    const s = share();
    expect(await s.fetchValueAsync('json')).toBeUndefined();
    await s.storeValueAsync({ a: [1, 2] }, 'json');
    expect(await s.fetchValueAsync('json')).toEqual({ a: [1, 2] });
    s.close();
  });
});
