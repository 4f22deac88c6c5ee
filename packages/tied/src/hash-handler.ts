import { inspect } from 'node:util';
import { Prep } from './prep.js';
import type { VarNode } from './var-node.js';

const hasOwn = Object.hasOwn;

function dataDescriptor(value: unknown): PropertyDescriptor {
  return { value, writable: true, enumerable: true, configurable: true };
}

/** Sets `key` on a copy without going through a '__proto__' setter. */
function define(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, dataDescriptor(value));
  else o[key] = value;
}

function noSymbols(node: VarNode, p: symbol): never {
  throw new TypeError(`Expected a string key for tied hash ${node.label} but received ${String(p)}`);
}

/** Sets one key: an atomic read-modify-write of the whole hash. */
export function setKey(node: VarNode, key: string, value: unknown): void {
  const prep = new Prep(node.space);
  const pending = prep.convertSlot(value, `${node.label}.${key}`);
  node.write(prep, (cur) => {
    const c = cur as Record<string, unknown>;
    const old = hasOwn(c, key) ? c[key] : undefined;
    const stored = prep.resolve(pending, old);
    const next = { ...c };
    define(next, key, stored);
    return { v: next, r: undefined, removed: [old], added: [stored] };
  });
}

/**
 * The Proxy of a tied hash. Reads check the serial (one atomic load) and use the decoded copy when nothing
 * changed; each write is one locked read-modify-write of the whole hash. The target stays an empty object: every
 * trap answers from shared memory.
 */
export function hashProxy(node: VarNode): object {
  const target = {};
  Object.defineProperty(target, inspect.custom, {
    value: (_depth: number, options: object) => inspect(node.snapshot(), options),
    configurable: true,
  });
  return new Proxy(target, {
    get(t, p, r) {
      if (typeof p === 'string') {
        const d = node.data() as Record<string, unknown>;
        if (hasOwn(d, p)) {
          const x = d[p];
          return typeof x === 'object' && x !== null ? node.visible(x) : x;
        }
      }
      return Reflect.get(t, p, r);
    },
    set(_t, p, value) {
      if (typeof p === 'symbol') noSymbols(node, p);
      setKey(node, p, value);
      return true;
    },
    deleteProperty(_t, p) {
      if (typeof p === 'symbol') return true;
      if (!hasOwn(node.data() as object, p)) return true;
      node.write(new Prep(node.space), (cur) => {
        const next = { ...(cur as Record<string, unknown>) };
        const old = next[p];
        delete next[p];
        return { v: next, r: undefined, removed: [old], added: [] };
      });
      return true;
    },
    has(t, p) {
      if (typeof p === 'string' && hasOwn(node.data() as object, p)) return true;
      return Reflect.has(t, p);
    },
    ownKeys() {
      return Object.keys(node.data() as object);
    },
    getOwnPropertyDescriptor(_t, p) {
      if (typeof p !== 'string') return undefined;
      const d = node.data() as Record<string, unknown>;
      if (!hasOwn(d, p)) return undefined;
      const x = d[p];
      return dataDescriptor(typeof x === 'object' && x !== null ? node.visible(x) : x);
    },
    defineProperty(_t, p, desc) {
      if (typeof p === 'symbol') noSymbols(node, p);
      if (!('value' in desc)) {
        throw new TypeError(
          `Expected a data property for tied hash ${node.label} but received an accessor for '${p}'`,
        );
      }
      setKey(node, p, desc.value);
      return true;
    },
    setPrototypeOf() {
      return false;
    },
    preventExtensions() {
      return false;
    },
  });
}
