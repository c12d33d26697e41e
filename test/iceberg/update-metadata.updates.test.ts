/** applyUpdates: every REST TableUpdate, its success and its failure. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../../src/errors.js';
import type { TableUpdate } from '../../src/iceberg/commit.js';
import type { Snapshot, StatisticsFile, TableMetadata } from '../../src/iceberg/metadata.js';
import { newTableMetadata, parseTableMetadata, serializeTableMetadata } from '../../src/iceberg/table-metadata.js';
import type { Schema } from '../../src/iceberg/types.js';
import { applyUpdates } from '../../src/iceberg/update-metadata.js';

const S1 = 9007199254740993n; // beyond 2^53
const S2 = 9223372036854775000n;
const T0 = 1_700_000_000_000;

const schema0: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'ts', required: false, type: 'timestamptz' },
    { id: 3, name: 'data', required: false, type: 'string' },
  ],
};

function fresh(formatVersion: 1 | 2 | 3 = 2): TableMetadata {
  return newTableMetadata({ location: 'file:///t', schema: schema0, formatVersion, tableUuid: '9c12d441-03fe-4693-9a96-a0705ddf69c1', nowMs: T0 });
}

function snap(id: bigint, seq: bigint, ts: number, parent?: bigint, extra: Partial<Snapshot> = {}): Snapshot {
  const s: Snapshot = {
    'snapshot-id': id,
    'sequence-number': seq,
    'timestamp-ms': ts,
    'manifest-list': `file:///t/metadata/snap-${id}.avro`,
    summary: { operation: 'append' },
    'schema-id': 0,
    ...extra,
  };
  if (parent !== undefined) s['parent-snapshot-id'] = parent;
  return s;
}

const commitTo = (id: bigint, ref = 'main'): TableUpdate => ({ action: 'set-snapshot-ref', 'ref-name': ref, 'snapshot-id': id, type: 'branch' });

/** A table with two snapshots on main: S1 then S2. */
function withTwoSnapshots(): TableMetadata {
  const a = applyUpdates(fresh(), [{ action: 'add-snapshot', snapshot: snap(S1, 1n, T0 + 10) }, commitTo(S1)], T0 + 10);
  return applyUpdates(a, [{ action: 'add-snapshot', snapshot: snap(S2, 2n, T0 + 20, S1) }, commitTo(S2)], T0 + 20);
}

function rejects(base: TableMetadata, updates: TableUpdate[], fragment: string): void {
  assert.throws(
    () => applyUpdates(base, updates, T0 + 100),
    (e: unknown) => {
      assert.ok(e instanceof ValidationError, `expected ValidationError, got ${String(e)}`);
      assert.ok(e.message.startsWith('commit: ') || e.message.startsWith('metadata: commit: '), e.message);
      assert.ok(e.message.includes(fragment), e.message);
      return true;
    },
  );
}

test('applyUpdates never mutates its input and returns a parse-stable result', () => {
  const base = withTwoSnapshots();
  const before = structuredClone(base);
  const out = applyUpdates(base, [
    { action: 'set-properties', updates: { a: '1' } },
    { action: 'add-schema', schema: { ...schema0, fields: [...schema0.fields, { id: 4, name: 'n', required: false, type: 'int' }] } },
    { action: 'set-current-schema', 'schema-id': -1 },
    { action: 'remove-snapshots', 'snapshot-ids': [S1] },
  ], T0 + 100);
  assert.deepEqual(base, before);
  assert.notEqual(out, base);
  assert.deepEqual(parseTableMetadata(serializeTableMetadata(out)), out);
});

test('a commit whose updates change nothing returns the base unchanged', () => {
  const base = withTwoSnapshots();
  const out = applyUpdates(base, [{ action: 'set-properties', updates: {} }, commitTo(S2), { action: 'remove-properties', removals: ['nope'] }], T0 + 999);
  assert.deepEqual(out, base);
  assert.equal(out['last-updated-ms'], base['last-updated-ms']);
});

test('unknown update actions are rejected', () => {
  rejects(fresh(), [{ action: 'frobnicate' } as unknown as TableUpdate], 'unknown update action');
});

// --- assign-uuid / upgrade-format-version ---------------------------------------------------

