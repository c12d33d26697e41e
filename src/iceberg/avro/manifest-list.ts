/**
 * Manifest lists (spec §Manifest Lists): one Avro file per snapshot listing its manifests with
 * per-manifest counts and partition summaries.
 *
 * Reading resolves fields by field id: old Java writers name 504–506 `added_data_files_count`…,
 * v1 lists have no `content` or sequence numbers (read as data and 0), and v1 counts may be null.
 *
 * Writing assigns the commit's sequence number to manifests written for this snapshot. Those
 * carry the sentinel {@link UNASSIGNED_SEQUENCE_NUMBER} (-1) in `sequence_number` and/or
 * `min_sequence_number` until the list is written — the sequence number is only known at commit
 * time, and a retried commit rewrites only the list, never the manifests.
 */
import { ValidationError } from '../../errors.js';
import type { FieldSummary, ManifestFile } from '../manifest-types.js';
import { readAvroFile, writeAvroFile, type AvroCodec } from './container.js';
import { RecordView } from './record-view.js';
import { LIST_IDS, manifestFileSchema, type ManifestFormatVersion } from './schemas.js';
import { toBuffer } from './values.js';

/**
 * Sentinel sequence number of a manifest written in the snapshot being committed: the
 * manifest-list writer replaces it with the commit's sequence number (Iceberg Java uses -1 too).
 */
export const UNASSIGNED_SEQUENCE_NUMBER = -1n;

/**
 * Decodes a manifest list.
 * @param what names the file in error messages (e.g. its location)
 */
export function readManifestList(bytes: Uint8Array, what = 'manifest list'): ManifestFile[] {
  const file = readAvroFile(bytes, what);
  return file.records.map((rec, i) => readManifestFile(RecordView.of(file.schema.node, rec, `${what}: manifest ${i}`)));
}

function readManifestFile(r: RecordView): ManifestFile {
  const I = LIST_IDS;
  const content = r.optNumber(I.content, 'content') ?? 0;
  if (content !== 0 && content !== 1) r.fail(I.content, 'content', `must be 0 or 1, got ${content}`);
  const m: ManifestFile = {
    manifest_path: r.string(I.manifest_path, 'manifest_path'),
    manifest_length: r.number(I.manifest_length, 'manifest_length'),
    partition_spec_id: r.number(I.partition_spec_id, 'partition_spec_id'),
    content,
    // Spec: "use 0 when reading v1 manifest lists".
    sequence_number: r.optBigint(I.sequence_number, 'sequence_number') ?? 0n,
    min_sequence_number: r.optBigint(I.min_sequence_number, 'min_sequence_number') ?? 0n,
    added_snapshot_id: r.bigint(I.added_snapshot_id, 'added_snapshot_id'),
    added_files_count: r.optNumber(I.added_files_count, 'added_files_count'),
    existing_files_count: r.optNumber(I.existing_files_count, 'existing_files_count'),
    deleted_files_count: r.optNumber(I.deleted_files_count, 'deleted_files_count'),
    added_rows_count: r.optNumber(I.added_rows_count, 'added_rows_count'),
    existing_rows_count: r.optNumber(I.existing_rows_count, 'existing_rows_count'),
    deleted_rows_count: r.optNumber(I.deleted_rows_count, 'deleted_rows_count'),
  };
  const parts = r.optArray(I.partitions, 'partitions');
  if (parts !== null) {
    m.partitions = parts.values.map((v, k) => {
      const s = RecordView.of(parts.items, v, `${r.what}: partitions[${k}]`);
      const fs: FieldSummary = { contains_null: s.boolean(I.contains_null, 'contains_null') };
      const nan = s.optBoolean(I.contains_nan, 'contains_nan');
      if (nan !== null) fs.contains_nan = nan;
      const lower = s.optBytes(I.lower_bound, 'lower_bound');
      if (lower !== null) fs.lower_bound = lower;
      const upper = s.optBytes(I.upper_bound, 'upper_bound');
      if (upper !== null) fs.upper_bound = upper;
      return fs;
    });
  }
  const key = r.optBytes(I.key_metadata, 'key_metadata');
  if (key !== null) m.key_metadata = key;
  const firstRowId = r.optBigint(I.first_row_id, 'first_row_id');
  if (firstRowId !== null) m.first_row_id = firstRowId;
  return m;
}

