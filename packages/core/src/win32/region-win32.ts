import { randomBytes } from 'node:crypto';
import { existsSync, statSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  createWin32FileMapping,
  createWin32Mapping,
  type NativeMapping,
  openWin32Mapping,
  ShmError,
  ShmSystemError,
} from '@shm/native';
import { isExistsError, isNotFoundError } from '../error-codes.js';

// Regions on Windows (docs/decisions/0002-windows-under-wine.md): a named pagefile-backed section for `name`
// (backend 'win32'), a file-backed section for `path` (backend 'file'), and for an anonymous region a pagefile
// section with an unguessable name (there are no fds to hand to a child: the child opens the name). A pagefile
// section lives while any process holds a handle or view of it, so it vanishes with its last user: persistence needs
// a file. Windows cannot delete a named section another process holds; remove() can only delete a region's file.

/** What region.ts needs to build a Region from a Windows mapping. */
export interface Win32Made {
  mapping: NativeMapping;
  backend: 'win32' | 'file';
  /** The Win32 object name ('Local\shm-<name>') or the path. */
  id: string;
  name: string;
  created: boolean;
  /** Every process mapping this object derives the same string: its wake-up events are named after it. */
  identity: string;
}

/** The options of RegionOptions this module reads. */
export interface Win32RegionRequest {
  name?: string | undefined;
  path?: string | undefined;
  size?: number | undefined;
  create?: boolean | undefined;
  exclusive?: boolean | undefined;
  readonly?: boolean | undefined;
  populate?: boolean | undefined;
}

const NAMESPACE = /^(Local|Global|Session\\[0-9]+)\\/;

/**
 * The Win32 object name of a region name: 'cfg' and '/cfg' (as on POSIX) become 'Local\shm-cfg' (the session's
 * namespace: 'Global\' needs SeCreateGlobalPrivilege on Windows); a name that already starts with 'Local\' or
 * 'Global\' is used as it is.
 */
export function win32ObjectName(name: string): string {
  if (typeof name !== 'string') throw new TypeError(`Expected a string for name but received ${typeof name}`);
  if (NAMESPACE.test(name)) return name;
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (bare === '' || bare.includes('\\') || bare.includes('\0') || bare.length > 240) {
    throw new RangeError(
      `Expected a name of 1 to 240 characters without "\\" or NUL (or one starting with "Local\\" or "Global\\") for name but received ${JSON.stringify(name)}`,
    );
  }
  return `Local\\shm-${bare}`;
}

function notSupported(what: string): ShmError {
  return new ShmError('ERR_SHM_NOT_SUPPORTED', `${what} is not available on Windows`);
}

function sizeMismatch(id: string, asked: number, actual: number): ShmError {
  return new ShmError(
    'ERR_SHM_SIZE_MISMATCH',
    `${id} has ${actual} bytes but ${asked} were asked for; open it without a size, or with at most ${actual}`,
    { target: id },
  );
}

function checkCommon(o: Win32RegionRequest): void {
  if (o.readonly) {
    throw notSupported('A read-only region (Win32 sections are mapped read-write here)');
  }
}

/** Fault the pages in now, as MAP_POPULATE does: a fresh section is zero, so writing zeros is harmless. */
function populate(m: NativeMapping, fresh: boolean): void {
  const b = new Uint8Array(m.buffer!);
  if (fresh) for (let i = 0; i < b.length; i += 4096) b[i] = 0;
  else {
    let sum = 0;
    for (let i = 0; i < b.length; i += 4096) sum += b[i]!;
    if (sum < 0) throw new Error('unreachable');
  }
}

