import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bind, referencedFieldIds } from '../../src/iceberg/expression-binding.js';
import {
  and,
  equal,
  greaterThan,
  isIn,
  isNaN,
  isNull,
  lessThan,
  not,
  notIn,
  notNull,
  or,
  startsWith,
  describeExpression,
  type BoundExpression,
} from '../../src/iceberg/expressions.js';
import { ValidationError } from '../../src/errors.js';
import type { Schema } from '../../src/iceberg/types.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 3,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'Name', required: false, type: 'string' },
    { id: 3, name: 'day', required: false, type: 'date' },
    { id: 4, name: 'price', required: false, type: 'decimal(10,2)' },
    { id: 5, name: 'ratio', required: false, type: 'float' },
    { id: 6, name: 'ts', required: false, type: 'timestamptz' },
    {
      id: 7,
      name: 'loc',
      required: false,
      type: { type: 'struct', fields: [{ id: 8, name: 'city', required: false, type: 'string' }] },
    },
    {
      id: 9,
      name: 'tags',
      required: false,
      type: { type: 'list', 'element-id': 10, element: 'string', 'element-required': false },
    },
    { id: 11, name: 'n', required: false, type: 'int' },
  ],
};

test('binds by name and by field id to the same predicate', () => {
  const byName = bind(equal('id', 5n), schema);
  const byId = bind(equal(1, 5n), schema);
  assert.deepEqual(byName, byId);
  assert.deepEqual(byName, { op: 'eq', fieldId: 1, name: 'id', type: 'long', value: 5n });
});

test('case-insensitive binding is opt-in', () => {
  assert.throws(() => bind(equal('name', 'x'), schema), ValidationError);
  const b = bind(equal('name', 'x'), schema, false);
  assert.equal((b as { fieldId: number }).fieldId, 2);
});

test('nested struct fields bind by dotted name; fields inside lists are refused', () => {
  const b = bind(equal('loc.city', 'Paris'), schema);
  assert.deepEqual(b, { op: 'eq', fieldId: 8, name: 'loc.city', type: 'string', value: 'Paris' });
  assert.throws(() => bind(equal(10, 'x'), schema), /inside a list/);
  assert.throws(() => bind(equal('loc', 'x'), schema), /struct, not a primitive/);
});

test('literals are coerced to the column type', () => {
  const lit = (e: BoundExpression) => (e as { value: unknown }).value;
  assert.equal(lit(bind(equal('id', 5), schema)), 5n, 'number → long');
  assert.equal(lit(bind(equal('day', '2024-01-02'), schema)), 19724, 'ISO date → days');
  assert.equal(lit(bind(equal('price', '9.99'), schema)), 999n, 'decimal text → unscaled');
  assert.equal(lit(bind(equal('price', 1234n), schema)), 1234n, 'bigint is already unscaled');
  assert.equal(lit(bind(equal('ratio', 0.1), schema)), Math.fround(0.1), 'float literal rounds to float32');
  assert.equal(lit(bind(equal('ts', '2024-01-01T00:00:01+00:00'), schema)), 1704067201000000n);
  assert.equal(lit(bind(equal('n', 7n), schema)), 7, 'bigint → int');
});

test('invalid literals are refused with the column named', () => {
  assert.throws(() => bind(equal('id', 'x'), schema), /eq on 'id'/);
  assert.throws(() => bind(equal('n', 2 ** 31), schema), ValidationError);
  assert.throws(() => bind(equal('price', '1.234'), schema), /fractional digits/);
  assert.throws(() => bind(equal('Name', null), schema), /is_null/);
  assert.throws(() => bind(lessThan('ratio', Number.NaN), schema), /is_nan/);
  assert.throws(() => bind(isNaN('id'), schema), /cannot be NaN/);
  assert.throws(() => bind(startsWith('id', '1'), schema), /string column/);
  assert.throws(() => bind(equal('missing', 1), schema), /no column 'missing'/);
  assert.throws(() => bind(equal(99, 1), schema), /field id 99/);
});

test('not is pushed down to the predicates', () => {
  const b = bind(not(and(lessThan('id', 5n), or(isNull('Name'), isIn('n', [1, 2])))), schema);
  assert.equal(describeExpression(b), "(id gt_eq 5n or (not_null(Name) and n not_in (1, 2)))");
});

test('constant folding: required-field null checks, empty and singleton sets', () => {
  assert.deepEqual(bind(isNull('id'), schema), { op: 'false' });
  assert.deepEqual(bind(notNull('id'), schema), { op: 'true' });
  assert.deepEqual(bind(and(notNull('id'), equal('n', 1)), schema), { op: 'eq', fieldId: 11, name: 'n', type: 'int', value: 1 });
  assert.deepEqual(bind(isIn('n', []), schema), { op: 'false' });
  assert.deepEqual(bind(notIn('n', []), schema), { op: 'true' });
  assert.deepEqual(bind(isIn('n', [3, 3]), schema), { op: 'eq', fieldId: 11, name: 'n', type: 'int', value: 3 });
  assert.deepEqual(bind(or(isNull('id'), greaterThan('n', 1)), schema), { op: 'gt', fieldId: 11, name: 'n', type: 'int', value: 1 });
});

test('referencedFieldIds lists the columns a filter reads', () => {
  const b = bind(and(equal('id', 1n), or(isNull('Name'), equal('loc.city', 'x'))), schema);
  assert.deepEqual([...referencedFieldIds(b)].sort((x, y) => x - y), [1, 2, 8]);
});
