import { Store as CoreStore, type StoreOptions as CoreStoreOptions } from '@shm/core';

/**
 * Where a tied variable's values live: by default core's Store in shared memory; `tie(..., { backend })` passes
 * another provider (e.g. `redisBackend()` of @shm/redis). A provider creates and opens stores by the options
 * VarNode builds (`name`, `path` or `key`, `serializer`, `exclusive`...), returns objects with the members of core's
 * Store that VarNode uses (value, serial, storeLocked, update, lock, close, destroy, region.created, debug), and
 * throws what Store.open/create throw when a store is missing (code ENOENT) or exists on an exclusive create (EEXIST).
 */
export interface StoreProvider {
  /** Names the backend in errors and debug() ('redis 127.0.0.1:6379'). */
  readonly name: string;
  /** Opens an existing store (a ShmError with code ENOENT when there is none). */
  open(options: CoreStoreOptions): CoreStore;
  /** Creates a store, or opens it unless `exclusive` (then EEXIST when it exists). */
  create(options: CoreStoreOptions): CoreStore;
}

/** Core's StoreOptions, plus the provider that VarNode passes along (absent: shared memory). */
export type StoreOptions = CoreStoreOptions & { provider?: StoreProvider };

/** The type VarNode holds: core's Store (another provider's stores have the members VarNode uses). */
export type Store = CoreStore;

/** Store.open/create as VarNode calls them, sent to the options' provider (core's Store without one). */
export const Store = {
  open(options: StoreOptions): CoreStore {
    const { provider, ...o } = options;
    return provider ? provider.open(o) : CoreStore.open(o);
  },
  create(options: StoreOptions): CoreStore {
    const { provider, ...o } = options;
    return provider ? provider.create(o) : CoreStore.create(o);
  },
};
