/**
 * The bulk route of the writer (column-scan.ts): batches spanning many 2048-row chunks, with nulls
 * at random places, strings on both sides of the 12-byte inline limit, non-ASCII text and lone
 * surrogates, empty strings next to nulls, binary values. Every value must read back exactly and
 * the counts must match.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { batchFromRows, ColumnBatchBuilder } from '../../src/data/column-batch.js';
import { writeParquetFile } from '../../src/data/parquet-writer.js';
import { LeafStats } from '../../src/data/parquet-metrics.js';
import type { IcebergValue, PrimitiveType, Schema } from '../../src/iceberg/types.js';
import { DuckDB, sqlString } from '../../src/duckdb/instance.js';
import { fromDuckDB } from './duckdb-values.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'int' },
    { id: 2, name: 's', required: false, type: 'string' },
    { id: 3, name: 'b', required: false, type: 'boolean' },
    { id: 4, name: 'l', required: false, type: 'long' },
    { id: 5, name: 'f', required: false, type: 'float' },
    { id: 6, name: 'd', required: false, type: 'double' },
    { id: 7, name: 'dt', required: false, type: 'date' },
    { id: 8, name: 'ts', required: false, type: 'timestamptz' },
    { id: 9, name: 'bin', required: false, type: 'binary' },
    { id: 10, name: 'short', required: false, type: 'string' },
    { id: 11, name: 'dec', required: false, type: 'decimal(9, 2)' },
    { id: 12, name: 'asc', required: false, type: 'string' },
    { id: 13, name: 'fz', required: false, type: 'float' },
    { id: 14, name: 'dz', required: false, type: 'double' },
    { id: 15, name: 'small', required: false, type: 'long' },
  ],
};

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

const ALPHABET = ['a', 'z', '0', ' ', '"', ',', '\n', 'é', 'ß', '日', '😀', '\u0000', '\u{10FFFF}', '\uFFFF'];

function randomString(r: () => number, maxLen: number): string {
  const n = Math.floor(r() * (maxLen + 1));
  let s = '';
  const ascii = r() < 0.7;
  for (let i = 0; i < n; i++) {
    s += ascii ? String.fromCharCode(97 + Math.floor(r() * 26)) : ALPHABET[Math.floor(r() * ALPHABET.length)]!;
  }
  return s;
}

/** What a string reads back as: lone surrogates become U+FFFD in UTF-8. */
const asStored = (s: string) => new TextDecoder().decode(new TextEncoder().encode(s));

/** Sometimes NaN, -0, 0 or an infinity, which order specially in bounds. */
function special(r: () => number): number | undefined {
  const x = r();
  if (x < 0.03) return NaN;
  if (x < 0.06) return -0;
  if (x < 0.08) return 0;
  if (x < 0.09) return r() < 0.5 ? Infinity : -Infinity;
  return undefined;
}

/** The counts and bounds a value-by-value LeafStats gives (the reference for the bulk ranges). */
function referenceStats(type: PrimitiveType, id: number, column: IcebergValue[]): LeafStats {
  const leaf = new LeafStats(id, type, true);
  for (const v of column) {
    if (v === null) leaf.addNull();
    else if (typeof v === 'number' && Number.isNaN(v)) leaf.addNaN();
    else leaf.add(type === 'float' ? Math.fround(v as number) : v);
  }
  return leaf;
}

function makeRows(count: number, seed: number): IcebergValue[][] {
  const r = rng(seed);
  const maybe = <T>(v: T, p = 0.15): T | null => (r() < p ? null : v);
  const rows: IcebergValue[][] = [];
  for (let i = 0; i < count; i++) {
    let s: string | null = maybe(randomString(r, 30));
    if (s !== null && r() < 0.01) s = r() < 0.5 ? '\uD800x' : 'y\uDC00'; // lone surrogates
    rows.push([
      i,
      s,
      maybe(r() < 0.5),
      maybe(BigInt(Math.floor((r() - 0.5) * 2 ** 52)) * 1000n),
      maybe(special(r) ?? Math.fround((r() - 0.5) * 1e6)),
      maybe(special(r) ?? (r() - 0.5) * 1e300),
      maybe(Math.floor((r() - 0.5) * 100_000)),
      maybe(1_767_885_412_000_000n + BigInt(i)),
      maybe(Uint8Array.from({ length: Math.floor(r() * 20) }, () => Math.floor(r() * 256))),
      maybe(randomString(r, 12), 0.5),
      maybe(BigInt(Math.floor((r() - 0.5) * 1e9))),
      maybe(Array.from({ length: Math.floor(r() * 20) }, () => String.fromCharCode(32 + Math.floor(r() * 95))).join('')),
      maybe([0, -0, NaN, 1.5][Math.floor(r() * 4)]!),
      maybe([0, -0, NaN, 2.5][Math.floor(r() * 4)]!),
      maybe(BigInt(Math.floor(r() * 1000))),
    ]);
  }
  return rows;
}

