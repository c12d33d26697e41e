/**
 * Compaction (bin-packing): small data files of a partition are rewritten into files of about a
 * target size, with their delete files applied, and committed as one `replace` snapshot.
 *
 * Size tiers bound the rewriting (see `planGroup`): a file holding more than 60% of the rows or
 * bytes of what it would be merged into is left out, so each row is rewritten only into a file
 * at least 1.67 times as big as the one it was in, O(log(target / commit size)) times in all. A
 * stream's compacted file is not rewritten every round to absorb the few files committed since.
 *
 * How it stays correct next to a pipeline appending every second:
 * - It reads one snapshot N and writes new files whose rows are exactly the live rows of the input
 *   files at N (DuckDB runs the planned scan, deletes applied, and writes the Parquet directly).
 * - The new files get data sequence number N (spec: sequence numbers), so an equality delete
 *   committed after N still applies to the rewritten rows.
 * - The commit goes through `RewriteFiles` (a `replace`): appends committed meanwhile are carried
 *   over, conflicts are retried on the new head, and the `floe.checkpoint.*` positions of the head
 *   are carried forward unchanged, so the pipeline is never fenced by a compaction.
 * - Before each attempt the history after N is checked: a concurrent commit that added position
 *   deletes (which might point into the rewritten files) abandons the compaction, and so does a
 *   concurrent rewrite when delete files are being removed. Abandoning only wastes work.
 * - Delete files are removed when every data file they apply to at N is rewritten: rows appended
 *   after N have higher sequence numbers, which those deletes never apply to.
 * - A crash at any point leaves the table as it was; written files become orphans (see
 *   `remove-orphans`), and a failure deletes them at once.
 *
 * Format v3 (spec §Row Lineage): a row moved to another file keeps its `_row_id` and
 * `_last_updated_sequence_number`, so the new files store both (read with the scan's
 * `rowLineage`: stored values, else inherited ones), under their reserved field ids. The new
 * files' entries carry no `first_row_id`: the commit assigns them a range like any added file,
 * and the stored ids take precedence on read. Deletion vectors of rewritten files are removed by
 * their identity (Puffin path + offset): other data files' vectors in the same Puffin file stay.
 */
import { randomUUID } from 'node:crypto';
import { FloeError, ValidationError } from '../errors.js';
import type { Expression } from '../iceberg/expressions.js';
import { FileContent, isDeletionVector, ManifestContent, type DataFile } from '../iceberg/manifest-types.js';
import type { TableMetadata } from '../iceberg/metadata.js';
import { specById } from '../iceberg/metadata-lookup.js';
import { partitionPath } from '../iceberg/partitioning.js';
import { partitionKey, type FileScanTask } from '../iceberg/scan.js';
import { snapshotForRef } from '../iceberg/snapshot.js';
import { joinLocation } from '../io/location.js';
import { sharedDuckDB, type DuckDB } from '../duckdb/instance.js';
import { planTableScan } from '../query/table-scan.js';
import { scanToSql } from '../query/table-view.js';
import type { Table } from '../table/table.js';
import { compressionOf, dataLocation } from '../table/write.js';
import { copyToDataFile } from './copy-writer.js';
import { deleteTriggered, type DeleteThresholds } from './delete-trigger.js';
import { checkPositiveInt, ManifestCache } from './files.js';
import { checkAborted, report, type MaintenanceRunOptions } from './progress.js';
import { commitInRounds, validateSince } from './rewrite-commit.js';
import { DeletionVectorTable } from '../query/deletion-vectors.js';
import { deleteFileKey } from '../table/delete-file-rules.js';
import type { RewriteVectors, UpsertVectors } from '../table/upsert-vectors.js';

/** Target size of compacted files when neither the caller nor the table says. */
export const DEFAULT_TARGET_FILE_SIZE = 128 * 1024 * 1024;
/** Fewest small files a partition needs before it is compacted (Iceberg Java's default). */
export const DEFAULT_MIN_INPUT_FILES = 5;
/** Files below this fraction of the target size are "small" (Java's `min-file-size-bytes`). */
const SMALL_FRACTION = 0.75;
/** The largest share of a bin's rows or bytes one file may hold (the size-tier rule, `dropOversized`). */
const MAX_SHARE = 0.6;

