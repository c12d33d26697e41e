/**
 * Upserts that delete by position (`table/upsert-vectors.ts`) on a v3 table with a long key: the
 * index built from a table (deletion vectors and equality deletes applied), commits whose vectors
 * delete exactly the older rows (read back by the query engine, and counted from metadata), a
 * foreign commit that makes the index stale (the commit fails before landing, nothing lost), and
 * a compaction that commits through the index while the writer deletes rows it copied.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { DuckDB } from '../../src/duckdb/instance.js';
import { isDeletionVector, ManifestContent } from '../../src/iceberg/manifest-types.js';
import { readManifestList } from '../../src/iceberg/avro/manifest-list.js';
import type { IcebergValue, Schema } from '../../src/iceberg/types.js';
import { compactTable } from '../../src/maintenance/compact.js';
import { QueryEngine } from '../../src/query/engine.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { writeEqualityDeletes } from '../../src/table/equality-deletes.js';
import { Table } from '../../src/table/table.js';
import { keyIndexUnsupported, StaleKeyIndexError, UpsertVectors } from '../../src/table/upsert-vectors.js';
import { writeDataFiles } from '../../src/table/write.js';

const SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'v', required: false, type: 'string' },
  ],
  'identifier-field-ids': [1],
};
const ID = { namespace: ['db'], name: 't' };

interface Env {
  catalog: SqlCatalog;
  table: Table;
  db: DuckDB;
  /** The expected last state: id → v. */
  state: Map<number, string>;
}

async function withV3(fn: (env: Env) => Promise<void>, formatVersion: 2 | 3 = 3): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-upsert-vectors-'));
  const catalog = new SqlCatalog({ name: 'test', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'wh') });
  const db = await DuckDB.open({ threads: 1 });
  try {
    await catalog.createNamespace(['db']);
    await catalog.createTable(ID, { schema: SCHEMA, formatVersion });
    await fn({ catalog, table: await Table.load(catalog, ID), db, state: new Map() });
  } finally {
    db.close();
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Plain appends of `ids` (no deletes). */
async function append(env: Env, ids: number[], tag: string): Promise<void> {
  await env.table.refresh();
  const { files, specId } = await writeDataFiles(env.table.io, env.table.metadata, batchFromRows(env.table.schema(), ids.map((i) => [BigInt(i), `${tag}${i}`])));
  await env.table.newAppend().appendFiles(files, specId).commit();
  for (const i of ids) env.state.set(i, `${tag}${i}`);
}

/** One upsert commit as the pipeline makes it: rows of `upserts`, deletes of `deletes`, the older rows deleted by vectors. */
async function upsert(env: Env, vectors: UpsertVectors, upserts: number[], deletes: number[], tag: string): Promise<bigint> {
  const table = env.table;
  return vectors.exclusive(async () => {
    const rows: IcebergValue[][] = upserts.map((i) => [BigInt(i), `${tag}${i}`]);
    const written = rows.length > 0 ? await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows)) : { files: [], specId: 0 };
    const keys = [...upserts, ...deletes].map((i) => [BigInt(i)]);
    const prepared = await vectors.prepare(keys, written.files.map((file) => ({ file, specId: written.specId })));
    assert.ok(prepared, `the index is in use (${vectors.reason})`);
    try {
      const delta = table.newRowDelta({ validate: (base) => prepared.validate(base) }).addRowsFiles(written.files, written.specId);
      const result = await prepared.addTo(delta).commit();
      prepared.committed(result.snapshot);
      for (const i of upserts) env.state.set(i, `${tag}${i}`);
      for (const i of deletes) env.state.delete(i);
      return result.snapshot['snapshot-id'];
    } catch (e) {
      await prepared.abandon();
      throw e;
    }
  });
}

async function rowsOf(env: Env): Promise<string[]> {
  const engine = await QueryEngine.open({ catalog: env.catalog });
  try {
    return (await engine.query('SELECT id, v FROM db.t ORDER BY id')).rows.map((r) => `${r[0]}=${r[1]}`);
  } finally {
    engine.close();
  }
}

async function countOf(env: Env): Promise<number> {
  const engine = await QueryEngine.open({ catalog: env.catalog });
  try {
    return Number((await engine.query('SELECT count(*) FROM db.t')).rows[0]![0]);
  } finally {
    engine.close();
  }
}

function expected(env: Env): string[] {
  return [...env.state].sort((a, b) => a[0] - b[0]).map(([i, v]) => `${i}=${v}`);
}

