import { ShmError } from '@shm/core';
import { type Envelope, isRef, type Kind, makeRef, REF_KEY, type Ref, refCounts } from './envelope.js';
import { isPlainObject, PLAIN_LEAVES, setOwn, typeName } from './plain-object.js';
import { releaseRefs } from './release-refs.js';
import { isAnonymousId, type Space } from './tie-options.js';
import { nodeOf, VarNode } from './var-node.js';

// Preparing a write (docs: the tied README's "Nested values"): values are converted to their stored form before
// the variable's lock is taken, nested containers are claimed for a rewrite in place under it, and the
// provisional reference counts are settled or undone once the commit's outcome is known.

/**
 * Converts values about to be stored into their stored form, before the parent's lock is taken: plain objects and
 * arrays become new anonymous variables (recursively), tied Proxies become Refs with a provisional reference,
 * functions, symbols and class instances are rejected. The provisional references are settled against what the
 * commit actually added and removed, or undone if the commit does not happen.
 */
export class Prep {
  readonly space: Space;
  /** Every value stored is something the serializer reproduces exactly: the writer may cache its own value. */
  exact = true;
  /** Provisional references taken, by id. */
  readonly #taken = new Map<string, number>();
  readonly #memo = new Map<object, Ref>();
  /** Children claimed for a rewrite in place (locked by tryClaim), in the order claimed; `done` once committed. */
  #claims: Claim[] = [];
  readonly #claimed = new Set<string>();

  constructor(space: Space) {
    this.space = space;
  }

  /**
   * Converts one value about to be assigned to one slot (a hash key, an array index, a ScalarRef's value). A plain
   * object or array made of plain data only (no tied Proxy, no object twice) is validated now but converted later,
   * by resolve() under the variable's lock, where it can rewrite the container it replaces in place.
   */
  convertSlot(value: unknown, what: string): unknown {
    if (typeof value === 'object' && value !== null && !nodeOf(value)) {
      const o = value as object;
      if (Array.isArray(o) || isPlainObject(o)) {
        if (this.#validate(o, what, [], [], new Set())) return new Deferred(o);
      }
    }
    return this.convert([value], what)[0];
  }

  /**
   * Under the lock of the variable being written, with `old` the stored value the slot holds now: the stored form
   * of what convertSlot() returned. A deferred container replacing a nested variable of the same kind that nothing
   * else references is written into it (recursively, level by level), keeping its segment and its id; otherwise
   * it gets new segments as convert() gives them.
   */
  resolve(x: unknown, old: unknown): unknown {
    return x instanceof Deferred ? this.#place(x.value, old, true) : x;
  }

  #place(o: object, old: unknown, top: boolean): unknown {
    const kind: Kind = Array.isArray(o) ? 'array' : 'hash';
    const node = this.#claim(old, kind);
    if (!node) return this.#store(o, top);
    const claim: Claim = {
      node,
      env: undefined,
      bytes: undefined,
      before: undefined,
      after: undefined,
      done: false,
    };
    this.#claims.push(claim);
    this.#claimed.add(node.id);
    const cur = node.env();
    const was = cur.v;
    // Filled in place, so that a failure half-way knows which new children to give back (see #claimDeltas).
    const v: unknown = kind === 'array' ? [] : {};
    claim.before = refCounts(kind, was);
    try {
      if (kind === 'array') {
        const w = Array.isArray(was) ? was : [];
        const a = o as unknown[];
        for (let i = 0; i < a.length; i++) (v as unknown[]).push(this.#slot(a[i], w[i]));
      } else {
        const w = (typeof was === 'object' && was !== null ? was : {}) as Record<string, unknown>;
        for (const k of Object.keys(o)) {
          setOwn(
            v as object,
            k,
            this.#slot((o as Record<string, unknown>)[k], Object.hasOwn(w, k) ? w[k] : undefined),
          );
        }
      }
    } finally {
      claim.after = refCounts(kind, v);
    }
    const next: Envelope = { t: kind, l: cur.l, h: cur.h, v };
    // Encoded now, before anything commits: a value the serializer rejects leaves every variable as it was.
    claim.bytes = this.space.serializer.encode(next);
    claim.env = next;
    return makeRef(node.id);
  }

  /** One element of a container being rewritten in place: `old` is what the same key or index holds now. */
  #slot(x: unknown, old: unknown): unknown {
    if (typeof x === 'object' && x !== null && (Array.isArray(x) || isPlainObject(x)))
      return this.#place(x, old, false);
    return this.#store(x, false);
  }

