import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Binding } from './binding-types.js';
import { ShmError, ShmSystemError } from './errors.js';

// Where the addon comes from (docs/decisions/0003-prebuilt-binaries.md): the package ships one prebuilt binary per
// supported platform in prebuilds/<platform>-<arch>/shm_native.napi[.<libc>].node (prebuildify's layout, parsed as
// node-gyp-build does), and a source build, when someone made one, is build/Release/shm_native.node. Nothing here
// needs an install script to have run: the loader picks the binary at run time.

const ADDON = 'shm_native';

/** The C library of this Linux system ('glibc' or 'musl'); undefined elsewhere. */
export function libcFamily(): 'glibc' | 'musl' | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    // What detect-libc reads first: ldd is a script naming its C library, and reading it costs far less than a report.
    const ldd = readFileSync('/usr/bin/ldd', 'latin1');
    if (ldd.includes('musl')) return 'musl';
    if (ldd.includes('GNU C Library') || ldd.includes('GLIBC')) return 'glibc';
  } catch {
    /* no ldd: ask Node */
  }
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)
    ?.header;
  return header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

function glibcVersion(): string | undefined {
  return (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header
    ?.glibcVersionRuntime;
}

/** What a prebuilt file's name says it is for: `shm_native.napi.glibc.node` -> { napi: true, libc: 'glibc' }. */
export function prebuildTags(file: string): { name: string; napi: boolean; libc?: string } | undefined {
  if (!file.endsWith('.node')) return undefined;
  const [name, ...tags] = file.slice(0, -'.node'.length).split('.');
  const libc = tags.find((t) => t === 'glibc' || t === 'musl');
  return { name: name!, napi: tags.includes('napi'), ...(libc ? { libc } : {}) };
}

/** The directories that may be an installed @shm/native: this module's package, else the one Node resolves. */
function packageRoots(): string[] {
  const roots: string[] = [];
  const add = (dir: string) => {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === '@shm/native' && !roots.includes(dir)) roots.push(dir);
    } catch {
      /* not a package root */
    }
  };
  const self = typeof import.meta.url === 'string' ? fileURLToPath(import.meta.url) : undefined;
  if (self) add(join(dirname(self), '..'));
  // A bundler that inlined this file moved it away from prebuilds/; the installed package may still be resolvable.
  try {
    add(dirname(createRequire(self ?? join(process.cwd(), 'index.js')).resolve('@shm/native/package.json')));
  } catch {
    /* not installed where the bundle runs */
  }
  return roots;
}

/** One place the loader looked, and why it did not use it (absent when it loaded). */
export interface LoadAttempt {
  path: string;
  /** 'env' for SHM_NATIVE_PATH, 'build' for a source build, 'prebuild' for a shipped binary. */
  kind: 'env' | 'build' | 'prebuild';
  reason?: string;
  /** The file is there but broken (truncated, another architecture...): reinstalling brings back a good one. */
  damaged?: boolean;
}

