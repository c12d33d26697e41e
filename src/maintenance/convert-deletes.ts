/**
 * Converts a table's equality deletes to position deletes (issue 18; Flink's
 * `ConvertEqualityDeletes` does the same), on format v3 to deletion vectors (the spec's v3
 * direction; `convert-to-vectors.ts`): the positions `(file_path, pos)` of the rows the live
 * equality delete files delete are found by one semi-join of the delete keys against the data
 * files' key columns (`query/table-view.ts` `equalityDeletePositionsSql`, the same matching a read
 * applies), written as position delete files (spec layout: `file_path` 2147483546, `pos`
 * 2147483545, sorted by path then position, one file per partition of the data files), and
 * committed as ONE `replace` snapshot (Iceberg Java's `RewriteFiles` of delete files: operation
 * `replace`, the standard summary of added position delete files and removed equality delete
 * files) that removes exactly the converted equality delete files. Rows stay what they were; reads
 * then anti-join (data file, `file_row_number`) pairs instead of keys, and a compaction can still
 * rewrite the files later (its delete-file trigger counts these files too). Measured (bench
 * `upserts.ts --convert-deletes true`, 3M and 10M rows): a count costs what it cost with the
 * equality deletes (every row is still scanned and probed), an aggregate 20-25% less, and the
 * conversions' CPU beside the writer made live reads slower: `maintenance.convert_deletes` is off
 * by default.
 *
 * Why it is correct:
 * - It reads one snapshot R and converts every equality delete file live at R. Such a file E
 *   applies (spec §Scan Planning) to the data files of its scope with a data sequence number
 *   strictly lower than its own; at R the planner lists exactly those for each data file, and the
 *   semi-join uses the same rule, so the positions are exactly the rows E removes at R.
 * - The new files' data sequence number is the highest data sequence number of the data files
 *   with equality deletes applied at R (M). A position delete applies to the data files of its
 *   partition with a data sequence number <= its own, and removes only the positions it names:
 *   every file it names has a number <= M, so it applies to all of them; files are named by unique
 *   paths, so no other file can lose a row. M <= R's number, so the new files never apply to a
 *   file committed after R (appends and row deltas get higher numbers; a later compaction reads a
 *   snapshot holding this conversion and gives its files that snapshot's, higher, number). The
 *   new snapshot's own number would be as correct, but every file committed between R and the
 *   commit would then be planned with these delete files (a useless anti-join at each read, and a
 *   delete file the delete-trigger compaction can drop only once those files are rewritten too).
 *   (Java's `RewriteFiles` likewise lets a rewrite give its added files an older data sequence
 *   number.)
 * - Removing E is safe only if no live data file that E applies to holds a row of E's keys other
 *   than those converted. Files committed after R by appends and row deltas (a running upsert
 *   pipeline) get numbers above E's: E never applied to them. Only a rewrite (`replace`, e.g. a
 *   compaction) gives new files old numbers, and only a commit that removes data files can take
 *   away a named file: before each attempt the history after R is checked and such a commit
 *   abandons the conversion (ValidationError, nothing committed; it runs again at its next
 *   interval). The removed equality delete files must still be live (a concurrent compaction or
 *   conversion removed one: `RewriteFiles` refuses, nothing committed). Conflicts with appends are
 *   rebuilt on the new head and retried, as compaction does.
 * - Format v3 takes no new position delete files: there the positions become deletion vectors,
 *   one per affected data file, all in one Puffin file (`convert-to-vectors.ts`). A vector names
 *   its one data file and applies to it when the file's data sequence number is <= the vector's;
 *   the vectors get M too: every affected file has a number <= M, so each vector applies to its
 *   file, and to no other. The semi-join is given the live vectors (and any position delete
 *   files of a table upgraded from v2) so that it finds only rows not deleted yet. A data file
 *   allows one live vector: one it already has is merged into the new vector (its positions
 *   decoded and added) and removed in the same commit by its identity (Puffin path + offset;
 *   other vectors share the file). Whatever data sequence number the old vector had, its
 *   positions stay deleted: they are in the new vector, which applies to the file. Position
 *   delete files applying to an affected file are merged likewise (the spec: a vector holds
 *   them; readers ignore them once it exists), and those naming only that file are removed.
 *   A concurrent commit that added a vector for an affected data file (two live vectors would
 *   be invalid) or replaced one this commit removes makes the commit's own checks fail on the
 *   base it builds on (`rewrite.ts`: the one-vector-per-file rule, and every removed file must
 *   still be live): ValidationError, nothing committed, as for the history check. A vector added
 *   meanwhile for any other data file only deletes more rows and is kept. A v1 table has no
 *   deletes to convert, and a table whose data or delete files to read are not all Parquet
 *   (deletion vectors apart) is left alone.
 * - A crash leaves the table as it was; the written files become orphans (`remove-orphans`), and
 *   a failure deletes them at once.
 */
