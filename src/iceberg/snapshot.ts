/**
 * Snapshots: lookup by id, ref and time (time travel), ancestry, new snapshot ids, and the standard
 * snapshot summary (`format/spec.md` §Snapshot Summary; Java's `SnapshotSummary`).
 */
import { randomBytes } from 'node:crypto';
import { ValidationError } from '../errors.js';
import { FileContent, isDeletionVector, type DataFile } from './manifest-types.js';
import type { Snapshot, SnapshotSummary, TableMetadata } from './metadata.js';

// ---------------------------------------------------------------------------------------------
// Lookup
// ---------------------------------------------------------------------------------------------

/** The snapshot with this id, or undefined. */
export function findSnapshot(md: TableMetadata, id: bigint): Snapshot | undefined {
  return md.snapshots.find((s) => s['snapshot-id'] === id);
}

/**
 * The snapshot with this id.
 * @throws ValidationError `metadata: snapshot N not found`
 */
export function snapshotById(md: TableMetadata, id: bigint): Snapshot {
  const s = findSnapshot(md, id);
  if (!s) throw new ValidationError(`metadata: snapshot ${id} not found`);
  return s;
}

/** The table's current snapshot (main's head), or undefined for a table with no snapshot yet. */
export function currentSnapshot(md: TableMetadata): Snapshot | undefined {
  const id = md['current-snapshot-id'];
  return id === undefined ? undefined : snapshotById(md, id);
}

/**
 * The snapshot a branch or tag points to, or undefined when there is no such ref (including
 * `main` of a table without snapshots).
 */
export function snapshotForRef(md: TableMetadata, name: string): Snapshot | undefined {
  const ref = md.refs[name];
  return ref === undefined ? undefined : snapshotById(md, ref['snapshot-id']);
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : `${d.toISOString()} (${ms})`;
}

/**
 * Time travel: the snapshot that was current at `timestampMs`, i.e. the latest snapshot-log entry
 * at or before it (Java's `SnapshotUtil.snapshotIdAsOfTime`). When the table has no snapshot log
 * (some writers omit it), main's ancestry and the snapshots' own timestamps stand in for it.
 * @throws ValidationError when the time is before the table's first snapshot
 */
export function snapshotAsOf(md: TableMetadata, timestampMs: number): Snapshot {
  const log = md['snapshot-log'];
  let id: bigint | undefined;
  let first: number | undefined;
  if (log.length > 0) {
    first = log[0]?.['timestamp-ms'];
    for (const e of log) if (e['timestamp-ms'] <= timestampMs) id = e['snapshot-id'];
  } else if (md['current-snapshot-id'] !== undefined) {
    for (const s of ancestors(md, md['current-snapshot-id'])) {
      first = s['timestamp-ms'];
      if (id === undefined && s['timestamp-ms'] <= timestampMs) id = s['snapshot-id'];
    }
  }
  if (id === undefined) {
    throw new ValidationError(
      first === undefined
        ? `metadata: cannot time travel to ${iso(timestampMs)}: the table has no snapshots`
        : `metadata: cannot time travel to ${iso(timestampMs)}: it is before the oldest snapshot, at ${iso(first)}`,
    );
  }
  return snapshotById(md, id);
}

/**
 * Iterates from `snapshotId` (included) back through its parents, stopping at the first parent
 * no longer in the metadata (expired) or at the root.
 * @throws ValidationError when `snapshotId` itself is not in the metadata
 */
export function* ancestors(md: TableMetadata, snapshotId: bigint): Generator<Snapshot, void, undefined> {
  const byId = new Map(md.snapshots.map((s) => [s['snapshot-id'], s] as const));
  let s = byId.get(snapshotId);
  if (!s) throw new ValidationError(`metadata: snapshot ${snapshotId} not found`);
  const seen = new Set<bigint>();
  while (s && !seen.has(s['snapshot-id'])) {
    // `seen` guards against a (corrupt) parent cycle turning this into an endless loop.
    seen.add(s['snapshot-id']);
    yield s;
    const parent: bigint | undefined = s['parent-snapshot-id'];
    s = parent === undefined ? undefined : byId.get(parent);
  }
}

/** True when `ancestorId` is `snapshotId` or one of its ancestors still in the metadata. */
export function isAncestorOf(md: TableMetadata, snapshotId: bigint, ancestorId: bigint): boolean {
  for (const s of ancestors(md, snapshotId)) if (s['snapshot-id'] === ancestorId) return true;
  return false;
}

