/**
 * A row is appended all or nothing (`ColumnBatchBuilder.append` / `appendRaw`): when a column
 * refuses its value, the columns before it give theirs back. Refused rows are slipped among
 * generated ones, at the end of a 2,048-row chunk (string and binary columns have encoded the
 * chunk by then) and elsewhere, by either path (values; raw spans and numbers); the batch must be
 * the one built from the accepted rows alone: same values, nulls and NaNs, and it keeps working.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ColumnBatchBuilder, newRawRow, RAW_INT64, RAW_NULL, RAW_UTF8, RAW_VALUE, type ColumnBatch, type RawRow } from '../../src/data/column-batch.js';
import { EncodedColumn } from '../../src/data/encoded-column.js';
import type { IcebergValue, Schema } from '../../src/iceberg/types.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 's', required: false, type: 'string' },
    { id: 2, name: 'l', required: false, type: 'long' },
    { id: 3, name: 'bin', required: false, type: 'binary' },
    { id: 4, name: 'fx', required: false, type: 'fixed[3]' },
    { id: 5, name: 'i', required: false, type: 'int' },
    { id: 6, name: 'd', required: false, type: 'double' },
    { id: 7, name: 'f', required: false, type: 'float' },
    { id: 8, name: 'b', required: false, type: 'boolean' },
    { id: 9, name: 'dec', required: false, type: 'decimal(9, 2)' },
    { id: 10, name: 's2', required: false, type: 'string' },
    { id: 11, name: 't', required: false, type: 'time' },
  ],
};
const N = schema.fields.length;
const enc = new TextEncoder();

/** A small deterministic generator. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function goodRow(r: () => number, k: number): IcebergValue[] {
  const nul = () => r() < 0.15;
  return [
    nul() ? null : `s${k}-${'é'.repeat(Math.floor(r() * 3))}${'x'.repeat(Math.floor(r() * 20))}`,
    nul() ? null : BigInt(Math.floor((r() - 0.5) * 1e12)),
    nul() ? null : Uint8Array.from({ length: Math.floor(r() * 5) }, () => Math.floor(r() * 256)),
    nul() ? null : Uint8Array.of(k & 255, 1, 2),
    nul() ? null : Math.floor((r() - 0.5) * 1e6),
    nul() ? null : r() < 0.1 ? NaN : (r() - 0.5) * 1e3,
    nul() ? null : r() < 0.1 ? NaN : Math.fround(r()),
    nul() ? null : r() < 0.5,
    nul() ? null : BigInt(Math.floor(r() * 1e6)),
    nul() ? null : `t${k}`,
    nul() ? null : BigInt(Math.floor(r() * 86_400_000_000)),
  ];
}

/** A row refused by column `at` (a value of the wrong kind or out of range); columns before it have good values. */
function refusedRow(r: () => number, k: number, at: number): IcebergValue[] {
  const row = goodRow(r, k);
  const bad: IcebergValue[] = ['not bytes' as never, 2n ** 64n, 'x', Uint8Array.of(1), 2 ** 40, 'NaN', 'x', 1 as never, null, 5 as never, 86_400_000_000n];
  row[at] = bad[at]!;
  return row;
}

/** As the fast path fills a raw row: strings as spans of a scratch buffer, safe longs as numbers. */
function toRaw(values: IcebergValue[], row: RawRow): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 2;
  for (let i = 0; i < N; i++) {
    const v = values[i]!;
    if (v === null) {
      row.tags[i] = RAW_NULL;
    } else if (typeof v === 'string' && (i === 0 || i === 9)) {
      const b = enc.encode(v);
      parts.push(b);
      row.tags[i] = RAW_UTF8;
      row.from[i] = offset;
      row.to[i] = offset + b.length;
      offset += b.length + 1;
    } else if (i === 1 && typeof v === 'bigint' && Number.isSafeInteger(Number(v))) {
      row.tags[i] = RAW_INT64;
      row.nums[i] = Number(v);
    } else {
      row.tags[i] = RAW_VALUE;
      row.values[i] = v;
    }
  }
  const bytes = new Uint8Array(offset + 2).fill(0x2c);
  for (let i = 0, k = 0; i < N; i++) if (row.tags[i] === RAW_UTF8) bytes.set(parts[k++]!, row.from[i]!);
  row.bytes = bytes;
  return bytes;
}

function plain(batch: ColumnBatch): { values: unknown[][]; nulls: number[]; nans: number[] } {
  const values: unknown[][] = [];
  const nulls: number[] = [];
  const nans: number[] = [];
  for (const f of schema.fields) {
    const col = batch.columns.get(f.id)!;
    values.push(Array.from(col));
    const e = col instanceof EncodedColumn ? col : undefined;
    nulls.push(e?.nulls ?? -1);
    nans.push(e?.nans ?? -1);
  }
  return { values, nulls, nans };
}

for (const mode of ['append', 'appendRaw'] as const) {
  for (const encode of [true, false]) {
    describe(`${mode}, ${encode ? 'encoded' : 'plain'} columns`, () => {
      test('a refused row leaves the batch as if it had never come, at chunk ends and elsewhere', () => {
        const r = rng(encode ? 7 : 11);
        const accepted = new ColumnBatchBuilder(schema, { encode, expectedRows: 64 });
        const reference = new ColumnBatchBuilder(schema, { encode, expectedRows: 64 });
        const raw = newRawRow(N);
        const add = (b: ColumnBatchBuilder, values: IcebergValue[]) => {
          if (mode === 'append') b.append(values);
          else {
            const bytes = toRaw(values, raw);
            try {
              b.appendRaw(raw);
            } finally {
              bytes.fill(0xff); // the record's buffer is reused: nothing may point into it
            }
          }
        };
        // Refused rows when the builder holds these many rows: the first row, chunk ends, and others.
        const refuseAt = new Set([0, 1, 2047, 2048, 3000, 4095, 4096, 5000]);
        let refused = 0;
        for (let k = 0; accepted.length < 5_200; k++) {
          if (refuseAt.has(accepted.length) && refused < 40) {
            // Two refused rows in a row, failing in different columns (the refusing column is
            // never the first with a plain builder: it checks nothing).
            for (const at of encode ? [N - 1, 1 + (k % (N - 2))] : []) {
              const before = accepted.length;
              assert.throws(() => add(accepted, refusedRow(r, k, at)), /column-batch: /, `row refused by column ${at}`);
              assert.equal(accepted.length, before);
              refused++;
            }
            refuseAt.delete(accepted.length);
          }
          const values = goodRow(r, k);
          add(accepted, values);
          add(reference, values);
        }
        if (encode) assert.ok(refused >= 14, `refused ${refused} rows`);
        const got = plain(accepted.build());
        const want = plain(reference.build());
        assert.equal(got.values[0]!.length, 5_200);
        for (let c = 0; c < N; c++) {
          assert.equal(got.nulls[c], want.nulls[c], `${schema.fields[c]!.name}: nulls`);
          assert.equal(got.nans[c], want.nans[c], `${schema.fields[c]!.name}: NaNs`);
          for (let k = 0; k < want.values[c]!.length; k++) {
            assert.deepEqual(got.values[c]![k], want.values[c]![k], `${schema.fields[c]!.name} row ${k}`);
          }
        }
      });
    });
  }
}
