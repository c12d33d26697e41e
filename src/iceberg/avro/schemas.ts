/**
 * The Avro schemas of manifests (`manifest_entry`) and manifest lists (`manifest_file`), per
 * format version, exactly as the spec (§Manifests, §Manifest Lists) and Iceberg Java lay them out:
 * record names `manifest_entry`, `r2` (data_file), `r102` (partition), `k117_v118`… (int-keyed
 * maps as arrays of key/value records with logical type `map`), `r508` (field summary);
 * `field-id` on every field, `element-id` on lists; optional fields as `["null", T]` with
 * default null.
 *
 * Names: v1 manifest lists use the historical names `added_data_files_count` /
 * `existing_data_files_count` / `deleted_data_files_count` for 504–506 (as Java's v1 writer
 * does, for old readers that resolve by name); v2 and v3 use the spec's `added_files_count` etc.
 */
import type { AvroFieldSchema } from './avro-schema.js';

/** Iceberg format versions whose manifests floe can write. */
export type ManifestFormatVersion = 1 | 2 | 3;

/** Field ids of `manifest_entry` and `data_file` (spec §Manifests). */
export const ENTRY_IDS = {
  status: 0,
  snapshot_id: 1,
  data_file: 2,
  sequence_number: 3,
  file_sequence_number: 4,
  file_path: 100,
  file_format: 101,
  partition: 102,
  record_count: 103,
  file_size_in_bytes: 104,
  block_size_in_bytes: 105,
  column_sizes: 108,
  value_counts: 109,
  null_value_counts: 110,
  lower_bounds: 125,
  upper_bounds: 128,
  key_metadata: 131,
  split_offsets: 132,
  content: 134,
  equality_ids: 135,
  nan_value_counts: 137,
  sort_order_id: 140,
  first_row_id: 142,
  referenced_data_file: 143,
  content_offset: 144,
  content_size_in_bytes: 145,
} as const;

/** Field ids of `manifest_file` and `field_summary` (spec §Manifest Lists). */
export const LIST_IDS = {
  manifest_path: 500,
  manifest_length: 501,
  partition_spec_id: 502,
  added_snapshot_id: 503,
  added_files_count: 504,
  existing_files_count: 505,
  deleted_files_count: 506,
  partitions: 507,
  contains_null: 509,
  lower_bound: 510,
  upper_bound: 511,
  added_rows_count: 512,
  existing_rows_count: 513,
  deleted_rows_count: 514,
  sequence_number: 515,
  min_sequence_number: 516,
  content: 517,
  contains_nan: 518,
  key_metadata: 519,
  first_row_id: 520,
} as const;

/** v1 `block_size_in_bytes` (deprecated; "always write a default in v1"): Java's 64 MiB. */
export const V1_BLOCK_SIZE = 64n * 1024n * 1024n;

const required = (name: string, id: number, type: unknown, doc?: string): AvroFieldSchema => ({
  name,
  type: type as AvroFieldSchema['type'],
  ...(doc !== undefined ? { doc } : {}),
  'field-id': id,
});

const optional = (name: string, id: number, type: unknown, doc?: string): AvroFieldSchema => ({
  name,
  type: ['null', type] as AvroFieldSchema['type'],
  ...(doc !== undefined ? { doc } : {}),
  default: null,
  'field-id': id,
});

/** An Iceberg `map<int, V>` as an Avro array of `k<keyId>_v<valueId>` records. */
const intMap = (keyId: number, valueId: number, valueType: string): unknown => ({
  type: 'array',
  items: {
    type: 'record',
    name: `k${keyId}_v${valueId}`,
    fields: [
      { name: 'key', type: 'int', 'field-id': keyId },
      { name: 'value', type: valueType, 'field-id': valueId },
    ],
  },
  logicalType: 'map',
});

const list = (elementId: number, items: unknown): unknown => ({ type: 'array', items, 'element-id': elementId });

/**
 * The `manifest_entry` schema for a format version.
 * @param partition the `r102` partition record schema (see `partitionAvroSchema` in manifest.ts)
 */
