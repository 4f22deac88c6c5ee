import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPeer, uniqueKey, uniqueName } from '@shm/test-utils';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli.js';
import { Region, registry, Store } from '../src/index.js';

const creator = fileURLToPath(new URL('./fixtures/create-and-exit.ts', import.meta.url));
const files = (prefix: string) => readdirSync('/dev/shm').filter((f) => f.startsWith(prefix));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shm-registry-test-'));
  process.env.SHM_REGISTRY_DIR = dir;
});
afterAll(() => {
  delete process.env.SHM_REGISTRY_DIR;
  rmSync(dir, { recursive: true, force: true });
});

function capture(fn: () => number): { code: number; out: string } {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void lines.push(a.join(' ')));
  const err = vi.spyOn(console, 'error').mockImplementation((...a) => void lines.push(a.join(' ')));
  try {
    return { code: fn(), out: lines.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe('Region', () => {
  it('creates owner-only (0600) objects by default and opens them with the existing size', () => {
    const name = uniqueName();
    const r = Region.create({ name, size: 10_000 });
    try {
      expect(r.created).toBe(true);
      const again = Region.create({ name, size: 10_000 });
      expect(again.created).toBe(false);
      again.close();
      const o = Region.open({ name });
      expect(o.size).toBe(10_000);
      o.close();
      expect(() => Region.open({ name, size: 20_000 })).toThrow(/has 10000 bytes but 20000 were asked for/);
      expect(() => Region.create({ name, size: 10_000, exclusive: true })).toThrow(/EEXIST/);
      expect(() => r.close()).not.toThrow();
      expect(() => r.bytes).toThrow(/closed/);
    } finally {
      Region.remove({ name });
    }
    const key = uniqueKey();
    const k = Region.create({ key, size: 4096 });
    try {
      expect(() => Region.open({ key, size: 8192 })).toThrow(/ERR_SHM_SIZE_MISMATCH|4096 bytes/);
    } finally {
      k.destroy();
    }
  });

  it('names the object when /dev/shm cannot hold it (ENOSPC), and leaves nothing behind', () => {
    const name = uniqueName();
    let err: unknown;
    try {
      Region.create({ name, size: 2 ** 45 }).destroy(); // 32 TiB: no tmpfs reserves that
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ENOSPC', syscall: 'posix_fallocate', target: `/${name}` });
    expect((err as Error).message).toContain(name);
    expect(files(name)).toEqual([]);
  });
});

describe('The registry and cleanup', () => {
  it('lists what was created, and cleanup removes orphans of dead creators but keeps persistent ones', async () => {
    const orphan = uniqueName();
    const kept = uniqueName();
    expect((await runPeer(creator, [orphan, 'no'])).code).toBe(0);
    expect((await runPeer(creator, [kept, 'yes'])).code).toBe(0);
    const listed = registry.list().filter((e) => e.tag === 'cleanup-test');
    expect(listed.map((e) => e.id).sort()).toEqual([`/${orphan}`, `/${kept}`].sort());
    expect(listed.every((e) => e.exists && !e.ownerAlive)).toBe(true);
    expect(files(orphan).length).toBeGreaterThan(1); // the head and its chained segments

    const removed = registry.cleanup();
    expect(removed.map((e) => e.id)).toEqual([`/${orphan}`]);
    expect(files(orphan)).toEqual([]);
    expect(files(kept).length).toBeGreaterThan(1);

    // `shm rm` removes a store with all its chained segments.
    const { code, out } = capture(() => main(['rm', kept]));
    expect(code).toBe(0);
    expect(out).toMatch(/removed store/);
    expect(files(kept)).toEqual([]);
    expect(registry.list().filter((e) => e.tag === 'cleanup-test')).toEqual([]);
  });

  it('shows stores read-only with `shm inspect` and everything with `shm ls --all`', () => {
    const name = uniqueName();
    const s = Store.create({ name, serializer: 'json', tag: 'inspect-test' });
    try {
      s.setValue({ hello: 'world' });
      const { code, out } = capture(() => main(['inspect', name]));
      expect(code).toBe(0);
      const info = JSON.parse(out);
      expect(info).toMatchObject({ format: '@shm store', serial: 1, object: `/${name}` });
      expect(info.banks[info.currentBank]).toMatchObject({ serializer: 'json', length: 17 });
      const ls = capture(() => main(['ls', '--all']));
      expect(ls.out).toMatch(new RegExp(`/${name}.*owner alive.*inspect-test`));
      expect(capture(() => main(['inspect', uniqueName()])).code).toBe(1);
      expect(capture(() => main(['frobnicate'])).code).toBe(2);
    } finally {
      s.destroy();
    }
    expect(existsSync(`/dev/shm/${name}`)).toBe(false);
  });
});

describe('registry files written by someone else', () => {
  it('skips entries that are not well-formed instead of failing list() and cleanup()', async () => {
    const { writeFileSync } = await import('node:fs');
    const name = uniqueName();
    const r = Region.create({ name, size: 4096, tag: 'good' });
    try {
      writeFileSync(
        join(dir, 'posix-%2Fjunk1.json'),
        JSON.stringify({ backend: 'posix', id: '/x', ownerPid: 'me' }),
      );
      writeFileSync(join(dir, 'posix-%2Fjunk2.json'), JSON.stringify({ backend: 'posix' }));
      writeFileSync(join(dir, 'posix-%2Fjunk3.json'), '{"backend":');
      writeFileSync(join(dir, 'posix-%2Fjunk4.json'), 'null');
      const listed = registry.list();
      expect(listed.map((e) => e.id)).toContain(`/${name}`);
      expect(listed.every((e) => Number.isInteger(e.ownerPid))).toBe(true);
      expect(() => registry.cleanup()).not.toThrow();
    } finally {
      r.destroy();
      for (let i = 1; i <= 4; i++) rmSync(join(dir, `posix-%2Fjunk${i}.json`), { force: true });
    }
  });
});
