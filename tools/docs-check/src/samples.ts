import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * A code block of the docs that the suite runs (or, marked `no-run`, deliberately does not).
 *
 * Conventions (docs/README.md explains them to writers):
 * - ```ts and ```js blocks run, each as its own module (`.ts` / `.mjs`), with `@shm/*` importable.
 * - ```sh blocks are commands to read, not run, unless marked ```sh run.
 * - ```ts no-run: <reason> keeps a block out of the run; the reason is required.
 * - A ```text output block right after a runnable block is the exact stdout it must print (a line may hold `...`,
 *   which matches anything).
 * - Text between `<!-- generated:start -->` and `<!-- generated:end -->` is generated and not checked.
 */
export interface Sample {
  /** Repository-relative path of the markdown file. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: 'ts' | 'js' | 'sh';
  code: string;
  /** False for `no-run` blocks and for sh blocks not marked `run`. */
  run: boolean;
  /** The reason given after `no-run:` ('' if none was given, which the suite rejects). */
  noRun?: string;
  /** The stdout the block must print, from a ```text output block that follows it. */
  expectedOutput?: string;
}

const LANGS: Record<string, Sample['lang']> = {
  ts: 'ts',
  typescript: 'ts',
  js: 'js',
  javascript: 'js',
  mjs: 'js',
  sh: 'sh',
  bash: 'sh',
  shell: 'sh',
};

interface Fence {
  line: number;
  /** 0-based index of the closing fence's line. */
  end: number;
  lang: string;
  attrs: string;
  code: string;
}

/** Every fenced block of a markdown text, outside generated regions. */
export function fences(markdown: string): Fence[] {
  const lines = markdown.split('\n');
  const out: Fence[] = [];
  let generated = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/<!--\s*generated:start\s*-->/.test(l)) generated = true;
    if (/<!--\s*generated:end\s*-->/.test(l)) generated = false;
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)\s*(.*)$/.exec(l);
    if (!open) continue;
    const [, indent, marker, lang, attrs] = open as unknown as [string, string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const t = lines[j]!;
      if (t.trim().startsWith(marker[0]!.repeat(marker.length)) && t.trim().replace(/[`~]/g, '') === '')
        break;
      body.push(t.startsWith(indent) ? t.slice(indent.length) : t.trimStart());
    }
    if (!generated)
      out.push({ line: i + 1, end: j, lang: lang.toLowerCase(), attrs: attrs.trim(), code: body.join('\n') });
    i = j;
  }
  return out;
}

/** The samples of one markdown file. */
export function samplesOf(file: string, markdown: string): Sample[] {
  const fs = fences(markdown);
  const lines = markdown.split('\n');
  const out: Sample[] = [];
  for (let k = 0; k < fs.length; k++) {
    const f = fs[k]!;
    const lang = LANGS[f.lang];
    if (!lang) continue;
    const noRun = /(?:^|\s)no-run(?::\s*(.*))?$/.exec(f.attrs);
    const run = noRun ? false : lang === 'sh' ? /(?:^|\s)run(?:\s|$)/.test(f.attrs) : true;
    const s: Sample = { file, line: f.line, lang, code: f.code, run };
    if (noRun) s.noRun = (noRun[1] ?? '').trim();
    const next = fs[k + 1];
    if (next && next.lang === 'text' && /(?:^|\s)output(?:\s|$)/.test(next.attrs)) {
      // Only blank lines may separate a block from its output.
      const between = lines.slice(f.end + 1, next.line - 1);
      if (between.every((l) => l.trim() === '')) s.expectedOutput = next.code;
    }
    out.push(s);
  }
  return out;
}

/** The markdown files whose samples are checked: README.md, docs/** (not docs/api), packages and examples READMEs. */
export function docFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (relative(root, p) !== join('docs', 'api')) walk(p);
      } else if (name.endsWith('.md')) files.push(p);
    }
  };
  if (existsSync(join(root, 'README.md'))) files.push(join(root, 'README.md'));
  if (existsSync(join(root, 'docs'))) walk(join(root, 'docs'));
  for (const group of ['packages', 'examples']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const readme = join(dir, name, 'README.md');
      if (existsSync(readme)) files.push(readme);
    }
  }
  return files;
}

/** Every sample of every checked file, paths relative to `root`. */
export function allSamples(root: string): Sample[] {
  return docFiles(root).flatMap((f) => samplesOf(relative(root, f), readFileSync(f, 'utf8')));
}

/** A file-name-safe id: `docs-guides-docker.md-L42`. */
export function sampleId(s: Pick<Sample, 'file' | 'line'>): string {
  return `${s.file.replace(/[^A-Za-z0-9.]+/g, '-')}-L${s.line}`;
}

/** Does `actual` stdout match the expected output? Lines are compared trimmed; `...` in a line matches anything. */
export function outputMatches(expected: string, actual: string): boolean {
  const norm = (s: string) =>
    s
      .replace(/\r\n/g, '\n')
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n')
      .trim()
      .split('\n');
  const want = norm(expected);
  const got = norm(actual);
  if (want.length !== got.length) return false;
  return want.every((w, i) => {
    const rx = new RegExp(`^${w.split('...').map(escapeRegExp).join('.*')}$`);
    return rx.test(got[i]!);
  });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
