/**
 * DuckDB has a folder of its own (issue 16, part 5): `src/duckdb/` (instance, types, the scan table
 * function) is used by both the Parquet writer (`src/data/`) and the query engine (`src/query/`),
 * which do not import each other; `src/duckdb/` itself depends only on `errors.ts` and the pure
 * `src/iceberg/`. Every relative import, re-export and dynamic `import()` is resolved and checked.
 */
import assert from 'node:assert/strict';
import { join, sep } from 'node:path';
import { test } from 'node:test';
import { crossings, importSpecifiers, relativeImports, sourceFiles, SRC } from '../helpers/imports.js';

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
