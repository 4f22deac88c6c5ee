import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';

/** The repository this tool checks. */
export const root = join(import.meta.dirname, '..', '..', '..');

/** A workspace package that is published: every packages/* directory whose package.json is not private. */
export interface PublicPackage {
  dir: string;
  name: string;
  manifest: Record<string, any>;
}

/** Every public package under packages/ (found, not listed: new packages are covered as they arrive). */
export function publicPackages(): PublicPackage[] {
  const base = join(root, 'packages');
  return readdirSync(base)
    .sort()
    .map((d) => join(base, d))
    .filter((d) => existsSync(join(d, 'package.json')))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter((p) => !p.manifest.private)
    .map((p) => ({ ...p, name: p.manifest.name as string }));
}

/** What one command did. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** `$ command` and both outputs, for assertion messages. */
  log: string;
}

/** Runs a command to completion and returns what it did (never throws for a non-zero exit). */
export function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20, ...opts });
  const stdout = String(r.stdout ?? '');
  const stderr = String(r.stderr ?? '') + (r.error ? `\n${r.error.message}` : '');
  const log = `$ ${cmd} ${args.join(' ')}  (in ${opts.cwd ?? process.cwd()}, exit ${r.status})\n${stdout}\n${stderr}`;
  return { code: r.status, stdout, stderr, log };
}

/** A fresh directory under the system's temporary directory (outside the workspace), removed by `cleanup()`. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Tools a source build needs. None of them may be found on the PATH `compilerFreePath()` builds. */
export const BUILD_TOOLS = [
  'cc',
  'gcc',
  'c++',
  'g++',
  'clang',
  'clang++',
  'make',
  'gmake',
  'python',
  'python3',
];
const DENIED =
  /^(cc|c\+\+|cpp|gcc|g\+\+|clang|clang\+\+|make|gmake|cmake|ninja|python|python[\d.]+|musl-gcc|ld|as)(-[\d.]+)?$|-(gcc|g\+\+|c\+\+|cc|cpp|clang|ld|as)(-[\d.]+)?(-posix|-win32)?$|^python.*-config$/;

/**
 * A PATH with every program of the current one except compilers, make and python: a directory of symlinks,
 * checked afterwards (`command -v` finds none of BUILD_TOOLS). Node, npm, pnpm, tar and the shell stay.
 */
export function compilerFreePath(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (!d || !existsSync(d) || /pyenv/.test(d)) continue;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      if (DENIED.test(n) || existsSync(join(dir, n))) continue;
      try {
        const p = join(d, n);
        if (statSync(p).isFile() && statSync(p).mode & 0o111) symlinkSync(p, join(dir, n));
      } catch {
        /* a dangling link */
      }
    }
  }
  // node's own directory first, so the same node and npm run as for this process.
  const nodeDir = join(dir, '.node');
  mkdirSync(nodeDir, { recursive: true });
  if (!existsSync(join(nodeDir, 'node'))) symlinkSync(process.execPath, join(nodeDir, 'node'));
  const path = `${nodeDir}${delimiter}${dir}`;
  const found = run('sh', ['-c', `for t in ${BUILD_TOOLS.join(' ')}; do command -v "$t"; done; true`], {
    env: { PATH: path },
  }).stdout.trim();
  if (found) throw new Error(`compilerFreePath: still found on the PATH: ${found.split('\n').join(', ')}`);
  return path;
}

/** The environment for a user's commands: the compiler-free PATH, no hints that would let node-gyp find tools. */
export function userEnv(path: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|PNPM_|NODE_OPTIONS$|PYTHON|CC$|CXX$|MAKE$|SHM_|INIT_CWD$|TURBO)/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, PATH: path, ...extra };
}

/** A tarball made by `pnpm pack`, with its manifest and file list. */
export interface Tarball {
  pkg: PublicPackage;
  file: string;
  manifest: Record<string, any>;
  files: string[];
}

/** `pnpm pack` of one package (what `pnpm publish` uploads) into `dest`. */
export function pack(pkg: PublicPackage, dest: string): Tarball {
  const r = run('pnpm', ['pack', '--pack-destination', dest, '--json'], { cwd: pkg.dir });
  if (r.code !== 0) throw new Error(`pnpm pack failed for ${pkg.name}:\n${r.log}`);
  const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { filename: string };
  const file = info.filename.startsWith('/') ? info.filename : join(dest, basename(info.filename));
  const list = run('tar', ['-tzf', file]);
  const files = list.stdout
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
  const manifest = JSON.parse(run('tar', ['-xzOf', file, 'package/package.json']).stdout);
  return { pkg, file, manifest, files };
}

/** Writes a file, creating its directory. */
export function write(path: string, text: string, mode?: number): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  if (mode !== undefined) chmodSync(path, mode);
}

/** Removes a directory tree, ignoring what is already gone. */
export function cleanup(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Every string value anywhere in a JSON value, with its path (`exports["."].default`). */
export function strings(value: unknown, path = ''): { path: string; value: string }[] {
  if (typeof value === 'string') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [
      ...(k.includes('@shm/source') ? [{ path: `${path}.${k}`, value: k }] : []),
      ...strings(v, `${path}[${JSON.stringify(k)}]`),
    ]);
  return [];
}

/**
 * Samples run like docs-check runs them: in their own IPC and mount namespace with a private 64 MB /dev/shm when
 * this user may (root), so fixed names and keys in READMEs never meet another run's, and anything left behind is
 * reported. `leftovers` lists what a sample left in that namespace.
 */
const WRAP = [
  'mount -t tmpfs -o size=64m,mode=1777 pack-check-shm /dev/shm || exit 97',
  '"$@"',
  'rc=$?',
  'for i in 1 2 3 4 5 6 7 8 9 10; do [ -z "$(ls -A /dev/shm)$(tail -n +2 /proc/sysvipc/shm)$(tail -n +2 /proc/sysvipc/sem)" ] && break; sleep 0.2; done',
  '{ ls -A /dev/shm | sed "s|^|/dev/shm/|"; tail -n +2 /proc/sysvipc/shm | sed "s|^|shm |"; tail -n +2 /proc/sysvipc/sem | sed "s|^|sem |"; } > "$LEFTOVERS"',
  'exit $rc',
].join('\n');

let isolation: boolean | undefined;
export function canIsolate(): boolean {
  isolation ??=
    run('unshare', ['--ipc', '--mount', '--propagation', 'private', '--', 'sh', '-c', WRAP.split('\n')[0]!])
      .code === 0;
  return isolation;
}

/** Runs a command in a private IPC namespace and /dev/shm (see WRAP); `leftovers` is what it left there. */
export function runIsolated(
  cmd: string[],
  opts: SpawnSyncOptions & { env: NodeJS.ProcessEnv },
): Run & { leftovers: string[] } {
  if (!canIsolate()) return { ...run(cmd[0]!, cmd.slice(1), opts), leftovers: [] };
  const dir = tempDir('shm-pack-leftovers-');
  const file = join(dir, 'left.txt');
  try {
    const r = run(
      'unshare',
      ['--ipc', '--mount', '--propagation', 'private', '--', 'sh', '-c', WRAP, 'sh', ...cmd],
      {
        ...opts,
        env: { ...opts.env, LEFTOVERS: file },
      },
    );
    const leftovers = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    return { ...r, leftovers };
  } finally {
    cleanup(dir);
  }
}
