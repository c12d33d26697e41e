/**
 * Equality delete files for upserts and deletes by key: which columns make the key (the table's
 * `identifier-field-ids`), which partition spec the delete files are written with, and the
 * Parquet files themselves (only the key columns, with their field ids; footer keys `delete-type`
 * and `delete-field-ids`; `content: 2`, `equality_ids` and, for an unsorted table, `sort_order_id`
 * 0 in the manifest entry, as Iceberg Java writes them). The key columns are OPTIONAL in the
 * Parquet schema though required in the table (DuckDB's COPY writes no REQUIRED column, as for
 * data files); readers go by the Iceberg schema.
 *
 * Where the deletes go (spec §Scan Planning: an equality delete file applies to data files of its
 * own partition, or to every partition when its spec is unpartitioned):
 * - unpartitioned table: the table's spec;
 * - every field of the partition spec is a transform of a key column, and the table has no other
 *   spec: the key determines the partition, so a key's rows all live in the partition its delete
 *   is written to (partitioned deletes, read only with that partition's files);
 * - otherwise (a partition of non-key columns, or several specs, whose older files a key's rows may
 *   be in): an unpartitioned spec, added to the table's specs without becoming its default, so each
 *   delete reaches every partition.
 */
import { UnsupportedError, ValidationError } from '../errors.js';
import { FileContent, type DataFile } from '../iceberg/manifest-types.js';
import type { PartitionSpec, TableMetadata } from '../iceberg/metadata.js';
import { currentSchema, defaultSpec } from '../iceberg/metadata-lookup.js';
import { validateIdentifierFields } from '../iceberg/schema-parse.js';
import type { IcebergValue, Schema } from '../iceberg/types.js';
import type { ColumnBatch } from '../data/column-batch.js';
import type { ParquetCompression } from '../data/parquet-copy.js';
import type { DuckDB } from '../duckdb/instance.js';
import type { FileIO } from '../io/file-io.js';
import { writeDataFiles } from './write.js';
import type { Table } from './table.js';

/** Where a table's equality deletes are written (see the file comment). */
export interface DeleteLayout {
  /** The spec of the delete files; undefined: an unpartitioned spec must be added first. */
  specId: number | undefined;
  /** True when the deletes are partitioned like the data (the key determines the partition). */
  partitioned: boolean;
}

/**
 * The ids of the key columns `names` (top-level columns of `schema`), checked as Iceberg
 * identifier fields (required primitives, not float/double) on a format v2 table. An optional key
 * column gets a message that says how to fix it.
 * @param what the subject of the messages (`config: table.upsert.key`)
 */
export function keyFieldIds(md: TableMetadata, names: readonly string[], what: string): number[] {
  if (md['format-version'] < 2) {
    throw new ValidationError(`${what}: upserts write equality delete files, which need an Iceberg format version 2 table; this table is v${md['format-version']} (create a v2 table, the default, or upgrade this one with another engine)`);
  }
  if (names.length === 0) throw new ValidationError(`${what}: at least one key column is required`);
  const schema = currentSchema(md, 'table');
  const ids: number[] = [];
  for (const name of names) {
    const f = schema.fields.find((x) => x.name === name);
    if (!f) throw new ValidationError(`${what}: '${name}' is not a top-level column of the table (columns: ${schema.fields.map((x) => x.name).join(', ')})`);
    if (ids.includes(f.id)) throw new ValidationError(`${what}: '${name}' is listed twice`);
    if (!f.required) {
      throw new ValidationError(
        `${what}: key column '${name}' is optional in the table, and a key column must be required (Iceberg identifier fields); Iceberg makes an optional column required only as an incompatible change (Java: UpdateSchema.allowIncompatibleChanges().requireColumn("${name}"), when no row has a null there), so recreate the table (a table floe creates for this config has its key columns required) or change it with another engine`,
      );
    }
    ids.push(f.id);
  }
  validateIdentifierFields(schema, ids, what);
  return ids;
}

/** The schema's top-level key columns, in the order of `ids` (the delete files' schema). */
export function keySchema(schema: Schema, ids: readonly number[]): Schema {
  const fields = ids.map((id) => {
    const f = schema.fields.find((x) => x.id === id);
    if (!f) throw new ValidationError(`table: key field id ${id} is not a top-level column of schema ${schema['schema-id']}`);
    return f;
  });
  return { type: 'struct', 'schema-id': schema['schema-id'], fields };
}

/** True when every field of `spec` is computed from a key column (the key determines the partition). */
function keyDeterminesPartition(spec: PartitionSpec, keyIds: readonly number[]): boolean {
  return spec.fields.every((f) => keyIds.includes(f['source-id']) && (f['source-ids'] === undefined || f['source-ids'].every((id) => keyIds.includes(id))));
}

