export {
  describeSerializer,
  type SerializerCapabilities,
  type SerializerUnderTest,
  type Support,
} from './describe-serializer.js';
export { runFuzzDriver, STORE_LAYOUT, seededRandom } from './fuzz.js';
export { diffSnapshots, type KernelSnapshot, snapshotKernelObjects } from './leak-check.js';
export { type Peer, type PeerResult, runPeer, runPerl, spawnPeer } from './peers.js';
export {
  type RedisServer,
  redisVersion,
  restartRedis,
  serverOnPort,
  startRedis,
  stopRedis,
} from './redis-server.js';
export { tsWorker } from './ts-worker.js';
export { uniqueKey, uniqueName, uniquePath } from './unique.js';
export { waitFor } from './wait-for.js';