/**
 * Assigns `first_row_id` to data manifests that have none (v3, spec §First Row ID Assignment),
 * in list order starting at the snapshot's `first-row-id`; each assignment advances by the
 * manifest's added + existing rows. Delete manifests never get one. Returns new objects and the
 * table's next row id (`nextRowId - firstRowId` is the snapshot's `added-rows`).
 */
export function assignFirstRowIds(
  manifests: readonly ManifestFile[],
  firstRowId: bigint,
): { manifests: ManifestFile[]; nextRowId: bigint } {
  let next = firstRowId;
  const out = manifests.map((m, i) => {
    if (m.content !== 0 || (m.first_row_id !== undefined && m.first_row_id !== null)) return m;
    if (m.added_rows_count === null || m.existing_rows_count === null) {
      throw new ValidationError(`avro: manifest list: manifest ${i} (${m.manifest_path}) needs row counts to assign first_row_id`);
    }
    const assigned = { ...m, first_row_id: next };
    next += BigInt(m.added_rows_count) + BigInt(m.existing_rows_count);
    return assigned;
  });
  return { manifests: out, nextRowId: next };
}

/** Options for {@link writeManifestList}. */
export interface WriteManifestListOptions {
  formatVersion: ManifestFormatVersion;
  /** The snapshot this list belongs to. */
  snapshotId: bigint;
  /** Its parent; written as the string "null" when there is none (as Iceberg Java does). */
  parentSnapshotId?: bigint | null;
  /** The commit's sequence number (v2+; ignored in v1). */
  sequenceNumber?: bigint;
  /** v3: the snapshot's `first-row-id`, needed when a data manifest has no `first_row_id`. */
  firstRowId?: bigint;
  manifests: readonly ManifestFile[];
  /** Avro codec; default deflate. */
  codec?: AvroCodec;
  /** Fixed 16-byte sync marker (reproducible output in tests); random by default. */
  sync?: Uint8Array;
  /** Names the file in error messages. */
  what?: string;
}

/**
 * Encodes a manifest list with metadata `snapshot-id`, `parent-snapshot-id`, `sequence-number`
 * (v2+), `first-row-id` (v3) and `format-version`. In v2+, manifests whose `sequence_number` or
 * `min_sequence_number` is {@link UNASSIGNED_SEQUENCE_NUMBER} get `sequenceNumber`; only
 * manifests added by this snapshot may be unassigned.
 */
