import { getSerializer, type Serializer } from '@shm/core';
import { msgpack } from '@shm/serializer-msgpack';
import type { StoreProvider } from './store-provider.js';

/**
 * Options of tie(). IPC::Shareable's (key, create, exclusive, mode, size, destroy) and Win32::MMF::Shareable's
 * (namespace, size, swapfile) are all accepted.
 */
export interface TieOptions {
  /** The variable's name (also accepted as tie()'s second argument). Omit it for an anonymous variable. */
  name?: string;
  /**
   * Groups variables (Win32::MMF::Shareable). Every segment of the namespace is named `<namespace>.…` in
   * /dev/shm (on Windows, the pagefile section `Local\shm-<namespace>.…`), so removeAll({ namespace }) finds
   * them. Default 'shareable'.
   */
  namespace?: string;
  /**
   * Bytes a variable holds in its first segment (IPC::Shareable `size`, Win32::MMF::Shareable `size`). Larger
   * values do not fail: they spill into chained segments. Default 32 KiB for top-level variables, 4 KiB for nested.
   */
  size?: number;
  /**
   * Win32::MMF::Shareable's backing file. There is one file per variable: the namespace's segments become files
   * whose paths start with `<swapfile>.` (they survive a reboot), instead of /dev/shm objects. On Windows this is
   * what makes a namespace persist: without it, its sections vanish when the last process using them exits.
   */
  swapfile?: string;
  /** A SysV key (IPC::Shareable): the variable's head lives in the SysV segment with this key. Nested values still use the namespace. */
  key?: number;
  /** Create the variable if it does not exist (default true, as IPC::Shm and Win32::MMF::Shareable; IPC::Shareable defaults to false). */
  create?: boolean;
  /** Fail with EEXIST if the variable exists. */
  exclusive?: boolean;
  /** Permission bits of new segments (default 0o600, owner only). */
  mode?: number;
  /** Remove the variable (and its nested segments) when this process unties it or exits (IPC::Shareable `destroy`). */
  destroy?: boolean;
  /**
   * How values are encoded: 'msgpack' (default: plain MessagePack, the fastest; a Map comes back as an object),
   * 'v8' (structured clone: Map, Set, Date, typed arrays, BigInt, exact), 'json', or a Serializer object.
   * Every process tying a variable must use the same one (ERR_SHM_SERIALIZER_MISMATCH otherwise).
   */
  serializer?: 'msgpack' | 'v8' | 'json' | Serializer;
  /** Attach to an anonymous variable another process handed over (`tied(x).handle`). */
  handle?: string;
  /** A label recorded in the `@shm` registry for named variables (default `tied:<namespace>`). */
  tag?: string;
  /**
   * Where the values live instead of shared memory: a StoreProvider, e.g. `redisBackend({ url })` of @shm/redis
   * (every process, on any host, that ties the same name on the same server shares the variable).
   */
  backend?: StoreProvider;
}

/** Settings shared by a variable and everything nested in it. */
export interface Space {
  namespace: string;
  /** Prefix of every segment name: `/ns` (POSIX shm; on Windows the section `Local\shm-ns`) or the swapfile path. */
  base: string;
  /** 'posix' stands for the platform's named shared memory: POSIX shm, or a pagefile section on Windows. */
  backend: 'posix' | 'file';
  mode: number;
  serializer: Serializer;
  /** Inline bytes of nested variables. */
  childSize: number;
  tag: string;
  /** Another place for the stores than shared memory (options.backend). */
  provider?: StoreProvider | undefined;
}

export const DEFAULT_NAMESPACE = 'shareable';
export const DEFAULT_ROOT_SIZE = 32 * 1024;
export const DEFAULT_CHILD_SIZE = 4 * 1024;

const KNOWN = new Set([
  'name',
  'namespace',
  'size',
  'swapfile',
  'key',
  'create',
  'exclusive',
  'mode',
  'destroy',
  'serializer',
  'handle',
  'tag',
  'backend',
]);

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? 'an array' : 'an object';
  return String(v);
}

function expected(what: string, name: string, v: unknown, Err: typeof TypeError = TypeError): never {
  throw new Err(`Expected ${what} for ${name} but received ${describe(v)}`);
}

