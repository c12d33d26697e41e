/**
 * `pipeline/` and `maintenance/` do not import each other (issue 16, part 5): `run/run-pipeline.ts`
 * composes them. Every import and re-export of every source file in both folders is resolved and
 * checked, including `import type`, multi-line imports and dynamic `import()`.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { crossings, importSpecifiers, sourceFiles, SRC } from '../helpers/imports.js';

test('the scanner finds every form of import (so the checks below can fail)', () => {
  const text = [
    "import { MaintenanceScheduler } from '../maintenance/scheduler.js';",
    "import type { MaintenancePolicy } from \"../maintenance/policy.js\";",
    'import {',
    '  a,',
    '  b,',
    "} from '../maintenance/compact.js';",
    "export { c } from '../maintenance/where.js';",
    "import '../maintenance/side-effect.js';",
    "const m = await import('../maintenance/remove-orphans.js');",
    "const s = 'not an import: ../maintenance/x.js';",
  ].join('\n');
  assert.deepEqual(importSpecifiers(text), [
    '../maintenance/scheduler.js',
    '../maintenance/policy.js',
    '../maintenance/compact.js',
    '../maintenance/where.js',
    '../maintenance/side-effect.js',
    '../maintenance/remove-orphans.js',
  ]);
});

test('src/pipeline/ imports nothing from src/maintenance/', async () => {
  assert.ok((await sourceFiles(join(SRC, 'pipeline'))).length >= 10, 'the pipeline sources were found');
  assert.deepEqual(await crossings('pipeline', 'maintenance'), []);
});

test('src/maintenance/ imports nothing from src/pipeline/', async () => {
  assert.ok((await sourceFiles(join(SRC, 'maintenance'))).length >= 8, 'the maintenance sources were found');
  assert.deepEqual(await crossings('maintenance', 'pipeline'), []);
});

test('the runner is what imports both', async () => {
  // The composition exists (and is the one place that knows both): a stale test would pass vacuously.
  const text = await readFile(join(SRC, 'run', 'run-pipeline.ts'), 'utf8');
  const specs = importSpecifiers(text);
  assert.ok(specs.some((s) => s.startsWith('../pipeline/')), 'run-pipeline.ts imports the pipeline');
  assert.ok(specs.some((s) => s.startsWith('../maintenance/')), 'run-pipeline.ts imports maintenance');
});
