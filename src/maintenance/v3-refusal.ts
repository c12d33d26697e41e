/**
 * Maintenance that floe cannot yet do on format v3 tables, refused with the reason rather than
 * done in a way that breaks the table:
 * - compaction rewrites data files, and spec §Row Lineage requires a row moved to another file to
 *   keep its `_row_id` and `_last_updated_sequence_number` (written into the new file). floe's
 *   rewrite (DuckDB over the scan's SQL) does not carry them yet, so compacted rows would get new
 *   ids: the table's lineage would silently be wrong.
 * - delete conversion writes position delete files, which v3 tables must not take (spec §Delete
 *   Formats: deletion vectors instead).
 * The maintenance scheduler skips these operations on v3 tables (`scheduler.ts`).
 */
import { UnsupportedError } from '../errors.js';
import type { TableMetadata } from '../iceberg/metadata.js';

/** Operations refused on v3 tables. */
export type V3RefusedOperation = 'compact' | 'convert-deletes';

/** Why `operation` is not run on the table, or undefined when it may run. */
export function v3Refusal(md: TableMetadata, operation: V3RefusedOperation): string | undefined {
  const v = md['format-version'];
  if (v < 3) return undefined;
  return operation === 'compact'
    ? `format v${v} table: compaction would give rewritten rows new row ids (row lineage requires keeping each row's _row_id and _last_updated_sequence_number, which floe's rewrite does not write yet)`
    : `format v${v} table: delete conversion writes position delete files, which v3 tables do not take (deletion vectors instead)`;
}

/** Throws UnsupportedError `<operation>: <table>: <why>` when {@link v3Refusal} gives a reason. */
export function refuseOnV3(md: TableMetadata, operation: V3RefusedOperation, table: string): void {
  const why = v3Refusal(md, operation);
  if (why !== undefined) throw new UnsupportedError(`${operation}: ${table}: ${why}; not run`);
}
