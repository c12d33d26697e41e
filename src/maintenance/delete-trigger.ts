/**
 * The delete-file trigger of compaction: which files of a partition a compaction rewrites because
 * delete files pile up there (upserts write an equality delete file per partition and commit).
 *
 * A delete file can only be dropped once every data file it applies to is rewritten (see
 * `compact.ts`), and it applies to every older data file of its partition (equality deletes) or to
 * the files it names (position deletes). So a triggered partition rewrites exactly its files that
 * have deletes applied: files without any are left to the small-file rule.
 */
import { isDeletionVector } from '../iceberg/manifest-types.js';
import type { FileScanTask } from '../iceberg/scan.js';

/** Thresholds of {@link deleteTriggered}. */
export interface DeleteThresholds {
  /** Distinct delete files applying to the partition's files. */
  minDeleteFiles: number;
  /** Delete rows (the delete files' record counts) over the partition's data rows, 0 to 1. */
  minDeleteRatio: number;
  /** The ratio for a partition whose deletes are all deletion vectors (default: `minDeleteRatio`). */
  minVectorRatio?: number;
}

/** How much deleting a partition's files carry (what the trigger compares). */
export interface DeleteLoad {
  deleteFiles: number;
  deleteRows: number;
  dataRows: number;
}

/** Distinct delete files applying to `tasks` (one partition's files), their rows, and the data rows. */
export function deleteLoad(tasks: FileScanTask[]): DeleteLoad {
  const seen = new Map<string, number>();
  let vectorRows = 0;
  let dataRows = 0;
  for (const t of tasks) {
    dataRows += t.file.record_count;
    for (const d of t.deletes) {
      // A deletion vector (one per data file, replaced rather than piled up: reads apply it as a
      // bitmap) counts by its rows only; its Puffin file is shared with other files' vectors.
      if (isDeletionVector(d.file)) vectorRows += d.file.record_count;
      else seen.set(d.file.file_path, d.file.record_count);
    }
  }
  let deleteRows = vectorRows;
  for (const n of seen.values()) deleteRows += n;
  return { deleteFiles: seen.size, deleteRows, dataRows };
}

/**
 * The files of one partition to rewrite for its deletes: those with deletes applied, when the
 * partition reaches either threshold; none otherwise.
 */
export function deleteTriggered(tasks: FileScanTask[], thresholds: DeleteThresholds): FileScanTask[] {
  const load = deleteLoad(tasks);
  if (load.deleteFiles === 0 && load.deleteRows === 0) return [];
  const ratio = load.dataRows === 0 ? Infinity : load.deleteRows / load.dataRows;
  if (load.deleteFiles === 0) {
    // Deletion vectors only: one per data file, replaced rather than piled up; rows count.
    if (ratio < (thresholds.minVectorRatio ?? thresholds.minDeleteRatio)) return [];
    return tasks.filter((t) => t.deletes.length > 0);
  }
  if (load.deleteFiles < thresholds.minDeleteFiles && ratio < thresholds.minDeleteRatio) return [];
  return tasks.filter((t) => t.deletes.length > 0);
}