/** Options of {@link compactTable}. */
export interface CompactOptions extends MaintenanceRunOptions {
  /**
   * Size of the files to produce. Default: the table property `write.target-file-size-bytes`,
   * else 128 MiB.
   */
  targetFileSizeBytes?: number;
  /**
   * A partition is compacted when at least this many small files are left to merge once the size
   * tiers have left out the files too big for them (Iceberg Java's `min-input-files`). Default 5.
   * Files with deletes are rewritten whatever their number.
   */
  minInputFiles?: number;
  /**
   * The key index of an upsert writer of this table in this process (`table/upsert-vectors.ts`):
   * the commit takes the writer's lock and adds vectors for rows the writer deleted while the
   * compaction ran, instead of being abandoned by them.
   */
  upsertVectors?: UpsertVectors;
  /**
   * Only files that may hold rows matching this filter are candidates (whole files are rewritten;
   * the filter never drops rows). Typically a partition filter.
   */
  filter?: Expression;
  /** DuckDB that runs the rewrite; default the process-wide instance. */
  duckdb?: DuckDB;
  /**
   * Compact for deletes only (the scheduler's delete-file trigger): only partitions whose delete
   * files reach a threshold, and in them only the files with deletes applied (`delete-trigger.ts`).
   */
  deleteTrigger?: DeleteThresholds;
}

/** What a compaction did. */
export interface CompactResult {
  table: string;
  /** The replace snapshot; undefined when there was nothing to compact. */
  snapshotId: bigint | undefined;
  /** Snapshot whose files were read. */
  readSnapshotId: bigint | undefined;
  /** Partitions (per spec) that were rewritten. */
  partitions: number;
  rewrittenDataFiles: number;
  addedDataFiles: number;
  removedDeleteFiles: number;
  rewrittenBytes: number;
  addedBytes: number;
  /** Rows in the new files. */
  records: number;
  /** Commit attempts (conflicts retried). */
  attempts: number;
  durationMs: number;
}

interface Group {
  specId: number;
  partition: FileScanTask['partition'];
  tasks: FileScanTask[];
}

/** First-fit decreasing: bins of files whose sizes add up to at most `capacity` (a bigger file gets its own bin). */
function binPack(tasks: FileScanTask[], capacity: number): FileScanTask[][] {
  const sorted = [...tasks].sort((a, b) => b.file.file_size_in_bytes - a.file.file_size_in_bytes);
  const bins: { size: number; tasks: FileScanTask[] }[] = [];
  for (const t of sorted) {
    const size = t.file.file_size_in_bytes;
    const bin = bins.find((b) => b.size + size <= capacity);
    if (bin) {
      bin.size += size;
      bin.tasks.push(t);
    } else {
      bins.push({ size, tasks: [t] });
    }
  }
  return bins.map((b) => b.tasks);
}

/**
 * The size-tier rule: leaves out every file without deletes that holds more than 60% of the set's
 * rows or of its bytes (repeated on what is left), so each file kept is at most 60% of what it is
 * merged into. A row is then rewritten only into a file at least 1.67 times as big (in rows and in
 * bytes) as the one it was in: O(log(target / commit size)) times before it lies in a file of the
 * target size, instead of at every compaction (a streaming table's compacted file stays under 75%
 * of the target for hours, and merging it with the few files committed since rewrote it whole
 * every round). 60%, not half: two files of about the same size still merge. Both measures count:
 * a Parquet file of a few rows is mostly footer, so by bytes alone a compacted file of thousands
 * of rows looks like a round of new commits. Files with deletes always stay (they are rewritten
 * anyway, to apply them); a set of one file without deletes leaves nothing.
 */
function dropOversized(tasks: FileScanTask[]): FileScanTask[] {
  let set = tasks;
  for (;;) {
    let rows = 0;
    let bytes = 0;
    for (const t of set) {
      rows += t.file.record_count;
      bytes += t.file.file_size_in_bytes;
    }
    const keep = set.filter(
      (t) => t.deletes.length > 0 || (t.file.record_count <= MAX_SHARE * rows && t.file.file_size_in_bytes <= MAX_SHARE * bytes),
    );
    if (keep.length === set.length) return set;
    set = keep;
  }
}

/**
 * The bins worth rewriting in one partition. Candidates are the "small" files (under 75% of the
 * target size, Iceberg Java's `min-file-size-bytes` default) and every file with deletes (those
 * are always rewritten, to apply them). The size-tier rule ({@link dropOversized}) leaves out a
 * file much bigger than the rest; the others are packed into bins of at most the target size,
 * each checked by the same rule. With at least `minInputFiles` files left (Java's
 * `min-input-files`) every bin of two files or more is rewritten; with fewer, only bins with deletes.
 */
