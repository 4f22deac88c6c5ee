import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnPeer } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));

describe('README', () => {
  it('has a quick start of at most 15 lines that runs as written', async () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const section = readme.slice(readme.indexOf('## Quick start'));
    const code = /```js\n([\s\S]*?)```/.exec(section)![1]!;
    expect(code.trimEnd().split('\n').length).toBeLessThanOrEqual(15);
    // Inside the package directory, `import '@shm/mmap-share'` resolves to the package itself.
    mkdirSync(`${root}.tmp`, { recursive: true });
    const file = `${root}.tmp/quick-start.mjs`;
    writeFileSync(file, code);
    const r = await spawnPeer(file).exited;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.messages.map((m) => m.text).join('\n');
    expect(out).toMatch(/visits: 3/);
    expect(out.match(/\d{2,}/g)).toHaveLength(3); // three pids
  });
});
