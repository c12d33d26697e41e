/**
 * What the maintenance scheduler does to its tables: which tasks run, how often, with which
 * thresholds. Maintenance's own type: `floe run`'s `maintenance` config section is mapped to it by
 * the runner (`run/run-pipeline.ts`), so maintenance never reads the pipeline's config.
 */

/** The scheduler's policy (each task on its own interval). */
export interface MaintenancePolicy {
  /**
   * Bin-pack a partition's small files once it has `minFiles` of them; `deleteFiles` (absent: off)
   * also checks, on its own shorter interval, for partitions holding delete files.
   */
  compact: { enabled: boolean; intervalMs: number; minFiles: number; targetFileSizeBytes: number; deleteFiles?: DeleteFilesTrigger };
  /** Expire snapshots older than `olderThanMs`, keeping at least `retainLast`, and their files. */
  expireSnapshots: { enabled: boolean; intervalMs: number; olderThanMs: number; retainLast: number };
  /** Delete unreferenced files older than `olderThanMs` (at least 24 h unless `allowShortOlderThan`). */
  removeOrphans: { enabled: boolean; intervalMs: number; olderThanMs: number; allowShortOlderThan: boolean };
  /** Merge manifests once the current snapshot has `minManifests` of them. */
  rewriteManifests: { enabled: boolean; intervalMs: number; minManifests: number };
  /**
   * Convert equality deletes to position deletes (`convert-deletes.ts`) once `minFiles` of them
   * are live, checked every `intervalMs`; absent: off.
   */
  convertDeletes?: ConvertDeletesPolicy;
}

/**
 * When equality deletes (an upsert table's, one file per commit) become position deletes: a read
 * then anti-joins (file, row position) pairs instead of probing every key of every older data file.
 * Cheap when the table has no equality delete (the snapshot summary says so).
 */
export interface ConvertDeletesPolicy {
  enabled: boolean;
  intervalMs: number;
  /** Convert once this many equality delete files are live. */
  minFiles: number;
}

/** Memory limit and spill directory of the scheduler's DuckDB instance (compaction). */
export interface MaintenanceDuckDBSettings {
  /** Bytes. */
  memoryLimitBytes: number;
  /** Where it spills beyond the limit; default: the OS temp directory. */
  tempDirectory?: string;
}

/**
 * The instance's memory limit when none is given: 256MB, as the default of the config's
 * `duckdb.memory_limit` (`test/run/run-pipeline.compose.test.ts` checks that they agree).
 */
export const DEFAULT_MAINTENANCE_MEMORY_LIMIT = 256 * 1024 * 1024;

/**
 * When a partition holding delete files (an upsert table's equality deletes, another engine's
 * position deletes) is compacted without waiting for the small-file rule: every read applies each
 * delete file to each older data file of its partition, so reads slow down with their number.
 * Checked every `intervalMs` (cheap when the table has no delete file: the snapshot summary says so).
 */
export interface DeleteFilesTrigger {
  enabled: boolean;
  intervalMs: number;
  /** Compact a partition once this many delete files apply to it … */
  minFiles: number;
  /** … or once its delete rows are this fraction (0 to 1) of its data rows. */
  minRatio: number;
  /** A partition whose deletes are all deletion vectors: once they delete this fraction of its rows. */
  minVectorRatio: number;
}
