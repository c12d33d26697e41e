/**
 * The AWS Glue Data Catalog as an Iceberg catalog, storing tables exactly as Iceberg Java's
 * GlueCatalog does (see `convert.ts`), so that Athena, Spark (the reference system's Glue job),
 * Trino and PyIceberg share floe's tables.
 *
 * The commit point is `UpdateTable` with the Glue table's `VersionId` as read before the commit
 * (Glue's optimistic locking: a stale VersionId fails with ConcurrentModificationException and
 * changes nothing), after checking once more, like Java, that the table still points at the
 * metadata file the commit was based on. Invariant, as in the SQL catalog: the pointer only moves
 * from the metadata file the requirements were checked against to a file written completely before.
 *
 * Every UpdateTable sets `SkipArchive: true`. By default Glue archives the previous table version
 * on each update, and every archived version counts against Glue's quota of 100,000 versions per
 * table: a streaming writer committing every second would exhaust it in about a day (86,400
 * commits), after which every commit fails. Iceberg's own metadata log is the history that
 * matters; Glue's archive of pointer values adds nothing to it.
 *
 * Outcomes of UpdateTable:
 * - success → committed;
 * - ConcurrentModificationException → CommitConflictError (nothing changed; the new file is deleted);
 * - another 4xx (e.g. the table was deleted) → nothing changed; the new file is deleted;
 * - 5xx, timeout, dropped connection → the table is read again: if it points at the new file (or
 *   its metadata log contains it) the commit landed; otherwise CommitStateUnknownError, keeping
 *   the file, because the request may still be applied. Callers reload and check (never retry
 *   blindly).
 */
import {
  CreateDatabaseCommand,
  CreateTableCommand,
  DeleteDatabaseCommand,
  DeleteTableCommand,
  GetDatabaseCommand,
  GetDatabasesCommand,
  GetTableCommand,
  GetTablesCommand,
  UpdateDatabaseCommand,
  UpdateTableCommand,
  type Database,
  type GlueClient,
  type Table,
  type TableInput,
} from '@aws-sdk/client-glue';
import { DEFAULT_RETRY_POLICY, retry, type RetryPolicy } from '../../retry.js';
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
import { normalizeLocation } from '../../io/location.js';
import { fileIOFor } from '../../io/resolve.js';
import {
  formatTableIdentifier,
  type Catalog,
  type CreateTableOptions,
  type DropTableOptions,
  type LoadedTable,
  type Namespace,
  type TableIdentifier,
} from '../catalog.js';
import { createTransactionMetadata, planCommit } from '../metadata-commit.js';
import { assertPurged, purgeTableFiles } from '../sql/purge.js';
import { newMetadataLocation, readTableMetadataFile, writeTableMetadataFile } from '../warehouse.js';
import { awsErrorMessage, awsErrorName, glueClientFromEnv, isDefiniteRejection, isThrottling, isTransient, type GlueClientOptions } from './client.js';
import {
  copyTableInput,
  glueDatabaseInput,
  glueDatabaseName,
  glueDefaultTableLocation,
  glueTableInput,
  glueTableRef,
  isIcebergGlueTable,
  isValidGlueNamespace,
  METADATA_LOCATION_PARAM,
  namespacePropertiesOf,
} from './convert.js';

/** Default catalog name: Athena's default data catalog, which the reference system's Spark job uses too. */
export const DEFAULT_GLUE_CATALOG_NAME = 'awsdatacatalog';

/** Options of {@link GlueCatalog}. */
export interface GlueCatalogOptions extends GlueClientOptions {
  /** Catalog name (for messages and `Catalog.name`). Default `awsdatacatalog`. */
  name?: string;
  /** Root of new tables without a database location: `<warehouse>/<db>.db/<table>`. */
  warehouse?: string;
  /** The Glue catalog id (an AWS account id); default the caller's account. */
  catalogId?: string;
  /** Send `SkipArchive: true` on every UpdateTable (see the file comment). Default true. */
  skipArchive?: boolean;
  /** A client to use instead of building one; it is not destroyed by `close()`. */
  client?: GlueClient;
  /** FileIO for table and metadata files, or a resolver per location. Default {@link fileIOFor}. */
  io?: FileIO | ((location: string) => FileIO);
  /** Retries of idempotent reads (GetTable, GetDatabase, …) on throttling and 5xx. */
  readRetry?: RetryPolicy;
}

