/**
 * Replace/overwrite (`RewriteFiles`) and deletion vectors, at the metadata level: a vector given
 * as a file is removed by its identity (Puffin path + offset), the other vectors of its Puffin
 * file staying; a path still removes every entry with that path (existing callers); added delete
 * files follow the format version's rules on each attempt (v3 refuses a Parquet position delete
 * file, a second live vector for a data file, and a vector added meanwhile by a concurrent
 * commit); a vector no longer live fails the commit. The Puffin files need not exist: nothing
 * here reads them.
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
import { EntryStatus, FileContent, ManifestContent, type DataFile } from '../../src/iceberg/manifest-types.js';
import { snapshotForRef } from '../../src/iceberg/snapshot.js';
import type { Schema } from '../../src/iceberg/types.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';

const SCHEMA: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'long' }] };
const ID = { namespace: ['db'], name: 't' };

async function withV3Table(fn: (table: Table, catalog: SqlCatalog, data: DataFile[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-rw-dv-'));
  const catalog = new SqlCatalog({ name: 'test', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'wh') });
  try {
    await catalog.createNamespace(['db']);
    await catalog.createTable(ID, { schema: SCHEMA, formatVersion: 3 });
    const table = await Table.load(catalog, ID);
    const data: DataFile[] = [];
    for (const from of [0, 10, 20]) {
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

function dv(table: Table, target: DataFile, offset: number, puffin: string): DataFile {
  return {
    content: FileContent.POSITION_DELETES,
    file_path: `${table.metadata.location}/data/${puffin}`,
    file_format: 'PUFFIN',
    partition: [],
    record_count: 1,
    file_size_in_bytes: 4096,
    referenced_data_file: target.file_path,
    content_offset: offset,
    content_size_in_bytes: 64,
  };
}

/** The live delete entries of the current snapshot as `puffin@offset → data file`. */
async function liveVectors(table: Table): Promise<string[]> {
  await table.refresh();
  const list = snapshotForRef(table.metadata, 'main')!['manifest-list']!;
  const out: string[] = [];
  for (const m of readManifestList(await table.io.read(list))) {
    if (m.content !== ManifestContent.DELETES) continue;
    for (const e of readManifest(await table.io.read(m.manifest_path)).entries) {
      if (e.status === EntryStatus.DELETED) continue;
      out.push(`${e.data_file.file_path.split('/').pop()}@${e.data_file.content_offset} → ${e.data_file.referenced_data_file}`);
    }
  }
  return out.sort();
}

test('replace: a vector given as a file is removed by identity (its Puffin file shared), a path removes every entry', async () => {
  await withV3Table(async (table, _catalog, [a, b, c]) => {
    const [va, vb, vc] = [dv(table, a!, 4, 'p1.puffin'), dv(table, b!, 68, 'p1.puffin'), dv(table, c!, 132, 'p1.puffin')];
    await table.newRowDelta().addDeletes(va).addDeletes(vb).addDeletes(vc).commit();

    // a's vector replaced by one in another Puffin file: b's and c's (same file as a's) stay.
    const va2 = dv(table, a!, 4, 'p2.puffin');
    await table.refresh();
    await table.newReplace().deleteFile(va).addFile(va2).commit();
    assert.deepEqual(await liveVectors(table), [`p1.puffin@132 → ${c!.file_path}`, `p1.puffin@68 → ${b!.file_path}`, `p2.puffin@4 → ${a!.file_path}`]);
    const s = snapshotForRef(table.metadata, 'main')!.summary;
    assert.equal(s['operation'], 'replace');
    assert.equal(s['added-dvs'], '1');
    assert.equal(s['removed-dvs'], '1');

    // A path still removes every entry with it (the existing callers' form).
    await table.refresh();
    await table.newReplace().deleteFile(vb.file_path).commit();
    assert.deepEqual(await liveVectors(table), [`p2.puffin@4 → ${a!.file_path}`]);

    // The removed vector is gone: removing it again fails, nothing committed.
    await table.refresh();
    await assert.rejects(table.newReplace().deleteFile(va).commit(), (e: unknown) => e instanceof ValidationError && /no longer in the table/.test(e.message) && e.message.includes('p1.puffin@4'));
  });
});

test('replace on v3: a second live vector for a data file, or a Parquet position delete file, is refused', async () => {
  await withV3Table(async (table, _catalog, [a]) => {
    await table.newRowDelta().addDeletes(dv(table, a!, 4, 'p1.puffin')).commit();
    await table.refresh();
    await assert.rejects(table.newReplace().addFile(dv(table, a!, 4, 'p2.puffin')).commit(), (e: unknown) => e instanceof ValidationError && /already has a deletion vector/.test(e.message));
    const parquet: DataFile = { content: FileContent.POSITION_DELETES, file_path: `${table.metadata.location}/data/pos.parquet`, file_format: 'PARQUET', partition: [], record_count: 1, file_size_in_bytes: 100 };
    await table.refresh();
    await assert.rejects(table.newReplace().addFile(parquet).commit(), UnsupportedError);
  });
});

test('replace on v3: a vector a concurrent commit added for the same data file fails the retry', async () => {
  await withV3Table(async (table, catalog, [a]) => {
    await table.refresh();
    const op = table.newReplace().addFile(dv(table, a!, 4, 'mine.puffin'));
    // The concurrent writer commits first; this commit's attempt conflicts, reloads, and is refused.
    const other = await Table.load(catalog, ID);
    await other.newRowDelta().addDeletes(dv(other, a!, 4, 'theirs.puffin')).commit();
    await assert.rejects(op.commit(), (e: unknown) => e instanceof ValidationError && /already has a deletion vector/.test(e.message));
    assert.deepEqual(await liveVectors(table), [`theirs.puffin@4 → ${a!.file_path}`]);
  });
});
