/**
 * FileIO over the local filesystem: plain absolute paths and `file:` URIs.
 *
 * Writes go to a temporary file in the destination directory and are then published in one
 * step, so readers never see a partial file. Without `overwrite`, publishing is `link(2)`, which
 * fails with EEXIST when the destination exists: two writers racing for the same metadata file
 * name can never clobber each other (the local equivalent of S3's `If-None-Match: *`).
 */
import { randomUUID } from 'node:crypto';
import { constants as fsConstants, type Dirent } from 'node:fs';
import { copyFile, link, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { ensureLocalDirectoryAsync } from '../catalog/local-directory.js';
import { AlreadyExistsError, FloeError, NotFoundError, ValidationError } from '../errors.js';
import type { FileInfo, FileIO, WriteOptions } from './file-io.js';
import { fileUriToPath } from './location.js';

/** errno codes worth retrying unchanged (transient resource exhaustion or contention). */
const RETRIABLE_CODES = new Set(['EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ETIMEDOUT', 'EINTR']);

/** errno codes meaning "this filesystem cannot hard-link": fall back to an exclusive copy. */
const NO_LINK_CODES = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/** Maps a Node fs error to a floe error naming the location. */
function ioError(location: string, action: string, e: unknown): FloeError {
  const code = errnoCode(e);
  if (code === 'ENOENT') return new NotFoundError(`io: ${location}: not found`, { cause: e });
  if (code === 'EEXIST') return new AlreadyExistsError(`io: ${location}: already exists`, { cause: e });
  if (code === 'EISDIR') return new ValidationError(`io: ${location}: is a directory`, { cause: e });
  const detail = e instanceof Error ? e.message : String(e);
  return new FloeError('IO', `io: ${location}: ${action} failed: ${detail}`, {
    cause: e,
    retriable: code !== undefined && RETRIABLE_CODES.has(code),
  });
}

/** Validates readRange arguments (shared by every FileIO in this folder). */
export function checkRange(location: string, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new ValidationError(`io: ${location}: readRange offset must be a non-negative integer, got ${offset}`);
  }
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new ValidationError(`io: ${location}: readRange length must be a non-negative integer, got ${length}`);
  }
}

/** Local filesystem FileIO. Stateless; one instance can serve every local location. */
export class LocalFileIO implements FileIO {
  /** The filesystem path for a location (plain path or `file:` URI). */
  toPath(location: string): string {
    return fileUriToPath(location);
  }

  async read(location: string): Promise<Uint8Array> {
    const path = this.toPath(location);
    const fh = await open(path, 'r').catch((e: unknown) => {
      throw ioError(location, 'open', e);
    });
    try {
      const buf = await fh.readFile();
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      throw ioError(location, 'read', e);
    } finally {
      await fh.close();
    }
  }

