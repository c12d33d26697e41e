/**
 * A query result as plain objects, for library callers: one object per row keyed by column
 * name, values in the JSON form of `floe query --format json` (`result-values.ts`: timestamps as
 * ISO-8601 strings, decimals and integers beyond 2^53 as strings, binary as hex).
 */
import type { QueryResult } from './engine.js';
import { toJsonValue, type JsonOut } from './result-values.js';

/** The rows of `result` as objects keyed by column name, with JSON-safe values. */
export function resultToObjects(result: QueryResult): { [column: string]: JsonOut }[] {
  return result.rows.map((row) => {
    const out: { [column: string]: JsonOut } = {};
    result.columns.forEach((c, i) => (out[c] = toJsonValue(row[i] ?? null)));
    return out;
  });
}
