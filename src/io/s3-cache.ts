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
 * Nothing is evicted: the cache grows with the files read. Point `cacheDir` at a disposable
 * directory (the default is under the OS temp directory) and clear it when convenient.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
 */
export async function cachedLocalPath(
  dir: string,
  location: string,
  version: CachedObjectVersion,
  download: (path: string) => Promise<void>,
): Promise<string> {
  const path = join(dir, cacheFileName(location, version));
  try {
    if ((await stat(path)).size === version.size) return path;
  } catch {
    // not cached yet
  }
  const running = inflight.get(path);
  if (running) return running;
  const task = (async () => {
    await mkdir(dir, { recursive: true });
    const tmp = `${path}.${randomUUID()}.tmp`;
    try {
      await download(tmp);
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    return path;
  })();
  inflight.set(path, task);
  try {
    return await task;
  } finally {
    inflight.delete(path);
  }
}
