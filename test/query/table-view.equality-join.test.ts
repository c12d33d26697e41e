/**
 * Equality deletes read as one anti-join per key (`delete-scopes.ts`) against the reference form,
 * one anti-join per data file and delete file (`perFileDeletes`): random histories of appends,
 * partition-scoped and global equality deletes on three keys (one of them nullable: NULL deletes
 * NULL), and position deletes, read at every snapshot, must give the same rows both ways. A
 * history is also checked against rows tracked in the test, so both forms are not wrong alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { toDataFile } from '../../src/data/data-file.js';
import { writeParquetFile } from '../../src/data/parquet-writer.js';
import { DuckDB } from '../../src/duckdb/instance.js';
import { FileContent, type DataFile } from '../../src/iceberg/manifest-types.js';
import type { PartitionSpec } from '../../src/iceberg/metadata.js';
import type { IcebergValue, Schema } from '../../src/iceberg/types.js';
import { equalityDeleteScopes } from '../../src/query/delete-scopes.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { scanToSql } from '../../src/query/table-view.js';
import { Table } from '../../src/table/table.js';
import { dataLocation, writeDataFiles } from '../../src/table/write.js';

const SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'tag', required: false, type: 'string' },
    { id: 3, name: 'day', required: true, type: 'int' },
    { id: 4, name: 'v', required: false, type: 'long' },
  ],
};
const BY_DAY: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 3, 'field-id': 1000, name: 'day', transform: 'identity' }] };

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function deleteFile(table: Table, fields: number[], rows: IcebergValue[][], partition: IcebergValue[]): Promise<DataFile> {
  const schema: Schema = { type: 'struct', 'schema-id': 0, fields: SCHEMA.fields.filter((f) => fields.includes(f.id)) };
  const path = join(dataLocation(table.metadata), `eq-${Math.random().toString(36).slice(2)}.parquet`);
  const result = await writeParquetFile({ schema, rows: batchFromRows(schema, rows), path });
  return { ...toDataFile(result, partition, 0, path).file, content: FileContent.EQUALITY_DELETES, equality_ids: fields };
}

async function positionDeleteFile(table: Table, target: DataFile, positions: number[]): Promise<DataFile> {
  const schema: Schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 2147483546, name: 'file_path', required: true, type: 'string' },
      { id: 2147483545, name: 'pos', required: true, type: 'long' },
    ],
  };
  const path = join(dataLocation(table.metadata), `pos-${Math.random().toString(36).slice(2)}.parquet`);
  const result = await writeParquetFile({ schema, rows: batchFromRows(schema, positions.map((p) => [target.file_path, BigInt(p)])), path });
  return { ...toDataFile(result, target.partition, 0, path).file, content: FileContent.POSITION_DELETES };
}

async function commitFiles(table: Table, files: { file: DataFile; specId?: number }[]) {
  await table.refresh();
  const op = table.newOverwrite();
  for (const f of files) op.addFile(f.file, f.specId);
  return op.commit();
}

async function rowsOf(db: DuckDB, table: Table, snapshotId: bigint, perFileDeletes: boolean): Promise<{ rows: string[]; joined: boolean }> {
  const scan = await planTableScan(table.io, table.metadata, { snapshotId });
  const sql = await scanToSql({ duckdb: db, io: table.io, metadata: table.metadata, schema: scan.schema, tasks: scan.tasks, perFileDeletes });
  const specs = new Map(table.metadata['partition-specs'].map((s) => [s['spec-id'], s]));
  const scopes = equalityDeleteScopes(
    scan.tasks.filter((t) => t.deletes.length > 0),
    specs,
  );
  const rows = await db.all(`SELECT * FROM (${sql}) AS t`);
  return { rows: rows.map((r) => `${r.id}|${r.tag}|${r.day}|${r.v}`).sort(), joined: scopes !== undefined && scopes.groups.length > 0 };
}

test('equality deletes: the joined anti-join reads what the per-file anti-joins read, at every snapshot of random histories', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-eqjoin-'));
  const db = await DuckDB.open({ threads: 1 });
  try {
    let joinedReads = 0;
    for (const seed of [1, 2, 3, 4]) {
      const random = rng(seed);
      const catalog = new SqlCatalog({ name: 't', uri: join(dir, `c${seed}.db`), warehouse: join(dir, `wh${seed}`) });
      try {
        await catalog.createNamespace(['db']);
        const id = { namespace: ['db'], name: 't' };
        await catalog.createTable(id, { schema: SCHEMA, partitionSpec: BY_DAY });
        const table = await Table.load(catalog, id);
        await table.update(() => ({ requirements: [], updates: [{ action: 'add-spec', spec: { 'spec-id': 0, fields: [] } }] }));
        const globalSpec = table.metadata['partition-specs'].find((s) => s.fields.length === 0)!['spec-id'];
        const tag = () => (random() < 0.25 ? null : `t${Math.floor(random() * 4)}`);
        let next = 0;
        for (let step = 0; step < 14; step++) {
          const r = random();
          await table.refresh();
          if (r < 0.4 || step < 2) {
            // Rows over 3 days, some ids repeated (an upsert stream's re-inserts).
            const rows = Array.from({ length: 12 }, () => {
              const i = random() < 0.3 && next > 0 ? Math.floor(random() * next) : next++;
              return [BigInt(i), tag(), Math.floor(random() * 3), BigInt(step)] as IcebergValue[];
            });
            const w = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows));
            await commitFiles(table, w.files.map((file) => ({ file, specId: w.specId })));
          } else if (r < 0.85) {
            const keys: number[][] = [[1], [2], [1, 2]];
            const fields = keys[Math.floor(random() * keys.length)]!;
            const rows = Array.from({ length: 4 }, () =>
              fields.map((f) => (f === 1 ? BigInt(Math.floor(random() * Math.max(1, next))) : tag())),
            );
            const global = random() < 0.5;
            const day = Math.floor(random() * 3);
            const file = await deleteFile(table, fields, rows, global ? [] : [day]);
            // Half the time with rows of the same keys in the same snapshot (an upsert): kept.
            const upserted =
              random() < 0.5 && fields.includes(1)
                ? await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows.map((k) => [k[0]!, fields.includes(2) ? (k[1] ?? null) : tag(), day, BigInt(step)])))
                : { files: [], specId: 0 };
            await commitFiles(table, [{ file, specId: global ? globalSpec : 0 }, ...upserted.files.map((f) => ({ file: f, specId: upserted.specId }))]);
          } else {
            const scan = await planTableScan(table.io, table.metadata, { ref: 'main' });
            const target = scan.tasks[Math.floor(random() * scan.tasks.length)];
            if (!target) continue;
            const file = await positionDeleteFile(table, target.file, [0, 2, 5].filter((p) => p < target.file.record_count));
            await commitFiles(table, [{ file, specId: target.specId }]);
          }
        }
        await table.refresh();
        for (const snap of table.metadata.snapshots) {
          const joined = await rowsOf(db, table, snap['snapshot-id'], false);
          const perFile = await rowsOf(db, table, snap['snapshot-id'], true);
          assert.deepEqual(joined.rows, perFile.rows, `seed ${seed}, snapshot ${snap['sequence-number']}`);
          if (joined.joined) joinedReads++;
        }
      } finally {
        await catalog.close();
      }
    }
    assert.ok(joinedReads >= 20, `the joined form was exercised (${joinedReads} reads)`);
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('equality deletes: a known history reads as tracked (global, scoped, NULL keys, two-column keys, same-snapshot rows kept)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-eqjoin-known-'));
  const db = await DuckDB.open({ threads: 1 });
  const catalog = new SqlCatalog({ name: 't', uri: join(dir, 'c.db'), warehouse: join(dir, 'wh') });
  try {
    await catalog.createNamespace(['db']);
    const id = { namespace: ['db'], name: 't' };
    await catalog.createTable(id, { schema: SCHEMA, partitionSpec: BY_DAY });
    const table = await Table.load(catalog, id);
    await table.update(() => ({ requirements: [], updates: [{ action: 'add-spec', spec: { 'spec-id': 0, fields: [] } }] }));
    const globalSpec = table.metadata['partition-specs'].find((s) => s.fields.length === 0)!['spec-id'];
    const append = async (rows: IcebergValue[][], extra: { file: DataFile; specId?: number }[] = []) => {
      await table.refresh();
      const w = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows));
      await commitFiles(table, [...w.files.map((file) => ({ file, specId: w.specId })), ...extra]);
    };
    await append([
      [1n, 'a', 0, 1n],
      [2n, null, 0, 1n],
      [3n, 'b', 1, 1n],
      [4n, 'a', 1, 1n],
      [5n, null, 2, 1n],
    ]);
    // A global delete of id 3 and a delete of tag NULL scoped to day 0 (not day 2).
    await commitFiles(table, [
      { file: await deleteFile(table, [1], [[3n]], []), specId: globalSpec },
      { file: await deleteFile(table, [2], [[null]], [0]), specId: 0 },
    ]);
    // An upsert of id 1 (day 0): new row and delete in one snapshot, the new row stays.
    await append([[1n, 'z', 0, 2n]], [{ file: await deleteFile(table, [1], [[1n]], []), specId: globalSpec }]);
    // A two-column delete (id 4, tag 'a') scoped to day 0: id 4 is in day 1, so it stays.
    await commitFiles(table, [{ file: await deleteFile(table, [1, 2], [[4n, 'a']], [0]), specId: 0 }]);
    await table.refresh();
    const got = await rowsOf(db, table, table.currentSnapshot()!['snapshot-id'], false);
    assert.ok(got.joined);
    assert.deepEqual(got.rows, ['1|z|0|2', '4|a|1|1', '5|null|2|1']);
  } finally {
    await catalog.close();
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
