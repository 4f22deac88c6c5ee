// Interoperability with the real Perl module (libipc-sharelite-perl 0.17): values, versions, segment counts,
// the shm_state rule, lock interlocking, crash release, destroy and permissions, each checked against Perl.
import { execFileSync } from 'node:child_process';
import { sysv } from '@shm/core';
import { LOCK_EX, LOCK_NB, LOCK_SH, ShareLite, type ShareLiteOptions } from '@shm/sharelite';
import { type Peer, uniqueKey } from '@shm/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cmd,
  cmdError,
  md5,
  nodePeer,
  objectsInRange,
  pattern,
  perlPeer,
  purge,
  rawHeader,
  semValues,
  send,
  stopPeer,
} from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = 1 << 20;
const LENGTHS = [0, 1, 16, 65520, 65521, 131040, 204800, MB, 4 * MB];

describe('the real Perl module is installed', () => {
  it('perl -MIPC::ShareLite reports version 0.17', () => {
    const v = execFileSync('perl', ['-MIPC::ShareLite', '-e', 'print $IPC::ShareLite::VERSION']).toString();
    expect(v).toBe('0.17');
  });
});

describe.each([
  { label: 'the default segment size', size: undefined, segSize: 65536 },
  { label: '4096-byte segments', size: 4096, segSize: 4096 },
])('values between Perl and Node with $label', ({ size, segSize }) => {
  const key = uniqueKey();
  const ds = segSize - 16;
  let perl: Peer;
  let share: ShareLite;

  beforeAll(async () => {
    perl = await perlPeer();
    await cmd(perl, { cmd: 'open', key, create: 'yes', destroy: 'no', size });
    share = new ShareLite({ key }); // opens Perl's share, adopting its segment size
    expect(share.segmentSize).toBe(segSize);
  });

  afterAll(async () => {
    await stopPeer(perl);
    share?.destroy();
    purge(key);
  });

  it.each(LENGTHS)(
    'Perl stores %i bytes; Node fetches the same bytes, version and segment count',
    async (len) => {
      const seed = len % 251;
      const r = await cmd(perl, { cmd: 'store', len, seed });
      const got = share.fetch();
      expect(got.length).toBe(len);
      expect(md5(got)).toBe(md5(pattern(len, seed)));
      expect(share.version()).toBe(r.version);
      expect(share.numSegments()).toBe(r.nseg);
      expect(r.nseg).toBe(Math.max(1, Math.ceil(len / ds)));
      expect(rawHeader(key).length).toBe(len);
    },
  );

  it.each(LENGTHS)(
    'Node stores %i bytes; Perl fetches the same bytes, version and segment count',
    async (len) => {
      const seed = (len + 1) % 251;
      const data = pattern(len, seed);
      share.store(data);
      const r = await cmd(perl, { cmd: 'fetch' });
      expect(r.len).toBe(len);
      expect(r.md5).toBe(md5(data));
      expect(r.version).toBe(share.version());
      expect(r.nseg).toBe(share.numSegments());
      expect(r.nseg).toBe(Math.max(1, Math.ceil(len / ds)));
    },
  );
});

