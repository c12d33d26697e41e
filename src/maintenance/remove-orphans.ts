/**
 * Orphan removal: deletes files under the table's location that no metadata references, once they
 * are older than a safety window (default 3 days). Orphans come from crashes and failed commits
 * (data files written but never committed), from commit retries, and from metadata files that
 * fell off the metadata log.
 *
 * Referenced: the current metadata file and those in its metadata log, `version-hint.text`, every
 * snapshot's manifest list, every manifest those lists name, every file any of those manifests
 * lists (deleted entries included: conservative), statistics and partition statistics files.
 *
 * The window is what makes this safe next to writers: a file a writer is about to commit is young.
 * The files are listed before the metadata is read, so anything committed while listing counts as
 * referenced. Listing uses the table location followed by `/`, so a sibling table whose name
 * starts with this one's (`events` and `events_dead_letters`) is never touched.
 *
 * Only what the table owns is deleted (`catalog/location-policy.ts`): before listing, the sweep
 * refuses to run (LOCATION_OVERLAP, nothing deleted) when a directory it would list contains the
 * warehouse root, the catalog database or another table's directory, or lies inside another
 * table's. Whatever the checks, the catalog database and its -wal/-shm/-journal files and anything
 * outside the listed directories are never deleted.
 *
 * The window has a floor of 24 hours (`MIN_ORPHAN_AGE_MS` in `table/orphan-window.ts`, as Iceberg's Spark procedure):
 * a running writer's files are unreferenced until its commit, and a commit can be retried for
 * a long time; a shorter window needs `allowShortOlderThan` (explicit consent).
 */
import {
  canonicalContains,
  canonicalLocation,
  catalogLocationFacts,
  describeConflicts,
  findLocationConflicts,
  tableRoots,
} from '../catalog/location-policy.js';
import { FloeError, ValidationError } from '../errors.js';
import { joinLocation } from '../io/location.js';
import { checkOrphanWindow } from '../table/orphan-window.js';
import type { Table } from '../table/table.js';
import { checkNonNegative, forEachLimit, locationKey, ManifestCache } from './files.js';
import { checkAborted, report, type MaintenanceRunOptions } from './progress.js';

/** The default safety window: 3 days (Iceberg Java's default too). */
export const DEFAULT_ORPHAN_AGE_MS = 3 * 86_400_000;

/** Options of {@link removeOrphanFiles}. */
export interface RemoveOrphansOptions extends MaintenanceRunOptions {
  /** Only files last modified more than this many milliseconds ago are removed. Default 3 days, at least 24 h. */
  olderThanMs?: number;
  /** Consent to a window under 24 hours (no writer can be running). Default false; a dry run needs none. */
  allowShortOlderThan?: boolean;
  /** List the orphans without deleting them. */
  dryRun?: boolean;
  /** Clock (tests). */
  now?: number;
}

/** An orphan file. */
export interface OrphanFile {
  location: string;
  size: number;
  lastModified: number;
  /** True when it was deleted (false in a dry run, or when the delete failed). */
  deleted: boolean;
}

/** What an orphan sweep found and did. */
export interface RemoveOrphansResult {
  table: string;
  /** Files listed under the table's locations. */
  listedFiles: number;
  /** Files the metadata references. */
  referencedFiles: number;
  /** Unreferenced files inside the safety window (kept). */
  youngUnreferenced: number;
  /** Unreferenced files older than the window. */
  orphans: OrphanFile[];
  /** Listed files never deleted because they belong to the catalog or lie outside the table's directories. */
  protectedFiles: number;
  deleted: number;
  failed: number;
  dryRun: boolean;
  durationMs: number;
}

/** Every location the table's metadata references, as {@link locationKey}s. */
export async function referencedLocations(table: Table): Promise<Set<string>> {
  const md = table.metadata;
  const refs = new Set<string>();
  const add = (loc: string) => refs.add(locationKey(loc));
  add(table.metadataLocation);
  for (const e of md['metadata-log']) add(e['metadata-file']);
  for (const s of [...(md.statistics ?? []), ...(md['partition-statistics'] ?? [])]) add(s['statistics-path']);
  const cache = new ManifestCache(table.io, table.name);
  const manifests = new Map<string, Parameters<ManifestCache['entries']>[0]>();
  for (const snap of md.snapshots) {
    if (snap['manifest-list']) add(snap['manifest-list']);
    for (const m of await cache.snapshotManifests(snap)) manifests.set(locationKey(m.manifest_path), m);
  }
  await forEachLimit([...manifests.values()], 8, async (m) => {
    add(m.manifest_path);
    for (const e of await cache.entries(m)) add(e.data_file.file_path);
  });
  return refs;
}