  /** The nested variable `old` refers to, locked, if it is a `kind` that only this reference reaches. */
  #claim(old: unknown, kind: Kind): VarNode | undefined {
    if (!(typeof old === 'object' && old !== null && isRef(old))) return undefined;
    const id = old[REF_KEY];
    if (this.#claimed.has(id) || !isAnonymousId(id)) return undefined;
    let node: VarNode | undefined;
    try {
      node = VarNode.open(id, this.space);
    } catch {
      return undefined;
    }
    if (!node || node.kind !== kind) return undefined;
    return node.tryClaim() ? node : undefined;
  }

  /** Commits the claimed children (write() calls it under the parent's lock, just before the parent's commit). */
  commitClaims(): void {
    // Claimed parent before children: backwards, every nested variable commits before the one that contains it.
    for (let i = this.#claims.length - 1; i >= 0; i--) {
      const c = this.#claims[i]!;
      c.node.commitClaimed(c.env!, c.bytes!, this.exact);
      c.done = true;
    }
  }

  /** Unlocks the claimed children (the references they dropped or gained are settled by settle() or undo()). */
  releaseClaims(): void {
    for (const c of this.#claims) {
      if (c.node.closed) continue;
      const lock = c.node.store.lock;
      if (lock.holdsExclusive) lock.unlock();
    }
  }

