import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { expected, isAlive } from '@shm/native';
import { currentPlatform } from './platform/choose-platform.js';
import type { Backend } from './platform/platform.js';

/** What the registry remembers about an object this library created. */
export interface RegistryEntry {
  /** The backend of the object. */
  backend: Backend;
  /** '/name', a path, 'key 0x...', or on Windows the section name 'Local\\shm-<name>' */
  id: string;
  /** The POSIX shm name or file path. */
  name?: string | undefined;
  /** The SysV key. */
  key?: number | undefined;
  /** The SysV segment id at creation. */
  shmid?: number | undefined;
  /** Bytes at creation. */
  size: number;
  /** The pid of the process that created it. */
  ownerPid: number;
  /** ms since the epoch */
  createdAt: number;
  /** The `tag` given at creation (`shm ls` shows it). */
  tag?: string | undefined;
  /** Meant to outlive its creator (a named tied variable, a ShareLite share without destroy). */
  persistent: boolean;
  /** Extra objects that belong to this one (chained segments, semaphore sets): removed with it. */
  parts?: {
    /** The part's kind (`sem`: a SysV semaphore set). */
    backend: 'posix' | 'file' | 'sysv' | 'sem';
    /** Its id, as for the entry itself. */
    id: string;
    /** Its SysV segment id. */
    shmid?: number;
    /** Its SysV semaphore set id. */
    semid?: number;
    /** Its POSIX shm name or file path. */
    name?: string;
  }[];
}

/** A registry entry as `list()` and `cleanup()` return it: with whether the object exists and its creator lives. */
export interface ListedEntry extends RegistryEntry {
  /** The object still exists. */
  exists: boolean;
  /** The creating process is still running. */
  ownerAlive: boolean;
}

/** The registry's folder: $SHM_REGISTRY_DIR, else <tmpdir>/shm-registry-<user>. */
export function registryDir(): string {
  return process.env.SHM_REGISTRY_DIR ?? join(tmpdir(), `shm-registry-${safeUser()}`);
}

/** The user name, looked up once (getpwuid on every registry access was most of the cost of removing a store). */
let user: string | undefined;
function safeUser(): string {
  if (user !== undefined) return user;
  try {
    user = userInfo().username.replace(/[^A-Za-z0-9_.-]/g, '_');
  } catch {
    user = String(process.getuid?.() ?? 'user');
  }
  return user;
}

function checkId(backend: unknown, id: unknown): void {
  if (typeof backend !== 'string' || !/^[a-z0-9]+$/.test(backend))
    throw expected("a backend name ('posix', 'sysv'...)", 'backend', backend);
  if (typeof id !== 'string' || id === '') throw expected('an object id (non-empty string)', 'id', id);
}

function checkEntry(e: unknown): void {
  if (typeof e !== 'object' || e === null) throw expected('a registry entry', 'entry', e);
  const r = e as Partial<RegistryEntry>;
  checkId(r.backend, r.id);
  if (!Number.isInteger(r.ownerPid)) throw expected('a pid', 'entry.ownerPid', r.ownerPid);
  if (typeof r.createdAt !== 'number') throw expected('a time in ms', 'entry.createdAt', r.createdAt);
}

function fileFor(backend: string, id: string): string {
  return join(registryDir(), `${backend}-${encodeURIComponent(id)}.json`);
}

