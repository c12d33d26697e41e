/** checkRequirements (every REST requirement: holds / conflicts) and requirementsForUpdates. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommitConflictError } from '../../src/errors.js';
import type { TableRequirement, TableUpdate } from '../../src/iceberg/commit.js';
import type { TableMetadata } from '../../src/iceberg/metadata.js';
import { newTableMetadata } from '../../src/iceberg/table-metadata.js';
import { applyUpdates, checkRequirements, requirementsForUpdates } from '../../src/iceberg/update-metadata.js';

const SNAP = 8000000000000000001n;

/** A v2 table with one snapshot on main (id beyond 2^53) and a tag. */
function table(): TableMetadata {
  const md = newTableMetadata({
    location: 'file:///t',
    schema: { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'long' }] },
    partitionSpec: { 'spec-id': 0, fields: [{ 'source-id': 1, 'field-id': 1000, name: 'id_bucket', transform: 'bucket[4]' }] },
    sortOrder: { 'order-id': 1, fields: [{ transform: 'identity', 'source-id': 1, direction: 'asc', 'null-order': 'nulls-first' }] },
    tableUuid: 'AAAAAAAA-7284-442c-9aea-15fee620737c',
    nowMs: 1000,
  });
  return applyUpdates(
    md,
    [
      {
        action: 'add-snapshot',
        snapshot: { 'snapshot-id': SNAP, 'sequence-number': 1n, 'timestamp-ms': 2000, 'manifest-list': 'file:///t/m.avro', summary: { operation: 'append' } },
      },
      { action: 'set-snapshot-ref', 'ref-name': 'main', 'snapshot-id': SNAP, type: 'branch' },
      { action: 'set-snapshot-ref', 'ref-name': 'v1', 'snapshot-id': SNAP, type: 'tag' },
    ],
    3000,
  );
}

function conflicts(base: TableMetadata | undefined, req: TableRequirement, fragment: string): void {
  assert.throws(
    () => checkRequirements(base, [req]),
    (e: unknown) => {
      assert.ok(e instanceof CommitConflictError, `expected CommitConflictError, got ${String(e)}`);
      assert.equal(e.retriable, true);
      assert.ok(e.message.startsWith('commit: requirement failed: '), e.message);
      assert.ok(e.message.includes(fragment), e.message);
      return true;
    },
  );
}

test('assert-create: holds without a table, conflicts with one', () => {
  checkRequirements(undefined, [{ type: 'assert-create' }]);
  conflicts(table(), { type: 'assert-create' }, 'table already exists');
});

test('requirements other than assert-create conflict when the table does not exist', () => {
  conflicts(undefined, { type: 'assert-current-schema-id', 'current-schema-id': 0 }, 'table does not exist');
});

test('assert-table-uuid: holds case-insensitively, conflicts on another uuid', () => {
  const md = table();
  checkRequirements(md, [{ type: 'assert-table-uuid', uuid: 'aaaaaaaa-7284-442C-9aea-15fee620737c' }]);
  conflicts(md, { type: 'assert-table-uuid', uuid: 'bbbbbbbb-7284-442c-9aea-15fee620737c' }, 'table UUID does not match');
});

