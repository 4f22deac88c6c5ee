import { expected } from '@shm/core';
import { arrayProxy } from './array-handler.js';
import { checkOptionsObject } from './check-args.js';
import { isRef, type Kind, kindName, refCounts } from './envelope.js';
import { hashProxy } from './hash-handler.js';
import { isLeanValue } from './lean-envelope.js';
import { Prep } from './prep.js';
import { releaseRefs } from './release-refs.js';
import { ScalarRef } from './scalar-ref.js';
import { DEFAULT_ROOT_SIZE, isAnonymousId, namedId, resolveOptions, type TieOptions } from './tie-options.js';
import { Tied } from './tied.js';
import { nodeOf, openNodes, setWrapper, VarNode } from './var-node.js';

class TiedScalarRef<T> extends ScalarRef<T> {
  readonly #node: VarNode;
  constructor(node: VarNode) {
    super();
    this.#node = node;
  }
  override get value(): T {
    const x = this.#node.data();
    return (typeof x === 'object' && x !== null && isRef(x) ? this.#node.visible(x) : x) as T;
  }
  override set value(v: T) {
    const node = this.#node;
    if (isLeanValue(v) && node.writeLean(v)) return;
    const prep = new Prep(node.space);
    const stored = prep.convertSlot(v, `${node.label}.value`);
    node.write(prep, (cur) => ({ v: prep.resolve(stored, cur), r: undefined }));
  }
}

setWrapper((node) =>
  node.kind === 'hash' ? hashProxy(node) : node.kind === 'array' ? arrayProxy(node) : new TiedScalarRef(node),
);

const controls = new WeakMap<VarNode, Tied>();
let exitHook = false;

function kindOf(target: unknown): Kind {
  if (target instanceof ScalarRef) return 'scalar';
  if (Array.isArray(target)) return 'array';
  if (typeof target === 'object' && target !== null) {
    const p = Object.getPrototypeOf(target);
    if (p === Object.prototype || p === null) return 'hash';
  }
  throw new TypeError(
    `Expected a plain object, an array or a ScalarRef for tie()'s target but received ${
      target === null
        ? 'null'
        : typeof target === 'object'
          ? `an instance of ${target.constructor?.name}`
          : typeof target
    }`,
  );
}

function contents(kind: Kind, target: object): unknown {
  if (kind === 'scalar') return (target as ScalarRef).value;
  if (kind === 'array') return Array.from(target as unknown[]);
  return target;
}

/** The tied object returned for `target`'s kind: a Proxy of the same shape, or a ScalarRef. */
export type TiedValue<T> = T;

/**
 * Ties a hash (plain object), an array or a ScalarRef to shared memory and returns the tied version (a Proxy, or a
 * ScalarRef whose `value` is shared). Every process tying the same name (in the same namespace) sees the same
 * value; a named variable persists after every process exits, until tied(x).remove() or removeAll().
 * Without a name the variable is anonymous: give `tied(x).handle` to other processes; it is removed when no
 * process holds it and no other variable refers to it.
 *
 * `target`'s contents become the initial value only if this call creates the variable.
 *
 * @example const cfg = tie({ port: 8080 }, 'config'); cfg.port = 9090; // every process sees 9090
 */
export function tie<T extends object>(target: T, name?: string | TieOptions, options: TieOptions = {}): T {
  const kind = kindOf(target);
  if (
    name !== undefined &&
    typeof name !== 'string' &&
    (typeof name !== 'object' || name === null || Array.isArray(name))
  )
    throw expected('a name (string) or an options object', 'name', name);
  checkOptionsObject(options, 'options');
  const o: TieOptions =
    typeof name === 'string'
      ? { ...options, name }
      : name === undefined
        ? { ...options }
        : { ...name, ...options };
  const { space, opts } = resolveOptions(o);
  if (opts.handle !== undefined && (opts.name !== undefined || opts.key !== undefined)) {
    throw new TypeError(`Expected either a name/key or a handle for tie() but received both`);
  }
  if (!exitHook) {
    exitHook = true;
    process.once('exit', untieAll);
  }
  let node: VarNode;
  if (opts.handle !== undefined) {
    const found = VarNode.open(opts.handle, space, kind);
    if (!found)
      throw new TypeError(
        `Expected a live handle for options.handle but received "${opts.handle}" (it no longer exists)`,
      );
    if (found.kind !== kind) {
      throw new TypeError(
        `Expected ${kindName(kind)} for tie() of handle ${opts.handle} but received a variable holding ${kindName(found.kind)}`,
      );
    }
    if (!found.holder) found.addHolder();
    node = found;
  } else {
    const prep = new Prep(space);
    const init = prep.convertContents(kind, contents(kind, target), 'the initial value');
    const refs = refCounts(kind, init);
    if (opts.name === undefined && opts.key === undefined) {
      try {
        node = VarNode.createAnonymous(kind, space, init, 0, true, opts.size ?? DEFAULT_ROOT_SIZE);
      } catch (e) {
        prep.undo();
        throw e;
      }
      prep.settle(new Map(), refs);
    } else {
      let used = false;
      try {
        const r = VarNode.tieRoot(
          namedId(space, opts.name, opts.key),
          kind,
          space,
          {
            name: opts.name,
            create: opts.create ?? true,
            exclusive: opts.exclusive ?? false,
            size: opts.size,
          },
          init,
        );
        node = r.node;
        used = r.used;
      } finally {
        if (used) prep.settle(new Map(), refs);
        else prep.undo();
      }
    }
  }
  node.ties++;
  if (opts.destroy) node.destroyOnUntie = true;
  return node.object as T;
}

/** The control object of a tied variable (locks, handle, debug, remove). Throws TypeError for anything else. */
export function tied(x: unknown): Tied {
  const node = nodeOf(x);
  if (!node) {
    throw new TypeError(
      `Expected a tied variable (a value returned by tie(), or nested in one) for tied() but received ${typeof x}`,
    );
  }
  let c = controls.get(node);
  if (!c) {
    c = new Tied(node);
    controls.set(node, c);
  }
  return c;
}

/** True if `x` is a tied variable (or a nested one). */
export function isTied(x: unknown): boolean {
  return nodeOf(x) !== undefined;
}

/**
 * Ends this process's use of a tied variable: releases its lock, unmaps it and, for an anonymous variable, stops
 * holding it (it is removed if nothing else holds or references it). With `destroy: true` the variable is removed.
 * Named variables stay for other processes. Using the tied object afterwards throws ERR_SHM_CLOSED.
 */
export function untie(x: unknown): void {
  const node = nodeOf(x);
  if (!node) throw new TypeError(`Expected a tied variable for untie() but received ${typeof x}`);
  if (node.ties > 1) {
    node.ties--;
    return;
  }
  node.ties = 0;
  finish(node);
}

function finish(node: VarNode): void {
  if (node.removed) {
    node.close(true);
    return;
  }
  if (node.userLock !== 0) tied(node.object).unlock();
  if (node.destroyOnUntie) {
    tied(node.object).remove();
  } else if (node.holder && isAnonymousId(node.id)) {
    node.holder = false;
    const doomed = node.changeLinks(0, true);
    if (doomed) releaseRefs(node.space, doomed);
  }
  node.close(true);
}

/** At exit: untie what this process tied (drops its hold on anonymous variables, honours destroy). */
function untieAll(): void {
  for (const node of [...openNodes()]) {
    try {
      if (node.ties > 0) {
        node.ties = 0;
        finish(node);
      }
    } catch {
      /* best effort at exit */
    }
  }
  for (const node of [...openNodes()]) node.close();
}
