/**
 * Bounds of string columns fed raw UTF-8 spans (the JSON fast path) are read from the written
 * file's statistics instead of being kept value by value. They must be exactly the bounds the
 * values give (`LeafStats` over the same strings), whatever DuckDB does with its statistics:
 * long ASCII values (truncated to 256 bytes, the maximum incremented), long non-ASCII values
 * (no statistics at all: the column's own bytes are scanned), several row groups, all-null
 * row groups, empty strings, and spans mixed with JavaScript strings.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ColumnBatchBuilder, newRawRow, RAW_NULL, RAW_UTF8, RAW_VALUE } from '../../src/data/column-batch.js';
import { LeafStats, readFooterInfo } from '../../src/data/parquet-metrics.js';
import { writeParquetFile } from '../../src/data/parquet-writer.js';
import type { Schema } from '../../src/iceberg/types.js';
import { DuckDB } from '../../src/duckdb/instance.js';
import { rng } from '../helpers/rng.js';

const enc = new TextEncoder();
const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'int' },
    { id: 2, name: 's', required: false, type: 'string' },
  ],
};

/** How a value reaches the column: as a span of a record's bytes, or as a JavaScript string. */
type Mode = 'raw' | 'js';

describe('string bounds of raw spans come from the file statistics, and are exact', () => {
  let dir: string;
  let db: DuckDB;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'floe-footer-bounds-'));
    db = await DuckDB.open({ threads: 1 });
  });
  after(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes the strings (through `mode(i)`) and checks the file's bounds against LeafStats. */
  async function check(values: readonly (string | null)[], mode: (i: number) => Mode, rowGroupSize?: number, what = ''): Promise<string> {
    const b = new ColumnBatchBuilder(schema, { encode: true });
    const row = newRawRow(2);
    values.forEach((v, i) => {
      if (v !== null && mode(i) === 'js') {
        b.append([i, v]);
        return;
      }
      // A record around the span, so the span does not start at 0.
      const bytes = enc.encode(`{"s":"${v ?? ''}"}`);
      row.tags[0] = RAW_VALUE;
      row.values[0] = i;
      row.tags[1] = v === null ? RAW_NULL : RAW_UTF8;
      row.from[1] = 6;
      row.to[1] = bytes.length - 2;
      row.bytes = bytes;
      b.appendRaw(row);
    });
    const path = join(dir, `f${n++}.parquet`);
    const r = await writeParquetFile({ schema, rows: b.build(), path, db, ...(rowGroupSize ? { rowGroupSize } : {}) });
    const leaf = new LeafStats(2, 'string', true);
    for (const v of values) {
      if (v === null) leaf.addNull();
      else leaf.add(v);
    }
    assert.deepStrictEqual(r.metrics.lowerBounds.get(2), leaf.lowerBound(), `${what}: lower bound`);
    assert.deepStrictEqual(r.metrics.upperBounds.get(2), leaf.upperBound(), `${what}: upper bound`);
    assert.equal(r.metrics.nullValueCounts.get(2), values.filter((v) => v === null).length, `${what}: nulls`);
    return path;
  }

  /** Whether the file's statistics covered the column (else the column was scanned). */
  async function footerHasBounds(path: string): Promise<boolean> {
    const info = await db.withConnection((conn) => readFooterInfo(conn, path, [1, 2], new Set([2])));
    return info.stringBounds.get(2) !== undefined;
  }

  const raw = (): Mode => 'raw';

  test('short strings: the footer has the bounds, and they are the values’', async () => {
    const path = await check(['m', 'b', null, 'z', '', 'é', '\u{10FFFF}', '~'], raw, undefined, 'short');
    assert.equal(await footerHasBounds(path), true);
  });

  test('a long ASCII minimum and maximum (statistics truncated to 256 bytes)', async () => {
    const longMin = 'a' + 'z'.repeat(400);
    const longMax = 'y' + 'z'.repeat(400);
    const path = await check(['m', longMin, longMax, 'b'], raw, undefined, 'long ASCII');
    assert.equal(await footerHasBounds(path), true, 'DuckDB keeps truncated statistics for ASCII');
    // Exactly 16 code points, and 17: the upper bound is incremented only for the longer one.
    await check(['q'.repeat(16), 'a'], raw, undefined, '16 code points');
    await check(['q'.repeat(17), 'q'.repeat(16)], raw, undefined, '17 code points');
  });

  test('a long non-ASCII value (no statistics): the column is scanned', async () => {
    const path = await check(['m', 'é'.repeat(200), 'b', '\u{10FFFF}'.repeat(100)], raw, undefined, 'long non-ASCII');
    assert.equal(await footerHasBounds(path), false, 'DuckDB writes no statistics here');
  });

  test('several row groups, one of them all null', async () => {
    const values: (string | null)[] = [];
    for (let i = 0; i < 5000; i++) values.push(i >= 2048 && i < 4096 ? null : `v${(i * 7919) % 5000}`);
    values[4999] = 'zz'; // the maximum in the last group only
    values[10] = '!'; // the minimum in the first
    const path = await check(values, raw, 2048, 'row groups');
    assert.equal(await footerHasBounds(path), true);
    // And the other way round: the minimum in the last group, the maximum in the first.
    const flipped = [...values];
    flipped[4999] = ' ';
    flipped[10] = '~~';
    await check(flipped, raw, 2048, 'row groups, flipped');
    // The long non-ASCII value in the middle group only: that group has no statistics.
    values[3000] = 'ü'.repeat(300);
    assert.equal(await footerHasBounds(await check(values, raw, 2048, 'one group without statistics')), false);
  });

  test('only nulls: no bounds', async () => {
    await check([null, null, null], raw, undefined, 'nulls');
  });

  test('spans mixed with JavaScript strings: 40 random files', async () => {
    const alphabet = ['a', 'b', 'z', '~', ' ', 'é', 'ü', '中', '😀', '\u{10FFFF}', '\u0001'];
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const count = 1 + Math.floor(r() * 6000);
      const longOdds = r() * 0.01;
      const values: (string | null)[] = [];
      for (let i = 0; i < count; i++) {
        if (r() < 0.1) {
          values.push(null);
          continue;
        }
        const len = r() < longOdds ? 100 + Math.floor(r() * 400) : Math.floor(r() * 24);
        const ascii = r() < 0.7;
        let s = '';
        for (let k = 0; k < len; k++) s += ascii ? String.fromCharCode(0x20 + Math.floor(r() * 95)).replace(/["\\]/, 'x') : alphabet[Math.floor(r() * alphabet.length)]!;
        values.push(s);
      }
      const modes = values.map(() => (r() < 0.5 ? 'raw' : 'js') as Mode);
      await check(values, (i) => modes[i]!, 1 + Math.floor(r() * 3000), `seed ${seed}`);
    }
  });
});
