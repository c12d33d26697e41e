/**
 * The REST catalog client passes the catalog conformance suite through floe's REST catalog server
 * over the embedded SQLite catalog: RestCatalog → HTTP on 127.0.0.1 → startRestCatalogServer →
 * SqlCatalog. Run with and without a route prefix, and with one-item pages so that every listing
 * follows `next-page-token`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { RestCatalog } from '../../src/catalog/rest/rest-catalog.js';
import { startRestCatalogServer, type RestCatalogServer } from '../../src/catalog/rest/rest-server.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { catalogConformance } from './conformance.js';

let dir: string;
let backing: SqlCatalog;
let plain: RestCatalogServer;
let prefixed: RestCatalogServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-rest-conf-'));
  backing = new SqlCatalog({ name: 'conformance', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'warehouse') });
  plain = await startRestCatalogServer({ catalog: backing });
  prefixed = await startRestCatalogServer({ catalog: backing, prefix: 'catalogs/floe' });
});

after(async () => {
  await plain.close();
  await prefixed.close();
  await backing.close();
  await rm(dir, { recursive: true, force: true });
});

catalogConformance('RestCatalog → floe REST server → SqlCatalog', () => ({ catalog: new RestCatalog({ uri: plain.url }) }));

catalogConformance('RestCatalog → floe REST server (prefix, 1-item pages) → SqlCatalog', () => ({
  catalog: new RestCatalog({ uri: prefixed.url, warehouse: 'floe', pageSize: 1 }),
}));