/** Delete files of the current snapshot: [vectors, other delete files]. */
async function deleteFiles(table: Table): Promise<[number, number]> {
  await table.refresh();
  const scan = await planTableScan(table.io, table.metadata, { ref: 'main' });
  const all = new Map(scan.tasks.flatMap((t) => t.deletes).map((d) => [`${d.file.file_path}@${d.file.content_offset}`, d.file]));
  const list = [...all.values()];
  return [list.filter(isDeletionVector).length, list.filter((d) => !isDeletionVector(d)).length];
}

test('upsert vectors: only for a v3 table with a single int or long key', async () => {
  await withV3(async ({ table }) => {
    assert.match(keyIndexUnsupported(table.metadata, [1])!, /format version 3/);
  }, 2);
  await withV3(async ({ table }) => {
    assert.equal(keyIndexUnsupported(table.metadata, [1]), undefined);
    assert.match(keyIndexUnsupported(table.metadata, [2])!, /string/);
    assert.match(keyIndexUnsupported(table.metadata, [1, 2])!, /several columns/);
  });
});

test('upsert vectors: commits delete the older rows by position; reads and count(*) see the last state; the index survives a rebuild', async () => {
  await withV3(async (env) => {
    await append(env, [1, 2, 3, 4, 5, 6, 7, 8], 'a');
    await append(env, [9, 10, 11, 12], 'b');
    const vectors = (await UpsertVectors.open(env.table, [1], env.db))!;
    assert.ok(vectors.active, String(vectors.reason));
    assert.equal(vectors.size, 12);
    await upsert(env, vectors, [2, 9, 20], [5], 'c');
    await upsert(env, vectors, [2, 3, 21], [9, 99], 'd'); // 2 again (its row of the last commit), 99 never existed
    await upsert(env, vectors, [], [1, 20], 'e'); // deletes only
    await upsert(env, vectors, [1], [], 'f'); // a deleted key comes back
    assert.deepEqual(await rowsOf(env), expected(env));
    assert.equal(await countOf(env), env.state.size);
    const [dvs, others] = await deleteFiles(env.table);
    assert.equal(others, 0, 'no equality delete is written');
    assert.ok(dvs >= 3, `vectors: ${dvs}`);
    // One live vector per data file (the rule the RowDelta checks; here: the replaced ones are gone).
    const scan = await planTableScan(env.table.io, env.table.metadata, { ref: 'main' });
    for (const t of scan.tasks) assert.ok(t.deletes.filter((d) => isDeletionVector(d.file)).length <= 1, t.file.file_path);
    assert.equal(vectors.size, env.state.size);
    // Every commit replaces vectors: the delete manifests left with only DELETED entries are dropped
    // from the next snapshot (as Java does), so they do not grow by one a commit.
    for (let i = 0; i < 6; i++) await upsert(env, vectors, [1, 2, 3, 10, 11, 12], [], `m${i}-`);
    const head = env.table.currentSnapshot()!;
    const list = readManifestList(await env.table.io.read(head['manifest-list']!));
    const deadManifests = list.filter((m) => m.content === ManifestContent.DELETES && m.added_snapshot_id !== head['snapshot-id'] && m.added_files_count === 0 && m.existing_files_count === 0);
    assert.deepEqual(deadManifests.map((m) => m.manifest_path), [], 'no delete manifest of an earlier snapshot without a live entry');
    assert.deepEqual(await rowsOf(env), expected(env));

    // A fresh index from the table (as a restart builds it) agrees, and keeps deleting right.
    const again = (await UpsertVectors.open(env.table, [1], env.db))!;
    assert.ok(again.active);
    assert.equal(again.size, env.state.size);
    await upsert(env, again, [2, 3, 4, 21], [6], 'g');
    assert.deepEqual(await rowsOf(env), expected(env));
    assert.equal(await countOf(env), env.state.size);
  });
});

test('upsert vectors: a bare count(*) never reads the vectors (a damaged Puffin file fails only the reads that need it)', async () => {
  await withV3(async (env) => {
    await append(env, [1, 2, 3, 4], 'a');
    const vectors = (await UpsertVectors.open(env.table, [1], env.db))!;
    await upsert(env, vectors, [2], [3], 'b');
    await env.table.refresh();
    const scan = await planTableScan(env.table.io, env.table.metadata, { ref: 'main' });
    const dv = scan.tasks.flatMap((t) => t.deletes).find((d) => isDeletionVector(d.file))!.file;
    const bytes = await env.table.io.read(dv.file_path);
    bytes[dv.content_offset! + 12] = bytes[dv.content_offset! + 12]! ^ 0xff; // inside the bitmap: the CRC fails
    await writeFile(dv.file_path, bytes);
    assert.equal(await countOf(env), 3);
    await assert.rejects(rowsOf(env), /deletion vector/);
  });
});

