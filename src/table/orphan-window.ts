/**
 * The orphan window's floor: a writer's data files are in the table's directories, unreferenced,
 * from the moment they are written until the commit that adds them lands (which can be retried
 * for minutes), so a sweep of unreferenced files must spare recent ones. Checked where a window is
 * chosen: the `floe run` config (`maintenance.remove_orphans`), `floe maintain remove-orphans` and
 * `removeOrphanFiles` itself.
 */
import { ValidationError } from '../errors.js';

/** The shortest window allowed without explicit consent: 24 hours (as Iceberg's Spark procedure). */
export const MIN_ORPHAN_AGE_MS = 86_400_000;

/**
 * Checks an orphan window against the 24-hour floor.
 * @param key names the setting in the error (`maintenance.remove_orphans.older_than`, `--older-than`)
 * @param consent the name of the consent setting, for the error
 * @throws ValidationError naming the key and why
 */
export function checkOrphanWindow(olderThanMs: number, allowShort: boolean, key: string, consent: string): void {
  if (allowShort || olderThanMs >= MIN_ORPHAN_AGE_MS) return;
  const unit = ([['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const).find(([, n]) => olderThanMs >= n && olderThanMs % n === 0);
  const given = unit ? `${olderThanMs / unit[1]}${unit[0]}` : `${olderThanMs}ms`;
  throw new ValidationError(
    `${key}: ${given} is below the floor of 24h: a running writer's files are unreferenced until it commits, ` +
      `so a shorter window can delete files a pipeline has written but not yet committed. Use at least 24h, or set ${consent} ` +
      `to accept that risk (no writer can be running on the table)`,
  );
}
