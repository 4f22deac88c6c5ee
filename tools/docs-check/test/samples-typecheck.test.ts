import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allSamples, sampleId } from '../src/samples.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = fileURLToPath(new URL('../.tmp/typecheck/', import.meta.url));
const tsc = join(createRequire(import.meta.url).resolve('typescript/package.json'), '..', 'bin', 'tsc');

describe('TypeScript samples in the docs', () => {
  it('type-check against the packages they import (strict), so a call that does not exist fails', () => {
    const samples = allSamples(root).filter((s) => s.run && s.lang === 'ts');
    expect(samples.length).toBeGreaterThanOrEqual(10);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const s of samples) {
      // `export {}` keeps each sample its own module, so two samples may both declare `const share`.
      writeFileSync(join(dir, `${sampleId(s)}.ts`), `${s.code}\nexport {};\n`);
    }
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../../tsconfig/base.json',
        // Samples are user code: strict, without this repository's extra index-access rule.
        compilerOptions: { noEmit: true, noUncheckedIndexedAccess: false, declaration: false },
        include: ['*.ts'],
      }),
    );
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    const errors = r.stdout
      .split('\n')
      .filter((l) => l.includes('error TS'))
      .map((l) => {
        // Name the markdown file and line instead of the temp file.
        const m = /([^/]*?)-L(\d+)\.ts\((\d+),\d+\): (.*)$/.exec(l);
        const s = m && samples.find((x) => sampleId(x) === `${m[1]}-L${m[2]}`);
        return s ? `${s.file}:${s.line + Number(m![3])}: ${m![4]}` : l;
      });
    expect(errors).toEqual([]);
    expect(r.status).toBe(0);
  });
});
