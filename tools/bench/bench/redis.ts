// @shm/redis against the raw commands it needs and against plain GET/SET (node-redis and ioredis), in one run on
// one redis-server (issue 17). Prints medians of the rounds and the same-run ratios; never part of `test`.
//   pnpm --filter @shm/bench-suite redis [--rounds 5] [--ms 300]
//
// Baselines, each the layer below what it is compared with:
// - async calls (`storeAsync`, `updateAsync`) run on this thread's own connection: against the exact EVALSHA they
//   send, sent by node-redis on this thread;
// - sync calls (`store`, `update`) block this thread while the connection's worker thread runs them: against the
//   same EVALSHA run by a bare worker thread with a node-redis client, woken the same way (Atomics.waitAsync on a
//   SharedArrayBuffer, the caller on Atomics.wait: bench/redis-hop-worker.mjs), and the hop alone (both ways, no
//   command) is printed for the library and for the bare worker;
// - an unchanged read against a GET round trip.
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { RedisConnection, RedisStore, redisScripts } from '@shm/redis';
import { startRedis, stopRedis } from '@shm/test-utils';
import { Redis } from 'ioredis';
import { createClient, RESP_TYPES } from 'redis';

const { values: args } = parseArgs({ options: { rounds: { type: 'string' }, ms: { type: 'string' } } });
const ROUNDS = Number(args.rounds ?? 5);
const MS = Number(args.ms ?? 300);

/** Milliseconds `n` calls of `op` take (awaiting each that returns a promise). */
async function batch(op: () => unknown, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = op();
    if (r instanceof Promise) await r;
  }
  return performance.now() - t0;
}

/**
 * Rates (calls per second) of every case, one per round. In a round the cases take turns in batches of about 2 ms
 * each, for MS ms per case in all: a change of the machine's load in the middle of a round slows every case alike,
 * so the ratios of one round hold even when the load moves (it does on this shared machine).
 */
async function measure(cases: Record<string, () => unknown>): Promise<Record<string, number[]>> {
  const names = Object.keys(cases);
  const per: Record<string, number> = {};
  for (const k of names) {
    await batch(cases[k]!, 20);
    const ms = (await batch(cases[k]!, 50)) / 50;
    per[k] = Math.max(4, Math.round(2 / Math.max(ms, 1e-6)));
  }
  const rates: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const acc = Object.fromEntries(names.map((k) => [k, { n: 0, ms: 0 }]));
    const end = performance.now() + MS * names.length;
    while (performance.now() < end) {
      for (const k of names) {
        acc[k]!.ms += await batch(cases[k]!, per[k]!);
        acc[k]!.n += per[k]!;
      }
    }
    for (const k of names) rates[k]!.push((acc[k]!.n * 1000) / acc[k]!.ms);
  }
  return rates;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** A bare worker thread running `command` per request (op 1) or nothing (op 0), as the baseline of a sync hop. */
async function hopWorker(url: string, command: (string | Buffer)[]) {
  const sab = new SharedArrayBuffer(16);
  const h = new Int32Array(sab);
  const worker = new Worker(new URL('./redis-hop-worker.mjs', import.meta.url), {
    workerData: { url, sab, command: command.map((a) => (typeof a === 'string' ? a : new Uint8Array(a))) },
  });
  while (Atomics.load(h, 1) !== -1) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(h, 1, 0);
  const call = (op: number) => {
    Atomics.store(h, 2, op);
    const prev = Atomics.load(h, 0);
    const id = (prev + 1) | 0;
    Atomics.store(h, 0, id);
    Atomics.notify(h, 0);
    while (Atomics.load(h, 1) !== id) Atomics.wait(h, 1, prev);
  };
  return { call, stop: () => worker.terminate() };
}

