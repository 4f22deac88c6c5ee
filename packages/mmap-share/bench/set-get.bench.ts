// set/get of a small object, a 64 KB and a 1 MB byte value through @shm/mmap-share, against process.send round
// trips between the same parent and child (serialization 'advanced', the structured clone set/get use too).
// Run: pnpm --filter @shm/mmap-share bench   (MS=<ms per case>, default 1000)
import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MmapShare } from '@shm/mmap-share';

const MS = Number(process.env.MS ?? 1000);

const small = {
  id: 42,
  name: 'widget',
  tags: ['a', 'b', 'c'],
  price: 9.99,
  stock: { warehouse: 3, store: 12 },
};
const kb64 = new Uint8Array(64 * 1024).fill(7);
const mb1 = new Uint8Array(1024 * 1024).fill(9);

const shares = {
  small: new MmapShare(1024),
  kb64: new MmapShare(64 * 1024 + 1024),
  mb1: new MmapShare(1024 * 1024 + 1024),
};
const values: Record<keyof typeof shares, unknown> = { small, kb64, mb1 };
const labels: Record<keyof typeof shares, string> = {
  small: 'small object',
  kb64: '64 KB bytes',
  mb1: '1 MB bytes',
};

/** ops/s of a synchronous call, measured for MS ms after a short warm-up. */
function timeSync(fn: () => void): number {
  const warm = performance.now() + Math.min(200, MS / 5);
  while (performance.now() < warm) fn();
  let n = 0;
  const start = performance.now();
  let t = start;
  const end = start + MS;
  while (t < end) {
    fn();
    n++;
    if ((n & 15) === 0) t = performance.now();
  }
  return (n * 1000) / (performance.now() - start);
}

/** ops/s of sequential round trips with the child. */
async function timeRoundTrips(child: ChildProcess, msg: object): Promise<number> {
  const once = () =>
    new Promise<void>((resolve) => {
      child.once('message', () => resolve());
      child.send(msg);
    });
  const warm = performance.now() + Math.min(200, MS / 5);
  while (performance.now() < warm) await once();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < MS) {
    await once();
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

const reply = (child: ChildProcess, op: string) =>
  new Promise<any>((resolve) => {
    const on = (m: any) => {
      if (m.op === op) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
  });

const child = shares.small.fork(fileURLToPath(new URL('./bench-child.ts', import.meta.url)), [], {
  execArgv: ['--conditions=@shm/source', '--import', 'tsx'],
  serialization: 'advanced',
  shares,
});
await reply(child, 'ready');

const fmt = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
const rows: string[][] = [];
for (const key of Object.keys(shares) as (keyof typeof shares)[]) {
  const share = shares[key];
  const value = values[key];
  share.set(value);
  const set = timeSync(() => share.set(value));
  const get = timeSync(() => share.get());
  child.send({ op: 'time-get', name: key, ms: MS });
  const childGet = (await reply(child, 'timed')).opsPerSec as number;
  const sendSet = await timeRoundTrips(child, { op: 'set', value });
  const sendGet = await timeRoundTrips(child, { op: 'get' });
  rows.push([
    labels[key],
    fmt(set),
    fmt(get),
    fmt(childGet),
    fmt(sendSet),
    fmt(sendGet),
    `${(set / sendSet).toFixed(1)}x`,
    `${(get / sendGet).toFixed(1)}x`,
  ]);
}
child.send({ op: 'exit' });
await new Promise((r) => child.once('exit', r));
for (const s of Object.values(shares)) s.close();

const head = [
  'value',
  'set ops/s',
  'get ops/s',
  'get in child',
  'send+ack ops/s',
  'ask+reply ops/s',
  'set vs send',
  'get vs reply',
];
console.log(
  `@shm/mmap-share vs process.send round trips (Node ${process.version}, ${cpus().length} CPUs, ${MS} ms per case)\n`,
);
console.log(`| ${head.join(' | ')} |`);
console.log(`|${head.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
