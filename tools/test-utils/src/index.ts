export { uniqueKey, uniqueName, uniquePath } from './unique.js';
export { spawnPeer, runPeer, runPerl, type Peer, type PeerResult } from './peers.js';
export { snapshotKernelObjects, diffSnapshots, type KernelSnapshot } from './leak-check.js';
export { waitFor } from './wait-for.js';
export { tsWorker } from './ts-worker.js';
export { describeSerializer, type SerializerCapabilities, type SerializerUnderTest, type Support } from './describe-serializer.js';
