import {
  ChangeIterator,
  expected,
  type FetchInfo,
  type Serializer,
  type Store,
  type StoreChange,
  serializerMismatchError,
} from '@shm/core';

// Change notification for MmapShare (issue 18): the share's Store waits (a futex on its memfd) and changes()
// reads each value under the shared lock, as get() does, so a lock() ... unlock() section of set()s is seen as
// one step (its last value). MmapShare only delegates here.

/**
 * The value current now and its serial, read under the shared lock (waited for without blocking the event loop):
 * no commit can land between the two.
 */
async function readLocked(store: Store, serializer: Serializer, sid: number): Promise<StoreChange<unknown>> {
  await store.lock.lockSharedAsync();
  const info: FetchInfo = { serial: 0, serializerId: 0 };
  let bytes: Uint8Array;
  try {
    bytes = store.fetch(undefined, info);
  } finally {
    store.lock.unlockShared();
  }
  if (info.serial === 0) return { serial: 0, value: undefined };
  if (info.serializerId !== sid)
    throw serializerMismatchError(sid, info.serializerId, { target: store.name });
  return { serial: info.serial, value: serializer.decode(bytes) };
}

/** share.changes(): see MmapShare. */
export function shareChanges(
  store: Store,
  serializer: Serializer,
  sid: number,
  options: { since?: number } | undefined,
): ChangeIterator<unknown> {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options)))
    throw expected('an options object', 'options', options);
  const since = options?.since;
  if (since !== undefined) {
    if (typeof since !== 'number') throw expected('a serial (number)', 'options.since', since);
    if (!(Number.isInteger(since) && since >= 0 && since <= 0x3fffffff))
      throw expected('a serial (an integer from 0 to 1073741823)', 'options.since', since, RangeError);
  }
  return new ChangeIterator(
    () => store,
    (s) => readLocked(s, serializer, sid),
    since ?? store.serial,
  );
}