test('assign-uuid', () => {
  const out = applyUpdates(fresh(), [{ action: 'assign-uuid', uuid: 'd20125c8-7284-442c-9aea-15fee620737c' }], T0 + 1);
  assert.equal(out['table-uuid'], 'd20125c8-7284-442c-9aea-15fee620737c');
  assert.equal(out['last-updated-ms'], T0 + 1);
  rejects(fresh(), [{ action: 'assign-uuid', uuid: '' }], 'uuid must be a non-empty string');
});

test('upgrade-format-version: up only, to a supported version', () => {
  const v2 = applyUpdates(fresh(1), [{ action: 'upgrade-format-version', 'format-version': 2 }], T0 + 1);
  assert.equal(v2['format-version'], 2);
  assert.equal(v2['last-sequence-number'], 0n);
  const v3 = applyUpdates(v2, [{ action: 'upgrade-format-version', 'format-version': 3 }], T0 + 2);
  assert.equal(v3['format-version'], 3);
  assert.equal(v3['next-row-id'], 0n);
  assert.deepEqual(applyUpdates(v3, [{ action: 'upgrade-format-version', 'format-version': 3 }]), v3);
  rejects(v3, [{ action: 'upgrade-format-version', 'format-version': 2 }], 'Cannot downgrade v3 table to v2');
  rejects(fresh(), [{ action: 'upgrade-format-version', 'format-version': 4 }], 'unsupported format version: v4');
});

// --- schemas -----------------------------------------------------------------------------------

const schemaWith = (extra: Schema['fields'], id = 1): Schema => ({ ...schema0, 'schema-id': id, fields: [...schema0.fields, ...extra] });

test('add-schema + set-current-schema -1: new id, last-column-id tracks the max', () => {
  const out = applyUpdates(fresh(), [
    { action: 'add-schema', schema: schemaWith([{ id: 4, name: 'n', required: false, type: 'int' }], 17), 'last-column-id': 4 },
    { action: 'set-current-schema', 'schema-id': -1 },
  ], T0 + 1);
  // The table assigns the id (one above the highest), ignoring the id in the request, as Java does.
  assert.deepEqual(out.schemas.map((s) => s['schema-id']), [0, 1]);
  assert.equal(out['current-schema-id'], 1);
  assert.equal(out['last-column-id'], 4);
  // Without the deprecated last-column-id, the schema's own highest id counts.
  const out2 = applyUpdates(out, [{ action: 'add-schema', schema: schemaWith([{ id: 9, name: 'm', required: false, type: 'int' }]) }], T0 + 2);
  assert.equal(out2['last-column-id'], 9);
  assert.equal(out2['current-schema-id'], 1);
  // last-column-id never goes down, even when a schema drops the highest column.
  const out3 = applyUpdates(out2, [{ action: 'add-schema', schema: schema0 }], T0 + 3);
  assert.equal(out3['last-column-id'], 9);
});

test('add-schema of an identical schema reuses its id', () => {
  const out = applyUpdates(fresh(), [
    { action: 'add-schema', schema: { ...schema0, 'schema-id': 5 } },
    { action: 'set-current-schema', 'schema-id': -1 },
  ], T0 + 1);
  assert.equal(out.schemas.length, 1);
  assert.equal(out['current-schema-id'], 0);
});

test('add-schema rejects invalid schemas, v3 types on v2 tables, and a low last-column-id', () => {
  rejects(fresh(), [{ action: 'add-schema', schema: schemaWith([{ id: 4, name: 'v', required: false, type: 'variant' }]) }], 'not supported until format v3');
  rejects(fresh(), [{ action: 'add-schema', schema: schemaWith([{ id: 3, name: 'dup', required: false, type: 'int' }]) }], 'duplicate field id 3');
  rejects(fresh(), [{ action: 'add-schema', schema: schemaWith([{ id: 8, name: 'x', required: false, type: 'int' }]), 'last-column-id': 5 }], 'last-column-id 5 is below');
  const v3 = applyUpdates(fresh(3), [{ action: 'add-schema', schema: schemaWith([{ id: 4, name: 'v', required: false, type: 'variant' }]) }], T0 + 1);
  assert.equal(v3.schemas.length, 2);
});

