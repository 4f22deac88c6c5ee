import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { choosePlatform, platformByName } from '../../src/platform/choose-platform.js';
import { MemoryPlatform } from '../../src/platform/memory-platform.js';
import { describePlatform } from './platform-suite.js';

// The conformance suite against every Platform that runs here: the OS's own (Linux), and the memory one.
// (darwin is type-checked only; win32 runs the same suite under Wine: test-win32/conformance.test.mjs.)

if (process.platform === 'linux') {
  describePlatform('linux', {
    make: () => platformByName('linux'),
    deadOwner() {
      // A process that has exited: on Linux its main thread's id is its pid.
      const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
      return Number(String(r.stdout));
    },
  });
}

describePlatform('memory', {
  make: () => new MemoryPlatform(),
  deadOwner(p) {
    const table = (p as MemoryPlatform).table;
    const me = table.gettid();
    const tid = table.startProcess();
    table.kill(table.getpid());
    table.run(me);
    return tid;
  },
});

describe('choosePlatform', () => {
  it('takes SHM_PLATFORM by name, else process.platform, and names the choices for an unknown one', () => {
    expect(choosePlatform('memory', 'linux').name).toBe('memory');
    expect(choosePlatform(undefined, 'linux').name).toBe('linux');
    expect(choosePlatform('', 'win32').name).toBe('win32');
    expect(choosePlatform(undefined, 'darwin').name).toBe('darwin');
    expect(() => choosePlatform('solaris', 'linux')).toThrow(
      /Expected one of linux, darwin, win32, memory for SHM_PLATFORM but received "solaris"/,
    );
  });

  it('falls back to the addon platform on another OS', () => {
    expect(choosePlatform(undefined, 'freebsd').name).toBe(process.platform === 'win32' ? 'win32' : 'linux');
  });

  it('offers capabilities as data', () => {
    const linux = platformByName('linux');
    const win = platformByName('win32');
    expect([linux.wakeWakesAll, linux.removableWhileMapped, linux.mapsFds]).toEqual([true, true, true]);
    expect([win.wakeWakesAll, win.removableWhileMapped, win.mapsFds]).toEqual([false, false, false]);
    expect(win.namedBackend).toBe('win32');
    expect(Object.keys(linux.kinds).sort()).toEqual(['file', 'memfd', 'posix', 'sysv']);
    expect(Object.keys(win.kinds).sort()).toEqual(['file', 'memfd', 'win32']);
  });
});
