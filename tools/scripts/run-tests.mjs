#!/usr/bin/env node
// Runs every package's tests (one package at a time: they start real processes and share the kernel's IPC
// namespace), then the final leak check, then prints one closing line: "tests: N passed, M failed, K skipped".
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const dirs = ['packages', 'examples', 'tools']
  .flatMap((d) => (existsSync(join(root, d)) ? readdirSync(join(root, d)).map((p) => join(root, d, p)) : []))
  .filter((d) => existsSync(join(d, 'package.json')));
const results = (d) => join(d, '.tmp', 'vitest-results.json');
for (const d of dirs) rmSync(results(d), { force: true });

// Some tests run a fixture as user nobody (permission checks): they need every directory above the checkout to
// let others in. A clone into a private folder (mktemp -d makes it 0700) fails them with ERR_MODULE_NOT_FOUND;
// say why up front instead of leaving that to be guessed.
if (process.getuid?.() === 0) {
  for (let d = root; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) {
      console.warn(
        `warning: ${d} is closed to other users (mode ${(statSync(d).mode & 0o777).toString(8)}): the tests that ` +
          `run as user nobody cannot load their fixtures and will fail. Clone into a folder others can enter, or ` +
          `chmod o+x ${d}.`,
      );
      break;
    }
    if (dirname(d) === d) break;
  }
}

const extra = process.argv.slice(2);
const turbo = spawnSync('pnpm', ['exec', 'turbo', 'run', 'test', '--concurrency=1', '--continue', ...extra], {
  cwd: root,
  stdio: 'inherit',
});
const leak = spawnSync(process.execPath, [join(root, 'tools', 'scripts', 'leak-check.mjs')], {
  stdio: 'inherit',
});

let passed = 0;
let failed = 0;
let skipped = 0;
const broken = [];
for (const d of dirs) {
  if (!existsSync(results(d))) continue;
  const r = JSON.parse(readFileSync(results(d), 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  if (r.numFailedTests > 0 || r.success === false) broken.push(d.slice(root.length + 1));
}
if (leak.status !== 0) broken.push('leak check');
if (turbo.status !== 0 && broken.length === 0) broken.push('a test task failed before reporting results');
console.log(broken.length ? `\nFailing: ${broken.join(', ')}` : '\nAll packages passed.');
console.log(
  `tests: ${passed} passed, ${failed + (broken.length && failed === 0 ? 1 : 0)} failed, ${skipped} skipped`,
);
process.exit(broken.length ? 1 : 0);
