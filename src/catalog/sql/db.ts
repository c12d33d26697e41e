/**
 * Opening the SQLite database behind the embedded catalog.
 *
 * Several processes share one catalog file (`floe run` commits while `floe query` reads), so the
 * database runs in WAL mode (readers never block the writer) with a busy timeout (a writer waits
 * for another writer's short transaction instead of failing at once).
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import { FloeError, ValidationError } from '../../errors.js';
import { ensureLocalDirectory } from '../local-directory.js';
import { isSqliteBusy } from './busy.js';

/**
 * Default time a writer waits for the database lock, in milliseconds. Opening waits inside
 * SQLite (synchronously, once); after that `SqlCatalog` waits between short tries, without
 * blocking the event loop (`busy.ts`).
 */
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

/**
 * The SQLite file path for a catalog URI, or `:memory:`. Accepts a plain path, `:memory:`,
 * `file:` URIs, SQLAlchemy URIs as PyIceberg configures them (`sqlite:////abs/path.db` is
 * absolute, `sqlite:///rel.db` relative, `sqlite://` in memory) and Java JDBC URLs
 * (`jdbc:sqlite:/abs/path.db`, `jdbc:sqlite:file:/abs/path.db`, `jdbc:sqlite::memory:`).
 */
export function sqlitePathFromUri(uri: string): string {
  let u = uri.trim();
  if (u.length === 0) throw new ValidationError('catalog: empty SQLite catalog uri');
  if (u.startsWith('jdbc:')) {
    u = u.slice('jdbc:'.length);
    if (!u.startsWith('sqlite:')) throw new ValidationError(`catalog: unsupported JDBC url '${uri}' (only jdbc:sqlite: is embedded)`);
    u = u.slice('sqlite:'.length);
    if (u === '' || u === ':memory:') return ':memory:';
  } else if (/^sqlite(\+\w+)?:/.test(u)) {
    const rest = u.slice(u.indexOf(':') + 1);
    if (rest === '' || rest === '//' || rest === '///:memory:' || rest === '///') return ':memory:';
    if (!rest.startsWith('///')) throw new ValidationError(`catalog: invalid SQLite uri '${uri}', expected sqlite:///path`);
    u = rest.slice(3); // `sqlite:///rel.db` → `rel.db`; `sqlite:////abs.db` → `/abs.db`
  } else if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(u) && !u.startsWith('file:')) {
    throw new ValidationError(`catalog: '${uri}' is not a SQLite database location`);
  }
  if (u === ':memory:') return ':memory:';
  if (u.startsWith('file:')) {
    u = u.slice('file:'.length).replace(/\?.*$/, '');
    if (u.startsWith('//')) u = u.slice(u.indexOf('/', 2));
  }
  return u;
}

/**
 * Checks that a file database's directory exists, or creates it when `createDirectory` (the
 * warehouse directory of the default `<warehouse>/catalog.db`). A catalog opened in a directory
 * that does not exist is almost always a wrong path (a typo, a volume not mounted): creating it
 * would start an empty catalog and ingest the stream again from its start, so it is an error.
 * @throws ValidationError naming the path and how to create a catalog on purpose
 */
export function checkCatalogDirectory(path: string, createDirectory: boolean): void {
  if (path === ':memory:') return;
  const dir = dirname(resolve(path));
  if (createDirectory) return ensureLocalDirectory(dir, `catalog: SQLite catalog ${path}`);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // Missing (or unreadable): the same answer.
  }
  if (!isDir) {
    throw new ValidationError(
      `catalog: SQLite catalog ${path}: directory ${dir} does not exist; a new catalog there would be empty and ingest the ` +
        `stream again, so floe does not create it. Create the directory first (mkdir -p ${dir}) for a new catalog, or use the ` +
        `default catalog <warehouse>/catalog.db, whose warehouse directory floe creates`,
    );
  }
}

/**
 * Opens (creating if needed) the SQLite database for `uri`, in WAL mode with a busy timeout.
 * The directory of a file database must exist, unless `createDirectory` (see {@link checkCatalogDirectory}).
 */
export function openSqliteDatabase(uri: string, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS, createDirectory = false): BetterSqlite3.Database {
  const path = sqlitePathFromUri(uri);
  checkCatalogDirectory(path, createDirectory);
  try {
    const db = new Database(path, { timeout: busyTimeoutMs });
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    // WAL needs a file; an in-memory database keeps its own journal mode.
    if (path !== ':memory:') ensureWal(db, busyTimeoutMs);
    // WAL with synchronous=NORMAL can lose the last commits on power loss; a catalog pointer
    // must be durable once commitTable returns, so keep FULL.
    db.pragma('synchronous = FULL');
    return db;
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new FloeError('CATALOG_UNAVAILABLE', `catalog: cannot open SQLite database ${path}: ${detail}`, { cause: e });
  }
}

/** A cell nobody notifies: `Atomics.wait` on it is a plain sleep of the thread. */
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/** What {@link ensureWal} needs of a connection (better-sqlite3's `pragma`). */
export interface PragmaConnection {
  pragma(source: string, options: { simple: true }): unknown;
}

/**
 * Puts the database in WAL mode. The mode is read first: WAL is a property of the file, so after
 * the first open there is nothing to change and no lock to take (workers starting together, a
 * `floe query` beside `floe run`). Converting needs the file to itself, and SQLite does not run
 * the busy handler for that: a conversion that meets another connection fails at once with
 * "database is locked" (seen once when two `floe run` workers started together in the scale-out
 * benchmark). So a busy or refused conversion is tried again, sleeping 1, 2, 4 … 50 ms, until
 * another connection has converted the file or `budgetMs` has passed; the thread sleeps, as
 * SQLite's own busy handler does while opening.
 * @throws the last busy error once the budget is spent
 */
export function ensureWal(db: PragmaConnection, budgetMs: number): void {
  const deadline = Date.now() + budgetMs;
  for (let attempt = 0; ; attempt++) {
    try {
      if (String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal') return;
      const mode = String(db.pragma('journal_mode = WAL', { simple: true })).toLowerCase();
      if (mode === 'wal') return;
      // Refused without an error (another connection holds the file in rollback mode).
      if (Date.now() >= deadline) throw new FloeError('CATALOG_UNAVAILABLE', `catalog: the SQLite journal mode stayed '${mode}': another connection holds the file`);
    } catch (e) {
      if (!isSqliteBusy(e) || Date.now() >= deadline) throw e;
    }
    Atomics.wait(SLEEPER, 0, 0, Math.min(50, 2 ** attempt));
  }
}
