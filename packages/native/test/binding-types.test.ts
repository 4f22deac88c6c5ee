import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  bindingExports,
  type MemfdBinding,
  type NativeGuardedCopy,
  type NativeMapping,
  type NativeSemTables,
  type PosixBinding,
  type ProcessBinding,
  type SysvBinding,
  type WaitBinding,
  type Win32Binding,
} from '../src/binding-types.js';
import { features, loadBinding } from '../src/index.js';

// The export groups this platform's addon must have (see cpp/addon.cc).
function groupsForThisPlatform(): (keyof typeof bindingExports)[] {
  const f = features();
  const groups: (keyof typeof bindingExports)[] = ['common'];
  if (f.posix) groups.push('posix');
  if (f.sysv) groups.push('sysv');
  groups.push(f.platform); // linux, darwin and win32 each have a group of their own
  return groups;
}

const objectExports = new Set([
  'features',
  'fdConstants',
  'memfdConstants',
  'sysvConstants',
  'win32Constants',
]);

describe('the typed mirror of the addon (binding-types.ts)', () => {
  it('lists exactly the members of each binding interface in bindingExports', () => {
    // Checked by tsc (npm run typecheck): a member added to an interface but not to the list fails to compile.
    expectTypeOf<(typeof bindingExports.posix)[number]>().toEqualTypeOf<keyof PosixBinding>();
    expectTypeOf<(typeof bindingExports.sysv)[number]>().toEqualTypeOf<keyof SysvBinding>();
    expectTypeOf<(typeof bindingExports.linux)[number]>().toEqualTypeOf<
      keyof MemfdBinding | keyof WaitBinding
    >();
    // macOS: the waits over ulock, and no memfd (core makes anonymous areas from unlinked shm_open objects).
    expectTypeOf<(typeof bindingExports.darwin)[number]>().toEqualTypeOf<keyof WaitBinding>();
    expectTypeOf<
      Extract<(typeof bindingExports.darwin)[number], keyof MemfdBinding>
    >().toEqualTypeOf<never>();
    expectTypeOf<(typeof bindingExports.win32)[number]>().toEqualTypeOf<keyof Win32Binding>();
    expectTypeOf<Exclude<(typeof bindingExports.common)[number], keyof ProcessBinding>>().toEqualTypeOf<
      'Mapping' | 'setErrorClass' | 'features'
    >();
    expect(bindingExports.common).toContain('getpid');
  });

  it('finds every name declared for this platform in the loaded addon, with the declared typeof', () => {
    const b = loadBinding() as unknown as Record<string, unknown>;
    const names = groupsForThisPlatform().flatMap((g) => [...bindingExports[g]]);
    const wrong = names
      .map((n) => ({ n, want: objectExports.has(n) ? 'object' : 'function', got: typeof b[n] }))
      .filter((x) => x.want !== x.got);
    expect(wrong).toEqual([]);
  });

  it('finds nothing in the addon that binding-types.ts does not declare for this platform', () => {
    const declared = new Set<string>(groupsForThisPlatform().flatMap((g) => [...bindingExports[g]]));
    const undeclared = Object.keys(loadBinding()).filter((k) => !declared.has(k));
    expect(undeclared).toEqual([]);
  });

  it('declares the exact constant names the addon exports', () => {
    const b = loadBinding();
    const fd: (keyof PosixBinding['fdConstants'])[] = [
      'O_RDONLY',
      'O_RDWR',
      'O_CREAT',
      'O_EXCL',
      'O_TRUNC',
      'PAGE_SIZE',
    ];
    const sysv: (keyof SysvBinding['sysvConstants'])[] = [
      'IPC_CREAT',
      'IPC_EXCL',
      'IPC_NOWAIT',
      'IPC_PRIVATE',
      'SEM_UNDO',
    ];
    const memfd: (keyof MemfdBinding['memfdConstants'])[] = [
      'F_SEAL_SHRINK',
      'F_SEAL_GROW',
      'F_SEAL_SEAL',
      'F_SEAL_WRITE',
    ];
    expect(Object.keys(b.fdConstants!).sort()).toEqual([...fd].sort());
    expect(Object.keys(b.sysvConstants!).sort()).toEqual([...sysv].sort());
    // Linux only: macOS has no memfd, and the addon there exports no memfd constants (darwin group above).
    if (features().memfd) expect(Object.keys(b.memfdConstants!).sort()).toEqual([...memfd].sort());
    else expect(b.memfdConstants).toBeUndefined();
    for (const v of [...Object.values(b.fdConstants!), ...Object.values(b.sysvConstants!)]) {
      expect(Number.isInteger(v)).toBe(true);
    }
  });

  it('gives Mapping objects exactly the members NativeMapping declares', () => {
    const proto = (loadBinding().Mapping as { prototype: object }).prototype;
    const members: (keyof NativeMapping)[] = ['buffer', 'size', 'closed', 'kind', 'close'];
    expect(
      Object.getOwnPropertyNames(proto)
        .filter((n) => n !== 'constructor')
        .sort(),
    ).toEqual([...members].sort());
  });

  it('gives SemTables objects exactly the members NativeSemTables declares', () => {
    const Tables = loadBinding().SemTables;
    if (!Tables) return; // no SysV on this platform
    const members: (keyof NativeSemTables)[] = ['id'];
    expect(
      Object.getOwnPropertyNames(Tables.prototype)
        .filter((n) => n !== 'constructor')
        .sort(),
    ).toEqual([...members].sort());
  });

  it('gives GuardedCopy objects exactly the members NativeGuardedCopy declares', () => {
    const Plan = loadBinding().GuardedCopy;
    if (!Plan) return; // no SysV on this platform
    const members: (keyof NativeGuardedCopy)[] = ['id'];
    expect(
      Object.getOwnPropertyNames(Plan.prototype)
        .filter((n) => n !== 'constructor')
        .sort(),
    ).toEqual([...members].sort());
  });

  it('refuses to construct a Mapping from JavaScript', () => {
    const Mapping = loadBinding().Mapping as new () => unknown;
    expect(() => new Mapping()).toThrow(TypeError);
  });
});
