/**
 * RowBuffer appends a row all or nothing: a refused row throws RowRefusedError, keeps nothing,
 * and leaves no group behind (a partition first seen in the refused row gets no file); a failure
 * of the staged rows is not a RowRefusedError (the pipeline stops on it rather than blame a record).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newRawRow, newRawStage, RAW_INT64, RAW_UTF8, RAW_VALUE } from '../../src/data/column-batch.js';
import type { PartitionSpec } from '../../src/iceberg/metadata.js';
import type { Schema } from '../../src/iceberg/types.js';
import { RowBuffer, RowRefusedError } from '../../src/pipeline/row-buffer.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'region', required: false, type: 'string' },
    { id: 2, name: 'n', required: false, type: 'long' },
    { id: 3, name: 'at', required: false, type: 'timestamptz' },
  ],
};
const byRegion: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 1, 'field-id': 1000, name: 'region', transform: 'identity' }] };
const unpartitioned: PartitionSpec = { 'spec-id': 0, fields: [] };
const TOO_LATE = 2n ** 63n; // one more than a long holds

test('a refused row keeps nothing, and a partition only it had gets no group', () => {
  const buffer = new RowBuffer(schema, byRegion);
  buffer.append(['eu', 1n, 10n]);
  assert.throws(
    () => buffer.append(['us', 2n, TOO_LATE]),
    (e: unknown) => e instanceof RowRefusedError && e.code === 'ROW_REFUSED' && /^buffer: the row was refused .*column-batch: at: row 0: expected a timestamptz in the 64-bit range/.test(e.message),
  );
  assert.throws(() => buffer.append(['eu', 3n, TOO_LATE]), RowRefusedError);
  assert.equal(buffer.length, 1);
  buffer.append(['eu', 4n, 40n]);
  const groups = buffer.drain();
  assert.deepEqual(groups.map((g) => g.partition), [['eu']]);
  const batch = groups[0]!.batch;
  assert.equal(batch.length, 2);
  assert.deepEqual(Array.from(batch.columns.get(2)!), [1n, 4n]);
  assert.deepEqual(Array.from(batch.columns.get(3)!), [10n, 40n]);
});

test('appendRaw: the same, with the partition value decoded from the raw row', () => {
  const buffer = new RowBuffer(schema, byRegion);
  const enc = new TextEncoder();
  const raw = newRawRow(3);
  const fill = (region: string, n: number, at: bigint) => {
    raw.bytes = enc.encode(`"${region}"`);
    raw.tags.set([RAW_UTF8, RAW_INT64, RAW_VALUE]);
    raw.from[0] = 1;
    raw.to[0] = 1 + region.length;
    raw.nums[1] = n;
    raw.values[2] = at;
  };
  fill('eu', 1, 10n);
  buffer.appendRaw(raw);
  fill('ap', 2, TOO_LATE);
  assert.throws(() => buffer.appendRaw(raw), RowRefusedError);
  fill('eu', 3, 30n);
  buffer.appendRaw(raw);
  const groups = buffer.drain();
  assert.deepEqual(groups.map((g) => g.partition), [['eu']]);
  assert.deepEqual(Array.from(groups[0]!.batch.columns.get(1)!), ['eu', 'eu']);
  assert.deepEqual(Array.from(groups[0]!.batch.columns.get(2)!), [1n, 3n]);
});

test('a failure moving staged rows in is not a refused row', () => {
  const buffer = new RowBuffer(schema, unpartitioned);
  const stage = newRawStage(3, 4, 64);
  buffer.attachStage(stage);
  // A staged long that is not a safe integer: the stage's own failure, whichever row comes next.
  stage.tags[1 * 4 + 0] = RAW_INT64;
  stage.nums[1 * 4 + 0] = 2 ** 60;
  stage.state[0] = 1;
  assert.throws(
    () => buffer.append([null, 1n, 1n]),
    (e: unknown) => !(e instanceof RowRefusedError) && /is not a safe integer/.test((e as Error).message),
  );
});
