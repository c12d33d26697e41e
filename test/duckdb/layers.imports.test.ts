/**
 * DuckDB has a folder of its own (issue 16, part 5): `src/duckdb/` (instance, types, the scan table
 * function) is used by both the Parquet writer (`src/data/`) and the query engine (`src/query/`),
 * which do not import each other; `src/duckdb/` itself depends only on `errors.ts` and the pure
 * `src/iceberg/`. Every relative import, re-export and dynamic `import()` is resolved and checked.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file with a package.json (works from dist/ too). */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || basename(dir) === 'dist') {
    const up = dirname(dir);
    if (up === dir) throw new Error('layers test: no package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}
const SRC = join(repositoryRoot(), 'src');

/** Every module specifier of a TypeScript source: `from '…'`, `import '…'`, `import('…')`. */
function importSpecifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)(['"])([^'"\n]+)\1/gm)) out.push(m[2]!);
  return out;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** The relative imports of the files under src/<from>/, resolved, as `[file, specifier, target]`. */
async function relativeImports(from: string): Promise<[string, string, string][]> {
  const found: [string, string, string][] = [];
  for (const file of await sourceFiles(join(SRC, from))) {
    for (const spec of importSpecifiers(await readFile(file, 'utf8'))) {
      if (spec.startsWith('.')) found.push([relative(SRC, file), spec, resolve(dirname(file), spec)]);
    }
  }
  return found;
}

/** The imports of the files under src/<from>/ that land in src/<to>/, as `file → specifier`. */
async function crossings(from: string, to: string): Promise<string[]> {
  const target = join(SRC, to) + sep;
  return (await relativeImports(from)).filter(([, , t]) => t.startsWith(target)).map(([f, s]) => `${f} → ${s}`);
}

test('the scanner finds every form of import (so the checks below can fail)', () => {
  const text = [
    "import { DuckDB } from '../query/duckdb.js';",
    'import type { DuckDBType } from "../query/types.js";',
    'import {',
    '  a,',
    '  b,',
    "} from '../query/engine.js';",
    "export { c } from '../query/table-view.js';",
    "import '../query/side-effect.js';",
    "const m = await import('../query/table-scan.js');",
    "const s = 'not an import: ../query/x.js';",
  ].join('\n');
  assert.deepEqual(importSpecifiers(text), [
    '../query/duckdb.js',
    '../query/types.js',
    '../query/engine.js',
    '../query/table-view.js',
    '../query/side-effect.js',
    '../query/table-scan.js',
  ]);
});

test('src/data/ imports nothing from src/query/', async () => {
  assert.ok((await sourceFiles(join(SRC, 'data'))).length >= 5, 'the data sources were found');
  assert.deepEqual(await crossings('data', 'query'), []);
});

test('src/query/ imports nothing from src/data/', async () => {
  assert.ok((await sourceFiles(join(SRC, 'query'))).length >= 5, 'the query sources were found');
  assert.deepEqual(await crossings('query', 'data'), []);
});

test('src/duckdb/ depends only on errors.ts and src/iceberg/', async () => {
  const imports = await relativeImports('duckdb');
  assert.ok(imports.length >= 3, 'the duckdb sources and their imports were found');
  const allowed = (t: string) =>
    t.startsWith(join(SRC, 'duckdb') + sep) || t.startsWith(join(SRC, 'iceberg') + sep) || t === join(SRC, 'errors.js');
  assert.deepEqual(imports.filter(([, , t]) => !allowed(t)).map(([f, s]) => `${f} → ${s}`), []);
});

test('both the writer and the query engine use src/duckdb/', async () => {
  // The shared room is really shared: a stale test would pass vacuously if either stopped using it.
  assert.ok((await crossings('data', 'duckdb')).length > 0, 'src/data/ imports src/duckdb/');
  assert.ok((await crossings('query', 'duckdb')).length > 0, 'src/query/ imports src/duckdb/');
});
