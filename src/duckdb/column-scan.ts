/**
 * Hands prepared columns to DuckDB in bulk: a table function, `floe_scan(id)`, that a
 * `COPY (SELECT * FROM floe_scan(id)) TO … (FORMAT parquet)` reads. DuckDB calls it for one
 * 2048-row chunk at a time and each call fills the chunk's vectors straight from typed arrays,
 * one native call per column:
 *
 * - fixed-width values (booleans, ints, longs, dates, times, timestamps, floats, doubles) are
 *   laid out exactly as DuckDB's vectors hold them and copied as bytes;
 * - strings and binary are UTF-8 / raw bytes in one heap buffer with offsets. A chunk's bytes are
 *   handed over as one blob, and the 16-byte `duckdb_string_t` of every row (the C API's public
 *   layout: length, then 12 inline bytes, or a 4-byte prefix and a pointer) is written to point
 *   into that blob, so there is no native call per value;
 * - everything else (decimals, uuids, structs, lists, maps) goes through the node-api vector
 *   writers, value by value.
 *
 * Compared with the appender into a temporary table that was used before, nothing is
 * materialized twice inside DuckDB and no JavaScript object is made per value (see BENCHMARKS.md).
 * Values are validated, and the file's metrics counted, while the columns are prepared, before
 * DuckDB sees anything: a bad value fails the write before a file exists.
 */
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import {
  DuckDBTableFunction,
  INTEGER,
  type DuckDBDataChunk,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { FloeError } from '../errors.js';
import type { DuckDB } from './instance.js';

/** Rows per chunk: DuckDB's vector size. */
export const SCAN_CHUNK_ROWS = 2048;

/** A column in the memory layout of DuckDB's vectors. */
export type PreparedColumn =
  | {
      layout: 'fixed';
      /** The values, `width` bytes each (the bytes of a typed array). */
      data: Uint8Array;
      width: number;
      /** One bit per row, set when valid (DuckDB's validity mask layout); absent when no nulls. */
      validity: Uint8Array | undefined;
    }
  | {
      layout: 'bytes';
      /**
       * UTF-8 of strings, or raw bytes of binary values, back to back: one block per 2048-row
       * chunk (block `k` holds rows `2048k …`).
       */
      blocks: readonly Uint8Array[];
      /** Byte length of each row's value; null rows are empty. */
      lengths: Int32Array;
      validity: Uint8Array | undefined;
    }
  | {
      layout: 'values';
      /** DuckDB values, null for null. */
      values: DuckDBValue[];
    };

/** The opaque native handles and the few binding functions used here. */
interface Bindings {
  data_chunk_get_vector(chunk: unknown, index: number): unknown;
  vector_get_data(vector: unknown, byteCount: number): Uint8Array;
  vector_assign_string_element_len(vector: unknown, index: number, data: Uint8Array): void;
  vector_ensure_validity_writable(vector: unknown): void;
  copy_data_to_vector(vector: unknown, targetByteOffset: number, source: ArrayBufferLike, sourceByteOffset: number, byteCount: number): void;
  copy_data_to_vector_validity(vector: unknown, targetByteOffset: number, source: ArrayBufferLike, sourceByteOffset: number, byteCount: number): void;
}

/** node-api's own binding module (the exact version it was built against). */
const bindings = createRequire(createRequire(import.meta.url).resolve('@duckdb/node-api'))('@duckdb/node-bindings') as Bindings;

/**
 * Whether `duckdb_string_t`s can be written directly: the layout holds a native pointer, which
 * these writes assume to be 64-bit little-endian (x64, arm64). Elsewhere each string is handed
 * over with its own native call.
 */
const DIRECT_STRINGS = endianness() === 'LE' && ['x64', 'arm64', 'ppc64', 'riscv64', 'loong64'].includes(process.arch);

const STRING_T = 16;
const INLINE_MAX = 12;
const scratch = new ArrayBuffer(SCAN_CHUNK_ROWS * STRING_T);
const scratchBytes = new Uint8Array(scratch);
const scratchView = new DataView(scratch);

function fillBytes(vector: unknown, col: Extract<PreparedColumn, { layout: 'bytes' }>, offset: number, n: number): void {
  const block = col.blocks[offset / SCAN_CHUNK_ROWS]!;
  const lengths = col.lengths;
  if (!DIRECT_STRINGS) {
    let from = 0;
    for (let i = 0; i < n; i++) {
      const len = lengths[offset + i]!;
      bindings.vector_assign_string_element_len(vector, i, block.subarray(from, from + len));
      from += len;
    }
    return;
  }
  let long = false;
  for (let i = 0; i < n && !long; i++) long = lengths[offset + i]! > INLINE_MAX;
  // The chunk's bytes become one string of the vector's own heap; rows point into it.
  let lo = 0;
  let hi = 0;
  if (long) {
    bindings.vector_assign_string_element_len(vector, 0, block);
    const head = bindings.vector_get_data(vector, STRING_T);
    const view = new DataView(head.buffer, head.byteOffset, STRING_T);
    if (view.getUint32(0, true) !== block.length) {
      throw new FloeError('PARQUET_WRITE', 'column-scan: DuckDB did not keep the chunk bytes as one string');
    }
    lo = view.getUint32(8, true);
    hi = view.getUint32(12, true);
  }
  scratchBytes.fill(0, 0, n * STRING_T);
  let from = 0;
  for (let i = 0; i < n; i++) {
    const o = i * STRING_T;
    const len = lengths[offset + i]!;
    scratchView.setUint32(o, len, true);
    if (len <= INLINE_MAX) {
      for (let k = 0; k < len; k++) scratchBytes[o + 4 + k] = block[from + k]!;
    } else {
      scratchBytes[o + 4] = block[from]!;
      scratchBytes[o + 5] = block[from + 1]!;
      scratchBytes[o + 6] = block[from + 2]!;
      scratchBytes[o + 7] = block[from + 3]!;
      const low = lo + from;
      scratchView.setUint32(o + 8, low >>> 0, true);
      scratchView.setUint32(o + 12, (hi + (low > 0xffffffff ? 1 : 0)) >>> 0, true);
    }
    from += len;
  }
  bindings.copy_data_to_vector(vector, 0, scratch, 0, n * STRING_T);
}

function fillValidity(vector: unknown, validity: Uint8Array | undefined, offset: number, n: number): void {
  if (!validity) return;
  // Chunks start at multiples of 2048 rows, so their bits start on a byte boundary. Written for
  // every chunk of a column with nulls: the output chunk is reused between calls.
  const from = offset >>> 3;
  bindings.vector_ensure_validity_writable(vector);
  bindings.copy_data_to_vector_validity(vector, 0, validity.buffer, validity.byteOffset + from, (n + 7) >>> 3);
}

/** One `floe_scan` in progress. */
interface ScanState {
  names: readonly string[];
  types: readonly DuckDBType[];
  columns: readonly PreparedColumn[];
  rowCount: number;
  offset: number;
  /** The JavaScript error behind a failed chunk, to rethrow instead of DuckDB's text. */
  error: unknown;
  /** The registered state this one was bound from (each bind reads from row 0). */
  owner?: ScanState;
}

const scans = new Map<number, ScanState>();
let nextScanId = 0;

function fillChunk(state: ScanState, out: DuckDBDataChunk): void {
  const offset = state.offset;
  const n = Math.min(SCAN_CHUNK_ROWS, state.rowCount - offset);
  out.rowCount = n;
  if (n <= 0) return;
  for (let c = 0; c < state.columns.length; c++) {
    const col = state.columns[c]!;
    if (col.layout === 'values') {
      const vector = out.getColumnVector(c);
      for (let i = 0; i < n; i++) vector.setItem(i, col.values[offset + i] ?? null);
      vector.flush();
      continue;
    }
    const vector = bindings.data_chunk_get_vector(out.chunk, c);
    if (col.layout === 'fixed') {
      bindings.copy_data_to_vector(vector, 0, col.data.buffer, col.data.byteOffset + offset * col.width, n * col.width);
    } else {
      fillBytes(vector, col, offset, n);
    }
    fillValidity(vector, col.validity, offset, n);
  }
  state.offset = offset + n;
}

function createScanFunction(): DuckDBTableFunction {
  return DuckDBTableFunction.create({
    name: 'floe_scan',
    parameterTypes: [INTEGER],
    bindFunction: (info) => {
      const id = info.getParameter(0);
      const state = typeof id === 'number' ? scans.get(id) : undefined;
      if (!state) {
        info.setError(`column-scan: no prepared columns with id ${String(id)}`);
        return;
      }
      for (let c = 0; c < state.names.length; c++) info.addResultColumn(state.names[c]!, state.types[c]!);
      // A reading of its own from row 0: a registered scan may be read by several statements
      // (a view over it), one after the other or within one statement.
      info.setBindData({ ...state, offset: 0, error: undefined, owner: state });
      info.setCardinality(state.rowCount, true);
    },
    initFunction: (info) => {
      // Chunks must come in row order: one scanning thread.
      info.setMaxThreads(1);
    },
    mainFunction: (info, out) => {
      const state = info.getBindData() as ScanState;
      try {
        fillChunk(state, out);
      } catch (e) {
        state.error = e;
        if (state.owner) state.owner.error = e;
        out.rowCount = 0;
        info.setError(`column-scan: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  });
}

const registered = new WeakMap<DuckDB, Promise<DuckDBTableFunction>>();

async function ensureRegistered(db: DuckDB): Promise<void> {
  let p = registered.get(db);
  if (!p) {
    p = (async () => {
      const fn = createScanFunction();
      const conn = await db.connect();
      try {
        // Table functions live in the instance's system catalog: every connection sees it.
        conn.registerTableFunction(fn);
      } finally {
        conn.closeSync();
      }
      return fn; // kept referenced (with its callbacks) as long as the instance
    })();
    registered.set(db, p);
    p.catch(() => registered.delete(db));
  }
  await p;
}

/**
 * Makes `columns` readable as `floe_scan(<id>)` on `db` while `use(id)` runs, e.g. a
 * `COPY (SELECT * FROM floe_scan(id)) TO …`. Columns are named `names` and typed `types`.
 * When filling a chunk fails, the original error is thrown rather than DuckDB's message.
 */
export async function withColumnScan<T>(
  db: DuckDB,
  scan: { names: readonly string[]; types: readonly DuckDBType[]; columns: readonly PreparedColumn[]; rowCount: number },
  use: (id: number) => Promise<T>,
): Promise<T> {
  await ensureRegistered(db);
  const id = reserveColumnScanId();
  const state: ScanState = { ...scan, offset: 0, error: undefined };
  scans.set(id, state);
  try {
    return await use(id);
  } catch (e) {
    if (state.error !== undefined) throw state.error;
    throw e;
  } finally {
    scans.delete(id);
  }
}

/**
 * Makes `scan` readable as `floe_scan(<id>)` on `db` until `release()`: for SQL that outlives one
 * call, e.g. a view (each statement reads it from row 0). The columns stay in memory until then.
 */
export async function registerColumnScan(
  db: DuckDB,
  scan: { names: readonly string[]; types: readonly DuckDBType[]; columns: readonly PreparedColumn[]; rowCount: number },
  id: number = reserveColumnScanId(),
): Promise<{ id: number; release: () => void }> {
  await ensureRegistered(db);
  scans.set(id, { ...scan, offset: 0, error: undefined });
  return { id, release: () => scans.delete(id) };
}

/** An id for {@link registerColumnScan}, known before the columns are (SQL written first). */
export function reserveColumnScanId(): number {
  return (nextScanId = (nextScanId + 1) % 0x7fffffff);
}

/** A validity mask of `rows` rows, all valid. */
export function allValid(rows: number): Uint8Array {
  // Whole 64-bit words, as DuckDB's masks are.
  return new Uint8Array(Math.ceil(rows / 64) * 8).fill(0xff);
}
