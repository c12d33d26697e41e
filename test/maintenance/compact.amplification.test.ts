import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataFile } from '../../src/iceberg/manifest-types.js';
import type { DeleteFileRef, FileScanTask } from '../../src/iceberg/scan.js';
import { compactTable, planGroup } from '../../src/maintenance/compact.js';
import { appendRows, liveDataFiles, sortedRows, withTable } from './helpers.js';

// A stream as `floe run` writes it: a small file per commit, compaction every few commits, with
// the default target (128 MiB), which a streaming table of this size never reaches. Compaction
// used to merge its own previous output with the few files committed since, rewriting the whole
// table every round (rows rewritten grow with the square of the rounds: about 20x the rows
// ingested here). With the size-tier rule a row is rewritten only into a file at least twice as
// big, so at most log2(rounds) times.
const APPENDS = 96;
const ROWS = 10;
const EVERY = 4;

test('compact: a stream compacted every few commits rewrites each row O(log rounds) times, file count stays bounded', async () => {
  await withTable(async ({ catalog, table }) => {
    let ingestedBytes = 0;
    let rewrittenRows = 0;
    let rewrittenBytes = 0;
    let largestRewrite = 0;
    let maxFiles = 0;
    let compactions = 0;
    for (let i = 0; i < APPENDS; i++) {
      const c = await appendRows(table, i * ROWS, ROWS);
      ingestedBytes += Number(c.snapshot.summary['added-files-size'] ?? NaN);
      if ((i + 1) % EVERY !== 0) continue;
      const r = await compactTable(table, { minInputFiles: EVERY });
      if (r.snapshotId !== undefined) compactions++;
      rewrittenRows += r.records;
      rewrittenBytes += r.rewrittenBytes;
      largestRewrite = Math.max(largestRewrite, r.records);
      maxFiles = Math.max(maxFiles, (await liveDataFiles(table)).length);
    }
    const ingestedRows = APPENDS * ROWS;
    const rounds = APPENDS / EVERY;
    const bound = Math.log2(rounds) + 1;
    const report = `rows rewritten ${rewrittenRows} (${(rewrittenRows / ingestedRows).toFixed(2)}x the ${ingestedRows} ingested), bytes ${rewrittenBytes} (${(rewrittenBytes / ingestedBytes).toFixed(2)}x the ${ingestedBytes} ingested), largest compaction ${largestRewrite} rows, ${compactions} compactions, at most ${maxFiles} files`;
    assert.ok(Number.isFinite(ingestedBytes), 'appends report their bytes');
    assert.ok(compactions >= rounds / 2, `compaction keeps merging the new files: ${report}`);
    assert.ok(rewrittenRows <= bound * ingestedRows, `rows rewritten ≤ (log2(${rounds}) + 1) × ingested: ${report}`);
    assert.ok(rewrittenBytes <= bound * ingestedBytes, `bytes rewritten ≤ (log2(${rounds}) + 1) × ingested: ${report}`);
    // The files a compaction leaves: fewer than EVERY new ones plus one per size tier.
    assert.ok(maxFiles <= EVERY + Math.ceil(Math.log2(rounds)) + 1, `file count bounded: ${report}`);
    // Most rounds merge only the newest tiers, not the table.
    assert.ok(largestRewrite <= ingestedRows, report);
    // Every row once, none lost or doubled.
    const ids = (await sortedRows(catalog)).map((r) => r.split('|')[0]);
    assert.deepEqual(ids, Array.from({ length: ingestedRows }, (_, k) => `evt_${String(k).padStart(6, '0')}`));
    console.log(`# ${report}`);
  });
});

const KB = 1024;
const MB = 1024 * KB;
/** A candidate file for the planner (only path, size and rows matter to it). */
const task = (name: string, bytes: number, rows: number, deletes = 0): FileScanTask => ({
  file: { file_path: name, file_size_in_bytes: bytes, record_count: rows } as DataFile,
  specId: 0,
  dataSequenceNumber: 1n,
  fileSequenceNumber: 1n,
  partition: [],
  deletes: Array.from({ length: deletes }, () => ({}) as DeleteFileRef),
});
const names = (bins: FileScanTask[][]) => bins.map((b) => b.map((t) => t.file.file_path).sort());

test('compact plan: a file holding more than 60% of the rows or bytes of its bin is left out; deletes still force a rewrite', () => {
  const commits = Array.from({ length: 20 }, (_, i) => task(`c${String(i).padStart(2, '0')}`, 2 * KB, 10));
  // Yesterday's compacted file: under 75% of the target, so "small", but 24x the new files.
  const compacted = task('big', 1 * MB, 4800);
  assert.deepEqual(names(planGroup([compacted, ...commits], 128 * MB, 20)), [commits.map((t) => t.file.file_path)]);
  // Large in rows though small in bytes (a footer-heavy round of commits) is large too.
  const manyRows = task('rows', 30 * KB, 4800);
  assert.deepEqual(names(planGroup([manyRows, ...commits], 128 * MB, 20)), [commits.map((t) => t.file.file_path)]);
  // Fewer than min-input-files once it is left out: nothing, though 20 files are "small".
  assert.deepEqual(planGroup([compacted, ...commits.slice(1)], 128 * MB, 20), []);
  // With deletes it must be rewritten (to apply them): it stays, and the small files go with it.
  const deleted = task('big', 1 * MB, 4800, 1);
  assert.deepEqual(names(planGroup([deleted, ...commits], 128 * MB, 20)), [['big', ...commits.map((t) => t.file.file_path)]]);
  assert.deepEqual(names(planGroup([deleted, commits[0]!], 128 * MB, 20)), [['big', 'c00']]);
  // Alone, above 75% of the target, it is still rewritten for its deletes.
  assert.deepEqual(names(planGroup([task('huge', 120 * MB, 1e6, 1)], 128 * MB, 5)), [['huge']]);
});

test('compact plan: files of about the same size merge; a big one joins once the rest has caught up', () => {
  // Two compacted files a little apart in size (60% each at most): merged.
  assert.deepEqual(names(planGroup([task('a', 140 * KB, 700), task('b', 100 * KB, 500)], 128 * MB, 2)), [['a', 'b']]);
  // Twice the other: left out, and one file is no merge.
  assert.deepEqual(planGroup([task('a', 200 * KB, 1000), task('b', 100 * KB, 500)], 128 * MB, 2), []);
  // The files beside it add up: [1000, 500, 10 × 50 rows] -> 1000 is exactly half, everything merges.
  const small = Array.from({ length: 10 }, (_, i) => task(`s${i}`, 10 * KB, 50));
  const bins = planGroup([task('a', 200 * KB, 1000), task('b', 100 * KB, 500), ...small], 128 * MB, 5);
  assert.equal(bins.length, 1);
  assert.equal(bins[0]!.length, 12);
});
