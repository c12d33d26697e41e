/** SqlCatalog passes the catalog conformance suite: file database, in-memory database, memory warehouse. */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { catalogConformance } from './conformance.js';

catalogConformance('SqlCatalog (SQLite file, local warehouse)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-sqlcat-'));
  const catalog = new SqlCatalog({ name: 'conformance', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'warehouse') });
  return {
    catalog,
    cleanup: async () => {
      await catalog.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

catalogConformance("SqlCatalog (':memory:', file:// warehouse)", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-sqlcat-mem-'));
  const catalog = new SqlCatalog({ name: 'conformance', uri: ':memory:', warehouse: `file://${dir}/wh` });
  return {
    catalog,
    cleanup: async () => {
      await catalog.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

catalogConformance("SqlCatalog (':memory:', memory:// warehouse)", () => {
  const catalog = new SqlCatalog({ name: 'conformance', uri: ':memory:', warehouse: `memory://wh/${randomUUID()}` });
  return { catalog, cleanup: () => catalog.close() };
});
