// Stages @shm/core's platform conformance suite (packages/core/test/conformance) for the Windows run under Wine:
// each file transpiled to JS into <stage>/node_modules/@shm/core/test/conformance, its imports of the package's
// sources pointed at the staged dist, and vitest and @shm/test-utils replaced by the node:test shims beside this
// script. Usage: node stage-conformance.mjs <stage> (after stage-js.sh has laid out <stage>).
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const stage = process.argv[2];
if (!stage) throw new Error('usage: stage-conformance.mjs <stage>');
const src = join(root, 'packages', 'core', 'test', 'conformance');
const out = join(stage, 'node_modules', '@shm', 'core', 'test', 'conformance');
mkdirSync(out, { recursive: true });
for (const f of ['platform-suite.ts', 'waker.ts']) {
  const { outputText } = ts.transpileModule(readFileSync(join(src, f), 'utf8'), {
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: false,
    },
    fileName: f,
  });
  // '../../src/x.js' from test/conformance is the package's source: staged, it is '../../dist/x.js'.
  writeFileSync(join(out, f.replace(/\.ts$/, '.js')), outputText.replaceAll("'../../src/", "'../../dist/"));
}
for (const [pkg, shim] of [
  ['vitest', 'vitest.mjs'],
  ['@shm/test-utils', 'test-utils.mjs'],
]) {
  const dest = join(stage, 'node_modules', pkg);
  mkdirSync(dest, { recursive: true });
  cpSync(join(here, 'conformance', shim), join(dest, 'index.js'));
  writeFileSync(
    join(dest, 'package.json'),
    `${JSON.stringify({ name: pkg, type: 'module', exports: { '.': './index.js' } })}\n`,
  );
}
