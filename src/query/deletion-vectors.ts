/**
 * Deletion vectors (v3) for the SQL of a scan (`table-view.ts`): each vector's positions, tagged
 * with the number its data file got in the scan, as rows the position anti-join reads beside the
 * position delete files.
 *
 * A vector is a Roaring bitmap inside a Puffin file, which DuckDB cannot read; floe decodes it
 * (`iceberg/deletion-vector.ts`) and DuckDB reads the positions from floe's memory through
 * `floe_scan` (`duckdb/column-scan.ts`), laid out as its vectors hold them. Measured here
 * (2026-12-07): written into the SQL as a list literal, 100,000 positions took DuckDB 0.43 s to
 * parse and a million 4.6 s; through the appender a million took 0.2-0.37 s; copied in bulk into a
 * DuckDB table 5 million took 0.68 s (0.26 s of it DuckDB's insert).
 *
 * The positions stay in memory until {@link DeletionVectorTable.drop}: the caller drops them once
 * the SQL ran, a query engine when it closes (its views read them at every statement).
 */
import { endianness } from 'node:os';
import { BIGINT, BLOB, INTEGER } from '@duckdb/node-api';
import { ValidationError } from '../errors.js';
import { decodeDeletionVector, decodeDeletionVectorMask } from '../iceberg/deletion-vector.js';
import type { DataFile } from '../iceberg/manifest-types.js';
import type { DeleteFileRef } from '../iceberg/scan.js';
import { registerColumnScan, reserveColumnScanId, SCAN_CHUNK_ROWS } from '../duckdb/column-scan.js';
import type { DuckDB } from '../duckdb/instance.js';
import type { FileIO } from '../io/file-io.js';

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

/**
 * Decodes a vector's blob (the bytes at its `content_offset`) and checks it holds as many positions
 * as its manifest entry says (`record_count`).
 * @param what names the vector in error messages
 */
export function vectorPositions(blob: Uint8Array, vector: DataFile, what: string): Float64Array {
  const positions = decodeDeletionVector(blob, what);
  if (positions.length !== vector.record_count) {
    throw new ValidationError(`deletion vector: ${what}: holds ${positions.length} positions, the manifest says ${vector.record_count}`);
  }
  return positions;
}

/** Deletion vectors of one scan, readable in its SQL as (`__floe_pfid`, `__floe_ppos`) rows. */
export class DeletionVectorTable {
  /** The `floe_scan` id the SQL names; the columns are registered under it by {@link flush}. */
  private readonly scanId = reserveColumnScanId();
  private release: (() => void) | undefined;
  /** Puffin files read so far (several vectors often share one). */
  private readonly puffins = new Map<string, Promise<Uint8Array>>();
  private readonly vectors: { fid: number; positions: Float64Array }[] = [];
  /** Vectors read as masks ({@link addMask}): one bit per row of the data file, MSB first. */
  private readonly masks: { fid: number; bytes: Uint8Array }[] = [];
  private readonly maskScanId = reserveColumnScanId();
  private releaseMasks: (() => void) | undefined;
  /** Lazy: vectors added but not read yet ({@link load}). */
  private readonly pending: { fid: number; ref: DeleteFileRef; dataFile: { file_path: string; record_count: number }; mask: boolean }[] = [];
  private flushed = -1;
  private nextFid = 0;

  /**
   * @param options `lazy`: vectors are read and decoded only by {@link load}, not when added; the
   *   SQL can be written (and a view created) before, and a statement that never reads the rows
   *   (a `count(*)` answered from manifests) never pays for them. `floe query`'s engine is lazy.
   */
  constructor(
    private readonly duckdb: DuckDB,
    private readonly io: FileIO,
    private readonly options: { lazy?: boolean } = {},
  ) {}

  /** A number for a data file with position deletes, unique in this scan (the join's tag). */
  newFid(): number {
    return this.nextFid++;
  }

  /** True once a vector was added: the SQL reads {@link selectSql}. */
  get used(): boolean {
    return this.vectors.length > 0 || this.masks.length > 0 || this.pending.length > 0;
  }

  /**
   * The SELECT of (`fid`, `bits`): one row per vector added with {@link addMask}, `bits` a BIT
   * string with bit `p` set when row `p` of the data file is deleted (`get_bit(bits, p)`).
   */
  get maskSelectSql(): string {
    return `SELECT "fid", CAST("mask" AS BIT) AS "bits" FROM floe_scan(${this.maskScanId})`;
  }

  /** The SELECT of (`__floe_pfid`, `__floe_ppos`); readable once {@link flush}ed. */
  get selectSql(): string {
    return `SELECT "fid" AS "__floe_pfid", "pos" AS "__floe_ppos" FROM floe_scan(${this.scanId})`;
  }

