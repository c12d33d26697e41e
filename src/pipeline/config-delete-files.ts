/**
 * `maintenance.compact.delete_files`: when `floe run`'s maintenance compacts a partition because
 * delete files pile up in it (upserts write equality deletes every commit; reads apply each one to
 * every older data file of its partition). Kept apart from `config.ts` (one concept per file);
 * `config.ts` calls it with its duration parser (passed in: no import cycle).
 */
import { ValidationError } from '../errors.js';

/** The trigger (maintenance's `DeleteFilesTrigger`, mapped by `run/run-pipeline.ts`). */
export interface DeleteFilesConfig {
  enabled: boolean;
  /** How often partitions are checked for delete files (cheap when the table has none). */
  intervalMs: number;
  /** Compact a partition once this many delete files apply to it … */
  minFiles: number;
  /** … or once its delete rows reach this fraction (0 to 1) of its data rows. */
  minRatio: number;
  /**
   * A partition whose deletes are all deletion vectors: once its deleted rows reach this fraction
   * (no file count: one vector per data file, replaced, never piling up; a read drops rows by
   * bit, so deleted rows cost only their scan).
   */
  minVectorRatio: number;
}

/**
 * Defaults (README): checked every 10 s; a partition with 10 delete files, or with delete rows
 * of 10% of its rows, is compacted; one whose deletes are all deletion vectors at 30% (Iceberg
 * Java's `delete-ratio-threshold`: measured at 10 million rows under 1% upserts a second, 10%
 * kept a full compaction always running and reads 3.4× an append-only table's, 30% 2.4×). At one commit a second that bounds the delete files a read
 * applies to about 20 (10 to trigger, plus those committed while the compaction runs).
 */
export const DELETE_FILES_DEFAULTS: DeleteFilesConfig = { enabled: true, intervalMs: 10_000, minFiles: 10, minRatio: 0.1, minVectorRatio: 0.3 };

/** `5%`, `0.05`: a fraction in (0, 1]. */
function parseRatio(v: unknown, where: string): number {
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(v);
    if (m) n = Number(m[1]) / (m[2] ? 100 : 1);
  }
  if (n === undefined || !Number.isFinite(n) || n <= 0 || n > 1) {
    throw new ValidationError(`config: ${where}: must be a share of the rows above 0, up to 1 or 100% (e.g. 10%), got ${JSON.stringify(v)}`);
  }
  return n;
}

/**
 * Parses `maintenance.compact.delete_files`: omitted or `true` (defaults), `false` (off), or a
 * mapping of `interval`, `min_files`, `min_ratio`.
 */
export function parseDeleteFilesConfig(raw: unknown, parseDuration: (v: unknown, where: string) => number): DeleteFilesConfig {
  const where = 'maintenance.compact.delete_files';
  const d = DELETE_FILES_DEFAULTS;
  if (raw === undefined || raw === null || raw === true) return { ...d };
  if (raw === false) return { ...d, enabled: false };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError(`config: ${where}: must be a mapping, true or false`);
  const o = raw as Record<string, unknown>;
  const allowed = ['enabled', 'interval', 'min_files', 'min_ratio', 'min_vector_ratio'];
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new ValidationError(`config: ${where}.${k}: unknown key (allowed: ${allowed.join(', ')})`);
  }
  if (o.enabled !== undefined && typeof o.enabled !== 'boolean') throw new ValidationError(`config: ${where}.enabled: must be true or false`);
  if (o.enabled === false) return { ...d, enabled: false };
  let intervalMs = d.intervalMs;
  if (o.interval !== undefined) {
    intervalMs = parseDuration(o.interval, `${where}.interval`);
    if (intervalMs < 100) throw new ValidationError(`config: ${where}.interval: must be at least 100ms`);
  }
  let minFiles = d.minFiles;
  if (o.min_files !== undefined) {
    if (typeof o.min_files !== 'number' || !Number.isSafeInteger(o.min_files) || o.min_files < 1) {
      throw new ValidationError(`config: ${where}.min_files: must be a positive integer, got ${JSON.stringify(o.min_files)}`);
    }
    minFiles = o.min_files;
  }
  const minRatio = o.min_ratio === undefined ? d.minRatio : parseRatio(o.min_ratio, `${where}.min_ratio`);
  const minVectorRatio = o.min_vector_ratio === undefined ? d.minVectorRatio : parseRatio(o.min_vector_ratio, `${where}.min_vector_ratio`);
  return { enabled: true, intervalMs, minFiles, minRatio, minVectorRatio };
}