test('set-current-schema: explicit id; unknown id and -1 without an added schema fail', () => {
  const two = applyUpdates(fresh(), [{ action: 'add-schema', schema: schemaWith([{ id: 4, name: 'n', required: false, type: 'int' }]) }], T0 + 1);
  assert.equal(two['current-schema-id'], 0);
  assert.equal(applyUpdates(two, [{ action: 'set-current-schema', 'schema-id': 1 }], T0 + 2)['current-schema-id'], 1);
  rejects(two, [{ action: 'set-current-schema', 'schema-id': 7 }], 'Cannot set current schema to unknown schema: 7');
  rejects(two, [{ action: 'set-current-schema', 'schema-id': -1 }], 'no schema has been added');
});

// --- partition specs ---------------------------------------------------------------------------

test('add-spec + set-default-spec -1: spec id, field ids and last-partition-id', () => {
  const out = applyUpdates(fresh(), [
    { action: 'add-spec', spec: { 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'ts_day', transform: 'day' }] } },
    { action: 'set-default-spec', 'spec-id': -1 },
  ], T0 + 1);
  assert.deepEqual(out['partition-specs'].map((s) => s['spec-id']), [0, 1]);
  assert.equal(out['default-spec-id'], 1);
  assert.equal(out['last-partition-id'], 1000);
  // Ids left to the server: a (source, transform) seen before keeps its id, a new one gets the next.
  const spec2 = { 'spec-id': 0, fields: [
    { 'source-id': 2, name: 'ts_day', transform: 'day' },
    { 'source-id': 1, name: 'id_bucket', transform: 'bucket[8]' },
  ] } as unknown as Extract<TableUpdate, { action: 'add-spec' }>['spec'];
  const out2 = applyUpdates(out, [{ action: 'add-spec', spec: spec2 }, { action: 'set-default-spec', 'spec-id': -1 }], T0 + 2);
  assert.deepEqual(out2['partition-specs'][2]?.fields.map((f) => f['field-id']), [1000, 1001]);
  assert.equal(out2['last-partition-id'], 1001);
  assert.equal(out2['default-spec-id'], 2);
});

test('add-spec of an identical spec reuses it', () => {
  const out = applyUpdates(fresh(), [{ action: 'add-spec', spec: { 'spec-id': 3, fields: [] } }, { action: 'set-default-spec', 'spec-id': -1 }], T0 + 1);
  assert.equal(out['partition-specs'].length, 1);
  assert.equal(out['default-spec-id'], 0);
});

test('add-spec validation: source columns, names, v1 sequential ids', () => {
  rejects(fresh(), [{ action: 'add-spec', spec: { 'spec-id': 1, fields: [{ 'source-id': 42, 'field-id': 1000, name: 'x', transform: 'identity' }] } }], 'cannot find source column with id 42');
  rejects(fresh(), [{ action: 'add-spec', spec: { 'spec-id': 1, fields: [{ 'source-id': 3, 'field-id': 1000, name: 'id', transform: 'identity' }] } }], "name clashes with schema column 'id'");
  rejects(fresh(), [{ action: 'add-spec', spec: { 'spec-id': 1, fields: [
    { 'source-id': 1, 'field-id': 1000, name: 'p', transform: 'identity' },
    { 'source-id': 3, 'field-id': 1001, name: 'p', transform: 'identity' },
  ] } }], "duplicate partition field name 'p'");
  rejects(fresh(1), [{ action: 'add-spec', spec: { 'spec-id': 1, fields: [{ 'source-id': 1, 'field-id': 1005, name: 'p', transform: 'identity' }] } }], 'sequential IDs that are required in v1');
  // Identity partition named like its own column is fine.
  const ok = applyUpdates(fresh(), [{ action: 'add-spec', spec: { 'spec-id': 1, fields: [{ 'source-id': 1, 'field-id': 1000, name: 'id', transform: 'identity' }] } }], T0 + 1);
  assert.equal(ok['partition-specs'].length, 2);
});

test('set-default-spec: unknown id and -1 without an added spec fail', () => {
  rejects(fresh(), [{ action: 'set-default-spec', 'spec-id': 4 }], 'Cannot set default partition spec to unknown spec: 4');
  rejects(fresh(), [{ action: 'set-default-spec', 'spec-id': -1 }], 'no spec has been added');
});

