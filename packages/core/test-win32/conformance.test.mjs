// The Platform conformance suite (packages/core/test/conformance/platform-suite.ts, which vitest runs against the
// linux and memory platforms) against the win32 Platform, on node:test: tools/windows/stage-conformance.mjs compiles
// the suite beside the staged dist and stands in for vitest and @shm/test-utils. Every case of the suite applies;
// those that depend on a capability read it from the platform (a section cannot be removed while mapped, so the
// "open after remove fails" half is skipped by the suite itself, as the platform's removableWhileMapped says).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { core } from './helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const stage = process.env.SHM_JS_STAGE ?? join(here, '..', '..', '..', 'tools', 'windows', '.cache', 'js');
const coreDir = join(stage, 'node_modules', '@shm', 'core');
const staged = (p) => import(pathToFileURL(join(coreDir, p)).href);
const { describePlatform } = await staged('test/conformance/platform-suite.js');
const choose = join(coreDir, 'dist', 'platform', 'choose-platform.js');
const { platformByName } = await import(pathToFileURL(choose).href);
if (typeof core.Region !== 'function') throw new Error('the staged @shm/core did not load');

describePlatform('win32', {
  make: () => platformByName('win32'),
  deadOwner() {
    // The owner id of a process that has exited: its main thread's id, printed before it ends.
    const script = `import(${JSON.stringify(pathToFileURL(choose).href)}).then((m) => process.stdout.write(String(m.platformByName('win32').identity.id())))`;
    const r = spawnSync(process.execPath, ['-e', script], { env: process.env });
    const id = Number(String(r.stdout));
    if (!Number.isInteger(id) || id <= 0) throw new Error(`no owner id from the child: ${String(r.stderr)}`);
    return id;
  },
});
