import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * What kernel objects exist now: SysV segments and semaphore sets (by id, with key) and files in /dev/shm.
 * Read from /proc/sysvipc and /dev/shm, so it needs no native code and also sees objects made by Perl peers.
 */
export interface KernelSnapshot {
  shm: Map<number, { key: number; cpid: number }>;
  sem: Map<number, { key: number }>;
  files: Set<string>;
}

function parseTable(path: string): string[][] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').trim().split('\n').slice(1);
  return lines.map((l) => l.trim().split(/\s+/));
}

export function snapshotKernelObjects(): KernelSnapshot {
  const shm = new Map<number, { key: number; cpid: number }>();
  // key shmid perms size cpid lpid nattch ...
  for (const f of parseTable('/proc/sysvipc/shm'))
    shm.set(Number(f[1]), { key: Number(f[0]), cpid: Number(f[4]) });
  const sem = new Map<number, { key: number }>();
  // key semid perms nsems ...
  for (const f of parseTable('/proc/sysvipc/sem')) sem.set(Number(f[1]), { key: Number(f[0]) });
  const files = new Set<string>(existsSync('/dev/shm') ? readdirSync('/dev/shm') : []);
  return { shm, sem, files };
}

export interface Leak {
  kind: 'shm' | 'sem' | 'file';
  id: string;
  key?: number;
}

/** Objects present in `after` but not in `before`. */
export function diffSnapshots(before: KernelSnapshot, after: KernelSnapshot): Leak[] {
  const leaks: Leak[] = [];
  for (const [id, v] of after.shm)
    if (!before.shm.has(id)) leaks.push({ kind: 'shm', id: String(id), key: v.key });
  for (const [id, v] of after.sem)
    if (!before.sem.has(id)) leaks.push({ kind: 'sem', id: String(id), key: v.key });
  for (const f of after.files) if (!before.files.has(f)) leaks.push({ kind: 'file', id: f });
  return leaks;
}

/** One line per leaked object. */
export function describeLeaks(leaks: Leak[]): string {
  const lines: string[] = [];
  for (const l of leaks) {
    lines.push(
      `  ${l.kind} ${l.id}${l.key !== undefined ? ` key 0x${(l.key >>> 0).toString(16).padStart(8, '0')}` : ''}`,
    );
  }
  return lines.join('\n');
}
