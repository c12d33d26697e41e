/**
 * Conversion of equality deletes to position deletes (`convertEqualityDeletes`): `floe query`
 * reads the same rows before and after (the last state per key), the snapshot is one `replace`
 * removing exactly the converted equality delete files and adding position delete files in the
 * spec layout (field ids, sorted, one per partition), a data file committed after an equality
 * delete keeps its row of that key (sequence numbers), and a concurrent commit is never
 * clobbered: an upsert meanwhile is rebuilt upon, a compaction or another conversion meanwhile
 * abandons the conversion with nothing committed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Catalog } from '../../src/catalog/catalog.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { DuckDB, sqlString } from '../../src/duckdb/instance.js';
import { FileContent, type DataFile } from '../../src/iceberg/manifest-types.js';
import type { Schema } from '../../src/iceberg/types.js';
import { fileUriToPath } from '../../src/io/location.js';
import { compactTable } from '../../src/maintenance/compact.js';
import { convertEqualityDeletes } from '../../src/maintenance/convert-deletes.js';
import { QueryEngine } from '../../src/query/engine.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { Table } from '../../src/table/table.js';
import { interleaving } from './helpers.js';

const SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'region', required: true, type: 'string' },
    { id: 3, name: 'v', required: false, type: 'string' },
  ],
};
const ID = { namespace: ['db'], name: 't' };
const REGIONS = ['eu', 'us', 'ap'];

async function withTable(partitionBy: 'none' | 'id' | 'region', fn: (table: Table, catalog: SqlCatalog) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-convert-'));
  const catalog = new SqlCatalog({ name: 'test', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'wh') });
  try {
    await catalog.createNamespace(['db']);
    const spec =
      partitionBy === 'id'
        ? { 'spec-id': 0, fields: [{ 'source-id': 1, 'field-id': 1000, name: 'id_bucket', transform: 'bucket[4]' }] }
        : partitionBy === 'region'
          ? { 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'region', transform: 'identity' }] }
          : undefined;
    await catalog.createTable(ID, { schema: SCHEMA, ...(spec ? { partitionSpec: spec } : {}) });
    await fn(await Table.load(catalog, ID), catalog);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function rows(catalog: Catalog): Promise<string[]> {
  const engine = await QueryEngine.open({ catalog, threads: 1 });
  try {
    const r = await engine.query('SELECT id, region, v FROM db.t ORDER BY id, region, v');
    return r.rows.map((row) => row.map(String).join('|'));
  } finally {
    engine.close();
  }
}

/** The model: key → row text, the last state per key. */
type Model = Map<number, string>;
const rowText = (id: number, v: string) => `${id}|${REGIONS[id % 3]}|${v}`;
const rowObj = (id: number, v: string) => ({ id: BigInt(id), region: REGIONS[id % 3]!, v });

function expected(model: Model): string[] {
  return [...model.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t);
}

/** 40 base rows, then 4 commits of upserts and deletes (some keys touched twice). */
async function history(table: Table, model: Model): Promise<void> {
  const base = Array.from({ length: 40 }, (_, i) => i);
  await table.upsert(base.map((i) => rowObj(i, 'v0')), { key: ['id'] });
  for (const i of base) model.set(i, rowText(i, 'v0'));
  const rounds: { up: number[]; del: number[] }[] = [
    { up: [1, 2, 3, 40, 41], del: [5, 6] },
    { up: [2, 7, 5], del: [40, 8] },
    { up: [11, 12, 2], del: [13] },
    { up: [30, 31, 32, 33], del: [1, 99] },
  ];
  for (const [r, { up, del }] of rounds.entries()) {
    await table.upsert(up.map((i) => rowObj(i, `v${r + 1}`)), { deletes: del.map((i) => ({ id: BigInt(i) })) });
    for (const i of del) model.delete(i);
    for (const i of up) model.set(i, rowText(i, `v${r + 1}`));
  }
}

async function liveDeleteFiles(table: Table): Promise<{ file: DataFile; specId: number; seq: bigint }[]> {
  await table.refresh();
  const scan = await planTableScan(table.io, table.metadata, { ref: 'main' });
  const seen = new Map<string, { file: DataFile; specId: number; seq: bigint }>();
  for (const t of scan.tasks) for (const d of t.deletes) seen.set(d.file.file_path, { file: d.file, specId: d.specId, seq: d.dataSequenceNumber });
  return [...seen.values()];
}


