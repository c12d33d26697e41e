/**
 * Deletion vectors (v3) for the SQL of a scan (`table-view.ts`): each vector's positions, tagged
 * with the number its data file got in the scan, in one DuckDB table that the position anti-join
 * reads beside the position delete files.
 *
 * A vector is a Roaring bitmap inside a Puffin file, which DuckDB cannot read; floe decodes it
 * (`iceberg/deletion-vector.ts`) and hands DuckDB the positions in bulk, laid out as its vectors
 * hold them (`duckdb/column-scan.ts`). Written into the SQL as a list literal instead, 100,000
 * positions took DuckDB 0.43 s to parse and a million 4.6 s; through the appender in 2,048-row
 * chunks a million took 0.2-0.37 s (measured here, 2026-12-07).
 *
 * The table lives in the DuckDB instance as long as the view that reads it: a query engine's
 * instance closes with the engine; other callers drop it with {@link DeletionVectorTable.drop}.
 */
import { randomUUID } from 'node:crypto';
import { endianness } from 'node:os';
import { BIGINT, INTEGER } from '@duckdb/node-api';
import { ValidationError } from '../errors.js';
import { decodeDeletionVector } from '../iceberg/deletion-vector.js';
import type { DeleteFileRef } from '../iceberg/scan.js';
import { withColumnScan } from '../duckdb/column-scan.js';
import { sqlIdent, type DuckDB } from '../duckdb/instance.js';
import type { FileIO } from '../io/file-io.js';

/** The DuckDB schema holding deletion vector tables. */
const SCHEMA = '__floe_dv';
const LITTLE_ENDIAN = endianness() === 'LE';

/** Writes `positions` (safe integers) as native 64-bit integers into `out` from row `row` on. */
function writeLongs(positions: Float64Array, out: Uint8Array, row: number): void {
  if (LITTLE_ENDIAN) {
    // Two 32-bit words each, low first: no BigInt per value.
    const words = new Uint32Array(out.buffer, out.byteOffset + row * 8, positions.length * 2);
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i]!;
      words[2 * i] = p % 0x1_0000_0000;
      words[2 * i + 1] = Math.floor(p / 0x1_0000_0000);
    }
    return;
  }
  const longs = new BigInt64Array(out.buffer, out.byteOffset + row * 8, positions.length);
  for (let i = 0; i < positions.length; i++) longs[i] = BigInt(positions[i]!);
}

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
    if (!this.used) return;
    if (!this.created) {
      await this.duckdb.run(`CREATE SCHEMA IF NOT EXISTS ${sqlIdent(SCHEMA)}; CREATE TABLE ${this.qualifiedName} ("fid" INTEGER, "pos" BIGINT)`);
      this.created = true;
    }
    const batch = this.pending.splice(0);
    const rows = batch.reduce((n, b) => n + b.positions.length, 0);
    if (rows === 0) return;
    // Both columns laid out as DuckDB's vectors hold them and handed over in bulk (`floe_scan`):
    // no JavaScript value per position (through the appender, a BigInt and an array slot each
    // made a 5-million-position read spend seconds in JavaScript).
    const fids = new Int32Array(rows);
    const pos = new Uint8Array(rows * 8);
    let at = 0;
    for (const { fid, positions } of batch) {
      fids.fill(fid, at, at + positions.length);
      writeLongs(positions, pos, at);
      at += positions.length;
    }
    const scan = {
      names: ['fid', 'pos'],
      types: [INTEGER, BIGINT],
      columns: [
        { layout: 'fixed' as const, data: new Uint8Array(fids.buffer), width: 4, validity: undefined },
        { layout: 'fixed' as const, data: pos, width: 8, validity: undefined },
      ],
      rowCount: rows,
    };
    await withColumnScan(this.duckdb, scan, (id) => this.duckdb.run(`INSERT INTO ${this.qualifiedName} SELECT * FROM floe_scan(${id})`));
  }

  /** Drops the table (after the SQL that reads it ran). */
  async drop(): Promise<void> {
    if (this.created) await this.duckdb.run(`DROP TABLE IF EXISTS ${this.qualifiedName}`);
    this.created = false;
  }
}
