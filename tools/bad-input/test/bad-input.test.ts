// The table of bad inputs (issue 15): every public function of every built package under packages/ refuses wrong
// types, out-of-range numbers, missing and existing objects, other users' objects and a full tmpfs with a TypeError
// or RangeError naming the argument, or with our ShmError, before it changes anything. The exports are enumerated
// here, at test time: a new entry point without an entry fails the first test. Entries: tools/bad-input/entries/.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BuiltPackage,
  builtPackages,
  entryPoints,
  importPackage,
  resolveKey,
} from '../src/enumerate.js';
import { mismatch, type Outcome, outcomeOf } from '../src/outcome.js';
import type { BadCall, Kind, PackageTable, TableFactory } from '../src/table.js';

const entriesDir = fileURLToPath(new URL('../entries/', import.meta.url));
const runCase = fileURLToPath(new URL('../src/run-case.ts', import.meta.url));
/** Node arguments that load the packages from their TypeScript sources (as @shm/test-utils' peers do). */
const nodeSourceArgs = ['--conditions=@shm/source', '--import', 'tsx'];

interface Loaded {
  p: BuiltPackage;
  m: Record<string, unknown>;
  table: PackageTable<any> | undefined;
}

const loaded: Loaded[] = [];
for (const p of builtPackages()) {
  const m = await importPackage(p);
  const file = `${entriesDir}${p.dir}.ts`;
  const table = existsSync(file)
    ? ((await import(pathToFileURL(file).href)).default as TableFactory)(m)
    : undefined;
  loaded.push({ p, m, table });
}

/** Every function some table has an entry for: a re-export (core's `sysv.shmget` is native's) is covered once. */
const covered = new Set<Function>();
for (const l of loaded) {
  for (const key of Object.keys(l.table?.entries ?? {})) {
    const fn = resolveKey(l.m, key);
    if (fn) covered.add(fn);
  }
}

const isRoot = process.getuid?.() === 0;

describe('The bad-input table', () => {
  it('has an entries file for every built package under packages/', () => {
    const missing = loaded
      .filter((l) => !l.table)
      .map((l) => `${l.p.name}: add tools/bad-input/entries/${l.p.dir}.ts`);
    expect(missing).toEqual([]);
    const stale = readdirSync(entriesDir)
      .filter((f) => f.endsWith('.ts') && !loaded.some((l) => `${l.p.dir}.ts` === f))
      .map((f) => `entries/${f} names no built package`);
    expect(stale).toEqual([]);
  });

  it('has an entry for every public function, static and prototype method of every package', () => {
    const missing: string[] = [];
    for (const l of loaded) {
      const own = new Set(Object.keys(l.table?.entries ?? {}));
      for (const e of entryPoints(l.m))
        if (!own.has(e.key) && !covered.has(e.fn)) missing.push(`${l.p.name}: ${e.key}`);
    }
    expect(missing).toEqual([]);
  });

  it('has no entry that names nothing the package exports', () => {
    const stale: string[] = [];
    for (const l of loaded) {
      for (const key of Object.keys(l.table?.entries ?? {}))
        if (!resolveKey(l.m, key)) stale.push(`${l.p.name}: ${key}`);
    }
    expect(stale).toEqual([]);
  });

  it('tries every kind of bad input somewhere', () => {
    const kinds = new Set<Kind>();
    for (const l of loaded)
      for (const e of Object.values(l.table?.entries ?? {}))
        if (Array.isArray(e)) for (const c of e) kinds.add(c.kind);
    expect([...kinds].sort()).toEqual(
      ['closed', 'exclusive', 'full', 'missing', 'permission', 'range', 'state', 'type'].sort(),
    );
  });

  it('gives every entry without bad calls a reason', () => {
    const bare: string[] = [];
    for (const l of loaded) {
      for (const [key, e] of Object.entries(l.table?.entries ?? {})) {
        if (
          Array.isArray(e)
            ? e.length === 0
            : !(('accepts' in e && e.accepts) || ('internal' in e && e.internal))
        )
          bare.push(`${l.p.name}: ${key}`);
      }
    }
    expect(bare).toEqual([]);
  });
});