import { randomUUID } from 'node:crypto';
import { FloeError, ValidationError } from '../errors.js';
import { FileContent, ManifestContent, EntryStatus, isDeletionVector, type DataFile } from '../iceberg/manifest-types.js';
import type { TableMetadata } from '../iceberg/metadata.js';
import { specById } from '../iceberg/metadata-lookup.js';
import { partitionPath } from '../iceberg/partitioning.js';
import { partitionKey, type FileScanTask } from '../iceberg/scan.js';
import { snapshotForRef } from '../iceberg/snapshot.js';
import type { Schema } from '../iceberg/types.js';
import { joinLocation } from '../io/location.js';
import { sharedDuckDB, type DuckDB } from '../duckdb/instance.js';
import { planTableScan } from '../query/table-scan.js';
import { equalityDeletePositionsSql } from '../query/table-view.js';
import { liveDeletionVectors } from '../table/delete-file-rules.js';
import type { Table } from '../table/table.js';
import { compressionOf, dataLocation } from '../table/write.js';
import { copyToDataFile } from './copy-writer.js';
import { checkPositiveInt, ManifestCache } from './files.js';
import { checkAborted, report, type MaintenanceRunOptions } from './progress.js';
import { writeConvertedVectors, type VectorConversion } from './convert-to-vectors.js';
import { commitInRounds, validateSince } from './rewrite-commit.js';

/** Field id of a position delete file's `file_path` (spec: reserved ids). */
export const DELETE_FILE_PATH_FIELD_ID = 2147483546;
/** Field id of a position delete file's `pos`. */
export const DELETE_FILE_POS_FIELD_ID = 2147483545;

/** The schema of a position delete file (spec §Position Delete Files), without the optional `row`. */
export const POSITION_DELETE_SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: DELETE_FILE_PATH_FIELD_ID, name: 'file_path', required: true, type: 'string', doc: 'Path of a file in which a deleted row is stored' },
    { id: DELETE_FILE_POS_FIELD_ID, name: 'pos', required: true, type: 'long', doc: 'Ordinal position of a deleted row in the data file' },
  ],
};

/**
 * Bounds of `file_path` are kept whole (Java's position delete files use full metrics for it), so
 * a reader can tell from the manifest which data files a delete file may name.
 */
const FULL_BOUNDS = 1 << 20;

/** Options of {@link convertEqualityDeletes}. */
export interface ConvertDeletesOptions extends MaintenanceRunOptions {
  /** Convert only when at least this many equality delete files are live. Default 1. */
  minFiles?: number;
  /** DuckDB that runs the join; default the process-wide instance. */
  duckdb?: DuckDB;
}

