/**
 * What DuckDB's `COPY … TO … (FORMAT parquet, …)` is told so that the file is an Iceberg data
 * file: the type as written (`unknown` fields left out), the Iceberg field id of every column at
 * every nesting level (`FIELD_IDS`), the compression and the row group size. Shared by the writer
 * and compaction's copy (`maintenance/copy-writer.ts`).
 */
import { ValidationError, UnsupportedError } from '../errors.js';
import { stringifyJson } from '../iceberg/json.js';
import type { IcebergType, Schema } from '../iceberg/types.js';
import { sqlString } from '../duckdb/instance.js';

/** Parquet compression codecs the writer offers. */
export type ParquetCompression = 'zstd' | 'snappy' | 'uncompressed';

const COMPRESSIONS: ReadonlySet<string> = new Set(['zstd', 'snappy', 'uncompressed']);

/** Refuses a compression the writer does not offer. */
export function checkCompression(compression: string | undefined): void {
  if (compression !== undefined && !COMPRESSIONS.has(compression)) {
    throw new ValidationError(`parquet-writer: unsupported compression ${JSON.stringify(compression)} (zstd, snappy or uncompressed)`);
  }
}

/** True for the `unknown` type, whose fields data files leave out. */
export function isUnknown(t: IcebergType): boolean {
  return typeof t === 'string' && t.toLowerCase() === 'unknown';
}

/**
 * The type as written: `unknown` fields dropped from structs (the spec keeps them out of data
 * files; readers produce nulls). An `unknown` list element or map value cannot be dropped.
 */
export function writtenType(t: IcebergType, path: string): IcebergType {
  if (typeof t === 'string') return t;
  switch (t.type) {
    case 'struct': {
      const fields = t.fields.filter((f) => !isUnknown(f.type)).map((f) => ({ ...f, type: writtenType(f.type, `${path}.${f.name}`) }));
      if (fields.length === 0) {
        throw new UnsupportedError(`parquet-writer: ${path}: a struct without written fields cannot be written`);
      }
      return { ...t, fields };
    }
    case 'list':
      if (isUnknown(t.element)) throw new UnsupportedError(`parquet-writer: ${path}: list of unknown cannot be written`);
      return { ...t, element: writtenType(t.element, `${path}.element`) };
    case 'map':
      if (isUnknown(t.value) || isUnknown(t.key)) {
        throw new UnsupportedError(`parquet-writer: ${path}: map with unknown keys or values cannot be written`);
      }
      return { ...t, key: writtenType(t.key, `${path}.key`), value: writtenType(t.value, `${path}.value`) };
  }
}

/** The FIELD_IDS value of COPY for a column of type `t` with field id `id`. */
export function fieldIdsLiteral(t: IcebergType, id: number): string {
  if (typeof t === 'string') return String(id);
  switch (t.type) {
    case 'struct':
      return `{__duckdb_field_id: ${id}, ${t.fields.map((f) => `${sqlString(f.name)}: ${fieldIdsLiteral(f.type, f.id)}`).join(', ')}}`;
    case 'list':
      return `{__duckdb_field_id: ${id}, element: ${fieldIdsLiteral(t.element, t['element-id'])}}`;
    case 'map':
      return `{__duckdb_field_id: ${id}, key: ${fieldIdsLiteral(t.key, t['key-id'])}, value: ${fieldIdsLiteral(t.value, t['value-id'])}}`;
  }
}

/**
 * The `KV_METADATA` option of COPY that stores the file's Iceberg schema (its written columns)
 * under the footer key `iceberg.schema`, as Iceberg Java's writer does. Readers that map columns
 * by field id through that key rather than through the Parquet field ids (icebird) would
 * otherwise match by the table's current names and read a renamed column as null.
 * @param extra footer keys written before it (equality delete files: `delete-type`,
 *   `delete-field-ids`, as Java's `Parquet.DeleteWriteBuilder` writes them)
 */
export function icebergSchemaKv(schema: Schema, extra: Readonly<Record<string, string>> = {}): string {
  const fields = schema.fields.filter((f) => !isUnknown(f.type)).map((f) => ({ ...f, type: writtenType(f.type, f.name) }));
  const json = stringifyJson({ type: 'struct', 'schema-id': schema['schema-id'], fields });
  const entries: [string, string][] = [...Object.entries(extra).filter(([k]) => k !== 'iceberg.schema'), ['iceberg.schema', json]];
  return `KV_METADATA {${entries.map(([k, v]) => `${sqlString(k)}: ${sqlString(v)}`).join(', ')}}`;
}

/**
 * The options of the writer's COPY: `FORMAT parquet, COMPRESSION …, FIELD_IDS {…}, ROW_GROUP_SIZE …`
 * (and the `iceberg.schema` footer key when `schema` is given, after the `extraKv` keys: {@link icebergSchemaKv}).
 * @param fieldIds one `'<column>': <fieldIdsLiteral>` entry per written top-level column
 */
export function parquetCopyOptions(
  compression: ParquetCompression,
  fieldIds: readonly string[],
  rowGroupSize: number,
  schema?: Schema,
  extraKv?: Readonly<Record<string, string>>,
): string {
  const options = [
    'FORMAT parquet',
    `COMPRESSION ${compression}`,
    `FIELD_IDS {${fieldIds.join(', ')}}`,
  ];
  options.push(`ROW_GROUP_SIZE ${rowGroupSize}`);
  if (schema) options.push(icebergSchemaKv(schema, extraKv));
  return options.join(', ');
}
