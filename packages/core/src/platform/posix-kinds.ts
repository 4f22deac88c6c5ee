import { existsSync, unlinkSync } from 'node:fs';
import {
  closeFd,
  fallocate,
  fstat,
  ftruncate,
  isMemfd,
  mapFd,
  memfdCreate,
  type NativeMapping,
  openFile,
  ShmError,
  ShmSystemError,
  shmOpen,
  shmUnlink,
  withTarget,
} from '@shm/native';
import { isExistsError } from '../error-codes.js';
import { pause5ms, sizeMismatch, sizeRequired } from './mapping-errors.js';
import type { MappingRequest, RegionKind } from './platform.js';

// The region kinds of POSIX systems (Linux, macOS): an anonymous area (memfd, or an unlinked POSIX object where
// there is no memfd), a named POSIX shm object and a plain file, each mapped with mmap(MAP_SHARED).

let anonCounter = 0;

/**
 * The anonymous kind. `memfd`: create with memfd_create and accept only memfds from fromFd (Linux); without it, an
 * unlinked shm_open object, which behaves the same (anonymous, freed with its last mapping), and any fd (macOS).
 */
export function anonymousKind(memfd: boolean): RegionKind {
  return {
    make(o) {
      if (o.fd !== undefined) {
        if (memfd && !isMemfd(o.fd)) {
          throw new ShmError('ERR_SHM_BAD_FORMAT', `fd ${o.fd} is not a memfd`, { target: `fd ${o.fd}` });
        }
        const st = fstat(o.fd);
        if (o.size !== undefined && o.size > st.size) throw sizeMismatch(`fd ${o.fd}`, o.size, st.size);
        const mapping = mapFd(o.fd, { readonly: !!o.readonly });
        return {
          mapping,
          backend: 'memfd',
          id: `memfd:fd${o.fd}`,
          created: false,
          fd: o.keepFd ? -1 : o.fd,
          record: false,
        };
      }
      if (!o.create)
        throw new TypeError(
          'Expected an fd to open an anonymous (memfd) region for options.fd but received undefined',
        );
      if (o.size === undefined) throw sizeRequired();
      const label = `shm-anon-${process.pid}-${++anonCounter}`;
      let fd: number;
      if (memfd) {
        fd = memfdCreate(label, o.size, { seal: o.seal ?? true });
      } else {
        fd = shmOpen(label, { create: true, exclusive: true, mode: 0o600 });
        shmUnlink(label);
        ftruncate(fd, o.size);
      }
      try {
        const mapping = mapFd(fd, { populate: !!o.populate });
        return { mapping, backend: 'memfd', id: `memfd:${label}`, created: true, fd, record: false };
      } catch (e) {
        closeFd(fd);
        throw e;
      }
    },
    remove() {
      // Nothing to remove: an anonymous area goes with its last mapping.
    },
    idOf() {
      return undefined;
    },
    exists() {
      return false;
    },
  };
}

/** Opens (or creates) the fd of a named object and sizes a new one; waits briefly for a creator to size it. */
function openFd(
  o: MappingRequest,
  id: string,
  open: (create: boolean, exclusive: boolean) => number,
  unlink: () => void,
): { fd: number; created: boolean; size: number } {
  let fd = -1;
  let created = false;
  if (o.create) {
    try {
      fd = open(true, true);
      created = true;
    } catch (e) {
      if (!(ShmSystemError.isInstance(e) && isExistsError(e)) || o.exclusive) throw e;
    }
  }
  if (fd < 0) fd = open(false, false);
  try {
    if (created) {
      if (o.size === undefined) throw sizeRequired();
      try {
        ftruncate(fd, o.size);
        fallocate(fd, 0, o.size);
      } catch (e) {
        unlink();
        // The native error names the fd; the caller knows the object by its name.
        throw ShmSystemError.isInstance(e) ? withTarget(e, id) : e;
      }
      return { fd, created, size: o.size };
    }
    // A creator may be between open and ftruncate: give it a moment before calling the object empty.
    let size = fstat(fd).size;
    for (let i = 0; size === 0 && i < 200; i++) {
      pause5ms();
      size = fstat(fd).size;
    }
    if (size === 0) throw new ShmError('ERR_SHM_BAD_FORMAT', `${id} is empty (size 0)`, { target: id });
    if (o.size !== undefined && o.size > size) throw sizeMismatch(id, o.size, size);
    return { fd, created, size };
  } catch (e) {
    closeFd(fd);
    throw e;
  }
}

/** Maps the fd of a named object; on failure closes it and removes what this call created. */
function mapNamed(
  o: MappingRequest,
  r: { fd: number; created: boolean; size: number },
  unlink: () => void,
): NativeMapping {
  try {
    return mapFd(r.fd, { size: r.size, readonly: !!o.readonly, populate: !!o.populate });
  } catch (e) {
    closeFd(r.fd);
    if (r.created) unlink();
    throw e;
  }
}

function slashed(name: string): string {
  return name.startsWith('/') ? name : `/${name}`;
}

/**
 * Named POSIX shm objects. `listed`: whether they show up as files in /dev/shm (Linux), which is how the
 * registry asks whether one exists; elsewhere it cannot ask without opening it, and says yes.
 */
export function posixShmKind(listed: boolean): RegionKind {
  return {
    make(o) {
      if (!o.name)
        throw new TypeError('Expected a name for a POSIX shm region for options.name but received undefined');
      const name = slashed(o.name);
      const mode = o.mode;
      const unlink = () => shmUnlink(name);
      const r = openFd(
        o,
        name,
        (create, exclusive) => shmOpen(name, { create, exclusive, mode, readonly: !!o.readonly }),
        unlink,
      );
      const mapping = mapNamed(o, r, unlink);
      return { mapping, backend: 'posix', id: name, created: r.created, name, fd: r.fd, record: r.created };
    },
    remove(t) {
      if (t.name) shmUnlink(t.name);
    },
    idOf(t) {
      return t.name === undefined ? undefined : slashed(t.name);
    },
    exists(e) {
      return listed ? existsSync(`/dev/shm${e.id}`) : true;
    },
  };
}

/** Plain files: persistent across reboots. */
export const fileKind: RegionKind = {
  make(o) {
    const path = o.path ?? o.name;
    if (!path)
      throw new TypeError('Expected a path for a file region for options.path but received undefined');
    const mode = o.mode;
    const unlink = () => unlinkSync(path);
    const r = openFd(
      o,
      path,
      (create, exclusive) => openFile(path, { create, exclusive, mode, readonly: !!o.readonly }),
      unlink,
    );
    const mapping = mapNamed(o, r, unlink);
    return {
      mapping,
      backend: 'file',
      id: path,
      created: r.created,
      name: path,
      fd: r.fd,
      record: r.created,
    };
  },
  remove(t) {
    const path = t.path ?? t.name;
    if (path) unlinkSync(path);
  },
  idOf(t) {
    return t.path ?? t.name;
  },
  exists(e) {
    return existsSync(e.id);
  },
};
