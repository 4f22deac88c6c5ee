#!/usr/bin/env node
// shm: list, inspect and remove shared memory objects, like ipcs/ipcrm but aware of @shm's formats and registry.
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { listSysv, ShmError, semGetAll } from '@shm/native';
import { isNotFoundError } from './error-codes.js';
import { Region } from './region.js';
import { cleanup, list, remove } from './registry-api.js';
import { serializerName } from './serializers/known-serializers.js';
import { Store } from './store.js';
import { inspectStore } from './store-format.js';

const usage = `Usage: shm <command>
  ls [--all] [--json]        objects @shm created (registry); --all adds every SysV object and /dev/shm file
  inspect <name|key|path>    parse an object read-only: an @shm store, an IPC::ShareLite share, or raw sizes
  rm <name|key|path>         remove an object (an @shm store with all its chained segments)
  clean [--all] [--dry-run]  remove objects whose creator died (--all: persistent ones too)
  help                       this text (also --help, -h)
Exit status: 0 when the command did what it printed, 1 when it failed, 2 for a usage error.`;

const hex = (k: number) => `0x${(k >>> 0).toString(16).padStart(8, '0')}`;

function target(arg: string): { name?: string; key?: number; path?: string } {
  if (/^(0x[0-9a-f]+|\d+)$/i.test(arg)) return { key: Number(arg) | 0 };
  if (arg.includes('/') && !arg.startsWith('/')) return { path: arg };
  if (arg.startsWith('/') && arg.indexOf('/', 1) !== -1) return { path: arg };
  return { name: arg };
}

function ls(all: boolean, asJson: boolean) {
  const rows = list();
  if (asJson) {
    const extra = all
      ? { sysv: listSysv(), devShm: existsSync('/dev/shm') ? readdirSync('/dev/shm') : [] }
      : {};
    console.log(JSON.stringify({ registry: rows, ...extra }, null, 2));
    return;
  }
  console.log('Registry (objects created through @shm):');
  if (rows.length === 0) console.log('  (none)');
  for (const r of rows) {
    const state = !r.exists
      ? 'gone'
      : r.ownerAlive
        ? 'owner alive'
        : r.persistent
          ? 'persistent'
          : 'ORPHANED';
    console.log(
      `  ${r.backend.padEnd(6)} ${r.id.padEnd(40)} ${String(r.size).padStart(10)} B  pid ${r.ownerPid}  ${state}${r.tag ? `  [${r.tag}]` : ''}`,
    );
  }
  if (!all) return;
  console.log('\nSysV objects:');
  for (const s of listSysv()) {
    console.log(
      `  ${s.kind}  key ${hex(s.key)}  id ${String(s.id).padStart(6)}  mode ${s.mode.toString(8).padStart(4, '0')}  ${s.kind === 'shm' ? `${s.size} B  nattch ${s.nattch}` : `${s.size} sems`}`,
    );
  }
  console.log('\n/dev/shm:');
  for (const f of existsSync('/dev/shm') ? readdirSync('/dev/shm') : []) {
    console.log(`  /${f}  ${statSync(`/dev/shm/${f}`).size} B`);
  }
}

function inspect(arg: string) {
  const t = target(arg);
  const region = Region.open({ ...t, readonly: true, register: false });
  try {
    try {
      const info = inspectStore(region);
      const named = info.banks.map((b) => ({
        ...b,
        serializer: b.serializerId ? (serializerName(b.serializerId) ?? hex(b.serializerId)) : 'raw bytes',
      }));
      console.log(
        JSON.stringify(
          { object: region.id, backend: region.backend, size: region.size, ...info, banks: named },
          null,
          2,
        ),
      );
      return;
    } catch (e) {
      if (!(ShmError.isInstance(e) && e.code === 'ERR_SHM_BAD_FORMAT')) throw e;
    }
    const out: Record<string, unknown> = { object: region.id, backend: region.backend, size: region.size };
    if (region.backend === 'sysv' && t.key !== undefined) {
      // An IPC::ShareLite share: a 3-semaphore set under the same key and a 16-byte header.
      const sem = listSysv().find((s) => s.kind === 'sem' && s.key === t.key);
      const dv = new DataView(region.buffer);
      if (sem && sem.size === 3) {
        out.format = 'IPC::ShareLite share';
        out.header = {
          next_shmid: dv.getInt32(0, true),
          length: dv.getInt32(4, true),
          shm_state: dv.getUint32(8, true),
          version: dv.getUint32(12, true),
        };
        out.semaphores = semGetAll(sem.id);
      }
    }
    out.format ??= 'unknown (not an @shm store)';
    console.log(JSON.stringify(out, null, 2));
  } finally {
    region.close();
  }
}

