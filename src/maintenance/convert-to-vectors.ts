/**
 * The format v3 half of delete conversion (`convert-deletes.ts`, whose header holds the
 * correctness argument): the positions the live equality deletes remove become deletion vectors,
 * one per affected data file, all in ONE Puffin file under the table's data location.
 *
 * A data file has at most one live vector (spec §Delete Formats), so a file that already has one
 * gets a new vector holding the new positions AND the old vector's, and the old one is removed in
 * the same commit (by its identity: other vectors may share its Puffin file). The spec also says
 * a vector must hold the deletes of the position delete files that apply to its data file
 * (readers ignore those files once a vector exists): a table upgraded from v2 may still have some,
 * so their positions are merged too (Iceberg Java's `BaseDVFileWriter` merges the previous deletes
 * the same way), and those naming only this data file (`referenced_data_file`) are removed, as
 * Java discards file-scoped deletes; partition-wide ones stay for the data files they still serve.
 *
 * The blobs and manifest entries are what `BaseDVFileWriter` writes (`table/vector-files.ts`).
 */
import { ValidationError } from '../errors.js';
import { FileContent, isDeletionVector, type DataFile } from '../iceberg/manifest-types.js';
import type { TableMetadata } from '../iceberg/metadata.js';
import type { FileScanTask } from '../iceberg/scan.js';
import type { Schema } from '../iceberg/types.js';
import { sqlString, type DuckDB } from '../duckdb/instance.js';
import { vectorPositions } from '../query/deletion-vectors.js';
import { equalityDeletedPositions } from '../query/table-view.js';
import type { Table } from '../table/table.js';
import { writeDeletionVectors } from '../table/vector-files.js';

/** One new deletion vector and the partition spec of its data file. */
export interface ConvertedVector {
  file: DataFile;
  specId: number;
}

/** What {@link writeConvertedVectors} wrote and what the commit must remove with it. */
export interface VectorConversion {
  /** The Puffin file holding every new vector; undefined when no row was deleted. */
  puffinPath: string | undefined;
  vectors: ConvertedVector[];
  /** Live vectors of the affected data files (merged into the new ones), removed by identity. */
  replacedVectors: DataFile[];
  /** File-scoped Parquet position delete files merged into a vector (tables upgraded from v2). */
  replacedPositionFiles: DataFile[];
  /** Positions found by the equality deletes (the new ones, before merging). */
  newPositions: number;
}

/** Inputs of {@link writeConvertedVectors}. */
export interface WriteVectorsOptions {
  table: Table;
  /** The metadata the conversion read (snapshot R). */
  metadata: TableMetadata;
  schema: Schema;
  /** The planned tasks of R whose data files have equality deletes applied. */
  tasks: FileScanTask[];
  /** Every live deletion vector of R, by referenced data file (all are replaced, see below). */
  liveVectors: ReadonlyMap<string, readonly DataFile[]>;
  duckdb: DuckDB;
  /** `convert-deletes: <table>`, for messages. */
  what: string;
}

/**
 * Finds the positions the tasks' equality deletes remove (existing vectors and position deletes
 * applied, so no position is found twice), merges each affected data file's previous deletes
 * into them, and writes one Puffin file of vectors. Nothing is committed; the caller deletes
 * `puffinPath` when its commit fails.
 * @throws ValidationError when the planned deletes do not follow the spec's rule, or a merged
 *   position lies beyond its data file
 */
export async function writeConvertedVectors(opts: WriteVectorsOptions): Promise<VectorConversion> {
  const { table, metadata, duckdb, what } = opts;
  const found = await equalityDeletedPositions(
    { duckdb, io: table.io, metadata, schema: opts.schema, tasks: opts.tasks },
    what,
    '; nothing converted',
  );
  const out: VectorConversion = { puffinPath: undefined, vectors: [], replacedVectors: [], replacedPositionFiles: [], newPositions: 0 };
  const affected = opts.tasks.filter((t) => found.has(t.file.file_path)).sort((a, b) => (a.file.file_path < b.file.file_path ? -1 : 1));
  if (affected.length === 0) return out;

  const merged: { task: FileScanTask; positions: number[] }[] = [];
  for (const t of affected) {
    const fresh = found.get(t.file.file_path)!;
    out.newPositions += fresh.length;
    const previous: number[][] = [];
    for (const d of t.deletes) {
      if (d.file.content !== FileContent.POSITION_DELETES) continue;
      if (isDeletionVector(d.file)) {
        previous.push(await liveVectorPositions(table, d.file, t.file));
      } else {
        previous.push(await positionFilePositions(duckdb, table, d.file, t.file));
        if (d.file.referenced_data_file === t.file.file_path) out.replacedPositionFiles.push(d.file);
      }
    }
    // Every live vector naming the file goes (at most one per data file); only the one the
    // planner applies (data sequence number rule) contributes positions: the others delete nothing.
    out.replacedVectors.push(...(opts.liveVectors.get(t.file.file_path) ?? []));
    const positions = union([fresh, ...previous]);
    const last = positions[positions.length - 1];
    if (last !== undefined && last >= t.file.record_count) {
      throw new ValidationError(`${what}: position ${last} of data file ${t.file.file_path} lies beyond its ${t.file.record_count} rows; nothing converted`);
    }
    merged.push({ task: t, positions });
  }

  const written = await writeDeletionVectors(table.io, metadata, merged.map((m) => ({ data: m.task.file, specId: m.task.specId, positions: m.positions })));
  out.puffinPath = written.path;
  out.vectors = written.vectors;
  return out;
}

/** A live vector's positions: its blob read at `content_offset` and decoded. */
async function liveVectorPositions(table: Table, dv: DataFile, data: DataFile): Promise<number[]> {
  const offset = dv.content_offset!;
  const length = dv.content_size_in_bytes!;
  const name = `${dv.file_path} at offset ${offset} (the deletion vector of ${data.file_path})`;
  return Array.from(vectorPositions(await table.io.readRange(dv.file_path, offset, length), dv, name));
}

/** The positions a Parquet position delete file names in `data`. */
async function positionFilePositions(duckdb: DuckDB, table: Table, del: DataFile, data: DataFile): Promise<number[]> {
  const local = await table.io.localPath(del.file_path);
  const rows = await duckdb.all(
    `SELECT DISTINCT "pos" FROM read_parquet(${sqlString(local)}, hive_partitioning = false) WHERE "file_path" = ${sqlString(data.file_path)} ORDER BY "pos"`,
  );
  return rows.map((r) => Number(r['pos'] as bigint));
}

/** The sorted union of ascending lists (merged pairwise: each list is already in order). */
function union(lists: number[][]): number[] {
  let out: number[] = [];
  for (const l of lists) {
    if (l.length === 0) continue;
    if (out.length === 0) {
      out = l;
      continue;
    }
    const merged = new Array<number>(out.length + l.length);
    let i = 0;
    let j = 0;
    let n = 0;
    while (i < out.length || j < l.length) {
      const a = i < out.length ? out[i]! : Infinity;
      const b = j < l.length ? l[j]! : Infinity;
      const next = a <= b ? a : b;
      if (a === next) i++;
      if (b === next) j++;
      merged[n++] = next;
    }
    merged.length = n;
    out = merged;
  }
  return out;
}
