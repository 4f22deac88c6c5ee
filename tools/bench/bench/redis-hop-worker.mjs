// The baseline of the synchronous @shm/redis calls (bench/redis.ts): a worker thread that owns a node-redis
// connection and runs one command per request, woken by Atomics.waitAsync over a SharedArrayBuffer, while the
// caller blocks on Atomics.wait: the same kind of hop as a RedisConnection's, with nothing of @shm/redis around it.
//   header Int32 [0] request number, [1] reply number, [2] op (0: nothing, the hop alone; 1: the command)
import { workerData } from 'node:worker_threads';
import { createClient, RESP_TYPES } from 'redis';

const { url, sab, command } = workerData;
const h = new Int32Array(sab);
const client = createClient({ url, disableClientInfo: true }).withTypeMapping({
  [RESP_TYPES.BLOB_STRING]: Buffer,
});
await client.connect();
const argv = command.map((a) => (typeof a === 'string' ? a : Buffer.from(a)));
Atomics.store(h, 1, -1);
Atomics.notify(h, 1);
let seen = 0;
for (;;) {
  const w = Atomics.waitAsync(h, 0, seen);
  if (w.async) await w.value;
  const req = Atomics.load(h, 0);
  if (req === seen) continue;
  seen = req;
  if (Atomics.load(h, 2) === 1) await client.sendCommand(argv);
  Atomics.store(h, 1, req);
  Atomics.notify(h, 1);
}
