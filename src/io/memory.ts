/**
 * FileIO held in process memory, for tests and throwaway tables: `memory://bucket/path`.
 *
 * Locations are exact keys (no normalization), like object-store keys. Every read returns a copy,
 * so callers can never mutate stored bytes.
 */
import { createHash, randomUUID } from 'node:crypto';
import { rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalDirectoryAsync } from '../catalog/local-directory.js';
import { AlreadyExistsError, NotFoundError, ValidationError } from '../errors.js';
import type { FileInfo, FileIO, WriteOptions } from './file-io.js';
import { checkRange } from './local.js';

/** URI prefix every location of a MemoryFileIO starts with. */
export const MEMORY_SCHEME_PREFIX = 'memory://';

/** Directory where {@link MemoryFileIO.localPath} materializes files for engines such as DuckDB. */
export function memoryCacheDir(): string {
  return join(tmpdir(), 'floe-memory-cache');
}

interface StoredFile {
  data: Uint8Array;
  lastModified: number;
  /** Increases on every write of this location, so cached local copies are never stale. */
  generation: number;
}

/** In-memory FileIO. Each instance is its own independent store. */
export class MemoryFileIO implements FileIO {
  private readonly files = new Map<string, StoredFile>();
  /** Distinguishes this store's cache files from other stores' and other processes'. */
  private readonly storeId = randomUUID();
  private generation = 0;

  private check(location: string): string {
    if (!location.startsWith(MEMORY_SCHEME_PREFIX) || location.length === MEMORY_SCHEME_PREFIX.length) {
      throw new ValidationError(`io: ${location}: not a memory location (expected memory://bucket/path)`);
    }
    return location;
  }

  private get(location: string): StoredFile {
    const f = this.files.get(this.check(location));
    if (!f) throw new NotFoundError(`io: ${location}: not found`);
    return f;
  }

  async read(location: string): Promise<Uint8Array> {
    return this.get(location).data.slice();
  }

  /** Returns the bytes in `[offset, offset + length)`, truncated at the end of the file. */
  async readRange(location: string, offset: number, length: number): Promise<Uint8Array> {
    checkRange(location, offset, length);
    const { data } = this.get(location);
    return data.slice(Math.min(offset, data.length), Math.min(offset + length, data.length));
  }

  async stat(location: string): Promise<FileInfo> {
    const f = this.get(location);
    return { location, size: f.data.length, lastModified: f.lastModified };
  }

  async exists(location: string): Promise<boolean> {
    return this.files.has(this.check(location));
  }

  async write(location: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    this.check(location);
    if (!options.overwrite && this.files.has(location)) {
      throw new AlreadyExistsError(`io: ${location}: already exists`);
    }
    this.files.set(location, { data: data.slice(), lastModified: Date.now(), generation: ++this.generation });
  }

  async delete(location: string): Promise<void> {
    this.files.delete(this.check(location));
  }

  /** Lists files whose location starts with `prefix` (a plain string prefix), sorted. */
  async *list(prefix: string): AsyncIterable<FileInfo> {
    if (!prefix.startsWith(MEMORY_SCHEME_PREFIX)) {
      throw new ValidationError(`io: ${prefix}: not a memory location (expected memory://bucket/path)`);
    }
    // Snapshot first: the caller may delete while iterating (e.g. a purge).
    const matches = [...this.files.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const location of matches) {
      const f = this.files.get(location);
      if (f) yield { location, size: f.data.length, lastModified: f.lastModified };
    }
  }

  /**
   * Writes the file's current bytes to `os.tmpdir()/floe-memory-cache/` and returns that path.
   * The cache name covers this store, the location and its write generation, so a rewritten
   * location gets a new file and two stores never share one. The original file name is kept as
   * the suffix because engines infer the format from the extension.
   */
  async localPath(location: string): Promise<string> {
    const f = this.get(location);
    const key = createHash('sha256').update(`${this.storeId}\0${location}\0${f.generation}`).digest('hex').slice(0, 24);
    const base = (location.slice(location.lastIndexOf('/') + 1) || 'file').replace(/[^A-Za-z0-9._-]/g, '_').slice(-100);
    const dir = memoryCacheDir();
    const path = join(dir, `${key}-${base}`);
    try {
      const st = await stat(path);
      if (st.size === f.data.length) return path;
    } catch {
      // not cached yet
    }
    await ensureLocalDirectoryAsync(dir, 'io: memory cache');
    const tmp = `${path}.${randomUUID()}.tmp`;
    await writeFile(tmp, f.data);
    await rename(tmp, path);
    return path;
  }

  /** Number of stored files (diagnostics and tests). */
  get size(): number {
    return this.files.size;
  }
}
