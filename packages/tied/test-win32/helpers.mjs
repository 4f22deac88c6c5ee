// The Windows suite of @shm/tied reuses @shm/core's helpers (staged packages, unique names, peers).
export * from '../../core/test-win32/helpers.mjs';

import { load } from '../../core/test-win32/helpers.mjs';

/** The staged @shm/tied. */
export const tiedPkg = await load('tied');
