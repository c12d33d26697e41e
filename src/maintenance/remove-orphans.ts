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
 * starts with this one's (`events` and `events_dead_letters`) is never touched. Tables nested
 * *inside* another table's location are not supported (as in Iceberg Java).
 */
import { ValidationError } from '../errors.js';
import type { TableMetadata } from '../iceberg/metadata.js';
import { joinLocation, stripTrailingSlash } from '../io/location.js';
import type { Table } from '../table/table.js';
import { checkNonNegative, forEachLimit, locationKey, ManifestCache } from './files.js';
import { checkAborted, report, type MaintenanceRunOptions } from './progress.js';

/** The default safety window: 3 days (Iceberg Java's default too). */
export const DEFAULT_ORPHAN_AGE_MS = 3 * 86_400_000;

/** Options of {@link removeOrphanFiles}. */
export interface RemoveOrphansOptions extends MaintenanceRunOptions {
  /** Only files last modified more than this many milliseconds ago are removed. Default 3 days. */
  olderThanMs?: number;
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
  deleted: number;
  failed: number;
  dryRun: boolean;
  durationMs: number;
}

/** The directories to sweep: the table location and any data/metadata path outside it. */
function roots(md: TableMetadata): string[] {
  const base = stripTrailingSlash(md.location);
  const out = [base];
  for (const key of ['write.data.path', 'write.metadata.path']) {
    const p = md.properties[key];
    if (p && !(locationKey(p) + '/').startsWith(locationKey(base) + '/')) out.push(stripTrailingSlash(p));
  }
  return out;
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
 */
export async function removeOrphanFiles(table: Table, options: RemoveOrphansOptions = {}): Promise<RemoveOrphansResult> {
  const started = Date.now();
  const what = `remove-orphans: ${table.name}`;
  const olderThan = checkNonNegative(options.olderThanMs ?? DEFAULT_ORPHAN_AGE_MS, 'remove-orphans: older-than');
  const now = options.now ?? Date.now();
  await table.refresh();
  const listed: { location: string; size: number; lastModified: number }[] = [];
  report(options.onProgress, { operation: 'remove-orphans', phase: 'list', done: 0, total: 1 });
  for (const root of roots(table.metadata)) {
    if (!root) throw new ValidationError(`${what}: the table has no location`);
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
  const orphans: OrphanFile[] = [];
  for (const f of listed) {
    const key = locationKey(f.location);
    if (refs.has(key) || key === `${metadataDir}/version-hint.text`) {
      referenced++;
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
    deleted,
    failed,
    dryRun: options.dryRun === true,
    durationMs: Date.now() - started,
  };
}
