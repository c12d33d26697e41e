import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import type { Catalog } from '../../src/catalog/catalog.js';
import { CommitStateUnknownError, FencedError, NotFoundError } from '../../src/errors.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { QueryEngine } from '../../src/query/engine.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';
import type { Schema } from '../../src/iceberg/types.js';
import type { TableRequirement, TableUpdate } from '../../src/iceberg/commit.js';

const SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'event_id', required: true, type: 'string' },
    { id: 2, name: 'user_id', required: false, type: 'string' },
    { id: 3, name: 'event_time', required: false, type: 'timestamptz' },
  ],
};

const BASE_US = 1_767_885_412_000_000n; // 2026-01-08T15:16:52Z

function rows(from: number, n: number) {
  return Array.from({ length: n }, (_, i) => [`evt_${from + i}`, `user_00${(from + i) % 5}`, BASE_US + BigInt((from + i) * 3_600_000_000)]);
}

async function withCatalog(fn: (catalog: SqlCatalog, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-table-'));
  const catalog = new SqlCatalog({ name: 'test', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'wh') });
  try {
    await fn(catalog, dir);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function appendRows(table: Table, from: number, n: number, summary?: Record<string, string>) {
  const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows(from, n)));
  return table.newAppend(summary ? { summary } : {}).appendFiles(files, specId).commit();
}

async function count(catalog: Catalog, sql = 'SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM db.events') {
  const engine = await QueryEngine.open({ catalog });
  try {
    const r = await engine.query(sql);
    return r.rows.map((row) => row.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
  } finally {
    engine.close();
  }
}

test('append: snapshots, summaries and rows through the query engine', async () => {
  await withCatalog(async (catalog) => {
    await catalog.createNamespace(['db']);
    await catalog.createTable({ namespace: ['db'], name: 'events' }, { schema: SCHEMA });
    const table = await Table.load(catalog, { namespace: ['db'], name: 'events' });
    const r1 = await appendRows(table, 0, 10, { 'floe.checkpoint.s.shard-0': '100' });
    assert.equal(r1.snapshot.summary.operation, 'append');
    assert.equal(r1.snapshot.summary['added-records'], '10');
    assert.equal(r1.snapshot.summary['total-records'], '10');
    const r2 = await appendRows(table, 10, 5);
    assert.equal(r2.snapshot.summary['total-records'], '15');
    assert.equal(r2.snapshot.summary['total-data-files'], '2');
    assert.equal(r2.snapshot['parent-snapshot-id'], r1.snapshot['snapshot-id']);
    assert.equal(r2.snapshot['sequence-number'], 2n);
    // Checkpoint keys are carried into every later snapshot.
    assert.equal(r2.snapshot.summary['floe.checkpoint.s.shard-0'], '100');
    assert.deepEqual(await count(catalog), [[15, 15]]);
  });
});

test('append: partitioned by day writes one file per partition', async () => {
  await withCatalog(async (catalog) => {
    await catalog.createNamespace(['db']);
    await catalog.createTable(
      { namespace: ['db'], name: 'events' },
      { schema: SCHEMA, partitionSpec: { 'spec-id': 0, fields: [{ 'source-id': 3, 'field-id': 1000, name: 'event_time_day', transform: 'day' }] } },
    );
    const table = await Table.load(catalog, { namespace: ['db'], name: 'events' });
    // 48 rows one hour apart starting 15:16 → 3 days.
    const r = await appendRows(table, 0, 48);
    assert.equal(r.snapshot.summary['added-data-files'], '3');
    assert.deepEqual(await count(catalog), [[48, 48]]);
    const byDay = await count(catalog, "SELECT count(*) FROM db.events WHERE event_time >= TIMESTAMPTZ '2026-01-09 00:00:00+00' AND event_time < TIMESTAMPTZ '2026-01-10 00:00:00+00'");
    assert.deepEqual(byDay, [[24]]);
  });
});

test('append: concurrent writers both land, the loser retries', async () => {
  await withCatalog(async (catalog) => {
    await catalog.createNamespace(['db']);
    await catalog.createTable({ namespace: ['db'], name: 'events' }, { schema: SCHEMA });
    const a = await Table.load(catalog, { namespace: ['db'], name: 'events' });
    const b = await Table.load(catalog, { namespace: ['db'], name: 'events' });
    const ra = await appendRows(a, 0, 3);
    const rb = await appendRows(b, 3, 4); // b's metadata is stale: first attempt conflicts
    assert.equal(ra.attempts, 1);
    assert.equal(rb.attempts, 2);
    assert.equal(rb.snapshot['parent-snapshot-id'], ra.snapshot['snapshot-id']);
    assert.deepEqual(await count(catalog), [[7, 7]]);
  });
});

test('replace: compaction keeps the rows and carries checkpoints', async () => {
  await withCatalog(async (catalog) => {
    await catalog.createNamespace(['db']);
    await catalog.createTable({ namespace: ['db'], name: 'events' }, { schema: SCHEMA });
    const table = await Table.load(catalog, { namespace: ['db'], name: 'events' });
    await appendRows(table, 0, 4, { 'floe.checkpoint.s.shard-0': '7' });
    await appendRows(table, 4, 4, { 'floe.checkpoint.s.shard-0': '9' });
    const before = await count(catalog, 'SELECT event_id, user_id, event_time FROM db.events ORDER BY event_id');
    const oldFiles = (await count(catalog, 'SELECT 1')).length; // touch engine once
    assert.equal(oldFiles, 1);
    const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows(0, 8)));
    const replace = table.newReplace();
    const { planTableScan } = await import('../../src/query/table-scan.js');
    const scan = await planTableScan(table.io, table.metadata);
    for (const t of scan.tasks) replace.deleteFile(t.file.file_path);
    for (const f of files) replace.addFile(f, specId);
    const r = await replace.commit();
    assert.equal(r.snapshot.summary.operation, 'replace');
    assert.equal(r.snapshot.summary['deleted-data-files'], '2');
    assert.equal(r.snapshot.summary['total-data-files'], '1');
    assert.equal(r.snapshot.summary['total-records'], '8');
    assert.equal(r.snapshot.summary['floe.checkpoint.s.shard-0'], '9');
    const after = await count(catalog, 'SELECT event_id, user_id, event_time FROM db.events ORDER BY event_id');
    assert.deepEqual(after.map(String), before.map(String));
    // Replacing a file that is gone fails clearly.
    const again = table.newReplace().deleteFile(scan.tasks[0]!.file.file_path);
    await assert.rejects(again.commit(), /no longer in the table/);
  });
});

