/**
 * Cancelling a rewrite: a stopping pipeline aborts its background compaction, and the COPY that
 * is writing must stop at once (DuckDB interrupted), leave no file, and report `ABORTED`; a
 * compaction aborted during its write phase commits nothing and leaves no new file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FloeError } from '../../src/errors.js';
import type { Schema } from '../../src/iceberg/types.js';
import { LocalFileIO } from '../../src/io/local.js';
import { compactTable } from '../../src/maintenance/compact.js';
import { copyToDataFile } from '../../src/maintenance/copy-writer.js';
import { DuckDB } from '../../src/duckdb/instance.js';
import { dataLocation } from '../../src/table/write.js';
import { appendRows, assertRows, liveDataFiles, sortedRows, withTable } from './helpers.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'i', required: true, type: 'long' },
    { id: 2, name: 's', required: false, type: 'string' },
  ],
};

let dir: string;
let duckdb: DuckDB;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-copy-abort-'));
  duckdb = await DuckDB.open({ threads: 1 });
});
after(async () => {
  duckdb.close();
  await rm(dir, { recursive: true, force: true });
});

const isAborted = (e: unknown) => e instanceof FloeError && e.code === 'ABORTED' && /aborted while writing; nothing was committed/.test(e.message);

test('copyToDataFile: an abort interrupts the running COPY; no file is left', async () => {
  const controller = new AbortController();
  const location = `file://${join(dir, 'big.parquet')}`;
  // Far more rows than can be written before the abort (tens of seconds on this machine).
  const write = copyToDataFile({
    duckdb,
    io: new LocalFileIO(),
    schema,
    selectSql: 'SELECT range AS i, md5(range::VARCHAR) AS s FROM range(200000000)',
    location,
    partition: [],
    specId: 0,
    compression: 'zstd',
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(), 150);
  let error: unknown;
  await write.catch((e: unknown) => (error = e));
  assert.ok(isAborted(error), `ABORTED, got ${String(error)}`);
  // DuckDB's own interrupt, not a COPY that ran to its end.
  assert.match(String((error as FloeError).cause), /INTERRUPT/);
  assert.deepEqual(await readdir(dir), [], 'the partial file is removed');
  // The connection (back in the pool) still works.
  assert.deepEqual(await duckdb.values('SELECT 7 AS x'), [{ x: 7 }]);
});

test('copyToDataFile: already aborted, nothing is written', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    copyToDataFile({
      duckdb,
      io: new LocalFileIO(),
      schema,
      selectSql: 'SELECT 1::BIGINT AS i, NULL::VARCHAR AS s',
      location: `file://${join(dir, 'never.parquet')}`,
      partition: [],
      specId: 0,
      compression: 'zstd',
      signal: controller.signal,
    }),
    isAborted,
  );
  assert.deepEqual(await readdir(dir), []);
});

test('compactTable: aborted while writing, nothing is committed and no new file is left', async () => {
  await withTable(async ({ catalog, table }) => {
    for (let i = 0; i < 6; i++) await appendRows(table, i * 10, 10);
    const before = await sortedRows(catalog);
    const snapshot = table.currentSnapshot()!['snapshot-id'];
    const files = new Set((await liveDataFiles(table)).map((f) => f.file_path));
    const dataDir = dataLocation(table.metadata).replace(/^file:\/\//, '');
    const onDisk = async () => (await readdir(dataDir, { recursive: true })).filter((f) => f.endsWith('.parquet')).sort();
    const diskBefore = await onDisk();
    const controller = new AbortController();
    await assert.rejects(
      compactTable(table, {
        minInputFiles: 2,
        signal: controller.signal,
        // Abort as the first output file is being written.
        onProgress: (p) => {
          if (p.phase === 'write' && p.done === 0) controller.abort();
        },
      }),
      (e: unknown) => e instanceof FloeError && e.code === 'ABORTED',
    );
    await table.refresh();
    assert.equal(table.currentSnapshot()!['snapshot-id'], snapshot, 'no new snapshot');
    assert.deepEqual(new Set((await liveDataFiles(table)).map((f) => f.file_path)), files);
    assert.deepEqual(await onDisk(), diskBefore, 'no new file on disk');
    await assertRows(catalog, before, 'after the aborted compaction');
  });
});
