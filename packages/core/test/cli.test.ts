import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uniqueName } from '@shm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../src/index.js';

// The CLI as a user runs it: through a link named `shm` (npm's .bin/shm is a symlink to dist/cli.js), in its own
// process, judged by its exit status and what it printed.
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const nodeSourceArgs = ['--conditions=@shm/source', '--import', 'tsx'];
let dir: string;
let bin: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shm-cli-test-'));
  bin = join(dir, 'shm');
  symlinkSync(cli, bin);
  // This process and the CLI share one registry, as a user's programs and `shm` do.
  process.env.SHM_REGISTRY_DIR = join(dir, 'registry');
});
afterAll(() => {
  delete process.env.SHM_REGISTRY_DIR;
  rmSync(dir, { recursive: true, force: true });
});

function shm(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [...nodeSourceArgs, bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the shm command', () => {
  it('runs when started through a link of another name and prints its usage for --help with status 0', () => {
    const r = shm(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: shm <command>/);
    expect(shm(['ls']).out).toMatch(/^Registry \(objects created through @shm\):/);
    expect(shm([]).code).toBe(2);
  });

  it('removes a store, says so, exits 0, and the object is gone', () => {
    const name = uniqueName();
    const s = Store.create({ name, serializer: 'json' });
    s.close();
    try {
      const r = shm(['rm', name]);
      expect(r).toMatchObject({ code: 0, out: `removed store ${name} and its segments\n` });
      expect(existsSync(`/dev/shm/${name}`)).toBe(false);
    } finally {
      if (existsSync(`/dev/shm/${name}`)) rmSync(`/dev/shm/${name}`);
    }
  });

  it('exits 1 without claiming a removal when the object does not exist', () => {
    const r = shm(['rm', uniqueName()]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/no such object/);
  });

  it('exits 1 and leaves the object when the addon cannot load', () => {
    const name = uniqueName();
    const s = Store.create({ name, serializer: 'json' });
    try {
      const r = shm(['rm', name], { SHM_NATIVE_PATH: join(dir, 'missing.node') });
      expect(r.code).toBe(1);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/ERR_SHM_NATIVE_LOAD|Could not load the @shm\/native addon/);
      expect(existsSync(`/dev/shm/${name}`)).toBe(true);
    } finally {
      s.destroy();
    }
  });
});
