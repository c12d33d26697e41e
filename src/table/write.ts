/**
 * Writing rows into a table's data files: split a columnar batch by partition (one file per
 * partition), write Parquet with field ids and metrics, and return manifest-ready data files.
 * Committing them is a separate step (`table.newAppend().appendFiles(files).commit()`), so a
 * pipeline can write many files and commit them together with its checkpoint.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../errors.js';
import type { DataFile } from '../iceberg/manifest-types.js';
import type { PartitionSpec, TableMetadata } from '../iceberg/metadata.js';
import { currentSchema, specById } from '../iceberg/metadata-lookup.js';
import { partitionPath } from '../iceberg/partitioning.js';
import { parseTransform, transformFunction } from '../iceberg/transforms.js';
import type { IcebergValue, Schema } from '../iceberg/types.js';
import { fileUriToPath, isLocalLocation, joinLocation } from '../io/location.js';
import { columnValues, type ColumnBatch } from '../data/column-batch.js';
import { toDataFile } from '../data/data-file.js';
import type { ParquetCompression } from '../data/parquet-copy.js';
import { writeParquetFile } from '../data/parquet-writer.js';
import type { FileIO } from '../io/file-io.js';
import type { DuckDB } from '../duckdb/instance.js';

/** Options of {@link writeDataFiles}. */
export interface WriteDataFilesOptions {
  /** Partition spec to write with; default the table's default spec. */
  specId?: number;
  /** Parquet compression; default the table property `write.parquet.compression-codec` or zstd. */
  compression?: ParquetCompression;
  /**
   * The partition tuple of every row, when the caller has already grouped the rows by partition
   * (the pipeline does, as rows arrive): the batch becomes one file without being split again.
   */
  partition?: IcebergValue[];
  /** The DuckDB instance that writes the Parquet files; the process-wide one when absent. */
  db?: DuckDB;
  /**
   * The schema the batch follows, when not the table's current one: a projection of it with the
   * same field ids (equality delete files hold only the key columns: `equality-deletes.ts`).
   */
  schema?: Schema;
  /** Prepended to each file's name (`delete-` for delete files, as Iceberg Java names them). */
  filePrefix?: string;
  /** Parquet footer keys besides `iceberg.schema` (delete files: `delete-type`, `delete-field-ids`). */
  kvMetadata?: Readonly<Record<string, string>>;
}

/** The table's data directory (`write.data.path` or `<location>/data`). */
export function dataLocation(md: TableMetadata): string {
  return md.properties['write.data.path'] ?? joinLocation(md.location, 'data');
}

/** The Parquet compression for new files: `explicit`, else `write.parquet.compression-codec`, else zstd. */
export function compressionOf(md: TableMetadata, explicit?: ParquetCompression): ParquetCompression {
  if (explicit) return explicit;
  const p = md.properties['write.parquet.compression-codec']?.toLowerCase();
  if (p === 'snappy' || p === 'zstd') return p;
  if (p === 'uncompressed' || p === 'none') return 'uncompressed';
  return 'zstd';
}

/** Groups the batch's rows by partition tuple. */
export function splitByPartition(
  schema: Schema,
  spec: PartitionSpec,
  batch: ColumnBatch,
): { partition: IcebergValue[]; rows: number[] | undefined }[] {
  if (spec.fields.length === 0) return [{ partition: [], rows: undefined }];
  const fns = spec.fields.map((pf) => {
    const field = schema.fields.find((f) => f.id === pf['source-id']);
    if (!field) {
      throw new ValidationError(
        `table: partition field '${pf.name}' has source id ${pf['source-id']}, which is not a top-level column (nested partition sources are not supported for writes)`,
      );
    }
    const apply = transformFunction(parseTransform(pf.transform), field.type);
    const given = batch.columns.get(field.id);
    const col = given && columnValues(given);
    return (row: number) => apply(col ? (col[row] ?? null) : null);
  });
  const groups = new Map<string, { partition: IcebergValue[]; rows: number[] }>();
  for (let r = 0; r < batch.length; r++) {
    const tuple = fns.map((fn) => fn(r));
    const key = tuple.map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v) + typeof v)).join('\u0001');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { partition: tuple, rows: [] }));
    g.rows.push(r);
  }
  return [...groups.values()];
}

function subBatch(batch: ColumnBatch, rows: number[]): ColumnBatch {
  const columns = new Map<number, IcebergValue[]>();
  for (const [id, given] of batch.columns) {
    const col = columnValues(given);
    columns.set(id, rows.map((r) => col[r] ?? null));
  }
  return { length: rows.length, columns };
}

/**
 * Writes a batch as Parquet data files of `md`'s table (one per partition) through `io` and returns
 * them, ready to commit. Files are named with a fresh UUID, so a retry never overwrites anything.
 */
export async function writeDataFiles(
  io: FileIO,
  md: TableMetadata,
  batch: ColumnBatch,
  options: WriteDataFilesOptions = {},
): Promise<{ files: DataFile[]; specId: number }> {
  const schema = options.schema ?? currentSchema(md, 'table');
  const specId = options.specId ?? md['default-spec-id'];
  const spec = specById(md, specId, 'table');
  const compression = compressionOf(md, options.compression);
  const base = dataLocation(md);
  const files: DataFile[] = [];
  if (batch.length === 0) return { files, specId };
  if (options.partition && options.partition.length !== spec.fields.length) {
    throw new ValidationError(`table: a partition tuple of ${options.partition.length} values for spec ${specId}, which has ${spec.fields.length} fields`);
  }
  const groups = options.partition ? [{ partition: options.partition, rows: undefined }] : splitByPartition(schema, spec, batch);
  for (const group of groups) {
    const rows = group.rows ? subBatch(batch, group.rows) : batch;
    const dir = spec.fields.length ? joinLocation(base, partitionPath(spec, schema, group.partition)) : base;
    const location = joinLocation(dir, `${options.filePrefix ?? ''}${randomUUID()}.parquet`);
    if (isLocalLocation(location)) {
      const result = await writeParquetFile({ schema, rows, path: fileUriToPath(location), compression, ...(options.db ? { db: options.db } : {}), ...(options.kvMetadata ? { kvMetadata: options.kvMetadata } : {}) });
      files.push(toDataFile(result, group.partition, specId, location).file);
    } else {
      // Remote stores: write locally, then upload (conditional put: a name is never reused).
      const tmp = await mkdtemp(join(tmpdir(), 'floe-write-'));
      try {
        const path = join(tmp, 'data.parquet');
        const result = await writeParquetFile({ schema, rows, path, compression, ...(options.db ? { db: options.db } : {}), ...(options.kvMetadata ? { kvMetadata: options.kvMetadata } : {}) });
        await io.write(location, await readFile(path));
        files.push(toDataFile(result, group.partition, specId, location).file);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    }
  }
  return { files, specId };
}
