// @shm/core regions on Windows: named pagefile sections, file-backed sections, anonymous sections, the registry, and
// the errors of bad input.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { core, native, spawnPeer, tempDir, uniqueName } from './helpers.mjs';

const { Region, registry, ShmError, ShmSystemError } = core;
const peerFixture = new URL('./fixtures/peer.mjs', import.meta.url);
const tmp = tempDir();
after(() => {
  tmp.remove();
  assert.equal(native.win32OpenHandles(), 0, 'every event this file opened was closed with its region');
});

describe('a named region (backend win32)', () => {
  it("is shared by two processes that each see the other one's writes, Atomics included", async () => {
    const name = uniqueName('share');
    const r = Region.create({ name, size: 100_000 });
    assert.equal(r.backend, 'win32');
    assert.equal(r.created, true);
    assert.equal(r.id, `Local\\shm-${name}`);
    assert.equal(r.fd, -1);
    r.bytes.set([1, 2, 3], 0);
    const peer = spawnPeer(peerFixture);
    try {
      await peer.ready;
      const seen = await peer.call('openRegion', { key: 'r', name, size: 100_000 });
      assert.equal(seen.backend, 'win32');
      assert.ok(seen.size >= 100_000, `the peer sees ${seen.size} bytes`);
      assert.deepEqual(await peer.call('read', { key: 'r', offset: 0, length: 3 }), [1, 2, 3]);
      await peer.call('write', { key: 'r', offset: 99_996, bytes: [9, 8, 7, 6] });
      assert.deepEqual([...r.bytes.subarray(99_996, 100_000)], [9, 8, 7, 6]);
      Atomics.store(r.i32, 100, 0x12345678);
      assert.deepEqual(
        await peer.call('read', { key: 'r', offset: 400, length: 4 }),
        [0x78, 0x56, 0x34, 0x12],
      );
      // '/name' is the same region, as with POSIX names.
      const again = Region.open({ name: `/${name}` });
      assert.equal(again.id, r.id);
      assert.equal(again.created, false);
      again.close();
    } finally {
      await peer.kill();
      r.close();
    }
  });

  it('is recorded in the registry, which tells whether it still exists: it vanishes with its last handle', () => {
    const name = uniqueName('reg');
    const r = Region.create({ name, size: 4096, tag: 'win32-test' });
    const entry = () => registry.list().find((e) => e.id === r.id);
    assert.equal(entry()?.backend, 'win32');
    assert.equal(entry()?.exists, true);
    assert.equal(entry()?.ownerAlive, true);
    r.close();
    assert.equal(entry()?.exists, false, 'no process holds it any more');
    assert.equal(registry.remove(name), true, 'found by its plain name');
    assert.equal(entry(), undefined);
  });

  it('create returns the existing region to a second creator and refuses it when exclusive', () => {
    const name = uniqueName('excl');
    const first = Region.create({ name, size: 8192, exclusive: true });
    const second = Region.create({ name, size: 4096 });
    try {
      assert.equal(second.created, false);
      assert.ok(second.size >= 8192);
      assert.throws(
        () => Region.create({ name, size: 4096, exclusive: true }),
        (e) => ShmSystemError.isInstance(e) && e.code === 'ERROR_ALREADY_EXISTS' && e.message.includes(name),
      );
    } finally {
      first.close();
      second.close();
    }
  });
});

describe('an anonymous region', () => {
  it('is a section with an unguessable name that a child opens by that name', async () => {
    const r = Region.create({ size: 65_536 });
    assert.equal(r.backend, 'win32');
    assert.match(r.name, /^Local\\shm-anon-\d+-[0-9a-f]{24}$/);
    assert.equal(
      registry.list().find((e) => e.id === r.id),
      undefined,
      'anonymous regions are not recorded',
    );
    r.bytes[1000] = 77;
    const peer = spawnPeer(peerFixture);
    try {
      await peer.ready;
      await peer.call('openRegion', { key: 'a', name: r.name });
      assert.deepEqual(await peer.call('read', { key: 'a', offset: 1000, length: 1 }), [77]);
    } finally {
      await peer.kill();
      r.close();
    }
    assert.throws(() => Region.open({ name: r.name }), { code: 'ERROR_FILE_NOT_FOUND' });
  });
});

