import { describe, expect, it } from 'vitest';
import { MmapShare } from '../src/index.js';
import { execArgv, fixture, forkStdio, messages, track } from './helpers.js';

const watchChild = fixture('watch-child.ts');
const start = (share: MmapShare, ...args: string[]) =>
  messages(share.fork(watchChild, args, { execArgv, stdio: [...forkStdio] }));

describe('MmapShare change notification', () => {
  it('a child sleeping in waitForChange wakes with the serial of the parent’s set()', async () => {
    const share = track(new MmapShare(256));
    share.set(1);
    const c = start(share, 'wait', '20000');
    expect((await c.next((m) => m.ready)).serial).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    share.set(2);
    expect((await c.next((m) => 'woke' in m)).woke).toBe(2);
  });

  it('waitForChangeAsync wakes with a child’s set(), and returns undefined on timeout', async () => {
    const share = track(new MmapShare(1024));
    expect(share.waitForChange(share.serial, 10)).toBeUndefined();
    expect(await share.waitForChangeAsync(share.serial, 30)).toBeUndefined();
    const c = start(share, 'burst', '1');
    await c.next((m) => m.ready);
    const pending = share.waitForChangeAsync(share.serial, 20_000);
    c.child.send({ go: true });
    const woke = await pending;
    expect(woke).toBe((await c.next((m) => m.done)).last);
    expect(share.get()).toEqual({ i: 1, pad: 'x' });
  });

  it('changes() gives a slow consumer 500 sets in order, whole, ending at the last', async () => {
    const share = track(new MmapShare(1024));
    const c = start(share, 'burst', '500');
    await c.next((m) => m.ready);
    const seen: number[] = [];
    const it = share.changes<{ i: number; pad: string }>();
    c.child.send({ go: true });
    for await (const { serial, value } of it) {
      expect(value!.i).toBe(serial); // set() number i is commit i: the value is that commit's, whole
      expect(value!.pad).toBe('x'.repeat(value!.i % 50));
      if (seen.length) expect(serial).toBeGreaterThan(seen.at(-1)!);
      seen.push(serial);
      await new Promise((r) => setTimeout(r, 2));
      if (serial === 500) break;
    }
    expect(seen.at(-1)).toBe(500);
  });

  it('changes() shows a lock() section of several set()s as its last value', async () => {
    const share = track(new MmapShare(64));
    const c = start(share, 'section');
    await c.next((m) => m.ready);
    const it = share.changes();
    const first = it.next();
    c.child.send({ go: true });
    await c.next((m) => m.done);
    expect(await first).toEqual({ done: false, value: { serial: 3, value: 'c' } });
    await it.return();
  });

  it('close() ends changes() and rejects waitForChangeAsync with ERR_SHM_CLOSED', async () => {
    const share = new MmapShare(64);
    const it = share.changes();
    const pending = it.next();
    const wait = share.waitForChangeAsync(share.serial);
    await new Promise((r) => setTimeout(r, 30));
    share.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    await expect(wait).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
    expect(() => share.waitForChange(0)).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
    expect(() => share.serial).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
    expect(() => share.changes()).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
  });

  it('refuses bad serials, timeouts and options', async () => {
    const share = track(new MmapShare(64));
    expect(() => share.waitForChange('0' as never)).toThrow(TypeError);
    expect(() => share.waitForChange(0.5)).toThrow(RangeError);
    expect(() => share.waitForChange(0, -2)).toThrow(RangeError);
    await expect(share.waitForChangeAsync(0, null as never)).rejects.toThrow(TypeError);
    expect(() => share.changes({ since: -3 })).toThrow(RangeError);
    expect(() => share.changes('x' as never)).toThrow(TypeError);
  });
});