/** Where equality deletes of the key `keyIds` go in the table of `md` (see the file comment). */
export function deleteLayout(md: TableMetadata, keyIds: readonly number[]): DeleteLayout {
  const spec = defaultSpec(md, 'table');
  const specs = md['partition-specs'];
  if (spec.fields.length === 0) return { specId: spec['spec-id'], partitioned: false };
  if (specs.length === 1 && keyDeterminesPartition(spec, keyIds)) return { specId: spec['spec-id'], partitioned: true };
  const unpartitioned = specs.find((s) => s.fields.length === 0);
  return { specId: unpartitioned?.['spec-id'], partitioned: false };
}

/**
 * {@link deleteLayout}, adding the unpartitioned spec to the table first when it needs one (a
 * metadata-only commit; the default spec stays as it is).
 */
export async function ensureDeleteLayout(table: Table, keyIds: readonly number[]): Promise<DeleteLayout & { specId: number }> {
  let layout = deleteLayout(table.metadata, keyIds);
  if (layout.specId === undefined) {
    await table.update((md) =>
      deleteLayout(md, keyIds).specId !== undefined
        ? { requirements: [], updates: [] }
        : { requirements: [], updates: [{ action: 'add-spec', spec: { 'spec-id': 0, fields: [] } }] },
    );
    layout = deleteLayout(table.metadata, keyIds);
    if (layout.specId === undefined) throw new UnsupportedError(`table: ${table.name}: could not add an unpartitioned spec for equality deletes`);
  }
  return { specId: layout.specId, partitioned: layout.partitioned };
}

/**
 * Makes `keyIds` the identifier fields of the table's current schema (a new schema, made current,
 * when they differ); nothing when they are already.
 */
export async function ensureIdentifierFields(table: Table, keyIds: readonly number[]): Promise<boolean> {
  const same = (s: Schema): boolean => {
    const have = s['identifier-field-ids'] ?? [];
    return have.length === keyIds.length && keyIds.every((id) => have.includes(id));
  };
  if (same(table.schema())) return false;
  await table.updateSchema((current) => (same(current) ? current : { ...current, 'identifier-field-ids': [...keyIds] }));
  return true;
}

/** Options of {@link writeEqualityDeletes}. */
export interface WriteEqualityDeletesOptions {
  /** The key columns' field ids (`equality_ids`), top-level columns of the current schema. */
  equalityIds: readonly number[];
  /** The spec to write with ({@link DeleteLayout.specId}); default the table's default spec. */
  specId?: number;
  compression?: ParquetCompression;
  db?: DuckDB;
}

/**
 * Writes equality delete files of `md`'s table: `keys` holds one row per key to delete, by field
 * id, only the key columns (any other column is ignored). Under a partitioned spec the rows are
 * split by partition (its source columns must be key columns), one file per partition.
 */
export async function writeEqualityDeletes(
  io: FileIO,
  md: TableMetadata,
  keys: ColumnBatch,
  options: WriteEqualityDeletesOptions,
): Promise<{ files: DataFile[]; specId: number }> {
  const schema = keySchema(currentSchema(md, 'table'), options.equalityIds);
  const columns = new Map([...keys.columns].filter(([id]) => options.equalityIds.includes(id)));
  const written = await writeDataFiles(io, md, { length: keys.length, columns }, {
    schema,
    filePrefix: 'delete-',
    // Java's footer keys of an equality delete file (`Parquet.DeleteWriteBuilder`: ids joined by ", ").
    kvMetadata: { 'delete-type': 'equality', 'delete-field-ids': options.equalityIds.join(', ') },
    ...(options.specId !== undefined ? { specId: options.specId } : {}),
    ...(options.compression ? { compression: options.compression } : {}),
    ...(options.db ? { db: options.db } : {}),
  });
  // Java records the writer's sort order (0, unsorted, for an unsorted table); the rows here are
  // in no table order, so only the unsorted order is claimed, and nothing for a sorted table.
  const sortOrderId = md['default-sort-order-id'] === 0 ? { sort_order_id: 0 } : {};
  const files = written.files.map((f): DataFile => ({ ...f, content: FileContent.EQUALITY_DELETES, equality_ids: [...options.equalityIds], ...sortOrderId }));
  return { files, specId: written.specId };
}

/**
 * A key's values as one string, equal for equal keys and different otherwise (values of the same
 * columns: each part says its length, so no value can be mistaken for two).
 */
export function keyText(values: readonly IcebergValue[]): string {
  let out = '';
  for (const v of values) {
    const s = v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v === null ? '' : String(v);
    out += `${v === null ? 'n' : typeof v}${s.length}:${s}`;
  }
  return out;
}
