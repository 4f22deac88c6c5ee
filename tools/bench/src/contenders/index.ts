import type { Contender } from '../contender.js';
import { coreStore } from './core-store.js';
import { lmdb } from './lmdb.js';
import { mmapShare } from './mmap-share.js';
import { nodeRedis } from './node-redis.js';
import { perlShareLite } from './perl-sharelite.js';
import { processSendAdvanced } from './process-send-advanced.js';
import { processSendJson } from './process-send-json.js';
import { redis } from './redis.js';
import { sharelite } from './sharelite.js';
import { shmRedis } from './shm-redis.js';
import { tiedScalar } from './tied.js';

/** Every contender, in the order tables list them. Add one file per new contender and list it here. */
export const CONTENDERS: readonly Contender[] = [
  coreStore,
  sharelite,
  mmapShare,
  tiedScalar,
  processSendJson,
  processSendAdvanced,
  lmdb,
  redis,
  nodeRedis,
  shmRedis,
  perlShareLite,
];

/** @throws Error naming the known ids when `id` is not one. */
export function contenderById(id: string): Contender {
  const c = CONTENDERS.find((x) => x.id === id);
  if (!c) throw new Error(`Unknown contender '${id}'; known: ${CONTENDERS.map((x) => x.id).join(', ')}`);
  return c;
}