export function planGroup(tasks: FileScanTask[], target: number, minInputFiles: number): FileScanTask[][] {
  const small = tasks.filter((t) => t.file.file_size_in_bytes < target * SMALL_FRACTION || t.deletes.length > 0);
  const eligible = dropOversized(small);
  const withDeletes = eligible.some((t) => t.deletes.length > 0);
  if (eligible.length < minInputFiles && !withDeletes) return [];
  const hasDeletes = (bin: FileScanTask[]) => bin.some((t) => t.deletes.length > 0);
  const bins = binPack(eligible, target)
    .map((bin) => dropOversized(bin))
    .filter((bin) => bin.length > 0);
  // Too few files: only bins that apply deletes. Otherwise every bin that merges files (a bin of
  // one file without deletes would rewrite it unchanged).
  if (eligible.length < minInputFiles) return bins.filter(hasDeletes);
  return bins.filter((b) => b.length > 1 || hasDeletes(b));
}

/** The target file size: the option, else the table property, else 128 MiB. */
export function targetFileSize(md: TableMetadata, explicit?: number): number {
  if (explicit !== undefined) return checkPositiveInt(explicit, 'compact: target file size');
  const prop = Number(md.properties['write.target-file-size-bytes']);
  return Number.isSafeInteger(prop) && prop > 0 ? prop : DEFAULT_TARGET_FILE_SIZE;
}

/**
 * Delete files that apply to nothing once the rewritten data files are gone: those whose every
 * data file at the read snapshot is rewritten, and unreferenced ones in rewritten partitions.
 */
async function danglingDeletes(
  table: Table,
  md: TableMetadata,
  allTasks: FileScanTask[],
  rewritten: Set<string>,
  rewrittenPartitions: Set<string>,
): Promise<DataFile[]> {
  // By delete file identity: deletion vectors share Puffin files, so a path would merge them.
  const uses = new Map<string, { file: DataFile; users: string[] }>();
  for (const t of allTasks) {
    for (const d of t.deletes) {
      const key = deleteFileKey(d.file);
      let u = uses.get(key);
      if (!u) uses.set(key, (u = { file: d.file, users: [] }));
      u.users.push(t.file.file_path);
    }
  }
  const out: DataFile[] = [];
  for (const u of uses.values()) {
    if (u.users.every((p) => rewritten.has(p))) out.push(u.file);
  }
  // Delete files no data file uses (e.g. position deletes of files an earlier compaction rewrote).
  // An unpartitioned spec's delete file (an upsert's delete in a table partitioned by other
  // columns) belongs to every partition: any rewrite may drop it once it applies to nothing.
  const snapshot = snapshotForRef(md, 'main');
  if (snapshot) {
    const cache = new ManifestCache(table.io, table.name);
    for (const m of await cache.snapshotManifests(snapshot)) {
      if (m.content !== ManifestContent.DELETES) continue;
      const global = (md['partition-specs'].find((s) => s['spec-id'] === m.partition_spec_id)?.fields.length ?? -1) === 0;
      for (const e of await cache.entries(m)) {
        if (e.status === 2 || uses.has(deleteFileKey(e.data_file))) continue;
        if (global || rewrittenPartitions.has(partitionKey(m.partition_spec_id, e.data_file.partition))) out.push(e.data_file);
      }
    }
  }
  return out;
}

/**
 * Refuses to commit over concurrent changes that would make the rewrite wrong: position deletes
 * added after the read snapshot (they may target rewritten files), and, when delete files are
 * removed, data files added by another rewrite (a `replace`: they may carry sequence numbers those
 * deletes apply to). Equality deletes added meanwhile are fine: their sequence number is above the
 * read snapshot's, which the rewritten files get, so they apply to the rewritten rows.
 */