test('convert: rows identical before and after, one replace snapshot, the position delete file in the spec layout', async () => {
  await withTable('none', async (table, catalog) => {
    const model: Model = new Map();
    await history(table, model);
    const before = await rows(catalog);
    assert.deepEqual(before, expected(model), 'the upserts read as the last state per key');
    const eqBefore = (await liveDeleteFiles(table)).filter((d) => d.file.content === FileContent.EQUALITY_DELETES);
    // The base upsert's delete (40 keys) applies to no row: listed by no task, removed all the same.
    assert.equal(eqBefore.length, 4);
    const parent = table.currentSnapshot()!;

    const r = await convertEqualityDeletes(table);
    assert.notEqual(r.snapshotId, undefined);
    assert.equal(r.removedEqualityDeleteFiles, 5);
    assert.equal(r.addedPositionDeleteFiles, 1);
    // Rows deleted: keys 1,2,3,5,6,7,8,11,12,13,30..33 of the base (14 keys), plus the upserted
    // rows replaced or deleted later: 2 (v1, v2), 40 (v1), 1 (v1).
    assert.equal(r.positions, 14 + 4);
    assert.deepEqual(await rows(catalog), before, 'floe query reads the same rows');

    await table.refresh();
    const snap = table.currentSnapshot()!;
    assert.equal(snap['parent-snapshot-id'], parent['snapshot-id']);
    const s = snap.summary;
    assert.equal(s.operation, 'replace');
    assert.equal(s['removed-equality-delete-files'], '5');
    assert.equal(s['removed-delete-files'], '5');
    assert.equal(s['added-position-delete-files'], '1');
    assert.equal(s['added-delete-files'], '1');
    assert.equal(s['added-position-deletes'], '18');
    assert.equal(s['total-equality-deletes'], '0');
    assert.equal(s['total-position-deletes'], '18');
    assert.equal(s['total-delete-files'], '1');
    assert.equal(s['total-data-files'], parent.summary['total-data-files']);
    assert.equal(s['added-data-files'], undefined);

    const live = await liveDeleteFiles(table);
    assert.equal(live.length, 1);
    const pos = live[0]!;
    assert.equal(pos.file.content, FileContent.POSITION_DELETES);
    // Its data sequence number: the highest of the data files with equality deletes (the third
    // upsert's), below the last equality delete's and the new snapshot's.
    assert.equal(pos.seq, r.dataSequenceNumber);
    assert.ok(pos.seq < snap['sequence-number']!);

    const db = await DuckDB.open({ threads: 1 });
    try {
      const local = sqlString(fileUriToPath(pos.file.file_path));
      const schema = await db.all(`SELECT name, field_id, type FROM parquet_schema(${local}) WHERE name <> 'duckdb_schema'`);
      assert.deepEqual(
        schema.map((c) => [c.name, Number(c.field_id), c.type]),
        [
          ['file_path', 2147483546, 'BYTE_ARRAY'],
          ['pos', 2147483545, 'INT64'],
        ],
      );
      const kv = await db.all(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${local})`);
      assert.equal(kv.find((x) => x.k === 'delete-type')?.v, 'position');
      const got = await db.all(`SELECT file_path, pos FROM read_parquet(${local})`);
      const sorted = [...got].sort((a, b) => (a.file_path === b.file_path ? Number(a.pos) - Number(b.pos) : String(a.file_path) < String(b.file_path) ? -1 : 1));
      assert.deepEqual(got, sorted, 'sorted by file_path, then pos');
      // Every position names a live data file, each once.
      const dataPaths = new Set((await planTableScan(table.io, table.metadata, { ref: 'main' })).tasks.map((t) => t.file.file_path));
      assert.ok(got.every((x) => dataPaths.has(String(x.file_path))));
      assert.equal(new Set(got.map((x) => `${x.file_path}#${x.pos}`)).size, got.length);
    } finally {
      db.close();
    }

    // Nothing left to convert: no new snapshot.
    const again = await convertEqualityDeletes(table);
    assert.equal(again.snapshotId, undefined);
    // More upserts after the conversion, converted in turn: still the last state per key.
    await table.upsert([rowObj(3, 'v9'), rowObj(50, 'v9')], { deletes: [{ id: 4n }] });
    model.set(3, rowText(3, 'v9'));
    model.set(50, rowText(50, 'v9'));
    model.delete(4);
    const r2 = await convertEqualityDeletes(table);
    assert.equal(r2.removedEqualityDeleteFiles, 1);
    assert.equal(r2.positions, 2);
    assert.deepEqual(await rows(catalog), expected(model));
    // And a compaction of everything afterwards reads the same.
    await compactTable(table, { minInputFiles: 1 });
    assert.deepEqual(await rows(catalog), expected(model));
  });
});

test('convert: a data file committed after an equality delete keeps its row of that key (sequence numbers)', async () => {
  await withTable('none', async (table, catalog) => {
    await table.upsert([rowObj(1, 'a'), rowObj(2, 'a'), rowObj(3, 'a')], { key: ['id'] });
    // Its data file holds the row `1 b`, written with the delete of keys 1 and 2 (same sequence
    // number: the delete does not apply to it) …
    await table.upsert([rowObj(1, 'b')], { deletes: [{ id: 2n }] });
    // … and is read for the next delete (key 3) all the same, next to the delete of key 1.
    await table.upsert([rowObj(3, 'c')]);
    // A plain append of keys 1 and 2 after the deletes: they do not apply to it.
    await table.append([rowObj(1, 'late'), rowObj(2, 'late')]);
    const before = await rows(catalog);
    assert.deepEqual(before, ['1|us|b', '1|us|late', '2|ap|late', '3|eu|c']);
    const r = await convertEqualityDeletes(table);
    assert.equal(r.positions, 3, 'the first commit rows of keys 1, 2 and 3 only');
    assert.deepEqual(await rows(catalog), before);
  });
});

