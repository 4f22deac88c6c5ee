import { features } from '@shm/native';
import { darwinPlatform } from './darwin-platform.js';
import { linuxPlatform } from './linux-platform.js';
import { MemoryPlatform } from './memory-platform.js';
import type { Platform, PlatformName } from './platform.js';
import { win32Platform } from './win32-platform.js';

// Which Platform core uses, chosen once per thread at first use (as @parcel/watcher picks its backend): the one
// named by SHM_PLATFORM if set (tests: SHM_PLATFORM=memory), else the one of process.platform, else (another
// POSIX system the addon was built for) the addon's own. Each region keeps the platform it was made with.

const BY_NAME: Record<PlatformName, () => Platform> = {
  linux: () => linuxPlatform,
  darwin: () => darwinPlatform,
  win32: () => win32Platform,
  memory: () => new MemoryPlatform(),
};

/** The platform called `name` (a fresh MemoryPlatform for 'memory'). RangeError for an unknown name. */
export function platformByName(name: string): Platform {
  const make = Object.hasOwn(BY_NAME, name) ? BY_NAME[name as PlatformName] : undefined;
  if (make === undefined)
    throw new RangeError(
      `Expected one of ${Object.keys(BY_NAME).join(', ')} for SHM_PLATFORM but received ${JSON.stringify(name)}`,
    );
  return make();
}

/** The platform for this process: SHM_PLATFORM, else process.platform, else the addon's platform. */
export function choosePlatform(
  env: string | undefined = process.env.SHM_PLATFORM,
  os: string = process.platform,
): Platform {
  if (env !== undefined && env !== '') return platformByName(env);
  if (os === 'linux' || os === 'darwin' || os === 'win32') return platformByName(os);
  return platformByName(features().platform);
}

let current: Platform | undefined;

/** The platform new regions get (chosen on first use). */
export function currentPlatform(): Platform {
  if (current === undefined) current = choosePlatform();
  return current;
}

/**
 * Makes `p` the platform of regions made from now on in this thread; returns the previous one (for tests: put it
 * back in `afterEach`). Regions already made keep theirs.
 */
export function setPlatform(p: Platform): Platform {
  const before = currentPlatform();
  current = p;
  return before;
}