// --- sort orders -------------------------------------------------------------------------------

test('add-sort-order + set-default-sort-order -1', () => {
  const order = { 'order-id': 0, fields: [{ transform: 'identity', 'source-id': 2, direction: 'desc' as const, 'null-order': 'nulls-last' as const }] };
  const out = applyUpdates(fresh(), [{ action: 'add-sort-order', 'sort-order': order }, { action: 'set-default-sort-order', 'sort-order-id': -1 }], T0 + 1);
  assert.deepEqual(out['sort-orders'].map((o) => o['order-id']), [0, 1]);
  assert.equal(out['default-sort-order-id'], 1);
  // The same order again is reused; the unsorted order is id 0.
  const again = applyUpdates(out, [{ action: 'add-sort-order', 'sort-order': order }, { action: 'add-sort-order', 'sort-order': { 'order-id': 7, fields: [] } }, { action: 'set-default-sort-order', 'sort-order-id': -1 }], T0 + 2);
  assert.equal(again['sort-orders'].length, 2);
  assert.equal(again['default-sort-order-id'], 0);
});

test('add-sort-order / set-default-sort-order failures', () => {
  rejects(fresh(), [{ action: 'add-sort-order', 'sort-order': { 'order-id': 1, fields: [{ transform: 'identity', 'source-id': 99, direction: 'asc', 'null-order': 'nulls-first' }] } }], 'cannot find source column with id 99');
  rejects(fresh(), [{ action: 'add-sort-order', 'sort-order': { 'order-id': 1, fields: [{ transform: 'identity', 'source-id': 1, direction: 'up' as 'asc', 'null-order': 'nulls-first' }] } }], 'direction must be "asc" or "desc"');
  rejects(fresh(), [{ action: 'set-default-sort-order', 'sort-order-id': 3 }], 'Cannot set default sort order to unknown order: 3');
  rejects(fresh(), [{ action: 'set-default-sort-order', 'sort-order-id': -1 }], 'no sort order has been added');
});

// --- snapshots and refs ------------------------------------------------------------------------

test('add-snapshot + set main: current snapshot, sequence number, snapshot log, last-updated-ms', () => {
  const md = withTwoSnapshots();
  assert.equal(md['current-snapshot-id'], S2);
  assert.equal(md['last-sequence-number'], 2n);
  assert.deepEqual(md.refs, { main: { 'snapshot-id': S2, type: 'branch' } });
  assert.deepEqual(md['snapshot-log'], [
    { 'timestamp-ms': T0 + 10, 'snapshot-id': S1 },
    { 'timestamp-ms': T0 + 20, 'snapshot-id': S2 },
  ]);
  assert.equal(md['last-updated-ms'], T0 + 20, 'a new current snapshot dates the change');
});

test('add-snapshot alone (staged) does not move main', () => {
  const md = applyUpdates(fresh(), [{ action: 'add-snapshot', snapshot: snap(S1, 1n, T0 + 10) }], T0 + 50);
  assert.equal(md['current-snapshot-id'], undefined);
  assert.equal(md.snapshots.length, 1);
  assert.deepEqual(md['snapshot-log'], []);
  assert.equal(md['last-updated-ms'], T0 + 50);
});

test('add-snapshot validation: sequence number, parent, duplicates, schema, manifest list', () => {
  const md = withTwoSnapshots();
  rejects(md, [{ action: 'add-snapshot', snapshot: snap(5n, 2n, T0 + 30, S2) }], 'sequence number 2 older than last sequence number 2');
  rejects(md, [{ action: 'add-snapshot', snapshot: snap(5n, 3n, T0 + 30, 404n) }], 'parent snapshot 404 not found');
  rejects(md, [{ action: 'add-snapshot', snapshot: snap(S2, 3n, T0 + 30, S2) }], `Snapshot already exists for id: ${S2}`);
  rejects(md, [{ action: 'add-snapshot', snapshot: snap(5n, 3n, T0 + 30, S2, { 'schema-id': 8 }) }], 'schema 8 not found');
  const noList = snap(5n, 3n, T0 + 30, S2);
  delete noList['manifest-list'];
  rejects(md, [{ action: 'add-snapshot', snapshot: noList }], 'manifest-list must exist in format v2');
  // v1 tables have no sequence numbers to check.
  const v1 = applyUpdates(fresh(1), [{ action: 'add-snapshot', snapshot: snap(S1, 0n, T0 + 5) }, commitTo(S1)], T0 + 5);
  assert.equal(v1['last-sequence-number'], 0n);
});