/** Records an object this process created. Best effort: a registry that cannot be written never fails a create. */
export function recordCreated(e: RegistryEntry): void {
  checkEntry(e);
  try {
    const dir = registryDir();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const f = fileFor(e.backend, e.id);
    const tmp = `${f}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(e), { mode: 0o600 });
    renameSync(tmp, f);
  } catch {
    /* the registry is an aid, not a requirement */
  }
}

/** Adds parts (chained segments...) to an existing entry. */
export function addParts(
  backend: RegistryEntry['backend'],
  id: string,
  parts: NonNullable<RegistryEntry['parts']>,
) {
  checkId(backend, id);
  if (!Array.isArray(parts)) throw expected('an array of parts', 'parts', parts);
  const f = fileFor(backend, id);
  try {
    const e = JSON.parse(readFileSync(f, 'utf8')) as RegistryEntry;
    e.parts = [...(e.parts ?? []), ...parts];
    recordCreated(e);
  } catch {
    /* no entry: nothing to extend */
  }
}

/** Drops the registry entry of an object (after it was removed). Never throws for an entry that is not there. */
export function forgetCreated(backend: string, id: string): void {
  checkId(backend, id);
  try {
    unlinkSync(fileFor(backend, id));
  } catch {
    /* not recorded */
  }
}

function readEntries(): RegistryEntry[] {
  const dir = registryDir();
  if (!existsSync(dir)) return [];
  const out: RegistryEntry[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json')) continue;
    try {
      const e = JSON.parse(readFileSync(join(dir, f), 'utf8')) as RegistryEntry;
      // Any process of this user can write here: an entry that is not well-formed is skipped, not trusted.
      if (wellFormed(e)) out.push(e);
    } catch {
      /* a torn or foreign file: ignore it */
    }
  }
  return out;
}

function wellFormed(e: unknown): e is RegistryEntry {
  if (typeof e !== 'object' || e === null) return false;
  const r = e as Partial<RegistryEntry>;
  return (
    typeof r.backend === 'string' &&
    typeof r.id === 'string' &&
    r.id !== '' &&
    Number.isInteger(r.ownerPid) &&
    typeof r.createdAt === 'number' &&
    (r.key === undefined || Number.isInteger(r.key)) &&
    (r.shmid === undefined || Number.isInteger(r.shmid)) &&
    (r.parts === undefined || Array.isArray(r.parts))
  );
}

/** Asks the entry's region kind (a section exists while some process holds it: Windows opens it to ask). */
function exists(e: RegistryEntry): boolean {
  return currentPlatform().kinds[e.backend]?.exists(e) ?? false;
}

/** Everything this user's processes created through `@shm` and recorded, with whether it exists and its owner lives. */
export function list(): ListedEntry[] {
  return readEntries().map((e) => ({ ...e, exists: exists(e), ownerAlive: isAlive(e.ownerPid) }));
}

/** Removes the object of an entry if it is of the caller's format; returns false to let plain removal handle it. */
type Remover = (e: RegistryEntry) => boolean;
const removers: Remover[] = [];

/** Lets a format that spans several objects (the Store's chained segments) remove all of them. */
export function addObjectRemover(r: Remover): void {
  if (typeof r !== 'function') throw expected('a function', 'remover', r);
  removers.push(r);
}

/** How many removers are registered (for the test that importing @shm/core registers none; not public). */
export function objectRemoverCount(): number {
  return removers.length;
}

function removeObject(e: RegistryEntry): void {
  for (const r of removers) {
    try {
      if (r(e)) {
        forgetCreated(e.backend, e.id);
        return;
      }
    } catch {
      /* not that format: fall through to plain removal */
    }
  }
  const ignore = (f: () => void) => {
    try {
      f();
    } catch {
      /* already gone */
    }
  };
  const kinds = currentPlatform().kinds;
  for (const p of e.parts ?? []) {
    if (p.backend === 'posix' && p.name) ignore(() => kinds.posix?.remove({ name: p.name }));
    else if (p.backend === 'file' && p.name) ignore(() => kinds.file?.remove({ path: p.name }));
    else if (p.backend === 'sysv' && p.shmid !== undefined)
      ignore(() => kinds.sysv?.remove({ shmid: p.shmid }));
  }
  // A 'win32' section cannot be removed (its kind's remove does nothing): it goes when the processes holding it
  // close it; only the entry goes here.
  if (e.backend === 'posix') ignore(() => kinds.posix?.remove({ name: e.id }));
  else if (e.backend === 'file') ignore(() => kinds.file?.remove({ path: e.id }));
  else if (e.backend === 'sysv') ignore(() => kinds.sysv?.remove({ key: e.key, shmid: e.shmid }));
  forgetCreated(e.backend, e.id);
}

/** Removes one recorded object (by '/name', path, 'key 0x..' or numeric key). Returns whether it was found. */
export function remove(idOrKey: string | number): boolean {
  if (!(typeof idOrKey === 'string' && idOrKey !== '') && !Number.isInteger(idOrKey))
    throw expected("a '/name', a path, 'key 0x...' or a numeric SysV key", 'idOrKey', idOrKey);
  const want =
    typeof idOrKey === 'number' ? `key 0x${(idOrKey >>> 0).toString(16).padStart(8, '0')}` : idOrKey;
  const alt = typeof idOrKey === 'string' && !idOrKey.startsWith('/') ? `/${idOrKey}` : want;
  const e = readEntries().find(
    (x) =>
      x.id === want ||
      x.id === alt ||
      x.name === idOrKey ||
      (x.backend === 'win32' && x.id === sectionOf(idOrKey)),
  );
  if (!e) return false;
  removeObject(e);
  return true;
}

/** The section name a region name stands for on Windows ('cfg' -> 'Local\\shm-cfg'), or undefined. */
function sectionOf(idOrKey: string | number): string | undefined {
  if (typeof idOrKey !== 'string') return undefined;
  try {
    return currentPlatform().kinds.win32?.idOf({ name: idOrKey });
  } catch {
    return undefined;
  }
}

/**
 * Removes what crashed runs left behind: objects whose creator is dead and that were not made persistent
 * (with `all`, persistent ones too), and registry entries whose object is already gone. Returns what it removed.
 */
export function cleanup(opts: { all?: boolean; tag?: string; dryRun?: boolean } = {}): ListedEntry[] {
  if (typeof opts !== 'object' || opts === null) throw expected('an options object', 'opts', opts);
  if (opts.tag !== undefined && typeof opts.tag !== 'string')
    throw expected('a string', 'opts.tag', opts.tag);
  for (const b of ['all', 'dryRun'] as const)
    if (opts[b] !== undefined && typeof opts[b] !== 'boolean')
      throw expected('a boolean', `opts.${b}`, opts[b]);
  const removed: ListedEntry[] = [];
  for (const e of list()) {
    if (opts.tag !== undefined && e.tag !== opts.tag) continue;
    if (!e.exists) {
      if (!opts.dryRun) forgetCreated(e.backend, e.id);
      continue;
    }
    if (e.ownerAlive || (e.persistent && !opts.all)) continue;
    if (!opts.dryRun) removeObject(e);
    removed.push(e);
  }
  return removed;
}