/** What a conversion did. */
export interface ConvertDeletesResult {
  table: string;
  /** The replace snapshot; undefined when there was nothing to convert. */
  snapshotId: bigint | undefined;
  /** Snapshot whose files were read. */
  readSnapshotId: bigint | undefined;
  /** Equality delete files removed. */
  removedEqualityDeleteFiles: number;
  /** Their rows (keys). */
  removedEqualityDeletes: number;
  /** Position delete files added (format v2: one per partition with deleted rows). */
  addedPositionDeleteFiles: number;
  /** Deletion vectors added (format v3: one per data file with deleted rows, in one Puffin file). */
  addedDeletionVectors: number;
  /** Live deletion vectors merged into the added ones and removed (format v3). */
  replacedDeletionVectors: number;
  /**
   * The positions the equality deletes removed (v2: the added files' rows; v3: the new positions,
   * without those merged from replaced vectors or position delete files).
   */
  positions: number;
  /** The data sequence number given to the new files (see the file comment). */
  dataSequenceNumber: bigint | undefined;
  /** Commit attempts (conflicts retried). */
  attempts: number;
  durationMs: number;
}

/**
 * The live equality delete files of the table's main branch at `md`, and its live deletion
 * vectors by referenced data file (v3: the ones of affected data files are replaced).
 */
async function liveDeletes(table: Table, md: TableMetadata): Promise<{ equality: DataFile[]; vectors: Map<string, DataFile[]> }> {
  const snapshot = snapshotForRef(md, 'main');
  if (!snapshot) return { equality: [], vectors: new Map() };
  const cache = new ManifestCache(table.io, table.name);
  const equality: DataFile[] = [];
  const entries = [];
  for (const m of await cache.snapshotManifests(snapshot)) {
    if (m.content !== ManifestContent.DELETES) continue;
    for (const e of await cache.entries(m)) {
      if (e.status !== EntryStatus.DELETED && e.data_file.content === FileContent.EQUALITY_DELETES) equality.push(e.data_file);
      if (isDeletionVector(e.data_file)) entries.push(e);
    }
  }
  return { equality, vectors: liveDeletionVectors(entries) };
}

/**
 * Refuses to commit over concurrent changes that would make removing the equality deletes wrong
 * (see the file comment): a commit after `readId` that removed data files (a named file may be
 * gone, or its rows moved) or that rewrote files (`replace` adding data files: they may carry data
 * sequence numbers the removed deletes apply to).
 */
function validateHistory(tableName: string, readId: bigint): (base: TableMetadata) => void {
  return validateSince('convert-deletes', 'the conversion', tableName, readId, (s) => {
    const op = s.summary.operation;
    const removedData = Number(s.summary['deleted-data-files'] ?? 0);
    const rewrote = op === 'replace' && Number(s.summary['added-data-files'] ?? 0) > 0;
    if (removedData > 0 || rewrote) {
      throw new ValidationError(
        `convert-deletes: ${tableName}: snapshot ${s['snapshot-id']} (${op}) ${rewrote ? 'rewrote' : 'removed'} data files while converting; abandoned (run it again)`,
      );
    }
  });
}

/**
 * Converts the live equality deletes of a table to position deletes (format v2) or deletion
 * vectors (format v3) in one `replace` snapshot (see the file comment). When there is nothing to
 * convert, nothing is committed.
 * @throws ValidationError when a concurrent commit makes the conversion unsafe (nothing committed)
 * @throws CommitConflictError when the commit still conflicts after the table's retries
 */