const server = await startRedis();
try {
  const url = server.url;
  const nr = createClient({ url }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  await nr.connect();
  const io = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true });
  await io.connect();
  const conn = await RedisConnection.connect({ url });
  const bytes = Buffer.alloc(64, 1);
  const sync = RedisStore.create({ connection: conn, name: 'bench-sync', serializer: 'json' });
  sync.store(bytes);
  const asyn = await RedisStore.createAsync({ connection: conn, name: 'bench-async', serializer: 'json' });
  await asyn.storeAsync(bytes);
  const vs = RedisStore.create({ connection: conn, name: 'bench-value', serializer: 'json' });
  vs.setValue({ n: 0 });
  vs.getValue();
  const up = RedisStore.create({ connection: conn, name: 'bench-update', serializer: 'json' });
  up.setValue(0);
  const upa = await RedisStore.createAsync({
    connection: conn,
    name: 'bench-update-async',
    serializer: 'json',
  });
  await upa.setValueAsync(0);
  // The commit script exactly as store() runs it, on a store no handle has open (no one tracks it).
  const raw = RedisStore.create({ connection: conn, name: 'bench-raw', serializer: 'json' });
  raw.close();
  const sha = createHash('sha1').update(redisScripts.COMMIT).digest('hex');
  await nr.sendCommand(['SCRIPT', 'LOAD', redisScripts.COMMIT]);
  const head = 'shm:{bench-raw}';
  const id = String(await nr.hGet(head, 'id'));
  const commit = (expect: string, v: Buffer) => [
    'EVALSHA',
    sha,
    '3',
    head,
    `${head}:lock`,
    `${head}:readers`,
    id,
    expect,
    '',
    'bench-holder',
    '0',
    '0',
    '',
    String(v.byteLength),
    v,
    `${head}:p:`,
  ];
  await nr.set('plain', bytes);
  const hop = await hopWorker(url, commit('', bytes));
  let rawSerial = Number(await nr.hGet(head, 's'));

  const cases: Record<string, () => unknown> = {
    'GET (node-redis)': () => nr.get('plain'),
    'GET (ioredis)': () => io.getBuffer('plain'),
    'SET (node-redis)': () => nr.set('plain', bytes),
    'SET (ioredis)': () => io.set('plain', bytes),
    'raw EVALSHA commit, this thread': () => nr.sendCommand(commit('', bytes)),
    'raw EVALSHA commit, compare-and-set, this thread': async () => {
      const r = (await nr.sendCommand(commit(String(rawSerial), bytes))) as Buffer[];
      rawSerial = Number(String(r[1]));
    },
    'raw EVALSHA commit, bare worker hop': () => hop.call(1),
    'hop alone, bare worker': () => hop.call(0),
    'hop alone, @shm/redis worker': () => conn.pingSync(),
    '@shm/redis storeAsync()': () => asyn.storeAsync(bytes),
    '@shm/redis updateAsync()': () => upa.updateAsync<number>((v) => v! + 1),
    '@shm/redis store() (sync)': () => sync.store(bytes),
    '@shm/redis update() (sync)': () => up.update<number>((v) => v! + 1),
    '@shm/redis getValue(), unchanged': () => vs.getValue(),
    '@shm/redis fetch(), unchanged': () => vs.fetch(),
    '@shm/redis fetchAsync(), unchanged': () => vs.fetchAsync(),
  };
  const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
  const results = await measure(cases);
  const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
  const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M/s` : `${(n / 1e3).toFixed(1)}k/s`);
  const us = (n: number) => `${(1e6 / n).toFixed(1)} µs`;
  console.log(
    `@shm/redis vs raw commands, 64 B values, ${ROUNDS} rounds of ${MS} ms per case (taking turns in 2 ms batches; median of the rounds), redis-server on 127.0.0.1, load average ${load}\n`,
  );
  console.log(`| operation | rate | time per call |\n|---|---:|---:|`);
  for (const [k, v] of Object.entries(m)) console.log(`| ${k} | ${fmt(v)} | ${us(v)} |`);
  const t = (k: string) => 1 / m[k]!;
  const x = (a: string, b: string) => `${(t(a) / t(b)).toFixed(2)}x`;
  console.log('\nratios (same run; time of the first over the time of the second):');
  console.log(
    `- unchanged getValue() vs a GET round trip: ${(m['@shm/redis getValue(), unchanged']! / m['GET (node-redis)']!).toFixed(0)}x faster (target >= 100x)`,
  );
  console.log(
    `- unchanged fetchAsync() vs a GET round trip: ${(m['@shm/redis fetchAsync(), unchanged']! / m['GET (node-redis)']!).toFixed(0)}x faster`,
  );
  console.log(
    `- storeAsync() vs its raw EVALSHA on this thread: ${x('@shm/redis storeAsync()', 'raw EVALSHA commit, this thread')} (target <= 1.2x)`,
  );
  console.log(
    `- updateAsync() vs its raw compare-and-set EVALSHA on this thread: ${x('@shm/redis updateAsync()', 'raw EVALSHA commit, compare-and-set, this thread')} (target <= 1.2x)`,
  );
  console.log(
    `- store() (sync) vs the same EVALSHA through a bare worker hop: ${x('@shm/redis store() (sync)', 'raw EVALSHA commit, bare worker hop')}`,
  );
  console.log(
    `- store() (sync) vs the raw EVALSHA on this thread: ${x('@shm/redis store() (sync)', 'raw EVALSHA commit, this thread')} (a thread hop more, by construction)`,
  );
  console.log(
    `- update() (sync) vs the same EVALSHA through a bare worker hop: ${x('@shm/redis update() (sync)', 'raw EVALSHA commit, bare worker hop')}`,
  );
  console.log(
    `- the hop alone: @shm/redis ${us(m['hop alone, @shm/redis worker']!)}, bare worker ${us(m['hop alone, bare worker']!)}; ` +
      `bare hop + EVALSHA minus EVALSHA on this thread: ${((t('raw EVALSHA commit, bare worker hop') - t('raw EVALSHA commit, this thread')) * 1e6).toFixed(1)} µs`,
  );
  await hop.stop();
  sync.destroy();
  await asyn.destroyAsync();
  vs.destroy();
  up.destroy();
  await upa.destroyAsync();
  await nr.del(head);
  await conn.close();
  await nr.close();
  await io.quit();
} finally {
  await stopRedis(server);
}
