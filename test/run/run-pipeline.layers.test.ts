/**
 * `pipeline/` and `maintenance/` do not import each other (issue 16, part 5): `run/run-pipeline.ts`
 * composes them. Every import and re-export of every source file in both folders is resolved and
 * checked, including `import type`, multi-line imports and dynamic `import()`.
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

/** The imports of the files under src/<from>/ that land in src/<to>/, as `file → specifier`. */
async function crossings(from: string, to: string): Promise<string[]> {
  const target = join(SRC, to) + sep;
  const found: string[] = [];
  for (const file of await sourceFiles(join(SRC, from))) {
    for (const spec of importSpecifiers(await readFile(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      if (resolve(dirname(file), spec).startsWith(target)) found.push(`${relative(SRC, file)} → ${spec}`);
    }
  }
  return found;
}

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
