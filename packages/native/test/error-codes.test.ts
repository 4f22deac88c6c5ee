import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ShmError, ShmSystemError, withTarget } from '../src/index.js';

// The public ShmErrorCode union must hold exactly the ERR_SHM_* codes some package throws: a code thrown but not
// listed cannot be narrowed on by users; a code listed but never thrown promises a case that never comes.

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CODE = /^ERR_SHM_[A-Z0-9_]+$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.(ts|mts|cts)$/.test(n) && !n.endsWith('.d.ts') ? [p] : [];
  });
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

/** A literal only compared with (`e.code === 'X'`, `case 'X'`, `isCode(e, 'X')`) names a code; it does not make one. */
function isComparison(node: ts.Node): boolean {
  const p = node.parent;
  if (ts.isBinaryExpression(p)) {
    const op = p.operatorToken.kind;
    return (
      op === ts.SyntaxKind.EqualsEqualsEqualsToken ||
      op === ts.SyntaxKind.ExclamationEqualsEqualsToken ||
      op === ts.SyntaxKind.EqualsEqualsToken ||
      op === ts.SyntaxKind.ExclamationEqualsToken
    );
  }
  if (ts.isCaseClause(p)) return true;
  if (ts.isCallExpression(p) && p.arguments.includes(node as ts.Expression)) {
    const callee = p.expression;
    const name = ts.isIdentifier(callee)
      ? callee.text
      : ts.isPropertyAccessExpression(callee)
        ? callee.name.text
        : '';
    return name === 'isCode' || name === 'has' || name === 'includes';
  }
  return false;
}

/** Every ERR_SHM_* string a package's src/ produces (as an error code, not in a type or a comparison). */
function thrownCodes(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const pkg of readdirSync(packagesDir)) {
    const src = join(packagesDir, pkg, 'src');
    let files: string[];
    try {
      files = sourceFiles(src);
    } catch {
      continue;
    }
    for (const file of files) {
      const sf = parse(file);
      const visit = (node: ts.Node): void => {
        if (ts.isLiteralTypeNode(node)) return; // the union itself, and any other type
        if (
          (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) &&
          CODE.test(node.text) &&
          !isComparison(node)
        ) {
          const where = `${relative(packagesDir, file)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
          found.set(node.text, [...(found.get(node.text) ?? []), where]);
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
  }
  return found;
}

/** The members of `export type ShmErrorCode = 'A' | 'B' ...` in src/errors.ts. */
function unionCodes(): string[] {
  const sf = parse(join(packagesDir, 'native', 'src', 'errors.ts'));
  const alias = sf.statements.find(
    (s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === 'ShmErrorCode',
  );
  if (!alias || !ts.isUnionTypeNode(alias.type)) throw new Error('ShmErrorCode is not a union of literals');
  return alias.type.types.map((t) => {
    if (!ts.isLiteralTypeNode(t) || !ts.isStringLiteral(t.literal))
      throw new Error(`ShmErrorCode member is not a string literal: ${t.getText(sf)}`);
    return t.literal.text;
  });
}

describe('the ShmErrorCode union (native/src/errors.ts)', () => {
  const thrown = thrownCodes();
  const union = unionCodes();

  it('finds codes in the sources at all (the scan itself works)', () => {
    expect(thrown.size).toBeGreaterThan(10);
    expect(thrown.get('ERR_SHM_CLOSED')?.some((w) => w.startsWith('native/src/errors.ts'))).toBe(true);
  });

  it('lists every ERR_SHM_* code that some package throws', () => {
    const missing = [...thrown].filter(([c]) => !union.includes(c)).map(([c, where]) => `${c} (${where[0]})`);
    expect(missing).toEqual([]);
  });

  it('lists no code that no package throws', () => {
    expect(union.filter((c) => !thrown.has(c))).toEqual([]);
  });

  it('lists each code once', () => {
    expect(union.length).toBe(new Set(union).size);
  });

  it('no longer lists the retired codes', () => {
    for (const c of ['ERR_SHM_OWNER_DIED', 'ERR_SHM_WOULD_BLOCK']) expect(union).not.toContain(c);
    for (const c of ['ERR_SHM_NOT_HELD', 'ERR_SHM_DEADLOCK']) expect(union).toContain(c);
  });
});

describe('withTarget', () => {
  it('returns a copy with the target and leaves the original unchanged', () => {
    const e = new ShmError('ERR_SHM_CLOSED', 'store is closed', { target: 'a' });
    const c = withTarget(e, '/name');
    expect(c).not.toBe(e);
    expect(e.message).toBe('store is closed');
    expect(e.target).toBe('a');
    expect(c.message).toBe('store is closed [/name]');
    expect(c.target).toBe('/name');
    expect(c.code).toBe('ERR_SHM_CLOSED');
    expect(c).toBeInstanceOf(ShmError);
    expect(ShmError.isInstance(c)).toBe(true);
    expect(c.stack).toContain('[/name]');
    expect(e.stack).not.toContain('[/name]');
  });

  it('keeps the class, errno, syscall and cause of a system error', () => {
    const cause = new Error('inner');
    const e = new ShmSystemError('no such segment', 2, 'shmget', 'key 0x1');
    Object.defineProperty(e, 'cause', { value: cause });
    const c = withTarget(e, 'key 0x2');
    expect(c).toBeInstanceOf(ShmSystemError);
    expect(ShmSystemError.isInstance(c)).toBe(true);
    expect([c.code, c.errno, c.syscall, c.cause]).toEqual(['ENOENT', 2, 'shmget', cause]);
    expect([e.target, c.target]).toEqual(['key 0x1', 'key 0x2']);
  });
});