test('add-snapshot in v3 requires row lineage and advances next-row-id', () => {
  const v3 = fresh(3);
  rejects(v3, [{ action: 'add-snapshot', snapshot: snap(S1, 1n, T0 + 10) }], 'first-row-id and added-rows must exist in format v3');
  const a = applyUpdates(v3, [{ action: 'add-snapshot', snapshot: snap(S1, 1n, T0 + 10, undefined, { 'first-row-id': 0n, 'added-rows': 30n }) }, commitTo(S1)], T0 + 10);
  assert.equal(a['next-row-id'], 30n);
  rejects(a, [{ action: 'add-snapshot', snapshot: snap(S2, 2n, T0 + 20, S1, { 'first-row-id': 29n, 'added-rows': 1n }) }], 'first-row-id is behind table next-row-id: 29 < 30');
});

test('set-snapshot-ref: tags and branches other than main leave the current snapshot alone', () => {
  const md = withTwoSnapshots();
  const out = applyUpdates(md, [
    { action: 'set-snapshot-ref', 'ref-name': 'audit', 'snapshot-id': S1, type: 'tag', 'max-ref-age-ms': 1000 },
    { action: 'set-snapshot-ref', 'ref-name': 'dev', 'snapshot-id': S1, type: 'branch', 'min-snapshots-to-keep': 2 },
  ], T0 + 100);
  assert.deepEqual(out.refs.audit, { 'snapshot-id': S1, type: 'tag', 'max-ref-age-ms': 1000 });
  assert.deepEqual(out.refs.dev, { 'snapshot-id': S1, type: 'branch', 'min-snapshots-to-keep': 2 });
  assert.equal(out['current-snapshot-id'], S2);
  assert.equal(out['snapshot-log'].length, 2);
});

test('set-snapshot-ref main to an older snapshot (rollback) logs it at commit time', () => {
  const out = applyUpdates(withTwoSnapshots(), [commitTo(S1)], T0 + 100);
  assert.equal(out['current-snapshot-id'], S1);
  assert.deepEqual(out['snapshot-log'].at(-1), { 'timestamp-ms': T0 + 100, 'snapshot-id': S1 });
  assert.equal(out['last-updated-ms'], T0 + 100);
});

test('set-snapshot-ref failures', () => {
  const md = withTwoSnapshots();
  rejects(md, [commitTo(404n)], 'Cannot set main to unknown snapshot: 404');
  rejects(md, [{ action: 'set-snapshot-ref', 'ref-name': 'main', 'snapshot-id': S1, type: 'tag' }], 'main must be a branch');
  rejects(md, [{ action: 'set-snapshot-ref', 'ref-name': 't', 'snapshot-id': S1, type: 'tag', 'min-snapshots-to-keep': 1 }], 'apply to branches only');
});

test('snapshots added and superseded within one commit stay out of the snapshot log', () => {
  const out = applyUpdates(fresh(), [
    { action: 'add-snapshot', snapshot: snap(S1, 1n, T0 + 10) },
    commitTo(S1),
    { action: 'add-snapshot', snapshot: snap(S2, 2n, T0 + 11, S1) },
    commitTo(S2),
  ], T0 + 12);
  assert.deepEqual(out['snapshot-log'], [{ 'timestamp-ms': T0 + 11, 'snapshot-id': S2 }]);
});

