/**
 * The Catalog interface, shaped like the Iceberg REST catalog so that the embedded SQL catalog,
 * the REST client and Glue are interchangeable and pass one conformance suite
 * (`test/catalog/conformance.ts`).
 *
 * The commit point of every catalog is an atomic compare-and-swap of the table's metadata
 * location: `commitTable` either moves the pointer from the metadata the requirements were checked
 * against to the new file, or fails with CommitConflictError (nothing changed) or
 * CommitStateUnknownError (the outcome cannot be known; never retry blindly).
 */
import type { TableRequirement, TableUpdate } from '../iceberg/commit.js';
import type { PartitionSpec, SortOrder, TableMetadata } from '../iceberg/metadata.js';
import type { Schema } from '../iceberg/types.js';
import type { FileIO } from '../io/file-io.js';
import { ValidationError } from '../errors.js';

/** A namespace: one or more levels, e.g. `['glue_streaming_iceberg_db']`. */
export type Namespace = string[];

/** A table's name within its namespace. */
export interface TableIdentifier {
  namespace: Namespace;
  name: string;
}

/** A table as loaded from a catalog: its current metadata and where it is stored. */
export interface LoadedTable {
  identifier: TableIdentifier;
  metadataLocation: string;
  metadata: TableMetadata;
  /** FileIO able to read and write the table's files. */
  io: FileIO;
}

/** Options to create a table. Field ids in the schema/spec/order are reassigned by the catalog. */
export interface CreateTableOptions {
  schema: Schema;
  partitionSpec?: PartitionSpec;
  sortOrder?: SortOrder;
  /** Defaults to `<warehouse>/<namespace path>/<table name>`. */
  location?: string;
  properties?: Record<string, string>;
  /** Defaults to 2. */
  formatVersion?: 1 | 2 | 3;
}

/**
 * Options of one {@link Catalog.commitTable} call. Optional for every catalog: one that cannot
 * honour an option ignores it (the REST and Glue catalogs do: a request once sent is not abandoned).
 */
export interface CommitTableOptions {
  /**
   * Ends a wait before the commit point early (a stopping pipeline): the SQLite catalog then stops
   * waiting for another connection's lock (after a short grace) and fails with code `ABORTED`,
   * nothing applied.
   */
  signal?: AbortSignal;
}

/** Options to drop a table. */
export interface DropTableOptions {
  /** Also delete the table's data and metadata files. */
  purge?: boolean;
}

/** An Iceberg catalog. */
export interface Catalog {
  /** The catalog's name (JDBC `catalog_name`, REST warehouse, …). */
  readonly name: string;

  listNamespaces(parent?: Namespace): Promise<Namespace[]>;
  /** Throws AlreadyExistsError when it exists. */
  createNamespace(namespace: Namespace, properties?: Record<string, string>): Promise<void>;
  namespaceExists(namespace: Namespace): Promise<boolean>;
  /** Throws NoSuchNamespaceError. */
  loadNamespaceProperties(namespace: Namespace): Promise<Record<string, string>>;
  /** Throws NoSuchNamespaceError. */
  updateNamespaceProperties(
    namespace: Namespace,
    removals: string[],
    updates: Record<string, string>,
  ): Promise<void>;
  /** Throws NoSuchNamespaceError, NamespaceNotEmptyError. */
  dropNamespace(namespace: Namespace): Promise<void>;

  /** Throws NoSuchNamespaceError. */
  listTables(namespace: Namespace): Promise<TableIdentifier[]>;
  /** Throws NoSuchNamespaceError, AlreadyExistsError. */
  createTable(identifier: TableIdentifier, options: CreateTableOptions): Promise<LoadedTable>;
  /** Throws NoSuchTableError. */
  loadTable(identifier: TableIdentifier): Promise<LoadedTable>;
  tableExists(identifier: TableIdentifier): Promise<boolean>;
  /** Throws NoSuchTableError. */
  dropTable(identifier: TableIdentifier, options?: DropTableOptions): Promise<void>;
  /** Throws NoSuchTableError, AlreadyExistsError, NoSuchNamespaceError. */
  renameTable(from: TableIdentifier, to: TableIdentifier): Promise<void>;
  /** Registers an existing metadata file as a table. Throws AlreadyExistsError. */
  registerTable(identifier: TableIdentifier, metadataLocation: string): Promise<LoadedTable>;
  /**
   * Checks `requirements` against the current metadata, applies `updates`, writes a new metadata
   * file and swaps the pointer atomically. Throws NoSuchTableError, CommitConflictError (retry
   * after reload), CommitStateUnknownError (never retry blindly), ValidationError.
   */
  commitTable(
    identifier: TableIdentifier,
    requirements: TableRequirement[],
    updates: TableUpdate[],
    options?: CommitTableOptions,
  ): Promise<LoadedTable>;

  /** Releases connections and handles. */
  close(): Promise<void>;
}

/** `ns1.ns2.table` → identifier. The last dot separates the table name. */
export function parseTableIdentifier(text: string): TableIdentifier {
  const parts = text.split('.');
  const name = parts.pop();
  if (!name || parts.length === 0 || parts.some((p) => p.length === 0)) {
    throw new ValidationError(`catalog: invalid table identifier '${text}', expected namespace.table`);
  }
  return { namespace: parts, name };
}

/** identifier → `ns1.ns2.table`. */
export function formatTableIdentifier(id: TableIdentifier): string {
  return [...id.namespace, id.name].join('.');
}
