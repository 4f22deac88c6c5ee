import { fileURLToPath } from 'node:url';
import { runPeer } from '@shm/test-utils';
import { expect, it } from 'vitest';

it('runs the README demonstration: every act behaves as expected and nothing is left behind', async () => {
  const r = await runPeer(fileURLToPath(new URL('../main.ts', import.meta.url)));
  const out = r.messages.map((m) => m.text ?? JSON.stringify(m)).join('\n');
  expect(r.stderr).toBe('');
  expect(out).toMatch(/reads cfg\.hits = 1000, cfg\.db\.port = 6543/);
  expect(out).toMatch(/get\(\) = \{"count":900\}/);
  expect(out).toMatch(/perl \d+ read \[hello from Node \d+\] and replies/);
  expect(out).toMatch(/took over the lock from a dead holder/);
  expect(out).toMatch(/demo: 4 of 4 acts behaved as expected/);
  expect(r.code).toBe(0);
}, 120_000);