describe('Perl and Node together', () => {
  let key: number;
  const peers: Peer[] = [];
  const shares: ShareLite[] = [];
  const open = (o: ShareLiteOptions = {}) => {
    const s = new ShareLite({ key, ...o });
    shares.push(s);
    return s;
  };
  const perl = async () => {
    const p = await perlPeer();
    peers.push(p);
    return p;
  };

  beforeAll(() => {
    key = uniqueKey();
  });
  afterEach(async () => {
    for (const p of peers.splice(0)) {
      p.kill('SIGKILL');
      await p.exited;
    }
    for (const s of shares.splice(0)) {
      try {
        s.close();
      } catch {
        /* already removed */
      }
    }
    purge(key);
    key = uniqueKey();
  });

  it('Node writes exactly the header Perl writes (ffffffff 0b000000 01000000 02000000 after 11 bytes)', async () => {
    const s = open({ create: true });
    s.store('hello world');
    expect(rawHeader(key).hex).toBe('ffffffff0b0000000100000002000000');
    const p = await perl();
    await cmd(p, { cmd: 'open', key });
    const r = await cmd(p, { cmd: 'fetch' });
    expect(Buffer.from(r.hex, 'hex').toString()).toBe('hello world');
    expect(r.version).toBe(2);
  });

  it('a Perl-created share starts at version 1 with state 1, as Node reads it', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 1 });
    const s = open();
    expect(s.version()).toBe(1);
    expect(s.numSegments()).toBe(1);
    expect(s.fetch().length).toBe(0);
    expect(rawHeader(key)).toMatchObject({ next: -1, length: 0, state: 1, version: 1 });
  });

  it('a shrink by Perl is seen by Node, which drops its stale attachments (shm_state)', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 'yes' });
    const s = open();
    await cmd(p, { cmd: 'store', len: 204800, seed: 1 });
    expect(md5(s.fetch())).toBe(md5(pattern(204800, 1))); // Node now holds 4 attachments
    const state = rawHeader(key).state;
    await cmd(p, { cmd: 'store', len: 10, seed: 2 });
    expect(rawHeader(key).state).toBe(state + 1);
    expect(objectsInRange(key).filter((e) => e.kind === 'shm')).toHaveLength(1);
    await cmd(p, { cmd: 'store', len: 150000, seed: 3 }); // new segments, new shmids
    const got = s.fetch();
    expect(got.length).toBe(150000);
    expect(md5(got)).toBe(md5(pattern(150000, 3)));
    expect(rawHeader(key).state).toBe(state + 1); // growing never changes the state
  });

  it('a shrink by Node is seen by Perl (Node bumps shm_state and removes the tail)', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 'yes' });
    const s = open();
    s.store(pattern(204800, 1));
    expect((await cmd(p, { cmd: 'fetch' })).md5).toBe(md5(pattern(204800, 1))); // Perl attaches 4 segments
    const state = rawHeader(key).state;
    s.store(pattern(10, 2));
    expect(rawHeader(key).state).toBe(state + 1);
    expect(objectsInRange(key).filter((e) => e.kind === 'shm')).toHaveLength(1);
    s.store(pattern(150000, 3));
    const r = await cmd(p, { cmd: 'fetch' });
    expect(r.len).toBe(150000);
    expect(r.md5).toBe(md5(pattern(150000, 3)));
    expect(r.nseg).toBe(3);
    s.store('');
    expect(rawHeader(key).state).toBe(state + 2);
    expect((await cmd(p, { cmd: 'fetch' })).len).toBe(0);
  });

  it('strings: Node stores the whole UTF-8; Perl truncates wide strings (its bug, not reproduced)', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 'yes' });
    const s = open();
    s.store('\u263aabc');
    const r = await cmd(p, { cmd: 'fetch' });
    expect(r.hex).toBe('e298ba616263');
    await cmd(p, { cmd: 'store', text: '\u263aabc' });
    expect(s.fetch().toString('hex')).toBe('e298ba61');
  });

  it('a Perl exclusive lock: Node LOCK_SH|LOCK_NB and LOCK_EX|LOCK_NB are false, fetchAsync waits', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 'yes' });
    const s = open(); // before Perl locks: opening takes the exclusive lock
    s.store('old');
    expect((await cmd(p, { cmd: 'lock', flags: LOCK_EX })).result).toBe(1);
    expect(semValues(key)).toEqual([1, 0, 1]);
    expect(s.lock(LOCK_SH | LOCK_NB)).toBe(false);
    expect(s.lock(LOCK_EX | LOCK_NB)).toBe(false);
    expect(s.locked).toBe(0);
    let fetched: Buffer | undefined;
    const f = s.fetchAsync().then((b) => {
      fetched = b;
      return b;
    });
    await cmd(p, { cmd: 'store', text: 'written under the Perl lock' });
    await sleep(150);
    expect(fetched).toBeUndefined(); // still waiting for Perl's lock
    await cmd(p, { cmd: 'unlock' });
    expect((await f).toString()).toBe('written under the Perl lock');
    expect(semValues(key)).toEqual([1, 0, 0]);
  });

  it('a Perl shared lock lets Node share and makes a Node store wait', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 'yes' });
    const s = open();
    s.store('old');
    expect((await cmd(p, { cmd: 'lock', flags: LOCK_SH })).result).toBe(1);
    expect(s.lock(LOCK_SH | LOCK_NB)).toBe(true);
    expect(semValues(key)).toEqual([1, 2, 0]);
    s.unlock();
    expect(s.lock(LOCK_EX | LOCK_NB)).toBe(false);
    let stored = false;
    const st = s.storeAsync('new').then(() => {
      stored = true;
    });
    await sleep(150);
    expect((await cmd(p, { cmd: 'fetch' })).hex).toBe(Buffer.from('old').toString('hex'));
    expect(stored).toBe(false);
    await cmd(p, { cmd: 'unlock' });
    await st;
    expect((await cmd(p, { cmd: 'fetch' })).hex).toBe(Buffer.from('new').toString('hex'));
  });

  it('a Node shared lock makes Perl LOCK_EX|LOCK_NB fail and a Perl store wait', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 'yes' });
    const s = open();
    s.store('before');
    expect(s.lock(LOCK_SH)).toBe(true);
    expect(semValues(key)).toEqual([1, 1, 0]);
    expect((await cmd(p, { cmd: 'lock', flags: LOCK_EX | LOCK_NB })).result).toBe(0);
    expect((await cmd(p, { cmd: 'lock', flags: LOCK_SH | LOCK_NB })).result).toBe(1);
    expect(semValues(key)).toEqual([1, 2, 0]);
    await cmd(p, { cmd: 'unlock' });
    const st = send(p, { cmd: 'store', text: 'after' });
    await st.begun;
    await sleep(150);
    expect(st.peek()).toBeUndefined(); // Perl is blocked in its store
    expect(s.fetch().toString()).toBe('before');
    s.unlock();
    expect((await st.done).ok).toBe(1);
    expect(s.fetch().toString()).toBe('after');
  });

  it('a Node exclusive lock makes Perl lock(LOCK_SH|LOCK_NB) return 0 and a Perl fetch wait', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 'yes' });
    const s = open();
    expect(s.lock()).toBe(true); // LOCK_EX is the default
    expect(semValues(key)).toEqual([1, 0, 1]);
    expect((await cmd(p, { cmd: 'lock', flags: LOCK_SH | LOCK_NB })).result).toBe(0);
    const f = send(p, { cmd: 'fetch' });
    await f.begun;
    s.store('under EX');
    await sleep(150);
    expect(f.peek()).toBeUndefined();
    s.unlock();
    expect(Buffer.from((await f.done).hex, 'hex').toString()).toBe('under EX');
  });

  it('ShareLite.open waits for a Perl lock without blocking the event loop', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 'yes' });
    await cmd(p, { cmd: 'lock', flags: LOCK_SH });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    let opened: ShareLite | undefined;
    const o = ShareLite.open({ key }).then((s) => {
      shares.push(s);
      opened = s;
      return s;
    });
    await sleep(150);
    expect(opened).toBeUndefined();
    expect(ticks).toBeGreaterThan(0); // the event loop ran while open() waited
    await cmd(p, { cmd: 'unlock' });
    const s = await o;
    clearInterval(timer);
    expect(s.version()).toBe(1);
  });

  it('a Perl process SIGKILLed while holding the exclusive lock does not wedge Node (SEM_UNDO)', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 'yes' });
    const s = open();
    expect((await cmd(p, { cmd: 'lock', flags: LOCK_EX })).result).toBe(1);
    expect(s.lock(LOCK_EX | LOCK_NB)).toBe(false);
    const waiting = s.lockAsync(LOCK_EX);
    p.kill('SIGKILL');
    await p.exited;
    expect(await waiting).toBe(true);
    expect(semValues(key)).toEqual([1, 0, 1]);
    s.unlock();
    expect(semValues(key)).toEqual([1, 0, 0]);
    s.store('still works');
    expect(s.fetch().toString()).toBe('still works');
  });

  it('a Node process SIGKILLed while holding the exclusive lock does not wedge Perl (SEM_UNDO)', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 'yes' }); // Perl opens first: its new() takes the lock
    const n = await nodePeer();
    peers.push(n);
    await cmd(n, { cmd: 'open', key });
    expect((await cmd(n, { cmd: 'lock', flags: LOCK_EX })).result).toBe(1);
    expect(semValues(key)).toEqual([1, 0, 1]);
    expect((await cmd(p, { cmd: 'lock', flags: LOCK_EX | LOCK_NB })).result).toBe(0);
    const w = send(p, { cmd: 'lock', flags: LOCK_EX });
    await w.begun;
    n.kill('SIGKILL');
    await n.exited;
    expect((await w.done).result).toBe(1);
    await cmd(p, { cmd: 'store', text: 'perl again' });
    await cmd(p, { cmd: 'unlock' });
    expect(semValues(key)).toEqual([1, 0, 0]);
  });

  it('a Node process SIGKILLed while holding a shared lock does not block a Perl store', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 'yes' });
    const n = await nodePeer();
    peers.push(n);
    await cmd(n, { cmd: 'open', key });
    expect((await cmd(n, { cmd: 'lock', flags: LOCK_SH })).result).toBe(1);
    const w = send(p, { cmd: 'store', text: 'x' });
    await w.begun;
    n.kill('SIGKILL');
    await n.exited;
    expect((await w.done).ok).toBe(1);
    expect(semValues(key)).toEqual([1, 0, 0]);
  });

  it('a share created by Node with destroy is removed completely; Perl then cannot open it without create', async () => {
    const s = new ShareLite({ key, create: 'yes', destroy: 'yes' });
    s.store(pattern(204800, 5));
    expect(s.numSegments()).toBe(4);
    const p = await perl();
    await cmd(p, { cmd: 'open', key });
    const r = await cmd(p, { cmd: 'fetch' });
    expect(r.md5).toBe(md5(pattern(204800, 5)));
    expect(r.nseg).toBe(4);
    await stopPeer(p); // Perl's DESTROY (destroy=0) detaches and keeps the share
    const before = objectsInRange(key);
    expect(before.filter((e) => e.kind === 'shm')).toHaveLength(4);
    expect(before.filter((e) => e.kind === 'sem')).toHaveLength(1);
    s.close(); // destroy: true, so close() removes it
    const ids = new Set(before.map((e) => `${e.kind}:${e.id}`));
    expect(sysv.listSysv().filter((e) => ids.has(`${e.kind}:${e.id}`))).toEqual([]);
    expect(objectsInRange(key)).toEqual([]);
    const p2 = await perl();
    const e = await cmdError(p2, { cmd: 'open', key });
    expect(e.error).toMatch(/Failed to create share/);
    expect(e.errstr).toBe('No such file or directory');
  });

  it('a share destroyed by Perl makes Node fail with EINVAL/EIDRM, and Node close() still succeeds', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 'yes' });
    const s = open();
    s.store(pattern(100000, 1));
    await cmd(p, { cmd: 'destroy' });
    expect(objectsInRange(key)).toEqual([]);
    let err: any;
    try {
      s.fetch();
    } catch (e) {
      err = e;
    }
    expect(err?.name).toBe('ShmSystemError');
    expect(['EINVAL', 'EIDRM']).toContain(err.code);
    expect(err.message).toContain(String(key));
    s.close();
  });

  it('Perl opening a Node share with a larger size fails (EINVAL); Node does not leak the lock the same way', async () => {
    const s = open({ create: true, size: 4096 });
    const p = await perl();
    const e = await cmdError(p, { cmd: 'open', key, size: 65536 });
    expect(e.errstr).toBe('Invalid argument');
    // Perl's failed new() keeps the exclusive lock until the process exits (PERL-FORMATS.md §5)
    expect(semValues(key)).toEqual([1, 0, 1]);
    p.kill('SIGKILL');
    await p.exited;
    expect(semValues(key)).toEqual([1, 0, 0]);
    expect(() => new ShareLite({ key, size: 65536 })).toThrow(/EINVAL.*4096/);
    expect(semValues(key)).toEqual([1, 0, 0]);
    s.store('ok');
  });

  it('mode 0600: a share made by Node is closed to user nobody in Node and in Perl', async () => {
    const s = open({ create: true, mode: 0o600 });
    for (const e of objectsInRange(key)) expect(e.mode & 0o777).toBe(0o600);
    const n = await nodePeer({ uid: 65534, gid: 65534 });
    peers.push(n);
    const r = await send(n, { cmd: 'open', key }).done;
    expect(r.code).toBe('EACCES');
    expect(r.error).toContain(String(key));
    let perlErr = '';
    try {
      execFileSync(
        'perl',
        ['-MIPC::ShareLite', '-e', `IPC::ShareLite->new(-key => ${key}) or die; print "opened"`],
        {
          uid: 65534,
          gid: 65534,
          stdio: 'pipe',
        },
      );
    } catch (e: any) {
      perlErr = String(e.stderr);
    }
    expect(perlErr).toMatch(/Failed to create share/);
    s.store('still usable by the owner');
  });

  it('mode 0600: a share made by Perl is closed to a Node process running as nobody', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 'yes', mode: 0o600 });
    for (const e of objectsInRange(key)) expect(e.mode & 0o777).toBe(0o600);
    const n = await nodePeer({ uid: 65534, gid: 65534 });
    peers.push(n);
    const r = await send(n, { cmd: 'open', key }).done;
    expect(r.code).toBe('EACCES');
    expect(r.errno).toBe(13);
  });

  it('a Node peer and a Perl peer exchange values without the test process in between', async () => {
    const p = await perl();
    await cmd(p, { cmd: 'open', key, create: 'yes', size: 8192 });
    const n = await nodePeer();
    peers.push(n);
    await cmd(n, { cmd: 'open', key });
    await cmd(n, { cmd: 'store', len: 50000, seed: 9 });
    const r = await cmd(p, { cmd: 'fetch' });
    expect(r.md5).toBe(md5(pattern(50000, 9)));
    expect(r.nseg).toBe(Math.ceil(50000 / (8192 - 16)));
    await cmd(p, { cmd: 'store', len: 3000, seed: 4 });
    const r2 = await cmd(n, { cmd: 'fetch' });
    expect(r2.md5).toBe(md5(pattern(3000, 4)));
    expect(r2.version).toBe(r.version + 1);
    expect(r2.nseg).toBe(1);
  });
});
