// Runs one bad call of a table in this (child) process and prints its Outcome as one JSON line. The test starts it
// as user nobody, or in a private mount namespace with a 1 MiB tmpfs on /dev/shm (see table.ts, BadCall.as).
// argv: <package dir> <entry key> <case index> <prepared JSON>
import { pathToFileURL } from 'node:url';
import { builtPackages, importPackage } from './enumerate.js';
import { type Outcome, outcomeOf } from './outcome.js';
import type { BadCall, TableFactory } from './table.js';

const [dir, key, index, prepared] = process.argv.slice(2) as [string, string, string, string];
const pkg = builtPackages().find((p) => p.dir === dir);
if (!pkg) throw new Error(`no built package ${dir}`);
const m = await importPackage(pkg);
const factory = (await import(pathToFileURL(new URL(`../entries/${dir}.ts`, import.meta.url).pathname).href))
  .default as TableFactory;
const entry = factory(m).entries[key] as BadCall<unknown>[];
const c = entry[Number(index)]!;
const p = JSON.parse(prepared);
const o: Outcome = await outcomeOf(() => c.call(undefined, p));
let afterError: string | undefined;
if (o.threw && c.after) {
  try {
    await c.after(undefined, p);
  } catch (e) {
    afterError = String((e as Error)?.stack ?? e);
  }
}
process.stdout.write(`${JSON.stringify({ outcome: o, afterError, uid: process.getuid?.() })}\n`);
process.exit(0);
