/**
 * Deletion vectors (v3) for the SQL of a scan (`table-view.ts`): each vector's positions, tagged
 * with the number its data file got in the scan, in one DuckDB table that the position anti-join
 * reads beside the position delete files.
 *
 * A vector is a Roaring bitmap inside a Puffin file, which DuckDB cannot read; floe decodes it
 * (`iceberg/deletion-vector.ts`) and hands DuckDB the positions through an appender, in chunks.
 * Written into the SQL as a list literal instead, 100,000 positions took DuckDB 0.43 s to parse and
 * a million 4.6 s; appended in 2,048-row chunks they take 0.03 s and 0.2 s (measured here,
 * 2026-12-07).
 *
 * The table lives in the DuckDB instance as long as the view that reads it: a query engine's
 * instance closes with the engine; other callers drop it with {@link DeletionVectorTable.drop}.
 */
import { randomUUID } from 'node:crypto';
import { BIGINT, DuckDBDataChunk, INTEGER } from '@duckdb/node-api';
import { ValidationError } from '../errors.js';
import { decodeDeletionVector } from '../iceberg/deletion-vector.js';
import type { DeleteFileRef } from '../iceberg/scan.js';
import { sqlIdent, type DuckDB } from '../duckdb/instance.js';
import type { FileIO } from '../io/file-io.js';

/** The DuckDB schema holding deletion vector tables. */
const SCHEMA = '__floe_dv';
/** Rows per appended chunk (DuckDB's vector size). */
const CHUNK_ROWS = 2048;

/** Deletion vectors of one scan, as a DuckDB table of (`fid`, `pos`). */
export class DeletionVectorTable {
  private readonly name = `dv_${randomUUID().replace(/-/g, '')}`;
  private created = false;
  /** Puffin files read so far (several vectors often share one). */
  private readonly puffins = new Map<string, Promise<Uint8Array>>();
  private readonly pending: { fid: number; positions: Float64Array }[] = [];

  constructor(
    private readonly duckdb: DuckDB,
    private readonly io: FileIO,
  ) {}

  /** The table's qualified name. */
  get qualifiedName(): string {
    return `${sqlIdent(SCHEMA)}.${sqlIdent(this.name)}`;
  }

  private nextFid = 0;

  /** A number for a data file with position deletes, unique in this scan (the join's tag). */
  newFid(): number {
    return this.nextFid++;
  }

  /** The SELECT of (`__floe_pfid`, `__floe_ppos`) over the table; valid once {@link flush}ed. */
  get selectSql(): string {
    return `SELECT "fid" AS "__floe_pfid", "pos" AS "__floe_ppos" FROM ${this.qualifiedName}`;
  }

  /**
   * Reads and decodes `ref`'s vector and queues its positions under `fid`; `recordCount` is the
   * data file's, which no position may reach.
   */
  async add(fid: number, ref: DeleteFileRef, dataFile: { file_path: string; record_count: number }): Promise<void> {
    const f = ref.file;
    const offset = f.content_offset!;
    const length = f.content_size_in_bytes!;
    const what = `${f.file_path} at offset ${offset} (the deletion vector of ${dataFile.file_path})`;
    let whole = this.puffins.get(f.file_path);
    if (!whole) this.puffins.set(f.file_path, (whole = this.io.read(f.file_path)));
    const bytes = await whole;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > bytes.length) {
      throw new ValidationError(`deletion vector: ${what}: blob of ${length} bytes at ${offset} is outside the file (${bytes.length} bytes)`);
    }
    const positions = decodeDeletionVector(bytes.subarray(offset, offset + length), what);
    if (positions.length !== f.record_count) {
      throw new ValidationError(`deletion vector: ${what}: holds ${positions.length} positions, the manifest says ${f.record_count}`);
    }
    const last = positions[positions.length - 1];
    if (last !== undefined && last >= dataFile.record_count) {
      throw new ValidationError(`deletion vector: ${what}: deletes position ${last}, beyond the data file's ${dataFile.record_count} rows`);
    }
    this.used = true;
    this.pending.push({ fid, positions });
  }

  /** True once a vector was added: the SQL reads the table. */
  used = false;

  /** Creates the table when a vector was added, and appends the queued positions. */
  async flush(): Promise<void> {
    if (this.pending.length > 0 || this.used) {
      if (!this.created) {
        await this.duckdb.run(`CREATE SCHEMA IF NOT EXISTS ${sqlIdent(SCHEMA)}; CREATE TABLE ${this.qualifiedName} ("fid" INTEGER, "pos" BIGINT)`);
        this.created = true;
      }
      const batch = this.pending.splice(0);
      await this.duckdb.withConnection(async (conn) => {
        const appender = await conn.createAppender(this.name, SCHEMA);
        try {
          for (const { fid, positions } of batch) {
            for (let i = 0; i < positions.length; i += CHUNK_ROWS) {
              const n = Math.min(CHUNK_ROWS, positions.length - i);
              const fids = new Array<number>(n).fill(fid);
              const pos = new Array<bigint>(n);
              for (let j = 0; j < n; j++) pos[j] = BigInt(positions[i + j]!);
              const chunk = DuckDBDataChunk.create([INTEGER, BIGINT], n);
              chunk.setColumnValues(0, fids);
              chunk.setColumnValues(1, pos);
              appender.appendDataChunk(chunk);
            }
          }
          appender.flushSync();
        } finally {
          appender.closeSync();
        }
      });
    }
  }

  /** Drops the table (after the SQL that reads it ran). */
  async drop(): Promise<void> {
    if (this.created) await this.duckdb.run(`DROP TABLE IF EXISTS ${this.qualifiedName}`);
    this.created = false;
  }
}
