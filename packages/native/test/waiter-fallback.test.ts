// The thread-per-wait waiter, which Linux without futex_waitv (before 5.16) and macOS use. SHM_WAITER is read
// when this process's first async wait creates the waiter; vitest runs each test file in its own process.
process.env.SHM_WAITER = 'thread';
const { describeWaiter } = await import('./waiter-suite.js');

describeWaiter('thread', { SHM_WAITER: 'thread' });
