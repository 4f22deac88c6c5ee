import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { docFiles, fences } from '../src/samples.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, duplicates numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let inFence = false;
  for (const l of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(l)) inFence = !inFence;
    const h = inFence ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(l);
    if (!h) continue;
    const base = h[1]!
      .replace(/`/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Markdown links outside code: [text](target). */
function links(markdown: string): string[] {
  let text = markdown;
  for (const f of fences(markdown)) text = text.replace(f.code, '');
  text = text.replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

describe('links in the docs', () => {
  for (const file of docFiles(root)) {
    const rel = relative(root, file);
    it(`${rel}: every relative link and anchor resolves`, () => {
      const md = readFileSync(file, 'utf8');
      const broken: string[] = [];
      for (const target of links(md)) {
        if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const dest = path === '' ? file : join(dirname(file), decodeURI(path));
        if (!existsSync(dest)) {
          broken.push(`${target} (no such file)`);
          continue;
        }
        if (anchor && statSync(dest).isFile() && dest.endsWith('.md')) {
          if (!anchors(readFileSync(dest, 'utf8')).has(anchor)) broken.push(`${target} (no such heading)`);
        }
      }
      expect(broken).toEqual([]);
    });
  }
});
