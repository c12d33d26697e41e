// Builds dist/src (`tsc -b tsconfig.src.json`, incremental) unless nothing it compiles changed
// since the last successful build: what `npm start` and `npm run floe` run first.
//
// Why not always `tsc -b`: its own up-to-date check is right but costs about a second (loading
// TypeScript), a fifth of `npm start`. This check stats src/ (files and folders: a folder's
// mtime changes when a file is added, removed or renamed) against a stamp written after a build
// that succeeded, dated when that build started (an edit made during the build is newer).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.src-built');
const inputs = ['tsconfig.json', 'tsconfig.src.json', 'package.json'];

/** The newest mtime (ms) of a file or folder tree. */
function newest(path) {
  const st = statSync(path);
  let t = st.mtimeMs;
  if (st.isDirectory()) for (const name of readdirSync(path)) t = Math.max(t, newest(join(path, name)));
  return t;
}

function upToDate() {
  if (!existsSync(stamp) || !existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) return false;
  const built = statSync(stamp).mtimeMs;
  return newest(join(root, 'src')) < built && inputs.every((f) => statSync(join(root, f)).mtimeMs < built);
}

if (!upToDate()) {
  const started = new Date();
  rmSync(stamp, { force: true });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-b', join(root, 'tsconfig.src.json')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  writeFileSync(stamp, '');
  utimesSync(stamp, started, started);
}
