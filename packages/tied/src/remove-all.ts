import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { expected, Region, registry, Store } from '@shm/core';
import { checkOptionsObject } from './check-args.js';
import { DEFAULT_NAMESPACE } from './tie-options.js';
import { openNodes } from './var-node.js';
import { forgetWin32Namespace } from './win32/forget-namespace.js';

/**
 * Removes every variable of a namespace, named and anonymous, with their nested and chained segments, whether or not
 * a process still uses them (IPC::Shareable's clean_up_all, for a whole namespace): for tests, uninstall scripts and
 * after crashes. Finds POSIX objects by listing /dev/shm (Linux), files by listing the swapfile's folder, and SysV
 * variables through the `@shm` registry. Returns the names removed. On Windows a named section cannot be deleted while
 * another process holds it: this process lets go of the namespace's sections (which vanish when the other processes
 * untie them too) and returns the names of those still held somewhere; files (swapfile) are deleted as elsewhere.
 */
export function removeAll(opts: { namespace?: string; swapfile?: string } = {}): string[] {
  checkOptionsObject(opts, 'opts');
  if (opts.swapfile !== undefined && (typeof opts.swapfile !== 'string' || opts.swapfile === ''))
    throw expected('a file path', 'opts.swapfile', opts.swapfile);
  const ns = opts.namespace ?? DEFAULT_NAMESPACE;
  if (typeof ns !== 'string' || ns === '' || ns.includes('/')) {
    throw expected('a namespace without "/"', 'opts.namespace', ns);
  }
  const removed: string[] = [];
  for (const node of [...openNodes()]) {
    if (node.space.namespace === ns || (opts.swapfile && node.space.base === opts.swapfile)) node.close();
  }
  for (const e of registry.list()) {
    if (e.tag !== `tied:${ns}` || e.backend !== 'sysv' || !e.exists || e.key === undefined) continue;
    try {
      Store.open({ key: e.key }).destroy();
      removed.push(e.id);
    } catch {
      registry.remove(e.id);
    }
  }
  if (opts.swapfile) {
    const dir = dirname(opts.swapfile);
    const prefix = `${basename(opts.swapfile)}.`;
    if (existsSync(dir)) {
      for (const f of readdirSync(dir)) {
        if (!f.startsWith(prefix)) continue;
        Region.remove({ backend: 'file', path: join(dir, f) });
        removed.push(join(dir, f));
      }
    }
  } else if (process.platform === 'win32') {
    removed.push(...forgetWin32Namespace(ns));
  } else if (existsSync('/dev/shm')) {
    const prefix = `${ns}.`;
    for (const f of readdirSync('/dev/shm')) {
      if (!f.startsWith(prefix)) continue;
      Region.remove({ backend: 'posix', name: `/${f}` });
      removed.push(`/${f}`);
    }
  }
  return removed;
}
