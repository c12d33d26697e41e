/**
 * `floe query` errors that say what to do: a warehouse or catalog that does not exist is reported
 * (a read command creates nothing: no directory, no empty catalog database); a table without its
 * namespace or one that does not exist gets floe's message naming the catalog and its tables, not
 * DuckDB's guesses from its system tables (`Did you mean "pg_constraint"`); and a namespace that
 * is an SQL keyword (`default`, PyIceberg's usual one) works unquoted. A missing warehouse is
 * bad usage (exit 2); a statement naming an unknown table fails like any failed statement (exit 1).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { smallWarehouse, type SmallWarehouse } from '../query/small-warehouse.js';
import { assertFails, cliJson, runCli } from './helpers.js';

let wh: SmallWarehouse;

before(async () => {
  wh = await smallWarehouse({ 'default.events': 2, 'db.events': 3, 'db.users': 1 }, 'floe-query-messages-');
});
after(() => wh.close());

test('--warehouse that does not exist: says so and creates nothing', async () => {
  const missing = join(wh.dir, 'no-such-warehouse');
  const r = await runCli(['query', '--warehouse', missing, 'SELECT * FROM db.events']);
  assertFails(r, 2, new RegExp(`^floe: cli: query: warehouse ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist \\(floe query only reads, it creates nothing\\)`), /--warehouse/);
  assert.equal(existsSync(missing), false, 'no warehouse directory was created');
  // The same through FLOE_WAREHOUSE, and with a --table beside it.
  const env = await runCli(['query', '--table', `t=${join(wh.warehouse, 'db', 'events')}`, 'SELECT 1'], { FLOE_WAREHOUSE: missing });
  assertFails(env, 2, /warehouse .*no-such-warehouse does not exist/);
  assert.equal(existsSync(missing), false);
});

test('--catalog naming a database that does not exist: says so and creates no file', async () => {
  const emptyDir = join(wh.dir, 'empty');
  await mkdir(emptyDir);
  for (const uri of [join(emptyDir, 'catalog.db'), `sqlite:///${join(emptyDir, 'other.db')}`, `jdbc:sqlite:${join(emptyDir, 'third.db')}`]) {
    const r = await runCli(['query', '--catalog', uri, 'SELECT 1']);
    assertFails(r, 2, /^floe: cli: query: catalog database .*empty\/\w+\.db does not exist/);
  }
  assert.equal(existsSync(join(emptyDir, 'catalog.db')) || existsSync(join(emptyDir, 'other.db')) || existsSync(join(emptyDir, 'third.db')), false);
});

test('an existing warehouse still answers (the check does not refuse what exists)', async () => {
  assert.deepEqual(await cliJson(['query', '--warehouse', wh.warehouse, 'SELECT count(*) AS n FROM db.events']), [{ n: 3 }]);
});

test('the keyword namespace `default` works unquoted, quoted, and in any case', async () => {
  for (const sql of [
    'SELECT count(*) AS n FROM default.events',
    'SELECT count(*) AS n FROM "default".events',
    'SELECT count(*) AS n FROM DEFAULT . events',
    "SELECT count(*) AS n FROM default.events WHERE name <> 'default.events' -- default.events",
  ]) {
    assert.deepEqual(await cliJson(['query', '--warehouse', wh.warehouse, sql]), [{ n: 2 }], sql);
  }
  // Both namespaces in one statement.
  const rows = await cliJson(['query', '--warehouse', wh.warehouse, 'SELECT (SELECT count(*) FROM default.events) AS a, (SELECT count(*) FROM db.events) AS b']);
  assert.deepEqual(rows, [{ a: 2, b: 3 }]);
});

test('a table name without its namespace: which namespaces have it', async () => {
  const r = await runCli(['query', '--warehouse', wh.warehouse, 'SELECT * FROM events']);
  assertFails(r, 1, /^floe: query: table events needs its namespace: db\.events or default\.events \(catalog tables are named namespace\.table\)\n$/);
  const u = await runCli(['query', '--warehouse', wh.warehouse, 'SELECT * FROM users']);
  assertFails(u, 1, /^floe: query: table users needs its namespace: db\.users /);
});

test('a table that does not exist: the catalog and the tables it has, not DuckDB internals', async () => {
  const uri = join(wh.warehouse, 'catalog.db');
  const tables = 'db\\.events, db\\.users, default\\.events';
  for (const [sql, name] of [
    ['SELECT * FROM db.nope', 'db\\.nope'],
    ['SELECT * FROM nope.x', 'nope\\.x'],
    ['SELECT * FROM nothing', 'nothing'],
    ['SELECT * FROM default.nope', 'default\\.nope'],
  ] as const) {
    const r = await runCli(['query', '--warehouse', wh.warehouse, sql]);
    assertFails(
      r,
      1,
      new RegExp(`^floe: query: no table ${name} in catalog floe \\(${uri.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\); its tables: ${tables}\\. `),
      /--table NAME=LOCATION/,
    );
    assert.doesNotMatch(r.stderr, /Did you mean|pg_|duckdb_|Catalog Error/, sql);
  }
});

test('tables given with --table are listed when a name matches nothing', async () => {
  const r = await runCli(['query', '--warehouse', wh.warehouse, '--table', `t=${join(wh.warehouse, 'db', 'users')}`, 'SELECT * FROM tt']);
  assertFails(r, 1, /^floe: query: no table tt in catalog floe .*; tables given with --table: t\. /);
  assert.deepEqual(await cliJson(['query', '--warehouse', wh.warehouse, '--table', `t=${join(wh.warehouse, 'db', 'users')}`, 'SELECT count(*) AS n FROM t']), [{ n: 1 }]);
});

test('other SQL errors keep DuckDB\'s own words', async () => {
  const r = await runCli(['query', '--warehouse', wh.warehouse, 'SELECT nosuchcolumn FROM db.events']);
  assertFails(r, 1, /^floe: query: Binder Error: .*nosuchcolumn/);
});
