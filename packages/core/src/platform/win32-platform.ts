import { existsSync } from 'node:fs';
import { ownerIdentity, pidNamespace } from '@shm/native';
import {
  removeWin32File,
  unsupportedBackend,
  type Win32Made,
  win32File,
  win32Mapping,
  win32MappingExists,
  win32ObjectName,
} from '../win32/region-win32.js';
import { eventWords } from '../win32/word-events.js';
import type { MadeMapping, Platform, RegionKind } from './platform.js';

// Windows (decision 0002; run under Wine in CI): named pagefile sections, file-backed sections, and for an
// anonymous region a section with an unguessable name; a wake-up event per word; thread ids as owner ids.

function made(m: Win32Made, record: boolean): MadeMapping {
  return {
    mapping: m.mapping,
    backend: m.backend,
    id: m.id,
    created: m.created,
    name: m.name,
    record: record && m.created,
    waitIdentity: m.identity,
  };
}

/** A section cannot be deleted: it vanishes with the last process holding it. */
const noRemoval = () => {};

const anonymous: RegionKind = {
  // Anonymous sections are not recorded: like a memfd, they cannot outlive their last user.
  make: (o) => made(win32Mapping(o, true), false),
  remove: noRemoval,
  idOf: () => undefined,
  exists: () => false,
};

const section: RegionKind = {
  make: (o) => made(win32Mapping(o, false), true),
  remove: noRemoval,
  idOf: (t) => (t.name === undefined ? undefined : win32ObjectName(t.name)),
  exists: (e) => win32MappingExists(e.id),
};

const file: RegionKind = {
  make: (o) => made(win32File(o), true),
  remove(t) {
    const path = t.path ?? t.name;
    if (path) removeWin32File(path);
  },
  idOf: (t) => t.path ?? t.name,
  exists: (e) => existsSync(e.id),
};

/** Windows: sections and files, named events for word waits, thread ids judged by OpenThread. */
export const win32Platform: Platform = {
  name: 'win32',
  label: 'Windows',
  kinds: { memfd: anonymous, win32: section, file },
  namedBackend: 'win32',
  mapsFds: false,
  removableWhileMapped: false,
  wakeWakesAll: false,
  words: eventWords,
  get identity() {
    return ownerIdentity();
  },
  pidNamespace,
  unsupported: unsupportedBackend,
};
