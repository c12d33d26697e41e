/**
 * A table handle: the catalog it lives in, its current metadata, and the operations that change it.
 * Every change goes through `Catalog.commitTable`, so the same code commits through the embedded SQL
 * catalog, REST or Glue.
 */
import { CommitConflictError } from '../errors.js';
import type { Catalog, CommitTableOptions, LoadedTable, TableIdentifier } from '../catalog/catalog.js';
import { formatTableIdentifier } from '../catalog/catalog.js';
import type { TableRequirement, TableUpdate } from '../iceberg/commit.js';
import type { PartitionSpec, Snapshot, TableMetadata } from '../iceberg/metadata.js';
import { currentSchema, defaultSpec } from '../iceberg/metadata-lookup.js';
import { snapshotForRef } from '../iceberg/snapshot.js';
import type { Schema } from '../iceberg/types.js';
import type { FileIO } from '../io/file-io.js';
import { FastAppend } from './append.js';
import { backoffDelayMs, sleep } from '../retry.js';
import { retryPolicyFromProperties } from './commit-policy.js';
import { RewriteFiles, type RewriteOptions } from './rewrite.js';
import { RowDelta } from './row-delta.js';
import { upsertRows, type UpsertOptions } from './upsert.js';
import { rowsToBatch } from './rows.js';
import type { CommitOptions, CommitResult } from './snapshot-producer.js';
import { writeDataFiles } from './write.js';

/** A loaded table with its catalog. */
export class Table {
  private current: LoadedTable;

  constructor(
    readonly catalog: Catalog,
    loaded: LoadedTable,
  ) {
    this.current = loaded;
  }

  /** Loads a table from a catalog. */
  static async load(catalog: Catalog, identifier: TableIdentifier): Promise<Table> {
    return new Table(catalog, await catalog.loadTable(identifier));
  }

  /** `namespace.table`. */
  get name(): string {
    return formatTableIdentifier(this.current.identifier);
  }

  get identifier(): TableIdentifier {
    return this.current.identifier;
  }

  get loaded(): LoadedTable {
    return this.current;
  }

  get metadata(): TableMetadata {
    return this.current.metadata;
  }

  get metadataLocation(): string {
    return this.current.metadataLocation;
  }

  get io(): FileIO {
    return this.current.io;
  }

  get location(): string {
    return this.current.metadata.location;
  }

  /** The current schema. */
  schema(): Schema {
    return currentSchema(this.metadata, 'table');
  }

  /** The default partition spec. */
  spec(): PartitionSpec {
    return defaultSpec(this.metadata, 'table');
  }

  /** The head of `branch` (default main), if any. */
  currentSnapshot(branch = 'main'): Snapshot | undefined {
    return snapshotForRef(this.metadata, branch);
  }

  /** Reloads the metadata from the catalog. */
  async refresh(): Promise<this> {
    this.current = await this.catalog.loadTable(this.current.identifier);
    return this;
  }

  /**
   * Commits requirements and updates as they are (no retry) and adopts the result. `options` go to
   * the catalog (`signal`: see {@link CommitTableOptions}).
   */
  async commitRaw(requirements: TableRequirement[], updates: TableUpdate[], options?: CommitTableOptions): Promise<LoadedTable> {
    this.current = options
      ? await this.catalog.commitTable(this.current.identifier, requirements, updates, options)
      : await this.catalog.commitTable(this.current.identifier, requirements, updates);
    return this.current;
  }

  /**
   * Appends rows given as plain objects keyed by column name (`{ id: 1n, ts: new Date() }`; the
   * accepted JavaScript values per type are listed in `table/rows.ts`) in one snapshot: converts
   * and checks them (errors name the row index and the column), writes Parquet data files (one per
   * partition) and commits. No rows: nothing is written or committed (undefined).
   */
  async append(rows: Iterable<object>, options?: CommitOptions): Promise<CommitResult | undefined> {
    const batch = rowsToBatch(this.schema(), rows);
    if (batch.length === 0) return undefined;
    const { files, specId } = await writeDataFiles(this.io, this.metadata, batch);
    return this.newAppend(options).appendFiles(files, specId).commit();
  }

  /** A new fast append. */
  newAppend(options?: CommitOptions): FastAppend {
    return new FastAppend(this, options);
  }

  /**
   * A new row delta: data files (`addRows`) and delete files (`addDeletes`, e.g. equality deletes
   * from `writeEqualityDeletes`) in one snapshot; operation `append`, `delete` or `overwrite` as
   * Iceberg Java's RowDelta. Format v2.
   */
  newRowDelta(options?: CommitOptions): RowDelta {
    return new RowDelta(this, options);
  }

  /**
   * Upserts rows (plain objects, as {@link append}) by key in one snapshot: each row replaces the
   * table's rows of its key (the last row of a key in `rows` wins), and `options.deletes` removes
   * keys. The key is the table's identifier fields, or `options.key` (then made the identifier
   * fields). Writes one equality delete per key touched (`table/upsert.ts`). Nothing to do: undefined.
   */
  async upsert(rows: Iterable<object>, options?: UpsertOptions): Promise<CommitResult | undefined> {
    return upsertRows(this, rows, options);
  }

  /** A new replace (rewrite files with the same rows: compaction). */
  newReplace(options?: RewriteOptions): RewriteFiles {
    return new RewriteFiles(this, 'replace', options);
  }

  /** A new overwrite (remove and add files, changing rows). */
  newOverwrite(options?: RewriteOptions): RewriteFiles {
    return new RewriteFiles(this, 'overwrite', options);
  }

  /**
   * Applies a metadata change computed from the current metadata, retrying on conflict: `change`
   * is called again on the reloaded metadata each time, so it must be a pure function of it.
   */
  async update(
    change: (md: TableMetadata) => { requirements: TableRequirement[]; updates: TableUpdate[] },
  ): Promise<LoadedTable> {
    const policy = retryPolicyFromProperties(this.metadata.properties);
    for (let attempt = 1; ; attempt++) {
      const { requirements, updates } = change(this.metadata);
      try {
        return await this.commitRaw(
          [{ type: 'assert-table-uuid', uuid: this.metadata['table-uuid'] }, ...requirements],
          updates,
        );
      } catch (e) {
        if (!(e instanceof CommitConflictError) || attempt >= policy.maxAttempts) throw e;
        await sleep(backoffDelayMs(attempt - 1, policy));
        await this.refresh();
      }
    }
  }

  /** Sets and removes table properties. */
  async updateProperties(set: Record<string, string>, remove: string[] = []): Promise<LoadedTable> {
    return this.update(() => ({
      requirements: [],
      updates: [
        ...(Object.keys(set).length ? [{ action: 'set-properties' as const, updates: set }] : []),
        ...(remove.length ? [{ action: 'remove-properties' as const, removals: remove }] : []),
      ],
    }));
  }

  /**
   * Evolves the schema: `evolve` gets the current schema and returns the new one (use the
   * evolution helpers in `iceberg/schema-evolution.ts`); it becomes the current schema.
   */
  async updateSchema(evolve: (current: Schema, md: TableMetadata) => Schema): Promise<LoadedTable> {
    return this.update((md) => {
      const current = currentSchema(md, 'table');
      const next = evolve(current, md);
      return {
        requirements: [
          { type: 'assert-current-schema-id', 'current-schema-id': md['current-schema-id'] },
          { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': md['last-column-id'] },
        ],
        updates: [
          { action: 'add-schema', schema: next },
          { action: 'set-current-schema', 'schema-id': -1 },
        ],
      };
    });
  }
}
