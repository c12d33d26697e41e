/**
 * Snapshot expiry: removes old snapshots from the table metadata (one `remove-snapshots` commit)
 * and then deletes the files only they needed: manifest lists, manifests, data and delete files,
 * statistics files. Iceberg Java's rules (`ExpireSnapshots`):
 *
 * - each branch keeps its head and its ancestors that are among its newest `min-snapshots-to-keep`
 *   or younger than its `max-snapshot-age-ms` (the branch's own ref properties, else the options,
 *   else the table properties `history.expire.min-snapshots-to-keep` (default 1) and
 *   `history.expire.max-snapshot-age-ms` (default 5 days)); the walk stops at the first ancestor
 *   that is neither;
 * - each tag keeps its snapshot; refs other than `main` older than their `max-ref-age-ms` (or the
 *   table's `history.expire.max-ref-age-ms`) are removed first;
 * - snapshots on no branch's history and not tagged are kept only while younger than the age limit;
 * - the current snapshot is never removed.
 *
 * Files are deleted only after the commit, and only those that no remaining snapshot lists as live:
 * a crash in between leaves orphans, never a dangling reference. Deletion is best effort (failures
 * are counted; orphan removal sweeps what is left).
 *
 * Also deleted (unless disabled): metadata files older than the oldest entry of the metadata log,
 * i.e. those that fell off `write.metadata.previous-versions-max` (Java deletes them at commit time
 * with `write.metadata.delete-after-commit.enabled`). With a commit every second these are most of
 * a table's files.
 */
import { FileContent, type ManifestFile } from '../iceberg/manifest-types.js';
import type { Snapshot, TableMetadata } from '../iceberg/metadata.js';
import { ancestors, snapshotForRef } from '../iceberg/snapshot.js';
import { metadataVersion } from '../iceberg/update-metadata.js';
import { joinLocation } from '../io/location.js';
import type { Table } from '../table/table.js';
import { checkNonNegative, checkPositiveInt, forEachLimit, locationKey, ManifestCache } from './files.js';
import { checkAborted, report, type MaintenanceRunOptions } from './progress.js';

/** Iceberg's default `history.expire.max-snapshot-age-ms`: 5 days. */
export const DEFAULT_MAX_SNAPSHOT_AGE_MS = 5 * 86_400_000;
/** Iceberg's default `history.expire.min-snapshots-to-keep`. */
export const DEFAULT_MIN_SNAPSHOTS_TO_KEEP = 1;

/** Options of {@link expireSnapshots}. */
export interface ExpireSnapshotsOptions extends MaintenanceRunOptions {
  /** Expire snapshots older than this many milliseconds (the default age limit of every branch). */
  olderThanMs?: number;
  /** Keep at least this many snapshots of each branch's history (at least 1). */
  retainLast?: number;
  /** Delete the files the expired snapshots alone needed. Default true. */
  deleteFiles?: boolean;
  /** Delete metadata files older than the metadata log. Default true. */
  cleanMetadataFiles?: boolean;
  /** Clock (tests). */
  now?: number;
}

/** What an expiry did. */
export interface ExpireSnapshotsResult {
  table: string;
  expiredSnapshots: number;
  retainedSnapshots: number;
  removedRefs: string[];
  deletedDataFiles: number;
  deletedDeleteFiles: number;
  deletedManifests: number;
  deletedManifestLists: number;
  deletedStatisticsFiles: number;
  deletedMetadataFiles: number;
  /** Files that could not be deleted (left to orphan removal). */
  failedDeletes: number;
  durationMs: number;
}

/** Which snapshots and refs an expiry removes. */
export interface ExpiryPlan {
  expire: bigint[];
  removeRefs: string[];
}

