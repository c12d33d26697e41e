/**
 * The embedded catalog: Iceberg's JDBC catalog layout in a local SQLite file (see `schema.ts`),
 * readable and writable by Java's JdbcCatalog and PyIceberg's SqlCatalog.
 *
 * The commit point is one statement:
 *
 *   UPDATE iceberg_tables SET metadata_location = :new, previous_metadata_location = :base
 *   WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? AND metadata_location = :base
 *
 * Invariant: the pointer only ever moves from the metadata file a commit's requirements were
 * checked against (`:base`) to a file written completely before the UPDATE. If another writer moved
 * the pointer in between, the UPDATE matches no row, nothing changes, and the commit fails with
 * CommitConflictError after deleting the file it wrote (which nobody references). Metadata files are
 * written with no-overwrite semantics, so a committed file is never replaced.
 */
import { dirname, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type BetterSqlite3 from 'better-sqlite3';
import {
  AlreadyExistsError,
  CommitConflictError,
  CommitStateUnknownError,
  FloeError,
  NamespaceNotEmptyError,
  NoSuchNamespaceError,
  NoSuchTableError,
  ValidationError,
} from '../../errors.js';
import type { TableRequirement, TableUpdate } from '../../iceberg/commit.js';
import type { TableMetadata } from '../../iceberg/metadata.js';
import { newTableMetadata } from '../../iceberg/table-metadata.js';
import type { FileIO } from '../../io/file-io.js';
import { isLocalLocation, fileUriToPath, locationBaseName, normalizeLocation, parentLocation } from '../../io/location.js';
import { fileIOFor } from '../../io/resolve.js';
import {
  formatTableIdentifier,
  type Catalog,
  type CommitTableOptions,
  type CreateTableOptions,
  type DropTableOptions,
  type LoadedTable,
  type Namespace,
  type TableIdentifier,
} from '../catalog.js';
import { ensureLocalDirectory } from '../local-directory.js';
import { mapLimit } from '../../iceberg/map-limit.js';
import { assertLocationAllowed, tableRoots, type CatalogLocationFacts, type LocationClaim, type LocationFactsSource } from '../location-policy.js';
import { CommitBaseCache } from '../commit-base-cache.js';
import { createTransactionMetadata, planCommit } from '../metadata-commit.js';
import { defaultTableLocation, newMetadataLocation, readTableMetadataFile, writeTableMetadataFile } from '../warehouse.js';
import { DEFAULT_BUSY_TIMEOUT_MS, openSqliteDatabase, sqlitePathFromUri } from './db.js';
import { BUSY_SLICE_MS, isSqliteBusy, retryWhileBusy } from './busy.js';
import { assertPurged, purgeTableFiles } from './purge.js';
import {
  childNamespacePattern,
  ensureCatalogSchema,
  NAMESPACE_EXISTS_PROPERTY,
  namespaceToString,
  stringToNamespace,
  TABLE_RECORD_TYPE,
} from './schema.js';

/** Options of {@link SqlCatalog}. */
export interface SqlCatalogOptions {
  /** The JDBC `catalog_name`; several catalogs can share one database. */
  name: string;
  /** SQLite file path, `:memory:`, or a `sqlite:`/`jdbc:sqlite:`/`file:` URI (see `sqlitePathFromUri`). */
  uri: string;
  /** Root location for new tables (`<warehouse>/<namespace>/<table>`). */
  warehouse: string;
  /**
   * FileIO for every table and metadata file (e.g. a RemapFileIO or a MemoryFileIO in tests), or a
   * resolver per location. Default: {@link fileIOFor}.
   */
  io?: FileIO | ((location: string) => FileIO);
  /** How long a writer waits for another's lock. Default 10 s. */
  busyTimeoutMs?: number;
  /**
   * Create the database's directory when it is missing. Default: only when the database is in the
   * (local) warehouse directory itself (`<warehouse>/catalog.db`, floe's own layout); any other
   * missing directory is an error (see `checkCatalogDirectory`).
   */
  createDirectory?: boolean;
}

interface TableRow {
  table_namespace: string;
  table_name: string;
  metadata_location: string | null;
  previous_metadata_location: string | null;
}

function sqliteCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' && e.code.startsWith('SQLITE_')
    ? e.code
    : undefined;
}