/** Where to look, in order, with the prebuilt files that do not fit this system already marked as skipped. */
export function plan(
  roots: string[],
  target: { platform: string; arch: string; libc: string | undefined } = {
    platform: process.platform,
    arch: process.arch,
    libc: libcFamily(),
  },
): { attempts: LoadAttempt[]; available: string[] } {
  const env = process.env.SHM_NATIVE_PATH;
  // An explicit path is the only candidate: falling back to another binary would hide that it does not load.
  if (env) return { attempts: [{ path: env, kind: 'env' }], available: [] };
  const attempts: LoadAttempt[] = [];
  const available = new Set<string>();
  const dirName = `${target.platform}-${target.arch}`;
  for (const root of roots) {
    for (const type of ['Release', 'Debug']) {
      const path = join(root, 'build', type, `${ADDON}.node`);
      attempts.push({
        path,
        kind: 'build',
        ...(existsSync(path) ? {} : { reason: 'not found (no source build)' }),
      });
    }
    const prebuilds = join(root, 'prebuilds');
    let dirs: string[] = [];
    try {
      dirs = readdirSync(prebuilds).filter((d) => statSync(join(prebuilds, d)).isDirectory());
    } catch {
      /* none shipped */
    }
    for (const d of dirs) available.add(d);
    const dir = join(prebuilds, dirName);
    if (!dirs.includes(dirName)) {
      attempts.push({
        path: `${dir}${sep}`,
        kind: 'prebuild',
        reason: `not found (no prebuilt binary for ${dirName})`,
      });
      continue;
    }
    const files = readdirSync(dir)
      .map((f) => ({ f, tags: prebuildTags(f) }))
      .filter((x) => x.tags?.name === ADDON)
      // A binary tagged for this C library first, then an untagged one.
      .sort((a, b) => Number(b.tags!.libc === target.libc) - Number(a.tags!.libc === target.libc));
    if (files.length === 0)
      attempts.push({ path: `${dir}${sep}`, kind: 'prebuild', reason: `no ${ADDON}.*.node in it` });
    for (const { f, tags } of files) {
      const path = join(dir, f);
      const reason =
        tags!.libc && target.libc && tags!.libc !== target.libc
          ? `skipped: built for ${tags!.libc}, this system uses ${target.libc}`
          : !tags!.napi
            ? 'skipped: not a Node-API build (no "napi" tag)'
            : undefined;
      attempts.push({ path, kind: 'prebuild', ...(reason ? { reason } : {}) });
    }
  }
  return { attempts, available: [...available].sort() };
}

const ELF_MACHINES: Record<number, string> = {
  3: 'ia32',
  8: 'mips',
  20: 'ppc',
  21: 'ppc64',
  22: 's390x',
  40: 'arm',
  62: 'x64',
  183: 'arm64',
  243: 'riscv64',
  258: 'loong64',
};
const PE_MACHINES: Record<number, string> = { 332: 'ia32', 34404: 'x64', 43620: 'arm64', 452: 'arm' };

/**
 * Why a binary that exists cannot be this process's addon, read from its headers before the system loader sees it
 * (a truncated library can crash the process with SIGBUS inside dlopen): empty, truncated (shorter than its own
 * headers say), for another architecture or operating system, or not a shared library at all. Undefined when the
 * headers look right (then only the loader's own message can tell).
 */