function intProp(md: TableMetadata, key: string): number | undefined {
  const raw = md.properties[key];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Computes what to expire (pure; see the file comment for the rules).
 * @param opts `olderThanMs` / `retainLast` default to the table properties, then Iceberg's defaults
 */
export function planExpiry(md: TableMetadata, opts: { olderThanMs?: number; retainLast?: number; now: number }): ExpiryPlan {
  const maxAge = opts.olderThanMs ?? intProp(md, 'history.expire.max-snapshot-age-ms') ?? DEFAULT_MAX_SNAPSHOT_AGE_MS;
  const minKeep = Math.max(1, opts.retainLast ?? intProp(md, 'history.expire.min-snapshots-to-keep') ?? DEFAULT_MIN_SNAPSHOTS_TO_KEEP);
  const maxRefAge = intProp(md, 'history.expire.max-ref-age-ms') ?? Infinity;
  const byId = new Map(md.snapshots.map((s) => [s['snapshot-id'], s] as const));

  const removeRefs: string[] = [];
  const retain = new Set<bigint>();
  const onBranches = new Set<bigint>();
  for (const [name, ref] of Object.entries(md.refs)) {
    const head = byId.get(ref['snapshot-id']);
    if (!head) continue;
    const refAge = ref['max-ref-age-ms'] ?? maxRefAge;
    if (name !== 'main' && opts.now - head['timestamp-ms'] > refAge) {
      removeRefs.push(name);
      continue;
    }
    if (ref.type === 'tag') {
      retain.add(head['snapshot-id']);
      continue;
    }
    const keep = Math.max(1, ref['min-snapshots-to-keep'] ?? minKeep);
    const cutoff = opts.now - (ref['max-snapshot-age-ms'] ?? maxAge);
    let kept = 0;
    let walking = true;
    for (const s of ancestors(md, head['snapshot-id'])) {
      onBranches.add(s['snapshot-id']);
      if (walking && (kept < keep || s['timestamp-ms'] >= cutoff)) {
        retain.add(s['snapshot-id']);
        kept++;
      } else {
        walking = false;
      }
    }
  }
  const cutoff = opts.now - maxAge;
  for (const s of md.snapshots) {
    if (!onBranches.has(s['snapshot-id']) && !retain.has(s['snapshot-id']) && s['timestamp-ms'] >= cutoff) retain.add(s['snapshot-id']);
  }
  // Never the current snapshot, whatever the refs say.
  const current = md['current-snapshot-id'];
  if (current !== undefined) retain.add(current);
  return { expire: md.snapshots.filter((s) => !retain.has(s['snapshot-id'])).map((s) => s['snapshot-id']), removeRefs };
}

/** Deletes `locations` (best effort), returning how many failed. */
async function deleteAll(table: Table, locations: string[], onDone: () => void): Promise<number> {
  let failed = 0;
  await forEachLimit(locations, 8, async (loc) => {
    try {
      await table.io.delete(loc);
    } catch {
      failed++;
    }
    onDone();
  });
  return failed;
}

/** The metadata files that fell off the metadata log (older versions than the oldest logged one). */
async function staleMetadataFiles(table: Table, md: TableMetadata, current: string): Promise<string[]> {
  const logged = [...md['metadata-log'].map((e) => e['metadata-file']), current];
  const versions = logged.map(metadataVersion).filter((v): v is number => v !== undefined);
  if (versions.length === 0) return [];
  const oldest = Math.min(...versions);
  const keep = new Set(logged.map(locationKey));
  const dir = md.properties['write.metadata.path'] ?? joinLocation(md.location, 'metadata');
  const out: string[] = [];
  for await (const f of table.io.list(dir.endsWith('/') ? dir : `${dir}/`)) {
    const name = f.location.slice(f.location.lastIndexOf('/') + 1);
    if (!/\.metadata\.json(\.gz)?$/.test(name)) continue;
    const v = metadataVersion(f.location);
    if (v !== undefined && v < oldest && !keep.has(locationKey(f.location))) out.push(f.location);
  }
  return out;
}

/**
 * Expires snapshots and deletes the files only they needed (see the file comment).
 * @throws CommitConflictError when the commit keeps conflicting after the table's retries
 */
export async function expireSnapshots(table: Table, options: ExpireSnapshotsOptions = {}): Promise<ExpireSnapshotsResult> {
  const started = Date.now();
  const what = `expire-snapshots: ${table.name}`;
  if (options.olderThanMs !== undefined) checkNonNegative(options.olderThanMs, 'expire-snapshots: older-than');
  if (options.retainLast !== undefined) checkPositiveInt(options.retainLast, 'expire-snapshots: retain-last');
  await table.refresh();
  const result: ExpireSnapshotsResult = {
    table: table.name,
    expiredSnapshots: 0,
    retainedSnapshots: table.metadata.snapshots.length,
    removedRefs: [],
    deletedDataFiles: 0,
    deletedDeleteFiles: 0,
    deletedManifests: 0,
    deletedManifestLists: 0,
    deletedStatisticsFiles: 0,
    deletedMetadataFiles: 0,
    failedDeletes: 0,
    durationMs: 0,
  };
  checkAborted(options.signal, what);
  report(options.onProgress, { operation: 'expire-snapshots', phase: 'commit', done: 0, total: 1 });

  let before: TableMetadata = table.metadata;
  let plan: ExpiryPlan = { expire: [], removeRefs: [] };
  const now = options.now ?? Date.now();
  const planFor = (md: TableMetadata) =>
    planExpiry(md, {
      ...(options.olderThanMs !== undefined ? { olderThanMs: options.olderThanMs } : {}),
      ...(options.retainLast !== undefined ? { retainLast: options.retainLast } : {}),
      now,
    });
  if (planFor(before).expire.length === 0 && planFor(before).removeRefs.length === 0) {
    if (options.deleteFiles !== false && options.cleanMetadataFiles !== false) {
      result.deletedMetadataFiles = await cleanMetadata(table, result);
    }
    return { ...result, durationMs: Date.now() - started };
  }
  const loaded = await table.update((md) => {
    before = md;
    plan = planFor(md);
    const head = snapshotForRef(md, 'main');
    return {
      // Main must not move under the plan (the retention window is computed from its head).
      requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': head?.['snapshot-id'] ?? null }],
      updates: [
        ...plan.removeRefs.map((name) => ({ action: 'remove-snapshot-ref' as const, 'ref-name': name })),
        ...(plan.expire.length > 0 ? [{ action: 'remove-snapshots' as const, 'snapshot-ids': plan.expire }] : []),
      ],
    };
  });
  report(options.onProgress, { operation: 'expire-snapshots', phase: 'commit', done: 1, total: 1 });
  const after = loaded.metadata;
  const expiredIds = new Set(plan.expire);
  const expired = before.snapshots.filter((s) => expiredIds.has(s['snapshot-id']));
  result.expiredSnapshots = expired.length;
  result.retainedSnapshots = after.snapshots.length;
  result.removedRefs = plan.removeRefs;
  if (options.deleteFiles === false) return { ...result, durationMs: Date.now() - started };

  await deleteUnreferenced(table, before, after, expired, result, options);
  if (options.cleanMetadataFiles !== false) result.deletedMetadataFiles = await cleanMetadata(table, result);
  return { ...result, durationMs: Date.now() - started };
}

async function cleanMetadata(table: Table, result: ExpireSnapshotsResult): Promise<number> {
  const stale = await staleMetadataFiles(table, table.metadata, table.metadataLocation);
  const failed = await deleteAll(table, stale, () => undefined);
  result.failedDeletes += failed;
  return stale.length - failed;
}

/** Deletes the files of `expired` that no snapshot of `after` needs. */
async function deleteUnreferenced(
  table: Table,
  before: TableMetadata,
  after: TableMetadata,
  expired: Snapshot[],
  result: ExpireSnapshotsResult,
  options: ExpireSnapshotsOptions,
): Promise<void> {
  const cache = new ManifestCache(table.io, table.name);
  const retainedLists = new Set<string>();
  const retainedManifests = new Map<string, ManifestFile>();
  for (const s of after.snapshots) {
    if (s['manifest-list']) retainedLists.add(locationKey(s['manifest-list']));
    for (const m of await cache.snapshotManifests(s)) retainedManifests.set(locationKey(m.manifest_path), m);
  }
  const lists: string[] = [];
  const expiredManifests = new Map<string, ManifestFile>();
  for (const s of expired) {
    const list = s['manifest-list'];
    if (!list) continue;
    if (!retainedLists.has(locationKey(list))) lists.push(list);
    let manifests: ManifestFile[];
    try {
      manifests = await cache.snapshotManifests(s);
    } catch {
      continue; // its list is already gone: nothing more to find through it
    }
    for (const m of manifests) {
      const key = locationKey(m.manifest_path);
      if (!retainedManifests.has(key)) expiredManifests.set(key, m);
    }
  }

  // Content files: live in a manifest only expired snapshots used, and live nowhere retained.
  const candidates = new Map<string, { path: string; content: FileContent }>();
  for (const m of expiredManifests.values()) {
    let entries;
    try {
      entries = await cache.entries(m);
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.status !== 2) candidates.set(locationKey(e.data_file.file_path), { path: e.data_file.file_path, content: e.data_file.content });
    }
  }
  if (candidates.size > 0) {
    for (const m of retainedManifests.values()) {
      for (const e of await cache.entries(m)) {
        if (e.status !== 2) candidates.delete(locationKey(e.data_file.file_path));
      }
    }
  }

  const keptStats = new Set(
    [...(after.statistics ?? []), ...(after['partition-statistics'] ?? [])].map((s) => locationKey(s['statistics-path'])),
  );
  const stats = [...(before.statistics ?? []), ...(before['partition-statistics'] ?? [])]
    .map((s) => s['statistics-path'])
    .filter((p) => !keptStats.has(locationKey(p)));

  const content = [...candidates.values()];
  const manifests = [...expiredManifests.values()].map((m) => m.manifest_path);
  const total = content.length + manifests.length + lists.length + stats.length;
  let done = 0;
  const tick = () => report(options.onProgress, { operation: 'expire-snapshots', phase: 'delete', done: ++done, total });
  report(options.onProgress, { operation: 'expire-snapshots', phase: 'delete', done: 0, total });
  // Content first, lists last: an interrupted run leaves only unreferenced files behind anyway.
  const dataFiles = content.filter((c) => c.content === FileContent.DATA).map((c) => c.path);
  const deleteFiles = content.filter((c) => c.content !== FileContent.DATA).map((c) => c.path);
  const failedData = await deleteAll(table, dataFiles, tick);
  const failedDeletes = await deleteAll(table, deleteFiles, tick);
  const failedManifests = await deleteAll(table, manifests, tick);
  const failedStats = await deleteAll(table, stats, tick);
  const failedLists = await deleteAll(table, lists, tick);
  result.deletedDataFiles = dataFiles.length - failedData;
  result.deletedDeleteFiles = deleteFiles.length - failedDeletes;
  result.deletedManifests = manifests.length - failedManifests;
  result.deletedStatisticsFiles = stats.length - failedStats;
  result.deletedManifestLists = lists.length - failedLists;
  result.failedDeletes += failedData + failedDeletes + failedManifests + failedStats + failedLists;
}
