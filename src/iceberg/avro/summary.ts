/**
 * The manifest-list entry (`manifest_file`) describing a manifest: entry and row counts by status,
 * the minimum data sequence number of its live entries, and one partition field summary per
 * partition field (spec §Manifest Lists, `field_summary`).
 *
 * Sequence numbers of entries written in the current commit are not known yet, so a summary of
 * such a manifest carries {@link UNASSIGNED_SEQUENCE_NUMBER}; `writeManifestList` fills in the
 * commit's sequence number.
 */
import { ValidationError } from '../../errors.js';
import { compareValues, toBinary } from '../conversions.js';
import type { FieldSummary, ManifestEntry, ManifestFile } from '../manifest-types.js';
import type { PartitionSpec } from '../metadata.js';
import type { IcebergValue, PrimitiveType, StructType } from '../types.js';
import { writeManifest, type WriteManifestOptions } from './manifest.js';
import { UNASSIGNED_SEQUENCE_NUMBER } from './manifest-list.js';

/** Options for {@link summarizeManifest}. */
export interface SummarizeManifestOptions {
  spec: PartitionSpec;
  partitionType: StructType;
  content: 'data' | 'deletes';
  entries: readonly ManifestEntry[];
  /** The snapshot that adds the manifest (`added_snapshot_id`). */
  snapshotId: bigint;
  /** Where the manifest is (or will be) stored. */
  path: string;
  /** The manifest file's size in bytes. */
  length: number;
}

/**
 * Computes the manifest-list entry for a manifest's entries.
 * `sequence_number` is always {@link UNASSIGNED_SEQUENCE_NUMBER}; `min_sequence_number` is the
 * smallest explicit data sequence number among live (ADDED/EXISTING) entries, or unassigned when
 * none has one (they will inherit the commit's).
 */
export function summarizeManifest(opts: SummarizeManifestOptions): ManifestFile {
  let added = 0;
  let existing = 0;
  let deleted = 0;
  let addedRows = 0;
  let existingRows = 0;
  let deletedRows = 0;
  let minSeq: bigint | null = null;
  for (const e of opts.entries) {
    const rows = e.data_file.record_count;
    if (e.status === 1) {
      added++;
      addedRows += rows;
    } else if (e.status === 0) {
      existing++;
      existingRows += rows;
    } else {
      deleted++;
      deletedRows += rows;
    }
    if (e.status !== 2 && e.sequence_number !== null && (minSeq === null || e.sequence_number < minSeq)) {
      minSeq = e.sequence_number;
    }
  }
  return {
    manifest_path: opts.path,
    manifest_length: opts.length,
    partition_spec_id: opts.spec['spec-id'],
    content: opts.content === 'data' ? 0 : 1,
    sequence_number: UNASSIGNED_SEQUENCE_NUMBER,
    min_sequence_number: minSeq ?? UNASSIGNED_SEQUENCE_NUMBER,
    added_snapshot_id: opts.snapshotId,
    added_files_count: added,
    existing_files_count: existing,
    deleted_files_count: deleted,
    added_rows_count: addedRows,
    existing_rows_count: existingRows,
    deleted_rows_count: deletedRows,
    partitions: partitionSummaries(opts.partitionType, opts.entries),
  };
}

/**
 * One summary per partition field over all entries (deleted ones included, as Iceberg Java does:
 * the bounds stay conservative): whether any value is null or NaN, and the lower/upper bounds of
 * the other values in the binary single-value serialization of the field's result type.
 */
export function partitionSummaries(partitionType: StructType, entries: readonly ManifestEntry[]): FieldSummary[] {
  return partitionType.fields.map((field, k) => {
    if (typeof field.type !== 'string') {
      throw new ValidationError(`avro: partition field ${field.id} (${field.name}) must have a primitive type`);
    }
    const type = field.type as PrimitiveType;
    let containsNull = false;
    let containsNaN = false;
    let lower: IcebergValue = null;
    let upper: IcebergValue = null;
    for (const e of entries) {
      const v = e.data_file.partition[k] ?? null;
      if (v === null) {
        containsNull = true;
      } else if (typeof v === 'number' && Number.isNaN(v)) {
        containsNaN = true;
      } else {
        if (lower === null || compareValues(type, v, lower) < 0) lower = v;
        if (upper === null || compareValues(type, v, upper) > 0) upper = v;
      }
    }
    const s: FieldSummary = { contains_null: containsNull, contains_nan: containsNaN };
    if (lower !== null) s.lower_bound = toBinary(type, lower);
    if (upper !== null) s.upper_bound = toBinary(type, upper);
    return s;
  });
}

/**
 * Writes a manifest and computes its manifest-list entry in one step.
 * `snapshotId` is required: it is the manifest's `added_snapshot_id`.
 */
export function encodeManifest(opts: WriteManifestOptions & { path: string }): { bytes: Uint8Array; manifest: ManifestFile } {
  if (opts.snapshotId === undefined) {
    throw new ValidationError(`avro: ${opts.what ?? opts.path}: encodeManifest needs the snapshotId adding the manifest`);
  }
  const bytes = writeManifest({ ...opts, what: opts.what ?? opts.path });
  const manifest = summarizeManifest({
    spec: opts.spec,
    partitionType: opts.partitionType,
    content: opts.content,
    entries: opts.entries,
    snapshotId: opts.snapshotId,
    path: opts.path,
    length: bytes.length,
  });
  return { bytes, manifest };
}
