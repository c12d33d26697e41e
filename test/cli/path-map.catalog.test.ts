/**
 * `--path-map` over a catalog: a SQLite catalog whose `metadata_location` column names paths of
 * another root (a warehouse copied from another machine, or a PyIceberg SqlCatalog that wrote
 * relative paths) opens with the mapping in `floe query`, `floe table describe` and
 * `floe maintain`, whose new files land under the mapped directory while the catalog keeps its
 * own prefix. Without the mapping, the message names the missing location.
 *
 * The "other machine" is a warehouse built under one root, copied to another and deleted, so
 * every path it records names a directory that no longer exists.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { openCatalog } from '../../src/catalog/open.js';
import { Table } from '../../src/table/table.js';
import { assertFails, cliJson, runCli } from './helpers.js';

const ID = { namespace: ['ns'], name: 't' };

describe('--path-map over a SQLite catalog', () => {
  let dir: string;
  let foreign: string; // where the warehouse was written (gone)
  let here: string; // where it is now

  const column = (db: string): string => {
    const sqlite = new Database(db, { readonly: true });
    try {
      return (sqlite.prepare('SELECT metadata_location FROM iceberg_tables WHERE table_name = ?').get('t') as { metadata_location: string }).metadata_location;
    } finally {
      sqlite.close();
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floe-pathmap-'));
    foreign = join(dir, 'other-host', 'srv', 'warehouse');
    here = join(dir, 'here', 'wh');
    const catalog = await openCatalog({ warehouse: foreign });
    try {
      await catalog.createNamespace(['ns']);
      await catalog.createTable(ID, {
        schema: {
          type: 'struct',
          'schema-id': 0,
          fields: [
            { id: 1, name: 'id', required: true, type: 'long' },
            { id: 2, name: 'name', required: false, type: 'string' },
          ],
        },
      });
      const table = await Table.load(catalog, ID);
      await table.append([{ id: 1n, name: 'a' }, { id: 2n, name: 'b' }]);
      await table.append([{ id: 3n, name: 'c' }]);
    } finally {
      await catalog.close();
    }
    cpSync(foreign, here, { recursive: true });
    rmSync(join(dir, 'other-host'), { recursive: true });
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the copied catalog names the other root, which does not exist here', () => {
    const loc = column(join(here, 'catalog.db'));
    assert.ok(loc.startsWith(`${foreign}/ns/t/metadata/`), loc);
    assert.equal(existsSync(foreign), false);
  });

  test('without --path-map the query fails naming the missing metadata location (exit 1)', async () => {
    const r = await runCli(['query', '--warehouse', here, 'SELECT count(*) AS n FROM ns.t']);
    assertFails(r, 1, new RegExp(foreign.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });

  test('with --path-map the catalog table opens: query, table describe, table files', async () => {
    const map = ['--path-map', `${foreign}=${here}`];
    const rows = await cliJson(['query', '--warehouse', here, ...map, 'SELECT id, name FROM ns.t ORDER BY id']);
    assert.deepEqual(rows, [
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
      { id: 3, name: 'c' },
    ]);
    const [d] = await cliJson(['table', 'describe', 'ns.t', '--warehouse', here, ...map]);
    assert.equal(d!.location, `${foreign}/ns/t`, 'the table keeps its recorded location');
    const files = await cliJson(['table', 'files', 'ns.t', '--warehouse', here, ...map]);
    assert.equal(files.length, 2);
  });

  test('maintain writes through the mapping: files under the mapped directory, the catalog keeps its prefix', async () => {
    const map = ['--path-map', `${foreign}=${here}`];
    const before = readdirSync(join(here, 'ns', 't', 'metadata')).length;
    const [r] = await cliJson(['maintain', 'rewrite-manifests', 'ns.t', '--warehouse', here, ...map]);
    assert.equal(r!.manifests_before, 2);
    assert.equal(r!.manifests_after, 1);
    const loc = column(join(here, 'catalog.db'));
    assert.ok(loc.startsWith(`${foreign}/ns/t/metadata/`), `recorded under the catalog's prefix: ${loc}`);
    assert.ok(existsSync(loc.replace(foreign, here)), 'the new metadata file is in the mapped directory');
    assert.ok(readdirSync(join(here, 'ns', 't', 'metadata')).length > before);
    assert.equal(existsSync(foreign), false, 'nothing was written under the unmapped root');
    const rows = await cliJson(['query', '--warehouse', here, ...map, 'SELECT count(*) AS n FROM ns.t']);
    assert.deepEqual(rows, [{ n: 3 }]);
  });

  test('a relative metadata_location (PyIceberg with a relative warehouse) opens with --path-map', async () => {
    const copy = join(dir, 'relative', 'wh');
    cpSync(here, copy, { recursive: true });
    const db = new Database(join(copy, 'catalog.db'));
    try {
      db.prepare('UPDATE iceberg_tables SET metadata_location = replace(metadata_location, ?, ?)').run(foreign, 'warehouse');
    } finally {
      db.close();
    }
    assert.match(column(join(copy, 'catalog.db')), /^warehouse\/ns\/t\/metadata\//);
    assertFails(await runCli(['query', '--warehouse', copy, '--path-map', `${foreign}=${copy}`, 'SELECT 1 FROM ns.t']), 1, /warehouse\/ns\/t\/metadata\//);
    const rows = await cliJson([
      'query',
      '--warehouse',
      copy,
      '--path-map',
      `warehouse=${copy}`,
      '--path-map',
      `${foreign}=${copy}`,
      'SELECT sum(id) AS s FROM ns.t',
    ]);
    assert.deepEqual(rows, [{ s: 6 }]);
  });

  test('remove-orphans refuses a mapping that puts the table on the warehouse root (the catalog database survives)', async () => {
    // The table's own files copied to the root of a warehouse holding the catalog database: the
    // mapping makes the table's directory the warehouse root, so its sweep would see catalog.db
    // as an unreferenced file.
    const wh = join(dir, 'flat');
    cpSync(join(here, 'ns', 't'), wh, { recursive: true });
    cpSync(join(here, 'catalog.db'), join(wh, 'catalog.db'));
    const old = new Date(Date.now() - 10 * 86_400_000);
    utimesSync(join(wh, 'catalog.db'), old, old);
    const r = await runCli([
      'maintain',
      'remove-orphans',
      'ns.t',
      '--warehouse',
      wh,
      '--path-map',
      `${foreign}/ns/t=${wh}`,
      '--format',
      'json',
    ]);
    assertFails(r, 1, /refused, nothing deleted/, /contains the warehouse root/);
    assert.ok(existsSync(join(wh, 'catalog.db')), 'the catalog database is still there');
  });
});
