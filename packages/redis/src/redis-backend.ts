import { expected, LockStatus, ShmError, type Store, type StoreOptions } from '@shm/core';
import { RedisConnection, type RedisConnectionOptions } from './redis-connection.js';
import { RedisStore } from './redis-store.js';

/** Options of redisBackend(). */
export interface RedisBackendOptions extends RedisConnectionOptions {
  /** The connection to use (default: one of its own to `url`, opened on first use). */
  connection?: RedisConnection;
  /** Key prefix of every variable's keys (default 'shm:'). */
  prefix?: string;
  /** Lock lease of every variable, in ms (default 10000). */
  leaseMs?: number;
}

/**
 * @shm/tied's variables on Redis: `tie({}, 'config', { backend: redisBackend({ url }) })`. Every process, on any
 * host, that ties the same name (and namespace) on the same server shares the variable; nested objects are
 * variables of their own, as in shared memory. Each write takes the variable's lease, reads the value if it changed,
 * commits it with the fencing token and releases the lease (a few round trips); an unchanged read costs nothing.
 * Variables without a name (and handles) are not for several hosts: their holders are process ids.
 */
export function redisBackend(options: RedisBackendOptions = {}): {
  /** 'redis host:port'. */
  readonly name: string;
  /** Opens a variable's store (ENOENT when missing), shaped as the core Store members tied uses. */
  open(options: StoreOptions): Store;
  /** Creates a variable's store (EEXIST on an exclusive create of an existing one). */
  create(options: StoreOptions): Store;
} {
  if (typeof options !== 'object' || options === null)
    throw expected('an options object', 'options', options);
  const { connection, prefix, leaseMs, ...conn } = options;
  if (connection !== undefined && !(connection instanceof RedisConnection)) {
    throw expected('a RedisConnection', 'options.connection', connection);
  }
  let c = connection;
  const connect = () => {
    if (!c || c.closed) c = RedisConnection.connectSync(conn);
    return c;
  };
  const label =
    connection?.label ?? `redis ${(conn.url ?? 'redis://127.0.0.1:6379').replace(/^\w+:\/\/([^@]*@)?/, '')}`;
  const open = (o: StoreOptions, create: boolean): Store => {
    const name = o.name ?? o.path ?? (o.key !== undefined ? `key ${o.key}` : undefined);
    if (name === undefined) throw expected('a named variable', 'tie() over Redis', o);
    try {
      const store = RedisStore[create ? 'create' : 'open']({
        connection: connect(),
        name,
        ...(o.serializer !== undefined ? { serializer: o.serializer } : {}),
        ...(o.exclusive ? { exclusive: true } : {}),
        ...(prefix !== undefined ? { prefix } : {}),
        ...(leaseMs !== undefined ? { leaseMs } : {}),
      });
      // Not a core Store: it has the members VarNode uses (the StoreProvider contract of @shm/tied).
      return new TiedRedisStore(store) as unknown as Store;
    } catch (e) {
      // tied asks core's questions (isNotFoundError, isExistsError): answer them in core's codes.
      if (ShmError.isInstance(e) && (e.code === 'ERR_SHM_NOT_FOUND' || e.code === 'ERR_SHM_EXISTS')) {
        throw new ShmError(e.code === 'ERR_SHM_NOT_FOUND' ? 'ENOENT' : 'EEXIST', e.message, {
          target: name,
          cause: e,
        });
      }
      throw e;
    }
  };
  return {
    name: label,
    open: (o) => open(o, false),
    create: (o) => open(o, true),
  };
}

/** A RedisStore with the members of core's Store that @shm/tied's VarNode uses. */
class TiedRedisStore {
  readonly #s: RedisStore;
  readonly region: { backend: 'redis'; created: boolean; id: string };

  constructor(s: RedisStore) {
    this.#s = s;
    this.region = { backend: 'redis', created: s.created, id: `${s.connection.label}/${s.name}` };
  }

  get name(): string {
    return this.#s.name;
  }
  get lock() {
    return this.#s.lock;
  }
  get stats() {
    return this.#s.stats;
  }
  get serial(): number {
    return this.#s.serial;
  }
  get closed(): boolean {
    return this.#s.closed;
  }
  get serializerId(): number {
    return this.#s.serializerId;
  }
  getValue<T>(): T | undefined {
    return this.#s.getValue<T>();
  }
  setValue(v: unknown): number {
    return this.#s.setValue(v);
  }
  storeLocked(bytes: Uint8Array, sid = 0): number {
    return this.#s.storeLocked(bytes, sid);
  }
  /** Core's update(): `fn` runs once, under the exclusive lease (tied counts on that), told if a holder died. */
  update<T>(fn: (cur: T | undefined, info: { ownerDied: boolean }) => T | undefined): T | undefined {
    const status = this.#s.lock.lock();
    try {
      const next = fn(this.#s.getValue<T>(), { ownerDied: status === LockStatus.OwnerDied });
      if (next !== undefined) this.#s.setValueLocked(next);
      return next;
    } finally {
      this.#s.lock.unlock();
    }
  }
  close(): void {
    this.#s.close();
  }
  destroy(): void {
    this.#s.destroy();
  }
  debug() {
    const d = this.#s.debug();
    return {
      name: d.name,
      backend: 'redis',
      serial: d.serial,
      length: d.length,
      capacity: this.#s.capacity,
      inlineCapacity: 0,
      segments: [],
      lock: d.lock,
      stats: d.stats,
    };
  }
}
