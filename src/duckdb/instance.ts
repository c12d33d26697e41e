/**
 * The process's DuckDB: one in-memory instance, shared by the Parquet writer and the query layer.
 *
 * Extension autoloading and autoinstalling are turned off. The extensions floe relies on (parquet,
 * json, icu, core_functions) are linked into `@duckdb/node-api`; the others (iceberg, httpfs, avro)
 * cannot be downloaded where floe runs, and an autoload attempt would hang on the network before
 * failing. With autoloading off, a query that needs one fails at once with DuckDB's
 * "extension ... is not loaded" error, and floe plans Iceberg scans itself.
 *
 * The session time zone is UTC so that TIMESTAMPTZ values render, truncate and cast the same way on
 * every machine.
 */
import {
  DuckDBConnection,
  DuckDBInstance,
  type DuckDBValue,
  type JS,
} from '@duckdb/node-api';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FloeError } from '../errors.js';

/** Settings of a DuckDB instance. */
export interface DuckDBOptions {
  /** Worker threads (DuckDB's `threads`); DuckDB's default is the number of cores. */
  threads?: number;
  /**
   * DuckDB's `memory_limit`: bytes, or DuckDB's notation (`'1GB'`); DuckDB's default is 80% of RAM.
   * It bounds DuckDB's buffer-managed memory (what it caches, sorts, joins, and the row groups a
   * Parquet write buffers), not every allocation it makes.
   */
  memoryLimit?: number | string;
  /**
   * The directory under which DuckDB spills when over the memory limit; default the OS temp
   * directory. Each instance spills into a directory of its own inside it (DuckDB's spill file
   * names would collide between processes), created by DuckDB when it first spills and removed
   * when the instance closes. DuckDB's own default is `.tmp` in the working directory.
   */
  tempDirectory?: string;
  /**
   * DuckDB's external file cache (`enable_external_file_cache`, on by DuckDB's default): it keeps
   * the bytes of every Parquet file read, even after the file is deleted, until the memory limit
   * evicts them. floe reads each of its files once or twice (a footer after a write, the inputs of
   * a compaction), so the cache only held memory: about 0.8 MB per compaction of 20 small files,
   * which made `floe run`'s RSS grow with maintenance. Off unless true.
   */
  externalFileCache?: boolean;
}

/** Quotes `s` as a SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Quotes `s` as a SQL identifier (any characters, case preserved). */
export function sqlIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

