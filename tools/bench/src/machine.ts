import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';

/** What the numbers were measured on, in one line. */
export function describeMachine(): string {
  const cpu = cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const os = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? process.platform;
  const ram = `${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM`;
  const load = loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
  return `${cpu}, ${availableParallelism()} cores, ${ram}, ${os} (Linux ${release()}, ${process.arch}), load average at the start ${load}`;
}
