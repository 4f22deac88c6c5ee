import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A package under packages/ that is built (it has a build script) and therefore published with an API. */
export interface BuiltPackage {
  /** Its directory name under packages/ (the entries file is entries/<dir>.ts). */
  dir: string;
  /** Its npm name. */
  name: string;
  /** Its main module: the `@shm/source` export of ".", else `main`. */
  entry: string;
}

/** Every package under packages/ with a build script: the ones whose exports are public API. */
export function builtPackages(): BuiltPackage[] {
  const base = join(ROOT, 'packages');
  const out: BuiltPackage[] = [];
  for (const dir of readdirSync(base).sort()) {
    const file = join(base, dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8'));
    if (!pkg.scripts?.build) continue;
    const dot = pkg.exports?.['.'];
    const rel = (typeof dot === 'object' && dot?.['@shm/source']) || pkg.main;
    if (typeof rel !== 'string') throw new Error(`${pkg.name}: no "." export or main to enumerate`);
    out.push({ dir, name: pkg.name, entry: join(base, dir, rel) });
  }
  return out;
}

/** Imports a package's main module from its sources. */
export function importPackage(p: BuiltPackage): Promise<Record<string, unknown>> {
  return import(pathToFileURL(p.entry).href);
}

/** One public function of a package, keyed as the tables key it (see table.ts). */
export interface EntryPoint {
  key: string;
  /** The function itself (for a constructor, the class): re-exports of one function are the same entry point. */
  fn: Function;
}

const isClass = (f: Function) => /^class\b/.test(Function.prototype.toString.call(f));
const SKIP_STATIC = new Set(['length', 'name', 'prototype', 'arguments', 'caller']);

/**
 * The entry points of a module namespace: exported functions; for exported classes the constructor, own static
 * methods, own prototype methods and setters; the functions of exported plain objects (one level: `registry.list`).
 * Symbol-keyed and inherited members are not listed (an inherited method is the base class's entry).
 */
export function entryPoints(m: Record<string, unknown>): EntryPoint[] {
  const out: EntryPoint[] = [];
  const addClass = (name: string, c: Function) => {
    out.push({ key: `new ${name}`, fn: c });
    for (const k of Object.getOwnPropertyNames(c)) {
      if (SKIP_STATIC.has(k)) continue;
      const d = Object.getOwnPropertyDescriptor(c, k)!;
      if (typeof d.value === 'function') out.push({ key: `${name}.${k}`, fn: d.value });
    }
    for (const k of Object.getOwnPropertyNames(c.prototype)) {
      if (k === 'constructor') continue;
      const d = Object.getOwnPropertyDescriptor(c.prototype, k)!;
      if (typeof d.value === 'function') out.push({ key: `${name}#${k}`, fn: d.value });
      else if (d.set) out.push({ key: `${name}#${k}=`, fn: d.set });
    }
  };
  for (const [name, v] of Object.entries(m)) {
    if (typeof v === 'function') {
      if (isClass(v)) addClass(name, v);
      else out.push({ key: name, fn: v });
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, f] of Object.entries(v)) {
        if (typeof f !== 'function') continue;
        if (isClass(f)) addClass(`${name}.${k}`, f);
        else out.push({ key: `${name}.${k}`, fn: f });
      }
    }
  }
  return out;
}

/** The function object a table key names in module `m` (undefined if it names nothing). */
export function resolveKey(m: Record<string, unknown>, key: string): Function | undefined {
  return entryPoints(m).find((e) => e.key === key)?.fn;
}