test('remove-snapshots drops refs and statistics of removed snapshots and trims the log', () => {
  const base = applyUpdates(withTwoSnapshots(), [
    { action: 'set-snapshot-ref', 'ref-name': 'old', 'snapshot-id': S1, type: 'tag' },
    { action: 'set-statistics', statistics: stats(S1) },
    { action: 'set-partition-statistics', 'partition-statistics': { 'snapshot-id': S1, 'statistics-path': 'file:///t/p.parquet', 'file-size-in-bytes': 10 } },
  ], T0 + 30);
  const out = applyUpdates(base, [{ action: 'remove-snapshots', 'snapshot-ids': [S1, 12345n] }], T0 + 40);
  assert.deepEqual(out.snapshots.map((s) => s['snapshot-id']), [S2]);
  assert.deepEqual(Object.keys(out.refs), ['main']);
  assert.deepEqual(out.statistics, []);
  assert.deepEqual(out['partition-statistics'], []);
  assert.deepEqual(out['snapshot-log'], [{ 'timestamp-ms': T0 + 20, 'snapshot-id': S2 }]);
  // The parent is gone but the child keeps its parent id (the history simply ends there).
  assert.equal(out.snapshots[0]?.['parent-snapshot-id'], S1);
});

test('remove-snapshots refuses to remove the current snapshot of main', () => {
  rejects(withTwoSnapshots(), [{ action: 'remove-snapshots', 'snapshot-ids': [S2] }], `cannot remove snapshot ${S2}: it is the current snapshot of branch main`);
});

test('remove-snapshot-ref: removing main clears the current snapshot; missing refs are a no-op', () => {
  const out = applyUpdates(withTwoSnapshots(), [{ action: 'remove-snapshot-ref', 'ref-name': 'main' }], T0 + 30);
  assert.equal(out['current-snapshot-id'], undefined);
  assert.deepEqual(out.refs, {});
  assert.equal(out.snapshots.length, 2);
  const base = withTwoSnapshots();
  assert.deepEqual(applyUpdates(base, [{ action: 'remove-snapshot-ref', 'ref-name': 'nope' }]), base);
});

// --- location, properties, statistics --------------------------------------------------------

test('set-location', () => {
  assert.equal(applyUpdates(fresh(), [{ action: 'set-location', location: 's3://b/moved' }], T0 + 1).location, 's3://b/moved');
  rejects(fresh(), [{ action: 'set-location', location: '' }], 'location must be a non-empty string');
});

test('set-properties and remove-properties', () => {
  const a = applyUpdates(fresh(), [{ action: 'set-properties', updates: { 'commit.retry.num-retries': '10', owner: 'x' } }], T0 + 1);
  assert.equal(a.properties['commit.retry.num-retries'], '10');
  const b = applyUpdates(a, [{ action: 'remove-properties', removals: ['owner', 'absent'] }], T0 + 2);
  assert.equal(b.properties.owner, undefined);
  assert.equal(b.properties['commit.retry.num-retries'], '10');
  rejects(fresh(), [{ action: 'set-properties', updates: { 'format-version': '3' } }], 'use upgrade-format-version');
  rejects(fresh(), [{ action: 'set-properties', updates: { n: 3 as unknown as string } }], 'property n must be a string');
});

function stats(id: bigint): StatisticsFile {
  return {
    'snapshot-id': id,
    'statistics-path': `file:///t/metadata/${id}.stats`,
    'file-size-in-bytes': 413,
    'file-footer-size-in-bytes': 42,
    'blob-metadata': [{ type: 'apache-datasketches-theta-v1', 'snapshot-id': id, 'sequence-number': 1n, fields: [1] }],
  };
}

test('set-statistics replaces the entry of its snapshot; remove-statistics removes it', () => {
  const md = withTwoSnapshots();
  const a = applyUpdates(md, [{ action: 'set-statistics', 'snapshot-id': S2, statistics: stats(S2) }], T0 + 30);
  const replaced = { ...stats(S2), 'file-size-in-bytes': 999 };
  const b = applyUpdates(a, [{ action: 'set-statistics', statistics: replaced }], T0 + 31);
  assert.deepEqual(b.statistics, [replaced]);
  const c = applyUpdates(b, [{ action: 'remove-statistics', 'snapshot-id': S2 }], T0 + 32);
  assert.deepEqual(c.statistics, []);
  rejects(md, [{ action: 'set-statistics', 'snapshot-id': S1, statistics: stats(S2) }], 'does not match');
  assert.deepEqual(parseTableMetadata(serializeTableMetadata(b)), b);
});

