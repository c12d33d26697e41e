/**
 * Delete files by format version (spec §Delete Formats), at the metadata level: a v3 table refuses
 * position delete files and takes deletion vectors (validated), at most one live vector per data
 * file (replacing one means removing the old one in the same commit, and a vector a concurrent
 * commit added fails the retry); a v2 table refuses vectors. The vectors point at Puffin files
 * that need not exist: nothing here reads them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { UnsupportedError, ValidationError } from '../../src/errors.js';
import { readManifestList } from '../../src/iceberg/avro/manifest-list.js';
import { readManifest } from '../../src/iceberg/avro/manifest.js';
import { EntryStatus, FileContent, type DataFile } from '../../src/iceberg/manifest-types.js';
import type { Schema } from '../../src/iceberg/types.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';

const SCHEMA: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'long' }] };
const ID = { namespace: ['db'], name: 't' };

async function withTable(formatVersion: 2 | 3, fn: (table: Table, catalog: SqlCatalog, data: DataFile[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-dv-'));
  const catalog = new SqlCatalog({ name: 'test', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'wh') });
  try {
    await catalog.createNamespace(['db']);
    await catalog.createTable(ID, { schema: SCHEMA, formatVersion });
    const table = await Table.load(catalog, ID);
    const data: DataFile[] = [];
    for (const from of [0, 10]) {
      const rows = Array.from({ length: 10 }, (_, i) => [BigInt(from + i)]);
      const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows));
      await table.newAppend().appendFiles(files, specId).commit();
      data.push(...files);
    }
    await fn(table, catalog, data);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A deletion vector of `cardinality` positions for `target`, blob at `offset` in a shared Puffin file. */
function dv(table: Table, target: DataFile, offset: number, cardinality = 2, puffin = 'dvs-1.puffin'): DataFile {
  return {
    content: FileContent.POSITION_DELETES,
    file_path: `${table.metadata.location}/data/${puffin}`,
    file_format: 'PUFFIN',
    partition: [],
    record_count: cardinality,
    file_size_in_bytes: 4096,
    referenced_data_file: target.file_path,
    content_offset: offset,
    content_size_in_bytes: 64,
  };
}

function positionDeleteFile(table: Table, target: DataFile): DataFile {
  return {
    content: FileContent.POSITION_DELETES,
    file_path: `${table.metadata.location}/data/pos-deletes.parquet`,
    file_format: 'PARQUET',
    partition: [],
    record_count: 1,
    file_size_in_bytes: 512,
    referenced_data_file: target.file_path,
  };
}

test('v3 refuses position delete files, naming deletion vectors', async () => {
  await withTable(3, async (table, _catalog, [a]) => {
    assert.throws(
      () => table.newRowDelta().addDeletes(positionDeleteFile(table, a!)),
      (e: unknown) => e instanceof UnsupportedError && /cannot be added to a format v3 table: v3 tables take deletion vectors/.test(e.message),
    );
  });
});

test('v2 refuses deletion vectors and still takes position delete files', async () => {
  await withTable(2, async (table, _catalog, [a]) => {
    assert.throws(() => table.newRowDelta().addDeletes(dv(table, a!, 4)), (e: unknown) => e instanceof UnsupportedError && /needs a format v3 table/.test(e.message));
    const r = await table.newRowDelta().addDeletes(positionDeleteFile(table, a!)).commit();
    assert.equal(r.snapshot.summary['added-position-delete-files'], '1');
  });
});

