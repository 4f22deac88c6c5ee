// @shm/tied on Windows, as Win32::MMF::Shareable: a namespace is a family of pagefile sections shared by every
// process that ties its names (gone when the last one unties), and the swapfile option backs it with files that
// persist. Nested writes, locks and large values work between processes as on Linux.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { core, native, spawnPeer, tempDir, tiedPkg, uniqueName } from './helpers.mjs';

const { tie, tied, untie, removeAll, ScalarRef } = tiedPkg;
const peerFixture = new URL('./fixtures/peer.mjs', import.meta.url);
const tmp = tempDir();
after(() => {
  tmp.remove();
  assert.equal(native.win32OpenHandles(), 0, 'every event was closed with its variable');
});

describe('a tied namespace on Windows', () => {
  it('is shared by two processes: plain, nested and locked writes go both ways', async () => {
    const namespace = uniqueName('ns');
    const cfg = tie({ port: 8080 }, 'cfg', { namespace });
    assert.equal(tied(cfg).debug().backend, 'win32');
    assert.equal(tied(cfg).debug().segment, `Local\\shm-${namespace}.v.cfg`);
    const a = spawnPeer(peerFixture);
    const b = spawnPeer(peerFixture);
    try {
      await Promise.all([a.ready, b.ready]);
      await Promise.all([
        a.call('tie', { key: 'c', name: 'cfg', kind: 'hash', options: { namespace } }),
        b.call('tie', { key: 'c', name: 'cfg', kind: 'hash', options: { namespace } }),
      ]);
      assert.deepEqual(await a.call('snapshot', { key: 'c' }), { port: 8080 });
      await a.call('set', { key: 'c', path: ['db'], value: { host: 'x', port: 1 } });
      assert.equal(cfg.db.host, 'x', 'a nested object written there is a tied proxy here');
      cfg.db.port = 5432; // a nested write from here goes through to its own segment
      assert.deepEqual(await b.call('snapshot', { key: 'c' }), { port: 8080, db: { host: 'x', port: 5432 } });
      await Promise.all([
        a.call('increment', { key: 'c', times: 100 }),
        b.call('increment', { key: 'c', times: 100 }),
      ]);
      assert.equal(cfg.count, 200, 'withWriteLock excluded the other process every time');
      await Promise.all([a.call('untie', { key: 'c' }), b.call('untie', { key: 'c' })]);
    } finally {
      await Promise.all([a.kill(), b.kill()]);
      untie(cfg);
    }
    // No process holds the namespace any more: like a Win32::MMF namespace without a swapfile, it is gone.
    assert.throws(() => tie({}, 'cfg', { namespace, create: false }), { code: 'ERROR_FILE_NOT_FOUND' });
    assert.deepEqual(removeAll({ namespace }), [], 'nothing left to remove');
  });

  it('holds a value larger than its size in chained sections, read whole by another process', async () => {
    const namespace = uniqueName('big');
    const list = tie([], 'list', { namespace, size: 4096 });
    const peer = spawnPeer(peerFixture);
    try {
      await peer.ready;
      await peer.call('tie', { key: 'l', name: 'list', kind: 'array', options: { namespace, size: 4096 } });
      list.push(...Array.from({ length: 20_000 }, (_, i) => `item-${i}`));
      const d = await peer.call('debug', { key: 'l' });
      assert.ok(d.chained >= 1, `chained segments: ${d.chained}`);
      const seen = await peer.call('snapshot', { key: 'l' });
      assert.equal(seen.length, 20_000);
      assert.equal(seen[19_999], 'item-19999');
    } finally {
      await peer.kill();
      tied(list).remove();
    }
  });

  it('with a swapfile, persists in files after every process untied it, until removeAll', async () => {
    const namespace = uniqueName('swap');
    const swapfile = join(tmp.dir, 'private.swp');
    const s = tie(new ScalarRef('hello'), 'greeting', { namespace, swapfile });
    assert.equal(tied(s).debug().backend, 'file');
    const peer = spawnPeer(peerFixture);
    try {
      await peer.ready;
      await peer.call('tie', {
        key: 's',
        name: 'greeting',
        kind: 'scalar',
        options: { namespace, swapfile },
      });
      await peer.call('set', { key: 's', path: ['value'], value: { from: 'peer', n: [1, 2] } });
      await peer.call('untie', { key: 's' });
    } finally {
      await peer.kill();
      untie(s);
    }
    assert.ok(existsSync(`${swapfile}.v.greeting`));
    const again = tie(new ScalarRef(), 'greeting', { namespace, swapfile, create: false });
    assert.deepEqual(tied(again).snapshot(), { from: 'peer', n: [1, 2] });
    untie(again);
    const removed = removeAll({ namespace, swapfile });
    assert.ok(removed.length >= 2, `the variable and its nested object: ${removed.join(', ')}`);
    assert.deepEqual(readdirSync(tmp.dir), [], 'every file of the namespace is gone');
  });

  it('re-creates in place a variable that was removed while another process still had it tied', async () => {
    const namespace = uniqueName('revive');
    const v = tie(new ScalarRef(1), 'v', { namespace });
    const peer = spawnPeer(peerFixture);
    try {
      await peer.ready;
      await peer.call('tie', { key: 'v', name: 'v', kind: 'scalar', options: { namespace } });
      tied(v).remove(); // the peer still holds the section: Windows cannot delete it
      await assert.rejects(peer.call('snapshot', { key: 'v' }), { code: 'ERR_SHM_NOT_FOUND' });
      const again = tie(new ScalarRef(2), 'v', { namespace });
      assert.equal(again.value, 2, 'a fresh variable, not the removed mark');
      await peer.call('tie', { key: 'v2', name: 'v', kind: 'scalar', options: { namespace } });
      assert.equal(await peer.call('snapshot', { key: 'v2' }), 2);
      tied(again).remove();
    } finally {
      await peer.kill();
    }
  });

  it('bad input: a missing variable, use after untie, and a namespace name Windows cannot take', () => {
    const namespace = uniqueName('bad');
    assert.throws(
      () => tie({}, 'nothing', { namespace, create: false }),
      (e) => {
        assert.ok(core.ShmSystemError.isInstance(e));
        assert.equal(e.code, 'ERROR_FILE_NOT_FOUND');
        assert.match(e.message, /nothing/);
        return true;
      },
    );
    const h = tie({ a: 1 }, 'h', { namespace });
    untie(h);
    assert.throws(() => h.a, { code: 'ERR_SHM_CLOSED' });
    assert.throws(() => tie({}, 'x', { namespace: 'a\\b' }), RangeError);
  });
});
