import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnPeer } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../../../examples/cluster-counter/', import.meta.url));

describe('examples/cluster-counter', () => {
  it('runs its start script: every hit is counted once across workers, each key computed once', async () => {
    // The command of `pnpm start`, run with this Node and smaller numbers: node <args> main.ts [workers] [requests] [keys]
    const start: string = JSON.parse(readFileSync(`${dir}package.json`, 'utf8')).scripts.start;
    const [node, ...args] = start.split(' ');
    expect(node).toBe('node');
    const [workers, requests, keys] = [3, 120, 6];
    const peer = spawnPeer(args.at(-1)!, [String(workers), String(requests), String(keys)], { cwd: dir });
    const r = await peer.exited;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = r.messages.find((m) => 'requests' in m);
    expect(summary).toBeDefined();
    expect(summary.hits).toBe(requests);
    expect(Object.values(summary.byWorker as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(
      requests,
    );
    expect(Object.keys(summary.byWorker).length).toBeGreaterThan(1); // served by several processes
    expect(summary.cacheEntries).toBe(keys);
    expect(summary.cachedAnswers).toBe(requests - keys);
    expect(r.messages.some((m) => /^shared hit count: +120 /.test(m.text ?? ''))).toBe(true);
  });
});
