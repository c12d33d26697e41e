/**
 * `table.properties.format-version` in a pipeline config: it chose the version when the table was
 * created and is never stored (a reserved property), so a later run on the table must not try to
 * set it (the catalog refuses reserved properties); a version other than the table's is an error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newTableMetadata } from '../../src/iceberg/table-metadata.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { planTableEvolution } from '../../src/pipeline/table-evolution.js';

const md = (formatVersion: 2 | 3) =>
  newTableMetadata({
    location: 'file:///tmp/t',
    schema: { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'string' }] },
    properties: { 'format-version': String(formatVersion), keep: 'me' },
  });

const config = (properties: Record<string, string>) =>
  validateConfig({ source: { stream: 's' }, table: { name: 'db.t', create: true, properties }, transform: { columns: { id: 'string' } } });

test('the table the config created: nothing to commit', () => {
  const table = md(3);
  assert.equal(table['format-version'], 3);
  assert.equal(table.properties['format-version'], undefined, 'reserved: not stored');
  assert.deepEqual(planTableEvolution(table, config({ 'format-version': '3', keep: 'me' })), { requirements: [], updates: [], changes: [] });
});

test('a different format version is refused before any work', () => {
  assert.throws(
    () => planTableEvolution(md(2), config({ 'format-version': '3' })),
    /table\.properties\.format-version is 3 but the table db\.t is format v2; floe does not change a table's format version/,
  );
});
