import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Sample, sampleId } from './samples.js';

/** What running a sample produced. */
export interface SampleResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Kernel objects the sample left behind (/dev/shm names, SysV rows). */
  leftovers: string[];
  timedOut: boolean;
}

/**
 * Samples run in a private IPC namespace with a private /dev/shm of Docker's default size (64 MB), when this user
 * may create them (root, or CAP_SYS_ADMIN): names and keys written in the docs can then never collide with another
 * run or another program, anything the sample leaves behind is an exact leak list, and it vanishes with the
 * namespace. Without that, samples run in the host's namespace and leaks are found by a before/after diff.
 */
const WRAP = [
  'mount -t tmpfs -o size=64m,mode=1777 docs-check-shm /dev/shm || exit 97',
  '"$@"',
  'rc=$?',
  // Peers the sample started may still be exiting.
  'for i in 1 2 3 4 5 6 7 8 9 10; do [ -z "$(ls -A /dev/shm)$(tail -n +2 /proc/sysvipc/shm)$(tail -n +2 /proc/sysvipc/sem)" ] && break; sleep 0.2; done',
  '{ ls -A /dev/shm | sed "s|^|/dev/shm/|"; tail -n +2 /proc/sysvipc/shm | sed "s|^|shm |"; tail -n +2 /proc/sysvipc/sem | sed "s|^|sem |"; } > "$SHM_DOCS_LEFTOVERS"',
  'exit $rc',
].join('\n');

let isolation: boolean | undefined;

/** Whether samples can run in their own IPC and mount namespace (probed once). */
export function canIsolate(): boolean {
  if (isolation === undefined) {
    const r = spawnSync(
      'unshare',
      ['--ipc', '--mount', '--propagation', 'private', '--', 'sh', '-c', `${WRAP.split('\n')[0]}; true`],
      { stdio: 'ignore', timeout: 20_000 },
    );
    isolation = r.status === 0;
  }
  return isolation;
}

function hostObjects(): Set<string> {
  const rows = (p: string) =>
    existsSync(p)
      ? readFileSync(p, 'utf8')
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.trim())
      : [];
  return new Set([
    ...(existsSync('/dev/shm') ? readdirSync('/dev/shm').map((n) => `/dev/shm/${n}`) : []),
    ...rows('/proc/sysvipc/shm').map((r) => `shm ${r.split(/\s+/).slice(0, 2).join(' ')}`),
    ...rows('/proc/sysvipc/sem').map((r) => `sem ${r.split(/\s+/).slice(0, 2).join(' ')}`),
  ]);
}

/**
 * Runs one sample for real: a `.ts`/`.mjs` module with Node (sources via the `@shm/source` condition, TypeScript via
 * tsx) or a bash script, in `workDir/<id>/`, which must lie inside a package that depends on the `@shm/*` packages.
 * Its environment gets `SHM_REGISTRY_DIR` in that directory, so registry calls in samples see only their own objects.
 */
export function runSample(sample: Sample, workDir: string, timeoutMs: number): Promise<SampleResult> {
  const dir = join(workDir, sampleId(sample));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const file = join(
    dir,
    sample.lang === 'ts' ? 'sample.ts' : sample.lang === 'js' ? 'sample.mjs' : 'sample.sh',
  );
  writeFileSync(file, sample.code.endsWith('\n') ? sample.code : `${sample.code}\n`);
  const leftFile = join(dir, 'leftovers.txt');
  const cmd =
    sample.lang === 'sh'
      ? ['bash', '-eo', 'pipefail', file]
      : [process.execPath, '--conditions=@shm/source', '--import', 'tsx', file];
  const isolated = canIsolate();
  const [exe, ...args] = isolated
    ? ['unshare', '--ipc', '--mount', '--propagation', 'private', '--', 'sh', '-c', WRAP, 'sh', ...cmd]
    : cmd;
  const before = isolated ? undefined : hostObjects();
  const bin = shimDir(workDir);
  return new Promise((resolve) => {
    const child = spawn(exe!, args, {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        SHM_REGISTRY_DIR: join(dir, 'registry'),
        SHM_DOCS_LEFTOVERS: leftFile,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => {
      stdout += d;
    });
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let leftovers: string[];
      if (isolated) {
        leftovers = existsSync(leftFile)
          ? readFileSync(leftFile, 'utf8')
              .split('\n')
              .filter((l) => l.trim() !== '')
          : [];
      } else {
        // Only objects the sample names can be told apart from other programs' objects created meanwhile.
        leftovers = [...hostObjects()].filter((o) => !before!.has(o) && namedIn(sample.code, o));
      }
      resolve({ code, signal, stdout, stderr, leftovers, timedOut });
    });
  });
}

/**
 * A directory with an `shm` command (the CLI of @shm/core, run from its sources: users get it as `npx shm` or from
 * a global install) for sh samples.
 */
function shimDir(workDir: string): string {
  const dir = join(workDir, '..', 'bin');
  const cli = join(workDir, '..', '..', 'node_modules', '@shm', 'core', 'src', 'cli.ts');
  mkdirSync(dir, { recursive: true });
  const shim = join(dir, 'shm');
  writeFileSync(
    shim,
    `#!/bin/sh\nexec "${process.execPath}" --conditions=@shm/source --import tsx "${cli}" "$@"\n`,
  );
  chmodSync(shim, 0o755);
  return dir;
}

function namedIn(code: string, object: string): boolean {
  if (object.startsWith('/dev/shm/')) return code.includes(object.slice('/dev/shm/'.length).split('.')[0]!);
  const key = Number(object.split(/\s+/)[1]);
  return key !== 0 && (code.includes(String(key)) || code.includes(`0x${(key >>> 0).toString(16)}`));
}
