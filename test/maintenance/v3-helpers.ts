/**
 * Helpers of the format v3 maintenance and scan tests: deletion vectors sharing one Puffin file
 * (as Iceberg Java writes them) and the row lineage of rows as a scan yields them.
 */
import { join } from 'node:path';
import type { DuckDB } from '../../src/duckdb/instance.js';
import { deletionVectorPuffinBlob, writePuffin } from '../../src/iceberg/puffin.js';
import { FileContent, type DataFile } from '../../src/iceberg/manifest-types.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import type { Table } from '../../src/table/table.js';
import { dataLocation, writeDataFiles } from '../../src/table/write.js';
import { rows } from './helpers.js';

/** Appends rows `from..from+n-1` of the test table in one commit; returns the data files (one per partition). */
export async function appendFiles(table: Table, from: number, n: number): Promise<DataFile[]> {
  await table.refresh();
  const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows(from, n)));
  await table.newAppend().appendFiles(files, specId).commit();
  return files;
}

/** One Puffin file (named `dv-test-…`, unlike the conversions' `dv-<uuid>`) holding a vector per `[data file, positions]`, and their manifest entries. */
export async function deletionVectors(table: Table, each: [DataFile, number[]][]): Promise<DataFile[]> {
  const path = join(dataLocation(table.metadata), `dv-test-${Math.random().toString(36).slice(2)}.puffin`);
  const { bytes, blobs } = writePuffin(each.map(([f, positions]) => deletionVectorPuffinBlob(f.file_path, positions)));
  await table.io.write(path, bytes);
  return each.map(([f, positions], i) => ({
    content: FileContent.POSITION_DELETES,
    file_path: path,
    file_format: 'PUFFIN',
    partition: f.partition,
    record_count: positions.length,
    file_size_in_bytes: bytes.length,
    referenced_data_file: f.file_path,
    content_offset: blobs[i]!.offset,
    content_size_in_bytes: blobs[i]!.length,
  }));
}

/** `event_id → "row id/sequence number"` of the rows a SELECT yields (it has the lineage columns). */
export async function lineageOf(db: DuckDB, sql: string): Promise<Map<string, string>> {
  const out = await db.all(`SELECT event_id, _row_id, _last_updated_sequence_number FROM (${sql}) AS t`);
  const m = new Map<string, string>();
  for (const r of out) m.set(String(r.event_id), `${String(r._row_id)}/${String(r._last_updated_sequence_number)}`);
  return m;
}