test('v3 validates deletion vectors: referenced file, offset and size required and within the file', async () => {
  await withTable(3, async (table, _catalog, [a]) => {
    const good = dv(table, a!, 4);
    const cases: [Partial<DataFile>, RegExp][] = [
      [{ referenced_data_file: null }, /needs referenced_data_file/],
      [{ content_offset: null, content_size_in_bytes: null }, /needs content_offset, content_size_in_bytes/],
      [{ content_offset: 4090 }, /does not lie within the file's 4096 bytes/],
      [{ content_size_in_bytes: 0 }, /does not lie within/],
    ];
    for (const [change, message] of cases) {
      assert.throws(() => table.newRowDelta().addDeletes({ ...good, ...change }), (e: unknown) => e instanceof ValidationError && message.test(e.message), String(message));
    }
  });
});

test('v3: one live deletion vector per data file; replacing one removes the old in the same commit', async () => {
  await withTable(3, async (table, _catalog, [a, b]) => {
    const first = dv(table, a!, 4);
    const r1 = await table.newRowDelta().addDeletes(first).commit();
    assert.equal(r1.snapshot.summary.operation, 'delete');
    assert.equal(r1.snapshot.summary['added-dvs'], '1');
    assert.equal(r1.snapshot['first-row-id'], 20n);
    assert.equal(r1.snapshot['added-rows'], 0n, 'no new data manifest: no row ids handed out');

    // Another vector for `a` (same Puffin file, another blob) without removing the first: refused.
    const second = dv(table, a!, 100, 3);
    await assert.rejects(table.newRowDelta().addDeletes(second).commit(), (e: unknown) => e instanceof ValidationError && /already has a deletion vector/.test(e.message));
    // Two for `b` in one commit: refused.
    await assert.rejects(
      table.newRowDelta().addDeletes(dv(table, b!, 200)).addDeletes(dv(table, b!, 300)).commit(),
      (e: unknown) => e instanceof ValidationError && /two deletion vectors for data file/.test(e.message),
    );
    // A vector for `b` while `a` has one: fine.
    await table.newRowDelta().addDeletes(dv(table, b!, 400)).commit();

    // Replace a's vector: the old one removed in the same commit.
    const r2 = await table.newRowDelta().addDeletes(second).removeDeletes(first).commit();
    assert.equal(r2.snapshot.summary['added-dvs'], '1');
    assert.equal(r2.snapshot.summary['removed-dvs'], '1');
    assert.equal(r2.snapshot.summary['total-position-deletes'], String(3 + 2), 'a: 3 now, b: 2');
    const list = readManifestList(await table.io.read(r2.snapshot['manifest-list']!));
    const entries = [];
    for (const m of list.filter((x) => x.content === 1)) {
      assert.equal(m.first_row_id, undefined);
      entries.push(...readManifest(await table.io.read(m.manifest_path)).entries);
    }
    const byState = entries.map((e) => [e.status, e.data_file.referenced_data_file === a!.file_path ? 'a' : 'b', e.data_file.content_offset]);
    assert.deepEqual(
      byState.sort((x, y) => Number(x[2]) - Number(y[2])),
      [
        [EntryStatus.DELETED, 'a', 4],
        [EntryStatus.ADDED, 'a', 100],
        [EntryStatus.ADDED, 'b', 400], // its manifest, untouched, carried as it was
      ],
    );
    for (const e of entries) assert.equal(e.data_file.first_row_id, undefined, 'delete files never carry first_row_id');

    // Removing it again: it is gone.
    await assert.rejects(
      table.newRowDelta().addDeletes(dv(table, a!, 500)).removeDeletes(first).commit(),
      (e: unknown) => e instanceof ValidationError && /no longer in the table/.test(e.message),
    );
  });
});

test('v3: a vector a concurrent commit added for the same data file fails the retry', async () => {
  await withTable(3, async (table, catalog, [a]) => {
    const stale = await Table.load(catalog, ID);
    await table.newRowDelta().addDeletes(dv(table, a!, 4)).commit();
    await assert.rejects(
      stale.newRowDelta().addDeletes(dv(stale, a!, 700, 1, 'dvs-2.puffin')).commit(),
      (e: unknown) => e instanceof ValidationError && /already has a deletion vector \(.*dvs-1\.puffin at offset 4\)/.test(e.message),
    );
    await table.refresh();
    assert.equal(table.metadata.snapshots.length, 3, 'the stale commit left no snapshot');
  });
});
