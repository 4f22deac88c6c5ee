import { spawnPeer, waitFor } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, fixture, holdersOf } from './helpers.js';

const pids: number[] = [];
afterEach(() => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

describe('the memory of a share', () => {
  it('is released once the creator (SIGKILLed) and every child and grandchild have exited', async () => {
    const root = spawnPeer(fixture('release-root.ts'), [String(8 << 20)]);
    const { root: info } = await root.next((m) => m.root);
    const { children } = await root.next((m) => m.children);
    const members = [await root.next((m) => m.member), await root.next((m) => m.member)].map((m) => m.member);
    pids.push(info.pid, ...children, ...members.map((m: any) => m.pid));

    // Anonymous: a memfd, visible to nobody by name; every member sees the same file.
    expect(info.link).toMatch(/^\/memfd:shm-anon-\d+-\d+ \(deleted\)$/);
    for (const m of members) expect([m.ino, m.dev, m.link]).toEqual([info.ino, info.dev, info.link]);

    // The check below can fail: right now the root, both children and the grandchild map it.
    const before = holdersOf(info.dev, info.ino);
    const mapping = new Set(before.filter((h) => h.how === 'map').map((h) => h.pid));
    for (const pid of [info.pid, ...children, ...members.map((m: any) => m.pid)])
      expect(mapping.has(pid)).toBe(true);
    expect(members.some((m: any) => !children.includes(m.pid))).toBe(true); // one of them is the grandchild

    root.kill('SIGKILL');
    await root.exited;
    // The children see their IPC channel close and exit; the grandchild follows its parent.
    await waitFor(() => pids.every((pid) => !alive(pid)), 'every member of the tree to exit', 20_000);
    await waitFor(
      () => holdersOf(info.dev, info.ino).length === 0,
      'no process to map or hold the memfd',
      10_000,
    );
    expect(holdersOf(info.dev, info.ino)).toEqual([]);
  });
});
