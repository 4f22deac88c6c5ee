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
 * between two equal loads of the serial (nested variables are read as they are at that moment).
 */
function readSnapshot(node: VarNode, store: Store): StoreChange<unknown> {
  for (;;) {
    const before = store.serial;
    const value = node.snapshot();
    if (store.serial === before) return { serial: before, value };
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
