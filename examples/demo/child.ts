// Children of the demonstration's first acts: each opens what the primary shares and writes to it.
import { MmapShare } from '@shm/mmap-share';
import { tie, tied } from '@shm/tied';

const [role, arg] = process.argv.slice(2) as [string, string];

if (role === 'tied') {
  // Same name, same variable: no handle was passed, the name is enough.
  const cfg = tie({}, 'config', { namespace: arg }) as { hits?: number; db: { port: number } };
  for (let i = 0; i < 500; i++) tied(cfg).withWriteLock(() => (cfg.hits = (cfg.hits ?? 0) + 1));
  if (process.env.DEMO_CHILD === '0') cfg.db.port = 6543; // a nested object writes through
  process.send?.(
    `tied child ${process.pid}: 500 locked increments${process.env.DEMO_CHILD === '0' ? ', set cfg.db.port = 6543' : ''}`,
  );
} else if (role === 'mmap') {
  // The anonymous area arrived as an fd in a stdio slot: nothing names it anywhere.
  const share = MmapShare.inherited();
  for (let i = 0; i < 300; i++)
    share.update((v: { count: number } | undefined) => ({ count: (v?.count ?? 0) + 1 }));
  process.send?.(`mmap child ${process.pid}: 300 locked increments through the inherited area`);
  share.close();
}
