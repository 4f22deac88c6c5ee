// The macOS-only part of the addon (cpp/darwin): the word waits of linux.ts's WaitBinding, over
// __ulock_wait/__ulock_wake; no memfd (core uses an unlinked POSIX object instead).

/** Exported on macOS only: the word waits, over `__ulock_wait`/`__ulock_wake` (no memfd: see region.ts). */
export const darwinExports = ['futexWait', 'futexWake', 'futexWaitAsync', 'asyncWaitStats'] as const;
