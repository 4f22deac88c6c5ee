#!/usr/bin/env node
// Final leak check after the whole test run: fails if any SysV object or /dev/shm file matching the test
// conventions (keys 0x5Exxxxxx, names starting with "shmtest") is still present.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const rows = (p) =>
  existsSync(p)
    ? readFileSync(p, 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/))
    : [];
const inRange = (k) => ((Number(k) >>> 24) & 0xff) === 0x5e;
const leaks = [
  ...rows('/proc/sysvipc/shm')
    .filter((f) => inRange(f[0]))
    .map((f) => `shm id ${f[1]} key ${f[0]}`),
  ...rows('/proc/sysvipc/sem')
    .filter((f) => inRange(f[0]))
    .map((f) => `sem id ${f[1]} key ${f[0]}`),
  ...(existsSync('/dev/shm') ? readdirSync('/dev/shm') : [])
    .filter((n) => n.startsWith('shmtest'))
    .map((n) => `/dev/shm/${n}`),
];
if (leaks.length) {
  console.error(`Leak check failed: ${leaks.length} test object(s) left behind:\n  ${leaks.join('\n  ')}`);
  process.exit(1);
}
console.log('Leak check: no test segments, semaphore sets or /dev/shm files left behind.');