test('set-partition-statistics / remove-partition-statistics', () => {
  const md = withTwoSnapshots();
  const entry = { 'snapshot-id': S2, 'statistics-path': 'file:///t/p.parquet', 'file-size-in-bytes': 43 };
  const a = applyUpdates(md, [{ action: 'set-partition-statistics', 'partition-statistics': entry }], T0 + 30);
  assert.deepEqual(a['partition-statistics'], [entry]);
  const b = applyUpdates(a, [{ action: 'remove-partition-statistics', 'snapshot-id': S2 }], T0 + 31);
  assert.deepEqual(b['partition-statistics'], []);
  assert.deepEqual(applyUpdates(b, [{ action: 'remove-partition-statistics', 'snapshot-id': S2 }]), b);
});

// --- robustness ---------------------------------------------------------------------------------

test('add-spec and add-sort-order check transforms against column types', () => {
  rejects(fresh(), [{ action: 'add-spec', spec: { 'spec-id': 1, fields: [{ 'source-id': 3, 'field-id': 1000, name: 'd', transform: 'day' }] } }], 'transform day cannot be applied');
  rejects(fresh(), [{ action: 'add-spec', spec: { 'spec-id': 1, fields: [{ 'source-id': 1, 'source-ids': [1, 3], 'field-id': 1000, name: 'm', transform: 'bucket[2]' }] } }], 'not supported until format v3');
  rejects(fresh(), [{ action: 'add-sort-order', 'sort-order': { 'order-id': 1, fields: [{ transform: 'hour', 'source-id': 1, direction: 'asc', 'null-order': 'nulls-first' }] } }], 'transform hour cannot be applied');
});

test('ids decoded from JSON as numbers compare equal to bigints', () => {
  const a = applyUpdates(fresh(), [
    { action: 'add-snapshot', snapshot: { ...snap(5n, 1n, T0 + 10), 'snapshot-id': 5 as unknown as bigint, 'sequence-number': 1 as unknown as bigint } },
    { action: 'set-snapshot-ref', 'ref-name': 'main', 'snapshot-id': 5 as unknown as bigint, type: 'branch' },
  ], T0 + 10);
  assert.equal(a['current-snapshot-id'], 5n);
  assert.equal(a.snapshots[0]?.['sequence-number'], 1n);
  rejects(fresh(), [{ action: 'remove-snapshots', 'snapshot-ids': ['x' as unknown as bigint] }], 'snapshot id must be an integer');
});

test('a stale snapshot (built long before the last change) cannot become current', () => {
  const md = withTwoSnapshots();
  rejects(md, [{ action: 'add-snapshot', snapshot: snap(7n, 3n, T0 + 20 - 120_000, S2) }, commitTo(7n)], 're-create the snapshot with a current timestamp');
  // Within Java's one-minute clock-skew allowance it is fine.
  const ok = applyUpdates(md, [{ action: 'add-snapshot', snapshot: snap(7n, 3n, T0 + 20 - 30_000, S2) }, commitTo(7n)], T0 + 100);
  assert.equal(ok['current-snapshot-id'], 7n);
});

test('add-spec reuses the field id of the same field from an earlier spec', () => {
  const a = applyUpdates(fresh(), [
    { action: 'add-spec', spec: { 'spec-id': 1, fields: [{ 'source-id': 1, 'field-id': 1000, name: 'id_bucket', transform: 'bucket[8]' }] } },
    { action: 'add-spec', spec: { 'spec-id': 2, fields: [{ 'source-id': 2, 'field-id': 1001, name: 'ts_day', transform: 'day' }] } },
  ], T0 + 1);
  const spec = { 'spec-id': 0, fields: [{ 'source-id': 2, name: 'ts_day', transform: 'day' }, { 'source-id': 1, name: 'id_bucket', transform: 'bucket[8]' }] } as unknown as Extract<TableUpdate, { action: 'add-spec' }>['spec'];
  const b = applyUpdates(a, [{ action: 'add-spec', spec }, { action: 'set-default-spec', 'spec-id': -1 }], T0 + 2);
  assert.deepEqual(b['partition-specs'].at(-1)?.fields.map((f) => f['field-id']), [1001, 1000]);
  assert.equal(b['last-partition-id'], 1001);
});
