/**
 * Reading a `floe run`'s table from a test, as `floe query` does: a fresh SQLite catalog over the
 * warehouse and a fresh query engine per call (the run keeps writing in another process).
 */
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { QueryEngine } from '../../src/query/engine.js';

/** The rows of `sql` over the catalog `<warehouse>/catalog.db`. */
export async function queryWarehouse<T extends unknown[]>(warehouse: string, sql: string): Promise<T[]> {
  const catalog = new SqlCatalog({ name: 'floe', uri: join(warehouse, 'catalog.db'), warehouse });
  const engine = await QueryEngine.open({ catalog });
  try {
    return (await engine.query(sql)).rows as T[];
  } finally {
    engine.close();
    await catalog.close();
  }
}

/** `count(*)` of `table`, 0 while it does not exist yet. */
export async function countRows(warehouse: string, table: string): Promise<bigint> {
  try {
    return (await queryWarehouse<[bigint]>(warehouse, `SELECT count(*) FROM ${table}`))[0]![0];
  } catch {
    return 0n; // not created yet
  }
}

/** `count(*)` and `count(DISTINCT column)` of `table` (exactly once: both equal), [0, 0] while it does not exist yet. */
export async function countDistinct(warehouse: string, table: string, column = 'id'): Promise<[bigint, bigint]> {
  try {
    return (await queryWarehouse<[bigint, bigint]>(warehouse, `SELECT count(*), count(DISTINCT ${column}) FROM ${table}`))[0]!;
  } catch {
    return [0n, 0n]; // not created yet
  }
}
