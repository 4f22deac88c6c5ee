import {
  checkKey,
  expected,
  listSysv,
  type NativeMapping,
  ShmSystemError,
  shmat,
  shmget,
  shmRemove,
  shmStat,
  sysvFlags,
} from '@shm/native';
import { sizeMismatch, sizeRequired } from './mapping-errors.js';
import type { RegionKind } from './platform.js';

// SysV shared memory segments (Linux, macOS): one generic path, the same on every system that has them.

function keyId(key: number): string {
  return `key 0x${(key >>> 0).toString(16).padStart(8, '0')}`;
}

/** SysV segments by key (or by shmid, to open one). */
export const sysvKind: RegionKind = {
  make(o) {
    let shmid: number;
    let created = false;
    let key: number | undefined;
    if (o.shmid !== undefined) {
      shmid = o.shmid;
    } else {
      if (o.key === undefined)
        throw new TypeError(
          'Expected a key or shmid for a SysV region for options.key but received undefined',
        );
      key = checkKey(o.key);
      // shmget(IPC_PRIVATE) always makes a new segment: opening "key 0" would create one (and leak it) each time.
      if (key === 0 && !o.create)
        throw expected('a key other than 0 (IPC_PRIVATE) to open a segment', 'key', o.key, RangeError);
      const id = keyId(key);
      shmid = -1;
      if (o.create) {
        if (o.size === undefined) throw sizeRequired();
        try {
          shmid = shmget(key, o.size, sysvFlags({ mode: o.mode, exclusive: true }));
          created = true;
        } catch (e) {
          if (!(ShmSystemError.isInstance(e) && e.code === 'EEXIST') || o.exclusive || key === 0) throw e;
        }
      }
      if (shmid < 0) {
        try {
          // Size 0 opens whatever size exists; a larger request is checked below with a clearer error.
          shmid = shmget(key, 1, sysvFlags({ mode: 0 }));
        } catch (e) {
          if (ShmSystemError.isInstance(e) && e.code === 'ENOENT') {
            throw Object.assign(e, { message: `${e.message}: no SysV segment with ${id}` });
          }
          throw e;
        }
      }
    }
    const st = shmStat(shmid);
    if (!created && o.size !== undefined && o.size > st.size)
      throw sizeMismatch(`shmid ${shmid}`, o.size, st.size);
    let mapping: NativeMapping;
    try {
      mapping = shmat(shmid, { readonly: !!o.readonly });
    } catch (e) {
      if (created) shmRemove(shmid);
      throw e;
    }
    const id = key !== undefined ? keyId(key) : `shmid ${shmid}`;
    return {
      mapping,
      backend: 'sysv',
      id,
      created,
      key: key ?? st.key,
      shmid,
      record: created && key !== 0,
    };
  },
  remove(t) {
    const shmid = t.shmid !== undefined && t.shmid >= 0 ? t.shmid : shmget(checkKey(t.key), 1, 0);
    shmRemove(shmid);
  },
  idOf(t) {
    if (t.key !== undefined) return keyId(t.key);
    return `shmid ${t.shmid}`;
  },
  exists(e) {
    return listSysv().some(
      (s) => s.kind === 'shm' && (e.shmid !== undefined ? s.id === e.shmid : s.key === e.key),
    );
  },
};
