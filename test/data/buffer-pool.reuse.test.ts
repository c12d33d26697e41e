/**
 * Buffer recycling between commit units (`data/buffer-pool.ts`): a column built on recycled
 * buffers (old bytes in them) holds exactly what a column on fresh buffers holds, and a released
 * column cannot be read by mistake.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BufferPool } from '../../src/data/buffer-pool.js';
import { ColumnBatchBuilder, releaseBatch } from '../../src/data/column-batch.js';
import { EncodedColumn } from '../../src/data/encoded-column.js';
import { ValidationError } from '../../src/errors.js';
import type { IcebergValue, Schema } from '../../src/iceberg/types.js';
import { rng } from '../helpers/rng.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 's', required: false, type: 'string' },
    { id: 2, name: 'l', required: false, type: 'long' },
    { id: 3, name: 'i', required: false, type: 'int' },
    { id: 4, name: 'd', required: false, type: 'double' },
    { id: 5, name: 'b', required: false, type: 'boolean' },
    { id: 6, name: 'ts', required: false, type: 'timestamptz' },
  ],
};

function rows(seed: number, count: number): IcebergValue[][] {
  const r = rng(seed);
  const out: IcebergValue[][] = [];
  for (let n = 0; n < count; n++) {
    const nul = () => r() < 0.2;
    out.push([
      nul() ? null : `v${Math.floor(r() * 1e6)}${'é'.repeat(Math.floor(r() * 3))}`,
      nul() ? null : BigInt(Math.floor((r() - 0.5) * 2 ** 52)),
      nul() ? null : Math.floor((r() - 0.5) * 2 ** 31),
      nul() ? null : (r() - 0.5) * 1e9,
      nul() ? null : r() < 0.5,
      nul() ? null : 1_767_885_412_000_000n + BigInt(n),
    ]);
  }
  return out;
}

/** Everything a reader of the batch sees: values, null counts, bounds, DuckDB's layout. */
function snapshot(builder: ColumnBatchBuilder) {
  const batch = builder.build();
  return [...batch.columns.entries()].map(([id, values]) => {
    assert.ok(values instanceof EncodedColumn);
    const col = values;
    const p = col.prepared();
    if (p.layout === 'values') throw new Error('expected an encoded layout');
    const validity = p.validity ? Buffer.from(p.validity.subarray(0, Math.ceil(col.length / 8))).toString('hex') : 'all';
    // Null slots of fixed-width values hold whatever the buffer held (readers skip them by the
    // validity mask), so they are blanked before comparing.
    let bytes: string;
    if (p.layout === 'bytes') bytes = Buffer.concat(p.blocks.map((b) => Buffer.from(b))).toString('hex');
    else {
      const data = Buffer.from(p.data);
      for (let i = 0; i < col.length; i++) if (col.isNull(i)) data.fill(0, i * p.width, (i + 1) * p.width);
      bytes = data.toString('hex');
    }
    const lengths = p.layout === 'bytes' ? [...p.lengths].join(',') : '';
    return { id, nulls: col.nulls, range: col.range(), bytes, validity, lengths, values: Array.from({ length: col.length }, (_, i) => col.get(i)) };
  });
}

describe('buffer-pool: recycled buffers', () => {
  test('take returns given buffers of the same size; a new round drops what was not taken', () => {
    const pool = new BufferPool(1 << 20);
    const a = new ArrayBuffer(1024);
    pool.give(a);
    assert.equal(pool.size, 1024);
    assert.equal(pool.take(1024), a);
    assert.notEqual(pool.take(1024), a, 'a buffer is handed out once');
    pool.give(new ArrayBuffer(2048));
    pool.newRound();
    assert.equal(pool.size, 0);
    const big = new ArrayBuffer(1 << 21);
    pool.give(big);
    assert.equal(pool.size, 0, 'beyond maxBytes, a buffer is not kept');
    assert.equal(big.byteLength, 0, 'and its memory is freed at once (detached)');
    const left = new ArrayBuffer(4096);
    pool.give(left);
    pool.newRound();
    assert.equal(left.byteLength, 0, 'a buffer a round did not take is freed at once');
  });

  test('every buffer a batch takes from the pool goes back with it (none for a batch never started)', () => {
    const pool = new BufferPool();
    let out = 0;
    const take = pool.take.bind(pool);
    const give = pool.give.bind(pool);
    pool.take = (n: number) => {
      out += n;
      return take(n);
    };
    pool.give = (b: ArrayBuffer) => {
      out -= b.byteLength;
      give(b);
    };
    const builder = new ColumnBatchBuilder(schema, { encode: true, expectedRows: 4096, pool });
    for (let round = 0; round < 3; round++) {
      for (const row of rows(round, 5000)) builder.append(row);
      const batch = builder.build();
      // build() takes nothing for the batch after it: a builder used once must not strand buffers.
      releaseBatch(batch);
      assert.equal(out, 0, `round ${round}: every byte taken was given back`);
      pool.newRound();
    }
  });

  test('a batch built on recycled buffers equals one built on fresh buffers', () => {
    const pool = new BufferPool();
    for (const count of [1, 2047, 2049, 9000]) {
      // Fill the pool with buffers full of other bytes, of the sizes the next batch asks for.
      const first = new ColumnBatchBuilder(schema, { encode: true, expectedRows: 4096, pool });
      for (const row of rows(1, 9000)) first.append(row);
      const old = first.build();
      releaseBatch(old);
      assert.ok(pool.size > 0, 'the released batch gave its buffers back');
      const recycled = new ColumnBatchBuilder(schema, { encode: true, expectedRows: 4096, pool });
      const fresh = new ColumnBatchBuilder(schema, { encode: true, expectedRows: 4096 });
      for (const row of rows(count, count)) {
        recycled.append(row);
        fresh.append(row);
      }
      assert.deepStrictEqual(snapshot(recycled), snapshot(fresh), `${count} rows`);
      pool.newRound();
    }
  });

  test('a released column refuses to be read', () => {
    const pool = new BufferPool();
    const col = new EncodedColumn('string', 's', 16, pool);
    col.append('x');
    col.prepared();
    col.release();
    assert.throws(() => col.get(0), ValidationError);
    assert.throws(() => col.prepared(), /released/);
    assert.throws(() => col.append('y'), ValidationError);
  });
});

test('buffer-pool: a null binary value on recycled buffers takes no bytes (the next value is read whole)', () => {
  const pool = new BufferPool();
  const first = new EncodedColumn('binary', 'b', 1024, pool);
  for (let i = 0; i < 10; i++) first.append(Uint8Array.of(9, 9, 9, 9, 9));
  first.seal();
  pool.newRound();
  first.release();
  // Takes the lengths buffer the first column filled with 5s.
  const next = new EncodedColumn('binary', 'b', 1024, pool);
  next.append(null);
  next.append(Uint8Array.of(1, 2));
  next.append(null);
  next.append(Uint8Array.of(3));
  assert.deepEqual([next.get(0), next.get(1), next.get(2), next.get(3)], [null, Uint8Array.of(1, 2), null, Uint8Array.of(3)]);
  const prepared = next.prepared();
  assert.ok(prepared.layout === 'bytes');
  assert.deepEqual(Array.from(prepared.lengths), [0, 2, 0, 1]);
});
