import { randomBytes } from 'node:crypto';
import {
  isAlive,
  isExistsError,
  isNotFoundError,
  LockStatus,
  type Serializer,
  ShmError,
  serializerId,
} from '@shm/core';
import {
  type Envelope,
  emptyOf,
  isRef,
  type Kind,
  kindName,
  REF_KEY,
  type Ref,
  refCounts,
  refCountsOf,
} from './envelope.js';
import { checkEnvelope } from './envelope-check.js';
import { isExactLean, type LeanSerializer, leanSerializer } from './lean-envelope.js';
import { setOwn } from './plain-object.js';
import type { Prep } from './prep.js';
import { releaseRefs } from './release-refs.js';
import { Store, type StoreOptions } from './store-provider.js';
import { anonymousId, isAnonymousId, isVariableId, type Space, storeAddress } from './tie-options.js';

/** Builds the user-facing object (Proxy or tied ScalarRef) of a node; set by tie.ts to avoid an import cycle. */
let wrap: (node: VarNode) => object = () => {
  throw new Error('@shm/tied: proxy factory not installed');
};
export function setWrapper(f: (node: VarNode) => object): void {
  wrap = f;
}

/** Every variable this process has open, by id: one node (one Store, one lock handle) per variable per thread. */
const nodes = new Map<string, VarNode>();
/** Proxy / tied ScalarRef -> its node. */
const owners = new WeakMap<object, VarNode>();

export function nodeOf(x: unknown): VarNode | undefined {
  return typeof x === 'object' && x !== null ? owners.get(x) : undefined;
}

export function openNodes(): IterableIterator<VarNode> {
  return nodes.values();
}

/** How errors name a variable: its name, its SysV key, or its segment. */
function labelOf(id: string, name: string | undefined): string {
  return name !== undefined ? `'${name}'` : id.startsWith('k:') ? `key ${id.slice(2)}` : id.slice(2);
}

function notFound(label: string, why: string): ShmError {
  return new ShmError('ERR_SHM_NOT_FOUND', `Tied variable ${label} ${why}`, { target: label });
}

export function isCode(e: unknown, ...codes: string[]): boolean {
  return ShmError.isInstance(e) && codes.includes(e.code);
}

/**
 * One tied variable open in this process: its Store, the decoded envelope cached by serial, its user-facing object,
 * and the lock state the Tied control object exposes.
 */
export class VarNode {
  readonly id: string;
  readonly kind: Kind;
  readonly space: Space;
  /** Display name for errors and debug(). */
  readonly label: string;
  readonly name: string | undefined;
  #store: Store | undefined;
  #sid: number;
  #serial = -1;
  #env: Envelope | undefined;
  /**
   * A scalar's envelope as this process last committed it when that value could not be cached for readers (bytes,
   * a Date...: see Prep.exact), with `v` left out: what the next write() needs (`t`, `l`, `h`, and that `v` held no
   * reference) without fetching and decoding the value it replaces. Good while the serial is still `#wSerial`.
   */
  #wEnv: Envelope | undefined;
  #wSerial = -1;
  /** The serializer of this scalar's store when it takes lean writes (see writeLean), else undefined. */
  readonly #lean: LeanSerializer | undefined;
  /** The envelope prefix writeLean() last used, and the count and holders it encodes. */
  #leanPrefix: Uint8Array | undefined;
  #leanL = -1;
  #leanH: readonly number[] = [];
  #object: object | undefined;
  /** tie() calls in this process not yet untied (0 for a node only reached through a parent). */
  ties = 0;
  /** Set by tie({destroy: true}): remove at untie or exit. */
  destroyOnUntie = false;
  /** This process is a holder of this anonymous root variable. */
  holder = false;
  /** The lock taken through Tied: 0 none, 1 read, 2 write. */
  userLock: 0 | 1 | 2 = 0;
  /** The last lock acquire (of any kind) took the lock over from a process that died holding it. */
  ownerDied = false;
  #removed = false;
  /** untie()d as a top-level variable: using it again is an error (nested nodes reopen on use instead). */
  #untied = false;
  readonly stats = {
    /** Reads that decoded the value afresh. */
    decodes: 0,
    /** Reads served from the decoded copy. */
    cacheHits: 0,
    /** Writes committed by this process. */
    commits: 0,
  };

