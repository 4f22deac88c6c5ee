import {
  addObjectRemover as addRemover,
  cleanup as cleanupEntries,
  type ListedEntry,
  type RegistryEntry,
  remove as removeEntry,
} from './registry.js';
import { removeStoreObjects } from './store.js';

// The public `registry` namespace: registry.ts's functions, with the Store's remover (which also removes chained
// segments) added on first use of a removal path instead of as a side effect of importing store.ts. registry.ts
// cannot import store.ts itself: store.ts maps regions, and region.ts records them in the registry.

export {
  addParts,
  forgetCreated,
  type ListedEntry,
  list,
  type RegistryEntry,
  recordCreated,
  registryDir,
} from './registry.js';

let storeRemoverAdded = false;

/** Adds the Store's remover once, ahead of any other, so a store is removed with its chained segments. */
function useStoreRemover(): void {
  if (storeRemoverAdded) return;
  storeRemoverAdded = true;
  addRemover(removeStoreObjects);
}

/**
 * Lets a format that spans several objects (the Store's chained segments) remove all of them: `r(entry)` removes
 * the entry's objects and returns true if they are of its format, else returns false. Stores are handled already.
 */
export function addObjectRemover(r: (e: RegistryEntry) => boolean): void {
  useStoreRemover();
  addRemover(r);
}

/** Removes one recorded object (by '/name', path, 'key 0x..' or numeric key). Returns whether it was found. */
export function remove(idOrKey: string | number): boolean {
  useStoreRemover();
  return removeEntry(idOrKey);
}

/**
 * Removes what crashed runs left behind: objects whose creator is dead and that were not made persistent
 * (with `all`, persistent ones too), and registry entries whose object is already gone. Returns what it removed.
 */
export function cleanup(opts: { all?: boolean; tag?: string; dryRun?: boolean } = {}): ListedEntry[] {
  useStoreRemover();
  return cleanupEntries(opts);
}