describe('a file-backed region', () => {
  it('keeps its data in the file after every process closed it, and remove() deletes the file', async () => {
    const path = join(tmp.dir, 'persist.bin');
    const r = Region.create({ path, size: 20_000 });
    assert.equal(r.backend, 'file');
    assert.equal(r.created, true);
    r.bytes.set([5, 6, 7], 19_000);
    const peer = spawnPeer(peerFixture);
    try {
      await peer.ready;
      const seen = await peer.call('openRegion', { key: 'f', path });
      assert.equal(seen.size, 20_000);
      await peer.call('write', { key: 'f', offset: 10, bytes: [42] });
      assert.equal(r.bytes[10], 42);
      await peer.call('closeRegion', { key: 'f' });
    } finally {
      await peer.kill();
      r.close();
    }
    const data = readFileSync(path);
    assert.equal(data.length, 20_000);
    assert.deepEqual([...data.subarray(19_000, 19_003)], [5, 6, 7]);
    const reopened = Region.open({ path });
    assert.equal(reopened.bytes[10], 42);
    // Windows keeps a mapped file: removing it now is a clear ERR_SHM_BUSY, and the data stays.
    assert.throws(
      () => Region.remove({ backend: 'file', path }),
      (e) => {
        assert.equal(e.code, 'ERR_SHM_BUSY');
        assert.match(e.message, /while a process maps it/);
        return true;
      },
    );
    assert.equal(reopened.bytes[10], 42);
    reopened.close();
    Region.remove({ backend: 'file', path });
    assert.equal(existsSync(path), false);
  });
});

describe('bad input', () => {
  it('an unknown name is ERROR_FILE_NOT_FOUND, naming the section and why it may be gone', () => {
    const name = uniqueName('missing');
    assert.throws(
      () => Region.open({ name }),
      (e) => {
        assert.ok(ShmSystemError.isInstance(e));
        assert.equal(e.code, 'ERROR_FILE_NOT_FOUND');
        assert.equal(e.syscall, 'OpenFileMappingW');
        assert.ok(e.message.includes(`Local\\shm-${name}`), e.message);
        assert.match(e.message, /vanishes when the last process/);
        return true;
      },
    );
    assert.throws(() => Region.open({ path: join(tmp.dir, 'nope.bin') }), {
      code: 'ERROR_FILE_NOT_FOUND',
      syscall: 'CreateFileW',
    });
    assert.equal(existsSync(join(tmp.dir, 'nope.bin')), false, 'opening a missing file does not create it');
  });

  it('a size larger than the existing region is ERR_SHM_SIZE_MISMATCH with both sizes', () => {
    const name = uniqueName('size');
    const r = Region.create({ name, size: 4096 });
    try {
      assert.throws(
        () => Region.open({ name, size: 1 << 20 }),
        (e) => {
          assert.equal(e.code, 'ERR_SHM_SIZE_MISMATCH');
          assert.match(e.message, /4096 bytes but 1048576 were asked for/);
          return true;
        },
      );
      assert.throws(() => Region.create({ name, size: 1 << 20 }), { code: 'ERR_SHM_SIZE_MISMATCH' });
    } finally {
      r.close();
    }
    const path = join(tmp.dir, 'small.bin');
    const f = Region.create({ path, size: 4096 });
    f.close();
    assert.throws(() => Region.open({ path, size: 8192 }), { code: 'ERR_SHM_SIZE_MISMATCH' });
    Region.remove({ backend: 'file', path });
  });

  it('use after close is ERR_SHM_CLOSED', () => {
    const r = Region.create({ name: uniqueName('closed'), size: 4096 });
    r.close();
    r.close(); // idempotent
    assert.throws(() => r.bytes, { code: 'ERR_SHM_CLOSED' });
    assert.throws(() => r.i32, { code: 'ERR_SHM_CLOSED' });
  });

  it('POSIX-only backends, fds and read-only mappings are ERR_SHM_NOT_SUPPORTED with what to use instead', () => {
    for (const o of [
      { backend: 'posix', name: 'x', size: 4096 },
      { backend: 'sysv', key: 1234, size: 4096 },
    ]) {
      assert.throws(
        () => Region.create(o),
        (e) => ShmError.isInstance(e) && e.code === 'ERR_SHM_NOT_SUPPORTED' && /use 'win32'/.test(e.message),
      );
    }
    assert.throws(
      () => Region.fromFd(3),
      (e) => e.code === 'ERR_SHM_NOT_SUPPORTED' && /region\.name/.test(e.message),
    );
    assert.throws(() => Region.create({ name: uniqueName('ro'), size: 4096, readonly: true }), {
      code: 'ERR_SHM_NOT_SUPPORTED',
    });
    assert.throws(() => Region.create({ name: 'a\\b', size: 4096 }), RangeError);
    assert.throws(() => Region.create({ name: uniqueName('nosize') }), TypeError);
  });
});