export async function convertEqualityDeletes(table: Table, options: ConvertDeletesOptions = {}): Promise<ConvertDeletesResult> {
  const started = Date.now();
  const what = `convert-deletes: ${table.name}`;
  const minFiles = checkPositiveInt(options.minFiles ?? 1, 'convert-deletes: minimum equality delete files');
  await table.refresh();
  const md = table.metadata;
  const version = md['format-version'];
  const snapshot = snapshotForRef(md, 'main');
  const result: ConvertDeletesResult = {
    table: table.name,
    snapshotId: undefined,
    readSnapshotId: snapshot?.['snapshot-id'],
    removedEqualityDeleteFiles: 0,
    removedEqualityDeletes: 0,
    addedPositionDeleteFiles: 0,
    addedDeletionVectors: 0,
    replacedDeletionVectors: 0,
    positions: 0,
    dataSequenceNumber: undefined,
    attempts: 0,
    durationMs: 0,
  };
  const done = (): ConvertDeletesResult => ({ ...result, durationMs: Date.now() - started });
  if (!snapshot || (version !== 2 && version !== 3)) return done();
  // Runs every few seconds: a table without delete files (the summary says so) costs no planning.
  if (snapshot.summary['total-delete-files'] === '0' || snapshot.summary['total-equality-deletes'] === '0') return done();
  const readSeq = snapshot['sequence-number'];
  if (readSeq === undefined) return done();

  report(options.onProgress, { operation: 'convert-deletes', phase: 'plan', done: 0, total: 1 });
  const live = await liveDeletes(table, md);
  const equalityDeletes = live.equality;
  if (equalityDeletes.length === 0 || equalityDeletes.length < minFiles) return done();
  const scan = await planTableScan(table.io, md, { ref: 'main' });
  const groups = new Map<string, { specId: number; partition: FileScanTask['partition']; tasks: FileScanTask[] }>();
  let maxSeq: bigint | undefined;
  for (const t of scan.tasks) {
    if (!t.deletes.some((d) => d.file.content === FileContent.EQUALITY_DELETES)) continue;
    if (maxSeq === undefined || t.dataSequenceNumber > maxSeq) maxSeq = t.dataSequenceNumber;
    const key = partitionKey(t.specId, t.partition);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { specId: t.specId, partition: t.partition, tasks: [] }));
    g.tasks.push(t);
  }
  report(options.onProgress, { operation: 'convert-deletes', phase: 'plan', done: 1, total: 1 });
  // Only Parquet is read here (as by `floe query`; deletion vectors floe decodes itself): a table
  // with other files to read is left as it is rather than failing at every interval.
  const parquet = (f: DataFile) => f.file_format.toUpperCase() === 'PARQUET';
  const readable = (f: DataFile) => parquet(f) || (version >= 3 && isDeletionVector(f));
  for (const g of groups.values()) {
    if (g.tasks.some((t) => !parquet(t.file) || t.deletes.some((d) => !readable(d.file)))) return done();
  }

  const duckdb = options.duckdb ?? (await sharedDuckDB());
  const written: { file: DataFile; specId: number }[] = [];
  let vectors: VectorConversion | undefined;
  try {
    if (version >= 3) {
      // One Puffin file for the whole conversion, whatever the number of partitions.
      checkAborted(options.signal, what);
      report(options.onProgress, { operation: 'convert-deletes', phase: 'write', done: 0, total: groups.size });
      const tasks = [...groups.values()].flatMap((g) => g.tasks);
      vectors = await writeConvertedVectors({ table, metadata: md, schema: scan.schema, tasks, liveVectors: live.vectors, duckdb, what });
      written.push(...vectors.vectors);
    } else {
      await writePositionDeleteFiles({ table, md, schema: scan.schema, groups: [...groups.values()], duckdb, options, what }, written);
    }
    report(options.onProgress, { operation: 'convert-deletes', phase: 'write', done: groups.size, total: groups.size });
    checkAborted(options.signal, what);

    // No data file has equality deletes applied (every delete is newer than nothing, or older
    // than every file): the deletes apply to nothing and are removed with no file added.
    const seq = maxSeq ?? readSeq;
    report(options.onProgress, { operation: 'convert-deletes', phase: 'commit', done: 0, total: 1 });
    const commitOnce = () => {
      const op = table.newReplace({
        dataSequenceNumber: seq,
        validate: validateHistory(table.name, snapshot['snapshot-id']),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      for (const d of equalityDeletes) op.deleteFile(d.file_path);
      // By identity: a replaced vector's Puffin file may hold vectors that stay.
      for (const d of vectors?.replacedVectors ?? []) op.deleteFile(d);
      for (const d of vectors?.replacedPositionFiles ?? []) op.deleteFile(d);
      for (const w of written) op.addFile(w.file, w.specId);
      return op.commit();
    };
    const { committed, attempts } = await commitInRounds(table, commitOnce, options.signal);
    report(options.onProgress, { operation: 'convert-deletes', phase: 'commit', done: 1, total: 1 });
    result.snapshotId = committed.snapshot['snapshot-id'];
    result.attempts = attempts;
    result.removedEqualityDeleteFiles = equalityDeletes.length;
    result.removedEqualityDeletes = equalityDeletes.reduce((s, d) => s + d.record_count, 0);
    if (vectors) {
      result.addedDeletionVectors = vectors.vectors.length;
      result.replacedDeletionVectors = vectors.replacedVectors.length;
      result.positions = vectors.newPositions;
    } else {
      result.addedPositionDeleteFiles = written.length;
      result.positions = written.reduce((s, w) => s + w.file.record_count, 0);
    }
    result.dataSequenceNumber = seq;
    return done();
  } catch (e) {
    // Nothing references the new files: remove them now (after an unknown outcome they may be).
    if (!(e instanceof FloeError && e.code === 'COMMIT_STATE_UNKNOWN')) {
      // Vectors share their Puffin file: each path once.
      for (const p of new Set(written.map((w) => w.file.file_path))) await table.io.delete(p).catch(() => undefined);
    }
    throw e;
  }
}

/** Inputs of {@link writePositionDeleteFiles}. */
interface PositionFilesInput {
  table: Table;
  md: TableMetadata;
  schema: Schema;
  groups: { specId: number; partition: FileScanTask['partition']; tasks: FileScanTask[] }[];
  duckdb: DuckDB;
  options: ConvertDeletesOptions;
  what: string;
}

/**
 * Format v2: one position delete file per partition of the groups, each pushed to `written` as
 * soon as it exists (a failure then deletes every file written so far).
 */
async function writePositionDeleteFiles(input: PositionFilesInput, written: { file: DataFile; specId: number }[]): Promise<void> {
  const { table, md, schema, groups, duckdb, options, what } = input;
  const compression = compressionOf(md);
  let n = 0;
  for (const g of groups) {
    checkAborted(options.signal, what);
    report(options.onProgress, { operation: 'convert-deletes', phase: 'write', done: n++, total: groups.length });
    const positions = await equalityDeletePositionsSql({ duckdb, io: table.io, metadata: md, schema, tasks: g.tasks });
    if (positions === undefined) {
      throw new ValidationError(`${what}: the planned delete files do not follow the spec's sequence-number rule; nothing converted`);
    }
    const spec = specById(md, g.specId, 'table');
    let dir = dataLocation(md);
    if (spec.fields.length > 0) {
      try {
        dir = joinLocation(dir, partitionPath(spec, schema, g.partition));
      } catch {
        // A spec whose source column is gone from the schema: the data directory itself.
      }
    }
    const file = await copyToDataFile({
      duckdb,
      io: table.io,
      schema: POSITION_DELETE_SCHEMA,
      selectSql: `SELECT "file_path", "pos" FROM (${positions}) AS p ORDER BY "file_path", "pos"`,
      location: joinLocation(dir, `pos-deletes-${randomUUID()}.parquet`),
      partition: g.partition,
      specId: g.specId,
      compression,
      boundsTruncateLength: FULL_BOUNDS,
      // Java's footer key of a position delete file (`Parquet.DeleteWriteBuilder`).
      kvMetadata: { 'delete-type': 'position' },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (file) written.push({ file: { ...file, content: FileContent.POSITION_DELETES }, specId: g.specId });
  }
}
