/**
 * Type promotion rules and schema evolution operations.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../../src/errors.js';
import { addColumn, canPromote, deleteColumn, makeOptional, promoteColumn, renameColumn } from '../../src/iceberg/schema-evolution.js';
import { findFieldByName, indexById } from '../../src/iceberg/schema-index.js';
import { parseSchema } from '../../src/iceberg/schema-parse.js';
import type { IcebergType, Schema } from '../../src/iceberg/types.js';

const base = (): Schema =>
  parseSchema({
    type: 'struct',
    'schema-id': 0,
    'identifier-field-ids': [1],
    fields: [
      { id: 1, name: 'id', required: true, type: 'long' },
      { id: 2, name: 'count', required: true, type: 'int' },
      { id: 3, name: 'price', required: false, type: 'decimal(9,2)' },
      {
        id: 4,
        name: 'loc',
        required: false,
        type: { type: 'struct', fields: [{ id: 5, name: 'lat', required: true, type: 'float' }] },
      },
      {
        id: 6,
        name: 'tags',
        required: false,
        type: { type: 'list', 'element-id': 7, 'element-required': true, element: 'int' },
      },
      {
        id: 8,
        name: 'events',
        required: false,
        type: {
          type: 'map',
          'key-id': 9,
          key: 'string',
          'value-id': 10,
          'value-required': true,
          value: { type: 'struct', fields: [{ id: 11, name: 'n', required: true, type: 'int' }] },
        },
      },
    ],
  });

test('canPromote: the spec table for v1/v2', () => {
  assert.ok(canPromote('int', 'long'));
  assert.ok(canPromote('float', 'double'));
  assert.ok(canPromote('decimal(9, 2)', 'decimal(18, 2)'));
  assert.ok(canPromote('decimal(9,2)', 'decimal(9, 2)'), 'same type is a no-op');
  assert.ok(canPromote('string', 'string'));
  assert.ok(!canPromote('long', 'int'));
  assert.ok(!canPromote('double', 'float'));
  assert.ok(!canPromote('decimal(9, 2)', 'decimal(18, 3)'), 'scale is fixed');
  assert.ok(!canPromote('decimal(18, 2)', 'decimal(9, 2)'), 'precision only widens');
  assert.ok(!canPromote('int', 'string'));
  assert.ok(!canPromote('int', 'double'));
  assert.ok(!canPromote('date', 'timestamp'));
  assert.ok(!canPromote('unknown', 'int'));
  const st: IcebergType = { type: 'struct', fields: [] };
  assert.ok(!canPromote(st, st));
});

test('canPromote: v3 adds unknown→any and date→timestamp(_ns), never to timestamptz', () => {
  assert.ok(canPromote('unknown', 'string', 3));
  assert.ok(canPromote('date', 'timestamp', 3));
  assert.ok(canPromote('date', 'timestamp_ns', 3));
  assert.ok(!canPromote('date', 'timestamptz', 3));
  assert.ok(!canPromote('date', 'timestamptz_ns', 3));
});

test('addColumn appends optional top-level and nested columns with fresh ids', () => {
  const s = base();
  const a = addColumn(s, { name: 'note', type: 'string', doc: 'free text' }, { schemaId: 1, lastColumnId: 11 });
  assert.equal(a.lastColumnId, 12);
  assert.equal(a.schema['schema-id'], 1);
  assert.deepEqual(a.schema.fields.at(-1), { id: 12, name: 'note', required: false, type: 'string', doc: 'free text' });
  assert.deepEqual(a.schema['identifier-field-ids'], [1]);
  // Nested struct parent; ids continue after last-column-id even when it is above the schema's max.
  const b = addColumn(a.schema, { parent: 'loc', name: 'lon', type: 'float' }, { schemaId: 2, lastColumnId: 20 });
  assert.equal(b.lastColumnId, 21);
  assert.equal(findFieldByName(b.schema, 'loc.lon')?.id, 21);
  // Map parent means its value struct; nested types get fresh ids, field first.
  const c = addColumn(
    b.schema,
    {
      parent: 'events',
      name: 'attrs',
      type: { type: 'map', 'key-id': 0, key: 'string', 'value-id': 0, value: 'string', 'value-required': false },
    },
    { schemaId: 3, lastColumnId: b.lastColumnId },
  );
  assert.equal(c.lastColumnId, 24);
  const attrs = findFieldByName(c.schema, 'events.value.attrs');
  assert.equal(attrs?.id, 22);
  assert.deepEqual([(attrs?.type as { 'key-id': number })['key-id'], (attrs?.type as { 'value-id': number })['value-id']], [23, 24]);
  assert.equal(findFieldByName(c.schema, 'events.attrs')?.id, 22);
  // The input schema is never mutated.
  assert.equal(s.fields.length, 6);
  assert.equal(indexById(s).size, 11);
});

test('addColumn refuses required columns without a default and duplicate names', () => {
  const s = base();
  assert.throws(
    () => addColumn(s, { name: 'x', type: 'int', required: true }, { schemaId: 1, lastColumnId: 11 }),
    (e: unknown) => e instanceof ValidationError && /schema: cannot add required column 'x' without a default value/.test(e.message),
  );
  assert.throws(() => addColumn(s, { name: 'count', type: 'int' }, { schemaId: 1, lastColumnId: 11 }), /cannot add column 'count': name already exists/);
  assert.throws(() => addColumn(s, { parent: 'loc', name: 'lat', type: 'int' }, { schemaId: 1, lastColumnId: 11 }), /'loc.lat': name already exists/);
  assert.throws(() => addColumn(s, { parent: 'tags', name: 'y', type: 'int' }, { schemaId: 1, lastColumnId: 11 }), /parent 'tags' is not a struct/);
  assert.throws(() => addColumn(s, { parent: 'nope', name: 'y', type: 'int' }, { schemaId: 1, lastColumnId: 11 }), /cannot add a column to 'nope': no such column/);
  assert.throws(() => addColumn(s, { name: 'a.b', type: 'int' }, { schemaId: 1, lastColumnId: 11 }), /ambiguous name/);
});

test('addColumn with a default (v3) stores initial-default and write-default in JSON form', () => {
  const r = addColumn(base(), { name: 'region', type: 'string', required: true, defaultValue: 'eu' }, { schemaId: 1, lastColumnId: 11 });
  const f = findFieldByName(r.schema, 'region');
  assert.equal(f?.required, true);
  assert.equal(f?.['initial-default'], 'eu');
  assert.equal(f?.['write-default'], 'eu');
  const d = addColumn(base(), { name: 'day', type: 'date', defaultValue: 17486 }, { schemaId: 1, lastColumnId: 11 });
  assert.equal(findFieldByName(d.schema, 'day')?.['initial-default'], '2017-11-16');
  assert.throws(() => addColumn(base(), { name: 'n', type: 'int', defaultValue: 'x' }, { schemaId: 1, lastColumnId: 11 }), /invalid default value/);
  // The result parses back (defaults validated on read too).
  parseSchema(JSON.parse(JSON.stringify(d.schema)));
});

test('renameColumn keeps ids and refuses clashes and non-fields', () => {
  const s = renameColumn(base(), 'loc.lat', 'latitude', { schemaId: 1 });
  assert.equal(findFieldByName(s, 'loc.latitude')?.id, 5);
  assert.equal(findFieldByName(s, 'loc.lat'), undefined);
  assert.equal(s['schema-id'], 1);
  assert.throws(() => renameColumn(base(), 'count', 'price', { schemaId: 1 }), /cannot rename 'count' to 'price': name already exists/);
  assert.throws(() => renameColumn(base(), 'tags.element', 'x', { schemaId: 1 }), /only struct fields have names/);
  assert.throws(() => renameColumn(base(), 'missing', 'x', { schemaId: 1 }), /cannot rename 'missing': no such column/);
});

test('promoteColumn allows only valid promotions, with a clear error otherwise', () => {
  let s = promoteColumn(base(), 'count', 'long', { schemaId: 1 });
  assert.equal(findFieldByName(s, 'count')?.type, 'long');
  s = promoteColumn(s, 'price', 'decimal(12,2)', { schemaId: 2 });
  assert.equal(findFieldByName(s, 'price')?.type, 'decimal(12, 2)');
  s = promoteColumn(s, 'loc.lat', 'double', { schemaId: 3 });
  assert.equal(findFieldByName(s, 'loc.lat')?.type, 'double');
  s = promoteColumn(s, 'tags.element', 'long', { schemaId: 4 });
  assert.equal(findFieldByName(s, 'tags.element')?.type, 'long');
  assert.throws(
    () => promoteColumn(base(), 'count', 'string', { schemaId: 1 }),
    /schema: cannot change column 'count' from int to string: only int→long, float→double, decimal\(P,S\)→decimal\(P2,S\) with P2≥P are allowed/,
  );
  assert.throws(() => promoteColumn(base(), 'price', 'decimal(12, 3)', { schemaId: 1 }), /from decimal\(9, 2\) to decimal\(12, 3\)/);
  assert.throws(() => promoteColumn(base(), 'loc', 'string', { schemaId: 1 }), /it is a struct, not a primitive/);
  assert.throws(() => promoteColumn(base(), 'events.key', 'string', { schemaId: 1 }), /map keys cannot be changed/);
});

test('makeOptional relaxes fields, list elements and map values, not identifier fields', () => {
  let s = makeOptional(base(), 'count', { schemaId: 1 });
  assert.equal(findFieldByName(s, 'count')?.required, false);
  s = makeOptional(s, 'tags.element', { schemaId: 2 });
  assert.equal(findFieldByName(s, 'tags.element')?.required, false);
  s = makeOptional(s, 'events.value', { schemaId: 3 });
  assert.equal(findFieldByName(s, 'events.value')?.required, false);
  assert.throws(() => makeOptional(base(), 'id', { schemaId: 1 }), /cannot make 'id' optional: it is an identifier field/);
  assert.throws(() => makeOptional(base(), 'events.key', { schemaId: 1 }), /map keys are always required/);
});

test('deleteColumn removes a field and its children, not identifier fields', () => {
  const s = deleteColumn(base(), 'loc', { schemaId: 1 });
  assert.equal(findFieldByName(s, 'loc'), undefined);
  assert.equal(indexById(s).has(5), false);
  const t = deleteColumn(base(), 'events.value.n', { schemaId: 1 });
  assert.equal(findFieldByName(t, 'events.n'), undefined);
  assert.throws(() => deleteColumn(base(), 'id', { schemaId: 1 }), /cannot delete 'id': it is or contains identifier field id 1/);
  assert.throws(() => deleteColumn(base(), 'tags.element', { schemaId: 1 }), /list elements and map keys\/values cannot be deleted/);
});