test('assert-ref-snapshot-id: current value holds; changed, created and missing refs conflict', () => {
  const md = table();
  checkRequirements(md, [
    { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': SNAP },
    { type: 'assert-ref-snapshot-id', ref: 'v1', 'snapshot-id': SNAP },
    { type: 'assert-ref-snapshot-id', ref: 'dev', 'snapshot-id': null },
  ]);
  conflicts(md, { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 5n }, `branch main has changed: expected id 5 != ${SNAP}`);
  conflicts(md, { type: 'assert-ref-snapshot-id', ref: 'v1', 'snapshot-id': 5n }, 'tag v1 has changed');
  conflicts(md, { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }, 'branch main was created concurrently');
  conflicts(md, { type: 'assert-ref-snapshot-id', ref: 'dev', 'snapshot-id': 5n }, 'branch or tag dev is missing, expected 5');
});

test('assert-last-assigned-field-id', () => {
  const md = table();
  checkRequirements(md, [{ type: 'assert-last-assigned-field-id', 'last-assigned-field-id': 1 }]);
  conflicts(md, { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': 2 }, 'last assigned field id changed: expected id 2 != 1');
});

test('assert-current-schema-id', () => {
  const md = table();
  checkRequirements(md, [{ type: 'assert-current-schema-id', 'current-schema-id': 0 }]);
  conflicts(md, { type: 'assert-current-schema-id', 'current-schema-id': 1 }, 'current schema changed: expected id 1 != 0');
});

test('assert-last-assigned-partition-id', () => {
  const md = table();
  checkRequirements(md, [{ type: 'assert-last-assigned-partition-id', 'last-assigned-partition-id': 1000 }]);
  conflicts(md, { type: 'assert-last-assigned-partition-id', 'last-assigned-partition-id': 999 }, 'last assigned partition id changed');
});

test('assert-default-spec-id', () => {
  const md = table();
  checkRequirements(md, [{ type: 'assert-default-spec-id', 'default-spec-id': 0 }]);
  conflicts(md, { type: 'assert-default-spec-id', 'default-spec-id': 1 }, 'default partition spec changed');
});

test('assert-default-sort-order-id', () => {
  const md = table();
  checkRequirements(md, [{ type: 'assert-default-sort-order-id', 'default-sort-order-id': 1 }]);
  conflicts(md, { type: 'assert-default-sort-order-id', 'default-sort-order-id': 0 }, 'default sort order changed: expected id 0 != 1');
});

test('the first failing requirement of several is reported', () => {
  const md = table();
  conflicts(md, { type: 'assert-current-schema-id', 'current-schema-id': 3 }, 'expected id 3');
  assert.throws(
    () =>
      checkRequirements(md, [
        { type: 'assert-table-uuid', uuid: md['table-uuid'] },
        { type: 'assert-default-spec-id', 'default-spec-id': 4 },
        { type: 'assert-current-schema-id', 'current-schema-id': 3 },
      ]),
    /default partition spec changed/,
  );
});

test('requirementsForUpdates derives the natural requirements, once each', () => {
  const md = table();
  const updates: TableUpdate[] = [
    { action: 'add-schema', schema: { type: 'struct', 'schema-id': 1, fields: [] } },
    { action: 'set-current-schema', 'schema-id': -1 },
    { action: 'add-spec', spec: { 'spec-id': 1, fields: [] } },
    { action: 'set-default-spec', 'spec-id': -1 },
    { action: 'add-sort-order', 'sort-order': { 'order-id': 0, fields: [] } },
    { action: 'set-default-sort-order', 'sort-order-id': -1 },
    { action: 'set-snapshot-ref', 'ref-name': 'main', 'snapshot-id': SNAP, type: 'branch' },
    { action: 'set-snapshot-ref', 'ref-name': 'main', 'snapshot-id': SNAP, type: 'branch' },
    { action: 'set-snapshot-ref', 'ref-name': 'audit', 'snapshot-id': SNAP, type: 'tag' },
    { action: 'set-properties', updates: { a: 'b' } },
  ];
  assert.deepEqual(requirementsForUpdates(md, updates), [
    { type: 'assert-table-uuid', uuid: md['table-uuid'] },
    { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': 1 },
    { type: 'assert-current-schema-id', 'current-schema-id': 0 },
    { type: 'assert-last-assigned-partition-id', 'last-assigned-partition-id': 1000 },
    { type: 'assert-default-spec-id', 'default-spec-id': 0 },
    { type: 'assert-default-sort-order-id', 'default-sort-order-id': 1 },
    { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': SNAP },
    { type: 'assert-ref-snapshot-id', ref: 'audit', 'snapshot-id': null },
  ]);
  // They hold against the base they were derived from…
  checkRequirements(md, requirementsForUpdates(md, updates));
  // …and a table being created only asserts that it does not exist yet.
  assert.deepEqual(requirementsForUpdates(undefined, updates), [{ type: 'assert-create' }]);
});

test('derived requirements catch a concurrent commit to main', () => {
  const base = table();
  const updates: TableUpdate[] = [{ action: 'set-snapshot-ref', 'ref-name': 'main', 'snapshot-id': SNAP, type: 'branch' }];
  const reqs = requirementsForUpdates(base, updates);
  const other = applyUpdates(
    base,
    [
      {
        action: 'add-snapshot',
        snapshot: { 'snapshot-id': 77n, 'parent-snapshot-id': SNAP, 'sequence-number': 2n, 'timestamp-ms': 4000, 'manifest-list': 'file:///t/m2.avro', summary: { operation: 'append' } },
      },
      { action: 'set-snapshot-ref', 'ref-name': 'main', 'snapshot-id': 77n, type: 'branch' },
    ],
    4000,
  );
  assert.throws(() => checkRequirements(other, reqs), CommitConflictError);
});

test('assert-ref-snapshot-id accepts a snapshot id decoded from JSON as a number', () => {
  const md = applyUpdates(table(), [
    {
      action: 'add-snapshot',
      snapshot: { 'snapshot-id': 42n, 'parent-snapshot-id': SNAP, 'sequence-number': 2n, 'timestamp-ms': 4000, 'manifest-list': 'file:///t/m2.avro', summary: { operation: 'append' } },
    },
    { action: 'set-snapshot-ref', 'ref-name': 'main', 'snapshot-id': 42n, type: 'branch' },
  ], 4000);
  checkRequirements(md, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 42 as unknown as bigint }]);
  conflicts(md, { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 41 as unknown as bigint }, 'expected id 41 != 42');
});
