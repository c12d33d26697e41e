/**
 * A row the buffer refuses (here: an arrival time beyond 64 bits of microseconds, which only the
 * timestamp column checks) is that record's dead letter with its shard and position; the columns
 * before it give back what they took, so every other row is stored whole and aligned. On each
 * read path (general, JavaScript scanner, native scanner with staging), with the refused rows at
 * the end of a 2,048-row chunk of the buffer and in the middle of one. Under `policy: fail` the
 * run stops naming the shard and the position. Before, the run stopped for good on such a record.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEAD_LETTERS_SQL, eventsConfig, runPipeline, stringRows, type ReadPath } from './harness.js';

const enc = new TextEncoder();
const COUNT = 3_000;
/**
 * Positions whose arrival time makes the row refused. All 3,000 records are read by the first
 * poll into one buffer: position 2,048 is its 2,048th row (one refused before it), the one that
 * completes the columns' first 2,048-row chunk.
 */
const REFUSED = new Set([100, 2_048, 2_500]);
/** 10^16 ms = 10^19 µs: more than a long holds (9.22 × 10^18). */
const BAD_ARRIVAL_MS = 1e16;

const record = (i: number) => ({
  data: enc.encode(JSON.stringify({ id: `e${i}`, payload: i % 3 === 0 ? null : `p${i}-${'x'.repeat(i % 7)}`, n: i, ok: i % 2 === 0 })),
  partitionKey: 'k',
  arrivalTimeMs: REFUSED.has(i) ? BAD_ARRIVAL_MS : 1_767_885_400_000 + i,
});

// The refusing column last: every column before it has taken the row's value when it throws.
const CONFIG = eventsConfig([
  { name: 'id', type: 'string', required: true },
  { name: 'payload', type: 'string' },
  { name: 'n', type: 'long' },
  { name: 'ok', type: 'boolean' },
  { name: 'arrival', type: 'timestamptz', value: 'arrival_time' },
]);

async function run(mode: ReadPath, policy: 'dlq' | 'fail') {
  const r = await runPipeline({
    tmpPrefix: `floe-refused-${mode}-`,
    config: CONFIG,
    policy,
    partitions: [{ id: 'shardId-000000000000', length: COUNT, record }],
    readPath: mode,
    read: async (engine) => {
      const rows = (await engine.query('SELECT id, payload, n, ok, epoch_ms(arrival) FROM db.events ORDER BY n')).rows;
      const dead = (await engine.query(DEAD_LETTERS_SQL)).rows;
      return { rows: stringRows(rows), dead: dead.map((r) => r.map(String)) };
    },
  });
  return 'error' in r ? r.error : r.read;
}

for (const mode of ['off', 'js', 'native'] as const) {
  test(`a row the buffer refuses is a dead letter, the other rows whole (${mode === 'off' ? 'general path' : `${mode} scanner`})`, async () => {
    const r = await run(mode, 'dlq');
    if (r instanceof Error) throw r;
    const expected: (string | null)[][] = [];
    for (let i = 0; i < COUNT; i++) {
      if (REFUSED.has(i)) continue;
      expected.push([`e${i}`, i % 3 === 0 ? null : `p${i}-${'x'.repeat(i % 7)}`, String(i), String(i % 2 === 0), String(1_767_885_400_000 + i)]);
    }
    assert.equal(r.rows.length, expected.length);
    for (let k = 0; k < expected.length; k++) assert.deepEqual(r.rows[k], expected[k], `row ${k}`);
    assert.deepEqual(
      r.dead.map((d) => [d[0], d[1]]),
      [...REFUSED].map((i) => ['shardId-000000000000', String(i)]),
    );
    for (const d of r.dead) {
      assert.equal(d[3], new TextDecoder().decode(record(Number(d[1])).data), 'the record\'s text');
      assert.match(d[2]!, /^buffer: the row was refused \(a bug in floe; please report it\): column-batch: arrival: row \d+: expected a timestamptz in the 64-bit range, got bigint 10000000000000000000n$/);
    }
  });
}

test('a row the buffer refuses under policy fail: the run stops naming its shard and position', async () => {
  const r = await run('native', 'fail');
  assert.ok(r instanceof Error, 'the run stops');
  assert.match(r.message, /^pipeline: record at shard shardId-000000000000 position 100: buffer: the row was refused .*64-bit range.* \(dead_letter\.policy is 'fail'\)$/);
});