/** What a `glue:` catalog URI says. */
export interface GlueUri {
  catalogId?: string;
  region?: string;
  endpoint?: string;
  skipArchive?: boolean;
}

/**
 * Parses a Glue catalog URI: `glue:`, `glue://`, or `glue://<catalog id>`, with optional query
 * parameters `region`, `endpoint` and `skip-archive` (`true`/`false`), e.g.
 * `glue://123456789012?region=ap-northeast-1`.
 * @throws ValidationError naming the URI
 */
export function parseGlueUri(uri: string): GlueUri {
  const m = /^glue:(?:\/\/([^/?#]*))?\/?(?:\?([^#]*))?$/i.exec(uri.trim());
  if (!m) throw new ValidationError(`catalog: '${uri}' is not a Glue catalog URI (expected glue://[catalog-id][?region=…])`);
  const out: GlueUri = {};
  const id = m[1] ? decodeURIComponent(m[1]) : '';
  if (id) {
    if (!/^\d{12}$/.test(id)) throw new ValidationError(`catalog: ${uri}: Glue catalog id must be a 12-digit AWS account id, got '${id}'`);
    out.catalogId = id;
  }
  for (const [k, v] of new URLSearchParams(m[2] ?? '')) {
    if (k === 'region') out.region = v;
    else if (k === 'endpoint') out.endpoint = v;
    else if (k === 'skip-archive') {
      if (v !== 'true' && v !== 'false') throw new ValidationError(`catalog: ${uri}: skip-archive must be true or false, got '${v}'`);
      out.skipArchive = v === 'true';
    } else throw new ValidationError(`catalog: ${uri}: unknown parameter '${k}' (known: region, endpoint, skip-archive)`);
  }
  return out;
}

/** True for a URI {@link parseGlueUri} handles. */
export function isGlueUri(uri: string): boolean {
  return /^glue:/i.test(uri.trim());
}

/** The AWS Glue Data Catalog (see the file comment). */
export class GlueCatalog implements Catalog {
  readonly name: string;
  /** Root location of new tables (may be empty: then databases need a location). */
  readonly warehouse: string;
  /** The Glue catalog id sent with every request, if any. */
  readonly catalogId: string | undefined;
  private readonly glue: GlueClient;
  private readonly ownsClient: boolean;
  private readonly skipArchive: boolean;
  private readonly resolveIO: (location: string) => FileIO;
  private readonly readRetry: RetryPolicy;
  private closed = false;

  constructor(options: GlueCatalogOptions = {}) {
    this.name = options.name ?? DEFAULT_GLUE_CATALOG_NAME;
    this.warehouse = options.warehouse ? normalizeLocation(options.warehouse) : '';
    this.catalogId = options.catalogId;
    this.skipArchive = options.skipArchive ?? true;
    const io = options.io;
    this.resolveIO = io === undefined ? fileIOFor : typeof io === 'function' ? io : () => io;
    this.readRetry = options.readRetry ?? DEFAULT_RETRY_POLICY;
    this.ownsClient = options.client === undefined;
    this.glue = options.client ?? glueClientFromEnv(options);
  }

  // -------------------------------------------------------------------------------------------
  // Plumbing
  // -------------------------------------------------------------------------------------------

  private get idParam(): { CatalogId?: string } {
    return this.catalogId !== undefined ? { CatalogId: this.catalogId } : {};
  }

  private checkOpen(): void {
    if (this.closed) throw new FloeError('CATALOG_CLOSED', `catalog: ${this.name} is closed`);
  }

  /** Wraps an unexpected Glue error: throttling, 5xx and network errors are retriable. */
  private glueError(action: string, e: unknown): FloeError {
    if (e instanceof FloeError) return e;
    return new FloeError('CATALOG', `catalog: glue: ${action} failed: ${awsErrorName(e)}: ${awsErrorMessage(e)}`, {
      cause: e,
      retriable: isTransient(e),
    });
  }

  /** Sends an idempotent read, retrying throttling and transient failures. */
  private async read<T>(action: string, send: () => Promise<T>): Promise<T> {
    this.checkOpen();
    return retry(() => send(), this.readRetry, { isRetriable: (e) => isTransient(e) });
  }

  /** Sends a write once (never retried: a retry could see its own first attempt's effect). */
  private async write<T>(send: () => Promise<T>): Promise<T> {
    this.checkOpen();
    return send();
  }

  private ioFor(location: string): FileIO {
    return this.resolveIO(location);
  }

  private loaded(id: TableIdentifier, metadataLocation: string, metadata: TableMetadata): LoadedTable {
    return { identifier: { namespace: [...id.namespace], name: id.name }, metadataLocation, metadata, io: this.ioFor(metadata.location) };
  }

  /** The database, or undefined when it does not exist. */
  private async getDatabase(db: string): Promise<Database | undefined> {
    try {
      const out = await this.read(`reading database ${db}`, () => this.glue.send(new GetDatabaseCommand({ ...this.idParam, Name: db })));
      return out.Database;
    } catch (e) {
      if (awsErrorName(e) === 'EntityNotFoundException') return undefined;
      throw this.glueError(`reading database ${db}`, e);
    }
  }

  private async requireDatabase(namespace: Namespace): Promise<Database> {
    const db = glueDatabaseName(namespace);
    const found = await this.getDatabase(db);
    if (!found) throw new NoSuchNamespaceError(`catalog: namespace ${db} does not exist`);
    return found;
  }

  /** The Glue table, or undefined when it (or its database) does not exist. */
  private async getGlueTable(db: string, name: string): Promise<Table | undefined> {
    try {
      const out = await this.read(`reading table ${db}.${name}`, () =>
        this.glue.send(new GetTableCommand({ ...this.idParam, DatabaseName: db, Name: name })),
      );
      return out.Table;
    } catch (e) {
      if (awsErrorName(e) === 'EntityNotFoundException') return undefined;
      throw this.glueError(`reading table ${db}.${name}`, e);
    }
  }

  /** The Iceberg table's Glue entry and metadata location. @throws NoSuchTableError */
  private async requireIcebergTable(id: TableIdentifier): Promise<{ table: Table; metadataLocation: string }> {
    const { db, name } = glueTableRef(id);
    const display = formatTableIdentifier(id);
    const table = await this.getGlueTable(db, name);
    if (!table) throw new NoSuchTableError(`catalog: table ${display} does not exist`);
    if (!isIcebergGlueTable(table)) {
      throw new NoSuchTableError(`catalog: table ${display} exists in Glue but is not an Iceberg table (table_type=${table.Parameters?.table_type ?? 'unset'})`);
    }
    const metadataLocation = table.Parameters?.[METADATA_LOCATION_PARAM];
    if (!metadataLocation) throw new ValidationError(`catalog: table ${display} has no ${METADATA_LOCATION_PARAM} parameter in Glue`);
    return { table, metadataLocation };
  }

  private async readMetadata(location: string): Promise<TableMetadata> {
    return readTableMetadataFile(this.ioFor(location), location);
  }

  // -------------------------------------------------------------------------------------------
  // Namespaces
  // -------------------------------------------------------------------------------------------

  async listNamespaces(parent: Namespace = []): Promise<Namespace[]> {
    if (parent.length > 0) {
      // Glue databases have no children; a parent that exists simply has none (as Java).
      if (await this.namespaceExists(parent)) return [];
      throw new NoSuchNamespaceError(`catalog: namespace ${parent.join('.')} does not exist`);
    }
    const out: Namespace[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.read('listing databases', () =>
          this.glue.send(new GetDatabasesCommand({ ...this.idParam, ...(token ? { NextToken: token } : {}) })),
        );
      } catch (e) {
        throw this.glueError('listing databases', e);
      }
      for (const d of page.DatabaseList ?? []) if (d.Name) out.push([d.Name]);
      token = page.NextToken || undefined;
    } while (token);
    return out.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  }

  async createNamespace(namespace: Namespace, properties: Record<string, string> = {}): Promise<void> {
    const input = glueDatabaseInput(namespace, properties);
    try {
      await this.write(() => this.glue.send(new CreateDatabaseCommand({ ...this.idParam, DatabaseInput: input })));
    } catch (e) {
      if (awsErrorName(e) === 'AlreadyExistsException') {
        throw new AlreadyExistsError(`catalog: namespace ${input.Name} already exists`, { cause: e });
      }
      throw this.glueError(`creating database ${input.Name}`, e);
    }
  }

  async namespaceExists(namespace: Namespace): Promise<boolean> {
    if (!isValidGlueNamespace(namespace)) return false;
    return (await this.getDatabase(namespace[0]!)) !== undefined;
  }

  async loadNamespaceProperties(namespace: Namespace): Promise<Record<string, string>> {
    if (!isValidGlueNamespace(namespace)) throw new NoSuchNamespaceError(`catalog: namespace ${namespace.join('.')} does not exist`);
    return namespacePropertiesOf(await this.requireDatabase(namespace));
  }

  /**
   * Glue has no conditional database update: this reads the database, applies the changes and
   * writes the whole definition back, so concurrent property updates may overwrite each other
   * (as with Java's GlueCatalog).
   */
  async updateNamespaceProperties(namespace: Namespace, removals: string[], updates: Record<string, string>): Promise<void> {
    const overlap = removals.filter((k) => Object.hasOwn(updates, k));
    if (overlap.length > 0) {
      throw new ValidationError(`catalog: namespace ${namespace.join('.')}: properties both removed and updated: ${overlap.join(', ')}`);
    }
    const props = await this.loadNamespaceProperties(namespace);
    for (const k of removals) delete props[k];
    Object.assign(props, updates);
    const input = glueDatabaseInput(namespace, props);
    try {
      await this.write(() => this.glue.send(new UpdateDatabaseCommand({ ...this.idParam, Name: input.Name, DatabaseInput: input })));
    } catch (e) {
      if (awsErrorName(e) === 'EntityNotFoundException') throw new NoSuchNamespaceError(`catalog: namespace ${input.Name} does not exist`, { cause: e });
      throw this.glueError(`updating database ${input.Name}`, e);
    }
  }

  /**
   * Refuses to drop a database holding any table (Iceberg or not). Glue's DeleteDatabase would
   * delete the tables with it; a table created between the check and the delete is lost with the
   * database, as with Java's GlueCatalog.
   */
  async dropNamespace(namespace: Namespace): Promise<void> {
    if (!isValidGlueNamespace(namespace)) throw new NoSuchNamespaceError(`catalog: namespace ${namespace.join('.')} does not exist`);
    const db = namespace[0]!;
    let tables: Table[];
    try {
      const page = await this.read(`listing tables of ${db}`, () =>
        this.glue.send(new GetTablesCommand({ ...this.idParam, DatabaseName: db, MaxResults: 1 })),
      );
      tables = page.TableList ?? [];
    } catch (e) {
      if (awsErrorName(e) === 'EntityNotFoundException') throw new NoSuchNamespaceError(`catalog: namespace ${db} does not exist`, { cause: e });
      throw this.glueError(`listing tables of ${db}`, e);
    }
    if (tables.length > 0) {
      const kind = isIcebergGlueTable(tables[0]!) ? 'Iceberg tables' : 'non-Iceberg tables';
      throw new NamespaceNotEmptyError(`catalog: namespace ${db} is not empty: it still contains ${kind} (e.g. ${tables[0]!.Name})`);
    }
    try {
      await this.write(() => this.glue.send(new DeleteDatabaseCommand({ ...this.idParam, Name: db })));
    } catch (e) {
      if (awsErrorName(e) === 'EntityNotFoundException') throw new NoSuchNamespaceError(`catalog: namespace ${db} does not exist`, { cause: e });
      throw this.glueError(`deleting database ${db}`, e);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Tables
  // -------------------------------------------------------------------------------------------

  /** Lists the Iceberg tables of a database (other tables are skipped, as in Java). */
  async listTables(namespace: Namespace): Promise<TableIdentifier[]> {
    if (!isValidGlueNamespace(namespace)) throw new NoSuchNamespaceError(`catalog: namespace ${namespace.join('.')} does not exist`);
    const db = namespace[0]!;
    const names: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.read(`listing tables of ${db}`, () =>
          this.glue.send(new GetTablesCommand({ ...this.idParam, DatabaseName: db, ...(token ? { NextToken: token } : {}) })),
        );
      } catch (e) {
        if (awsErrorName(e) === 'EntityNotFoundException') throw new NoSuchNamespaceError(`catalog: namespace ${db} does not exist`, { cause: e });
        throw this.glueError(`listing tables of ${db}`, e);
      }
      for (const t of page.TableList ?? []) if (t.Name && isIcebergGlueTable(t)) names.push(t.Name);
      token = page.NextToken || undefined;
    } while (token);
    return names.sort().map((name) => ({ namespace: [db], name }));
  }

  async createTable(identifier: TableIdentifier, options: CreateTableOptions): Promise<LoadedTable> {
    const { db, name } = glueTableRef(identifier);
    const display = formatTableIdentifier(identifier);
    const database = await this.requireDatabase(identifier.namespace);
    // Checked before writing any file; CreateTable is what actually guards the name.
    if (await this.getGlueTable(db, name)) throw new AlreadyExistsError(`catalog: table ${display} already exists`);
    const location = options.location
      ? normalizeLocation(options.location)
      : glueDefaultTableLocation(this.warehouse, db, name, database.LocationUri);
    const metadata = newTableMetadata({
      location,
      schema: options.schema,
      ...(options.partitionSpec ? { partitionSpec: options.partitionSpec } : {}),
      ...(options.sortOrder ? { sortOrder: options.sortOrder } : {}),
      ...(options.properties ? { properties: options.properties } : {}),
      ...(options.formatVersion ? { formatVersion: options.formatVersion } : {}),
    });
    return this.createGlueTable(identifier, metadata, () => new AlreadyExistsError(`catalog: table ${display} already exists`));
  }

  /** Writes version 0 of a new table's metadata and creates its Glue table; cleans up on failure. */
  private async createGlueTable(identifier: TableIdentifier, metadata: TableMetadata, taken: () => FloeError): Promise<LoadedTable> {
    const metadataLocation = newMetadataLocation(metadata, 0);
    const io = this.ioFor(metadataLocation);
    await writeTableMetadataFile(io, metadataLocation, metadata);
    const { name } = glueTableRef(identifier);
    try {
      await this.putNewGlueTable(identifier, glueTableInput(name, metadata, metadataLocation, undefined), taken);
    } catch (e) {
      // Keep the file only if the table may point at it.
      if (!(e instanceof CommitStateUnknownError)) await io.delete(metadataLocation).catch(() => undefined);
      throw e;
    }
    return this.loaded(identifier, metadataLocation, metadata);
  }

  /**
   * CreateTable with floe's error mapping. A transient failure is checked by reading the table
   * back: if it exists with our metadata location the create landed.
   */
  private async putNewGlueTable(identifier: TableIdentifier, input: TableInput, taken: () => FloeError): Promise<void> {
    const { db, name } = glueTableRef(identifier);
    const display = formatTableIdentifier(identifier);
    try {
      await this.write(() => this.glue.send(new CreateTableCommand({ ...this.idParam, DatabaseName: db, TableInput: input })));
    } catch (e) {
      const code = awsErrorName(e);
      if (code === 'AlreadyExistsException') throw taken();
      if (code === 'EntityNotFoundException') throw new NoSuchNamespaceError(`catalog: namespace ${db} does not exist`, { cause: e });
      if (isDefiniteRejection(e)) throw this.glueError(`creating table ${display}`, e);
      const wanted = input.Parameters?.[METADATA_LOCATION_PARAM];
      const now = await this.getGlueTable(db, name).catch(() => undefined);
      if (now && now.Parameters?.[METADATA_LOCATION_PARAM] === wanted) return;
      throw new CommitStateUnknownError(
        `catalog: glue: creating table ${display} may or may not have succeeded (${code}: ${awsErrorMessage(e)}); check whether it exists`,
        { cause: e },
      );
    }
  }

  async loadTable(identifier: TableIdentifier): Promise<LoadedTable> {
    if (!isValidGlueNamespace(identifier.namespace)) {
      throw new NoSuchTableError(`catalog: table ${formatTableIdentifier(identifier)} does not exist`);
    }
    const { metadataLocation } = await this.requireIcebergTable(identifier);
    return this.loaded(identifier, metadataLocation, await this.readMetadata(metadataLocation));
  }

  async tableExists(identifier: TableIdentifier): Promise<boolean> {
    if (!isValidGlueNamespace(identifier.namespace)) return false;
    const { db, name } = glueTableRef(identifier);
    const t = await this.getGlueTable(db, name);
    return t !== undefined && isIcebergGlueTable(t);
  }

  /**
   * Deletes the Glue table (Iceberg tables only). Glue's DeleteTable has no version condition, so a
   * commit landing between reading the table for a purge and deleting it is dropped with it and its
   * new files are not purged.
   */
  async dropTable(identifier: TableIdentifier, options: DropTableOptions = {}): Promise<void> {
    const display = formatTableIdentifier(identifier);
    if (!isValidGlueNamespace(identifier.namespace)) throw new NoSuchTableError(`catalog: table ${display} does not exist`);
    const { db, name } = glueTableRef(identifier);
    const { metadataLocation } = await this.requireIcebergTable(identifier);
    const toPurge = options.purge ? { metadataLocation, metadata: await this.readMetadata(metadataLocation) } : undefined;
    try {
      await this.write(() => this.glue.send(new DeleteTableCommand({ ...this.idParam, DatabaseName: db, Name: name })));
    } catch (e) {
      if (awsErrorName(e) === 'EntityNotFoundException') throw new NoSuchTableError(`catalog: table ${display} does not exist`, { cause: e });
      throw this.glueError(`deleting table ${display}`, e);
    }
    if (!toPurge) return;
    const result = await purgeTableFiles(this.ioFor(toPurge.metadata.location), toPurge.metadata, toPurge.metadataLocation);
    assertPurged(display, result.failures);
  }

  /**
   * Glue has no rename: like Java, the table is created under the new name from the old one's
   * definition, then the old one is deleted (and the new one deleted again if that fails). A commit
   * to the old name between the two steps would be lost, so the old table's VersionId is checked
   * again before deleting it; the remaining window is one request long.
   */
  async renameTable(from: TableIdentifier, to: TableIdentifier): Promise<void> {
    const src = glueTableRef(from);
    const dst = glueTableRef(to);
    const fromDisplay = formatTableIdentifier(from);
    const toDisplay = formatTableIdentifier(to);
    const { table } = await this.requireIcebergTable(from);
    if (!(await this.getDatabase(dst.db))) throw new NoSuchNamespaceError(`catalog: namespace ${dst.db} does not exist`);
    await this.putNewGlueTable(to, copyTableInput(table, dst.name), () => new AlreadyExistsError(`catalog: table ${toDisplay} already exists`));
    const undo = async () => {
      await this.glue.send(new DeleteTableCommand({ ...this.idParam, DatabaseName: dst.db, Name: dst.name })).catch(() => undefined);
    };
    try {
      const again = await this.getGlueTable(src.db, src.name);
      if (!again) throw new NoSuchTableError(`catalog: table ${fromDisplay} was dropped while being renamed`);
      if (again.VersionId !== table.VersionId) {
        throw new CommitConflictError(`catalog: table ${fromDisplay} changed while being renamed to ${toDisplay}; nothing was renamed, retry`);
      }
      await this.write(() => this.glue.send(new DeleteTableCommand({ ...this.idParam, DatabaseName: src.db, Name: src.name })));
    } catch (e) {
      await undo();
      if (e instanceof FloeError) throw e;
      if (awsErrorName(e) === 'EntityNotFoundException') throw new NoSuchTableError(`catalog: table ${fromDisplay} does not exist`, { cause: e });
      throw this.glueError(`renaming table ${fromDisplay} to ${toDisplay}`, e);
    }
  }

  async registerTable(identifier: TableIdentifier, metadataLocation: string): Promise<LoadedTable> {
    const { db, name } = glueTableRef(identifier);
    const display = formatTableIdentifier(identifier);
    await this.requireDatabase(identifier.namespace);
    if (await this.getGlueTable(db, name)) throw new AlreadyExistsError(`catalog: table ${display} already exists`);
    // Validates the file before the table can be seen.
    const metadata = await this.readMetadata(metadataLocation);
    await this.putNewGlueTable(
      identifier,
      glueTableInput(name, metadata, metadataLocation, undefined),
      () => new AlreadyExistsError(`catalog: table ${display} already exists`),
    );
    return this.loaded(identifier, metadataLocation, metadata);
  }

  async commitTable(identifier: TableIdentifier, requirements: TableRequirement[], updates: TableUpdate[]): Promise<LoadedTable> {
    const display = formatTableIdentifier(identifier);
    const { db, name } = glueTableRef(identifier);
    const table = await this.getGlueTable(db, name);
    if (!table) {
      if (requirements.some((r) => r.type === 'assert-create')) return this.createViaCommit(identifier, requirements, updates);
      throw new NoSuchTableError(`catalog: table ${display} does not exist`);
    }
    if (!isIcebergGlueTable(table)) throw new NoSuchTableError(`catalog: table ${display} exists in Glue but is not an Iceberg table`);
    const baseLocation = table.Parameters?.[METADATA_LOCATION_PARAM];
    if (!baseLocation) throw new ValidationError(`catalog: table ${display} has no ${METADATA_LOCATION_PARAM} parameter in Glue`);
    const base = await this.readMetadata(baseLocation);
    const plan = planCommit(base, baseLocation, requirements, updates);
    if (!plan.changed) return this.loaded(identifier, baseLocation, base);

    const newLocation = plan.metadataLocation;
    const io = this.ioFor(newLocation);
    await writeTableMetadataFile(io, newLocation, plan.metadata);
    const discard = () => io.delete(newLocation).catch(() => undefined);

    // Java's checkMetadataLocation: fail early, before the swap, if another writer got in first.
    // (The VersionId sent below is the one read with the base, so this only saves a round trip.)
    let current: Table | undefined;
    try {
      current = await this.getGlueTable(db, name);
    } catch (e) {
      await discard();
      throw e;
    }
    const currentLocation = current?.Parameters?.[METADATA_LOCATION_PARAM];
    if (!current || currentLocation !== baseLocation || current.VersionId !== table.VersionId) {
      await discard();
      if (!current) throw new NoSuchTableError(`catalog: table ${display} was dropped during the commit`);
      throw new CommitConflictError(
        `catalog: commit to ${display} conflicted: its metadata is no longer ${baseLocation} (now ${currentLocation ?? 'unset'}); reload and retry`,
      );
    }
    if (this.closed) {
      await discard();
      throw new FloeError('CATALOG_CLOSED', `catalog: ${this.name} was closed before the commit to ${display}; nothing was applied`);
    }

    // The commit point: UpdateTable conditioned on the VersionId read with the base.
    const input = glueTableInput(name, plan.metadata, newLocation, current, baseLocation);
    try {
      await this.glue.send(
        new UpdateTableCommand({
          ...this.idParam,
          DatabaseName: db,
          TableInput: input,
          SkipArchive: this.skipArchive,
          ...(table.VersionId !== undefined ? { VersionId: table.VersionId } : {}),
        }),
      );
    } catch (e) {
      const code = awsErrorName(e);
      if (code === 'ConcurrentModificationException') {
        await discard();
        throw new CommitConflictError(`catalog: commit to ${display} conflicted: Glue detected a concurrent update (VersionId ${table.VersionId}); reload and retry`, {
          cause: e,
        });
      }
      if (code === 'EntityNotFoundException') {
        await discard();
        throw new NoSuchTableError(`catalog: table ${display} was dropped during the commit`, { cause: e });
      }
      if (isThrottling(e)) {
        // Throttled requests are not processed: nothing changed.
        await discard();
        throw new CommitConflictError(`catalog: commit to ${display} not applied: Glue throttled the request (${code}); reload and retry`, { cause: e });
      }
      if (isDefiniteRejection(e)) {
        await discard();
        throw this.glueError(`committing to ${display}`, e);
      }
      if (await this.commitLanded(db, name, newLocation)) return this.loaded(identifier, newLocation, plan.metadata);
      throw new CommitStateUnknownError(
        `catalog: commit to ${display} may or may not have been applied (new metadata ${newLocation}): ${code}: ${awsErrorMessage(e)}`,
        { cause: e },
      );
    }
    return this.loaded(identifier, newLocation, plan.metadata);
  }

  /**
   * After an UpdateTable with an unknown outcome: true when the table points at `newLocation`, or
   * at a later file whose metadata log contains it (another writer committed on top of ours).
   * False when it does not or the check itself fails (the caller then reports "unknown").
   */
  private async commitLanded(db: string, name: string, newLocation: string): Promise<boolean> {
    try {
      const now = await this.getGlueTable(db, name);
      const location = now?.Parameters?.[METADATA_LOCATION_PARAM];
      if (!location) return false;
      if (location === newLocation) return true;
      const md = await this.readMetadata(location);
      return md['metadata-log'].some((e) => e['metadata-file'] === newLocation);
    } catch {
      return false;
    }
  }

  /** A commit with `assert-create` on a missing table: version 0 from the updates, then CreateTable. */
  private async createViaCommit(identifier: TableIdentifier, requirements: TableRequirement[], updates: TableUpdate[]): Promise<LoadedTable> {
    const { db, name } = glueTableRef(identifier);
    const display = formatTableIdentifier(identifier);
    const database = await this.requireDatabase(identifier.namespace);
    const location = glueDefaultTableLocation(this.warehouse, db, name, database.LocationUri);
    const metadata = createTransactionMetadata(location, requirements, updates);
    return this.createGlueTable(
      identifier,
      metadata,
      () => new CommitConflictError(`catalog: commit to ${display} conflicted: the table was created concurrently (assert-create)`),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) this.glue.destroy();
  }
}

/**
 * Opens the Glue catalog a `glue:` URI names (see {@link parseGlueUri}); region and endpoint
 * default to AWS_REGION and AWS_ENDPOINT_URL_GLUE.
 */
export function openGlueCatalog(
  uri: string,
  options: Omit<GlueCatalogOptions, 'catalogId' | 'region' | 'endpoint' | 'skipArchive'> = {},
): GlueCatalog {
  const parsed = parseGlueUri(uri);
  return new GlueCatalog({ ...options, ...parsed });
}