function validateHistory(tableName: string, readId: bigint, removesDeletes: boolean): (base: TableMetadata) => void {
  return validateSince('compact', 'the compaction', tableName, readId, (s) => {
    const op = s.summary.operation;
    const positionDeletes = Number(s.summary['added-position-delete-files'] ?? 0) + Number(s.summary['added-dvs'] ?? 0);
    if (positionDeletes > 0) {
      throw new ValidationError(
        `compact: ${tableName}: snapshot ${s['snapshot-id']} (${op}) added position deletes while compacting; abandoned (run it again)`,
      );
    }
    // Files a rewrite adds may carry old data sequence numbers that the removed deletes apply to.
    // Only a `replace` (a rewrite: Java's RewriteFiles, floe's compaction) keeps old numbers;
    // appends, upserts (`overwrite`/`delete` row deltas) and overwrites get the new snapshot's
    // number, above every removed delete file's, so the upserts of a running pipeline never
    // abandon the compaction of their own deletes.
    if (removesDeletes && op === 'replace' && Number(s.summary['added-data-files'] ?? 0) > 0) {
      throw new ValidationError(
        `compact: ${tableName}: snapshot ${s['snapshot-id']} (${op}) rewrote data files while compacting; abandoned (run it again)`,
      );
    }
  });
}

/**
 * Compacts a table's small data files (see the file comment). Returns what it did; when nothing
 * qualifies, no snapshot is committed.
 * @throws ValidationError when a concurrent commit makes the rewrite unsafe (nothing committed)
 * @throws CommitConflictError when the commit still conflicts after the table's retries
 */
