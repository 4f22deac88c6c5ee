import { inspect } from 'node:util';
import { isRef } from './envelope.js';
import { Prep } from './prep.js';
import type { VarNode } from './var-node.js';

const MUTATORS = [
  'push',
  'pop',
  'shift',
  'unshift',
  'splice',
  'sort',
  'reverse',
  'fill',
  'copyWithin',
] as const;
type Mutator = (typeof MUTATORS)[number];

/** Every other Array.prototype method runs on a snapshot: one consistent read, however long the array. */
const READERS = Object.getOwnPropertyNames(Array.prototype).filter(
  (k) =>
    k !== 'constructor' &&
    k !== 'length' &&
    !(MUTATORS as readonly string[]).includes(k) &&
    typeof (Array.prototype as unknown as Record<string, unknown>)[k] === 'function',
);

function isIndex(p: string): boolean {
  const c = p.charCodeAt(0);
  if (c < 48 || c > 57) return false;
  const n = Number(p);
  return Number.isInteger(n) && n < 2 ** 32 - 1 && String(n) === p;
}

/** A stored element given back after it left the array: a plain copy (its segment may be removed by the commit). */
function detached(node: VarNode, x: unknown): unknown {
  if (typeof x === 'object' && x !== null && isRef(x)) return node.openRef(x)?.snapshot();
  return x;
}

function mutate(node: VarNode, proxy: object, name: Mutator, args: unknown[]): unknown {
  const inserting =
    name === 'push' || name === 'unshift'
      ? args
      : name === 'splice'
        ? args.slice(2)
        : name === 'fill'
          ? args.slice(0, 1)
          : [];
  if (name === 'sort' && args[0] !== undefined && typeof args[0] !== 'function') {
    throw new TypeError(`Expected a comparison function for sort() but received ${String(args[0])}`);
  }
  const prep = new Prep(node.space);
  const stored = prep.convert(inserting, `${node.label}.${name}()`);
  return node.write(prep, (cur) => {
    const a = (cur as unknown[]).slice();
    let r: unknown = proxy;
    switch (name) {
      case 'push':
        return { v: a, r: a.push(...stored), removed: [], added: stored };
      case 'unshift':
        r = a.unshift(...stored);
        break;
      case 'pop': {
        const x = a.pop();
        return { v: a, r: detached(node, x), removed: [x], added: [] };
      }
      case 'shift':
        r = detached(node, a.shift());
        break;
      case 'splice': {
        const removed =
          args.length === 0
            ? []
            : args.length === 1
              ? a.splice(args[0] as number)
              : a.splice(args[0] as number, args[1] as number, ...stored);
        r = removed.map((x) => detached(node, x));
        break;
      }
      case 'sort': {
        const cmp = args[0] as ((x: unknown, y: unknown) => number) | undefined;
        a.sort(cmp ? (x, y) => cmp(node.visible(x), node.visible(y)) : undefined);
        break;
      }
      case 'reverse':
        a.reverse();
        break;
      case 'fill':
        a.fill(stored[0], args[1] as number | undefined, args[2] as number | undefined);
        break;
      case 'copyWithin':
        a.copyWithin(args[0] as number, args[1] as number, args[2] as number | undefined);
        break;
    }
    return { v: a, r };
  });
}

function setIndexOrLength(node: VarNode, p: string, value: unknown): void {
  if (p === 'length') {
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) >= 2 ** 32) {
      throw new RangeError(
        `Expected a valid array length for ${node.label}.length but received ${String(value)}`,
      );
    }
    node.write(new Prep(node.space), (cur) => {
      const a = (cur as unknown[]).slice();
      a.length = value as number;
      return { v: a, r: undefined };
    });
    return;
  }
  if (!isIndex(p)) {
    throw new TypeError(`Expected an index or 'length' for tied array ${node.label} but received '${p}'`);
  }
  const prep = new Prep(node.space);
  const pending = prep.convertSlot(value, `${node.label}[${p}]`);
  node.write(prep, (cur) => {
    const a = (cur as unknown[]).slice();
    const i = Number(p);
    const old = a[i];
    const stored = prep.resolve(pending, old);
    a[i] = stored;
    return { v: a, r: undefined, removed: [old], added: [stored] };
  });
}

