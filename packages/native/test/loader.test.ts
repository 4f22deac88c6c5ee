import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindingPath, describeBinary, loadBinding, plan, prebuildTags } from '../src/binding.js';

// The loader's decisions on real files: the addon this run loaded (a source build or a prebuild), copies of it
// truncated or relabelled for another machine, and a fake package root with prebuilds/ for other platforms.
let dir: string;
let good: Buffer;

beforeAll(() => {
  loadBinding();
  good = readFileSync(bindingPath()!);
  dir = mkdtempSync(join(tmpdir(), 'shm-loader-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, data: Buffer | string): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

describe('describeBinary', () => {
  it('passes the addon this process loaded', () => {
    expect(describeBinary(bindingPath()!)).toBeUndefined();
  });

  it('names a truncated binary with its size and the size its headers need', () => {
    expect(describeBinary(file('cut.node', good.subarray(0, 4096)))).toMatch(
      /^truncated: the file has 4096 bytes, its headers say it has at least \d+/,
    );
    expect(describeBinary(file('cut-end.node', good.subarray(0, good.length - 1)))).toMatch(/^truncated/);
    expect(describeBinary(file('empty.node', ''))).toMatch(/^empty file/);
  });

  it('names a binary built for another architecture or operating system', () => {
    const other = Buffer.from(good);
    other.writeUInt16LE(process.arch === 'arm64' ? 62 : 183, 18); // e_machine: x86-64 or AArch64
    const want = process.arch === 'arm64' ? 'x64' : 'arm64';
    expect(describeBinary(file('arch.node', other))).toBe(
      `wrong architecture: built for ${want} (64-bit ELF), but this process is ${process.arch}`,
    );
    expect(describeBinary(bindingPath()!, process.arch, 'win32')).toMatch(/^wrong operating system: a Linux/);
    expect(describeBinary(file('text.node', 'not a library at all'))).toMatch(/^not a native addon/);
  });
});

describe('loading', () => {
  it('reads prebuildify file names as node-gyp-build does', () => {
    expect(prebuildTags('shm_native.napi.glibc.node')).toEqual({
      name: 'shm_native',
      napi: true,
      libc: 'glibc',
    });
    expect(prebuildTags('shm_native.napi.node')).toEqual({ name: 'shm_native', napi: true });
    expect(prebuildTags('README.md')).toBeUndefined();
  });

  it('looks at a source build, then the prebuild for this platform and C library, skipping the others', () => {
    const root = join(dir, 'pkg');
    for (const [d, f] of [
      ['linux-x64', 'shm_native.napi.glibc.node'],
      ['linux-x64', 'shm_native.napi.musl.node'],
      ['win32-x64', 'shm_native.napi.node'],
    ] as const) {
      mkdirSync(join(root, 'prebuilds', d), { recursive: true });
      copyFileSync(bindingPath()!, join(root, 'prebuilds', d, f));
    }
    const saved = process.env.SHM_NATIVE_PATH;
    delete process.env.SHM_NATIVE_PATH;
    try {
      const p = plan([root], { platform: 'linux', arch: 'x64', libc: 'glibc' });
      expect(p.available).toEqual(['linux-x64', 'win32-x64']);
      expect(p.attempts.map((a) => [a.path.slice(root.length + 1), a.reason])).toEqual([
        ['build/Release/shm_native.node', 'not found (no source build)'],
        ['build/Debug/shm_native.node', 'not found (no source build)'],
        ['prebuilds/linux-x64/shm_native.napi.glibc.node', undefined],
        ['prebuilds/linux-x64/shm_native.napi.musl.node', 'skipped: built for musl, this system uses glibc'],
      ]);
      const riscv = plan([root], { platform: 'linux', arch: 'riscv64', libc: 'glibc' });
      expect(riscv.attempts.at(-1)?.reason).toBe('not found (no prebuilt binary for linux-riscv64)');
      process.env.SHM_NATIVE_PATH = '/elsewhere/shm_native.node';
      expect(plan([root]).attempts).toEqual([{ path: '/elsewhere/shm_native.node', kind: 'env' }]);
    } finally {
      if (saved === undefined) delete process.env.SHM_NATIVE_PATH;
      else process.env.SHM_NATIVE_PATH = saved;
    }
  });
});
