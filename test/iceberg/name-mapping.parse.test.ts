/**
 * schema.name-mapping.default: parse/serialize, derive from a schema, look up, update.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../../src/errors.js';
import {
  mappedFieldId,
  nameMappingFromSchema,
  nameMappingLookup,
  parseNameMapping,
  serializeNameMapping,
  updateNameMapping,
} from '../../src/iceberg/name-mapping.js';
import { addColumn, renameColumn } from '../../src/iceberg/schema-evolution.js';
import { parseSchema } from '../../src/iceberg/schema-parse.js';

const SPEC_EXAMPLE = `[ { "field-id": 1, "names": ["id", "record_id"] },
   { "field-id": 2, "names": ["data"] },
   { "field-id": 3, "names": ["location"], "fields": [
       { "field-id": 4, "names": ["latitude", "lat"] },
       { "field-id": 5, "names": ["longitude", "long"] }
     ] } ]`;

test('parses the spec example and serializes it back', () => {
  const m = parseNameMapping(SPEC_EXAMPLE);
  assert.equal(m.length, 3);
  assert.deepEqual(m[0], { 'field-id': 1, names: ['id', 'record_id'] });
  assert.deepEqual(parseNameMapping(serializeNameMapping(m)), m);
  assert.equal(
    serializeNameMapping([{ names: ['a'] }]),
    '[{"names":["a"]}]',
    'field-id is optional and omitted when absent',
  );
});

test('lookups map a file column name path to a field id, names taken literally', () => {
  const m = parseNameMapping(SPEC_EXAMPLE);
  assert.equal(mappedFieldId(m, ['record_id']), 1);
  assert.equal(mappedFieldId(m, ['location', 'lat']), 4);
  assert.equal(mappedFieldId(m, ['location', 'longitude']), 5);
  assert.equal(mappedFieldId(m, ['location.lat']), undefined);
  assert.equal(mappedFieldId(m, ['missing']), undefined);
  assert.equal(mappedFieldId(m, ['id', 'deeper']), undefined);
  const dotted = parseNameMapping('[{"field-id": 7, "names": ["a.b"]}, {"names": ["legacy"]}]');
  const lookup = nameMappingLookup(dotted);
  assert.equal(lookup(['a.b'])?.['field-id'], 7);
  assert.deepEqual(lookup(['legacy']), { names: ['legacy'] });
});

test('invalid mappings are rejected with the position', () => {
  assert.throws(() => parseNameMapping('{"names": []}'), ValidationError);
  assert.throws(() => parseNameMapping('[{"field-id": 1}]'), /name-mapping: \[0\]: "names" must be a list of strings/);
  assert.throws(() => parseNameMapping('[{"field-id": "1", "names": ["a"]}]'), /"field-id" must be a non-negative int/);
  assert.throws(
    () => parseNameMapping('[{"field-id": 1, "names": ["a"]}, {"field-id": 2, "names": ["b", "a"]}]'),
    /name "a" is mapped twice at the same level/,
  );
  assert.throws(() => parseNameMapping('[{"names": ["s"], "fields": [{"names": [1]}]}]'), /s\[0\]: "names" must be a list of strings/);
});

const schema = parseSchema({
  type: 'struct',
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    {
      id: 2,
      name: 'tags',
      required: false,
      type: { type: 'list', 'element-id': 3, 'element-required': true, element: 'string' },
    },
    {
      id: 4,
      name: 'attrs',
      required: false,
      type: {
        type: 'map',
        'key-id': 5,
        key: 'string',
        'value-id': 6,
        'value-required': false,
        value: { type: 'struct', fields: [{ id: 7, name: 'v', required: false, type: 'int' }] },
      },
    },
  ],
});

test('nameMappingFromSchema maps structs, list elements and map keys/values', () => {
  const m = nameMappingFromSchema(schema);
  assert.deepEqual(m, [
    { 'field-id': 1, names: ['id'] },
    { 'field-id': 2, names: ['tags'], fields: [{ 'field-id': 3, names: ['element'] }] },
    {
      'field-id': 4,
      names: ['attrs'],
      fields: [
        { 'field-id': 5, names: ['key'] },
        { 'field-id': 6, names: ['value'], fields: [{ 'field-id': 7, names: ['v'] }] },
      ],
    },
  ]);
  assert.equal(mappedFieldId(m, ['attrs', 'value', 'v']), 7);
  assert.equal(mappedFieldId(m, ['tags', 'element']), 3);
});

test('updateNameMapping keeps old names after a rename and maps added columns', () => {
  const m = nameMappingFromSchema(schema);
  let s = renameColumn(schema, 'id', 'event_id', { schemaId: 1 });
  s = addColumn(s, { name: 'id', type: 'string' }, { schemaId: 2, lastColumnId: 7 }).schema;
  const u = updateNameMapping(m, s);
  // As in the reference implementation, a name reassigned to a new column moves to that column.
  assert.deepEqual(u[0], { 'field-id': 1, names: ['event_id'] });
  assert.equal(mappedFieldId(u, ['event_id']), 1);
  assert.equal(mappedFieldId(u, ['id']), 8);
  const renamedOnly = updateNameMapping(m, renameColumn(schema, 'attrs.value.v', 'value2', { schemaId: 1 }));
  assert.equal(mappedFieldId(renamedOnly, ['attrs', 'value', 'v']), 7);
  assert.equal(mappedFieldId(renamedOnly, ['attrs', 'value', 'value2']), 7);
  // The input mapping is not mutated.
  assert.deepEqual(m[0], { 'field-id': 1, names: ['id'] });
});