/**
 * The Proxy of a tied array. The target is a real (empty) array so Array.isArray() and JSON.stringify() treat the
 * Proxy as one. Mutating methods are one locked read-modify-write each (a push is atomic, not a get length + set
 * index + set length); the other methods run on a snapshot.
 */
export function arrayProxy(node: VarNode): object {
  const target: unknown[] = [];
  Object.defineProperty(target, inspect.custom, {
    value: (_depth: number, options: object) => inspect(node.snapshot(), options),
    configurable: true,
  });
  const methods = new Map<string | symbol, (...args: unknown[]) => unknown>();
  let proxy: object;
  const snapshot = () => (node.data() as unknown[]).map((x) => node.visible(x));
  for (const m of MUTATORS) methods.set(m, (...args) => mutate(node, proxy, m, args));
  for (const m of READERS) {
    const f = (Array.prototype as unknown as Record<string, (...a: unknown[]) => unknown>)[m]!;
    methods.set(m, (...args) => f.apply(snapshot(), args));
  }
  methods.set('at', (i) => {
    const d = node.data() as unknown[];
    const n = Math.trunc(Number(i)) || 0;
    return node.visible(d[n < 0 ? d.length + n : n]);
  });
  methods.set(Symbol.iterator, methods.get('values')!);
  proxy = new Proxy(target, {
    get(t, p, r) {
      if (typeof p === 'string') {
        if (isIndex(p)) {
          const x = (node.data() as unknown[])[Number(p)];
          return typeof x === 'object' && x !== null ? node.visible(x) : x;
        }
        if (p === 'length') return (node.data() as unknown[]).length;
      }
      const m = methods.get(p);
      if (m !== undefined) return m;
      return Reflect.get(t, p, r);
    },
    set(_t, p, value) {
      if (typeof p === 'symbol') {
        throw new TypeError(
          `Expected an index or 'length' for tied array ${node.label} but received ${String(p)}`,
        );
      }
      setIndexOrLength(node, p, value);
      return true;
    },
    deleteProperty(_t, p) {
      if (typeof p !== 'string' || !isIndex(p)) return p !== 'length';
      if (!Object.hasOwn(node.data() as object, p)) return true;
      node.write(new Prep(node.space), (cur) => {
        const a = (cur as unknown[]).slice();
        delete a[Number(p)];
        return { v: a, r: undefined };
      });
      return true;
    },
    has(t, p) {
      if (typeof p === 'string' && isIndex(p)) return Object.hasOwn(node.data() as object, p);
      return Reflect.has(t, p);
    },
    ownKeys() {
      return [...Object.keys(node.data() as object), 'length'];
    },
    getOwnPropertyDescriptor(t, p) {
      if (p === 'length') {
        return {
          value: (node.data() as unknown[]).length,
          writable: true,
          enumerable: false,
          configurable: false,
        };
      }
      if (typeof p === 'string' && isIndex(p)) {
        const d = node.data() as unknown[];
        if (!Object.hasOwn(d, p)) return undefined;
        return { value: node.visible(d[Number(p)]), writable: true, enumerable: true, configurable: true };
      }
      return typeof p === 'symbol' ? undefined : Reflect.getOwnPropertyDescriptor(t, p);
    },
    defineProperty(_t, p, desc) {
      if (typeof p === 'symbol' || !('value' in desc)) {
        throw new TypeError(
          `Expected a data property for tied array ${node.label} but received ${String(p)}`,
        );
      }
      setIndexOrLength(node, p, desc.value);
      return true;
    },
    setPrototypeOf() {
      return false;
    },
    preventExtensions() {
      return false;
    },
  });
  return proxy;
}
