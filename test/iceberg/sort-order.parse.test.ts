/**
 * Sort orders: parsing, validation, equivalence, rebinding.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignFreshIds } from '../../src/iceberg/schema-fresh-ids.js';
import { parseSchema } from '../../src/iceberg/schema-parse.js';
import {
  isUnsorted,
  parseSortOrder,
  reassignSortOrderSourceIds,
  sortOrdersEquivalent,
  sortOrderToString,
  unsorted,
  validateSortOrder,
} from '../../src/iceberg/sort-order.js';

const schema = parseSchema({
  type: 'struct',
  fields: [
    { id: 1, name: 'x', required: true, type: 'long' },
    { id: 2, name: 'y', required: true, type: 'long' },
    { id: 3, name: 'z', required: true, type: 'long' },
    { id: 4, name: 's', required: false, type: { type: 'struct', fields: [] } },
  ],
});

// The sort order of TableMetadataV2Valid.json.
const V2_ORDER = {
  'order-id': 3,
  fields: [
    { transform: 'identity', 'source-id': 2, direction: 'asc', 'null-order': 'nulls-first' },
    { transform: 'bucket[4]', 'source-id': 3, direction: 'desc', 'null-order': 'nulls-last' },
  ],
};

test('parses the spec example and validates it', () => {
  const o = parseSortOrder(V2_ORDER);
  assert.deepEqual(o, V2_ORDER);
  validateSortOrder(o, schema);
  assert.equal(sortOrderToString(o, schema), '[y ASC NULLS FIRST, bucket[4](z) DESC NULLS LAST]');
});

test('unsorted order is id 0 with no fields, and id 0 is reserved for it', () => {
  assert.deepEqual(unsorted(), { 'order-id': 0, fields: [] });
  assert.ok(isUnsorted(parseSortOrder({ 'order-id': 0, fields: [] })));
  assert.throws(() => parseSortOrder({ ...V2_ORDER, 'order-id': 0 }), /sort-order: sort order id 0 is reserved for the unsorted order/);
  assert.throws(() => parseSortOrder({ 'order-id': 2, fields: [] }), /unsorted order must have id 0, got 2/);
  assert.equal(sortOrderToString(unsorted()), '[] (unsorted)');
});

test('direction and null order are normalized; bad values are named', () => {
  const o = parseSortOrder({ 'order-id': 1, fields: [{ transform: 'identity', 'source-id': 1, direction: 'ASC', 'null-order': 'NULLS_LAST' }] });
  assert.equal(o.fields[0]?.direction, 'asc');
  assert.equal(o.fields[0]?.['null-order'], 'nulls-last');
  assert.throws(
    () => parseSortOrder({ 'order-id': 1, fields: [{ transform: 'identity', 'source-id': 1, direction: 'up', 'null-order': 'nulls-last' }] }, 'x.json'),
    /sort-order: x.json: sort order 1 field #0: direction must be "asc" or "desc", got "up"/,
  );
  assert.throws(() => parseSortOrder({ 'order-id': 1, fields: [{ transform: 'identity', direction: 'asc', 'null-order': 'nulls-last' }] }), /missing "source-id"/);
});

test('validation checks sources and transforms; unknown transforms tolerated', () => {
  const one = (f: object) => parseSortOrder({ 'order-id': 1, fields: [{ direction: 'asc', 'null-order': 'nulls-first', ...f }] });
  assert.throws(() => validateSortOrder(one({ transform: 'identity', 'source-id': 9 }), schema), /cannot find source column with id 9/);
  assert.throws(() => validateSortOrder(one({ transform: 'day', 'source-id': 1 }), schema), /transform day cannot be applied to 'x' of type long/);
  assert.throws(() => validateSortOrder(one({ transform: 'identity', 'source-id': 4 }), schema), /source column 's' is not a primitive type/);
  validateSortOrder(one({ transform: 'zorder', 'source-id': 1 }), schema);
});

test('equivalence ignores order ids', () => {
  const a = parseSortOrder(V2_ORDER);
  assert.ok(sortOrdersEquivalent(a, { ...a, 'order-id': 7 }));
  assert.ok(!sortOrdersEquivalent(a, { ...a, fields: [...a.fields].reverse() }));
  assert.ok(sortOrdersEquivalent(unsorted(), unsorted()));
});

test('reassignSortOrderSourceIds rebinds by column name', () => {
  let n = 10;
  const fresh = assignFreshIds({ ...schema, fields: [...schema.fields].reverse() }, () => ++n);
  const o = reassignSortOrderSourceIds(parseSortOrder(V2_ORDER), schema, fresh);
  assert.equal(o['order-id'], 1);
  assert.deepEqual(
    o.fields.map((f) => f['source-id']),
    [13, 12],
  );
  assert.deepEqual(reassignSortOrderSourceIds(unsorted(), schema, fresh), unsorted());
  assert.throws(() => reassignSortOrderSourceIds(parseSortOrder(V2_ORDER), schema, { ...fresh, fields: [] }), /source column 'y' not found/);
});
