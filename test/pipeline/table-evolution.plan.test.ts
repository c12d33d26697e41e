/**
 * `planTableEvolution` (pure): what `floe run` asks of an existing table, as one commit with its
 * requirements, or an error before any work naming the column, both types and the commands.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyUpdates } from '../../src/iceberg/update-metadata.js';
import { newTableMetadata } from '../../src/iceberg/table-metadata.js';
import { currentSchema, defaultSpec } from '../../src/iceberg/metadata-lookup.js';
import type { TableMetadata } from '../../src/iceberg/metadata.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { planTableEvolution } from '../../src/pipeline/table-evolution.js';

function table(): TableMetadata {
  return newTableMetadata({
    location: 'file:///tmp/t',
    schema: {
      type: 'struct',
      'schema-id': 0,
      fields: [
        { id: 1, name: 'id', required: true, type: 'string' },
        { id: 2, name: 'n', required: false, type: 'int' },
        { id: 3, name: 'x', required: false, type: 'float' },
        { id: 4, name: 'amount', required: false, type: 'decimal(9, 2)' },
        { id: 5, name: 'big', required: false, type: 'long' },
      ],
    },
    properties: { keep: 'me' },
  });
}

const config = (columns: Record<string, unknown>, table: Record<string, unknown> = {}) =>
  validateConfig({ source: { stream: 's' }, table: { name: 'db.t', create: false, ...table }, transform: { columns } });

test('the same shape: nothing to commit', () => {
  const plan = planTableEvolution(table(), config({ id: 'string', n: 'int', amount: 'decimal(9,2)' }, { properties: { keep: 'me' } }));
  assert.deepEqual(plan, { requirements: [], updates: [], changes: [] });
});

test('widen int→long, float→double, decimal precision; add a column; one schema with the REST requirements', () => {
  const md = table();
  const plan = planTableEvolution(md, config({ id: 'string', n: 'long', x: 'double', amount: 'decimal(18,2)', note: 'string' }));
  assert.deepEqual(plan.changes, [
    'widened column n int → long',
    'widened column x float → double',
    'widened column amount decimal(9, 2) → decimal(18, 2)',
    'added column note string (optional)',
  ]);
  assert.deepEqual(
    plan.requirements.map((r) => r.type),
    ['assert-table-uuid', 'assert-last-assigned-field-id', 'assert-current-schema-id'],
  );
  const next = applyUpdates(md, plan.updates);
  assert.deepEqual(currentSchema(next).fields.map((f) => [f.id, f.name, f.type, f.required]), [
    [1, 'id', 'string', true],
    [2, 'n', 'long', false],
    [3, 'x', 'double', false],
    [4, 'amount', 'decimal(18, 2)', false],
    [5, 'big', 'long', false],
    [6, 'note', 'string', false],
  ]);
  assert.equal(next['last-column-id'], 6);
  assert.equal(next['current-schema-id'], 1);
});

test('a narrower or unrelated type is an error naming the column, both types and what to do', () => {
  assert.throws(() => planTableEvolution(table(), config({ big: 'int' })), {
    message:
      "config: transform.columns[0] (big): type int does not match the table's long, and a column of type long cannot become int (columns only widen: int→long, float→double, decimal precision). Set type: long in the config (the table's type takes every int value)",
  });
  assert.throws(() => planTableEvolution(table(), config({ amount: 'decimal(9,3)' })), /\(amount\): type decimal\(9, 3\) does not match the table's decimal\(9, 2\).*`floe table alter db\.t rename-column amount amount_decimal_9_2_`, then `floe table alter db\.t add-column amount 'decimal\(9, 3\)'`/);
  assert.throws(() => planTableEvolution(table(), config({ other: { path: 'o' } })), {
    message: "config: transform.columns[0] (other): the table db.t has no column 'other' and the mapping gives no type to add it with (set type:)",
  });
});

test('partition_by: a different spec is a new default spec; the same spec (any spelling) is nothing', () => {
  const md = table();
  const plan = planTableEvolution(md, config({ id: 'string' }, { partition_by: 'bucket(8, id)' }));
  assert.deepEqual(plan.changes, ['partition spec unpartitioned → bucket(8, id)']);
  const next = applyUpdates(md, plan.updates);
  assert.equal(defaultSpec(next)['spec-id'], 1);
  assert.equal(defaultSpec(next).fields[0]!.transform, 'bucket[8]');
  assert.deepEqual(planTableEvolution(next, config({ id: 'string' }, { partition_by: 'bucket(8,id)' })).changes, []);
  // Absent: the table's spec stays.
  assert.deepEqual(planTableEvolution(next, config({ id: 'string' })).changes, []);
});

test('properties: only those that differ are set; the table keeps its others', () => {
  const md = table();
  const plan = planTableEvolution(md, config({ id: 'string' }, { properties: { keep: 'me', owner: 'a' } }));
  assert.deepEqual(plan.changes, ['property owner=a']);
  assert.deepEqual(plan.updates, [{ action: 'set-properties', updates: { owner: 'a' } }]);
});

test('table.evolve: false: every difference is an error naming its command, nothing planned', () => {
  assert.throws(() => planTableEvolution(table(), config({ n: 'long', 'the note': 'string' }, { evolve: false, partition_by: 'bucket(4, id)' })), /table\.evolve is false/);
  assert.throws(() => planTableEvolution(table(), config({ n: 'long', 'the note': 'string' }, { evolve: false })), {
    message:
      "config: table.evolve is false and the table db.t differs from the config: widened column n int → long; added column the note string (optional). Change the table first (`floe table alter db.t widen n long`, `floe table alter db.t add-column 'the note' string`) or set table.evolve: true",
  });
});
