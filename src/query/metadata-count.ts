/**
 * `SELECT count(*) FROM t` answered from the table's metadata, as Trino, Spark and PyIceberg
 * answer it: the sum of the data files' `record_count` less the deletion vectors' cardinalities
 * (their `record_count`), with no data file read. Exact only when every delete that applies is a
 * deletion vector (or there is none): a vector names each deleted position of its one data file
 * exactly once (spec §Delete Formats), where an equality delete must be matched against the rows
 * and position delete files may repeat a position. The spec encourages it for partition
 * statistics on the same grounds ("if a table has no deletes or only deletion vectors").
 *
 * Only the bare form is taken: one statement, one `count(*)` (optionally aliased), one table, and
 * nothing else (no WHERE, GROUP BY, DISTINCT, ORDER BY, LIMIT, CTE, sample, time travel clause);
 * DuckDB's own parser says which (`json_serialize_sql`), so quoting, case and comments are its
 * rules. Anything else runs in DuckDB as before.
 */
import type { DuckDB } from '../duckdb/instance.js';
import { sqlString } from '../duckdb/instance.js';
import { deletionVectorKey, isDeletionVector } from '../iceberg/manifest-types.js';
import type { FileScanTask } from '../iceberg/scan.js';

/** The table a bare count names, and the result column's name (DuckDB's: `count_star()`). */
export interface CountTarget {
  /** Schema (namespace) as written, or undefined for a bare table name. */
  schema: string | undefined;
  table: string;
  column: string;
}

/** The rows of `tasks` when only deletion vectors (or nothing) delete from them; else undefined. */
export function countFromMetadata(tasks: readonly FileScanTask[]): bigint | undefined {
  let rows = 0n;
  const vectors = new Set<string>();
  for (const t of tasks) {
    rows += BigInt(t.file.record_count);
    for (const d of t.deletes) {
      if (!isDeletionVector(d.file)) return undefined;
      // One vector per data file; a Puffin file holds several, told apart by offset.
      const key = deletionVectorKey(d.file);
      if (vectors.has(key)) continue;
      vectors.add(key);
      rows -= BigInt(d.file.record_count);
    }
  }
  return rows;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const obj = (v: Json | undefined): { [k: string]: Json } | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined);
const empty = (v: Json | undefined): boolean => v === null || v === undefined || (Array.isArray(v) && v.length === 0);

/** The target of `sql` when it is a bare `SELECT count(*) FROM table`; else undefined. */
export async function bareCountTarget(duckdb: DuckDB, sql: string): Promise<CountTarget | undefined> {
  // Cheap test first: most statements are not counts.
  if (!/count\s*\(\s*\*\s*\)/i.test(sql)) return undefined;
  let parsed: Json;
  try {
    const rows = await duckdb.all(`SELECT json_serialize_sql(${sqlString(sql)}) AS j`);
    parsed = JSON.parse(String(rows[0]?.j)) as Json;
  } catch {
    return undefined;
  }
  const root = obj(parsed);
  const statements = root?.statements;
  if (root?.error !== false || !Array.isArray(statements) || statements.length !== 1) return undefined;
  const node = obj(obj(statements[0])?.node);
  if (!node || node.type !== 'SELECT_NODE') return undefined;
  if (!empty(node.modifiers) || !empty(obj(node.cte_map)?.map) || !empty(node.where_clause) || !empty(node.group_expressions)) return undefined;
  if (!empty(node.group_sets) || !empty(node.having) || !empty(node.sample) || !empty(node.qualify)) return undefined;
  if (node.aggregate_handling !== 'STANDARD_HANDLING') return undefined;
  const list = node.select_list;
  if (!Array.isArray(list) || list.length !== 1) return undefined;
  const f = obj(list[0]);
  if (!f || f.class !== 'FUNCTION' || f.function_name !== 'count_star' || f.distinct !== false || !empty(f.filter) || !empty(f.children)) return undefined;
  if (!empty(obj(f.order_bys)?.orders) || (typeof f.schema === 'string' && f.schema !== '')) return undefined;
  const from = obj(node.from_table);
  if (!from || from.type !== 'BASE_TABLE' || !empty(from.sample) || !empty(from.at_clause) || !empty(from.column_name_alias)) return undefined;
  if (typeof from.catalog_name === 'string' && from.catalog_name !== '') return undefined;
  if (typeof from.table_name !== 'string' || typeof from.schema_name !== 'string') return undefined;
  const alias = typeof f.alias === 'string' && f.alias !== '' ? f.alias : 'count_star()';
  return { schema: from.schema_name === '' ? undefined : from.schema_name, table: from.table_name, column: alias };
}