/**
 * Finds (and unless `dryRun`, deletes) the table's orphan files (see the file comment).
 * @throws NotFoundError when a manifest list or manifest of the table is missing: what it
 *   references cannot be known, so nothing is deleted
 * @throws FloeError `LOCATION_OVERLAP` when the table does not own its directories alone (or another
 *   table's cannot be read): nothing is listed or deleted
 * @throws ValidationError when the window is under 24 hours without `allowShortOlderThan`
 */
export async function removeOrphanFiles(table: Table, options: RemoveOrphansOptions = {}): Promise<RemoveOrphansResult> {
  const started = Date.now();
  const what = `remove-orphans: ${table.name}`;
  const olderThan = checkNonNegative(options.olderThanMs ?? DEFAULT_ORPHAN_AGE_MS, 'remove-orphans: older-than');
  // A dry run deletes nothing, so it may look at any window.
  checkOrphanWindow(olderThan, options.allowShortOlderThan === true || options.dryRun === true, 'remove-orphans: older-than', 'allowShortOlderThan');
  const now = options.now ?? Date.now();
  await table.refresh();
  const roots = tableRoots(table.metadata);
  if (roots.some((r) => !r)) throw new ValidationError(`${what}: the table has no location`);
  // Before anything is listed: does the table own its directories alone?
  const facts = await catalogLocationFacts(table.catalog, table.identifier);
  const unreadable = facts.tables.filter((t) => t.unreadable !== undefined);
  if (unreadable.length > 0) {
    throw new FloeError(
      'LOCATION_OVERLAP',
      `${what}: refused, nothing deleted: cannot tell whether ${unreadable.map((t) => `table ${t.table} (${t.unreadable})`).join(', ')} ` +
        `shares its directories`,
    );
  }
  const conflicts = findLocationConflicts(roots, facts);
  if (conflicts.length > 0) {
    const tables = [...new Set(conflicts.flatMap((c) => (c.table ? [c.table] : [])))];
    throw new FloeError(
      'LOCATION_OVERLAP',
      `${what}: refused, nothing deleted: the table does not own its directories alone: ${describeConflicts(conflicts)}` +
        `${tables.length ? ` (overlapping tables: ${tables.join(', ')})` : ''}. Move the table (or the other one) to a directory of its own`,
    );
  }
  const catalogFiles = facts.catalogFiles.map(canonicalLocation);
  const canonicalRoots = roots.map(canonicalLocation);
  const listed: { location: string; size: number; lastModified: number }[] = [];
  report(options.onProgress, { operation: 'remove-orphans', phase: 'list', done: 0, total: 1 });
  for (const root of roots) {
    for await (const f of table.io.list(`${root}/`)) {
      listed.push(f);
      if (listed.length % 1000 === 0) checkAborted(options.signal, what);
    }
  }
  report(options.onProgress, { operation: 'remove-orphans', phase: 'list', done: 1, total: 1 });
  // Read the metadata after listing: whatever was committed meanwhile is referenced.
  await table.refresh();
  report(options.onProgress, { operation: 'remove-orphans', phase: 'scan', done: 0, total: 1 });
  const refs = await referencedLocations(table);
  report(options.onProgress, { operation: 'remove-orphans', phase: 'scan', done: 1, total: 1 });
  checkAborted(options.signal, what);

  const cutoff = now - olderThan;
  const metadataDir = locationKey(table.metadata.properties['write.metadata.path'] ?? joinLocation(table.metadata.location, 'metadata'));
  let young = 0;
  let referenced = 0;
  let protectedFiles = 0;
  const orphans: OrphanFile[] = [];
  for (const f of listed) {
    const key = locationKey(f.location);
    if (refs.has(key) || key === `${metadataDir}/version-hint.text`) {
      referenced++;
      continue;
    }
    // Belt and braces after the overlap check: never the catalog's files, never outside the roots.
    const canon = canonicalLocation(f.location);
    if (catalogFiles.some((c) => canonicalContains(c, canon)) || !canonicalRoots.some((r) => canonicalContains(r, canon))) {
      protectedFiles++;
      continue;
    }
    if (f.lastModified >= cutoff) {
      young++;
      continue;
    }
    orphans.push({ location: f.location, size: f.size, lastModified: f.lastModified, deleted: false });
  }

  let deleted = 0;
  let failed = 0;
  if (!options.dryRun) {
    report(options.onProgress, { operation: 'remove-orphans', phase: 'delete', done: 0, total: orphans.length });
    await forEachLimit(orphans, 8, async (o) => {
      try {
        await table.io.delete(o.location);
        o.deleted = true;
        deleted++;
      } catch {
        failed++;
      }
      report(options.onProgress, { operation: 'remove-orphans', phase: 'delete', done: deleted + failed, total: orphans.length });
    });
  }
  return {
    table: table.name,
    listedFiles: listed.length,
    referencedFiles: referenced,
    youngUnreferenced: young,
    orphans,
    protectedFiles,
    deleted,
    failed,
    dryRun: options.dryRun === true,
    durationMs: Date.now() - started,
  };
}
