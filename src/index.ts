/**
 * floe as a library: `import { openCatalog, Table, QueryEngine } from 'floe'`.
 *
 * The public API, named one by one (no `export *`): what is not here is internal and may change.
 * Catalogs open tables; a table takes rows as plain objects (`Table.append`) or data files
 * (`Table.newAppend`); the pipeline runs a source into a table; the query engine reads tables
 * with SQL; maintenance keeps them small. Every error floe raises on purpose is a `FloeError`
 * with a stable `code`.
 *
 * Modules that load a heavy SDK (Glue, Athena) are not imported here: `openCatalog` loads the
 * Glue client only for a `glue://` URI.
 */

// Errors and their codes.
export {
  AlreadyExistsError,
  CatalogUnreachableError,
  CommitConflictError,
  CommitStateUnknownError,
  ErrorCode,
  FencedError,
  FloeError,
  hasCode,
  NamespaceNotEmptyError,
  NoSuchNamespaceError,
  NoSuchTableError,
  NotFoundError,
  UnsupportedError,
  ValidationError,
  type FloeErrorOptions,
} from './errors.js';

// Catalogs.
export { openCatalog, defaultCatalogUri, DEFAULT_WAREHOUSE, type OpenCatalogOptions } from './catalog/open.js';
export {
  formatTableIdentifier,
  parseTableIdentifier,
  type Catalog,
  type CommitTableOptions,
  type CreateTableOptions,
  type DropTableOptions,
  type LoadedTable,
  type Namespace,
  type TableIdentifier,
} from './catalog/catalog.js';
export { SqlCatalog, openSqlCatalog, type SqlCatalogOptions } from './catalog/sql/sql-catalog.js';
export { RestCatalog, type RestCatalogOptions } from './catalog/rest/rest-catalog.js';
export type { RestAuthConfig } from './catalog/rest/rest-auth.js';
export { startRestCatalogServer, type RestCatalogServer, type RestCatalogServerOptions } from './catalog/rest/rest-server.js';

// Schemas, partition specs and the table format's types.
export { parsePartitionArg, parseSchemaArg } from './iceberg/notation.js';
export { parseSchema } from './iceberg/schema-parse.js';
export type { IcebergType, IcebergValue, NestedField, PrimitiveType, Schema } from './iceberg/types.js';
export type { PartitionSpec, Snapshot, SortOrder, TableMetadata } from './iceberg/metadata.js';
export type { DataFile } from './iceberg/manifest-types.js';

// Tables: open, append rows or files, rewrite, evolve.
export { Table } from './table/table.js';
export { openTableAt, type OpenTableOptions } from './table/open-location.js';
export { rowsToBatch } from './table/rows.js';
export { writeDataFiles, type WriteDataFilesOptions } from './table/write.js';
export { FastAppend } from './table/append.js';
export { RewriteFiles, type RewriteOptions } from './table/rewrite.js';
export { RowDelta } from './table/row-delta.js';
export type { UpsertOptions } from './table/upsert.js';
export { writeEqualityDeletes, deleteLayout, type DeleteLayout, type WriteEqualityDeletesOptions } from './table/equality-deletes.js';
export type { CommitOptions, CommitResult } from './table/snapshot-producer.js';
export { batchFromRows, ColumnBatchBuilder, type ColumnBatch } from './data/column-batch.js';

// Storage.
export type { FileIO } from './io/file-io.js';
export { fileIOFor, registerFileIO, type FileIOFactory } from './io/resolve.js';
export { parsePathMapping, RemapFileIO, type PathMapping } from './io/remap.js';

// The pipeline and its sources.
export { Pipeline, type AlongsideWork, type PipelineEvent, type PipelineOptions, type PipelineStats } from './pipeline/pipeline.js';
export { loadConfig, parseConfig, validateConfig, type PipelineConfig } from './pipeline/config.js';
export { openPipeline, type RunEvent, type RunPipelineOptions } from './run/run-pipeline.js';
export { SHARD_END, type RecordBlock, type RecordRun, type Source, type SourceBatch, type SourceRecord } from './source/source.js';
export { RecordView } from './source/record-view.js';
export { KinesisSource, type KinesisSourceOptions } from './source/kinesis/kinesis-source.js';
export { kinesisClientFromEnv, type KinesisClientOptions } from './source/kinesis/client.js';
export { putRecords, type PutEntry, type PutResult } from './source/kinesis/producer.js';
export { ensureStream, type EnsureStreamOptions } from './source/kinesis/admin.js';
export { startLocalKinesis, type LocalKinesis, type LocalKinesisOptions } from './source/local-kinesis.js';
export { MemorySource, type MemoryPartition, type MemorySourceOptions } from './source/memory.js';

// Queries.
export { QueryEngine, type QueryEngineOptions, type QueryResult, type SnapshotSelection } from './query/engine.js';
export { resultToObjects } from './query/result-objects.js';

// Maintenance.
export { compactTable, type CompactOptions, type CompactResult } from './maintenance/compact.js';
export { expireSnapshots, type ExpireSnapshotsOptions, type ExpireSnapshotsResult } from './maintenance/expire-snapshots.js';
export { removeOrphanFiles, type RemoveOrphansOptions, type RemoveOrphansResult } from './maintenance/remove-orphans.js';
export { rewriteManifests, type RewriteManifestsOptions, type RewriteManifestsResult } from './maintenance/rewrite-manifests.js';
