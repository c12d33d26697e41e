/**
 * When the native scanner's staged rows cannot be moved into the buffer (a bug: injected here by
 * the test, on ColumnBatchBuilder's prototype, nothing in floe's code), the buffer is cut back to
 * the rows before the stage and the stage's records go in again one by one the general way: the
 * good ones are kept, in order, and a bad one (one the general way refuses: injected too) is a
 * dead letter with its shard and position. Once for a full stage moved while reading, once for
 * the last, partial stage moved when the unit is sealed. Before, the run stopped for good
 * (`the row buffer failed`), with several rows half stored.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ColumnBatchBuilder, RAW_INT64, type RawStage } from '../../src/data/column-batch.js';
import { ValidationError } from '../../src/errors.js';
import type { IcebergValue } from '../../src/iceberg/types.js';
import { DEAD_LETTERS_SQL, eventsConfig, runPipeline, stringRows } from './harness.js';

const enc = new TextEncoder();
const COUNT = 3_000;
/** Records the general way refuses (injected); their stages fail to move (injected). */
const BAD = [1_000, 2_990];
/** Position of column `n` in the schema below. */
const N_COLUMN = 2;

const record = (i: number) => ({
  data: enc.encode(JSON.stringify({ id: `e${i}`, payload: i % 3 === 0 ? null : `p${i}-${'x'.repeat(i % 7)}`, n: i, ok: i % 2 === 0 })),
  partitionKey: 'k',
  arrivalTimeMs: 1_767_885_400_000 + i,
});

const CONFIG = eventsConfig([
  { name: 'id', type: 'string', required: true },
  { name: 'payload', type: 'string' },
  { name: 'n', type: 'long' },
  { name: 'ok', type: 'boolean' },
  { name: 'arrival', type: 'timestamptz', value: 'arrival_time' },
]);

/**
 * Makes a stage holding a bad record fail half-way: its `n` value becomes 2^60, which the 64-bit
 * column takes as a safe integer only, so the string columns before it have taken every row and
 * `n` the rows before the bad one when it throws. And makes the general way refuse the bad
 * records. Returns how many stages failed, and the way back.
 */
function inject(): { failures: () => number; restore: () => void } {
  const appendStaged = ColumnBatchBuilder.prototype.appendStaged;
  const append = ColumnBatchBuilder.prototype.append;
  let failures = 0;
  ColumnBatchBuilder.prototype.appendStaged = function (this: ColumnBatchBuilder, stage: RawStage) {
    const rows = stage.state[0]!;
    for (let k = 0; k < rows; k++) {
      const at = N_COLUMN * stage.capacity + k;
      if (stage.tags[at] === RAW_INT64 && BAD.includes(stage.nums[at]!)) {
        stage.nums[at] = 2 ** 60;
        failures++;
      }
    }
    appendStaged.call(this, stage);
  };
  ColumnBatchBuilder.prototype.append = function (this: ColumnBatchBuilder, row: readonly IcebergValue[]) {
    if (typeof row[0] === 'string' && BAD.some((i) => row[0] === `e${i}`)) throw new ValidationError(`test: ${row[0]} is bad`);
    append.call(this, row);
  };
  return {
    failures: () => failures,
    restore: () => {
      ColumnBatchBuilder.prototype.appendStaged = appendStaged;
      ColumnBatchBuilder.prototype.append = append;
    },
  };
}

async function run(policy: 'dlq' | 'fail') {
  const injected = inject();
  try {
    const r = await runPipeline({
      tmpPrefix: 'floe-stage-refused-',
      config: CONFIG,
      policy,
      partitions: [{ id: 'shardId-000000000000', length: COUNT, record }],
      readPath: 'native', // the default: the native scanner, staging rows
      afterRun: injected.restore,
      read: async (engine) => {
        const rows = (await engine.query('SELECT id, payload, n, ok, epoch_ms(arrival) FROM db.events')).rows;
        const dead = (await engine.query(DEAD_LETTERS_SQL)).rows;
        return { rows: stringRows(rows), dead: dead.map((r) => r.map(String)) };
      },
    });
    if ('error' in r) return { error: r.error, failures: injected.failures() };
    return { stats: r.stats, failures: injected.failures(), ...r.read };
  } finally {
    injected.restore();
  }
}

test('staged rows the buffer cannot take go in one by one: the good ones kept in order, the bad one a dead letter', async () => {
  const r = await run('dlq');
  if ('error' in r) throw r.error;
  assert.equal(r.failures, 2, 'both stages failed to move (a full one, and the last one at the commit)');
  const expected: (string | null)[][] = [];
  for (let i = 0; i < COUNT; i++) {
    if (BAD.includes(i)) continue;
    expected.push([`e${i}`, i % 3 === 0 ? null : `p${i}-${'x'.repeat(i % 7)}`, String(i), String(i % 2 === 0), String(1_767_885_400_000 + i)]);
  }
  // In the order they came (no ORDER BY: the one file's row order).
  assert.equal(r.rows.length, expected.length);
  for (let k = 0; k < expected.length; k++) assert.deepEqual(r.rows[k], expected[k], `row ${k}`);
  assert.deepEqual(
    r.dead.map((d) => [d[0], d[1], d[2], d[3]]),
    BAD.map((i) => ['shardId-000000000000', String(i), `buffer: the row was refused (a bug in floe; please report it): test: e${i} is bad`, new TextDecoder().decode(record(i).data)]),
  );
  assert.equal(r.stats.records, COUNT - BAD.length);
  assert.equal(r.stats.deadLetters, BAD.length);
});

test('staged rows the buffer cannot take, under policy fail: the run stops naming the bad record', async () => {
  const r = await run('fail');
  assert.ok('error' in r && r.error, 'the run stops');
  assert.equal(r.failures, 1);
  assert.match(r.error.message, /^pipeline: record at shard shardId-000000000000 position 1000: buffer: the row was refused .*test: e1000 is bad \(dead_letter\.policy is 'fail'\)$/);
});
