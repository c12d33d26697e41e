/**
 * The local file cache behind `S3FileIO.localPath`: engines that read files themselves (DuckDB,
 * which cannot reach S3 here) get a local copy, downloaded once and reused by every later call in
 * this or any other process.
 *
 * A cache file's name covers the location and the object's version (ETag and size), so a
 * rewritten object gets a new file and a stale copy is never served. The original file name is
 * kept as the suffix because engines infer the format from the extension. Downloads go to a
 * temporary file renamed into place, so a reader never sees a partial file; concurrent requests
 * for the same file in one process share one download.
 *
 * The cache is bounded (`maxBytes`, default 2 GiB): after a download takes it over the bound, the
 * least recently used files are deleted (a hit touches its file's modification time) until it is
 * back under. Files used in the last minute are kept even then, so a query that was just handed a
 * path (in this or another process) still finds the file; an open file survives its deletion.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalDirectoryAsync } from '../catalog/local-directory.js';

/** The default bound of the cache directory's size: 2 GiB. */
export const DEFAULT_S3_CACHE_MAX_BYTES = 2 * 1024 ** 3;

/** Files used this recently are never evicted (a reader may be about to open them). */
const KEEP_RECENT_MS = 60_000;

/** The default cache directory: `<os tmpdir>/floe-s3-cache`. */
export function defaultS3CacheDir(): string {
  return join(tmpdir(), 'floe-s3-cache');
}

/** A version of a stored object, as HeadObject reports it. */
export interface CachedObjectVersion {
  size: number;
  etag: string | undefined;
}

/** The cache file name for a location at a given version. */
export function cacheFileName(location: string, version: CachedObjectVersion): string {
  const key = createHash('sha256')
    .update(`${location}\0${version.etag ?? ''}\0${version.size}`)
    .digest('hex')
    .slice(0, 32);
  const base = (location.slice(location.lastIndexOf('/') + 1) || 'file').replace(/[^A-Za-z0-9._-]/g, '_').slice(-100);
  return `${key}-${base}`;
}

const inflight = new Map<string, Promise<string>>();

/**
 * The cache path of `location` at `version`, downloading it first when absent.
 * @param download writes the object's bytes to the given path; must fail rather than write
 *   another version (e.g. GetObject with If-Match)
 * @param maxBytes the cache directory's bound (see the file comment)
 */
export async function cachedLocalPath(
  dir: string,
  location: string,
  version: CachedObjectVersion,
  download: (path: string) => Promise<void>,
  maxBytes = DEFAULT_S3_CACHE_MAX_BYTES,
): Promise<string> {
  const path = join(dir, cacheFileName(location, version));
  try {
    if ((await stat(path)).size === version.size) {
      // Marks it recently used, for eviction.
      const now = new Date();
      await utimes(path, now, now).catch(() => undefined);
      return path;
    }
  } catch {
    // not cached yet
  }
  const running = inflight.get(path);
  if (running) return running;
  const task = (async () => {
    await ensureLocalDirectoryAsync(dir, 's3: cache');
    const tmp = `${path}.${randomUUID()}.tmp`;
    try {
      await download(tmp);
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await evict(dir, maxBytes, path);
    return path;
  })();
  inflight.set(path, task);
  try {
    return await task;
  } finally {
    inflight.delete(path);
  }
}

/**
 * Deletes least recently used cache files until the directory holds at most `maxBytes`, never
 * `keep`, files in use by a download of this process, or files used within the last minute.
 * Best effort: a file another process deletes first is skipped.
 */
export async function evict(dir: string, maxBytes: number, keep?: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const files: { path: string; size: number; used: number }[] = [];
  let total = 0;
  for (const name of names) {
    const path = join(dir, name);
    try {
      const st = await stat(path);
      if (!st.isFile()) continue;
      total += st.size;
      // Temporary files of running downloads count, but are not candidates.
      if (!name.endsWith('.tmp')) files.push({ path, size: st.size, used: st.mtimeMs });
    } catch {
      // deleted meanwhile
    }
  }
  if (total <= maxBytes) return;
  const recent = Date.now() - KEEP_RECENT_MS;
  files.sort((a, b) => a.used - b.used);
  for (const f of files) {
    if (total <= maxBytes) break;
    if (f.path === keep || f.used > recent || inflight.has(f.path)) continue;
    try {
      await unlink(f.path);
      total -= f.size;
    } catch {
      // deleted by another process
    }
  }
}
