/**
 * Locates `../shared` (fixtures and notes beside the repository). Tests that need it call
 * `sharedDir()` and skip with a clear message when it is absent.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, whether running from test/ (tsx) or dist/test/ (compiled). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('test: repository root not found');
    dir = parent;
  }
  return dir;
}

/** Absolute path of `../shared`, or undefined when it is not beside the repository. */
export function sharedDir(): string | undefined {
  const dir = process.env.FLOE_SHARED_DIR ?? resolve(repoRoot(), '..', 'shared');
  return existsSync(join(dir, 'fixtures')) ? dir : undefined;
}

/** Skip reason for `test(name, { skip: SKIP_NO_SHARED }, …)`; false when ../shared is present. */
export const SKIP_NO_SHARED: string | false = sharedDir()
  ? false
  : '../shared is not beside the repository: fixture tests skipped';

/** Path inside `../shared/fixtures`; only call when SKIP_NO_SHARED is false. */
export function fixturePath(...parts: string[]): string {
  const dir = sharedDir();
  if (!dir) throw new Error('test: ../shared is absent');
  return join(dir, 'fixtures', ...parts);
}
