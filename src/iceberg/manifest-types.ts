/**
 * In-memory shapes of manifests and manifest lists (`format/spec.md` §Manifests, §Manifest Lists).
 * Keys are the spec's Avro field names. Ids and sequence numbers are `bigint`; counts and sizes are
 * `number` (always below 2^53 in practice). Encoding/decoding (resolved by field id, never by name,
 * because writers differ in names) lives in `manifest.ts` / `manifest-list.ts`.
 */
import type { IcebergValue } from './types.js';

/** data_file.content */
export const enum FileContent {
  DATA = 0,
  POSITION_DELETES = 1,
  EQUALITY_DELETES = 2,
}

/** manifest_entry.status */
export const enum EntryStatus {
  EXISTING = 0,
  ADDED = 1,
  DELETED = 2,
}

/** manifest_file.content */
export const enum ManifestContent {
  DATA = 0,
  DELETES = 1,
}

/** A data or delete file as listed in a manifest (`data_file` struct, field ids 100–145). */
export interface DataFile {
  content: FileContent;
  file_path: string;
  /** 'PARQUET' | 'AVRO' | 'ORC' | 'PUFFIN' (upper case, as Java writes it). */
  file_format: string;
  /** Partition tuple, one value per field of the file's partition spec, in spec order. */
  partition: IcebergValue[];
  record_count: number;
  file_size_in_bytes: number;
  /** Keyed by field id. */
  column_sizes?: Map<number, number>;
  value_counts?: Map<number, number>;
  null_value_counts?: Map<number, number>;
  nan_value_counts?: Map<number, number>;
  /** Binary single-value serialization (Appendix D), keyed by field id. */
  lower_bounds?: Map<number, Uint8Array>;
  upper_bounds?: Map<number, Uint8Array>;
  key_metadata?: Uint8Array | null;
  split_offsets?: number[] | null;
  equality_ids?: number[] | null;
  sort_order_id?: number | null;
  first_row_id?: bigint | null;
  referenced_data_file?: string | null;
  content_offset?: number | null;
  content_size_in_bytes?: number | null;
}

/**
 * Whether a delete file is a deletion vector (v3): a position delete stored in a Puffin file
 * (Iceberg Java's rule).
 */
export function isDeletionVector(file: DataFile): boolean {
  return file.content === FileContent.POSITION_DELETES && file.file_format.toUpperCase() === 'PUFFIN';
}

/** A deletion vector's identity: its Puffin file and blob offset (several vectors share a file). */
export function deletionVectorKey(file: DataFile): string {
  return `${file.file_path}@${file.content_offset ?? ''}`;
}

/** A manifest entry. `sequence_number`/`file_sequence_number` are null when inherited. */
export interface ManifestEntry {
  status: EntryStatus;
  snapshot_id: bigint | null;
  sequence_number: bigint | null;
  file_sequence_number: bigint | null;
  data_file: DataFile;
}

/** Partition field summary in a manifest list entry. */
export interface FieldSummary {
  contains_null: boolean;
  contains_nan?: boolean | null;
  lower_bound?: Uint8Array | null;
  upper_bound?: Uint8Array | null;
}

/** A manifest list entry (`manifest_file`, field ids 500–520). */
export interface ManifestFile {
  manifest_path: string;
  manifest_length: number;
  partition_spec_id: number;
  content: ManifestContent;
  /** 0 for v1 manifests. */
  sequence_number: bigint;
  min_sequence_number: bigint;
  added_snapshot_id: bigint;
  added_files_count: number | null;
  existing_files_count: number | null;
  deleted_files_count: number | null;
  added_rows_count: number | null;
  existing_rows_count: number | null;
  deleted_rows_count: number | null;
  partitions?: FieldSummary[] | null;
  key_metadata?: Uint8Array | null;
  first_row_id?: bigint | null;
}

/**
 * The manifest-list entry standing for one path of a v1 snapshot's inline `manifests` (v1
 * snapshots may list manifests instead of naming a manifest list): counts and partition summaries
 * unknown, sequence numbers 0 (v1 has none). What a reader learns from the manifest itself
 * (length, spec id, content) can be given.
 */
export function inlineManifestFile(
  path: string,
  snapshotId: bigint,
  known: { length?: number; specId?: number; content?: ManifestContent } = {},
): ManifestFile {
  return {
    manifest_path: path,
    manifest_length: known.length ?? 0,
    partition_spec_id: known.specId ?? 0,
    content: known.content ?? ManifestContent.DATA,
    sequence_number: 0n,
    min_sequence_number: 0n,
    added_snapshot_id: snapshotId,
    added_files_count: null,
    existing_files_count: null,
    deleted_files_count: null,
    added_rows_count: null,
    existing_rows_count: null,
    deleted_rows_count: null,
    partitions: null,
  };
}