export function describeBinary(
  path: string,
  arch = process.arch,
  platform = process.platform,
): string | undefined {
  let b: Buffer;
  let size: number;
  try {
    const fd = openSync(path, 'r');
    try {
      size = fstatSync(fd).size;
      b = Buffer.alloc(Math.min(size, 65536));
      readSync(fd, b, 0, b.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    return `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  if (size === 0) return 'empty file (0 bytes): an interrupted download or copy';
  const truncated = (need: number) =>
    `truncated: the file has ${size} bytes, its headers say it has at least ${need} (an interrupted download or copy)`;
  if (b.length >= 4 && b.readUInt32BE(0) === 0x7f454c46) {
    if (size < 64) return truncated(64);
    const is64 = b[4] === 2;
    const le = b[5] === 1;
    const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const u64 = (o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
    const word = is64 ? u64 : u32;
    const machine = u16(18);
    const its = ELF_MACHINES[machine] ?? `ELF machine ${machine}`;
    const bits = is64 ? 64 : 32;
    if (platform !== 'linux' && platform !== 'freebsd' && platform !== 'openbsd')
      return `wrong operating system: a Linux (ELF) binary for ${its}, but this is ${platform}-${arch}`;
    if (its !== arch)
      return `wrong architecture: built for ${its} (${bits}-bit ELF), but this process is ${arch}`;
    const [phoff, shoff] = is64 ? [u64(32), u64(40)] : [u32(28), u32(32)];
    const [phentsize, phnum, shentsize, shnum] = is64
      ? [u16(54), u16(56), u16(58), u16(60)]
      : [u16(42), u16(44), u16(46), u16(48)];
    let end = Math.max(phoff + phentsize * phnum, shnum ? shoff + shentsize * shnum : 0);
    // Each loadable segment's bytes in the file (p_offset + p_filesz), as far as the program headers were read.
    for (let i = 0; i < phnum && phoff + (i + 1) * phentsize <= b.length; i++) {
      const h = phoff + i * phentsize;
      if (u32(h) !== 1) continue; // PT_LOAD
      const [offset, filesz] = is64 ? [u64(h + 8), u64(h + 32)] : [word(h + 4), word(h + 16)];
      end = Math.max(end, offset + filesz);
    }
    if (end > size) return truncated(end);
    return undefined;
  }
  if (b.length >= 2 && b.toString('latin1', 0, 2) === 'MZ') {
    if (size < 64) return truncated(64);
    const pe = b.readUInt32LE(60);
    if (pe + 24 > b.length)
      return pe + 24 > size ? truncated(pe + 24) : 'not a Windows DLL (its PE header is too far in)';
    if (b.readUInt32LE(pe) !== 0x00004550) return 'not a Windows DLL (an MZ file without a PE header)';
    const machine = b.readUInt16LE(pe + 4);
    const its = PE_MACHINES[machine] ?? `PE machine 0x${machine.toString(16)}`;
    if (platform !== 'win32')
      return `wrong operating system: a Windows DLL for ${its}, but this is ${platform}-${arch}`;
    if (its !== arch)
      return `wrong architecture: built for ${its} (Windows DLL), but this process is ${arch}`;
    const sections = b.readUInt16LE(pe + 6);
    const table = pe + 24 + b.readUInt16LE(pe + 20);
    if (table + sections * 40 > b.length) return truncated(table + sections * 40);
    let end = 0;
    for (let i = 0; i < sections; i++) {
      const s = table + i * 40;
      end = Math.max(end, b.readUInt32LE(s + 20) + b.readUInt32LE(s + 16));
    }
    if (end > size) return truncated(end);
    return undefined;
  }
  const magic = b.length >= 4 ? b.readUInt32BE(0) : 0;
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic)) {
    return platform === 'darwin'
      ? undefined
      : `wrong operating system: a macOS (Mach-O) binary, but this is ${platform}`;
  }
  return `not a native addon: it starts with ${JSON.stringify(b.toString('latin1', 0, Math.min(16, b.length)))}`;
}

/** The loader's own message, without the path it repeats and without its stack. */
function loaderMessage(e: unknown, path: string): string {
  const first = ((e as Error)?.message ?? String(e)).split('\n')[0]!;
  return first.startsWith(`${path}: `) ? first.slice(path.length + 2) : first;
}

/** How the package that holds `root` was installed, to name the command that fixes it. */
function packageManager(root: string): 'pnpm' | 'npm' | 'checkout' {
  const parts = root.split(/[\\/]/);
  if (parts.includes('.pnpm')) return 'pnpm';
  if (parts.includes('node_modules')) return 'npm';
  return 'checkout';
}

function fixFor(attempts: LoadAttempt[], roots: string[]): string {
  if (process.env.SHM_NATIVE_PATH) {
    return (
      'SHM_NATIVE_PATH is set, and only that file is tried: point it at a shm_native.node built for ' +
      `${process.platform}-${process.arch}, or unset it to use the binaries @shm/native ships`
    );
  }
  const pm = packageManager(roots[0] ?? '');
  // Damaged: its headers are wrong (truncated, another machine). A binary that is intact but does not load here
  // (an older glibc) is not: a reinstall brings back the same file, so that case builds from source.
  const damaged = attempts.some((a) => a.kind === 'prebuild' && a.damaged);
  const needs = 'it builds from source and needs python3, make and a C++17 compiler';
  if (pm === 'checkout') {
    return 'in a checkout of the @shm repository, build the addon: `pnpm --filter @shm/native build:native`';
  }
  if (damaged) {
    // The package's own binary for this platform is there but broken: a clean reinstall brings it back.
    return pm === 'pnpm'
      ? 'the prebuilt binary of this package is damaged: reinstall it with `pnpm install --force`'
      : `the prebuilt binary of this package is damaged: reinstall it with \`rm -rf ${roots[0]} && npm install\``;
  }
  return pm === 'pnpm'
    ? `no prebuilt binary fits, so build one: \`pnpm approve-builds\` and select @shm/native, which builds it at once (${needs}; once approved, \`pnpm rebuild @shm/native\` rebuilds it)`
    : `no prebuilt binary fits, so build one: \`npm rebuild @shm/native\` (${needs})`;
}

function loadError(
  attempts: LoadAttempt[],
  available: string[],
  roots: string[],
  libc: string | undefined,
): ShmError {
  const lines = attempts.map((a) => `  - ${a.path}: ${a.reason}`).join('\n');
  const target = `${process.platform}-${process.arch}${libc ? ` (${libc})` : ''}`;
  const shipped = available.length
    ? `\nThis package has prebuilt binaries for: ${available.join(', ')}.`
    : '';
  const where = roots.length
    ? ''
    : '\nThe @shm/native package itself was not found: a bundler that inlines it must leave it external ' +
      '(esbuild --external:@shm/native), so that its prebuilds/ directory is still installed beside the bundle.';
  return new ShmError(
    'ERR_SHM_NATIVE_LOAD',
    `Could not load the @shm/native addon for ${target}, Node ${process.version} (Node-API ${process.versions.napi}). ` +
      `Looked for:\n${lines || '  (nowhere)'}${shipped}${where}\nTo fix: ${fixFor(attempts, roots)}.`,
  );
}

let cached: Binding | undefined;
let loadedFrom: string | undefined;

/** Every path `loadBinding()` tries, in order (SHM_NATIVE_PATH alone when it is set). */
export function candidatePaths(): string[] {
  return plan(packageRoots()).attempts.map((a) => a.path);
}

/** The file the addon was loaded from, once `loadBinding()` has succeeded. */
export function bindingPath(): string | undefined {
  return loadedFrom;
}

/**
 * Loads the addon once per thread and registers the error class it throws. Tries SHM_NATIVE_PATH alone if set;
 * otherwise a source build (build/Release), then the prebuilt binary for this platform, architecture and C library.
 * Fails with ERR_SHM_NATIVE_LOAD listing each path and why it was not used, and the command that fixes it.
 */
export function loadBinding(): Binding {
  if (cached) return cached;
  const require = createRequire(
    typeof import.meta.url === 'string' ? import.meta.url : join(process.cwd(), 'index.js'),
  );
  const roots = packageRoots();
  const libc = libcFamily();
  const { attempts, available } = plan(roots, { platform: process.platform, arch: process.arch, libc });
  for (const a of attempts) {
    if (a.reason) continue;
    if (!existsSync(a.path)) {
      a.reason = 'not found';
      continue;
    }
    const why = describeBinary(a.path);
    if (why) {
      a.reason = why;
      a.damaged = true;
      continue;
    }
    try {
      const b = require(a.path) as Binding;
      b.setErrorClass(ShmSystemError);
      cached = b;
      loadedFrom = a.path;
      return b;
    } catch (e) {
      const msg = loaderMessage(e, a.path);
      const glibc = /GLIBC_([\d.]+)' not found/.exec(msg)?.[1];
      a.reason = glibc
        ? `needs glibc ${glibc} or later, this system has ${glibcVersion() ?? 'an older one'} [${msg}]`
        : msg;
    }
  }
  throw loadError(attempts, available, roots, libc);
}