/** Whether the object `t` names still exists (opening it read-only and closing it again). */
function stillThere(t: ReturnType<typeof target>): boolean {
  try {
    Region.open({ ...t, readonly: true, register: false }).close();
    return true;
  } catch (e) {
    if (isNotFoundError(e)) return false;
    throw e;
  }
}

function rm(arg: string): number {
  const t = target(arg);
  let what = `removed ${arg}`;
  try {
    Store.open({ ...t, register: false }).destroy();
    what = `removed store ${arg} and its segments`;
  } catch (e) {
    if (isNotFoundError(e)) {
      // Nothing to remove; a registry entry left by a crashed run is dropped, but the command still failed.
      const stale = remove(t.key ?? arg);
      console.error(
        `shm rm: ${arg}: no such object${stale ? ' (its stale registry entry was removed)' : ''}`,
      );
      return 1;
    }
    // Anything but "not an @shm store" (the addon does not load, EACCES...) is a failure: nothing was removed.
    if (!(ShmError.isInstance(e) && e.code === 'ERR_SHM_BAD_FORMAT')) throw e;
    Region.remove(t);
  }
  remove(t.key ?? arg);
  if (stillThere(t)) {
    console.error(`shm rm: ${arg} is still there after removing it`);
    return 1;
  }
  console.log(what);
  return 0;
}

export function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  if (cmd === '--help' || cmd === '-h' || (cmd && rest.includes('--help'))) {
    console.log(usage);
    return 0;
  }
  const flags = new Set(rest.filter((a) => a.startsWith('--')));
  const args = rest.filter((a) => !a.startsWith('--'));
  try {
    switch (cmd) {
      case 'ls':
        ls(flags.has('--all'), flags.has('--json'));
        return 0;
      case 'inspect':
        if (!args[0]) break;
        inspect(args[0]);
        return 0;
      case 'rm':
        if (!args[0]) break;
        return rm(args[0]);
      case 'help':
        console.log(usage);
        return 0;
      case 'clean': {
        const dryRun = flags.has('--dry-run');
        const removed = cleanup({ all: flags.has('--all'), dryRun });
        let failed = 0;
        for (const r of removed) {
          // cleanup() skips what it cannot remove; only what is really gone is reported as removed.
          const t =
            r.backend === 'posix'
              ? { name: r.name ?? r.id }
              : r.backend === 'file'
                ? { path: r.name ?? r.id }
                : r.backend === 'sysv' && r.key !== undefined
                  ? { key: r.key }
                  : undefined;
          if (!dryRun && t && stillThere(t)) {
            console.error(`shm clean: could not remove ${r.backend} ${r.id}`);
            failed++;
            continue;
          }
          console.log(
            `${dryRun ? 'would remove' : 'removed'} ${r.backend} ${r.id} (creator pid ${r.ownerPid} is gone)`,
          );
        }
        if (removed.length === 0) console.log('nothing to clean');
        return failed ? 1 : 0;
      }
    }
  } catch (e) {
    console.error(`shm ${cmd}: ${(e as Error).message}`);
    return 1;
  }
  console.error(usage);
  return 2;
}

/** Whether this module is the program: `node dist/cli.js`, npm's `.bin/shm` symlink, pnpm's shim, `npx shm`. */
function isMain(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) process.exitCode = main(process.argv.slice(2));