/** Validates tie() options (unknown keys included) and derives the namespace settings. */
export function resolveOptions(o: TieOptions): { space: Space; opts: TieOptions } {
  if (typeof o !== 'object' || o === null) expected('an options object', 'options', o);
  for (const k of Object.keys(o)) {
    if (!KNOWN.has(k)) expected(`one of ${[...KNOWN].join(', ')}`, 'an option name', k);
  }
  const ns = o.namespace ?? DEFAULT_NAMESPACE;
  if (typeof ns !== 'string' || ns === '' || ns.includes('/') || ns.length > 100)
    expected('a non-empty namespace without "/" (at most 100 characters)', 'options.namespace', ns);
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '' || o.name.length > 120))
    expected('a non-empty string of at most 120 characters', 'name', o.name);
  if (o.size !== undefined && (!Number.isInteger(o.size) || o.size < 64 || o.size > 2 ** 30))
    expected('an integer from 64 to 1 GiB (bytes)', 'options.size', o.size, RangeError);
  if (o.key !== undefined && (!Number.isInteger(o.key) || o.key <= 0 || o.key > 0xffffffff))
    expected('a SysV key (integer from 1 to 0xffffffff)', 'options.key', o.key, RangeError);
  if (o.mode !== undefined && (!Number.isInteger(o.mode) || o.mode < 0 || o.mode > 0o777))
    expected('permission bits from 0 to 0o777', 'options.mode', o.mode, RangeError);
  if (o.swapfile !== undefined && (typeof o.swapfile !== 'string' || o.swapfile === ''))
    expected('a file path', 'options.swapfile', o.swapfile);
  if (
    o.handle !== undefined &&
    (typeof o.handle !== 'string' || !/^[pf]:.+\.a\.[0-9a-f]{16}$/.test(o.handle))
  )
    expected('a handle from tied(x).handle', 'options.handle', o.handle);
  for (const b of ['create', 'exclusive', 'destroy'] as const) {
    if (o[b] !== undefined && typeof o[b] !== 'boolean') expected('a boolean', `options.${b}`, o[b]);
  }
  if (
    o.backend !== undefined &&
    (typeof o.backend !== 'object' ||
      o.backend === null ||
      typeof o.backend.open !== 'function' ||
      typeof o.backend.create !== 'function')
  )
    expected(
      'a store provider (open, create), e.g. redisBackend() of @shm/redis',
      'options.backend',
      o.backend,
    );
  const serializer =
    o.serializer === undefined || o.serializer === 'msgpack' ? msgpack : getSerializer(o.serializer);
  const space: Space = {
    namespace: ns,
    base: o.swapfile ?? `/${ns}`,
    backend: o.swapfile ? 'file' : 'posix',
    mode: o.mode ?? 0o600,
    serializer,
    childSize: DEFAULT_CHILD_SIZE,
    tag: o.tag ?? `tied:${ns}`,
    provider: o.backend,
  };
  return { space, opts: o };
}

/** Names cannot contain '.' (chained segments are `<name>.<n>`) or '/': those and other unusual bytes are %-escaped. */
export function encodeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, (c) =>
    [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** The id of a named variable: 'p:/ns.v.<name>', 'f:<swapfile>.v.<name>' or 'k:<key>'. */
export function namedId(space: Space, name: string | undefined, key: number | undefined): string {
  if (key !== undefined) return `k:${key}`;
  return `${space.backend === 'file' ? 'f' : 'p'}:${space.base}.v.${encodeName(name!)}`;
}

/** A fresh id for an anonymous variable (a nested value or tie() without a name). */
export function anonymousId(space: Space, hex: string): string {
  return `${space.backend === 'file' ? 'f' : 'p'}:${space.base}.a.${hex}`;
}

export function isAnonymousId(id: string): boolean {
  return /\.a\.[0-9a-f]{16}$/.test(id);
}

/**
 * Whether `id` has the shape namedId() or anonymousId() gives: 'k:<key 1..0xffffffff>', 'p:/<name without "/">' or
 * 'f:<path>', the last two ending in '.v.<encoded name>' or '.a.<16 hex>'. Ids read from shared memory (nested
 * references) are checked before anything is opened: a corrupted one must not open some other object ('k:0' would
 * even create a SysV segment, a FIFO path would block).
 */
export function isVariableId(id: string): boolean {
  if (id.length > 4096 || id.includes('\0')) return false;
  if (id.startsWith('k:')) {
    const key = Number(id.slice(2));
    return /^[1-9][0-9]{0,9}$/.test(id.slice(2)) && key <= 0xffffffff;
  }
  if (!/\.(v\.[A-Za-z0-9_%-]+|a\.[0-9a-f]{16})$/.test(id)) return false;
  if (id.startsWith('p:/')) return id.length <= 253 && !id.slice(3).includes('/');
  return id.startsWith('f:') && id.length > 2;
}

/** Store options addressing the variable `id`. */
export function storeAddress(id: string): { name?: string; path?: string; key?: number } {
  const rest = id.slice(2);
  if (id.startsWith('p:')) return { name: rest };
  if (id.startsWith('f:')) return { path: rest };
  return { key: Number(rest) };
}
