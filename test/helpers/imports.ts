/**
 * An import scanner for the layering tests (`test/duckdb/layers.imports.test.ts`,
 * `test/run/run-pipeline.layers.test.ts`): finds every relative import, re-export and dynamic
 * `import()` of the sources under `src/` and resolves it, so a test can say which folder may
 * import which.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
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

/** The repository's `src/` folder. */
export const SRC = join(repositoryRoot(), 'src');

/** Every module specifier of a TypeScript source: `from '…'`, `import '…'`, `import('…')`. */
export function importSpecifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)(['"])([^'"\n]+)\1/gm)) out.push(m[2]!);
  return out;
}

/** Every source file (.ts, .mts, .js, .mjs) under `dir`, recursively. */
export async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** The relative imports of the files under src/<from>/, resolved, as `[file, specifier, target]`. */
export async function relativeImports(from: string): Promise<[string, string, string][]> {
  const found: [string, string, string][] = [];
  for (const file of await sourceFiles(join(SRC, from))) {
    for (const spec of importSpecifiers(await readFile(file, 'utf8'))) {
      if (spec.startsWith('.')) found.push([relative(SRC, file), spec, resolve(dirname(file), spec)]);
    }
  }
  return found;
}

/** The imports of the files under src/<from>/ that land in src/<to>/, as `file → specifier`. */
export async function crossings(from: string, to: string): Promise<string[]> {
  const target = join(SRC, to) + sep;
  return (await relativeImports(from)).filter(([, , t]) => t.startsWith(target)).map(([f, s]) => `${f} → ${s}`);
}