  private constructor(id: string, kind: Kind, space: Space, store: Store, name: string | undefined) {
    this.id = id;
    this.kind = kind;
    this.space = space;
    this.#store = store;
    this.#sid = serializerId(space.serializer);
    this.#lean = kind === 'scalar' ? VarNode.#leanOf(space) : undefined;
    this.name = name;
    this.label = labelOf(id, name);
  }

  // ------------------------------------------------------------------ opening and creating

  /** Core stores get the lean wrapper of the serializer (same name, id and bytes); other providers the serializer. */
  static #leanOf(space: Space): LeanSerializer | undefined {
    return space.provider === undefined ? leanSerializer(space.serializer) : undefined;
  }

  static #storeOptions(id: string, space: Space, extra: Partial<StoreOptions> = {}): StoreOptions {
    return {
      ...storeAddress(id),
      serializer: VarNode.#leanOf(space) ?? space.serializer,
      mode: space.mode,
      provider: space.provider,
      ...extra,
    };
  }

  /** The open node of `id`, opening the store if this process has not yet; undefined if it no longer exists. */
  static open(id: string, space: Space, expect?: Kind, name?: string): VarNode | undefined {
    const cached = nodes.get(id);
    if (cached && !cached.#removed) return cached;
    let store: Store;
    try {
      store = Store.open(VarNode.#storeOptions(id, space));
    } catch (e) {
      if (isNotFoundError(e) || isCode(e, 'EIDRM', 'EINVAL')) return undefined;
      throw e;
    }
    return VarNode.#adopt(id, space, store, expect, name);
  }

  static #adopt(id: string, space: Space, store: Store, expect: Kind | undefined, name?: string): VarNode {
    try {
      const env = store.getValue<Envelope>();
      let kind = expect;
      if (env !== undefined) {
        checkEnvelope(env, labelOf(id, name));
        if (env.gone) throw notFound(name ?? id, 'was removed');
        kind = env.t;
      }
      if (kind === undefined) throw notFound(name ?? id, 'is being created (no value yet)');
      const node = new VarNode(id, kind, space, store, name);
      node.#object = wrap(node);
      owners.set(node.#object, node);
      nodes.set(id, node);
      return node;
    } catch (e) {
      store.close();
      throw e;
    }
  }

  /**
   * Creates or opens a top-level variable. `init` (already converted by a Prep) is committed only if this call
   * creates the variable. Returns the node and whether the initial value was used.
   */
  static tieRoot(
    id: string,
    kind: Kind,
    space: Space,
    o: { name?: string | undefined; create: boolean; exclusive: boolean; size?: number | undefined },
    init: unknown,
  ): { node: VarNode; used: boolean } {
    const existing = nodes.get(id);
    if (existing && !existing.#removed && !o.exclusive) {
      existing.#expectKind(kind);
      return { node: existing, used: false };
    }
    const opts = VarNode.#storeOptions(id, space, {
      inlineCapacity: o.size,
      persistent: true,
      tag: space.tag,
      register: o.name !== undefined || id.startsWith('k:'),
    });
    let store: Store | undefined;
    if (!o.exclusive) {
      try {
        store = Store.open(opts);
      } catch (e) {
        if (!isNotFoundError(e) || !o.create) throw e;
      }
    }
    if (!store) {
      try {
        store = Store.create({ ...opts, exclusive: true });
      } catch (e) {
        if (!isExistsError(e) || o.exclusive) throw e;
        store = Store.open(opts);
      }
    }
    let used = false;
    let died = false;
    const env: Envelope = { t: kind, l: 0, h: [], v: init };
    try {
      // Windows cannot delete a section: a variable removed while another process still has it tied keeps its
      // section, marked gone, until that process unties it. Creating the name again re-creates it in place.
      const revive = o.create && store.region.backend === 'win32' && store.serial !== 0 && isGone(store);
      // Only a variable nobody has written yet needs the lock (a creator, or an opener racing it).
      if (store.serial === 0 || revive) {
        store.update<Envelope>((cur, info) => {
          died = info.ownerDied;
          if (cur !== undefined && !(revive && cur.gone)) return undefined;
          used = true;
          return env;
        });
      }
    } catch (e) {
      if (store.region.created) store.destroy();
      else store.close();
      throw e;
    }
    const node = VarNode.#adopt(id, space, store, kind, o.name);
    node.#expectKind(kind);
    if (died) node.ownerDied = true;
    return { node, used };
  }

  /** Creates an anonymous variable holding `v` (already in stored form), referenced `links` times. */
  static createAnonymous(
    kind: Kind,
    space: Space,
    v: unknown,
    links: number,
    holder: boolean,
    size?: number,
  ): VarNode {
    for (let attempt = 0; ; attempt++) {
      const id = anonymousId(space, randomBytes(8).toString('hex'));
      let store: Store;
      try {
        store = Store.create({
          ...VarNode.#storeOptions(id, space),
          inlineCapacity: size ?? space.childSize,
          exclusive: true,
          register: false,
        });
      } catch (e) {
        if (isExistsError(e) && attempt < 5) continue;
        throw e;
      }
      try {
        store.setValue({ t: kind, l: links, h: holder ? [process.pid] : [], v } satisfies Envelope);
      } catch (e) {
        store.destroy();
        throw e;
      }
      const node = VarNode.#adopt(id, space, store, kind);
      node.holder = holder;
      return node;
    }
  }

  #expectKind(kind: Kind) {
    if (this.kind !== kind) {
      throw new TypeError(
        `Expected ${kindName(kind)} for tie() of ${this.label} but received a variable holding ${kindName(this.kind)}`,
      );
    }
  }

  // ------------------------------------------------------------------ reading

  /** The user-facing object (Proxy or tied ScalarRef). */
  get object(): object {
    return this.#object!;
  }

  get store(): Store {
    const s = this.#store;
    if (s !== undefined && !s.closed) return s;
    return this.#reopen();
  }

  get removed(): boolean {
    return this.#removed;
  }

  /** A nested node closed by untie() of its parent is reopened on its next use; a removed one is not. */
  #reopen(): Store {
    if (this.#removed) throw notFound(this.label, 'was removed; tie it again to create a new one');
    if (!this.#untied) {
      const s = Store.open(VarNode.#storeOptions(this.id, this.space));
      this.#store = s;
      this.#serial = -1;
      nodes.set(this.id, this);
      return s;
    }
    throw new ShmError('ERR_SHM_CLOSED', `Tied variable ${this.label} was untied in this process`, {
      target: this.label,
    });
  }

  /** The current envelope: one atomic load when nothing changed since the last read. */
  env(): Envelope {
    const st = this.#store;
    const s = st !== undefined && !st.closed ? st.serial : this.store.serial;
    if (s === this.#serial) {
      this.stats.cacheHits++;
      return this.#env!;
    }
    return this.#load();
  }

  #load(): Envelope {
    const st = this.store;
    const s = st.serial;
    const before = st.stats.decodes;
    let env = st.getValue<Envelope>();
    if (st.stats.decodes !== before) this.stats.decodes++;
    if (env === undefined) env = { t: this.kind, l: 0, h: [], v: emptyOf(this.kind) };
    checkEnvelope(env, this.label);
    if (env.gone) {
      this.#markRemoved();
      throw notFound(this.label, 'was removed by another process');
    }
    // Reads check the kind as writes do: a hash Proxy never reads an array's contents as its keys.
    if (env.t !== this.kind) throw notFound(this.label, `changed kind to ${kindName(env.t)}`);
    // A commit between reading `s` and the copy only makes the next check miss once: never a stale value.
    this.#env = env;
    this.#serial = s;
    return env;
  }

  /** The contents (stored form: nested values are Refs). Treat as read-only. */
  data(): unknown {
    return this.env().v;
  }

  /** A stored value as the user sees it: a Ref becomes the nested variable's Proxy. */
  visible(x: unknown): unknown {
    if (typeof x === 'object' && x !== null && isRef(x)) return this.openRef(x)?.object;
    return x;
  }

  /**
   * The nested variable a Ref stored in this variable names (undefined if it no longer exists). The id comes from
   * shared memory: ERR_SHM_BAD_FORMAT if it is not the id of a tied variable, before anything is opened.
   */
  openRef(ref: Ref): VarNode | undefined {
    const id = ref[REF_KEY];
    if (!isVariableId(id)) {
      throw new ShmError(
        'ERR_SHM_BAD_FORMAT',
        `Tied variable ${this.label} is corrupt: it holds a reference to ${JSON.stringify(id.slice(0, 300))}, which is not the id of a tied variable`,
        { target: this.label },
      );
    }
    return VarNode.open(id, this.space);
  }

  /** A deep plain copy of the contents (nested variables included). */
  snapshot(seen = new Map<string, unknown>()): unknown {
    const v = this.data();
    const conv = (x: unknown): unknown => {
      if (!(typeof x === 'object' && x !== null && isRef(x))) return x;
      const id = x[REF_KEY];
      if (seen.has(id)) return seen.get(id);
      const child = this.openRef(x);
      if (!child) return undefined;
      seen.set(id, undefined);
      const s = child.snapshot(seen);
      seen.set(id, s);
      return s;
    };
    if (this.kind === 'scalar') return conv(v);
    if (this.kind === 'array') return (v as unknown[]).map(conv);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object)) {
      setOwn(out, k, conv((v as Record<string, unknown>)[k]));
    }
    return out;
  }

  // ------------------------------------------------------------------ writing

  /** Takes the exclusive lock, with a clear error when this process holds the read lock. */
  #lock(): void {
    const st = this.store;
    if (st.lock.holdsShared && !st.lock.holdsExclusive) {
      throw new ShmError(
        'ERR_SHM_DEADLOCK',
        `Cannot write tied variable ${this.label} while this process holds its read lock (unlock() first, or take writeLock())`,
        { target: this.label },
      );
    }
    if (st.lock.lock() === LockStatus.OwnerDied) this.ownerDied = true;
  }

  /**
   * The atomic read-modify-write behind every assignment: under the exclusive lock, reads the current contents,
   * lets `apply` build the next contents (a copy), encodes and commits them. `prep` holds the values converted
   * before the lock (new nested segments, provisional reference counts): on failure they are undone and the
   * variable keeps its value; on success the reference counts are settled after the lock is released.
   */
  write<R>(
    prep: Prep,
    apply: (cur: unknown) => { v: unknown; r: R; removed?: unknown[]; added?: unknown[] },
  ): R {
    let committed = false;
    let before: Map<string, number> | undefined;
    let after: Map<string, number> | undefined;
    try {
      this.#lock();
      try {
        const st = this.store;
        // A scalar's write replaces its whole value: the one it replaces matters only if it was a reference.
        const env = this.#wSerial !== -1 && st.serial === this.#wSerial ? this.#wEnv! : this.#fresh();
        const { v, r, removed, added } = apply(env.v);
        const next: Envelope = { t: env.t, l: env.l, h: env.h, v };
        const bytes = encodeOnce(this.space.serializer, next);
        // Children rewritten in place commit first: a reader woken by this variable's serial sees them all new.
        prep.commitClaims();
        const serial = st.storeLocked(bytes, this.#sid);
        committed = true;
        this.stats.commits++;
        this.#wSerial = -1;
        if (prep.exact) {
          // Our own value is the decoded value: no decode on the next read.
          this.#env = next;
          this.#serial = serial;
        } else if (this.kind === 'scalar' && !(typeof v === 'object' && v !== null && isRef(v))) {
          // Not for readers (the caller's object is not what a decode gives), but enough for the next write.
          this.#wEnv = { t: next.t, l: next.l, h: next.h, v: undefined };
          this.#wSerial = serial;
        }
        // Only what changed can change reference counts: a write that says what it removed and added is O(1).
        before = removed ? refCountsOf(removed) : refCounts(env.t, env.v);
        after = added ? refCountsOf(added) : refCounts(env.t, v);
        return r;
      } finally {
        prep.releaseClaims();
        this.store.lock.unlock();
      }
    } finally {
      if (committed) prep.settle(before!, after!);
      else prep.undo();
    }
  }

  /**
   * A scalar's assignment of a primitive or bytes (isLeanValue): what write() does for it, without a Prep and
   * without encoding the envelope around the value. Under the exclusive lock, the envelope's prefix (kept while
   * `l` and `h` stay the same) and the value encoded alone are committed as one value, the same bytes the
   * envelope's encoding gives. A reference the scalar held is released after the commit, as settle() would.
   * Returns false, having done nothing, where the serializer's encodings do not split that way.
   */
  writeLean(v: unknown): boolean {
    const lean = this.#lean;
    if (lean === undefined) return false;
    let old: unknown;
    this.#lock();
    try {
      const st = this.store;
      if (st.serializer !== lean) return false;
      const env = this.#wSerial !== -1 && st.serial === this.#wSerial ? this.#wEnv! : this.#fresh();
      let prefix = this.#leanPrefix;
      if (prefix === undefined || env.l !== this.#leanL || !sameHolders(env.h, this.#leanH)) {
        prefix = lean.prefix(env.l, env.h);
        if (prefix === undefined) return false;
        this.#leanPrefix = prefix;
        this.#leanL = env.l;
        this.#leanH = env.h.slice();
      }
      const serial = st.setValueLocked(lean.value(prefix, v));
      this.stats.commits++;
      this.#wSerial = -1;
      if (isExactLean(v)) {
        this.#env = { t: env.t, l: env.l, h: env.h, v };
        this.#serial = serial;
      } else {
        this.#wEnv = { t: env.t, l: env.l, h: env.h, v: undefined };
        this.#wSerial = serial;
      }
      old = env.v;
    } finally {
      this.store.lock.unlock();
    }
    if (typeof old === 'object' && old !== null && isRef(old))
      releaseRefs(this.space, refCounts('scalar', old));
    return true;
  }

  /** The envelope read under our lock (always current). */
  #fresh(): Envelope {
    const env = this.env();
    if (env.t !== this.kind) throw notFound(this.label, `changed kind to ${kindName(env.t)}`);
    return env;
  }

  /**
   * Adds `delta` to the reference count (and/or drops this process from the holders). When an anonymous variable
   * is left with no references and no live holder it is removed; returns the references it held (to release).
   */
  changeLinks(delta: number, dropHolder = false): Map<string, number> | undefined {
    let doomed: Map<string, number> | undefined;
    this.#lock();
    try {
      const env = this.#fresh();
      // Never below 0: dropping a reference that was never counted (a corrupted duplicate) must not leave a count
      // that a later reference brings back to 0 while that reference still exists.
      const l = Math.max(0, env.l + delta);
      const h = env.h.filter((pid) => (dropHolder ? pid !== process.pid : true) && isAlive(pid));
      if (delta > 0 || l > 0 || h.length > 0) {
        this.#commitEnv({ ...env, l, h });
      } else {
        doomed = refCounts(env.t, env.v);
        this.#commitEnv({ t: env.t, l: 0, h: [], gone: true, v: null });
      }
    } finally {
      this.store.lock.unlock();
    }
    if (doomed) this.#destroyStore();
    return doomed;
  }

  /**
   * For a rewrite in place, under the lock of the variable that references this one: takes this variable's lock
   * without waiting and returns its envelope if the reference being replaced is the only one (`l` is 1) and no
   * live process holds it as a variable of its own. Otherwise (busy, shared, removed) undefined, lock not held.
   * Never waiting is what makes taking a child's lock under its parent's safe from lock-order deadlocks.
   */
  tryClaim(): Envelope | undefined {
    if (this.#removed) return undefined;
    let st: Store;
    try {
      st = this.store;
    } catch {
      return undefined;
    }
    // Held here already (the variable being written itself, or one the caller locked on purpose): leave it be.
    if (st.lock.holdsShared || st.lock.holdsExclusive) return undefined;
    const s = st.lock.lock(0);
    if (s === LockStatus.WouldBlock) return undefined;
    if (s === LockStatus.OwnerDied) this.ownerDied = true;
    let env: Envelope | undefined;
    try {
      env = this.#fresh();
    } catch {
      env = undefined;
    }
    if (env === undefined || env.l !== 1 || (env.h.length > 0 && env.h.some(isAlive))) {
      st.lock.unlock();
      return undefined;
    }
    return env;
  }

  /** Commits an envelope encoded as `bytes` under the lock tryClaim() took; `exact`: cache it as written. */
  commitClaimed(env: Envelope, bytes: Uint8Array, exact: boolean): void {
    const serial = this.store.storeLocked(bytes, this.#sid);
    this.stats.commits++;
    if (exact) {
      this.#env = env;
      this.#serial = serial;
    } else this.#serial = -1;
  }

  /** Adds this process to the holders of an anonymous root variable. */
  addHolder(): void {
    this.#lock();
    try {
      const env = this.#fresh();
      if (!env.h.includes(process.pid))
        this.#commitEnv({ ...env, h: [...env.h.filter(isAlive), process.pid] });
    } finally {
      this.store.lock.unlock();
    }
    this.holder = true;
  }

  #commitEnv(env: Envelope) {
    this.store.storeLocked(this.space.serializer.encode(env), this.#sid);
    this.stats.commits++;
    this.#serial = -1;
  }

  /** Removes the variable now, whatever references it (tied(x).remove()). Returns the references it held. */
  remove(): Map<string, number> {
    let held = new Map<string, number>();
    if (this.#removed) return held;
    this.#lock();
    try {
      let env: Envelope | undefined;
      try {
        env = this.#fresh();
      } catch (e) {
        if (!isCode(e, 'ERR_SHM_NOT_FOUND')) throw e;
      }
      if (env) {
        held = refCounts(env.t, env.v);
        this.#commitEnv({ t: env.t, l: 0, h: [], gone: true, v: null });
      }
    } finally {
      this.store.lock.unlock();
    }
    this.userLock = 0;
    this.#destroyStore();
    return held;
  }

  #destroyStore() {
    this.#markRemoved();
    const st = this.#store;
    if (st && !st.closed) st.destroy();
  }

  #markRemoved() {
    this.#removed = true;
    if (nodes.get(this.id) === this) nodes.delete(this.id);
  }

  /** Unmaps this process's view (the variable stays). `untied`: later use is an error instead of a reopen. */
  close(untied = false): void {
    this.userLock = 0;
    if (untied) this.#untied = true;
    const st = this.#store;
    if (st && !st.closed) st.close();
    if (nodes.get(this.id) === this) nodes.delete(this.id);
  }

  get closed(): boolean {
    return this.#store === undefined || this.#store.closed;
  }

  /** Where everything is and what state it is in, for tied(x).debug(). */
  debug() {
    const st = this.store;
    const d = st.debug();
    const env = this.env();
    const children: {
      /** The property name or array index the nested variable is stored under. */
      key: string;
      /** The nested variable's id. */
      id: string;
    }[] = [];
    const v = env.v;
    const visit = (k: string, x: unknown) => {
      if (typeof x === 'object' && x !== null && isRef(x)) children.push({ key: k, id: x[REF_KEY] });
    };
    if (this.kind === 'scalar') visit('value', v);
    else if (this.kind === 'array')
      (v as unknown[]).forEach((x, i) => {
        visit(String(i), x);
      });
    else for (const k of Object.keys(v as object)) visit(k, (v as Record<string, unknown>)[k]);
    return {
      /** The name given to tie(), or undefined. */
      name: this.name,
      /** The variable's id: 'v:<name>', 'k:<key>' or 'a:<16 hex>'. */
      id: this.id,
      /** 'hash', 'array' or 'scalar'. */
      kind: this.kind,
      /** The namespace (prefix of every segment). */
      namespace: this.space.namespace,
      /** True for an anonymous or nested variable. */
      anonymous: isAnonymousId(this.id),
      /** Where the memory comes from ('posix', 'file' or 'sysv'). */
      backend: d.backend,
      /** The head segment: '/name', a path or 'key 0x...'. */
      segment: st.region.id,
      /** The serializer's name. */
      serializer: this.space.serializer.name,
      /** The serial of the current value. */
      serial: d.serial,
      /** Bytes of the current encoded value. */
      bytes: d.length,
      /** The largest encoded value the variable can hold. */
      capacity: d.capacity,
      /** Bytes the head holds before values spill into chained segments. */
      inlineCapacity: d.inlineCapacity,
      /** The chained segments (see `Store.debug()`). */
      chainedSegments: d.segments,
      /** How many references to this variable other variables hold. */
      links: env.l,
      /** Pids holding this anonymous variable. */
      holders: env.h,
      /** Nested variables: the key under which each is stored and its id. */
      children,
      /** The lock's state, and which lock this process took through tied(x): 'write', 'read' or 'none'. */
      lock: {
        ...d.lock,
        /** The lock this process took through tied(x): 'write', 'read' or 'none'. */
        heldHere: this.userLock === 2 ? 'write' : this.userLock === 1 ? 'read' : 'none',
      },
      /** The serial of this process's decoded copy, and its counters (see `Tied.stats`). */
      cache: {
        /** The serial of this process's decoded copy (-1: none yet). */
        serial: this.#serial,
        ...this.stats,
      },
    };
  }
}

/**
 * `env` encoded for a commit that copies it before the serializer runs again: through encodeView (msgpack packs
 * into its own buffer, rewound after each call, instead of a fresh one per large value) when the encoding comes
 * in one piece, else encode(). What runs between this and the commit (the claimed children's commits) uses bytes
 * encoded beforehand, never the serializer.
 */
function encodeOnce(serializer: Serializer, env: Envelope): Uint8Array {
  if (serializer.encodeView === undefined) return serializer.encode(env);
  const e = serializer.encodeView(env);
  return e.head.byteLength === 0 ? e.body : Buffer.concat([e.head, e.body]);
}

function sameHolders(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The store holds a removed variable's mark (decoding errors are left for #adopt to report). */
function isGone(store: Store): boolean {
  try {
    const env = store.getValue<Envelope>();
    return typeof env === 'object' && env !== null && env.gone === true;
  } catch {
    return false;
  }
}