function describeSql(sql: string): string {
  const oneLine = sql.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 197)}...` : oneLine;
}

/** Wraps a DuckDB failure in a FloeError that names the statement. */
function queryError(sql: string, e: unknown): FloeError {
  const msg = e instanceof Error ? e.message : String(e);
  return new FloeError('DUCKDB_QUERY', `duckdb: ${msg} (in: ${describeSql(sql)})`, { cause: e });
}

/**
 * Runs one statement on `conn`, wrapping failures in a FloeError (`duckdb: …`) that names the SQL.
 */
export async function runOn(conn: DuckDBConnection, sql: string): Promise<void> {
  try {
    await conn.run(sql);
  } catch (e) {
    throw queryError(sql, e);
  }
}

/**
 * Runs a query on `conn` and returns its rows as objects of plain JS values (`getRowObjectsJS`:
 * BIGINT → bigint, TIMESTAMP → Date, DECIMAL → number, UUID → string, …). Use {@link valuesOn}
 * where precision matters (timestamps, decimals).
 */
export async function allOn(conn: DuckDBConnection, sql: string): Promise<Record<string, JS>[]> {
  try {
    const reader = await conn.runAndReadAll(sql);
    return reader.getRowObjectsJS();
  } catch (e) {
    throw queryError(sql, e);
  }
}

/** Runs a query on `conn` and returns its rows as objects of exact DuckDB values. */
export async function valuesOn(
  conn: DuckDBConnection,
  sql: string,
): Promise<Record<string, DuckDBValue>[]> {
  try {
    const reader = await conn.runAndReadAll(sql);
    return reader.getRowObjects();
  } catch (e) {
    throw queryError(sql, e);
  }
}

/**
 * An in-memory DuckDB instance with a default connection.
 *
 * `run`/`all`/`values` use the default connection and are serialized (one statement at a time),
 * since a DuckDB connection is not meant for concurrent statements. Work that needs connection
 * state of its own (temporary tables, appenders) or runs concurrently takes a fresh connection
 * with {@link DuckDB.withConnection}.
 */
export class DuckDB {
  private readonly instance: DuckDBInstance;
  private readonly defaultConnection: DuckDBConnection;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    instance: DuckDBInstance,
    connection: DuckDBConnection,
    /** This instance's spill directory (`temp_directory`), removed on close. */
    readonly spillDirectory: string,
  ) {
    this.instance = instance;
    this.defaultConnection = connection;
  }

  /** Creates an in-memory instance with extension autoloading and autoinstalling off. */
  static async open(options: DuckDBOptions = {}): Promise<DuckDB> {
    const config: Record<string, string> = {
      autoload_known_extensions: 'false',
      autoinstall_known_extensions: 'false',
    };
    if (options.threads !== undefined) {
      if (!Number.isInteger(options.threads) || options.threads < 1) {
        throw new FloeError('DUCKDB_CONFIG', `duckdb: threads must be a positive integer, got ${options.threads}`);
      }
      config.threads = String(options.threads);
    }
    if (options.memoryLimit !== undefined) {
      config.memory_limit = typeof options.memoryLimit === 'number' ? `${Math.floor(options.memoryLimit)}B` : options.memoryLimit;
    }
    const spillDir = join(options.tempDirectory ?? tmpdir(), `floe-duckdb-${process.pid}-${randomUUID().slice(0, 8)}`);
    config.temp_directory = spillDir;
    config.enable_external_file_cache = options.externalFileCache === true ? 'true' : 'false';
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(':memory:', config);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new FloeError('DUCKDB_CONFIG', `duckdb: cannot create instance: ${msg}`, { cause: e });
    }
    const connection = await instance.connect();
    try {
      // An ICU setting, unknown at instance creation: set it globally for every connection.
      await runOn(connection, "SET GLOBAL TimeZone = 'UTC'");
    } catch (e) {
      connection.closeSync();
      instance.closeSync();
      removeSpillDir(spillDir);
      throw e;
    }
    return new DuckDB(instance, connection, spillDir);
  }

  private assertOpen(): void {
    if (this.closed) throw new FloeError('DUCKDB_CLOSED', 'duckdb: instance is closed');
  }

  /** Chains `fn` after the statements already queued on the default connection. */
  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new FloeError('DUCKDB_CLOSED', 'duckdb: instance is closed'));
    const next = this.queue.then(fn, fn);
    // Keep the chain alive whatever `fn` does; the caller sees its own result or error.
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Runs one statement (or several separated by `;`) on the default connection. */
  run(sql: string): Promise<void> {
    return this.serialize(() => runOn(this.defaultConnection, sql));
  }

  /** Runs a query on the default connection; rows as objects of plain JS values (see {@link allOn}). */
  all(sql: string): Promise<Record<string, JS>[]> {
    return this.serialize(() => allOn(this.defaultConnection, sql));
  }

  /** Runs a query on the default connection; rows as objects of exact DuckDB values. */
  values(sql: string): Promise<Record<string, DuckDBValue>[]> {
    return this.serialize(() => valuesOn(this.defaultConnection, sql));
  }

  /** Opens a new connection; the caller closes it (`closeSync()`). */
  async connect(): Promise<DuckDBConnection> {
    this.assertOpen();
    return this.instance.connect();
  }

  /** Runs `fn` with a fresh connection, closed afterwards whatever happens. */
  async withConnection<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const conn = await this.connect();
    try {
      return await fn(conn);
    } finally {
      conn.closeSync();
    }
  }

  /** Closes the default connection and the instance. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.defaultConnection.closeSync();
    this.instance.closeSync();
    removeSpillDir(this.spillDirectory);
  }
}

/** DuckDB leaves the spill directory it created behind (empty): remove it. */
function removeSpillDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // Best effort: an empty directory in the temp directory is harmless.
  }
}

let shared: Promise<DuckDB> | undefined;

/**
 * The process-wide instance, created on first use with DuckDB's default settings (or `options`,
 * which only the first call can set).
 */
export function sharedDuckDB(options?: DuckDBOptions): Promise<DuckDB> {
  if (!shared) {
    shared = DuckDB.open(options);
    // A failed open must not poison every later call.
    shared.catch(() => {
      shared = undefined;
    });
  }
  return shared;
}

/** Closes the process-wide instance, if one was created; the next `sharedDuckDB()` opens anew. */
export async function closeSharedDuckDB(): Promise<void> {
  const current = shared;
  shared = undefined;
  if (current) {
    const db = await current.catch(() => undefined);
    db?.close();
  }
}