/** A named (or, without a name, anonymous) pagefile-backed region. */
export function win32Mapping(o: Win32RegionRequest, anonymous: boolean): Win32Made {
  checkCommon(o);
  let name: string;
  if (anonymous) {
    if (!o.create) {
      throw new TypeError(
        'Expected a name to open a region on Windows (an anonymous region is opened by its name: region.name)',
      );
    }
    name = `Local\\shm-anon-${process.pid}-${randomBytes(12).toString('hex')}`;
  } else {
    if (o.name === undefined)
      throw new TypeError('Expected a name for a win32 region but received undefined');
    name = win32ObjectName(o.name);
  }
  let mapping: NativeMapping;
  let created = false;
  if (o.create) {
    if (o.size === undefined)
      throw new TypeError(
        'Expected a size (bytes) to create a region for options.size but received undefined',
      );
    const r = createWin32Mapping({ name, size: o.size, exclusive: !!o.exclusive || anonymous });
    mapping = r.mapping;
    created = !r.existed;
    if (!created && o.size > mapping.size) {
      const have = mapping.size;
      mapping.close();
      throw sizeMismatch(name, o.size, have);
    }
  } else {
    try {
      mapping = openWin32Mapping(name);
    } catch (e) {
      if (isNotFoundError(e)) {
        const err = e as ShmSystemError;
        err.message = `${err.message}: no mapping named ${name} is open (a pagefile-backed region vanishes when the last process holding it closes it)`;
      }
      throw e;
    }
    if (o.size !== undefined && o.size > mapping.size) {
      const have = mapping.size;
      mapping.close();
      throw sizeMismatch(name, o.size, have);
    }
  }
  if (o.populate) populate(mapping, created);
  return { mapping, backend: 'win32', id: name, name, created, identity: name };
}

/** A file-backed region (survives every process and a reboot), like the 'file' backend on POSIX. */
export function win32File(o: Win32RegionRequest): Win32Made {
  checkCommon(o);
  const path = o.path ?? o.name;
  if (!path) throw new TypeError('Expected a path for a file region for options.path but received undefined');
  // Windows paths are case-insensitive: processes naming one file differently still share its events.
  const identity = `file:${resolve(path).toLowerCase()}`;
  let mapping: NativeMapping | undefined;
  let created = false;
  if (o.create) {
    if (o.size === undefined)
      throw new TypeError(
        'Expected a size (bytes) to create a region for options.size but received undefined',
      );
    try {
      mapping = createWin32FileMapping(path, { size: o.size, exclusive: true }).mapping;
      created = true;
    } catch (e) {
      if (!isExistsError(e)) {
        // CREATE_NEW made the file before the section failed (ENOSPC, a size too large...): take it back.
        removeFileQuietly(path);
        throw e;
      }
      if (o.exclusive) throw e;
    }
  }
  if (!mapping) {
    if (!existsSync(path)) {
      throw new ShmSystemError(
        `no file ${path} to map (create it with Region.create)`,
        2,
        'CreateFileW',
        path,
        'ERROR_FILE_NOT_FOUND',
      );
    }
    // A creator may be between creating the file and sizing it: give it a moment before calling it empty.
    let size = statSync(path).size;
    for (let i = 0; size === 0 && i < 200; i++) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      size = statSync(path).size;
    }
    if (size === 0) throw new ShmError('ERR_SHM_BAD_FORMAT', `${path} is empty (size 0)`, { target: path });
    if (o.size !== undefined && o.size > size) throw sizeMismatch(path, o.size, size);
    mapping = createWin32FileMapping(path).mapping;
  }
  if (o.populate) populate(mapping, created);
  return { mapping, backend: 'file', id: path, name: path, created, identity };
}

function removeFileQuietly(path: string): void {
  try {
    if (existsSync(path) && statSync(path).size === 0) unlinkSync(path);
  } catch {
    /* someone else's now, or already gone */
  }
}

/**
 * Deletes a file-backed region's file. Windows refuses while any process maps it (EPERM; Linux would unlink it and
 * let the mappings live on): that is ERR_SHM_BUSY, saying what to do. A missing file is left to the caller.
 */
export function removeWin32File(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'EPERM' && code !== 'EBUSY' && code !== 'EACCES') throw e;
    throw new ShmError(
      'ERR_SHM_BUSY',
      `Cannot delete ${path} while a process maps it (Windows keeps a mapped file); close it everywhere, then remove it`,
      { target: path, cause: e },
    );
  }
}

/** Whether a named section is open in some process (the registry's "exists" on Windows). */
export function win32MappingExists(name: string): boolean {
  try {
    openWin32Mapping(name).close();
    return true;
  } catch (e) {
    if (isNotFoundError(e)) return false;
    throw e;
  }
}

/** What POSIX-only requests say on Windows. */
export function unsupportedBackend(backend: string): ShmError {
  return notSupported(
    `The '${backend}' backend (${backend === 'sysv' ? 'SysV shared memory' : 'POSIX shm_open'})` +
      `; use 'win32' (the default with a name), 'file' (a path), or no name for an anonymous region`,
  );
}