export function manifestEntrySchema(version: ManifestFormatVersion, partition: unknown): Record<string, unknown> {
  const I = ENTRY_IDS;
  const df: AvroFieldSchema[] = [];
  if (version >= 2) {
    df.push(required('content', I.content, 'int', 'Contents of the file: 0=data, 1=position deletes, 2=equality deletes'));
  }
  df.push(
    required('file_path', I.file_path, 'string', 'Location URI with FS scheme'),
    required('file_format', I.file_format, 'string', 'File format name: avro, orc, or parquet'),
    required('partition', I.partition, partition, 'Partition data tuple, schema based on the partition spec'),
    required('record_count', I.record_count, 'long', 'Number of records in the file'),
    required('file_size_in_bytes', I.file_size_in_bytes, 'long', 'Total file size in bytes'),
  );
  if (version === 1) df.push(required('block_size_in_bytes', I.block_size_in_bytes, 'long', 'Block size in bytes (deprecated)'));
  df.push(
    optional('column_sizes', I.column_sizes, intMap(117, 118, 'long'), 'Map of column id to total size on disk'),
    optional('value_counts', I.value_counts, intMap(119, 120, 'long'), 'Map of column id to total count, including null and NaN'),
    optional('null_value_counts', I.null_value_counts, intMap(121, 122, 'long'), 'Map of column id to null value count'),
    optional('nan_value_counts', I.nan_value_counts, intMap(138, 139, 'long'), 'Map of column id to number of NaN values in the column'),
    optional('lower_bounds', I.lower_bounds, intMap(126, 127, 'bytes'), 'Map of column id to lower bound'),
    optional('upper_bounds', I.upper_bounds, intMap(129, 130, 'bytes'), 'Map of column id to upper bound'),
    optional('key_metadata', I.key_metadata, 'bytes', 'Encryption key metadata blob'),
    optional('split_offsets', I.split_offsets, list(133, 'long'), 'Splittable offsets'),
  );
  if (version >= 2) df.push(optional('equality_ids', I.equality_ids, list(136, 'int'), 'Equality comparison field IDs'));
  df.push(optional('sort_order_id', I.sort_order_id, 'int', 'Sort order ID'));
  if (version >= 3) df.push(optional('first_row_id', I.first_row_id, 'long', 'Starting row ID to assign to new rows'));
  if (version >= 2) {
    df.push(
      optional(
        'referenced_data_file',
        I.referenced_data_file,
        'string',
        'Fully qualified location (URI with FS scheme) of a data file that all deletes reference',
      ),
    );
  }
  if (version >= 3) {
    df.push(
      optional('content_offset', I.content_offset, 'long', 'The offset in the file where the content starts'),
      optional('content_size_in_bytes', I.content_size_in_bytes, 'long', 'The length of referenced content stored in the file'),
    );
  }

  const fields: AvroFieldSchema[] = [required('status', I.status, 'int')];
  // v1 entries always carry a snapshot id; Java nevertheless declares it optional in every
  // version, and so do we, so that v1 and v2 readers see the same field type.
  fields.push(optional('snapshot_id', I.snapshot_id, 'long'));
  if (version >= 2) {
    fields.push(optional('sequence_number', I.sequence_number, 'long'), optional('file_sequence_number', I.file_sequence_number, 'long'));
  }
  fields.push(required('data_file', I.data_file, { type: 'record', name: 'r2', fields: df }));
  return { type: 'record', name: 'manifest_entry', fields };
}

const fieldSummary = (): unknown => ({
  type: 'record',
  name: 'r508',
  fields: [
    required('contains_null', LIST_IDS.contains_null, 'boolean', 'True if any file has a null partition value'),
    optional('contains_nan', LIST_IDS.contains_nan, 'boolean', 'True if any file has a nan partition value'),
    optional('lower_bound', LIST_IDS.lower_bound, 'bytes', 'Partition lower bound for all files'),
    optional('upper_bound', LIST_IDS.upper_bound, 'bytes', 'Partition upper bound for all files'),
  ],
});

/** The `manifest_file` schema of a manifest list for a format version. */
export function manifestFileSchema(version: ManifestFormatVersion): Record<string, unknown> {
  const I = LIST_IDS;
  const partitions = optional('partitions', I.partitions, list(508, fieldSummary()), 'Summary for each partition');
  const keyMetadata = optional('key_metadata', I.key_metadata, 'bytes', 'Encryption key metadata blob');
  const head = [
    required('manifest_path', I.manifest_path, 'string', 'Location URI with FS scheme'),
    required('manifest_length', I.manifest_length, 'long', 'Total file size in bytes'),
    required('partition_spec_id', I.partition_spec_id, 'int', 'Spec ID used to write'),
  ];
  if (version === 1) {
    return {
      type: 'record',
      name: 'manifest_file',
      fields: [
        ...head,
        optional('added_snapshot_id', I.added_snapshot_id, 'long', 'Snapshot ID that added the manifest'),
        optional('added_data_files_count', I.added_files_count, 'int', 'Added entry count'),
        optional('existing_data_files_count', I.existing_files_count, 'int', 'Existing entry count'),
        optional('deleted_data_files_count', I.deleted_files_count, 'int', 'Deleted entry count'),
        partitions,
        optional('added_rows_count', I.added_rows_count, 'long', 'Added rows count'),
        optional('existing_rows_count', I.existing_rows_count, 'long', 'Existing rows count'),
        optional('deleted_rows_count', I.deleted_rows_count, 'long', 'Deleted rows count'),
        keyMetadata,
      ],
    };
  }
  const fields = [
    ...head,
    required('content', I.content, 'int', 'Contents of the manifest: 0=data, 1=deletes'),
    required('sequence_number', I.sequence_number, 'long', 'Sequence number when the manifest was added'),
    required('min_sequence_number', I.min_sequence_number, 'long', 'Lowest sequence number in the manifest'),
    required('added_snapshot_id', I.added_snapshot_id, 'long', 'Snapshot ID that added the manifest'),
    required('added_files_count', I.added_files_count, 'int', 'Added entry count'),
    required('existing_files_count', I.existing_files_count, 'int', 'Existing entry count'),
    required('deleted_files_count', I.deleted_files_count, 'int', 'Deleted entry count'),
    required('added_rows_count', I.added_rows_count, 'long', 'Added rows count'),
    required('existing_rows_count', I.existing_rows_count, 'long', 'Existing rows count'),
    required('deleted_rows_count', I.deleted_rows_count, 'long', 'Deleted rows count'),
    partitions,
    keyMetadata,
  ];
  if (version >= 3) fields.push(optional('first_row_id', I.first_row_id, 'long', 'Starting row ID to assign to new rows in ADDED data files'));
  return { type: 'record', name: 'manifest_file', fields };
}