  /** Returns the bytes in `[offset, offset + length)`, truncated at the end of the file. */
  async readRange(location: string, offset: number, length: number): Promise<Uint8Array> {
    checkRange(location, offset, length);
    const path = this.toPath(location);
    const fh = await open(path, 'r').catch((e: unknown) => {
      throw ioError(location, 'open', e);
    });
    try {
      const out = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await fh.read(out, filled, length - filled, offset + filled);
        if (bytesRead === 0) break; // end of file
        filled += bytesRead;
      }
      return filled === length ? out : out.subarray(0, filled);
    } catch (e) {
      throw ioError(location, 'read', e);
    } finally {
      await fh.close();
    }
  }

  async stat(location: string): Promise<FileInfo> {
    const st = await stat(this.toPath(location)).catch((e: unknown) => {
      throw ioError(location, 'stat', e);
    });
    if (!st.isFile()) throw new ValidationError(`io: ${location}: not a regular file`);
    return { location, size: st.size, lastModified: st.mtimeMs };
  }

  async exists(location: string): Promise<boolean> {
    try {
      return (await stat(this.toPath(location))).isFile();
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw ioError(location, 'stat', e);
    }
  }

  async write(location: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    const path = this.toPath(location);
    const dir = dirname(path);
    // Not mkdir({ recursive: true }): it never returns for a directory under /proc.
    await ensureLocalDirectoryAsync(dir, `io: ${location}`).catch((e: unknown) => {
      const cause = e instanceof Error ? e.cause : undefined;
      const code = errnoCode(cause);
      throw code !== undefined && RETRIABLE_CODES.has(code) ? ioError(location, 'mkdir', cause) : e;
    });
    // Hidden and unique, in the same directory so that link/rename stay on one filesystem.
    const tmp = join(dir, `.${basename(path)}.${randomUUID()}.tmp`);
    let tmpExists = false;
    try {
      const fh = await open(tmp, 'wx');
      tmpExists = true;
      try {
        await fh.writeFile(data);
        // Durability: the catalog pointer may move to this file right after we return.
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (options.overwrite) {
        await rename(tmp, path);
        tmpExists = false;
      } else {
        await publishExclusive(tmp, path);
      }
      await syncDir(dir);
    } catch (e) {
      if (e instanceof FloeError) throw e;
      throw ioError(location, 'write', e);
    } finally {
      if (tmpExists) await unlink(tmp).catch(() => undefined);
    }
  }

  async delete(location: string): Promise<void> {
    try {
      await unlink(this.toPath(location));
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw ioError(location, 'delete', e);
    }
  }

  /**
   * Lists regular files whose location starts with `prefix` (a plain string prefix, so
   * `…/metadata/v` matches `…/metadata/v1.metadata.json`), walking directories recursively.
   * Locations are returned in the prefix's style (`file:` URI or plain path), sorted.
   */
  async *list(prefix: string): AsyncIterable<FileInfo> {
    let prefixPath = this.toPath(prefix);
    // A prefix ending in '/' names a directory (path.resolve drops the slash of relative ones).
    const isDir = prefix.endsWith('/');
    if (isDir && !prefixPath.endsWith(sep)) prefixPath += sep;
    const root = isDir ? prefixPath : dirname(prefixPath);
    // Every listed path starts with prefixPath, so swapping that part back gives the caller's
    // style exactly (`file:/…`, `file:///…`, relative or absolute path).
    const style = (path: string): string => prefix + path.slice(prefixPath.length);
    for await (const path of walk(root)) {
      if (!path.startsWith(prefixPath)) continue;
      let st;
      try {
        st = await stat(path);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') continue; // deleted while listing
        throw ioError(style(path), 'stat', e);
      }
      if (!st.isFile()) continue;
      yield { location: style(path), size: st.size, lastModified: st.mtimeMs };
    }
  }

  /** The path itself (after checking that the file exists). */
  async localPath(location: string): Promise<string> {
    const path = this.toPath(location);
    if (!(await this.exists(location))) throw new NotFoundError(`io: ${location}: not found`);
    return path;
  }
}

/**
 * Publishes `tmp` at `path` only if `path` does not exist. link(2) is atomic and fails with
 * EEXIST; on filesystems without hard links we fall back to an exclusive copy, which keeps the
 * no-overwrite guarantee but not atomic visibility.
 */
async function publishExclusive(tmp: string, path: string): Promise<void> {
  try {
    await link(tmp, path);
  } catch (e) {
    const code = errnoCode(e);
    if (code === undefined || !NO_LINK_CODES.has(code)) throw e;
    await copyFile(tmp, path, fsConstants.COPYFILE_EXCL);
  }
}

/** fsync a directory so a new entry survives a crash; best effort (unsupported on some systems). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not all platforms allow fsync on directories; the file itself is already synced.
  }
}

/** Depth-first walk yielding every non-directory entry below `root`, in sorted order. */
async function* walk(root: string): AsyncGenerator<string> {
  let entries: Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw ioError(root, 'list', e);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}
