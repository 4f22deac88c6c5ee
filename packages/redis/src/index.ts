export { type RedisBackendOptions, redisBackend } from './redis-backend.js';
export { RedisConnection, type RedisConnectionOptions } from './redis-connection.js';
export { RedisLock } from './redis-lock.js';
export { MAX_PART_SIZE, RedisStore, type RedisStoreOptions, type UpdateInfo } from './redis-store.js';
