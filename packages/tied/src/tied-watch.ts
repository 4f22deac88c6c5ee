import { ChangeIterator, ShmError, type Store, type StoreChange } from '@shm/core';
import type { VarNode } from './var-node.js';

// Change notification for tied variables (issue 18): the variable's own Store waits (core's waitForChange, a
// futex on Linux) and a change yields a snapshot of the variable read with the serial it belongs to. Tied only
// delegates here.

/** The node's store, if it can wait (core's Store; a StoreProvider's stores may not). */
function waitable(node: VarNode): Store {
  const st = node.store;
  if (typeof st.waitForChangeAsync !== 'function' || typeof st.waitForChange !== 'function') {
    throw new ShmError(
      'ERR_SHM_NOT_SUPPORTED',
      `Tied variable ${node.label}: its backend cannot wait for a change (poll tied(x).serial instead)`,
      { target: node.label },
    );
  }
  return st;
}

/** tied(x).waitForChange(): see Tied. */
export function waitForChange(node: VarNode, serial: number, timeoutMs?: number): number | undefined {
  return waitable(node).waitForChange(serial, timeoutMs);
}

/** tied(x).waitForChangeAsync(): see Tied. */
export function waitForChangeAsync(
  node: VarNode,
  serial: number,
  timeoutMs?: number,
  signal?: AbortSignal,
): Promise<number | undefined> {
  try {
    return waitable(node).waitForChangeAsync(serial, timeoutMs, signal);
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * A deep plain copy of the variable and the serial of the commit it reflects: the variable's own envelope is read
 * between two equal loads of the serial (nested variables are read as they are at that moment). Writers that keep
 * overtaking the copy are held off by the shared lock after a few tries (no write can commit under it).
 */
async function readSnapshot(node: VarNode, store: Store): Promise<StoreChange<unknown>> {
  for (let attempt = 0; attempt < 8 || node.userLock !== 0; attempt++) {
    const before = store.serial;
    const value = node.snapshot();
    if (store.serial === before) return { serial: before, value };
  }
  await store.lock.lockSharedAsync();
  try {
    return { serial: store.serial, value: node.snapshot() };
  } finally {
    store.lock.unlockShared();
  }
}

/** tied(x).changes(): see Tied. */
export function changes(node: VarNode, since: number | undefined): ChangeIterator<unknown> {
  const st = waitable(node);
  return new ChangeIterator(
    () => waitable(node),
    (s) => readSnapshot(node, s),
    since ?? st.serial,
  );
}
