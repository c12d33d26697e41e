/**
 * FileIO: the tiny storage interface every table operation goes through. Locations are URIs
 * (`file:///…` or a plain absolute path for local disk, `memory://…`, later `s3://…`).
 *
 * Invariant: a metadata file is never overwritten. `write` refuses an existing file unless
 * `overwrite: true` is passed, so a racing writer can never clobber committed metadata.
 */

/** One listed file. */
export interface FileInfo {
  location: string;
  size: number;
  /** Last modification, epoch milliseconds. */
  lastModified: number;
}

/** Options for {@link FileIO.write}. */
export interface WriteOptions {
  /** Replace an existing file. Default false: fail with AlreadyExistsError (if-none-match). */
  overwrite?: boolean;
}

/** Storage access by location. */
export interface FileIO {
  /** Reads a whole file. Throws NotFoundError when it does not exist. */
  read(location: string): Promise<Uint8Array>;
  /** Reads `length` bytes starting at `offset`. */
  readRange(location: string, offset: number, length: number): Promise<Uint8Array>;
  /** Size and modification time. Throws NotFoundError when it does not exist. */
  stat(location: string): Promise<FileInfo>;
  /** True when the file exists. */
  exists(location: string): Promise<boolean>;
  /** Writes a whole file atomically (readers never see a partial file). */
  write(location: string, data: Uint8Array, options?: WriteOptions): Promise<void>;
  /** Deletes a file; deleting a missing file is not an error. */
  delete(location: string): Promise<void>;
  /** Lists every file whose location starts with `prefix` (recursively). */
  list(prefix: string): AsyncIterable<FileInfo>;
  /**
   * A local filesystem path holding the file's bytes, for engines (DuckDB) that read files
   * themselves. Local FileIO returns the path itself; remote ones download to a cache.
   */
  localPath(location: string): Promise<string>;
}