  /**
   * Reads and decodes `ref`'s vector and adds its positions under `fid`; no position may reach
   * the data file's row count.
   */
  async add(fid: number, ref: DeleteFileRef, dataFile: { file_path: string; record_count: number }): Promise<void> {
    if (this.options.lazy) this.pending.push({ fid, ref, dataFile, mask: false });
    else await this.decode(fid, ref, dataFile, false);
  }

  /**
   * {@link add} as a mask ({@link maskSelectSql}): a scan whose data files all have a vector
   * filters each row by one bit of its file's mask instead of an anti-join against every deleted
   * position (at 10 million rows with 2 million deleted: 0.35 s of join against 0.05 s to read).
   */
  async addMask(fid: number, ref: DeleteFileRef, dataFile: { file_path: string; record_count: number }): Promise<void> {
    if (this.options.lazy) this.pending.push({ fid, ref, dataFile, mask: true });
    else await this.decode(fid, ref, dataFile, true);
  }

  /** Reads and decodes the vectors added lazily, and makes them readable (a no-op when none is pending). */
  async load(): Promise<void> {
    if (this.pending.length === 0) return;
    for (const p of this.pending.splice(0)) await this.decode(p.fid, p.ref, p.dataFile, p.mask);
    await this.register();
  }

  private async decode(fid: number, ref: DeleteFileRef, dataFile: { file_path: string; record_count: number }, mask: boolean): Promise<void> {
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
    const blob = bytes.subarray(offset, offset + length);
    if (mask) {
      // Straight into the mask: no list of (possibly millions of) positions.
      const { bits, cardinality } = decodeDeletionVectorMask(blob, dataFile.record_count, what);
      if (cardinality !== f.record_count) {
        throw new ValidationError(`deletion vector: ${what}: holds ${cardinality} positions, the manifest says ${f.record_count}`);
      }
      this.masks.push({ fid, bytes: bits });
      return;
    }
    const positions = vectorPositions(blob, f, what);
    const last = positions[positions.length - 1];
    if (last !== undefined && last >= dataFile.record_count) {
      throw new ValidationError(`deletion vector: ${what}: deletes position ${last}, beyond the data file's ${dataFile.record_count} rows`);
    }
    this.vectors.push({ fid, positions });
  }

  /**
   * Makes the positions added so far readable by {@link selectSql}: both columns laid out as
   * DuckDB's vectors hold them and read by `floe_scan` straight from this memory at each
   * statement (no JavaScript value per position, no copy into DuckDB's storage: through the
   * appender a 5-million-position read spent seconds in JavaScript, and an INSERT into a table
   * 0.26 s and DuckDB memory).
   */
  async flush(): Promise<void> {
    if (!this.used || this.flushed === this.vectors.length + this.masks.length) return;
    await this.register();
  }

  /** Registers the decoded positions (none yet, while lazy ones are pending: the SQL binds all the same). */
  private async register(): Promise<void> {
    this.flushed = this.vectors.length + this.masks.length;
    await this.registerMasks();
    const rows = this.vectors.reduce((n, b) => n + b.positions.length, 0);
    const fids = new Int32Array(rows);
    const pos = new Uint8Array(rows * 8);
    let at = 0;
    for (const { fid, positions } of this.vectors) {
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
    this.release?.();
    this.release = (await registerColumnScan(this.duckdb, scan, this.scanId)).release;
  }

  /** Registers the masks as (`fid` INTEGER, `mask` BLOB) rows, 2048 to a block as `floe_scan` reads them. */
  private async registerMasks(): Promise<void> {
    const rows = this.masks.length;
    const lengths = new Int32Array(rows);
    const blocks: Uint8Array[] = [];
    for (let from = 0; from < rows; from += SCAN_CHUNK_ROWS) {
      const chunk = this.masks.slice(from, from + SCAN_CHUNK_ROWS);
      const block = new Uint8Array(chunk.reduce((n, m) => n + m.bytes.length, 0));
      let at = 0;
      chunk.forEach((m, i) => {
        block.set(m.bytes, at);
        at += m.bytes.length;
        lengths[from + i] = m.bytes.length;
      });
      blocks.push(block);
    }
    const fids = Int32Array.from(this.masks, (m) => m.fid);
    const scan = {
      names: ['fid', 'mask'],
      types: [INTEGER, BLOB],
      columns: [
        { layout: 'fixed' as const, data: new Uint8Array(fids.buffer), width: 4, validity: undefined },
        { layout: 'bytes' as const, blocks, lengths, validity: undefined },
      ],
      rowCount: rows,
    };
    this.releaseMasks?.();
    this.releaseMasks = (await registerColumnScan(this.duckdb, scan, this.maskScanId)).release;
  }

  /** Forgets the positions (after the SQL that reads them ran, or with the view over it). */
  async drop(): Promise<void> {
    this.release?.();
    this.release = undefined;
    this.releaseMasks?.();
    this.releaseMasks = undefined;
    this.masks.length = 0;
    this.flushed = -1;
    this.pending.length = 0;
  }
}
