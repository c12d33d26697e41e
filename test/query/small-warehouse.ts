/**
 * A small warehouse for query tests: an embedded SQLite catalog in a temporary directory with a
 * few tables holding a few rows, written through the library (no CLI, no shared fixtures).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import type { Schema } from '../../src/iceberg/types.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';

/** The schema of every table: `id long not null, name string`. */
export const SMALL_SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'name', required: false, type: 'string' },
  ],
};

/** A temporary warehouse (`dir/wh`, catalog `dir/wh/catalog.db`); `close` removes it. */
export interface SmallWarehouse {
  dir: string;
  warehouse: string;
  close(): Promise<void>;
}

/**
 * Creates `tables` (`namespace.table` → number of rows, ids 1..n, names `n<id>`) in a new warehouse
 * and closes the catalog again, so the test sees only what is on disk.
 */
export async function smallWarehouse(tables: Record<string, number>, prefix = 'floe-small-wh-'): Promise<SmallWarehouse> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const warehouse = join(dir, 'wh');
  await mkdir(warehouse); // a SQLite catalog is opened only in a directory that exists
  const catalog = new SqlCatalog({ name: 'floe', uri: join(warehouse, 'catalog.db'), warehouse });
  try {
    for (const [qualified, n] of Object.entries(tables)) {
      const dot = qualified.lastIndexOf('.');
      const id = { namespace: [qualified.slice(0, dot)], name: qualified.slice(dot + 1) };
      if (!(await catalog.namespaceExists(id.namespace))) await catalog.createNamespace(id.namespace);
      await catalog.createTable(id, { schema: SMALL_SCHEMA });
      if (n === 0) continue;
      const table = await Table.load(catalog, id);
      const rows = Array.from({ length: n }, (_, i) => [BigInt(i + 1), `n${i + 1}`]);
      const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows));
      await table.newAppend().appendFiles(files, specId).commit();
    }
  } finally {
    await catalog.close();
  }
  return { dir, warehouse, close: () => rm(dir, { recursive: true, force: true }) };
}