export function writeManifestList(opts: WriteManifestListOptions): Uint8Array {
  const what = opts.what ?? 'manifest list';
  const v = opts.formatVersion;
  if (v !== 1 && v !== 2 && v !== 3) throw new ValidationError(`avro: ${what}: unsupported format version ${String(v)}`);
  if (v >= 2 && (opts.sequenceNumber === undefined || opts.sequenceNumber < 0n)) {
    throw new ValidationError(`avro: ${what}: format v${v} needs the commit's sequenceNumber`);
  }
  let manifests = opts.manifests;
  if (v >= 3 && opts.firstRowId !== undefined) manifests = assignFirstRowIds(manifests, opts.firstRowId).manifests;

  const records = manifests.map((m, i) => {
    const at = `${what}: manifest ${i} (${m.manifest_path})`;
    const fail = (msg: string): never => {
      throw new ValidationError(`avro: ${at}: ${msg}`);
    };
    const counts = [
      m.added_files_count,
      m.existing_files_count,
      m.deleted_files_count,
      m.added_rows_count,
      m.existing_rows_count,
      m.deleted_rows_count,
    ];
    if (v >= 2 && counts.some((c) => c === null || c === undefined)) fail(`format v${v} requires all file and row counts`);
    const long = (n: number | null): bigint | null => {
      if (n === null || n === undefined) return null;
      if (!Number.isSafeInteger(n)) fail(`count ${String(n)} is not an integer`);
      return BigInt(n);
    };
    const partitions =
      m.partitions == null
        ? null
        : m.partitions.map((s) => ({
            contains_null: s.contains_null,
            contains_nan: s.contains_nan ?? null,
            lower_bound: s.lower_bound == null ? null : toBuffer(s.lower_bound),
            upper_bound: s.upper_bound == null ? null : toBuffer(s.upper_bound),
          }));
    const keyMetadata = m.key_metadata == null ? null : toBuffer(m.key_metadata);

    if (v === 1) {
      if (m.content !== 0) fail('format v1 has no delete manifests');
      return {
        manifest_path: m.manifest_path,
        manifest_length: BigInt(m.manifest_length),
        partition_spec_id: m.partition_spec_id,
        added_snapshot_id: m.added_snapshot_id,
        added_data_files_count: m.added_files_count,
        existing_data_files_count: m.existing_files_count,
        deleted_data_files_count: m.deleted_files_count,
        partitions,
        added_rows_count: long(m.added_rows_count),
        existing_rows_count: long(m.existing_rows_count),
        deleted_rows_count: long(m.deleted_rows_count),
        key_metadata: keyMetadata,
      };
    }

    const commitSeq = opts.sequenceNumber!;
    let seq = m.sequence_number;
    if (seq === UNASSIGNED_SEQUENCE_NUMBER) {
      // Only this snapshot's own manifests may still be waiting for a sequence number.
      if (m.added_snapshot_id !== opts.snapshotId) {
        fail(`unassigned sequence number on a manifest added by snapshot ${m.added_snapshot_id}, not ${opts.snapshotId}`);
      }
      seq = commitSeq;
    }
    const minSeq = m.min_sequence_number === UNASSIGNED_SEQUENCE_NUMBER ? commitSeq : m.min_sequence_number;
    if (seq < 0n || minSeq < 0n) fail(`invalid sequence numbers ${seq} / ${minSeq}`);
    const rec: Record<string, unknown> = {
      manifest_path: m.manifest_path,
      manifest_length: BigInt(m.manifest_length),
      partition_spec_id: m.partition_spec_id,
      content: m.content,
      sequence_number: seq,
      min_sequence_number: minSeq,
      added_snapshot_id: m.added_snapshot_id,
      added_files_count: m.added_files_count,
      existing_files_count: m.existing_files_count,
      deleted_files_count: m.deleted_files_count,
      added_rows_count: long(m.added_rows_count),
      existing_rows_count: long(m.existing_rows_count),
      deleted_rows_count: long(m.deleted_rows_count),
      partitions,
      key_metadata: keyMetadata,
    };
    if (v >= 3) {
      if (m.content === 0 && m.first_row_id == null && opts.firstRowId === undefined) {
        // Spec: after upgrading to v3 every data manifest must be assigned a first_row_id.
        fail('format v3 data manifests need a first_row_id (pass firstRowId)');
      }
      rec.first_row_id = m.content === 0 ? (m.first_row_id ?? null) : null;
    }
    return rec;
  });

  const metadata: [string, string][] = [
    ['snapshot-id', opts.snapshotId.toString()],
    ['parent-snapshot-id', opts.parentSnapshotId == null ? 'null' : opts.parentSnapshotId.toString()],
  ];
  if (v >= 2) metadata.push(['sequence-number', opts.sequenceNumber!.toString()]);
  if (v >= 3 && opts.firstRowId !== undefined) metadata.push(['first-row-id', opts.firstRowId.toString()]);
  metadata.push(['format-version', String(v)]);
  return writeAvroFile({
    schema: manifestFileSchema(v),
    metadata,
    records,
    ...(opts.codec !== undefined ? { codec: opts.codec } : {}),
    ...(opts.sync !== undefined ? { sync: opts.sync } : {}),
    what,
  });
}
