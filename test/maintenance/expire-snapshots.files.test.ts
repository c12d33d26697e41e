import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Snapshot, TableMetadata } from '../../src/iceberg/metadata.js';
import { compactTable } from '../../src/maintenance/compact.js';
import { expireSnapshots, planExpiry } from '../../src/maintenance/expire-snapshots.js';
import { QueryEngine } from '../../src/query/engine.js';
import { appendRows, assertRows, sortedRows, withTable } from './helpers.js';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else out.push(join(d, e.name));
    }
  };
  await walk(dir);
  return out.sort();
}

test('expire: after compaction, old snapshots and every file only they needed are deleted', async () => {
  await withTable(
    async ({ dir, catalog, table }) => {
      for (let i = 0; i < 10; i++) await appendRows(table, i * 10, 10, { 'floe.checkpoint.s.shard-0': String(i) });
      await compactTable(table, { minInputFiles: 5 });
      const before = await sortedRows(catalog);
      const tableDir = join(dir, 'wh', 'db', 'events');
      const dataBefore = (await filesUnder(join(tableDir, 'data'))).length;
      assert.equal(dataBefore, 11);

      const r = await expireSnapshots(table, { olderThanMs: 0, retainLast: 1 });
      assert.equal(r.expiredSnapshots, 10);
      assert.equal(r.retainedSnapshots, 1);
      assert.equal(r.deletedDataFiles, 10);
      assert.equal(r.deletedManifestLists, 10);
      assert.ok(r.deletedManifests >= 10, `manifests deleted: ${r.deletedManifests}`);
      assert.equal(r.failedDeletes, 0);
      await assertRows(catalog, before, 'after expiry');

      await table.refresh();
      assert.equal(table.metadata.snapshots.length, 1);
      assert.equal(table.currentSnapshot()!.summary['floe.checkpoint.s.shard-0'], '9');
      const data = await filesUnder(join(tableDir, 'data'));
      assert.equal(data.length, 1, 'only the compacted file is left');
      // Metadata: the current file, the 3 logged ones (previous-versions-max), one list, its manifests.
      const meta = (await filesUnder(join(tableDir, 'metadata'))).map((p) => p.slice(p.lastIndexOf('/') + 1));
      assert.equal(meta.filter((n) => n.endsWith('.metadata.json')).length, 4);
      assert.equal(meta.filter((n) => n.startsWith('snap-')).length, 1);
    },
    { properties: { 'write.metadata.previous-versions-max': '3' } },
  );
});

test('expire: --retain-last keeps the newest snapshots readable by time travel; --older-than keeps recent ones', async () => {
  await withTable(async ({ catalog, table }) => {
    for (let i = 0; i < 6; i++) await appendRows(table, i * 5, 5);
    await table.refresh();
    const ids = table.metadata.snapshots.map((s) => s['snapshot-id']);
    const r = await expireSnapshots(table, { olderThanMs: 0, retainLast: 3 });
    assert.equal(r.expiredSnapshots, 3);
    assert.equal(r.deletedDataFiles, 0, 'every data file is still live in the current snapshot');
    await table.refresh();
    assert.deepEqual(table.metadata.snapshots.map((s) => s['snapshot-id']), ids.slice(3));
    for (const [k, id] of ids.slice(3).entries()) {
      const engine = await QueryEngine.open({ catalog, snapshotId: id, threads: 1 });
      try {
        const res = await engine.query('SELECT count(*) FROM db.events');
        assert.equal(Number(res.rows[0]![0]), (k + 4) * 5);
      } finally {
        engine.close();
      }
    }
    // Everything is younger than an hour: nothing more to expire.
    const none = await expireSnapshots(table, { olderThanMs: 3_600_000, retainLast: 1 });
    assert.equal(none.expiredSnapshots, 0);
    assert.equal((await sortedRows(catalog)).length, 30);
  });
});

