// @shm/redis against the raw commands it needs and against plain GET/SET (node-redis and ioredis), in one run on
// one redis-server (issue 17). Prints medians of the rounds and the ratios; never part of `test`.
//   pnpm --filter @shm/bench-suite redis [--rounds 5] [--ms 300]
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { RedisConnection, RedisStore, redisScripts } from '@shm/redis';
import { startRedis, stopRedis } from '@shm/test-utils';
import { Redis } from 'ioredis';
import { createClient, RESP_TYPES } from 'redis';

const { values: args } = parseArgs({ options: { rounds: { type: 'string' }, ms: { type: 'string' } } });
const ROUNDS = Number(args.rounds ?? 5);
const MS = Number(args.ms ?? 300);

async function rate(op: () => unknown): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < MS) {
    for (let i = 0; i < 64; i++) {
      const r = op();
      if (r instanceof Promise) await r;
    }
    n += 64;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const server = await startRedis();
try {
  const url = server.url;
  const nr = createClient({ url }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  await nr.connect();
  const io = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true });
  await io.connect();
  const conn = RedisConnection.connectSync({ url });
  const st = RedisStore.create({ connection: conn, name: 'bench', serializer: 'json' });
  const bytes = Buffer.alloc(64, 1);
  st.store(bytes);
  const vs = RedisStore.create({ connection: conn, name: 'bench-value', serializer: 'json' });
  vs.setValue({ n: 0 });
  vs.getValue();
  // The commit script exactly as store() runs it, sent raw by node-redis: what store() costs at the least.
  const sha = createHash('sha1').update(redisScripts.COMMIT).digest('hex');
  await nr.sendCommand(['SCRIPT', 'LOAD', redisScripts.COMMIT]);
  const head = 'shm:{bench}';
  const id = String(await nr.hGet(head, 'id'));
  const commitArgs = (expect: string, v: Buffer) => [
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

  const cases: Record<string, () => unknown> = {
    'GET (node-redis)': () => nr.get('plain'),
    'GET (ioredis)': () => io.getBuffer('plain'),
    'SET (node-redis)': () => nr.set('plain', bytes),
    'SET (ioredis)': () => io.set('plain', bytes),
    'commit script, raw EVALSHA (node-redis)': () => nr.sendCommand(commitArgs('', bytes)),
    '@shm/redis store() (sync)': () => st.store(bytes),
    '@shm/redis storeAsync()': () => st.storeAsync(bytes),
    '@shm/redis getValue(), unchanged': () => vs.getValue(),
    '@shm/redis fetch(), unchanged': () => st.fetch(),
  };
  // update() on a store of its own (a json number).
  const up = RedisStore.create({ connection: conn, name: 'bench-update', serializer: 'json' });
  up.setValue(0);
  cases['@shm/redis update() (sync, CAS)'] = () => up.update<number>((v) => v! + 1);
  const results: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const names = Object.keys(cases);
    for (let i = 0; i < names.length; i++) {
      const k = names[(i + r) % names.length]!;
      results[k]!.push(await rate(cases[k]!));
    }
  }
  const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
  const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M/s` : `${(n / 1e3).toFixed(1)}k/s`);
  console.log(
    `@shm/redis vs raw commands, 64 B values, ${ROUNDS} rounds of ${MS} ms (median), redis-server on 127.0.0.1\n`,
  );
  for (const [k, v] of Object.entries(m)) console.log(`${k.padEnd(42)} ${fmt(v).padStart(10)}`);
  const get = m['GET (node-redis)']!;
  const raw = m['commit script, raw EVALSHA (node-redis)']!;
  console.log('\nratios (same run):');
  console.log(
    `unchanged getValue() vs a GET round trip:      ${(m['@shm/redis getValue(), unchanged']! / get).toFixed(0)}x faster (target >= 100x)`,
  );
  console.log(
    `store() (sync) time vs its raw commit command: ${(raw / m['@shm/redis store() (sync)']!).toFixed(2)}x (target <= 1.2x)`,
  );
  console.log(
    `storeAsync() time vs its raw commit command:   ${(raw / m['@shm/redis storeAsync()']!).toFixed(2)}x`,
  );
  console.log(
    `store() (sync) time vs a plain SET:            ${(m['SET (node-redis)']! / m['@shm/redis store() (sync)']!).toFixed(2)}x`,
  );
  console.log(
    `update() (sync) time vs its raw commit command: ${(raw / m['@shm/redis update() (sync, CAS)']!).toFixed(2)}x`,
  );
  st.destroy();
  vs.destroy();
  up.destroy();
  conn.closeSync();
  await nr.close();
  await io.quit();
} finally {
  await stopRedis(server);
}
