/** The SQL helpers of `query/table-names.ts`: keyword namespaces quoted, DuckDB's errors read. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  keywordNamespaceInSyntaxError,
  missingTableName,
  quoteKeywordNamespaces,
  unknownTableMessage,
  writtenTableName,
} from '../../src/query/table-names.js';

const KW = new Set(['default', 'order']);

test('quoteKeywordNamespaces quotes a keyword namespace in front of a dot, and nothing else', () => {
  const cases: [string, string][] = [
    ['SELECT * FROM default.t', 'SELECT * FROM "default".t'],
    ['select * from DEFAULT . events e join default."T2" x on true', 'select * from "DEFAULT" . events e join "default"."T2" x on true'],
    ['SELECT * FROM default.t, "order".x, order.y', 'SELECT * FROM "default".t, "order".x, "order".y'],
    // Not followed by a dot, or part of a longer name: untouched.
    ['INSERT INTO x DEFAULT VALUES', 'INSERT INTO x DEFAULT VALUES'],
    ['SELECT a FROM t ORDER BY a', 'SELECT a FROM t ORDER BY a'],
    ['SELECT * FROM memory.default.t', 'SELECT * FROM memory.default.t'],
    ['SELECT * FROM my_default.t, defaults.t', 'SELECT * FROM my_default.t, defaults.t'],
    // Inside literals, quoted identifiers and comments: untouched.
    ["SELECT 'default.t', 'it''s default.t' FROM default.t", `SELECT 'default.t', 'it''s default.t' FROM "default".t`],
    ['SELECT "default.t" FROM default.t', 'SELECT "default.t" FROM "default".t'],
    ['SELECT 1 -- default.t\nFROM default.t', 'SELECT 1 -- default.t\nFROM "default".t'],
    ['SELECT /* default.t */ 1 FROM default.t', 'SELECT /* default.t */ 1 FROM "default".t'],
    ['SELECT $$default.t$$, $q$default.t$q$ FROM default.t', 'SELECT $$default.t$$, $q$default.t$q$ FROM "default".t'],
  ];
  for (const [input, expected] of cases) assert.equal(quoteKeywordNamespaces(input, KW), expected, input);
  assert.equal(quoteKeywordNamespaces('SELECT * FROM default.t', new Set()), 'SELECT * FROM default.t');
  // Unterminated literals and comments do not loop or throw.
  assert.equal(quoteKeywordNamespaces("SELECT 'default.t", KW), "SELECT 'default.t");
  assert.equal(quoteKeywordNamespaces('SELECT 1 /* default.t', KW), 'SELECT 1 /* default.t');
});

test('missingTableName reads both forms of DuckDB\'s message; other errors give undefined', () => {
  assert.equal(missingTableName('Catalog Error: Table with name t does not exist!\nDid you mean "pg_tables"?'), 't');
  assert.equal(missingTableName('Catalog Error: Table with name "db.t" does not exist because schema "db" does not exist.'), 'db.t');
  assert.equal(missingTableName('Binder Error: Referenced column "x" not found in FROM clause!'), undefined);
});

test('writtenTableName recovers the namespace the statement wrote', () => {
  assert.equal(writtenTableName('SELECT * FROM db.nope', 'nope'), 'db.nope');
  assert.equal(writtenTableName('SELECT * FROM "db" . "nope"', 'nope'), 'db.nope');
  assert.equal(writtenTableName('SELECT * FROM nope', 'nope'), 'nope');
  assert.equal(writtenTableName('SELECT * FROM db.nopers, nope', 'nope'), 'nope');
  assert.equal(writtenTableName('SELECT 1', 'x.y'), 'x.y');
});

test('keywordNamespaceInSyntaxError names a catalog namespace DuckDB choked on', () => {
  assert.equal(keywordNamespaceInSyntaxError('Parser Error: syntax error at or near "default"', ['db', 'Default']), 'Default');
  assert.equal(keywordNamespaceInSyntaxError('Parser Error: syntax error at or near "FROM"', ['db']), undefined);
});

test('unknownTableMessage: the namespace a bare name needs, else the catalog and its tables', () => {
  const known = { catalog: 'floe (/wh/catalog.db)', catalogTables: ['db.events', 'default.events', 'db.users'], locationTables: [] };
  assert.equal(
    unknownTableMessage('events', known),
    'query: table events needs its namespace: db.events or default.events (catalog tables are named namespace.table)',
  );
  assert.equal(
    unknownTableMessage('db.nope', known),
    'query: no table db.nope in catalog floe (/wh/catalog.db); its tables: db.events, default.events, db.users. ' +
      'Name a catalog table namespace.table, or add a table by location with --table NAME=LOCATION',
  );
  assert.match(unknownTableMessage('t', { catalog: 'floe', catalogTables: [], locationTables: ['x'] }), /^query: no table t in catalog floe; it has no tables; tables given with --table: x\. /);
  assert.match(unknownTableMessage('t', { locationTables: [] }), /^query: no table t; no catalog is open \(--catalog, --warehouse\)\. /);
  const many = Array.from({ length: 45 }, (_, i) => `ns.t${i}`);
  assert.match(unknownTableMessage('ns.x', { catalog: 'c', catalogTables: many, locationTables: [] }), /ns\.t29 and 15 more\./);
});
