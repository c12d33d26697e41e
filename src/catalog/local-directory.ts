/**
 * Creating a local directory on purpose, failing at once where it cannot exist.
 *
 * Node 20's `mkdir(path, { recursive: true })` (sync and async alike) never returns for a path
 * whose parent exists but cannot hold children, such as `/proc/x`: mkdir("/proc/x") fails with
 * ENOENT, mkdir("/proc") with EEXIST, and libuv's walk goes back and forth forever (the async form
 * holds a threadpool thread, so `floe run` with `catalog.warehouse: /proc/x` hung silently). This
 * walk takes one step up per missing level and gives up when a level still cannot be created
 * after its parent exists.
 */
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ValidationError } from '../errors.js';

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Makes sure the local directory `path` exists, creating it and its missing parents.
 * @param what names the directory in the error (`catalog: warehouse /proc/x`)
 * @throws ValidationError `<what>: cannot create directory …` naming the level that failed
 */
export function ensureLocalDirectory(path: string, what: string): void {
  const abs = resolve(path);
  const fail = (at: string, e: unknown): never => {
    const detail = e instanceof Error ? e.message : String(e);
    throw new ValidationError(`${what}: cannot create directory ${abs}${at === abs ? '' : ` (at ${at})`}: ${detail}`, { cause: e });
  };
  const make = (dir: string, depth: number): void => {
    try {
      mkdirSync(dir);
      return;
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'EEXIST') {
        if (isDirectory(dir)) return;
        fail(dir, new Error('exists and is not a directory'));
      }
      if (code !== 'ENOENT') fail(dir, e);
    }
    const parent = dirname(dir);
    if (parent === dir || depth > 4096) fail(dir, new Error('no such file or directory'));
    make(parent, depth + 1);
    // The parent exists now: a second ENOENT is final (e.g. under /proc), never a loop.
    try {
      mkdirSync(dir);
    } catch (e) {
      if (errnoCode(e) === 'EEXIST' && isDirectory(dir)) return;
      fail(dir, e);
    }
  };
  make(abs, 0);
}

async function isDirectoryAsync(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * {@link ensureLocalDirectory} without blocking the event loop, for the paths written on the way
 * (data, manifest and metadata files, caches): the same walk with `fs/promises`. When the
 * directory exists it costs what Node's recursive mkdir costs (one mkdir, one stat).
 * @throws ValidationError `<what>: cannot create directory …`; its `cause` is the errno error
 */
export async function ensureLocalDirectoryAsync(path: string, what: string): Promise<void> {
  const abs = resolve(path);
  const fail = (at: string, e: unknown): never => {
    const detail = e instanceof Error ? e.message : String(e);
    throw new ValidationError(`${what}: cannot create directory ${abs}${at === abs ? '' : ` (at ${at})`}: ${detail}`, { cause: e });
  };
  const make = async (dir: string, depth: number): Promise<void> => {
    try {
      await mkdir(dir);
      return;
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'EEXIST') {
        if (await isDirectoryAsync(dir)) return;
        fail(dir, new Error('exists and is not a directory'));
      }
      if (code !== 'ENOENT') fail(dir, e);
    }
    const parent = dirname(dir);
    if (parent === dir || depth > 4096) fail(dir, new Error('no such file or directory'));
    await make(parent, depth + 1);
    // The parent exists now: a second ENOENT is final (e.g. under /proc), never a loop.
    try {
      await mkdir(dir);
    } catch (e) {
      if (errnoCode(e) === 'EEXIST' && (await isDirectoryAsync(dir))) return;
      fail(dir, e);
    }
  };
  await make(abs, 0);
}