function isConstraintViolation(e: unknown): boolean {
  return sqliteCode(e)?.startsWith('SQLITE_CONSTRAINT') ?? false;
}

function isBusy(e: unknown): boolean {
  return isSqliteBusy(e);
}

/** Wraps an unexpected SQLite error; busy/locked is retriable. */
function sqlError(action: string, e: unknown): FloeError {
  if (e instanceof FloeError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return new FloeError('CATALOG', `catalog: sqlite: ${action} failed: ${detail}`, { cause: e, retriable: isBusy(e) });
}

/** The embedded SQLite catalog (JDBC catalog layout). */
export class SqlCatalog implements Catalog, LocationFactsSource {
  readonly name: string;
  /** Root location of new tables, absolute. */
  readonly warehouse: string;
  /** The database file, absolute; undefined in memory. No table location may contain it. */
  readonly databasePath: string | undefined;
  /** True when files go through the default FileIO (so local locations are real local paths). */
  private readonly defaultIO: boolean;
  private readonly db: BetterSqlite3.Database;
  private readonly resolveIO: (location: string) => FileIO;
  /** False for a V0 database (created by PyIceberg): no `iceberg_type` column. */
  private readonly hasRecordType: boolean;
  private closed = false;
  /** How long a statement waits, in total, for another connection's lock. */
  private readonly busyTimeoutMs: number;
  /** The metadata files this catalog just wrote: the next commit's base without reading it again. */
  private readonly commitBases = new CommitBaseCache();

  constructor(options: SqlCatalogOptions) {
    if (!options.name) throw new ValidationError('catalog: SqlCatalog needs a name (the JDBC catalog_name)');
    this.name = options.name;
    this.warehouse = options.warehouse ? normalizeLocation(options.warehouse) : '';
    const io = options.io;
    this.resolveIO = io === undefined ? fileIOFor : typeof io === 'function' ? io : () => io;
    this.defaultIO = io === undefined;
    const path = sqlitePathFromUri(options.uri);
    this.databasePath = path === ':memory:' ? undefined : resolve(path);
    const inWarehouse =
      this.databasePath !== undefined && this.warehouse !== '' && isLocalLocation(this.warehouse) && dirname(this.databasePath) === resolve(fileUriToPath(this.warehouse));
    this.busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.db = openSqliteDatabase(options.uri, this.busyTimeoutMs, options.createDirectory ?? inWarehouse);
    try {
      this.hasRecordType = ensureCatalogSchema(this.db).hasRecordType;
      // Opened: from now on SQLite blocks the thread for a short slice at most per try; the
      // waiting for a lock happens between tries, asynchronously (`busy.ts`).
      this.db.pragma(`busy_timeout = ${BUSY_SLICE_MS}`);
    } catch (e) {
      this.db.close();
      throw sqlError('creating the catalog tables', e);
    }
  }

  /**
   * Runs synchronous SQL (one statement or one transaction), turning SQLite errors into floe
   * errors; while another connection holds the lock, tries again after short sleeps for up to the
   * busy timeout, without blocking the event loop (`busy.ts`).
   */
  private async sql<T>(action: string, fn: () => T): Promise<T> {
    if (this.closed) throw new FloeError('CATALOG_CLOSED', `catalog: ${this.name} is closed`);
    try {
      return await retryWhileBusy(fn, this.busyTimeoutMs, () => this.closed);
    } catch (e) {
      if (this.closed && isBusy(e)) throw new FloeError('CATALOG_CLOSED', `catalog: ${this.name} was closed while waiting for the database lock`, { cause: e });
      throw sqlError(action, e);
    }
  }

  /** SQL condition selecting table rows (not views) of a V1 database. */
  private get tableTypeFilter(): string {
    return this.hasRecordType ? ` AND (iceberg_type = '${TABLE_RECORD_TYPE}' OR iceberg_type IS NULL)` : '';
  }

  private ioFor(location: string): FileIO {
    return this.resolveIO(location);
  }

  // -------------------------------------------------------------------------------------------
  // Namespaces
  // -------------------------------------------------------------------------------------------

  /** Java's `JdbcUtil.namespaceExists`: the namespace or any child has a table or property row. */
  private nsExists(ns: string): boolean {
    const like = childNamespacePattern(ns);
    const inTables = this.db
      .prepare(
        "SELECT 1 FROM iceberg_tables WHERE catalog_name = ? AND (table_namespace = ? OR table_namespace LIKE ? ESCAPE '!') LIMIT 1",
      )
      .get(this.name, ns, like);
    if (inTables !== undefined) return true;
    const inProps = this.db
      .prepare(
        "SELECT 1 FROM iceberg_namespace_properties WHERE catalog_name = ? AND (namespace = ? OR namespace LIKE ? ESCAPE '!') LIMIT 1",
      )
      .get(this.name, ns, like);
    return inProps !== undefined;
  }

  private requireNamespace(ns: string): void {
    if (!this.nsExists(ns)) throw new NoSuchNamespaceError(`catalog: namespace ${ns} does not exist`);
  }

  async listNamespaces(parent: Namespace = []): Promise<Namespace[]> {
    return await this.sql('listing namespaces', () => {
      if (parent.length > 0) this.requireNamespace(namespaceToString(parent));
      const rows = this.db
        .prepare(
          'SELECT table_namespace AS ns FROM iceberg_tables WHERE catalog_name = ? ' +
            'UNION SELECT namespace AS ns FROM iceberg_namespace_properties WHERE catalog_name = ?',
        )
        .all(this.name, this.name) as { ns: string }[];
      const children = new Map<string, Namespace>();
      for (const { ns } of rows) {
        const levels = stringToNamespace(ns);
        if (levels.length <= parent.length) continue;
        if (!parent.every((p, i) => levels[i] === p)) continue;
        const child = levels.slice(0, parent.length + 1);
        children.set(child.join('.'), child);
      }
      return [...children.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
    });
  }

  async createNamespace(namespace: Namespace, properties: Record<string, string> = {}): Promise<void> {
    const ns = namespaceToString(namespace);
    const props = Object.keys(properties).length > 0 ? properties : { [NAMESPACE_EXISTS_PROPERTY]: 'true' };
    await this.sql(`creating namespace ${ns}`, () => {
      // IMMEDIATE: the existence check and the inserts must see no concurrent creator in between.
      this.db
        .transaction(() => {
          if (this.nsExists(ns)) throw new AlreadyExistsError(`catalog: namespace ${ns} already exists`);
          const insert = this.db.prepare(
            'INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value) VALUES (?, ?, ?, ?)',
          );
          for (const [k, v] of Object.entries(props)) insert.run(this.name, ns, k, v);
        })
        .immediate();
    });
  }

  async namespaceExists(namespace: Namespace): Promise<boolean> {
    const ns = namespaceToString(namespace);
    return await this.sql('checking a namespace', () => this.nsExists(ns));
  }

  async loadNamespaceProperties(namespace: Namespace): Promise<Record<string, string>> {
    const ns = namespaceToString(namespace);
    return await this.sql(`loading namespace ${ns}`, () => {
      this.requireNamespace(ns);
      const rows = this.db
        .prepare('SELECT property_key, property_value FROM iceberg_namespace_properties WHERE catalog_name = ? AND namespace = ?')
        .all(this.name, ns) as { property_key: string | null; property_value: string | null }[];
      const out: Record<string, string> = {};
      for (const r of rows) if (r.property_key !== null) out[r.property_key] = r.property_value ?? '';
      return out;
    });
  }

  async updateNamespaceProperties(namespace: Namespace, removals: string[], updates: Record<string, string>): Promise<void> {
    const ns = namespaceToString(namespace);
    const overlap = removals.filter((k) => Object.hasOwn(updates, k));
    if (overlap.length > 0) {
      throw new ValidationError(`catalog: namespace ${ns}: properties both removed and updated: ${overlap.join(', ')}`);
    }
    await this.sql(`updating namespace ${ns}`, () => {
      this.db
        .transaction(() => {
          this.requireNamespace(ns);
          const del = this.db.prepare(
            'DELETE FROM iceberg_namespace_properties WHERE catalog_name = ? AND namespace = ? AND property_key = ?',
          );
          for (const k of removals) del.run(this.name, ns, k);
          const upsert = this.db.prepare(
            'INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value) VALUES (?, ?, ?, ?) ' +
              'ON CONFLICT (catalog_name, namespace, property_key) DO UPDATE SET property_value = excluded.property_value',
          );
          for (const [k, v] of Object.entries(updates)) upsert.run(this.name, ns, k, v);
          // Removing the last property must not make an explicitly created namespace vanish.
          const left = this.db
            .prepare('SELECT 1 FROM iceberg_namespace_properties WHERE catalog_name = ? AND namespace = ? LIMIT 1')
            .get(this.name, ns);
          if (left === undefined && removals.length > 0) upsert.run(this.name, ns, NAMESPACE_EXISTS_PROPERTY, 'true');
        })
        .immediate();
    });
  }

  async dropNamespace(namespace: Namespace): Promise<void> {
    const ns = namespaceToString(namespace);
    await this.sql(`dropping namespace ${ns}`, () => {
      this.db
        .transaction(() => {
          this.requireNamespace(ns);
          const tables = this.db
            .prepare('SELECT COUNT(*) AS n FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ?')
            .get(this.name, ns) as { n: number };
          if (tables.n > 0) {
            throw new NamespaceNotEmptyError(`catalog: namespace ${ns} is not empty: ${tables.n} table(s) exist`);
          }
          const like = childNamespacePattern(ns);
          const child =
            this.db
              .prepare("SELECT 1 FROM iceberg_tables WHERE catalog_name = ? AND table_namespace LIKE ? ESCAPE '!' LIMIT 1")
              .get(this.name, like) ??
            this.db
              .prepare("SELECT 1 FROM iceberg_namespace_properties WHERE catalog_name = ? AND namespace LIKE ? ESCAPE '!' LIMIT 1")
              .get(this.name, like);
          if (child !== undefined) throw new NamespaceNotEmptyError(`catalog: namespace ${ns} is not empty: it has child namespaces`);
          this.db.prepare('DELETE FROM iceberg_namespace_properties WHERE catalog_name = ? AND namespace = ?').run(this.name, ns);
        })
        .immediate();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Tables
  // -------------------------------------------------------------------------------------------

  private identParts(id: TableIdentifier): { ns: string; name: string; display: string } {
    if (!id.name) throw new ValidationError('catalog: table name must not be empty');
    const ns = namespaceToString(id.namespace);
    return { ns, name: id.name, display: formatTableIdentifier(id) };
  }

  private getRow(ns: string, name: string): TableRow | undefined {
    return this.db
      .prepare(
        'SELECT table_namespace, table_name, metadata_location, previous_metadata_location FROM iceberg_tables ' +
          `WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?${this.tableTypeFilter}`,
      )
      .get(this.name, ns, name) as TableRow | undefined;
  }

  /** Any row (table or view) under this name: a new table cannot take it. */
  private nameTaken(ns: string, name: string): boolean {
    return (
      this.db
        .prepare('SELECT 1 FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?')
        .get(this.name, ns, name) !== undefined
    );
  }

  private insertRow(ns: string, name: string, metadataLocation: string): void {
    if (this.hasRecordType) {
      this.db
        .prepare(
          'INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location, iceberg_type) ' +
            'VALUES (?, ?, ?, ?, NULL, ?)',
        )
        .run(this.name, ns, name, metadataLocation, TABLE_RECORD_TYPE);
    } else {
      this.db
        .prepare(
          'INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location) ' +
            'VALUES (?, ?, ?, ?, NULL)',
        )
        .run(this.name, ns, name, metadataLocation);
    }
  }

  private loaded(id: TableIdentifier, metadataLocation: string, metadata: TableMetadata): LoadedTable {
    return {
      identifier: { namespace: [...id.namespace], name: id.name },
      metadataLocation,
      metadata,
      io: this.ioFor(metadata.location),
    };
  }

  private async readMetadata(location: string): Promise<TableMetadata> {
    return readTableMetadataFile(this.ioFor(location), location);
  }

  async listTables(namespace: Namespace): Promise<TableIdentifier[]> {
    const ns = namespaceToString(namespace);
    return await this.sql(`listing tables of ${ns}`, () => {
      this.requireNamespace(ns);
      const rows = this.db
        .prepare(
          `SELECT table_name FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ?${this.tableTypeFilter} ORDER BY table_name`,
        )
        .all(this.name, ns) as { table_name: string }[];
      return rows.map((r) => ({ namespace: [...namespace], name: r.table_name }));
    });
  }

  async createTable(identifier: TableIdentifier, options: CreateTableOptions): Promise<LoadedTable> {
    const { ns, name, display } = this.identParts(identifier);
    const location = await this.sql(`creating table ${display}`, () => {
      this.requireNamespace(ns);
      // Checked before writing any file; the INSERT below is what actually guards the name.
      if (this.nameTaken(ns, name)) throw new AlreadyExistsError(`catalog: table ${display} already exists`);
      if (options.location) return normalizeLocation(options.location);
      const nsProps = this.nsProperties(ns);
      return defaultTableLocation(this.warehouse, identifier.namespace, name, nsProps);
    });
    const metadata = newTableMetadata({
      location,
      schema: options.schema,
      ...(options.partitionSpec ? { partitionSpec: options.partitionSpec } : {}),
      ...(options.sortOrder ? { sortOrder: options.sortOrder } : {}),
      ...(options.properties ? { properties: options.properties } : {}),
      ...(options.formatVersion ? { formatVersion: options.formatVersion } : {}),
    });
    return this.insertNewTable(identifier, metadata, () => new AlreadyExistsError(`catalog: table ${display} already exists`));
  }

  private nsProperties(ns: string): Record<string, string> {
    const rows = this.db
      .prepare('SELECT property_key, property_value FROM iceberg_namespace_properties WHERE catalog_name = ? AND namespace = ?')
      .all(this.name, ns) as { property_key: string | null; property_value: string | null }[];
    const out: Record<string, string> = {};
    for (const r of rows) if (r.property_key !== null && r.property_value !== null) out[r.property_key] = r.property_value;
    return out;
  }

  /** Writes version 0 of a new table's metadata and inserts its row; cleans up if the name is taken. */
  private async insertNewTable(
    identifier: TableIdentifier,
    metadata: TableMetadata,
    taken: () => FloeError,
  ): Promise<LoadedTable> {
    const { ns, name, display } = this.identParts(identifier);
    const roots = tableRoots(metadata);
    // Checked against the tables that exist now; a table created concurrently is caught by the
    // same check in orphan removal, which refuses to sweep overlapping tables.
    assertLocationAllowed(display, roots, await this.locationFacts());
    // Created now, so that a location that cannot exist (e.g. under /proc) fails at once.
    if (this.defaultIO) for (const root of roots) if (isLocalLocation(root)) ensureLocalDirectory(fileUriToPath(root), `catalog: table ${display}: location`);
    const metadataLocation = newMetadataLocation(metadata, 0);
    const io = this.ioFor(metadataLocation);
    await writeTableMetadataFile(io, metadataLocation, metadata);
    try {
      await this.sql(`creating table ${display}`, () => {
        this.db
          .transaction(() => {
            // Re-checked inside the write transaction: the namespace may have been dropped meanwhile.
            this.requireNamespace(ns);
            this.insertRow(ns, name, metadataLocation);
          })
          .immediate();
      });
    } catch (e) {
      await io.delete(metadataLocation).catch(() => undefined);
      if (e instanceof FloeError && isConstraintViolation(e.cause)) throw taken();
      throw e;
    }
    return this.loaded(identifier, metadataLocation, metadata);
  }

  async loadTable(identifier: TableIdentifier): Promise<LoadedTable> {
    const { ns, name, display } = this.identParts(identifier);
    const row = await this.sql(`loading table ${display}`, () => this.getRow(ns, name));
    if (!row) throw new NoSuchTableError(`catalog: table ${display} does not exist`);
    if (!row.metadata_location) throw new ValidationError(`catalog: table ${display} has no metadata_location`);
    return this.loaded(identifier, row.metadata_location, await this.readMetadata(row.metadata_location));
  }

  async tableExists(identifier: TableIdentifier): Promise<boolean> {
    const { ns, name } = this.identParts(identifier);
    return await this.sql('checking a table', () => this.getRow(ns, name) !== undefined);
  }

  async dropTable(identifier: TableIdentifier, options: DropTableOptions = {}): Promise<void> {
    const { ns, name, display } = this.identParts(identifier);
    let toPurge: { metadataLocation: string; metadata: TableMetadata } | undefined;
    if (options.purge) {
      const row = await this.sql(`dropping table ${display}`, () => this.getRow(ns, name));
      if (!row) throw new NoSuchTableError(`catalog: table ${display} does not exist`);
      if (row.metadata_location) {
        toPurge = { metadataLocation: row.metadata_location, metadata: await this.readMetadata(row.metadata_location) };
      }
    }
    const changes = await this.sql(`dropping table ${display}`, () => {
      // With purge, delete only the version we read: if a commit moved the pointer meanwhile,
      // the files we would purge are not the whole table any more.
      const guard = toPurge ? ' AND metadata_location = ?' : '';
      const args: string[] = [this.name, ns, name];
      if (toPurge) args.push(toPurge.metadataLocation);
      return this.db
        .prepare(`DELETE FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?${this.tableTypeFilter}${guard}`)
        .run(...args).changes;
    });
    if (changes === 0) {
      if (toPurge) throw new CommitConflictError(`catalog: table ${display} changed while being dropped; nothing was dropped, retry`);
      throw new NoSuchTableError(`catalog: table ${display} does not exist`);
    }
    if (!toPurge) return;
    const result = await purgeTableFiles(this.ioFor(toPurge.metadata.location), toPurge.metadata, toPurge.metadataLocation);
    assertPurged(display, result.failures);
  }

  async renameTable(from: TableIdentifier, to: TableIdentifier): Promise<void> {
    const src = this.identParts(from);
    const dst = this.identParts(to);
    await this.sql(`renaming table ${src.display} to ${dst.display}`, () => {
      this.db
        .transaction(() => {
          if (!this.getRow(src.ns, src.name)) throw new NoSuchTableError(`catalog: table ${src.display} does not exist`);
          this.requireNamespace(dst.ns);
          if (this.nameTaken(dst.ns, dst.name)) throw new AlreadyExistsError(`catalog: table ${dst.display} already exists`);
          this.db
            .prepare(
              'UPDATE iceberg_tables SET table_namespace = ?, table_name = ? ' +
                `WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?${this.tableTypeFilter}`,
            )
            .run(dst.ns, dst.name, this.name, src.ns, src.name);
        })
        .immediate();
    });
  }

  async registerTable(identifier: TableIdentifier, metadataLocation: string): Promise<LoadedTable> {
    const { ns, name, display } = this.identParts(identifier);
    await this.sql(`registering table ${display}`, () => {
      this.requireNamespace(ns);
      if (this.nameTaken(ns, name)) throw new AlreadyExistsError(`catalog: table ${display} already exists`);
    });
    // Validates the file before the table can be seen.
    const metadata = await this.readMetadata(metadataLocation);
    await this.sql(`registering table ${display}`, () => {
      try {
        this.db
          .transaction(() => {
            this.requireNamespace(ns);
            this.insertRow(ns, name, metadataLocation);
          })
          .immediate();
      } catch (e) {
        if (isConstraintViolation(e)) throw new AlreadyExistsError(`catalog: table ${display} already exists`, { cause: e });
        throw e;
      }
    });
    return this.loaded(identifier, metadataLocation, metadata);
  }

  async commitTable(identifier: TableIdentifier, requirements: TableRequirement[], updates: TableUpdate[], options: CommitTableOptions = {}): Promise<LoadedTable> {
    const { ns, name, display } = this.identParts(identifier);
    const row = await this.sql(`committing to ${display}`, () => this.getRow(ns, name));
    if (!row) {
      if (requirements.some((r) => r.type === 'assert-create')) return this.createViaCommit(identifier, requirements, updates);
      throw new NoSuchTableError(`catalog: table ${display} does not exist`);
    }
    const baseLocation = row.metadata_location;
    if (!baseLocation) throw new ValidationError(`catalog: table ${display} has no metadata_location`);
    const cached = this.commitBases.get(baseLocation);
    const base = cached ?? (await this.readMetadata(baseLocation));
    const plan = planCommit(base, baseLocation, requirements, updates);
    // Nothing changed: no new file, no new version (as PyIceberg and Java do). A cached base is
    // never handed out (the caller may change what it gets).
    if (!plan.changed) return this.loaded(identifier, baseLocation, cached !== undefined ? structuredClone(cached) : base);

    const next = plan.metadata;
    const newLocation = plan.metadataLocation;
    const io = this.ioFor(newLocation);
    const written = await writeTableMetadataFile(io, newLocation, next);

    if (this.closed) {
      // Closed while the file was being written: the swap never ran, so the file is an orphan.
      await io.delete(newLocation).catch(() => undefined);
      throw new FloeError('CATALOG_CLOSED', `catalog: ${this.name} was closed before the commit to ${display}; nothing was applied`);
    }
    // The commit point (see the file comment): compare-and-swap of metadata_location.
    let changes: number;
    try {
      const update = this.db.prepare(
        'UPDATE iceberg_tables SET metadata_location = ?, previous_metadata_location = ? ' +
          `WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? AND metadata_location = ?${this.tableTypeFilter}`,
      );
      // A busy try changed nothing; waits between tries do not block the event loop.
      changes = await retryWhileBusy(
        () => update.run(newLocation, baseLocation, this.name, ns, name, baseLocation).changes,
        this.busyTimeoutMs,
        () => this.closed,
        options.signal,
      );
    } catch (e) {
      if (isBusy(e)) {
        // The statement never got the write lock (busy timeout): nothing changed, the file is an orphan.
        await io.delete(newLocation).catch(() => undefined);
        if (options.signal?.aborted) {
          // Not a conflict: a retry would wait again; the caller is stopping.
          throw new FloeError('ABORTED', `catalog: commit to ${display} not applied: stopped while waiting for the catalog database lock (held by another connection)`, {
            cause: e,
          });
        }
        throw new CommitConflictError(`catalog: commit to ${display} not applied: the catalog database stayed busy; reload and retry`, {
          cause: e,
        });
      }
      // Anything else may have failed after SQLite made the change durable: keep the file.
      throw new CommitStateUnknownError(
        `catalog: commit to ${display} may or may not have been applied (new metadata ${newLocation}): ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    if (changes !== 1) {
      await io.delete(newLocation).catch(() => undefined);
      this.commitBases.delete(baseLocation);
      throw new CommitConflictError(
        `catalog: commit to ${display} conflicted: its metadata is no longer ${baseLocation} (another writer committed first); reload and retry`,
      );
    }
    // The table now points at the new file: its parsed text is the next commit's base.
    this.commitBases.delete(baseLocation);
    this.commitBases.set(newLocation, written);
    return this.loaded(identifier, newLocation, next);
  }

  /**
   * A commit with `assert-create` on a missing table (the REST "create transaction"): the updates
   * are applied to an empty table (format v1 until an `upgrade-format-version`, which REST clients
   * send; v2 when none is given), then version 0 is written and the row inserted.
   */
  private async createViaCommit(
    identifier: TableIdentifier,
    requirements: TableRequirement[],
    updates: TableUpdate[],
  ): Promise<LoadedTable> {
    const { ns, name, display } = this.identParts(identifier);
    const location = await this.sql(`creating table ${display}`, () => {
      this.requireNamespace(ns);
      return defaultTableLocation(this.warehouse, identifier.namespace, name, this.nsProperties(ns));
    });
    const metadata = createTransactionMetadata(location, requirements, updates);
    return this.insertNewTable(
      identifier,
      metadata,
      () => new CommitConflictError(`catalog: commit to ${display} conflicted: the table was created concurrently (assert-create)`),
    );
  }

  /**
   * What table locations must not cover (see `location-policy.ts`): the warehouse root, the
   * database and its side files, and the roots of every table in the database, whatever its
   * catalog name (they share the files' neighbourhood). Each table's metadata file is read for its
   * location; when it cannot be read, its table directory is inferred from the metadata path.
   */
  async locationFacts(exclude?: TableIdentifier): Promise<CatalogLocationFacts> {
    const rows = await this.sql('listing table locations', () =>
      this.db.prepare('SELECT catalog_name, table_namespace, table_name, metadata_location FROM iceberg_tables').all(),
    ) as { catalog_name: string; table_namespace: string; table_name: string; metadata_location: string | null }[];
    const excluded = exclude ? { ns: namespaceToString(exclude.namespace), name: exclude.name } : undefined;
    const others = rows.filter(
      (r) => r.metadata_location && !(excluded && r.catalog_name === this.name && r.table_namespace === excluded.ns && r.table_name === excluded.name),
    );
    const tables = await mapLimit(others, 8, async (r): Promise<LocationClaim> => {
      const table = `${r.table_namespace}.${r.table_name}${r.catalog_name === this.name ? '' : ` (catalog ${r.catalog_name})`}`;
      return { table, roots: await this.rootsOf(r.metadata_location!) };
    });
    const db = this.databasePath;
    return {
      ...(this.warehouse ? { warehouse: this.warehouse } : {}),
      catalogFiles: db ? [db, `${db}-wal`, `${db}-shm`, `${db}-journal`] : [],
      tables,
    };
  }

  /** A table's (or view's) roots from its metadata file, read loosely: only the location matters. */
  private async rootsOf(metadataLocation: string): Promise<string[]> {
    try {
      let bytes = await this.ioFor(metadataLocation).read(metadataLocation);
      if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
      const md = JSON.parse(new TextDecoder().decode(bytes)) as { location?: unknown; properties?: unknown };
      if (typeof md.location === 'string' && md.location) {
        const props = typeof md.properties === 'object' && md.properties !== null ? (md.properties as Record<string, unknown>) : {};
        const strings = Object.fromEntries(Object.entries(props).filter((e): e is [string, string] => typeof e[1] === 'string'));
        return tableRoots({ location: md.location, properties: strings });
      }
    } catch {
      // Unreadable: inferred below.
    }
    // `<table>/metadata/<file>` → `<table>`; any other layout: the metadata file itself.
    try {
      const dir = parentLocation(metadataLocation);
      return [locationBaseName(dir) === 'metadata' ? parentLocation(dir) : metadataLocation];
    } catch {
      return [metadataLocation];
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

/**
 * Opens the embedded catalog on a SQLite file (or `:memory:`), e.g.
 * `openSqlCatalog('/var/lib/floe/catalog.db', { warehouse: '/data/warehouse' })`.
 * The catalog name defaults to `floe`.
 */
export function openSqlCatalog(
  uri: string,
  options: { warehouse: string; name?: string; io?: SqlCatalogOptions['io']; busyTimeoutMs?: number },
): SqlCatalog {
  return new SqlCatalog({ ...options, uri, name: options.name ?? 'floe' });
}