/**
 * A new random snapshot id: a positive 63-bit integer (Java's are positive longs from a random
 * UUID). Random rather than sequential so that concurrent writers never pick the same id.
 */
export function newSnapshotId(): bigint {
  for (;;) {
    const id = randomBytes(8).readBigUInt64BE() & 0x7fff_ffff_ffff_ffffn;
    if (id !== 0n) return id;
  }
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

/** What a snapshot changed, counted over the files it added and removed. Absent counts are 0. */
export interface SnapshotChanges {
  addedDataFiles?: number;
  deletedDataFiles?: number;
  addedRecords?: number | bigint;
  deletedRecords?: number | bigint;
  addedFilesSize?: number | bigint;
  removedFilesSize?: number | bigint;
  /** All delete files (position, equality, deletion vectors). */
  addedDeleteFiles?: number;
  removedDeleteFiles?: number;
  addedPositionDeleteFiles?: number;
  removedPositionDeleteFiles?: number;
  addedEqualityDeleteFiles?: number;
  removedEqualityDeleteFiles?: number;
  /** Deletion vectors (v3), also counted in the delete-file and position-delete counts. */
  addedDVs?: number;
  removedDVs?: number;
  /** Deleted positions (rows) in added / removed position-delete files and DVs. */
  addedPositionDeletes?: number | bigint;
  removedPositionDeletes?: number | bigint;
  /** Rows in added / removed equality-delete files. */
  addedEqualityDeletes?: number | bigint;
  removedEqualityDeletes?: number | bigint;
  /** Distinct partitions touched; written even when 0. Omitted from the summary when undefined. */
  changedPartitionCount?: number;
}

/** Summary keys of the per-snapshot counts, in the order Java writes them. */
const CHANGE_KEYS: readonly [keyof SnapshotChanges, string][] = [
  ['addedDataFiles', 'added-data-files'],
  ['deletedDataFiles', 'deleted-data-files'],
  ['addedEqualityDeleteFiles', 'added-equality-delete-files'],
  ['removedEqualityDeleteFiles', 'removed-equality-delete-files'],
  ['addedPositionDeleteFiles', 'added-position-delete-files'],
  ['removedPositionDeleteFiles', 'removed-position-delete-files'],
  ['addedDVs', 'added-dvs'],
  ['removedDVs', 'removed-dvs'],
  ['addedDeleteFiles', 'added-delete-files'],
  ['removedDeleteFiles', 'removed-delete-files'],
  ['addedRecords', 'added-records'],
  ['deletedRecords', 'deleted-records'],
  ['addedFilesSize', 'added-files-size'],
  ['removedFilesSize', 'removed-files-size'],
  ['addedPositionDeletes', 'added-position-deletes'],
  ['removedPositionDeletes', 'removed-position-deletes'],
  ['addedEqualityDeletes', 'added-equality-deletes'],
  ['removedEqualityDeletes', 'removed-equality-deletes'],
];

/** Running totals and the per-snapshot keys that move them: [total, added, removed]. */
const TOTALS: readonly [string, string, string][] = [
  ['total-records', 'added-records', 'deleted-records'],
  ['total-files-size', 'added-files-size', 'removed-files-size'],
  ['total-data-files', 'added-data-files', 'deleted-data-files'],
  ['total-delete-files', 'added-delete-files', 'removed-delete-files'],
  ['total-position-deletes', 'added-position-deletes', 'removed-position-deletes'],
  ['total-equality-deletes', 'added-equality-deletes', 'removed-equality-deletes'],
];

const STANDARD_KEYS: ReadonlySet<string> = new Set([
  'operation',
  'changed-partition-count',
  ...CHANGE_KEYS.map(([, k]) => k),
  ...TOTALS.map(([k]) => k),
]);

function toCount(v: number | bigint, name: string): bigint {
  const b = typeof v === 'bigint' ? v : Number.isSafeInteger(v) ? BigInt(v) : undefined;
  if (b === undefined || b < 0n) throw new ValidationError(`metadata: snapshot summary: ${name} must be a non-negative integer, got ${String(v)}`);
  return b;
}

function parseCount(s: string | undefined): bigint | undefined {
  return s !== undefined && /^\d+$/.test(s) ? BigInt(s) : undefined;
}

/**
 * Builds a snapshot summary: `operation`, the caller's own keys (`extra`, e.g. checkpoint
 * positions), the non-zero per-snapshot counts, `changed-partition-count`, and the running totals
 * carried forward from the parent's summary, exactly as Java's `SnapshotProducer` does:
 * `total = parent total + added - removed`.
 *
 * @param parent the parent snapshot's summary; `undefined` for a table's first snapshot (totals
 *   start from 0). A total the parent lacks (or cannot be parsed, or would go negative) is omitted,
 *   because it is unknown rather than 0.
 * @param extra more summary keys; they cannot override `operation` or the standard counts
 */
export function mergeSummary(
  operation: SnapshotSummary['operation'],
  changes: SnapshotChanges,
  parent: Readonly<Record<string, string>> | undefined,
  extra: Readonly<Record<string, string>> = {},
): SnapshotSummary {
  const out: SnapshotSummary = { operation };
  for (const [k, v] of Object.entries(extra)) if (!STANDARD_KEYS.has(k)) out[k] = v;
  const counts = new Map<string, bigint>();
  for (const [field, key] of CHANGE_KEYS) {
    const v = changes[field];
    if (v === undefined) continue;
    const n = toCount(v, field);
    counts.set(key, n);
    if (n > 0n) out[key] = n.toString();
  }
  if (changes.changedPartitionCount !== undefined) {
    out['changed-partition-count'] = toCount(changes.changedPartitionCount, 'changedPartitionCount').toString();
  }
  for (const [total, added, removed] of TOTALS) {
    const prev = parent === undefined ? 0n : parseCount(parent[total]);
    if (prev === undefined) continue;
    const next = prev + (counts.get(added) ?? 0n) - (counts.get(removed) ?? 0n);
    if (next >= 0n) out[total] = next.toString();
  }
  return out;
}

/** Bytes a file contributes: a DV counts only its blob, not the whole (shared) Puffin file. */
function contentSize(f: DataFile): bigint {
  return BigInt(isDeletionVector(f) && f.content_size_in_bytes != null ? f.content_size_in_bytes : f.file_size_in_bytes);
}

function partitionKey(f: DataFile): string {
  return JSON.stringify(f.partition, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString('hex')}`;
    if (v instanceof Map) return [...v.entries()];
    return v;
  });
}

/**
 * Counts the changes of a snapshot from the files it adds and removes (data and delete files
 * alike), for {@link mergeSummary}. `changedPartitionCount` counts distinct partition tuples; files
 * of different specs with equal tuples count once.
 */
export function summarizeFiles(added: readonly DataFile[], removed: readonly DataFile[]): SnapshotChanges {
  const c = {
    addedDataFiles: 0,
    deletedDataFiles: 0,
    addedRecords: 0n,
    deletedRecords: 0n,
    addedFilesSize: 0n,
    removedFilesSize: 0n,
    addedDeleteFiles: 0,
    removedDeleteFiles: 0,
    addedPositionDeleteFiles: 0,
    removedPositionDeleteFiles: 0,
    addedEqualityDeleteFiles: 0,
    removedEqualityDeleteFiles: 0,
    addedDVs: 0,
    removedDVs: 0,
    addedPositionDeletes: 0n,
    removedPositionDeletes: 0n,
    addedEqualityDeletes: 0n,
    removedEqualityDeletes: 0n,
    changedPartitionCount: 0,
  } satisfies Required<SnapshotChanges>;
  const partitions = new Set<string>();
  for (const f of added) {
    partitions.add(partitionKey(f));
    const rows = BigInt(f.record_count);
    c.addedFilesSize += contentSize(f);
    if (f.content === FileContent.DATA) {
      c.addedDataFiles++;
      c.addedRecords += rows;
    } else if (f.content === FileContent.POSITION_DELETES) {
      c.addedDeleteFiles++;
      if (isDeletionVector(f)) c.addedDVs++;
      else c.addedPositionDeleteFiles++;
      c.addedPositionDeletes += rows;
    } else {
      c.addedDeleteFiles++;
      c.addedEqualityDeleteFiles++;
      c.addedEqualityDeletes += rows;
    }
  }
  for (const f of removed) {
    partitions.add(partitionKey(f));
    const rows = BigInt(f.record_count);
    c.removedFilesSize += contentSize(f);
    if (f.content === FileContent.DATA) {
      c.deletedDataFiles++;
      c.deletedRecords += rows;
    } else if (f.content === FileContent.POSITION_DELETES) {
      c.removedDeleteFiles++;
      if (isDeletionVector(f)) c.removedDVs++;
      else c.removedPositionDeleteFiles++;
      c.removedPositionDeletes += rows;
    } else {
      c.removedDeleteFiles++;
      c.removedEqualityDeleteFiles++;
      c.removedEqualityDeletes += rows;
    }
  }
  c.changedPartitionCount = partitions.size;
  return c;
}