export async function compactTable(table: Table, options: CompactOptions = {}): Promise<CompactResult> {
  const started = Date.now();
  const what = `compact: ${table.name}`;
  await table.refresh();
  const md = table.metadata;
  // v3: the rewritten rows keep their lineage (stored in the new files).
  const rowLineage = md['format-version'] >= 3;
  const target = targetFileSize(md, options.targetFileSizeBytes);
  const minInputFiles = checkPositiveInt(options.minInputFiles ?? DEFAULT_MIN_INPUT_FILES, 'compact: minimum input files');
  const snapshot = snapshotForRef(md, 'main');
  const result: CompactResult = {
    table: table.name,
    snapshotId: undefined,
    readSnapshotId: snapshot?.['snapshot-id'],
    partitions: 0,
    rewrittenDataFiles: 0,
    addedDataFiles: 0,
    removedDeleteFiles: 0,
    rewrittenBytes: 0,
    addedBytes: 0,
    records: 0,
    attempts: 0,
    durationMs: 0,
  };
  const done = (): CompactResult => ({ ...result, durationMs: Date.now() - started });
  if (!snapshot) return done();
  // The delete trigger runs often: a table without delete files (the summary says so) costs no planning.
  if (options.deleteTrigger && snapshot.summary['total-delete-files'] === '0') return done();

  report(options.onProgress, { operation: 'compact', phase: 'plan', done: 0, total: 1 });
  const full = await planTableScan(table.io, md, { ref: 'main' });
  let selected = full.tasks;
  if (options.filter) {
    const filtered = await planTableScan(table.io, md, { ref: 'main', filter: options.filter });
    const keep = new Set(filtered.tasks.map((t) => t.file.file_path));
    selected = full.tasks.filter((t) => keep.has(t.file.file_path));
  }
  const groups = new Map<string, Group>();
  for (const t of selected) {
    const key = partitionKey(t.specId, t.partition);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { specId: t.specId, partition: t.partition, tasks: [] }));
    g.tasks.push(t);
  }
  const work: { group: Group; bins: FileScanTask[][] }[] = [];
  for (const group of groups.values()) {
    const tasks = options.deleteTrigger ? deleteTriggered(group.tasks, options.deleteTrigger) : group.tasks;
    if (tasks.length === 0) continue;
    const bins = planGroup(tasks, target, minInputFiles);
    if (bins.length > 0) work.push({ group, bins });
  }
  report(options.onProgress, { operation: 'compact', phase: 'plan', done: 1, total: 1 });
  if (work.length === 0) return done();

  const rewritten = new Set(work.flatMap((w) => w.bins.flat().map((t) => t.file.file_path)));
  const rewrittenPartitions = new Set(work.map((w) => partitionKey(w.group.specId, w.group.partition)));
  const deletes = md['format-version'] >= 2 ? await danglingDeletes(table, md, full.tasks, rewritten, rewrittenPartitions) : [];

  const duckdb = options.duckdb ?? (await sharedDuckDB());
  const schema = full.schema;
  const compression = compressionOf(md);
  const written: { file: DataFile; specId: number }[] = [];
  const totalBins = work.reduce((n, w) => n + w.bins.length, 0);
  try {
    let binsDone = 0;
    for (const { group, bins } of work) {
      const spec = specById(md, group.specId, 'table');
      let dir = dataLocation(md);
      if (spec.fields.length > 0) {
        try {
          dir = joinLocation(dir, partitionPath(spec, schema, group.partition));
        } catch {
          // A spec whose source column is gone from the schema: the data directory itself.
        }
      }
      for (const bin of bins) {
        checkAborted(options.signal, what);
        report(options.onProgress, { operation: 'compact', phase: 'write', done: binsDone, total: totalBins });
        // The bin's deletion vectors live in a table of their own, dropped once the copy has run.
        const deletionVectors = new DeletionVectorTable(duckdb, table.io);
        let file: DataFile | undefined;
        try {
          const selectSql = await scanToSql({ duckdb, io: table.io, metadata: md, schema, tasks: bin, deletionVectors, rowLineage });
          file = await copyToDataFile({
            duckdb,
            io: table.io,
            schema,
            selectSql,
            location: joinLocation(dir, `${randomUUID()}.parquet`),
            partition: group.partition,
            specId: group.specId,
            compression,
            rowLineage,
            ...(options.signal ? { signal: options.signal } : {}),
          });
        } finally {
          await deletionVectors.drop();
        }
        if (file) written.push({ file, specId: group.specId });
        binsDone++;
      }
    }
    report(options.onProgress, { operation: 'compact', phase: 'write', done: totalBins, total: totalBins });
    checkAborted(options.signal, what);

    report(options.onProgress, { operation: 'compact', phase: 'commit', done: 0, total: 1 });
    const readSeq = snapshot['sequence-number'];
    // `extra`: an upsert writer's vectors (`table/upsert-vectors.ts`), which replace the
    // history check: the writer's lock keeps its commits out, and its index says which copied rows
    // were deleted meanwhile.
    const commitOnce = (extra?: RewriteVectors) => () => {
      const op = table.newReplace({
        ...(md['format-version'] >= 2 && readSeq !== undefined ? { dataSequenceNumber: readSeq } : {}),
        validate: extra ? (base) => extra.validate(base) : validateHistory(table.name, snapshot['snapshot-id'], deletes.length > 0),
        // A stop ends the commit's wait for an unavailable catalog (up to the outage budget).
        ...(options.signal ? { signal: options.signal } : {}),
      });
      for (const p of rewritten) op.deleteFile(p);
      // The file itself, not its path: a deletion vector by its blob (its Puffin file is shared).
      // With `extra`, the rewritten files' vectors as they are now (the writer may have replaced them).
      for (const d of deletes) if (!extra || !isDeletionVector(d)) op.deleteFile(d);
      for (const d of extra?.remove ?? []) op.deleteFile(d);
      for (const w of written) op.addFile(w.file, w.specId);
      for (const v of extra?.add ?? []) op.addFile(v.file, v.specId);
      return op.commit();
    };
    const viaWriter = options.upsertVectors
      ? await options.upsertVectors.rewrite(
          rewritten,
          written,
          async (extra) => {
            // Under the writer's lock: its last commit is in the table, and this commit builds on it.
            await table.refresh();
            return commitInRounds(table, commitOnce(extra), options.signal);
          },
          (c) => c.committed.snapshot,
        )
      : undefined;
    const { committed, attempts } = viaWriter ?? (await commitInRounds(table, commitOnce(), options.signal));
    report(options.onProgress, { operation: 'compact', phase: 'commit', done: 1, total: 1 });

    result.snapshotId = committed.snapshot['snapshot-id'];
    result.attempts = attempts;
    result.partitions = work.length;
    result.rewrittenDataFiles = rewritten.size;
    result.addedDataFiles = written.length;
    result.removedDeleteFiles = deletes.filter((d) => d.content !== FileContent.DATA).length;
    result.rewrittenBytes = work.reduce((n, w) => n + w.bins.flat().reduce((m, t) => m + t.file.file_size_in_bytes, 0), 0);
    result.addedBytes = written.reduce((n, w) => n + w.file.file_size_in_bytes, 0);
    result.records = written.reduce((n, w) => n + w.file.record_count, 0);
    return done();
  } catch (e) {
    // Nothing references the new files: remove them now rather than leave them to orphan removal.
    // (After an unknown commit outcome they may be referenced: keep them.)
    if (!(e instanceof FloeError && e.code === 'COMMIT_STATE_UNKNOWN')) {
      for (const w of written) await table.io.delete(w.file.file_path).catch(() => undefined);
    }
    throw e;
  }
}
