// The demonstration: several processes share one value through shared memory; one is killed while it holds
// the lock, and the others carry on. Run with `npm run demo` from the repository root.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LockStatus, Store } from '@shm/core';
import { act, c, log, mmapAct, shareliteAct, tiedAct } from './acts.js';

const name = `shm-demo-${process.pid}`;
const workers = 4;
const perWorker = 2000;
const results = [await tiedAct(), await mmapAct(), shareliteAct()];

act('@shm/core: four workers, one counter, one worker killed while it holds the lock');

type Shared = { count: number; by: Record<string, number>; recoveries: number };

const store = Store.create({ name, serializer: 'json', exclusive: true, tag: 'demo' });
store.setValue({ count: 0, by: {}, recoveries: 0 } satisfies Shared);
log(
  'primary',
  `created shared store ${c.bold}${name}${c.off} (POSIX shm, json), starting ${workers} workers`,
);

const script = fileURLToPath(new URL('./worker.ts', import.meta.url));
const execArgv = ['--conditions=@shm/source', '--import', 'tsx'];
const children = Array.from({ length: workers }, (_, i) =>
  fork(script, [name, String(i), String(perWorker), i === 0 ? 'victim' : 'worker'], { execArgv }),
);

let exited = 0;
const done = new Promise<void>((resolve) => {
  for (const [i, child] of children.entries()) {
    child.on('message', (m: { event: string; detail?: string }) => {
      if (m.event === 'holding') {
        log(
          `worker ${i}`,
          `${c.red}holds the exclusive lock and hangs; the primary sends it SIGKILL${c.off}`,
        );
        setTimeout(() => child.kill('SIGKILL'), 100);
      } else {
        log(`worker ${i}`, m.detail ?? m.event);
      }
    });
    child.on('exit', (code, signal) => {
      log(
        `worker ${i}`,
        signal ? `${c.red}killed by ${signal}${c.off} while holding the lock` : `exited (${code})`,
      );
      if (++exited === workers) resolve();
    });
  }
});

const ticker = setInterval(() => {
  const v = store.getValue<Shared>()!;
  log('primary', `sees count = ${v.count}  (serial ${store.serial}, decoded ${store.stats.decodes} times)`);
}, 250);

await done;
clearInterval(ticker);
// If the survivors had finished before the victim was killed, none of them met the dead holder's lock: the
// primary does, as the next process to lock would.
if (store.getValue<Shared>()!.recoveries === 0) {
  const status = store.lock.lock();
  if (status === LockStatus.OwnerDied) {
    const w = store.getValue<Shared>()!;
    store.setValueLocked({ ...w, recoveries: w.recoveries + 1 });
    log('primary', 'took over the lock from a dead holder (LockStatus.OwnerDied); the value is intact');
  }
  store.lock.unlock();
}
const v = store.getValue<Shared>()!;
const expected = (workers - 1) * perWorker + (v.by['0'] ?? 0);
log('primary', `${c.bold}final count ${v.count}${c.off}; per worker ${JSON.stringify(v.by)}`);
log(
  'primary',
  v.count === expected && v.recoveries === 1
    ? `${c.green}exact: every increment of the survivors landed, and the next process to lock was told the killed holder died${c.off}`
    : `${c.red}unexpected: count ${v.count}, expected ${expected}, recoveries ${v.recoveries}${c.off}`,
);
store.destroy();
log('primary', `destroyed ${name}: nothing left in /dev/shm`);
results.push(v.count === expected && v.recoveries === 1);
const passed = results.filter(Boolean).length;
console.log(
  `\n${passed === results.length ? c.green : c.red}${c.bold}demo: ${passed} of ${results.length} acts behaved as expected${c.off}`,
);
process.exit(passed === results.length ? 0 : 1);