let dir: string;
let db: DuckDB;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-parquet-bulk-'));
  db = await DuckDB.open({ threads: 2 });
});

after(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

function encodedBatch(rows: IcebergValue[][]) {
  const b = new ColumnBatchBuilder(schema, { encode: true, expectedRows: 100 });
  for (const row of rows) b.append(row);
  return b.build();
}

describe('writeParquetFile: many chunks', () => {
  for (const [count, encoded] of [[1, false], [2047, false], [2048, true], [2049, false], [9000, false], [9000, true], [1, true]] as const) {
    test(`${count} rows ${encoded ? 'from encoded columns' : 'from values'} read back exactly, with exact counts`, async () => {
      const rows = makeRows(count, count);
      const path = join(dir, `bulk-${count}-${encoded}.parquet`);
      const batch = encoded ? encodedBatch(rows) : batchFromRows(schema, rows);
      const result = await writeParquetFile({ schema, rows: batch, path, db });
      assert.equal(result.recordCount, count);
      const read = await db.values(`SELECT * FROM read_parquet(${sqlString(path)}) ORDER BY id`);
      assert.equal(read.length, count);
      read.forEach((got, i) => {
        // DuckDB's Parquet dictionaries fold -0.0 into 0.0 when a column chunk holds both (its
        // own behaviour, whatever the writer hands it), so zeros compare without their sign.
        const unsign = (v: IcebergValue) => (v === 0 ? 0 : v);
        const want = rows[i]!.map((v) => (typeof v === 'string' ? asStored(v) : unsign(v)));
        const values = schema.fields.map((f) => unsign(fromDuckDB(f.type, got[f.name] ?? null)));
        assert.deepStrictEqual(values, want, `row ${i}`);
      });
      schema.fields.forEach((f, c) => {
        const ref = referenceStats(f.type as PrimitiveType, f.id, rows.map((row) => row[c]!));
        assert.equal(result.metrics.valueCounts.get(f.id), count, `value count of ${f.name}`);
        assert.equal(result.metrics.nullValueCounts.get(f.id), ref.nullCount, `null count of ${f.name}`);
        if (f.type === 'float' || f.type === 'double') assert.equal(result.metrics.nanValueCounts.get(f.id), ref.nanCount, `NaN count of ${f.name}`);
        assert.deepStrictEqual(result.metrics.lowerBounds.get(f.id), ref.lowerBound(), `lower bound of ${f.name}`);
        assert.deepStrictEqual(result.metrics.upperBounds.get(f.id), ref.upperBound(), `upper bound of ${f.name}`);
      });
    });
  }

  test('a column that is null in every row, and in whole chunks', async () => {
    const rows = makeRows(5000, 7).map((row, i) => {
      const copy = [...row];
      copy[1] = null; // all null
      if (i >= 2048 && i < 4096) copy[3] = null; // one whole chunk null
      if (i < 2048) copy[9] = 'x'.repeat(13); // a chunk of long strings only
      return copy;
    });
    const path = join(dir, 'nulls.parquet');
    await writeParquetFile({ schema, rows: batchFromRows(schema, rows), path, db });
    const [c] = await db.all(
      `SELECT count(s) AS s, count(l) AS l, count(*) FILTER (WHERE short = '${'x'.repeat(13)}') AS long13 FROM read_parquet(${sqlString(path)})`,
    );
    assert.equal(c!.s, 0n);
    assert.equal(c!.l, BigInt(rows.filter((r) => r[3] !== null).length));
    assert.equal(c!.long13, 2048n);
  });
});