test('upsert vectors: built over live equality deletes (their rows are not indexed), then deletes by position', async () => {
  await withV3(async (env) => {
    await append(env, [1, 2, 3, 4, 5], 'a');
    // An earlier writer's upsert of 2 and delete of 4 by equality.
    await env.table.refresh();
    const rows = await writeDataFiles(env.table.io, env.table.metadata, batchFromRows(env.table.schema(), [[2n, 'b2']]));
    const del = await writeEqualityDeletes(env.table.io, env.table.metadata, { length: 2, columns: new Map([[1, [2n, 4n]]]) }, { equalityIds: [1] });
    await env.table.newRowDelta().addRowsFiles(rows.files, rows.specId).addDeleteFiles(del.files, del.specId).commit();
    env.state.set(2, 'b2');
    env.state.delete(4);
    const vectors = (await UpsertVectors.open(env.table, [1], env.db))!;
    assert.ok(vectors.active, String(vectors.reason));
    assert.equal(vectors.size, 4);
    await upsert(env, vectors, [2, 3, 4], [1], 'c');
    assert.deepEqual(await rowsOf(env), expected(env));
    const [, others] = await deleteFiles(env.table);
    assert.equal(others, 1, 'the older equality delete stays until a compaction');
  });
});

test('upsert vectors: a key twice in the table, and a foreign commit: the index is not used, nothing is lost', async () => {
  await withV3(async (env) => {
    await append(env, [1, 2], 'a');
    await append(env, [2], 'b'); // a plain append of a key already there
    const dup = (await UpsertVectors.open(env.table, [1], env.db))!;
    assert.equal(dup.active, false);
    assert.match(dup.reason!, /twice/);
  });
  await withV3(async (env) => {
    await append(env, [1, 2, 3], 'a');
    const vectors = (await UpsertVectors.open(env.table, [1], env.db))!;
    await upsert(env, vectors, [1], [], 'b');
    // Another writer (its own Table object) appends meanwhile.
    const other = await Table.load(env.catalog, ID);
    const { files, specId } = await writeDataFiles(other.io, other.metadata, batchFromRows(other.schema(), [[7n, 'x7']]));
    await other.newAppend().appendFiles(files, specId).commit();
    env.state.set(7, 'x7');
    await assert.rejects(upsert(env, vectors, [2], [], 'c'), (e: unknown) => e instanceof StaleKeyIndexError && /another writer/.test((e as Error).message));
    assert.deepEqual(await rowsOf(env), expected(env), 'the failed commit left nothing');
  });
});

test('upsert vectors: a compaction commits through the index; rows the writer deleted while it ran get vectors on the new files', async () => {
  await withV3(async (env) => {
    for (let f = 0; f < 6; f++) await append(env, [f * 10 + 1, f * 10 + 2, f * 10 + 3, f * 10 + 4], `a${f}-`);
    const vectors = (await UpsertVectors.open(env.table, [1], env.db))!;
    await upsert(env, vectors, [1, 12, 23], [34], 'b');
    let during: Promise<bigint> | undefined;
    const compacted = await compactTable(env.table, {
      minInputFiles: 2,
      duckdb: env.db,
      upsertVectors: vectors,
      onProgress: (p) => {
        // The writer commits between the compaction's read and its commit: upserts and deletes of copied rows.
        if (p.phase === 'commit' && p.done === 0 && !during) during = upsert(env, vectors, [2, 13, 41, 1], [22, 51], 'c');
      },
    });
    assert.ok(during, 'the writer committed during the compaction');
    await during;
    assert.ok(compacted.snapshotId !== undefined, 'the compaction committed (not abandoned)');
    assert.deepEqual(await rowsOf(env), expected(env));
    assert.equal(await countOf(env), env.state.size);
    const [dvs, others] = await deleteFiles(env.table);
    assert.equal(others, 0);
    assert.ok(dvs >= 1, 'the compacted file has a vector for the rows deleted meanwhile');
    // The index follows the compaction: later commits delete the right rows of the new files.
    await upsert(env, vectors, [3, 14, 42], [24, 2], 'd');
    assert.deepEqual(await rowsOf(env), expected(env));
    assert.equal(await countOf(env), env.state.size);
    // A second compaction (now of files with vectors) and a commit after it.
    const second = await compactTable(env.table, { minInputFiles: 2, duckdb: env.db, upsertVectors: vectors });
    assert.ok(second.snapshotId !== undefined);
    await upsert(env, vectors, [3, 61], [14], 'e');
    assert.deepEqual(await rowsOf(env), expected(env));
    const fresh = (await UpsertVectors.open(env.table, [1], env.db))!;
    assert.equal(fresh.size, env.state.size);
    assert.equal(vectors.size, env.state.size);
  });
});
