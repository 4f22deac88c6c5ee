// The packages as a user gets them: every public package is packed with `pnpm pack` (what `pnpm publish` uploads),
// the tarballs are checked (manifest, files, publint, attw), then installed into a fresh project outside the
// workspace with npm and with pnpm 10 at its defaults, on a PATH where no compiler, make or python can be found.
// There every README quick start runs (and the TypeScript ones type-check under node16 and bundler resolution),
// the `shm` CLI works through npx and .bin, a bundle made by esbuild runs, and a damaged addon gives the load
// error that names the file, the reason and the command that fixes it, and that command does fix it.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeBinary } from '../../../packages/native/src/binding.ts';
import { outputMatches, type Sample, samplesOf } from '../../docs-check/src/samples.ts';
import { type RedisServer, startRedis, stopRedis } from '../../test-utils/src/redis-server.ts';
import {
  BUILD_TOOLS,
  cleanup,
  compilerFreePath,
  type PublicPackage,
  pack,
  publicPackages,
  root,
  run,
  runIsolated,
  strings,
  type Tarball,
  tempDir,
  userEnv,
  write,
} from '../src/lib.ts';

const bin = (name: string) => join(import.meta.dirname, '..', 'node_modules', '.bin', name);
const PREBUILDS: { dir: string; file: string; platform: string; arch: string }[] = [
  { dir: 'linux-x64', file: 'shm_native.napi.glibc.node', platform: 'linux', arch: 'x64' },
  { dir: 'linux-arm64', file: 'shm_native.napi.glibc.node', platform: 'linux', arch: 'arm64' },
  { dir: 'win32-x64', file: 'shm_native.napi.node', platform: 'win32', arch: 'x64' },
];
const tscJs = join(import.meta.dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc');
const hostPrebuild = `prebuilds/linux-${process.arch}/shm_native.napi.glibc.node`;

let work: string;
let path: string;
const packages: PublicPackage[] = publicPackages();
const tarballs: Tarball[] = [];

let redis: RedisServer | undefined;

before(async () => {
  // The @shm/redis quick start reads REDIS_URL: a redis-server of this run's own, as docs-check gives it.
  if (packages.some((p) => quickStarts(p).some((s) => s.code.includes('REDIS_URL')))) {
    redis = await startRedis();
    process.env.REDIS_URL = redis.url;
  }
  work = tempDir('shm-pack-check-');
  path = compilerFreePath(join(work, 'bin'));
  const dest = join(work, 'tarballs');
  for (const p of packages) tarballs.push(pack(p, dest));
});
// SHM_PACK_CHECK_KEEP=1 keeps the projects and tarballs for a look afterwards (the path is printed).
after(async () => {
  if (process.env.SHM_PACK_CHECK_KEEP) console.log(`kept ${work}`);
  else cleanup(work);
  if (redis) await stopRedis(redis);
});

describe('the tarballs', () => {
  it('cover every public package under packages/', () => {
    assert.ok(packages.length >= 7, `found only ${packages.map((p) => p.name).join(', ')}`);
    assert.deepEqual(
      tarballs.map((t) => t.manifest.name),
      packages.map((p) => p.name),
    );
    console.log(`packed: ${tarballs.map((t) => `${t.manifest.name} (${t.files.length} files)`).join(', ')}`);
  });

  it('have manifests without workspace ranges, source conditions, devDependencies or dev scripts', () => {
    for (const t of tarballs) {
      const m = t.manifest;
      for (const s of strings(m)) {
        assert.doesNotMatch(s.value, /^workspace:/, `${m.name}${s.path} = ${s.value}`);
        assert.ok(!s.value.includes('@shm/source'), `${m.name}${s.path} names the @shm/source condition`);
      }
      assert.equal(m.devDependencies, undefined, `${m.name} publishes devDependencies`);
      for (const s of Object.keys(m.scripts ?? {}))
        assert.match(s, /^(pre|post)?install$/, `${m.name} script ${s}`);
      // workspace:^ in the repository: a caret range here, so an app can share one copy (an exact version pins it).
      for (const [dep, range] of Object.entries<string>(m.dependencies ?? {}))
        if (dep.startsWith('@shm/'))
          assert.match(range, /^\^\d/, `${m.name} depends on ${dep}@${range}, not a ^ range`);
      for (const [dep] of Object.entries({ ...m.dependencies, ...m.peerDependencies }))
        if (dep.startsWith('@shm/'))
          assert.ok(
            packages.some((p) => p.name === dep),
            `${m.name} depends on ${dep}, which is not published`,
          );
    }
  });

  it('state what a registry and a user need: metadata, engines, ESM exports, types and a LICENSE', () => {
    for (const t of tarballs) {
      const m = t.manifest;
      for (const f of [
        'description',
        'license',
        'homepage',
        'repository',
        'bugs',
        'engines',
        'types',
        'files',
      ])
        assert.ok(m[f], `${m.name} has no "${f}"`);
      assert.equal(m.type, 'module', `${m.name} is ESM only and must say so with "type": "module"`);
      assert.match(m.repository.url, /^git\+https:\/\/github\.com\/shm-js\/shm\.git$/);
      assert.match(m.engines.node, /^>=20/);
      assert.equal(m.exports['./package.json'], './package.json', `${m.name} exports no ./package.json`);
      assert.equal(m.publishConfig?.access, 'public', `${m.name} would be published as restricted`);
      for (const f of ['LICENSE', 'README.md', 'package.json'])
        assert.ok(t.files.includes(f), `${m.name}: no ${f}`);
      const license = run('tar', ['-xzOf', t.file, 'package/LICENSE']).stdout;
      assert.equal(
        license,
        readFileSync(join(root, 'LICENSE'), 'utf8'),
        `${m.name}'s LICENSE differs from the root's`,
      );
      // Everything the manifest points at is in the tarball.
      const targets = [
        m.main,
        m.types,
        ...strings(m.exports).map((s) => s.value),
        ...Object.values(m.bin ?? {}),
      ];
      for (const target of targets.filter((x): x is string => typeof x === 'string'))
        assert.ok(
          t.files.includes(target.replace(/^\.\//, '')),
          `${m.name} points at ${target}, not in the tarball`,
        );
    }
  });

  it('ship no source maps and no sourceMappingURL comments that point at missing files', () => {
    for (const t of tarballs) {
      assert.deepEqual(
        t.files.filter((f) => f.endsWith('.map')),
        [],
        `${t.manifest.name} ships source maps`,
      );
      const js = t.files.filter((f) => f.endsWith('.js'));
      const r = run('tar', ['-xzOf', t.file, ...js.map((f) => `package/${f}`)]);
      assert.doesNotMatch(r.stdout, /sourceMappingURL=/, `${t.manifest.name} has sourceMappingURL comments`);
    }
  });

  it('give @shm/native a prebuilt binary for each supported platform, of the right format, and no install-time gyp', () => {
    const t = tarballs.find((x) => x.manifest.name === '@shm/native');
    assert.ok(t, 'no @shm/native tarball');
    assert.equal(t.manifest.gypfile, false, 'npm would run node-gyp rebuild at install');
    assert.equal(t.manifest.scripts?.install, 'node scripts/install.mjs');
    const x = tempDir('shm-pack-native-');
    try {
      run('tar', ['-xzf', t.file, '-C', x]);
      for (const p of PREBUILDS) {
        const f = `prebuilds/${p.dir}/${p.file}`;
        assert.ok(t.files.includes(f), `@shm/native ships no ${f}`);
        assert.equal(
          describeBinary(join(x, 'package', f), p.arch as NodeJS.Architecture, p.platform as NodeJS.Platform),
          undefined,
        );
      }
      assert.deepEqual(
        t.files.filter((f) => f.startsWith('build/')),
        [],
        'a local build/ directory was packed',
      );
    } finally {
      cleanup(x);
    }
  });

  it('pass publint (strict)', () => {
    for (const t of tarballs) {
      const r = run(bin('publint'), ['run', t.file, '--strict', '--pack', 'false']);
      assert.equal(r.code, 0, r.log);
      assert.doesNotMatch(r.stdout, /Errors:|Warnings:/, r.log);
    }
  });

  it('pass @arethetypeswrong/cli for ESM consumers (node16-esm and bundler; ESM only, so no CJS entry)', () => {
    for (const t of tarballs) {
      // --profile esm-only: these packages are ESM only (README "Install"), so node10 and node16-cjs resolution,
      // which attw would otherwise report as "CJS resolves to ESM", are not checked.
      const r = run(bin('attw'), [t.file, '--profile', 'esm-only', '--format', 'table-flipped']);
      assert.equal(r.code, 0, r.log);
    }
  });
});

/** The quick start samples of a package README: the ts/js blocks of its "## Quick start" section. */
function quickStarts(p: PublicPackage): Sample[] {
  const readme = join(p.dir, 'README.md');
  if (!existsSync(readme)) return [];
  const md = readFileSync(readme, 'utf8');
  const lines = md.split('\n');
  const start = lines.findIndex((l) => /^## Quick start/i.test(l));
  if (start < 0) return [];
  const rest = lines.slice(start + 1).findIndex((l) => /^## /.test(l));
  const end = rest < 0 ? lines.length : start + 1 + rest;
  return samplesOf(relative(root, readme), md).filter(
    (s) => s.run && s.lang !== 'sh' && s.line > start && s.line <= end,
  );
}

const sampleName = (s: Sample) => `${s.file.replace(/[^A-Za-z0-9]+/g, '-')}-L${s.line}`;

/** A project outside the workspace that depends on every tarball, installed by `pm` on the compiler-free PATH. */
function makeProject(pm: 'npm' | 'pnpm'): { dir: string; install: ReturnType<typeof run> } {
  const dir = join(work, `project-${pm}`);
  const deps = Object.fromEntries(tarballs.map((t) => [t.manifest.name, `file:${t.file}`]));
  // The @shm packages are not on the registry: overrides make every reference to them (the serializers' peer
  // @shm/core, tied's @shm/serializer-msgpack) resolve to the tarballs instead of asking the registry.
  const manifest: Record<string, unknown> = {
    name: `shm-pack-check-${pm}`,
    private: true,
    type: 'module',
    dependencies: deps,
    ...(pm === 'npm' ? { overrides: deps } : { pnpm: { overrides: deps } }),
  };
  write(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const args =
    pm === 'npm'
      ? ['install', '--no-audit', '--no-fund', '--foreground-scripts']
      : ['install', '--no-frozen-lockfile', '--reporter=append-only'];
  return { dir, install: run(pm, args, { cwd: dir, env: userEnv(path) }) };
}

for (const pm of ['npm', 'pnpm'] as const) {
  describe(`installed with ${pm}, with no compiler, make or python on the PATH`, () => {
    let dir: string;
    let install: ReturnType<typeof run>;
    const env = () => userEnv(path, { SHM_REGISTRY_DIR: join(dir, 'registry') });
    const node = (args: string[], extra: Record<string, string> = {}) =>
      run(process.execPath, args, { cwd: dir, env: { ...env(), ...extra } });

    before(() => {
      ({ dir, install } = makeProject(pm));
    });

    it('installs without building anything', () => {
      assert.equal(install.code, 0, install.log);
      for (const t of BUILD_TOOLS)
        assert.notEqual(run('sh', ['-c', `command -v ${t}`], { env: env() }).code, 0, t);
      const native = join(dir, 'node_modules', '@shm', 'native');
      assert.ok(!existsSync(join(native, 'build')), 'a build/ directory was made at install');
      if (pm === 'npm') {
        // npm ran the install script, which found the prebuilt binary and built nothing.
        assert.match(
          install.stdout,
          /@shm\/native: using .*prebuilds\/linux-x64\/shm_native\.napi\.glibc\.node/,
        );
      } else {
        // pnpm 10 ran no build script: the addon must work without it.
        assert.match(install.stdout + install.stderr, /Ignored build scripts:.*@shm\/native/s, install.log);
      }
      for (const t of tarballs) {
        const m = JSON.parse(
          readFileSync(join(dir, 'node_modules', t.manifest.name, 'package.json'), 'utf8'),
        );
        assert.equal(m.version, t.manifest.version, `${t.manifest.name} did not come from its tarball`);
      }
    });

    it('loads the prebuilt addon at run time', () => {
      const r = node([
        '--input-type=module',
        '-e',
        `import { features } from '@shm/native'; import { readFileSync } from 'node:fs';
         const f = features();
         const mapped = readFileSync('/proc/self/maps', 'utf8').split('\\n').find((l) => l.includes('shm_native'));
         console.log(f.platform, mapped.slice(mapped.indexOf('/')));`,
      ]);
      assert.equal(r.code, 0, r.log);
      assert.match(r.stdout, new RegExp(`^linux .*/${hostPrebuild.replace(/\./g, '\\.')}\\n$`));
    });

    it('is ESM only, and require() of every package works where Node has require(esm) (>= 20.19, >= 22.12)', (t) => {
      const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
      if (!((major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major > 22)) {
        t.skip(`Node ${process.version} has no require(esm)`);
        return;
      }
      for (const t of tarballs) {
        const r = node([
          '-e',
          `const m = require('${t.manifest.name}'); if (!Object.keys(m).length) process.exit(3);`,
        ]);
        assert.equal(r.code, 0, r.log);
      }
    });

    for (const p of packages) {
      for (const s of quickStarts(p)) {
        it(`runs the quick start of ${p.name} (${s.file}:${s.line})`, () => {
          const name = sampleName(s);
          let file = join(dir, 'samples', `${name}.mjs`);
          if (s.lang === 'ts') {
            write(join(dir, 'samples-ts', `${name}.ts`), s.code);
            // TypeScript as a user compiles it (node16 resolution), then the emitted JavaScript runs.
            const tsc = run(process.execPath, [tscJs, '-p', tsconfig(dir, 'node16', true)], {
              cwd: dir,
              env: env(),
            });
            assert.equal(tsc.code, 0, tsc.log);
            file = join(dir, 'samples-out', `${name}.js`);
          } else write(file, s.code);
          const r = runIsolated([process.execPath, file], {
            cwd: join(file, '..'),
            env: env(),
            timeout: 120_000,
          });
          assert.equal(r.code, 0, r.log);
          if (s.expectedOutput !== undefined)
            assert.ok(outputMatches(s.expectedOutput, r.stdout), `expected:\n${s.expectedOutput}\n${r.log}`);
          assert.deepEqual(r.leftovers, [], 'the quick start left shared memory behind');
        });
      }
    }

    it('type-checks the TypeScript quick starts and every package entry with moduleResolution node16 and bundler', () => {
      const imports = tarballs.map((t, i) => `export * as p${i} from '${t.manifest.name}';`).join('\n');
      write(join(dir, 'samples-ts', 'all-entries.ts'), `${imports}\n`);
      for (const p of packages)
        for (const s of quickStarts(p).filter((x) => x.lang === 'ts'))
          write(join(dir, 'samples-ts', `${sampleName(s)}.ts`), s.code);
      for (const mode of ['node16', 'bundler'] as const) {
        const r = run(process.execPath, [tscJs, '-p', tsconfig(dir, mode, false)], {
          cwd: dir,
          env: env(),
        });
        assert.equal(r.code, 0, `${mode}:\n${r.log}`);
      }
    });

    it('runs the shm CLI through npx and node_modules/.bin, and rm really removes', () => {
      const store = `shm-pack-cli-${pm}-${process.pid}`;
      const sh = (cmd: string[], extra: Record<string, string> = {}) =>
        run(cmd[0]!, cmd.slice(1), { cwd: dir, env: { ...env(), ...extra } });
      assert.match(sh(['npx', 'shm', '--help']).stdout, /^Usage: shm <command>/);
      const made = node([
        '--input-type=module',
        '-e',
        `import { Store } from '@shm/core'; const s = Store.create({ name: '${store}', serializer: 'json' }); s.setValue({ a: 1 }); s.close();`,
      ]);
      assert.equal(made.code, 0, made.log);
      try {
        const ls = sh(['npx', 'shm', 'ls']);
        assert.equal(ls.code, 0, ls.log);
        assert.match(ls.stdout, new RegExp(`/${store}`), ls.log);
        const dotBin = sh([join(dir, 'node_modules', '.bin', 'shm'), 'ls', '--json']);
        assert.equal(dotBin.code, 0, dotBin.log);
        assert.ok(JSON.parse(dotBin.stdout).registry.some((e: { id: string }) => e.id === `/${store}`));
        const inspect = sh(['npx', 'shm', 'inspect', store]);
        assert.equal(inspect.code, 0, inspect.log);
        assert.equal(JSON.parse(inspect.stdout).format, '@shm store');
        // With an addon that cannot load, rm fails and the object stays.
        const broken = sh(['npx', 'shm', 'rm', store], { SHM_NATIVE_PATH: join(dir, 'no-such.node') });
        assert.equal(broken.code, 1, broken.log);
        assert.doesNotMatch(broken.stdout, /removed/);
        assert.ok(existsSync(`/dev/shm/${store}`));
        const rm = sh(['npx', 'shm', 'rm', store]);
        assert.equal(rm.code, 0, rm.log);
        assert.match(rm.stdout, new RegExp(`removed store ${store}`));
        assert.ok(!existsSync(`/dev/shm/${store}`), 'shm rm printed "removed" but the object is still there');
        assert.equal(sh(['npx', 'shm', 'inspect', store]).code, 1);
        assert.equal(sh(['npx', 'shm', 'rm', store]).code, 1);
      } finally {
        rmSync(`/dev/shm/${store}`, { force: true });
      }
    });

    it('runs when bundled by esbuild, with @shm/native external as the README says, and fully inlined', () => {
      const app = join(dir, 'bundle-src', 'app.mjs');
      const store = `shm-pack-bundle-${pm}-${process.pid}`;
      write(
        app,
        `import { Store } from '@shm/core';
const s = Store.create({ name: '${store}', serializer: 'json' });
s.setValue({ bundled: true });
console.log(JSON.stringify(s.getValue()));
s.destroy();
`,
      );
      const esbuild = bin('esbuild');
      for (const [out, extra] of [
        ['external.mjs', ['--external:@shm/native']],
        ['inlined.mjs', []],
      ] as const) {
        const b = run(
          esbuild,
          [
            app,
            '--bundle',
            '--platform=node',
            '--format=esm',
            `--outfile=${join(dir, 'dist', out)}`,
            ...extra,
          ],
          { cwd: dir, env: env() },
        );
        assert.equal(b.code, 0, b.log);
        const r = node([join(dir, 'dist', out)]);
        assert.equal(r.code, 0, `${out}:\n${r.log}`);
        assert.equal(r.stdout, '{"bundled":true}\n');
      }
      // Inlined and moved where no node_modules/@shm/native can be found, the error says what to do.
      const lone = join(work, `lone-${pm}`, 'inlined.mjs');
      write(lone, readFileSync(join(dir, 'dist', 'inlined.mjs'), 'utf8'));
      const r = run(process.execPath, [lone], { cwd: join(lone, '..'), env: env() });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /ERR_SHM_NATIVE_LOAD|Could not load the @shm\/native addon/);
      assert.match(r.stderr, /--external:@shm\/native/);
      rmSync(`/dev/shm/${store}`, { force: true });
    });

    describe('a damaged addon', () => {
      let copy: string;
      let native: string;
      const load = () =>
        run(
          process.execPath,
          ['--input-type=module', '-e', "import { features } from '@shm/native'; features();"],
          {
            cwd: copy,
            env: env(),
          },
        );
      const fix = pm === 'npm' ? 'rm -rf <package> && npm install' : 'pnpm install --force';
      // A copy of the project, so the other tests keep an intact install; files are replaced, not truncated in
      // place (pnpm hard-links node_modules to its store).
      before(() => {
        copy = join(work, `damaged-${pm}`);
        cpSync(dir, copy, { recursive: true, verbatimSymlinks: true });
        native = run('node', ['-p', "require('path').dirname(require.resolve('@shm/native/package.json'))"], {
          cwd: copy,
          env: env(),
        }).stdout.trim();
        assert.ok(native.startsWith(copy), `${native} is not inside ${copy}`);
      });
      const replace = (data: Buffer) => {
        const f = join(native, hostPrebuild);
        writeFileSync(`${f}.new`, data);
        rmSync(f);
        renameSync(`${f}.new`, f);
      };
      const command = () => fix.replace('<package>', native);
      const fixAndLoad = () => {
        const r = run('sh', ['-c', command()], { cwd: copy, env: env() });
        assert.equal(r.code, 0, r.log);
        const again = load();
        assert.equal(again.code, 0, `${fix} did not repair the addon:\n${again.log}`);
      };

      it(`names a truncated binary, says it is truncated, and \`${fix}\` repairs it`, () => {
        const good = readFileSync(join(native, hostPrebuild));
        replace(good.subarray(0, 4096));
        const r = load();
        assert.notEqual(r.code, 0);
        assert.match(
          r.stderr,
          new RegExp(`${hostPrebuild.replace(/\./g, '\\.')}: truncated: the file has 4096 bytes`),
        );
        assert.ok(r.stderr.includes(`\`${command()}\``), r.log);
        assert.doesNotMatch(r.stderr, /--filter|build:native/, 'a monorepo command in a user-facing error');
        fixAndLoad();
      });

      it(`names a binary for another architecture, says which, and \`${fix}\` repairs it`, () => {
        const arm = readFileSync(join(native, 'prebuilds', 'linux-arm64', 'shm_native.napi.glibc.node'));
        replace(arm);
        const r = load();
        assert.notEqual(r.code, 0);
        assert.match(
          r.stderr,
          /wrong architecture: built for arm64 \(64-bit ELF\), but this process is x64/,
          r.log,
        );
        assert.ok(r.stderr.includes(`\`${command()}\``), r.log);
        fixAndLoad();
      });

      it('with no prebuilt binary for this platform, lists where it looked and the rebuild command, which needs a compiler', () => {
        rmSync(join(native, 'prebuilds', `linux-${process.arch}`), { recursive: true });
        const r = load();
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /prebuilds\/linux-x64\/: not found \(no prebuilt binary for linux-x64\)/);
        assert.match(r.stderr, /build\/Release\/shm_native\.node: not found \(no source build\)/);
        assert.match(r.stderr, /This package has prebuilt binaries for: linux-arm64, win32-x64/);
        const cmd =
          pm === 'npm' ? '`npm rebuild @shm/native`' : '`pnpm approve-builds` and select @shm/native';
        assert.ok(r.stderr.includes(cmd), r.log);
        const withCompiler = { ...env(), PATH: process.env.PATH!, npm_config_nodedir: '/usr' };
        if (pm === 'pnpm') {
          // Approving the build (--all: the only one pending is @shm/native) builds the addon at once.
          const approve = run('pnpm', ['approve-builds', '--all'], { cwd: copy, env: withCompiler });
          assert.equal(approve.code, 0, approve.log);
          assert.ok(existsSync(join(native, 'build', 'Release', 'shm_native.node')), approve.log);
          assert.equal(load().code, 0, load().log);
        }
        if (pm === 'npm') {
          // Without a compiler the rebuild fails loudly...
          const noCc = run('npm', ['rebuild', '@shm/native', '--foreground-scripts'], {
            cwd: copy,
            env: env(),
          });
          assert.notEqual(noCc.code, 0, noCc.log);
          assert.match(noCc.stderr + noCc.stdout, /needs python3, make and a C\+\+17 compiler/);
          // ...and with one (and local Node headers: this machine cannot download them) it builds the addon.
          const withCc = run('npm', ['rebuild', '@shm/native', '--foreground-scripts'], {
            cwd: copy,
            env: withCompiler,
          });
          assert.equal(withCc.code, 0, withCc.log);
          assert.ok(existsSync(join(native, 'build', 'Release', 'shm_native.node')));
          assert.equal(load().code, 0, load().log);
        }
      });
    });
  });
}

/** Writes tsconfig-<mode>.json for the project's TypeScript samples and returns its path. */
function tsconfig(dir: string, mode: 'node16' | 'bundler', emit: boolean): string {
  const file = join(dir, `tsconfig-${mode}${emit ? '-emit' : ''}.json`);
  const options = {
    target: 'ES2022',
    module: mode === 'node16' ? 'node16' : 'esnext',
    moduleResolution: mode,
    strict: true,
    skipLibCheck: false,
    types: ['node'],
    typeRoots: [join(root, 'node_modules', '@types')],
    ...(emit ? { outDir: join(dir, 'samples-out'), rootDir: join(dir, 'samples-ts') } : { noEmit: true }),
  };
  writeFileSync(file, JSON.stringify({ compilerOptions: options, include: ['samples-ts/*.ts'] }, null, 2));
  return file;
}
