/**
 * Which delete files a table's format version takes (spec §Delete Formats), checked before a
 * commit writes anything:
 * - v2: position delete files and equality delete files; no deletion vectors (a v3 feature).
 * - v3: deletion vectors and equality delete files. Position delete files "must not be added to
 *   v3 tables" (existing ones stay valid), and there is "at most one deletion vector per data
 *   file in a snapshot": a new vector for a data file must replace the live one in the same commit.
 *
 * A deletion vector is a POSITION_DELETES entry stored as Puffin (Java's rule,
 * `iceberg/manifest-types.ts` `isDeletionVector`), naming its one data file (`referenced_data_file`) and the blob in the
 * Puffin file (`content_offset`, `content_size_in_bytes`: several vectors may share one file, so
 * the path alone does not name a vector).
 */
import { UnsupportedError, ValidationError } from '../errors.js';
import { deletionVectorKey, EntryStatus, FileContent, isDeletionVector, type DataFile, type ManifestEntry } from '../iceberg/manifest-types.js';

/** How a commit names a delete file to remove: a vector by its blob, any other file by its path. */
export function deleteFileKey(file: DataFile): string {
  return isDeletionVector(file) ? deletionVectorKey(file) : file.file_path;
}

/**
 * Refuses a delete file the table's format version does not take, or a deletion vector missing
 * the fields readers need to find its blob.
 * @param what the table's name, for messages
 */
export function checkDeleteFile(file: DataFile, formatVersion: number, what: string): void {
  if (file.content !== FileContent.POSITION_DELETES) return;
  const dv = isDeletionVector(file);
  if (formatVersion >= 3 && !dv) {
    throw new UnsupportedError(
      `table: ${what}: position delete file ${file.file_path} (${file.file_format}) cannot be added to a format v${formatVersion} table: v3 tables take deletion vectors (Puffin) instead of position delete files`,
    );
  }
  if (!dv) return;
  if (formatVersion < 3) {
    throw new UnsupportedError(`table: ${what}: deletion vector ${file.file_path} needs a format v3 table (the table is v${formatVersion})`);
  }
  const missing: string[] = [];
  if (!file.referenced_data_file) missing.push('referenced_data_file');
  if (file.content_offset == null) missing.push('content_offset');
  if (file.content_size_in_bytes == null) missing.push('content_size_in_bytes');
  if (missing.length > 0) throw new ValidationError(`table: ${what}: deletion vector ${file.file_path} needs ${missing.join(', ')}`);
  const offset = file.content_offset!;
  const size = file.content_size_in_bytes!;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(size) || size <= 0 || offset + size > file.file_size_in_bytes) {
    throw new ValidationError(
      `table: ${what}: deletion vector ${file.file_path}: blob at ${offset} of ${size} bytes does not lie within the file's ${file.file_size_in_bytes} bytes`,
    );
  }
  if (file.equality_ids != null && file.equality_ids.length > 0) {
    throw new ValidationError(`table: ${what}: deletion vector ${file.file_path} must not have equality_ids`);
  }
}

/**
 * The live deletion vectors of delete-manifest entries, by the data file each applies to (a list:
 * a table written elsewhere against the rule may hold several, and all must then be replaced).
 */
export function liveDeletionVectors(entries: Iterable<ManifestEntry>): Map<string, DataFile[]> {
  const live = new Map<string, DataFile[]>();
  for (const e of entries) {
    if (e.status === EntryStatus.DELETED || !isDeletionVector(e.data_file)) continue;
    const target = e.data_file.referenced_data_file;
    if (!target) continue;
    const list = live.get(target);
    if (list) list.push(e.data_file);
    else live.set(target, [e.data_file]);
  }
  return live;
}

/**
 * Checks the one-vector-per-data-file rule for a commit: the vectors it adds, against the live
 * vectors of its base less those it removes (by {@link deletionVectorKey}). Throws
 * ValidationError naming the data file.
 */
export function checkOneDeletionVectorPerFile(
  added: readonly DataFile[],
  live: ReadonlyMap<string, readonly DataFile[]>,
  removed: ReadonlySet<string>,
  what: string,
): void {
  const seen = new Set<string>();
  for (const f of added) {
    if (!isDeletionVector(f)) continue;
    const target = f.referenced_data_file!;
    if (seen.has(target)) {
      throw new ValidationError(`table: ${what}: two deletion vectors for data file ${target} in one commit (at most one per data file: merge them)`);
    }
    seen.add(target);
    const old = (live.get(target) ?? []).find((dv) => !removed.has(deletionVectorKey(dv)));
    if (old) {
      throw new ValidationError(
        `table: ${what}: data file ${target} already has a deletion vector (${old.file_path} at offset ${old.content_offset}); at most one per data file: merge the deletes into the new vector and remove the old one in the same commit`,
      );
    }
  }
}
