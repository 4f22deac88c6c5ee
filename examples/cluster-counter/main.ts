// A cluster of HTTP workers sharing a hit counter and a small cache through @shm/mmap-share.
//
// The primary creates two anonymous shares, starts WORKERS workers with both attached, fires REQUESTS requests
// at itself on 127.0.0.1 (at most CONCURRENCY at a time), prints what the shares hold, stops the workers and
// exits. Run: `pnpm start` (options: node main.ts [workers] [requests] [keys]).
//
// With REDIS_URL set (`REDIS_URL=redis://127.0.0.1:6379 pnpm start`) the two shares are @shm/redis stores on that
// server instead: the same get/set/update calls, and the workers could as well run on other hosts.
import cluster from 'node:cluster';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { MmapShare } from '@shm/mmap-share';
import { RedisStore } from '@shm/redis';

/** What the example uses of a share: MmapShare has it; a RedisStore gets it from the adapter below. */
interface Share {
  get<T>(): T | undefined;
  set(value: unknown): void;
  update<T>(fn: (v: T | undefined) => T | undefined): T | undefined;
  close(): void;
}

const REDIS_URL = process.env.REDIS_URL;
const onRedis = (name: string): Share => {
  const s = RedisStore.create({ url: REDIS_URL!, name: `cluster-counter:${name}`, serializer: 'json' });
  return {
    get: () => s.getValue(),
    set: (v) => void s.setValue(v),
    update: (fn) => s.update(fn),
    close: () => s.close(),
  };
};

interface Hits {
  total: number;
  byWorker: Record<string, number>;
}
type Cache = Record<string, { value: string; computedBy: number }>;

const WORKERS = Number(process.argv[2] ?? 3);
const REQUESTS = Number(process.argv[3] ?? 300);
const KEYS = Number(process.argv[4] ?? 10);
const CONCURRENCY = 8;

if (cluster.isPrimary) {
  await primary();
} else {
  worker();
}

async function primary(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error('cluster-counter: gave up after 60 s');
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    process.exit(1);
  }, 60_000);

  const mmapHits = REDIS_URL ? undefined : new MmapShare(4096); // { total, byWorker }: a few dozen bytes
  const mmapCache = REDIS_URL ? undefined : new MmapShare(64 * 1024); // up to a few hundred small entries
  const hits: Share = mmapHits ?? onRedis('hits');
  const cache: Share = mmapCache ?? onRedis('cache');
  hits.set({ total: 0, byWorker: {} } satisfies Hits);
  cache.set({} satisfies Cache);

  // Every worker gets `hits` (MmapShare.inherited()) and `cache` (MmapShare.inherited('cache')), or opens the
  // same names on Redis.
  const listening: Promise<number>[] = [];
  for (let i = 0; i < WORKERS; i++) {
    const w = mmapHits ? mmapHits.clusterFork({}, { cache: mmapCache! }) : cluster.fork();
    listening.push(new Promise((resolve) => w.once('listening', (a) => resolve(a.port))));
  }
  const [port] = await Promise.all(listening);

  // Bounded load: REQUESTS requests for KEYS different items, CONCURRENCY at a time.
  let next = 0;
  let cachedAnswers = 0;
  const client = async () => {
    while (next < REQUESTS) {
      const i = next++;
      const res = await fetch(`http://127.0.0.1:${port}/item/${i % KEYS}`);
      const body = (await res.json()) as { cached: boolean };
      if (body.cached) cachedAnswers++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));

  const h = hits.get<Hits>()!;
  const c = cache.get<Cache>()!;
  const workersUsed = Object.keys(h.byWorker).length;
  console.log(`requests sent:     ${REQUESTS} to ${WORKERS} workers on 127.0.0.1:${port}`);
  console.log(
    `shared hit count:  ${h.total} (${Object.values(h.byWorker).join(' + ')}; ${workersUsed} workers served)`,
  );
  console.log(`shared cache:      ${Object.keys(c).length} entries, ${cachedAnswers} answers from the cache`);
  console.log(
    JSON.stringify({
      requests: REQUESTS,
      hits: h.total,
      byWorker: h.byWorker,
      cacheEntries: Object.keys(c).length,
      cachedAnswers,
      workers: WORKERS,
    }),
  );

  cluster.disconnect(() => {
    hits.close();
    cache.close();
    clearTimeout(deadline);
  });
}

function worker(): void {
  const hits: Share = REDIS_URL ? onRedis('hits') : MmapShare.inherited();
  const cache: Share = REDIS_URL ? onRedis('cache') : MmapShare.inherited('cache');
  const me = process.pid;

  const server = createServer((req, res) => {
    // One atomic read-modify-write across all workers: no hit is lost.
    hits.update<Hits>((h) => {
      h!.total++;
      h!.byWorker[me] = (h!.byWorker[me] ?? 0) + 1;
      return h;
    });
    const key = req.url ?? '/';
    let cached = true;
    // Compute under the lock so that two workers never compute the same missing entry.
    const entry = cache.update<Cache>((c) => {
      cached = true; // on Redis, update() runs fn again after a conflict: nothing here may assume a first run
      if (c![key]) return undefined; // present: keep the value, no write
      cached = false;
      c![key] = { value: expensive(key), computedBy: me };
      return c;
    });
    const value = cached ? cache.get<Cache>()![key]!.value : entry![key]!.value;
    // A new connection per request lets the primary spread requests over all workers.
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ key, value, cached, worker: me }));
  });
  server.listen(0, '127.0.0.1');
  process.on('disconnect', () => {
    server.close();
    hits.close();
    cache.close();
  });
}

/** Stands in for real work worth caching. */
function expensive(key: string): string {
  let h = key;
  for (let i = 0; i < 2000; i++) h = createHash('sha256').update(h).digest('hex');
  return h.slice(0, 16);
}
