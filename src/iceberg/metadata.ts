/**
 * Table metadata in the spec's JSON shape (`format/spec.md` §Table Metadata Fields).
 *
 * In memory, every snapshot id and sequence number is a `bigint` (snapshot ids exceed 2^53);
 * {@link ../json.ts} reads and writes them losslessly. Parsing, validation and serialization live in
 * `table-metadata.ts`; this file only declares the shapes.
 */
import type { Schema } from './types.js';

/** One field of a partition spec. */
export interface PartitionField {
  'source-id': number;
  /** v3 multi-argument transforms; when present `source-id` is its first entry. */
  'source-ids'?: number[];
  'field-id': number;
  name: string;
  /** identity, bucket[N], truncate[W], year, month, day, hour, void */
  transform: string;
}

/** A partition spec. */
export interface PartitionSpec {
  'spec-id': number;
  fields: PartitionField[];
}

/** One field of a sort order. */
export interface SortField {
  transform: string;
  'source-id': number;
  'source-ids'?: number[];
  direction: 'asc' | 'desc';
  'null-order': 'nulls-first' | 'nulls-last';
}

/** A sort order (id 0 is the unsorted order). */
export interface SortOrder {
  'order-id': number;
  fields: SortField[];
}

/** Snapshot summary: `operation` plus string-valued keys (added-data-files, …, floe.checkpoint.*). */
export interface SnapshotSummary {
  operation: 'append' | 'replace' | 'overwrite' | 'delete';
  [key: string]: string;
}

/** A snapshot. */
export interface Snapshot {
  'snapshot-id': bigint;
  'parent-snapshot-id'?: bigint;
  /** Absent (0) in v1. */
  'sequence-number'?: bigint;
  'timestamp-ms': number;
  /** v2+: always present. v1 may instead carry `manifests`. */
  'manifest-list'?: string;
  /** v1 only: manifest paths listed directly in metadata. */
  manifests?: string[];
  summary: SnapshotSummary;
  'schema-id'?: number;
  /** v3 row lineage. */
  'first-row-id'?: bigint;
  'added-rows'?: bigint;
  /** v3 encryption: id of the key (in `encryption-keys`) that encrypts the manifest list. */
  'key-id'?: string;
}

/** A named reference to a snapshot: a branch or a tag. */
export interface SnapshotRef {
  'snapshot-id': bigint;
  type: 'branch' | 'tag';
  'min-snapshots-to-keep'?: number;
  'max-snapshot-age-ms'?: number;
  'max-ref-age-ms'?: number;
}

/** An entry of the snapshot log. */
export interface SnapshotLogEntry {
  'timestamp-ms': number;
  'snapshot-id': bigint;
}

/** An entry of the metadata log. */
export interface MetadataLogEntry {
  'timestamp-ms': number;
  'metadata-file': string;
}

/** A statistics file (Puffin) entry. */
export interface StatisticsFile {
  'snapshot-id': bigint;
  'statistics-path': string;
  'file-size-in-bytes': number;
  'file-footer-size-in-bytes': number;
  'key-metadata'?: string;
  'blob-metadata': {
    type: string;
    'snapshot-id': bigint;
    'sequence-number': bigint;
    fields: number[];
    properties?: Record<string, string>;
  }[];
}

/** A partition statistics file entry. */
export interface PartitionStatisticsFile {
  'snapshot-id': bigint;
  'statistics-path': string;
  'file-size-in-bytes': number;
}

/** v3 encryption: a wrapped key listed in `encryption-keys`. */
export interface EncryptedKey {
  'key-id': string;
  /** Base64 of the encrypted key metadata. */
  'encrypted-key-metadata': string;
  /** Id of the key that encrypted this one (a KMS master key or another entry). */
  'encrypted-by-id'?: string;
  properties?: Record<string, string>;
}

/**
 * Table metadata, normalized: whatever the format version on disk, a parsed value always has
 * `schemas`, `partition-specs`, `sort-orders`, `refs`, `snapshots`, the logs and `properties`
 * (v1 files' single `schema` / `partition-spec` are lifted into the lists).
 */
export interface TableMetadata {
  'format-version': 1 | 2 | 3;
  'table-uuid': string;
  location: string;
  'last-sequence-number': bigint;
  'last-updated-ms': number;
  'last-column-id': number;
  schemas: Schema[];
  'current-schema-id': number;
  'partition-specs': PartitionSpec[];
  'default-spec-id': number;
  'last-partition-id': number;
  properties: Record<string, string>;
  'current-snapshot-id'?: bigint;
  snapshots: Snapshot[];
  'snapshot-log': SnapshotLogEntry[];
  'metadata-log': MetadataLogEntry[];
  'sort-orders': SortOrder[];
  'default-sort-order-id': number;
  refs: Record<string, SnapshotRef>;
  statistics?: StatisticsFile[];
  'partition-statistics'?: PartitionStatisticsFile[];
  /** v3 row lineage. */
  'next-row-id'?: bigint;
  /** v3 encryption keys. */
  'encryption-keys'?: EncryptedKey[];
}