test('validate: a fenced commit writes nothing', async () => {
  await withCatalog(async (catalog) => {
    await catalog.createNamespace(['db']);
    await catalog.createTable({ namespace: ['db'], name: 'events' }, { schema: SCHEMA });
    const table = await Table.load(catalog, { namespace: ['db'], name: 'events' });
    const { files } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows(0, 2)));
    const op = table.newAppend({
      validate: () => {
        throw new FencedError('pipeline: fenced');
      },
    });
    await assert.rejects(op.appendFiles(files).commit(), FencedError);
    await table.refresh();
    assert.equal(table.currentSnapshot(), undefined);
  });
});

/** Wraps a catalog so that commits report an unknown outcome (after or instead of committing). */
function unknownOutcome(inner: Catalog, commitFirst: boolean, onCommit?: () => void): Catalog {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'commitTable') {
        return async (id: { namespace: string[]; name: string }, req: TableRequirement[], upd: TableUpdate[]) => {
          onCommit?.();
          if (commitFirst) await target.commitTable(id, req, upd);
          throw new CommitStateUnknownError('catalog: connection reset during commit');
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

test('unknown commit outcome: landed commits succeed; others are sent again only after a reload shows them missing, 3 times at most, then reported unknown', async () => {
  await withCatalog(async (catalog) => {
    await catalog.createNamespace(['db']);
    await catalog.createTable({ namespace: ['db'], name: 'events' }, { schema: SCHEMA });
    const landed = await Table.load(unknownOutcome(catalog, true), { namespace: ['db'], name: 'events' });
    const r = await appendRows(landed, 0, 3);
    assert.equal(r.attempts, 1);
    assert.deepEqual(await count(catalog), [[3, 3]]);

    // Every copy answered "unknown" and none applied: each reload shows it missing, so it is sent
    // again (its assert-ref-snapshot-id lets one copy apply at most), 3 times, then reported.
    let sends = 0;
    const lost = await Table.load(unknownOutcome(catalog, false, () => sends++), { namespace: ['db'], name: 'events' });
    const { files, specId } = await writeDataFiles(lost.io, lost.metadata, batchFromRows(lost.schema(), rows(3, 3)));
    const op = lost.newAppend({ outage: { baseDelayMs: 10, maxDelayMs: 40 } }).appendFiles(files, specId);
    await assert.rejects(op.commit(), CommitStateUnknownError);
    assert.equal(sends, 4);
    assert.deepEqual(await count(catalog), [[3, 3]]);
  });
});

test('append on a stale base whose snapshot was expired meanwhile reloads and lands; a lost file of the current snapshot fails', async () => {
  await withCatalog(async (catalog) => {
    await catalog.createNamespace(['db']);
    await catalog.createTable({ namespace: ['db'], name: 'events' }, { schema: SCHEMA });
    const a = await Table.load(catalog, { namespace: ['db'], name: 'events' });
    await appendRows(a, 0, 3);
    const stale = await Table.load(catalog, { namespace: ['db'], name: 'events' });
    const staleList = stale.metadata.snapshots!.at(-1)!['manifest-list']!;
    // Another writer moves the table on and expires the snapshot `stale` read (its list goes).
    await appendRows(a, 3, 4);
    await unlink(fileURLToPath(staleList.startsWith('file:') ? staleList : `file://${staleList}`));
    const r = await appendRows(stale, 7, 2);
    assert.equal(r.attempts, 2, 'the first attempt found its base gone and was retried on the reloaded table');
    assert.deepEqual(await count(catalog), [[9, 9]]);
    // Nothing moved: the current snapshot's own manifest list is missing, which is a real loss.
    const current = await Table.load(catalog, { namespace: ['db'], name: 'events' });
    const list = current.metadata.snapshots!.at(-1)!['manifest-list']!;
    await unlink(fileURLToPath(list.startsWith('file:') ? list : `file://${list}`));
    await assert.rejects(appendRows(current, 9, 1), NotFoundError);
  });
});
