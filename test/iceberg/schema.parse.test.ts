/**
 * Schema parsing and validation, type helpers and field indexes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ValidationError } from '../../src/errors.js';
import { parseJson } from '../../src/iceberg/json.js';
import { schemaToString } from '../../src/iceberg/schema-display.js';
import { assignFreshIds } from '../../src/iceberg/schema-fresh-ids.js';
import { columnName, findFieldByName, indexById, indexByName, indexParents, maxFieldId } from '../../src/iceberg/schema-index.js';
import { parseSchema, parseType } from '../../src/iceberg/schema-parse.js';
import { decimalParams, findV3Features, fixedLength, isV3OnlyType, primitiveKind, typesEqual } from '../../src/iceberg/schema-types.js';
import type { Schema } from '../../src/iceberg/types.js';
import { SKIP_NO_SHARED, fixturePath } from '../helpers/shared.js';

const NESTED = {
  type: 'struct',
  'schema-id': 3,
  'identifier-field-ids': [1],
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'data', required: false, type: 'string', doc: 'payload' },
    {
      id: 3,
      name: 'location',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 4, name: 'lat', required: true, type: 'double' },
          { id: 5, name: 'lon', required: true, type: 'double' },
        ],
      },
    },
    {
      id: 6,
      name: 'points',
      required: false,
      type: {
        type: 'list',
        'element-id': 7,
        'element-required': true,
        element: { type: 'struct', fields: [{ id: 8, name: 'x', required: true, type: 'Decimal(9,2)' }] },
      },
    },
    {
      id: 9,
      name: 'props',
      required: false,
      type: { type: 'map', 'key-id': 10, key: 'string', 'value-id': 11, 'value-required': false, value: 'fixed[16]' },
    },
  ],
};

test('parses a nested schema and normalizes primitive spellings', () => {
  const s = parseSchema(NESTED);
  assert.equal(s['schema-id'], 3);
  assert.deepEqual(s['identifier-field-ids'], [1]);
  assert.equal(s.fields[1]?.doc, 'payload');
  const points = s.fields[3]?.type as { element: { fields: { type: string }[] } };
  assert.equal(points.element.fields[0]?.type, 'decimal(9, 2)');
  assert.equal(maxFieldId(s), 11);
});

test('primitive helpers', () => {
  assert.equal(primitiveKind('decimal(9, 2)'), 'decimal');
  assert.equal(primitiveKind('fixed[16]'), 'fixed');
  assert.equal(primitiveKind('geography(srid:4326, spherical)'), 'geography');
  assert.equal(primitiveKind({ type: 'struct', fields: [] }), undefined);
  assert.deepEqual(decimalParams('decimal(38,10)'), { precision: 38, scale: 10 });
  assert.equal(decimalParams('long'), undefined);
  assert.equal(fixedLength('fixed[3]'), 3);
  assert.equal(fixedLength('binary'), undefined);
  assert.equal(parseType('decimal(9,2)'), 'decimal(9, 2)');
  assert.equal(parseType('geometry(srid:4326)'), 'geometry(srid:4326)');
  assert.equal(parseType('GEOMETRY'), 'geometry');
  assert.throws(() => parseType('decimal(39, 2)'), /schema: invalid type "decimal\(39, 2\)": decimal precision must be between 1 and 38/);
  assert.throws(() => parseType('int32'), /Cannot parse type from json: unknown primitive type "int32"/);
});

test('v3-only types are recognized and reported', () => {
  for (const t of ['timestamp_ns', 'timestamptz_ns', 'unknown', 'variant', 'geometry', 'geography(srid:4326, vincenty)']) {
    assert.ok(isV3OnlyType(parseType(t)), t);
  }
  for (const t of ['timestamp', 'timestamptz', 'decimal(9, 2)', 'uuid']) assert.ok(!isV3OnlyType(parseType(t)), t);
  assert.ok(isV3OnlyType({ type: 'list', 'element-id': 1, element: 'timestamp_ns', 'element-required': false }));
  const s = parseSchema({
    type: 'struct',
    fields: [
      { id: 1, name: 'a', required: false, type: 'variant' },
      { id: 2, name: 'b', required: false, type: 'int', 'initial-default': 5, 'write-default': 5 },
    ],
  });
  assert.deepEqual(findV3Features(s), ['a: type variant', 'b: initial-default', 'b: write-default']);
  assert.deepEqual(findV3Features(parseSchema(NESTED)), []);
});

test('missing schema-id reads as 0 (v1)', () => {
  assert.equal(parseSchema({ type: 'struct', fields: [] })['schema-id'], 0);
});

test('a missing type is "Cannot parse type from json" and names the field', () => {
  assert.throws(
    () => parseSchema({ type: 'struct', fields: [{ id: 1, name: 'x', required: true }] }, 'v1.metadata.json'),
    (e: unknown) =>
      e instanceof ValidationError &&
      /^schema: v1\.metadata\.json: Cannot parse type from json for field 'x' \(id 1\): missing "type"$/.test(e.message),
  );
  assert.throws(() => parseSchema({ fields: [] }), /schema: Cannot parse type from json: schema has no "type"/);
  assert.throws(
    () => parseSchema({ type: 'struct', fields: [{ id: 1, name: 'l', required: true, type: { type: 'list', 'element-id': 2, 'element-required': true } }] }),
    /Cannot parse type from json for list for 'l': missing "element"/,
  );
});

test('V1MissingSchemaType fixture is rejected with the Java message', { skip: SKIP_NO_SHARED }, () => {
  const md = parseJson(readFileSync(fixturePath('vectors', 'table-metadata', 'TableMetadataV1MissingSchemaType.json'), 'utf8')) as {
    schema: unknown;
  };
  assert.throws(() => parseSchema(md.schema, 'TableMetadataV1MissingSchemaType.json'), /Cannot parse type from json/);
});

test('schemas of the valid metadata fixtures parse', { skip: SKIP_NO_SHARED }, () => {
  for (const name of ['TableMetadataV2Valid.json', 'TableMetadataV3ValidMinimal.json', 'TableMetadataV1Valid.json']) {
    const md = parseJson(readFileSync(fixturePath('vectors', 'table-metadata', name), 'utf8')) as { schemas?: unknown[]; schema?: unknown };
    for (const s of md.schemas ?? [md.schema]) {
      const parsed = parseSchema(s, name);
      assert.ok(parsed.fields.length > 0, name);
    }
  }
});

test('structural errors name the field', () => {
  const bad = (fields: unknown[]) => () => parseSchema({ type: 'struct', fields });
  assert.throws(bad([{ id: 1, name: 'a', required: 'yes', type: 'int' }]), /field 'a' \(id 1\): "required" must be a boolean/);
  assert.throws(bad([{ id: -1, name: 'a', required: true, type: 'int' }]), /field 'a': "id" must be a non-negative/);
  assert.throws(
    bad([
      { id: 1, name: 'a', required: true, type: 'int' },
      { id: 1, name: 'b', required: true, type: 'int' },
    ]),
    /duplicate field id 1 \('a' and 'b'\)/,
  );
  assert.throws(
    bad([
      { id: 1, name: 'a', required: true, type: 'int' },
      { id: 2, name: 'a', required: true, type: 'int' },
    ]),
    /duplicate field name 'a'/,
  );
  assert.throws(
    bad([{ id: 1, name: 'm', required: true, type: { type: 'map', 'key-id': 1, key: 'string', 'value-id': 2, 'value-required': true, value: 'int' } }]),
    /duplicate field id 1 \('m' and 'm.key'\)/,
  );
  assert.throws(bad([{ id: 1, name: 'u', required: true, type: 'unknown' }]), /field 'u' \(id 1\): a column of type unknown must be optional/);
});

test('defaults are validated against their types', () => {
  const ok = parseSchema({
    type: 'struct',
    fields: [
      { id: 1, name: 'ts', required: true, type: 'timestamptz', 'initial-default': '2017-11-16T22:31:08.123456+00:00', 'write-default': '2017-11-16T22:31:08.123456+00:00' },
      { id: 2, name: 'p', required: false, type: { type: 'struct', fields: [] }, 'initial-default': {} },
    ],
  });
  assert.equal(ok.fields[0]?.['initial-default'], '2017-11-16T22:31:08.123456+00:00');
  assert.throws(
    () => parseSchema({ type: 'struct', fields: [{ id: 1, name: 'd', required: false, type: 'date', 'initial-default': 'tomorrow' }] }),
    /field 'd' \(id 1\): invalid initial-default "tomorrow"/,
  );
  assert.throws(
    () => parseSchema({ type: 'struct', fields: [{ id: 1, name: 'g', required: false, type: 'geometry', 'write-default': 'POINT (1 2)' }] }),
    /write-default must be null for type geometry/,
  );
  assert.throws(
    () => parseSchema({ type: 'struct', fields: [{ id: 1, name: 'p', required: false, type: { type: 'struct', fields: [] }, 'initial-default': { '2': 1 } }] }),
    /must be null or \{\}/,
  );
});

test('identifier fields must be required primitives, not float, not under optional structs or lists', () => {
  const base = (ids: number[], fields: unknown[]) => () => parseSchema({ type: 'struct', 'identifier-field-ids': ids, fields });
  assert.throws(base([9], [{ id: 1, name: 'a', required: true, type: 'int' }]), /identifier field id 9: field does not exist/);
  assert.throws(base([1], [{ id: 1, name: 'a', required: false, type: 'int' }]), /not a required field/);
  assert.throws(base([1], [{ id: 1, name: 'a', required: true, type: 'double' }]), /must not be float or double/);
  assert.throws(base([3], NESTED.fields), /identifier field id 3 \('location'\): not a primitive type field/);
  assert.throws(base([4], NESTED.fields), /identifier field id 4 \('location.lat'\): must not be float or double/);
  const inOptional = [{ id: 1, name: 's', required: false, type: { type: 'struct', fields: [{ id: 2, name: 'k', required: true, type: 'int' }] } }];
  assert.throws(base([2], inOptional), /identifier field id 2 \('s.k'\): must not be nested in an optional struct/);
  const inRequired = [{ id: 1, name: 's', required: true, type: { type: 'struct', fields: [{ id: 2, name: 'k', required: true, type: 'int' }] } }];
  assert.deepEqual(base([2], inRequired)()['identifier-field-ids'], [2]);
  assert.throws(base([8], NESTED.fields), /must not be nested in a list or map/);
});

test('indexes cover every nesting level', () => {
  const s = parseSchema(NESTED);
  const byId = indexById(s);
  assert.deepEqual([...byId.keys()].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.equal(byId.get(7)?.name, 'element');
  assert.equal(byId.get(10)?.name, 'key');
  assert.equal(byId.get(11)?.type, 'fixed[16]');
  const parents = indexParents(s);
  assert.equal(parents.get(4), 3);
  assert.equal(parents.get(8), 7);
  assert.equal(parents.get(7), 6);
  assert.equal(parents.get(11), 9);
  assert.equal(parents.has(1), false);
  const byName = indexByName(s);
  assert.equal(byName.get('points.element.x'), 8);
  assert.equal(byName.get('points.x'), 8);
  assert.equal(byName.get('props.key'), 10);
  assert.equal(columnName(s, 8), 'points.element.x');
  assert.equal(findFieldByName(s, 'location.lat')?.id, 4);
  assert.equal(findFieldByName(s, 'Location.LAT'), undefined);
  assert.equal(findFieldByName(s, 'Location.LAT', { caseInsensitive: true })?.id, 4);
  assert.equal(findFieldByName(s, 'nope'), undefined);
});

test('assignFreshIds numbers struct fields before their children, like Java', () => {
  const s = parseSchema(NESTED);
  let next = 0;
  const fresh = assignFreshIds({ ...s, fields: [s.fields[2], s.fields[3], s.fields[0]] } as Schema, () => ++next);
  // location=1, points=2, id=3; then location's children 4,5; points' element 6 and its x 7.
  assert.deepEqual(
    [...indexById(fresh)].map(([id, f]) => `${id}:${f.name}`),
    ['1:location', '4:lat', '5:lon', '2:points', '6:element', '7:x', '3:id'],
  );
  assert.deepEqual(fresh['identifier-field-ids'], [3]);
});

test('typesEqual compares ids, names, requiredness and normalized primitives', () => {
  assert.ok(typesEqual('decimal(9,2)', 'decimal(9, 2)'));
  assert.ok(!typesEqual('decimal(9,2)', 'decimal(10,2)'));
  const a = parseSchema(NESTED);
  const b = parseSchema(NESTED);
  assert.ok(typesEqual(a, b));
  assert.ok(!typesEqual(a, { ...b, fields: b.fields.slice(1) }));
});

test('schemaToString renders a readable tree', () => {
  const text = schemaToString(parseSchema(NESTED));
  assert.match(text, /^table \{\n {2}1: id: required long\n {2}2: data: optional string \(payload\)\n {2}3: location: optional struct \{\n {4}4: lat: required double/);
  assert.match(text, /6: points: optional list<7: element: required>\n {4}element: struct \{\n {6}8: x: required decimal\(9, 2\)/);
  assert.match(text, /9: props: optional map<string, fixed\[16\]>\n\}$/);
});
