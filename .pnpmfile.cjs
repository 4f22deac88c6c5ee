// pnpm hooks. beforePacking shapes the package.json that `pnpm pack` and `pnpm publish` put in each tarball
// (docs/decisions/0003-prebuilt-binaries.md, RELEASING.md); the package.json files in the repository stay as they are.
// - The `@shm/source` export condition points at src/*.ts, which is not published: it is removed.
// - devDependencies name private workspace packages (@shm/test-utils, @shm/tsconfig) and only serve this
//   repository's builds and tests: removed. So are scripts, except the install lifecycle scripts a user's
//   package manager runs (@shm/native's install).
const SOURCE_CONDITION = '@shm/source';
const LIFECYCLE = new Set(['preinstall', 'install', 'postinstall']);

function stripCondition(value) {
  if (Array.isArray(value)) return value.map(stripCondition);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) if (k !== SOURCE_CONDITION) out[k] = stripCondition(v);
  return out;
}

module.exports = {
  hooks: {
    beforePacking(pkg) {
      if (pkg.exports) pkg.exports = stripCondition(pkg.exports);
      delete pkg.devDependencies;
      if (pkg.scripts) {
        const kept = Object.fromEntries(Object.entries(pkg.scripts).filter(([k]) => LIFECYCLE.has(k)));
        if (Object.keys(kept).length) pkg.scripts = kept;
        else delete pkg.scripts;
      }
      return pkg;
    },
  },
};
