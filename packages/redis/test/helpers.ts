import { fileURLToPath } from 'node:url';
import { type RedisServer, spawnPeer } from '@shm/test-utils';
import { createClient } from 'redis';

export const PEER = fileURLToPath(new URL('./fixtures/peer.ts', import.meta.url));

let n = 0;
/** A store name no other test uses. */
export function uniqueStoreName(tag = 's'): string {
  return `t-${process.pid}-${tag}-${++n}`;
}

export function peer(server: RedisServer, ...args: string[]) {
  return spawnPeer(PEER, [server.url, ...args]);
}

/**
 * Commands the server ran so far, by name (INFO commandstats), not counting INFO itself. `client` is a connection
 * made before the first count (its own handshake commands must not fall between two counts).
 */
export async function commandCounts(client: {
  info(section: string): Promise<string>;
}): Promise<Record<string, number>> {
  const text = await client.info('commandstats');
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] !== 'info') counts[m[1]!] = Number(m[2]);
  }
  return counts;
}

export function total(c: Record<string, number>): number {
  return Object.values(c).reduce((a, b) => a + b, 0);
}

/** A raw client for checks the tests make behind the library's back. */
export async function rawClient(server: RedisServer) {
  const c = createClient({ url: server.url });
  await c.connect();
  return c;
}
