// One demo worker: increments the shared counter under the store's exclusive lock.
import { LockStatus, Store } from '@shm/core';

type Shared = { count: number; by: Record<string, number>; recoveries: number };
const [name, id, n, role] = process.argv.slice(2) as [string, string, string, string];
const store = Store.open({ name, serializer: 'json' });
const send = (event: string, detail?: string) => process.send?.({ event, detail });

send('started', `opened ${name}, will add ${n}${role === 'victim' ? ' (but will be killed halfway)' : ''}`);
for (let i = 0; i < Number(n); i++) {
  const status = store.lock.lock();
  const v = store.getValue<Shared>()!;
  if (status === LockStatus.OwnerDied) {
    v.recoveries++;
    send('recovered', 'took over the lock from a dead holder (LockStatus.OwnerDied); the value is intact');
  }
  const next: Shared = { ...v, count: v.count + 1, by: { ...v.by, [id]: (v.by[id] ?? 0) + 1 } };
  if (role === 'victim' && i === Math.floor(Number(n) / 2)) {
    send('holding');
    setInterval(() => {}, 1000); // hang here, lock held, until SIGKILL
    await new Promise(() => {});
  }
  store.setValueLocked(next);
  store.lock.unlock();
}
send('done', `added ${n}`);
store.close();