  /** Reference changes inside the claimed children: what a committed one dropped, or what an aborted one created. */
  #claimDeltas(into: Map<string, number>): void {
    for (const c of this.#claims) {
      const before = c.before ?? new Map<string, number>();
      const after = c.after ?? new Map<string, number>();
      if (c.done) {
        for (const [id, n] of before) {
          const d = (after.get(id) ?? 0) - n;
          if (d < 0) into.set(id, (into.get(id) ?? 0) + d);
        }
      } else {
        // Only new children appear in `after` alone (a deferred value holds no tied Proxy): they go again.
        for (const [id, n] of after) if (!before.has(id)) into.set(id, (into.get(id) ?? 0) - n);
      }
    }
    this.#claims = [];
    this.#claimed.clear();
  }

  /** Converts `values`; if any is rejected, nothing has been created. */
  convert(values: unknown[], what: string): unknown[] {
    for (const v of values) this.#validate(v, what, [], [], new Set());
    try {
      return values.map((v) => this.#store(v));
    } catch (e) {
      this.undo();
      throw e;
    }
  }

  /** Converts the contents of a container (its values, not the container itself) for a new variable. */
  convertContents(kind: Kind, contents: unknown, what: string): unknown {
    if (kind === 'scalar') return this.convert([contents], what)[0];
    if (kind === 'array') return this.convert(contents as unknown[], what);
    const o = contents as Record<string, unknown>;
    const keys = Object.keys(o);
    const values = this.convert(
      keys.map((k) => o[k]),
      what,
    );
    const out: Record<string, unknown> = {};
    keys.forEach((k, i) => {
      setOwn(out, k, values[i]);
    });
    return out;
  }

  /**
   * Throws ERR_SHM_UNSERIALIZABLE for what cannot be shared. Returns true if `x` is plain data only (no tied
   * Proxy, no object met twice): then it may be placed by resolve(). The path is built only for the error.
   */
  #validate(
    x: unknown,
    base: string,
    stack: object[],
    keys: (string | number)[],
    seen: Set<object>,
  ): boolean {
    const t = typeof x;
    if (t === 'function' || t === 'symbol') throw unshareable(pathOf(base, keys), `a ${t}`);
    if (t !== 'object' || x === null) return true;
    const o = x as object;
    if (nodeOf(o)) return false;
    if (Array.isArray(o) || isPlainObject(o)) {
      if (stack.includes(o))
        throw unshareable(pathOf(base, keys), 'a cycle (an object that contains itself)');
      let plain = !seen.has(o);
      seen.add(o);
      stack.push(o);
      if (Array.isArray(o)) {
        for (let i = 0; i < o.length; i++) {
          keys.push(i);
          if (!this.#validate(o[i], base, stack, keys, seen)) plain = false;
          keys.pop();
        }
      } else {
        for (const k of Object.keys(o)) {
          keys.push(k);
          if (!this.#validate((o as Record<string, unknown>)[k], base, stack, keys, seen)) plain = false;
          keys.pop();
        }
      }
      stack.pop();
      return plain;
    }
    if (ArrayBuffer.isView(o) || PLAIN_LEAVES.some((C) => o instanceof C)) return true;
    throw unshareable(
      pathOf(base, keys),
      `an instance of ${typeName(o)} (class instances would come back as plain objects; store a plain object instead)`,
    );
  }

  #take(id: string) {
    this.#taken.set(id, (this.#taken.get(id) ?? 0) + 1);
  }

  /**
   * `top`: the value goes straight into the variable being written, so its references are provisional (settled
   * against the commit). Deeper values go into the new nested variables, which hold their references for good.
   */
  #store(x: unknown, top = true): unknown {
    const t = typeof x;
    if (t !== 'object' || x === null) {
      if (
        !(
          t === 'string' ||
          t === 'boolean' ||
          x === null ||
          (t === 'number' && Number.isFinite(x) && !Object.is(x, -0))
        )
      )
        this.exact = false;
      return x;
    }
    const o = x as object;
    const tiedNode = nodeOf(o);
    if (tiedNode) {
      if (isAnonymousId(tiedNode.id)) {
        tiedNode.changeLinks(1);
        if (top) this.#take(tiedNode.id);
      }
      return makeRef(tiedNode.id);
    }
    if (Array.isArray(o) || isPlainObject(o)) {
      const memo = this.#memo.get(o);
      if (memo) {
        VarNode.open(memo[REF_KEY], this.space)!.changeLinks(1);
        if (top) this.#take(memo[REF_KEY]);
        return { ...memo };
      }
      let contents: unknown;
      if (Array.isArray(o)) contents = o.map((e) => this.#store(e, false));
      else {
        const c: Record<string, unknown> = {};
        for (const k of Object.keys(o)) {
          setOwn(c, k, this.#store((o as Record<string, unknown>)[k], false));
        }
        contents = c;
      }
      const kind: Kind = Array.isArray(o) ? 'array' : 'hash';
      let child: VarNode;
      try {
        child = VarNode.createAnonymous(kind, this.space, contents, 1, false);
      } catch (e) {
        releaseRefs(this.space, refCounts(kind, contents)); // what the contents referenced
        throw e;
      }
      if (top) this.#take(child.id);
      const ref = makeRef(child.id);
      this.#memo.set(o, ref);
      return ref;
    }
    this.exact = false;
    return x;
  }

  /** The commit happened: make each reference count match what it added and removed. */
  settle(before: Map<string, number>, after: Map<string, number>): void {
    const fix = new Map<string, number>();
    if (this.#claims.length > 0) this.#claimDeltas(fix);
    if (before.size === 0 && after.size === 0 && this.#taken.size === 0 && fix.size === 0) return;
    const ids = new Set([...before.keys(), ...after.keys(), ...this.#taken.keys()]);
    for (const id of ids) {
      const d = (after.get(id) ?? 0) - (before.get(id) ?? 0) - (this.#taken.get(id) ?? 0);
      if (d !== 0) fix.set(id, (fix.get(id) ?? 0) + d);
    }
    this.#taken.clear();
    if (fix.size > 0) releaseRefs(this.space, fix, 1);
  }

  /** The commit did not happen: give back every provisional reference (removing what was created for it). */
  undo(): void {
    const fix = new Map<string, number>();
    for (const [id, n] of this.#taken) fix.set(id, -n);
    this.#taken.clear();
    if (this.#claims.length > 0) this.#claimDeltas(fix);
    if (fix.size > 0) releaseRefs(this.space, fix, 1);
  }
}

/** A plain container whose conversion waits for the lock of the variable it goes into (see Prep.resolve). */
class Deferred {
  constructor(readonly value: object) {}
}

/** A nested variable being rewritten in place by one write. */
interface Claim {
  node: VarNode;
  env: Envelope | undefined;
  bytes: Uint8Array | undefined;
  /** References its contents held before / will hold after (to settle once the outcome is known). */
  before: Map<string, number> | undefined;
  after: Map<string, number> | undefined;
  done: boolean;
}

/** 'x.a[2].b' from the name of what is being stored and the keys leading to the culprit. */
function pathOf(base: string, keys: (string | number)[]): string {
  let p = base;
  for (const k of keys) p += typeof k === 'number' ? `[${k}]` : `.${k}`;
  return p;
}

function unshareable(path: string, what: string): ShmError {
  return new ShmError(
    'ERR_SHM_UNSERIALIZABLE',
    `Cannot share ${path}: it is ${what}; the variable keeps its previous value`,
    {
      target: path,
    },
  );
}
