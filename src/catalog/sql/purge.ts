/**
 * Deletes the files of a dropped table, the way Java's `CatalogUtil.dropTableData` does: only
 * files the table's metadata references (data and delete files listed in any manifest, the
 * manifests, manifest lists, statistics files, and every metadata file in the log), never
 * "everything under the location", which could belong to another table nested below it.
 *
 * Best effort: a file that cannot be read or deleted does not stop the rest; the caller gets the
 * list of failures.
 */
import { FloeError, NotFoundError } from '../../errors.js';
import { readManifest } from '../../iceberg/avro/manifest.js';
import { readManifestList } from '../../iceberg/avro/manifest-list.js';
import type { TableMetadata } from '../../iceberg/metadata.js';
import type { FileIO } from '../../io/file-io.js';

/** What a purge did. */
export interface PurgeResult {
  /** Number of files deleted (or already absent). */
  deleted: number;
  /** Files that could not be read or deleted, with the reason. */
  failures: { location: string; error: unknown }[];
}

/**
 * Deletes every file referenced by `metadata`, then the metadata files themselves.
 * @param metadataLocation the table's current metadata file
 */
export async function purgeTableFiles(io: FileIO, metadata: TableMetadata, metadataLocation: string): Promise<PurgeResult> {
  const result: PurgeResult = { deleted: 0, failures: [] };
  const manifestLists = new Set<string>();
  const manifests = new Set<string>();
  const contentFiles = new Set<string>();

  for (const snap of metadata.snapshots) {
    if (snap['manifest-list']) manifestLists.add(snap['manifest-list']);
    for (const m of snap.manifests ?? []) manifests.add(m); // v1 tables may list manifests inline
  }
  for (const list of manifestLists) {
    try {
      for (const m of readManifestList(await io.read(list), list)) manifests.add(m.manifest_path);
    } catch (e) {
      if (!(e instanceof NotFoundError)) result.failures.push({ location: list, error: e });
    }
  }
  for (const manifest of manifests) {
    try {
      // Every entry, DELETED ones included: a file removed by a snapshot still exists on disk
      // until expiration, and the table owns it.
      for (const entry of readManifest(await io.read(manifest), manifest).entries) contentFiles.add(entry.data_file.file_path);
    } catch (e) {
      if (!(e instanceof NotFoundError)) result.failures.push({ location: manifest, error: e });
    }
  }

  const statistics = [
    ...(metadata.statistics ?? []).map((s) => s['statistics-path']),
    ...(metadata['partition-statistics'] ?? []).map((s) => s['statistics-path']),
  ];
  const metadataFiles = [...metadata['metadata-log'].map((e) => e['metadata-file']), metadataLocation];

  // Content first and metadata last: an interrupted purge leaves metadata that still lists what remains.
  for (const group of [contentFiles, manifests, manifestLists, statistics, metadataFiles]) {
    for (const location of group) {
      try {
        await io.delete(location);
        result.deleted++;
      } catch (e) {
        result.failures.push({ location, error: e });
      }
    }
  }
  return result;
}

/**
 * The error of a purge that left files behind (`PURGE_INCOMPLETE`, naming how many and the first
 * with its reason), thrown after the table was dropped; nothing when `failures` is empty.
 * @throws FloeError `PURGE_INCOMPLETE`
 */
export function assertPurged(display: string, failures: PurgeResult['failures']): void {
  const first = failures[0];
  if (first === undefined) return;
  const why = first.error instanceof Error ? first.error.message : String(first.error);
  throw new FloeError('PURGE_INCOMPLETE', `catalog: table ${display} was dropped but ${failures.length} of its files could not be deleted (first: ${first.location}: ${why})`, {
    cause: first.error,
  });
}