test('convert: partitioned tables, one position delete file per partition in its spec and partition', async () => {
  for (const by of ['id', 'region'] as const) {
    await withTable(by, async (table, catalog) => {
      const model: Model = new Map();
      await history(table, model);
      const before = await rows(catalog);
      assert.deepEqual(before, expected(model), `${by}: before`);
      const r = await convertEqualityDeletes(table);
      assert.equal(r.positions, 18, by);
      assert.deepEqual(await rows(catalog), before, `${by}: after`);
      await table.refresh();
      const scan = await planTableScan(table.io, table.metadata, { ref: 'main' });
      const live = await liveDeleteFiles(table);
      assert.ok(live.every((d) => d.file.content === FileContent.POSITION_DELETES), `${by}: only position deletes left`);
      assert.equal(live.length, r.addedPositionDeleteFiles);
      assert.ok(live.length > 1, `${by}: several partitions hold deleted rows`);
      const keys = new Set<string>();
      for (const d of live) {
        assert.equal(d.specId, 0, `${by}: the data files' spec`);
        keys.add(JSON.stringify(d.file.partition, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
        // Each names only data files of its own partition.
        const names = scan.tasks.filter((t) => t.deletes.some((x) => x.file.file_path === d.file.file_path));
        assert.ok(names.length > 0);
        assert.ok(names.every((t) => JSON.stringify(t.partition) === JSON.stringify(d.file.partition)));
      }
      assert.equal(keys.size, live.length, `${by}: one file per partition`);
    });
  }
});

test('convert: an upsert committed meanwhile is rebuilt upon, its equality delete stays', async () => {
  await withTable('none', async (table, catalog) => {
    const model: Model = new Map();
    await history(table, model);
    const other = await Table.load(catalog, ID);
    const racing = await Table.load(
      interleaving(catalog, async () => {
        await other.upsert([rowObj(20, 'race')], { deletes: [{ id: 21n }] });
      }),
      ID,
    );
    const r = await convertEqualityDeletes(racing);
    model.set(20, rowText(20, 'race'));
    model.delete(21);
    assert.ok(r.attempts >= 2, 'the conflict was retried');
    assert.equal(r.removedEqualityDeleteFiles, 5);
    assert.deepEqual(await rows(catalog), expected(model), 'neither lost nor doubled');
    const eq = (await liveDeleteFiles(table)).filter((d) => d.file.content === FileContent.EQUALITY_DELETES);
    assert.equal(eq.length, 1, "the racing upsert's equality delete is still live");
    // The position deletes' sequence number is below the racing upsert's: its data file (committed
    // before the conversion) is not planned with them.
    const scan = await planTableScan(table.io, table.metadata, { ref: 'main' });
    const newest = scan.tasks.reduce((a, b) => (a.dataSequenceNumber > b.dataSequenceNumber ? a : b));
    assert.equal(newest.deletes.length, 0, JSON.stringify(newest.deletes.map((d) => d.file.content)));
    assert.ok(scan.tasks.some((t) => t.deletes.some((d) => d.file.content === FileContent.POSITION_DELETES)));
  });
});

test('convert: a compaction or another conversion meanwhile abandons it, nothing committed', async () => {
  for (const racer of ['compaction', 'conversion'] as const) {
    await withTable('none', async (table, catalog) => {
      const model: Model = new Map();
      await history(table, model);
      const other = await Table.load(catalog, ID);
      const racing = await Table.load(
        interleaving(catalog, async () => {
          if (racer === 'compaction') await compactTable(other, { minInputFiles: 1 });
          else await convertEqualityDeletes(other);
        }),
        ID,
      );
      await assert.rejects(convertEqualityDeletes(racing), (e: Error) => {
        assert.equal(e.name, 'ValidationError', `${racer}: ${e.message}`);
        assert.match(e.message, racer === 'compaction' ? /rewrote data files while converting; abandoned/ : /no longer in the table/);
        return true;
      });
      await table.refresh();
      assert.equal(table.currentSnapshot()!.summary.operation, 'replace', `${racer}: the racer's snapshot is the head`);
      assert.deepEqual(await rows(catalog), expected(model), `${racer}: rows intact`);
      // The abandoned conversion removed its position delete file.
      const live = new Set((await liveDeleteFiles(table)).map((d) => d.file.file_path));
      assert.ok(live.size <= 1);
    });
  }
});

test('convert: nothing to do on a table without equality deletes', async () => {
  await withTable('none', async (table) => {
    await table.append([rowObj(1, 'a')]);
    const r = await convertEqualityDeletes(table);
    assert.equal(r.snapshotId, undefined);
    assert.equal(r.removedEqualityDeleteFiles, 0);
  });
});
