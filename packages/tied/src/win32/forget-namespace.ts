import { registry } from '@shm/core';

/**
 * removeAll() of a namespace without a swapfile on Windows. A named pagefile section cannot be deleted while another
 * process holds it (it vanishes with its last handle), and Windows cannot list sections by prefix as /dev/shm can, so
 * the namespace's named variables are found through the @shm registry: each entry is dropped (its Store remover
 * trims what it can) and the sections still open somewhere are returned. Anonymous and nested variables need no
 * sweep on Windows: they are sections held only by the processes that use them, so none outlives its users.
 */
export function forgetWin32Namespace(namespace: string): string[] {
  const prefix = `Local\\shm-${namespace}.`;
  const found: string[] = [];
  for (const e of registry.list()) {
    if (e.backend !== 'win32' || !e.id.startsWith(prefix)) continue;
    registry.remove(e.id);
    if (e.exists) found.push(e.id);
  }
  return found;
}