/** SysV segments this process created and /dev/shm names it made (uniqueName), to find what a failed call left. */
function ownObjects(): string[] {
  const run = `shmtest-${process.env.SHM_TEST_RUN ? `${process.env.SHM_TEST_RUN}-` : ''}${process.pid}-`;
  const shm = existsSync('/proc/sysvipc/shm')
    ? readFileSync('/proc/sysvipc/shm', 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => Number(f[4]) === process.pid)
        .map((f) => `shmid ${f[1]}`)
    : [];
  const files = existsSync('/dev/shm') ? readdirSync('/dev/shm').filter((f) => f.startsWith(run)) : [];
  return [...shm, ...files].sort();
}

let canUnshare: boolean | undefined;
async function unshareWorks(): Promise<boolean> {
  if (canUnshare === undefined) {
    canUnshare = await new Promise<boolean>((resolve) => {
      const c = spawn(
        'unshare',
        ['-m', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs -o size=1m t /dev/shm'],
        {
          stdio: 'ignore',
        },
      );
      c.on('error', () => resolve(false));
      c.on('exit', (code) => resolve(code === 0));
    });
  }
  return canUnshare;
}

/** Runs case `index` of entry `key` of package `dir` in a child (as nobody, or under a 1 MiB tmpfs). */
function inChild(dir: string, key: string, index: number, c: BadCall<unknown>, prepared: unknown) {
  const args = [...nodeSourceArgs, runCase, dir, key, String(index), JSON.stringify(prepared ?? null)];
  const child =
    c.as === 'nobody'
      ? spawn(process.execPath, args, { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(
          'unshare',
          [
            '-m',
            '--propagation',
            'private',
            '--',
            'sh',
            '-c',
            'mount -t tmpfs -o size=1m,mode=1777 bad-input /dev/shm || exit 97; exec "$@"',
            'sh',
            process.execPath,
            ...args,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  return new Promise<{ outcome: Outcome; afterError?: string; uid: number }>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`the child for ${key} exited (${code ?? signal}) without a result: ${out}${err}`));
      }
    });
  });
}

for (const l of loaded) {
  const table = l.table;
  if (!table) continue;
  describe(`${l.p.name}: bad input is refused before anything changes`, () => {
    let fx: unknown;
    beforeAll(async () => {
      fx = await table.setup();
    });
    afterAll(async () => {
      if (fx !== undefined) await table.teardown(fx);
    });
    for (const [key, entry] of Object.entries(table.entries)) {
      if (!Array.isArray(entry)) continue;
      entry.forEach((c, index) => {
        const name = `${key}: ${c.what} (${c.kind})`;
        const test = c.as ? it.runIf(isRoot) : it;
        test(name, async () => {
          const before = table.snapshot(fx);
          const objects = ownObjects();
          const prepared = c.prepare ? c.prepare(fx) : undefined;
          let outcome: Outcome;
          if (c.as) {
            if (c.as === 'full-tmpfs')
              expect(await unshareWorks(), 'unshare -m with a tmpfs mount').toBe(true);
            const r = await inChild(l.p.dir, key, index, c, prepared);
            if (c.as === 'nobody') expect(r.uid).toBe(65534);
            expect(r.afterError).toBeUndefined();
            outcome = r.outcome;
          } else {
            outcome = await outcomeOf(() => c.call(fx, prepared));
          }
          expect(mismatch(c, outcome)).toBeUndefined();
          if (c.after && !c.as) await c.after(fx, prepared);
          expect(table.snapshot(fx)).toEqual(before);
          expect(ownObjects()).toEqual(objects);
        });
      });
    }
  });
}
