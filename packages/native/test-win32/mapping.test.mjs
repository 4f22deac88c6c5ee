// Win32 file mappings: sharing between processes, file-backed persistence, lifetime, and bad input.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { native, spawnPeer, uniqueName } from './helpers.mjs';

const { createWin32Mapping, createWin32FileMapping, openWin32Mapping, ShmError, ShmSystemError } = native;
const dir = mkdtempSync(join(tmpdir(), 'shm-win32-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a named pagefile-backed mapping', () => {
  it("is shared by two processes that each see the other one's writes", async () => {
    const name = uniqueName('share');
    const { mapping, existed } = createWin32Mapping({ name, size: 100_000 });
    assert.equal(existed, false);
    assert.equal(mapping.kind, 'win32');
    assert.equal(mapping.size, 100_000);
    const mine = new Uint8Array(mapping.buffer);
    mine.set([1, 2, 3], 0);
    const peer = spawnPeer();
    try {
      await peer.ready;
      const size = await peer.call('openMap', { name });
      assert.ok(size >= 100_000, `peer sees ${size} bytes`);
      assert.deepEqual(await peer.call('read', { name, offset: 0, length: 3 }), [1, 2, 3]);
      await peer.call('write', { name, offset: 99_990, bytes: [7, 8, 9] });
      assert.deepEqual([...mine.subarray(99_990, 99_993)], [7, 8, 9]);
      mine[50_000] = 42;
      assert.deepEqual(await peer.call('read', { name, offset: 50_000, length: 1 }), [42]);
    } finally {
      await peer.kill();
      mapping.close();
    }
  });

  it('disappears when its last handle closes', () => {
    const name = uniqueName('gone');
    const { mapping } = createWin32Mapping({ name, size: 4096 });
    const second = openWin32Mapping(name);
    mapping.close();
    openWin32Mapping(name).close(); // still held by `second`
    second.close();
    assert.throws(() => openWin32Mapping(name), { code: 'ERROR_FILE_NOT_FOUND' });
  });

  it('returns the existing mapping to a second create, and refuses it when exclusive', () => {
    const name = uniqueName('excl');
    const first = createWin32Mapping({ name, size: 8192, exclusive: true });
    const again = createWin32Mapping({ name, size: 4096 });
    assert.equal(again.existed, true);
    assert.ok(again.mapping.size >= 8192);
    assert.throws(
      () => createWin32Mapping({ name, size: 4096, exclusive: true }),
      (e) => {
        assert.ok(ShmSystemError.isInstance(e));
        assert.equal(e.code, 'ERROR_ALREADY_EXISTS');
        assert.equal(e.errno, 183);
        assert.equal(e.syscall, 'CreateFileMappingW');
        assert.match(e.message, new RegExp(name));
        return true;
      },
    );
    again.mapping.close();
    first.mapping.close();
  });

  it('reports a size mismatch when an existing mapping is smaller than requested', () => {
    const name = uniqueName('small');
    const first = createWin32Mapping({ name, size: 4096 });
    assert.throws(
      () => createWin32Mapping({ name, size: 1 << 20 }),
      (e) => {
        assert.ok(ShmError.isInstance(e));
        assert.equal(e.code, 'ERR_SHM_SIZE_MISMATCH');
        assert.match(e.message, /fewer than the 1048576 requested/);
        return true;
      },
    );
    first.mapping.close();
  });

  it('can be anonymous, with exactly the requested size', () => {
    const { mapping, existed } = createWin32Mapping({ size: 12_345 });
    assert.equal(existed, false);
    assert.equal(mapping.size, 12_345);
    new Uint8Array(mapping.buffer).fill(0xab);
    assert.equal(new Uint8Array(mapping.buffer)[12_344], 0xab);
    assert.equal(mapping.close(), true);
  });

  it('passes sizes above 4 GiB as two DWORDs, or fails cleanly where Node caps ArrayBuffers at 4 GiB', () => {
    const name = uniqueName('big');
    const size = 2 ** 32 + 65536;
    let mapping;
    try {
      mapping = createWin32Mapping({ name, size }).mapping;
    } catch (e) {
      // Node 20's limit (ERR_BUFFER_TOO_LARGE): the section was made, then unmapped and closed again.
      assert.equal(e.code, 'ERR_BUFFER_TOO_LARGE');
      assert.throws(() => openWin32Mapping(name), { code: 'ERROR_FILE_NOT_FOUND' });
      return;
    }
    try {
      assert.equal(mapping.size, size);
      new Uint8Array(mapping.buffer, size - 16, 16)[15] = 9;
      assert.equal(new Uint8Array(mapping.buffer)[size - 1], 9);
    } finally {
      mapping.close();
    }
  });
});

describe('a file-backed mapping', () => {
  it('keeps what two processes wrote in the file after both closed it', async () => {
    const path = join(dir, 'swap.bin');
    const { mapping, existed } = createWin32FileMapping(path, { size: 65536 });
    assert.equal(existed, false);
    new Uint8Array(mapping.buffer).set([0x11, 0x22], 0);
    const peer = spawnPeer();
    try {
      await peer.ready;
      assert.equal(await peer.call('fileMap', { path, size: 65536 }), true);
      assert.deepEqual(await peer.call('read', { name: path, offset: 0, length: 2 }), [0x11, 0x22]);
      await peer.call('write', { name: path, offset: 65534, bytes: [0x33, 0x44] });
      assert.equal(new Uint8Array(mapping.buffer)[65535], 0x44);
      await peer.call('closeMap', { name: path });
    } finally {
      await peer.kill();
    }
    mapping.close();
    assert.equal(statSync(path).size, 65536);
    const bytes = readFileSync(path);
    assert.deepEqual([bytes[0], bytes[1], bytes[65534], bytes[65535]], [0x11, 0x22, 0x33, 0x44]);
    const reopened = createWin32FileMapping(path); // size: the file's
    assert.equal(reopened.existed, true);
    assert.equal(reopened.mapping.size, 65536);
    assert.equal(new Uint8Array(reopened.mapping.buffer)[65534], 0x33);
    reopened.mapping.close();
  });

  it('can carry a name that other processes open', async () => {
    const path = join(dir, 'named.bin');
    const name = uniqueName('file');
    const { mapping } = createWin32FileMapping(path, { name, size: 4096 });
    new Uint8Array(mapping.buffer)[10] = 77;
    const other = openWin32Mapping(name);
    assert.equal(new Uint8Array(other.buffer)[10], 77);
    other.close();
    mapping.close();
  });

  it('refuses an existing file when exclusive, and a missing directory with its Win32 error', () => {
    const path = join(dir, 'excl.bin');
    createWin32FileMapping(path, { size: 4096 }).mapping.close();
    assert.throws(() => createWin32FileMapping(path, { size: 4096, exclusive: true }), {
      code: 'ERROR_FILE_EXISTS',
      syscall: 'CreateFileW',
    });
    assert.throws(() => createWin32FileMapping(join(dir, 'no', 'such', 'dir.bin'), { size: 4096 }), {
      code: 'ERROR_PATH_NOT_FOUND',
      syscall: 'CreateFileW',
    });
  });
});

describe('bad input', () => {
  it('opening an unknown name fails with ERROR_FILE_NOT_FOUND, the call and the name', () => {
    const name = uniqueName('unknown');
    assert.throws(
      () => openWin32Mapping(name),
      (e) => {
        assert.ok(ShmSystemError.isInstance(e));
        assert.equal(e.code, 'ERROR_FILE_NOT_FOUND');
        assert.equal(e.errno, 2);
        assert.equal(e.syscall, 'OpenFileMappingW');
        assert.equal(e.target, name);
        assert.match(e.message, /^ERROR_FILE_NOT_FOUND: OpenFileMappingW failed: .*\(shm-test-/);
        return true;
      },
    );
  });

  it('rejects sizes, names and paths that are not valid before calling Windows', () => {
    assert.throws(() => createWin32Mapping({ size: 0 }), RangeError);
    assert.throws(() => createWin32Mapping({ size: -1 }), RangeError);
    assert.throws(() => createWin32Mapping({ size: 1.5 }), TypeError);
    assert.throws(() => createWin32Mapping({ name: 42, size: 4096 }), TypeError);
    assert.throws(() => createWin32Mapping({ name: 'a\0b', size: 4096 }), RangeError);
    assert.throws(() => createWin32Mapping({ name: 'x'.repeat(261), size: 4096 }), RangeError);
    assert.throws(() => openWin32Mapping(''), RangeError);
    assert.throws(() => createWin32FileMapping('', { size: 1 }), TypeError);
  });

  it('use after close throws a clear error and the process survives', () => {
    const { mapping } = createWin32Mapping({ name: uniqueName('closed'), size: 4096 });
    const buf = mapping.buffer;
    const i32 = new Int32Array(buf);
    Atomics.store(i32, 0, 5);
    assert.equal(mapping.close(), true);
    assert.equal(mapping.close(), false);
    assert.equal(mapping.closed, true);
    assert.equal(mapping.buffer, undefined);
    assert.equal(buf.byteLength, 0); // detached: no access to unmapped memory
    assert.throws(() => new Uint8Array(buf), TypeError);
    assert.throws(() => Atomics.load(i32, 0), TypeError);
    assert.equal(i32.length, 0);
  });

  it('the addon itself re-checks argument types', () => {
    const b = native.loadBinding();
    assert.throws(() => b.win32CreateMapping('x', 'big', '', false), TypeError);
    assert.throws(() => b.win32CreateMapping('', 0, '', false), RangeError);
  });
});
