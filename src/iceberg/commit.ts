/**
 * Commit requirements and updates, shaped exactly like the REST catalog's CommitTableRequest
 * (`open-api/rest-catalog-open-api.yaml`: TableRequirement, TableUpdate). Every catalog commits
 * through these, so the embedded catalog, REST and Glue share one commit model.
 */
import type {
  PartitionSpec,
  Snapshot,
  SnapshotRef,
  SortOrder,
  StatisticsFile,
  PartitionStatisticsFile,
} from './metadata.js';
import type { Schema } from './types.js';

/** A condition the table must satisfy for a commit to apply. */
export type TableRequirement =
  | { type: 'assert-create' }
  | { type: 'assert-table-uuid'; uuid: string }
  | { type: 'assert-ref-snapshot-id'; ref: string; 'snapshot-id': bigint | null }
  | { type: 'assert-last-assigned-field-id'; 'last-assigned-field-id': number }
  | { type: 'assert-current-schema-id'; 'current-schema-id': number }
  | { type: 'assert-last-assigned-partition-id'; 'last-assigned-partition-id': number }
  | { type: 'assert-default-spec-id'; 'default-spec-id': number }
  | { type: 'assert-default-sort-order-id'; 'default-sort-order-id': number };

/** A change to table metadata. */
export type TableUpdate =
  | { action: 'assign-uuid'; uuid: string }
  | { action: 'upgrade-format-version'; 'format-version': number }
  /** `last-column-id` is deprecated in the REST spec; computed when absent. */
  | { action: 'add-schema'; schema: Schema; 'last-column-id'?: number }
  /** -1 means the schema added last in this commit. */
  | { action: 'set-current-schema'; 'schema-id': number }
  | { action: 'add-spec'; spec: PartitionSpec }
  /** -1 means the spec added last in this commit. */
  | { action: 'set-default-spec'; 'spec-id': number }
  | { action: 'add-sort-order'; 'sort-order': SortOrder }
  /** -1 means the sort order added last in this commit. */
  | { action: 'set-default-sort-order'; 'sort-order-id': number }
  | { action: 'add-snapshot'; snapshot: Snapshot }
  | ({ action: 'set-snapshot-ref'; 'ref-name': string } & SnapshotRef)
  | { action: 'remove-snapshots'; 'snapshot-ids': bigint[] }
  | { action: 'remove-snapshot-ref'; 'ref-name': string }
  | { action: 'set-location'; location: string }
  | { action: 'set-properties'; updates: Record<string, string> }
  | { action: 'remove-properties'; removals: string[] }
  | { action: 'set-statistics'; 'snapshot-id'?: bigint; statistics: StatisticsFile }
  | { action: 'remove-statistics'; 'snapshot-id': bigint }
  | { action: 'set-partition-statistics'; 'partition-statistics': PartitionStatisticsFile }
  | { action: 'remove-partition-statistics'; 'snapshot-id': bigint };

/** A REST CommitTableRequest body (identifier optional for the per-table endpoint). */
export interface CommitTableRequest {
  identifier?: { namespace: string[]; name: string };
  requirements: TableRequirement[];
  updates: TableUpdate[];
}
