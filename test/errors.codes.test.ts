/**
 * One list of error codes: every code src/ raises is in `ErrorCode` (found by reading the source,
 * as a reviewer would), every listed code is raised somewhere, and the README documents each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, FloeError, hasCode } from '../src/errors.js';
import { ErrorCode as FromIndex } from '../src/index.js';

/** The repository root, from test/ or from dist/test/. */
function repoRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      if (readFileSync(join(dir, 'package.json'), 'utf8').includes('"name": "floe"')) return dir;
    } catch {
      // not here
    }
    dir = join(dir, '..');
  }
  throw new Error('repository root not found');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

/** Codes constructed in `text`: `new FloeError('X'` / `new FloeError(ErrorCode.X`, and `super('X'` in FloeError subclasses. */
function codesIn(text: string): { codes: string[]; unreadable: string[] } {
  const codes: string[] = [];
  const unreadable: string[] = [];
  for (const m of text.matchAll(/new FloeError\(\s*([^,)]*)/g)) {
    const arg = m[1]!.trim();
    const lit = /^'([A-Za-z0-9_]+)'$/.exec(arg) ?? /^ErrorCode\.([A-Za-z0-9_]+)$/.exec(arg);
    if (lit) codes.push(lit[1]!);
    else unreadable.push(`new FloeError(${arg}`);
  }
  if (/extends FloeError\b/.test(text)) {
    for (const m of text.matchAll(/super\(\s*([^,)]*)/g)) {
      const arg = m[1]!.trim();
      const lit = /^'([A-Za-z0-9_]+)'$/.exec(arg) ?? /^ErrorCode\.([A-Za-z0-9_]+)$/.exec(arg);
      if (lit) codes.push(lit[1]!);
      else if (arg !== 'code' && arg !== 'message') unreadable.push(`super(${arg}`);
    }
  }
  return { codes, unreadable };
}

const root = repoRoot();
const listed = new Set<string>(Object.values(ErrorCode));

test('the scanner reads what it must (and refuses what it cannot read)', () => {
  assert.deepEqual(codesIn("throw new FloeError(\n  'IO', `io: x`);").codes, ['IO']);
  assert.deepEqual(codesIn('new FloeError(ErrorCode.FENCED, m)').codes, ['FENCED']);
  assert.deepEqual(codesIn("class A extends FloeError { constructor() { super('NEW_ONE', 'm'); } }").codes, ['NEW_ONE']);
  assert.deepEqual(codesIn('new FloeError(someCode, m)').unreadable, ['new FloeError(someCode']);
});

test('every code raised in src/ is in ErrorCode, readable by the scan', () => {
  const used = new Map<string, string>();
  const unreadable: string[] = [];
  for (const file of sourceFiles(join(root, 'src'))) {
    const found = codesIn(readFileSync(file, 'utf8'));
    for (const c of found.codes) used.set(c, file.slice(root.length));
    unreadable.push(...found.unreadable.map((u) => `${file.slice(root.length)}: ${u}`));
  }
  assert.deepEqual(unreadable, [], 'a code must be a literal or ErrorCode.X where the error is made');
  assert.ok(used.size >= 30 && used.has('COMMIT_CONFLICT') && used.has('PURGE_REFUSED'), `the scan found ${used.size} codes`);
  const missing = [...used].filter(([c]) => !listed.has(c)).map(([c, f]) => `${c} (${f})`);
  assert.deepEqual(missing, [], 'codes raised but not in ErrorCode (src/errors.ts)');
  const unused = [...listed].filter((c) => !used.has(c));
  assert.deepEqual(unused, [], 'codes in ErrorCode that nothing raises');
});

test('ErrorCode: keys are their values, exported from the front door, documented in the README', () => {
  for (const [k, v] of Object.entries(ErrorCode)) assert.equal(k, v);
  assert.equal(FromIndex, ErrorCode);
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const rows = new Map([...readme.matchAll(/^\| `([A-Z0-9_]+)` \| (.+) \| (yes|no|some) \|$/gm)].map((m) => [m[1]!, m[3]!]));
  assert.deepEqual([...listed].filter((c) => !rows.has(c)), [], 'codes without a README row');
  assert.deepEqual([...rows.keys()].filter((c) => !listed.has(c)), [], 'README rows of codes that do not exist');
  // The table's "retriable" column says what the classes with a fixed answer do.
  assert.equal(rows.get('CATALOG_UNREACHABLE'), 'yes');
  assert.equal(rows.get('COMMIT_CONFLICT'), 'yes');
  assert.equal(rows.get('COMMIT_STATE_UNKNOWN'), 'no');
  assert.equal(rows.get('VALIDATION'), 'no');
});

test('FloeError carries its code; hasCode checks it', () => {
  const e = new FloeError(ErrorCode.IO, 'io: x', { retriable: true });
  assert.equal(e.code, 'IO');
  assert.ok(hasCode(e, 'IO'));
  assert.ok(!hasCode(e, 'NOT_FOUND'));
  assert.ok(!hasCode(new Error('IO'), 'IO'));
});
