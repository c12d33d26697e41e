/** Snapshot and schema selection of `planTableScan`, on the foreign fixture tables. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planTableScan, selectSnapshot } from '../../src/query/table-scan.js';
import { readManifestList } from '../../src/iceberg/avro/manifest-list.js';
import type { Snapshot, TableMetadata } from '../../src/iceberg/metadata.js';
import { NotFoundError, UnsupportedError, ValidationError } from '../../src/errors.js';
import { SKIP_NO_SHARED } from '../helpers/shared.js';
import { openFixture } from './fixture-tables.js';

const V2 = 'spark_v2_posdeletes_schemaevol';
const FIRST = 764624380497366583n;
const THIRD = 6287117141668015642n;
const LAST = 4786266686210019019n;

function withRefs(md: TableMetadata, refs: TableMetadata['refs']): TableMetadata {
  return { ...md, refs: { ...md.refs, ...refs } };
}

describe('snapshot selection', { skip: SKIP_NO_SHARED }, () => {
  test('current state: current snapshot and current schema', () => {
    const { metadata } = openFixture(V2);
    const { snapshot, schema } = selectSnapshot(metadata);
    assert.equal(snapshot?.['snapshot-id'], LAST);
    assert.equal(schema['schema-id'], 2);
  });

  test("time travel by id or timestamp uses the snapshot's own schema", () => {
    const { metadata } = openFixture(V2);
    assert.equal(selectSnapshot(metadata, { snapshotId: LAST }).schema['schema-id'], 1);
    assert.equal(selectSnapshot(metadata, { snapshotId: FIRST }).schema['schema-id'], 0);
    const asOf = selectSnapshot(metadata, { asOfTimestampMs: 1719580929100 });
    assert.equal(asOf.snapshot?.['snapshot-id'], THIRD);
    assert.equal(selectSnapshot(metadata, { asOfTimestampMs: 1719580929047 }).snapshot?.['snapshot-id'], THIRD, 'inclusive');
    assert.throws(() => selectSnapshot(metadata, { asOfTimestampMs: 1719580927569 }), ValidationError);
  });

  test('refs: a tag reads with its snapshot schema, a branch with the current schema', () => {
    const { metadata } = openFixture(V2);
    const md = withRefs(metadata, {
      old: { 'snapshot-id': FIRST, type: 'tag' },
      dev: { 'snapshot-id': FIRST, type: 'branch' },
    });
    assert.equal(selectSnapshot(md, { ref: 'old' }).schema['schema-id'], 0);
    const dev = selectSnapshot(md, { ref: 'dev' });
    assert.equal(dev.snapshot?.['snapshot-id'], FIRST);
    assert.equal(dev.schema['schema-id'], 2);
    assert.equal(selectSnapshot(md, { ref: 'main' }).snapshot?.['snapshot-id'], LAST);
  });

  test('unknown ids and refs, and conflicting selectors, are errors', () => {
    const { metadata } = openFixture(V2);
    assert.throws(() => selectSnapshot(metadata, { snapshotId: 1n }), NotFoundError);
    assert.throws(() => selectSnapshot(metadata, { ref: 'nope' }), NotFoundError);
    assert.throws(() => selectSnapshot(metadata, { ref: 'main', snapshotId: LAST }), ValidationError);
  });

  test('a table without snapshots plans an empty scan', async () => {
    const { metadata, io } = openFixture(V2);
    const { 'current-snapshot-id': _, ...rest } = metadata;
    const empty: TableMetadata = { ...rest, snapshots: [], refs: {}, 'snapshot-log': [] };
    const scan = await planTableScan(io, empty);
    assert.equal(scan.snapshot, undefined);
    assert.deepEqual(scan.tasks, []);
    assert.equal((await planTableScan(io, empty, { ref: 'main' })).tasks.length, 0);
  });

  test('an encrypted manifest list is refused', async () => {
    const { metadata, io } = openFixture(V2);
    const md: TableMetadata = {
      ...metadata,
      snapshots: metadata.snapshots.map((s) => (s['snapshot-id'] === LAST ? { ...s, 'key-id': 'k1' } : s)),
    };
    await assert.rejects(planTableScan(io, md), (e: unknown) => e instanceof UnsupportedError && /encrypted/.test(e.message));
  });

  test('a v1 snapshot listing manifests directly plans like its manifest list', async () => {
    const { metadata, io } = openFixture('spark_v1_cow_schemaevol');
    const current = metadata.snapshots.find((s) => s['snapshot-id'] === metadata['current-snapshot-id'])!;
    const listed = readManifestList(await io.read(current['manifest-list']!));
    const { 'manifest-list': _, ...rest } = current;
    const direct: Snapshot = { ...rest, manifests: listed.map((m) => m.manifest_path) };
    const md: TableMetadata = { ...metadata, snapshots: metadata.snapshots.map((s) => (s === current ? direct : s)) };
    const viaList = await planTableScan(io, metadata);
    const viaManifests = await planTableScan(io, md);
    assert.deepEqual(
      viaManifests.tasks.map((t) => [t.file.file_path, t.dataSequenceNumber]),
      viaList.tasks.map((t) => [t.file.file_path, t.dataSequenceNumber]),
    );
    assert.equal(viaManifests.tasks.length, 1);
  });

  test('a missing manifest list is reported with its location', async () => {
    const { metadata, io } = openFixture(V2);
    const md: TableMetadata = {
      ...metadata,
      snapshots: metadata.snapshots.map((s) => (s['snapshot-id'] === LAST ? { ...s, 'manifest-list': `${s['manifest-list']}.gone` } : s)),
    };
    await assert.rejects(planTableScan(io, md), (e: unknown) => e instanceof NotFoundError && /manifest list .*\.gone/.test(e.message));
  });
});
