// A scalar's write skips fetching and decoding the value it replaces when this process made that value and no one
// committed since (issue 18). These check that it never writes from a stale envelope.
import { describe, expect, it } from 'vitest';
import { ScalarRef, tie, tied, untie } from '../src/index.js';
import { ready, run, segments, useNamespace } from './helpers.js';

const { ns, peer, extra } = useNamespace();

describe('writing a scalar again after writing bytes to it', () => {
  it('keeps a holder another process added in between (the envelope is read again once the serial moved)', async () => {
    const ref = tie(new ScalarRef<unknown>(), { namespace: ns() });
    extra.push(() => untie(ref));
    ref.value = Buffer.from('first'); // bytes: not cached for readers, remembered for the next write
    const p = peer('scalar', undefined, { handle: tied(ref).handle });
    await ready(p);
    const pid = p.pid;
    expect(tied(ref).debug().holders).toContain(pid);
    ref.value = Buffer.from('second');
    expect(tied(ref).debug().holders).toContain(pid);
    expect(tied(ref).debug().holders).toContain(process.pid);
    expect(await run(p, 'return Buffer.from(v.value).toString();')).toBe('second');
  });

  it('releases a nested variable the value replaced, and reads back each value written', () => {
    const ref = tie(new ScalarRef<unknown>(), 'r', { namespace: ns() });
    extra.push(() => untie(ref));
    ref.value = 0;
    const base = segments(ns()).length;
    for (let i = 0; i < 5; i++) {
      ref.value = Buffer.from(`bytes ${i}`);
      expect(Buffer.from(ref.value as Uint8Array).toString()).toBe(`bytes ${i}`);
      ref.value = { nested: i };
      expect(segments(ns()).length).toBe(base + 1);
      expect((ref.value as { nested: number }).nested).toBe(i);
      ref.value = new Date(i); // not exact either: the nested variable goes away
      expect(segments(ns()).length).toBe(base);
      expect((ref.value as Date).getTime()).toBe(i);
    }
    expect(tied(ref).debug().children).toEqual([]);
  });

  it('does not let a caller who changes their buffer afterwards change what the next write keeps', () => {
    const ref = tie(new ScalarRef<unknown>(), 'b', { namespace: ns() });
    extra.push(() => untie(ref));
    const mine = Buffer.from('kept');
    ref.value = mine;
    mine.fill(0x21);
    ref.value = Buffer.from('next');
    expect(Buffer.from(ref.value as Uint8Array).toString()).toBe('next');
    ref.value = mine;
    expect(Buffer.from(ref.value as Uint8Array).toString()).toBe('!!!!');
  });
});
