import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import type { NodeContender } from '../contender.js';
import type { Value } from '../payload.js';
import { packageVersion } from '../versions.js';

/** lmdb-js: one environment per payload kind in a temporary directory, opened by both processes. */
export const lmdb: NodeContender = {
  runtime: 'node',
  id: 'lmdb',
  label: 'lmdb',
  notes:
    '`open({ noSync: true })` (no flush to disk: like Redis without persistence; the files live in the temp ' +
    "directory). Store: `putSync`. Fetch: `resetReadTxn()` then `getBinaryFast` for bytes (`encoding: 'binary'`, " +
    'a buffer reused until the next call) or `get` for the object (the default msgpack encoding). Without ' +
    "`resetReadTxn()` a synchronous reader keeps its snapshot and never sees the other process's writes. The " +
    'hand-off polls that fetch.',
  prepare: (names) => ({ dir: names.path() }),
  cleanup: (config) => rmSync(config.dir as string, { recursive: true, force: true }),
  versions: () => ({ lmdb: packageVersion('lmdb') }),
  open({ kind, config }) {
    const db = open({
      path: join(config.dir as string, kind),
      encoding: kind === 'object' ? 'msgpack' : 'binary',
      noSync: true,
    });
    const fetch =
      kind === 'object'
        ? () => {
            db.resetReadTxn();
            return db.get('v') as Value;
          }
        : () => {
            db.resetReadTxn();
            // getBinaryFast's result is lmdb's whole 16 MB shared buffer with an own `length` property: only
            // `length` is right (byteLength is the whole buffer's). A proper view of it costs no copy.
            const b = db.getBinaryFast('v') as Buffer;
            return Uint8Array.prototype.subarray.call(b, 0, b.length);
          };
    return {
      store: (v) => {
        db.putSync('v', v);
      },
      fetch,
      close: () => db.close(),
    };
  },
};
