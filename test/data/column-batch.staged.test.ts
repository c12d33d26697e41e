/**
 * ColumnBatchBuilder.appendStaged is all or nothing: a stage a column refuses half-way (here a
 * 64-bit value beyond 2^53 in the middle of the stage, after the string columns took every row)
 * leaves the batch exactly as if the stage had never come: values, null counts and the bytes
 * DuckDB is handed (bounds may stay wider, as after any rollback: still valid bounds), whether the rows before it end mid-chunk or at a chunk's end, and
 * whether the stage crosses chunk ends. Before, the columns were left of different lengths.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clearRawStage, ColumnBatchBuilder, newRawStage, RAW_INT64, RAW_NULL, RAW_UTF8, RAW_VALUE, type ColumnBatch, type RawStage } from '../../src/data/column-batch.js';
import { EncodedColumn } from '../../src/data/encoded-column.js';
import type { IcebergValue, Schema } from '../../src/iceberg/types.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: false, type: 'string' },
    { id: 2, name: 'payload', required: false, type: 'string' },
    { id: 3, name: 'n', required: false, type: 'long' },
    { id: 4, name: 'ok', required: false, type: 'boolean' },
  ],
};
const CAPACITY = 2048;
const enc = new TextEncoder();

function row(i: number): IcebergValue[] {
  return [`e${i}`, i % 3 === 0 ? null : `p${i}-${'é'.repeat(i % 5)}`, i % 7 === 0 ? null : BigInt(i * 1000 - 5), i % 11 === 0 ? null : i % 2 === 0];
}

/** A stage holding rows `from`.. `from + n`, the native scanner's layout; `bad` gets n = 2^60. */
function stageOf(from: number, n: number, bad?: number): RawStage {
  const stage = newRawStage(schema.fields.length, CAPACITY, 256 * 1024);
  clearRawStage(stage);
  for (let k = 0; k < n; k++) {
    const values = row(from + k);
    for (let c = 0; c < values.length; c++) {
      const at = c * CAPACITY + k;
      const v = values[c];
      if (v === null) stage.tags[at] = RAW_NULL;
      else if (typeof v === 'string') {
        const b = enc.encode(v);
        stage.bytes.set(b, c * stage.regionBytes + stage.state[1 + c]!);
        stage.state[1 + c]! += b.length;
        stage.lengths[at] = b.length;
        stage.tags[at] = RAW_UTF8;
      } else if (typeof v === 'bigint') {
        stage.tags[at] = RAW_INT64;
        stage.nums[at] = from + k === bad ? 2 ** 60 : Number(v);
      } else {
        stage.tags[at] = RAW_VALUE;
        stage.nums[at] = v ? 1 : 0;
      }
    }
  }
  stage.state[0] = n;
  return stage;
}

/** Everything a reader of the batch sees. */
function snapshot(batch: ColumnBatch) {
  return [...batch.columns.entries()].map(([id, col]) => {
    assert.ok(col instanceof EncodedColumn);
    const p = col.prepared();
    const bytes = p.layout === 'bytes' ? Buffer.concat(p.blocks.map((b) => Buffer.from(b))).toString('hex') : undefined;
    const lengths = p.layout === 'bytes' ? Array.from(p.lengths) : undefined;
    const validity = p.layout !== 'values' && p.validity ? Buffer.from(p.validity.subarray(0, Math.ceil(col.length / 8))).toString('hex') : 'all';
    return { id, length: col.length, nulls: col.nulls, values: Array.from(col), bytes, lengths, validity };
  });
}

for (const before of [0, 1000, 2047, 2048, 3000]) {
  for (const [size, badAt] of [[1, 0], [1500, 700], [2048, 2047], [2048, 1]] as const) {
    test(`a stage of ${size} refused at its row ${badAt}, after ${before} rows: the batch as if it never came`, () => {
      const b = new ColumnBatchBuilder(schema, { encode: true, expectedRows: 64 });
      const reference = new ColumnBatchBuilder(schema, { encode: true, expectedRows: 64 });
      // The rows before: row by row and staged, alike in both.
      for (let i = 0; i < before; ) {
        const n = Math.min(before - i, i % 2 === 0 ? 700 : 1);
        if (n === 1) {
          b.append(row(i));
          reference.append(row(i));
        } else {
          b.appendStaged(stageOf(i, n));
          reference.appendStaged(stageOf(i, n));
        }
        i += n;
      }
      assert.throws(() => b.appendStaged(stageOf(100_000, size, 100_000 + badAt)), /column-batch: n: 1152921504606847000 is not a safe integer for a long column/);
      assert.equal(b.length, before);
      assert.ok(b.whole, 'every column is back to the row count');
      // Rows after: a good stage, and one row by row.
      b.appendStaged(stageOf(5000, CAPACITY));
      reference.appendStaged(stageOf(5000, CAPACITY));
      b.append(row(9999));
      reference.append(row(9999));
      const got = b.build();
      const want = reference.build();
      for (const [id, col] of got.columns) {
        const ref = want.columns.get(id);
        assert.ok(col instanceof EncodedColumn && ref instanceof EncodedColumn);
        const r = col.range();
        const w = ref.range();
        assert.ok(r.min !== null && w.min !== null && r.max !== null && w.max !== null && r.min <= w.min && r.max >= w.max, `bounds of ${id} hold every value`);
      }
      assert.deepStrictEqual(snapshot(got), snapshot(want));
    });
  }
}
