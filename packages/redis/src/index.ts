/** The Lua scripts the stores run (for benchmarks and inspection; not a stable API). */

export { type RedisBackendOptions, redisBackend } from './redis-backend.js';
export { RedisConnection, type RedisConnectionOptions } from './redis-connection.js';
export { RedisLock } from './redis-lock.js';
export { MAX_PART_SIZE, RedisStore, type RedisStoreOptions, type UpdateInfo } from './redis-store.js';
export { SCRIPTS as redisScripts } from './scripts.js';
