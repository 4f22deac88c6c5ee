// @shm/core's Store on Windows: large values in named chained segments, written in one process and read in another;
// file-backed stores that persist; and the pagefile rule that a segment lives only while some process maps it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { core, native, pattern, spawnPeer, tempDir, uniqueName } from './helpers.mjs';

const { Store, Region } = core;
const peerFixture = new URL('./fixtures/peer.mjs', import.meta.url);
const MB = 1024 * 1024;
const tmp = tempDir();
after(() => {
  tmp.remove();
  assert.equal(native.win32OpenHandles(), 0, 'every event was closed with its store');
});
const sha = (b) => createHash('sha256').update(b).digest('hex');

describe('a Store on Windows', () => {
  it('moves a 6 MB value through named chained segments from one process to another, and back', async () => {
    const name = uniqueName('big');
    const s = Store.create({ name, maxSegmentSize: MB });
    assert.equal(s.region.backend, 'win32');
    const peer = spawnPeer(peerFixture);
    try {
      await peer.ready;
      await peer.call('openStore', { key: 's', name });
      const len = 6 * MB + 12_345;
      const serial = await peer.call('storeBig', { key: 's', length: len, seed: 7 });
      assert.equal(s.serial, serial);
      const got = s.fetch();
      assert.equal(got.length, len);
      assert.ok(
        Buffer.from(got).equals(Buffer.from(pattern(len, 7))),
        'the bytes written by the peer, whole',
      );
      const segs = s.debug().segments.filter((x) => x.used);
      assert.equal(segs.length, 7, '6 MB in 1 MB segments: chained');
      // Each segment is its own named section: it opens by the store's name plus .seg<n>.
      const seg = Region.open({ name: `${s.region.name}.seg${segs[3].id}` });
      assert.equal(seg.size, MB);
      seg.close();
      // Back the other way, then shrink to inline: the peer reads each value whole.
      const back = pattern(3 * MB, 99);
      s.store(back);
      assert.deepEqual(await peer.call('fetchDigest', { key: 's' }), { length: back.length, sha: sha(back) });
      s.setValue({ small: true, list: [1, 2, 3] });
      assert.deepEqual(await peer.call('getValue', { key: 's' }), { small: true, list: [1, 2, 3] });
      await peer.call('closeStore', { key: 's' });
    } finally {
      await peer.kill();
      s.destroy();
    }
  });

  it('update() is an exact read-modify-write across processes', async () => {
    const name = uniqueName('rmw');
    const s = Store.create({ name, serializer: 'json' });
    const a = spawnPeer(peerFixture);
    const b = spawnPeer(peerFixture);
    try {
      await Promise.all([a.ready, b.ready]);
      await Promise.all([
        a.call('openStore', { key: 's', name, serializer: 'json' }),
        b.call('openStore', { key: 's', name, serializer: 'json' }),
      ]);
      await Promise.all([
        a.call('update', { key: 's', times: 150 }),
        b.call('update', { key: 's', times: 150 }),
      ]);
      assert.deepEqual(s.getValue(), { n: 300 });
    } finally {
      await Promise.all([a.kill(), b.kill()]);
      s.destroy();
    }
  });

  it('says clearly when a chained segment is gone because every process that mapped it closed it', async () => {
    const name = uniqueName('gone');
    const s = Store.create({ name, maxSegmentSize: MB });
    const peer = spawnPeer(peerFixture);
    try {
      await peer.ready;
      await peer.call('openStore', { key: 's', name });
      await peer.call('storeBig', { key: 's', length: 2 * MB, seed: 3 });
      await peer.call('closeStore', { key: 's' }); // the writer's handles were the only ones on its segments
      assert.equal(s.length, 2 * MB, 'the head (held here) still describes the value');
      assert.throws(
        () => s.fetch(),
        (e) => e.code === 'ERR_SHM_NOT_FOUND' && /\.seg\d+\) of the current value is gone/.test(e.message),
      );
      s.store(pattern(2 * MB, 4)); // a writer replaces the lost segments
      assert.ok(Buffer.from(s.fetch()).equals(Buffer.from(pattern(2 * MB, 4))));
    } finally {
      await peer.kill();
      s.destroy();
    }
  });

  it('with a path, keeps a large value in files after every process closed it; destroy() deletes them', async () => {
    const path = join(tmp.dir, 'store');
    const s = Store.create({ path, maxSegmentSize: MB });
    assert.equal(s.region.backend, 'file');
    const peer = spawnPeer(peerFixture);
    try {
      await peer.ready;
      await peer.call('openStore', { key: 's', path });
      await peer.call('storeBig', { key: 's', length: 3 * MB, seed: 11 });
      await peer.call('closeStore', { key: 's' });
    } finally {
      await peer.kill();
      s.close();
    }
    assert.ok(readdirSync(tmp.dir).length >= 4, 'the head and its chained segment files');
    const again = Store.open({ path });
    assert.ok(Buffer.from(again.fetch()).equals(Buffer.from(pattern(3 * MB, 11))));
    again.destroy();
    assert.equal(existsSync(path), false);
    assert.deepEqual(readdirSync(tmp.dir), [], 'no segment file left');
  });

  it('bad input: an unknown store, a closed store, and a region that is not a store', () => {
    assert.throws(() => Store.open({ name: uniqueName('nostore') }), { code: 'ERROR_FILE_NOT_FOUND' });
    const s = Store.create({ name: uniqueName('closed') });
    s.setValue(1);
    s.close();
    assert.throws(() => s.getValue(), { code: 'ERR_SHM_CLOSED' });
    assert.throws(() => s.store(new Uint8Array(1)), { code: 'ERR_SHM_CLOSED' });
    const name = uniqueName('notstore');
    const r = Region.create({ name, size: 65_536 });
    try {
      assert.throws(() => Store.open({ name }), { code: 'ERR_SHM_BAD_FORMAT' });
    } finally {
      r.close();
    }
  });
});