test('expire: a tag keeps its snapshot and its files; the current snapshot is never removed', async () => {
  await withTable(async ({ catalog, table }) => {
    await appendRows(table, 0, 5);
    await appendRows(table, 5, 5);
    await table.refresh();
    const tagged = table.currentSnapshot()!['snapshot-id'];
    await table.commitRaw([], [{ action: 'set-snapshot-ref', 'ref-name': 'v1', type: 'tag', 'snapshot-id': tagged }]);
    for (let i = 2; i < 8; i++) await appendRows(table, i * 5, 5);
    await compactTable(table, { minInputFiles: 2 });
    const r = await expireSnapshots(table, { olderThanMs: 0, retainLast: 1 });
    await table.refresh();
    assert.deepEqual(
      table.metadata.snapshots.map((s) => s['snapshot-id']).sort(),
      [tagged, table.metadata['current-snapshot-id']!].sort(),
    );
    assert.equal(r.deletedDataFiles, 6, 'files of the tagged snapshot are kept');
    const engine = await QueryEngine.open({ catalog, ref: 'v1', threads: 1 });
    try {
      assert.equal(Number((await engine.query('SELECT count(*) FROM db.events')).rows[0]![0]), 10);
    } finally {
      engine.close();
    }
    assert.equal((await sortedRows(catalog)).length, 40);
  });
});

function md(snapshots: Snapshot[], refs: TableMetadata['refs'], props: Record<string, string> = {}): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': '00000000-0000-0000-0000-000000000000',
    location: '/t',
    'last-sequence-number': BigInt(snapshots.length),
    'last-updated-ms': 0,
    'last-column-id': 1,
    schemas: [{ type: 'struct', 'schema-id': 0, fields: [] }],
    'current-schema-id': 0,
    'partition-specs': [{ 'spec-id': 0, fields: [] }],
    'default-spec-id': 0,
    'last-partition-id': 999,
    properties: props,
    'current-snapshot-id': refs.main?.['snapshot-id'],
    snapshots,
    'snapshot-log': [],
    'metadata-log': [],
    'sort-orders': [{ 'order-id': 0, fields: [] }],
    'default-sort-order-id': 0,
    refs,
  };
}

/** Snapshots 1..n, one per minute, each the parent of the next. */
function chain(n: number, from = 1, parent?: number): Snapshot[] {
  return Array.from({ length: n }, (_, i) => {
    const id = from + i;
    const p = i === 0 ? parent : id - 1;
    return {
      'snapshot-id': BigInt(id),
      ...(p !== undefined ? { 'parent-snapshot-id': BigInt(p) } : {}),
      'sequence-number': BigInt(id),
      'timestamp-ms': id * 60_000,
      summary: { operation: 'append' as const },
    };
  });
}

test('planExpiry: age and count rules, branch and table properties, ref ages', () => {
  const main = { 'snapshot-id': 10n, type: 'branch' as const };
  const now = 11 * 60_000;
  const ids = (p: { expire: bigint[] }) => p.expire.map(Number).sort((a, b) => a - b);
  // Older than 5 minutes, keep at least 2: snapshots 6..10 are younger → 1..5 expire.
  assert.deepEqual(ids(planExpiry(md(chain(10), { main }), { olderThanMs: 5 * 60_000, retainLast: 2, now })), [1, 2, 3, 4, 5]);
  // Everything old, keep 3.
  assert.deepEqual(ids(planExpiry(md(chain(10), { main }), { olderThanMs: 0, retainLast: 3, now })), [1, 2, 3, 4, 5, 6, 7]);
  // Table properties stand in for the options.
  const props = { 'history.expire.min-snapshots-to-keep': '4', 'history.expire.max-snapshot-age-ms': '0' };
  assert.deepEqual(ids(planExpiry(md(chain(10), { main }, props), { now })), [1, 2, 3, 4, 5, 6]);
  // The branch's own min-snapshots-to-keep wins over the options.
  assert.deepEqual(ids(planExpiry(md(chain(10), { main: { ...main, 'min-snapshots-to-keep': 8 } }), { olderThanMs: 0, retainLast: 1, now })), [1, 2]);
  // A side branch from 5 keeps its own head; an old tag is dropped by max-ref-age-ms.
  const side = chain(2, 20, 5);
  const plan = planExpiry(
    md([...chain(10), ...side], {
      main,
      dev: { 'snapshot-id': 21n, type: 'branch' },
      old: { 'snapshot-id': 2n, type: 'tag', 'max-ref-age-ms': 60_000 },
      keep: { 'snapshot-id': 3n, type: 'tag' },
    }),
    { olderThanMs: 0, retainLast: 1, now: 30 * 60_000 },
  );
  assert.deepEqual(plan.removeRefs, ['old']);
  assert.deepEqual(ids(plan), [1, 2, 4, 5, 6, 7, 8, 9, 20]);
  // retain-last 0 still keeps the current snapshot.
  assert.deepEqual(ids(planExpiry(md(chain(3), { main: { 'snapshot-id': 3n, type: 'branch' } }), { olderThanMs: 0, retainLast: 0, now })), [1, 2]);
});
