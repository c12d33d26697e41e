/**
 * No input stops the pipeline: hostile records (a value nested 4,500 and 100,000 deep, a lone
 * surrogate, 1e400, a long beyond 64 bits, a megabyte string, invalid UTF-8, a record whose
 * source metadata makes the transform itself throw) go through a real Pipeline beside usual
 * records. Every record becomes a row or a dead letter carrying its shard and position, on every
 * read path (general, JavaScript scanner, native scanner with staging); under `policy: fail` the
 * run stops with a message naming the shard and the position.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemoryPartition } from '../../src/source/memory.js';
import { eventsConfig, runPipeline, type ReadPath } from './harness.js';

const enc = new TextEncoder();
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

/** A record: its bytes, and its arrival time (NaN makes the arrival_time column's getter throw). */
interface Rec {
  data: Uint8Array;
  arrivalTimeMs?: number;
}

const usual = (i: number): Rec => ({ data: enc.encode(JSON.stringify({ id: `e${i}`, payload: 'p', n: i, d: i / 4 })) });

/** The hostile records, each with the reason its dead letter must give (undefined: a row). */
const HOSTILE: { rec: Rec; error: RegExp | undefined }[] = [
  { rec: { data: enc.encode(`{"id":"deep-s","payload":${deep(4_500)}}`) }, error: undefined }, // stored as its JSON
  { rec: { data: enc.encode(`{"id":"deep-n","n":${deep(4_500)}}`) }, error: /column 'n' \(from 'n'\): cannot cast \[\[\[.*…\[truncated\] to long/ },
  { rec: { data: enc.encode(`{"id":"deeper","payload":{"x":${deep(100_000)}},"n":${deep(100_000)}}`) }, error: /column 'n'.*to long/ },
  { rec: { data: enc.encode('{"id":"surrogate","payload":"\\ud800"}') }, error: /column 'payload'.*"\\ud800" to string: a lone surrogate/ },
  { rec: { data: enc.encode('{"id":"inf","d":1e400}') }, error: /cannot cast 1e400 to double/ },
  { rec: { data: enc.encode('{"id":"big","n":9223372036854775808}') }, error: /cannot cast 9223372036854775808 to long$/ },
  { rec: { data: enc.encode('{"id":"max","n":9223372036854775807}') }, error: undefined },
  { rec: { data: enc.encode(`{"id":"huge","payload":"${'z'.repeat(1 << 20)}","n":"${'9'.repeat(1 << 20)}"}`) }, error: /cannot cast "9{99}…\[truncated\] to long$/ },
  { rec: { data: Uint8Array.of(0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d) }, error: /^decode: record is not valid UTF-8$/ },
  { rec: { data: enc.encode('{"id":"nan-arrival"}'), arrivalTimeMs: NaN }, error: /^transform: unexpected failure \(a bug in floe; please report it\): / },
];

const PER_SHARD = 300;
/** Shard s, record i: usual records, with the hostile ones spread over both shards. */
function shards(): Rec[][] {
  const out: Rec[][] = [[], []];
  for (let s = 0; s < 2; s++) for (let i = 0; i < PER_SHARD; i++) out[s]!.push(usual(s * PER_SHARD + i));
  HOSTILE.forEach((h, k) => (out[k % 2]![37 + 11 * k] = h.rec));
  return out;
}

/** Shard s holds records[s]. */
const partitions = (records: Rec[][]): MemoryPartition[] =>
  records.map((list, shard) => ({
    id: `shardId-00000000000${shard}`,
    length: list.length,
    record: (i: number) => ({ data: list[i]!.data, partitionKey: 'k', arrivalTimeMs: list[i]!.arrivalTimeMs ?? 1_767_885_400_000 + i }),
  }));

const CONFIG = eventsConfig([
  { name: 'id', type: 'string', required: true },
  { name: 'payload', type: 'string' },
  { name: 'n', type: 'long' },
  { name: 'd', type: 'double' },
  { name: 'arrival', type: 'timestamptz', value: 'arrival_time' },
]);

async function run(mode: ReadPath, policy: 'dlq' | 'fail'): Promise<{ ids: string[]; deadLetters: { shard: string; position: string; error: string }[] } | Error> {
  const r = await runPipeline({
    tmpPrefix: `floe-hostile-${mode}-`,
    config: CONFIG,
    policy,
    partitions: partitions(shards()),
    readPath: mode,
    read: async (engine) => {
      const ids = (await engine.query('SELECT id FROM db.events')).rows.map((r) => String(r[0]));
      const dl = (await engine.query('SELECT shard, sequence_number, error FROM db.events_dead_letters')).rows;
      const payload = (await engine.query(`SELECT payload, n FROM db.events WHERE id IN ('deep-s', 'max') ORDER BY id`)).rows;
      assert.equal(String(payload[0]![0]), deep(4_500), 'the 4,500-deep value stored as its JSON');
      assert.equal(String(payload[1]![1]), '9223372036854775807', 'the largest long stored exactly');
      return { ids, deadLetters: dl.map((r) => ({ shard: String(r[0]), position: String(r[1]), error: String(r[2]) })) };
    },
  });
  return 'error' in r ? r.error : r.read;
}

for (const mode of ['off', 'js', 'native'] as const) {
  test(`hostile records (${mode === 'off' ? 'general path' : `${mode} scanner`}): each a row or a dead letter with its shard and position`, async () => {
    const r = await run(mode, 'dlq');
    if (r instanceof Error) throw r;
    const total = 2 * PER_SHARD;
    assert.equal(r.ids.length + r.deadLetters.length, total, 'every record is a row or a dead letter');
    const expectDead = HOSTILE.filter((h) => h.error !== undefined).length;
    assert.equal(r.deadLetters.length, expectDead);
    HOSTILE.forEach((h, k) => {
      const shard = `shardId-00000000000${k % 2}`;
      const position = String(37 + 11 * k);
      const dl = r.deadLetters.find((d) => d.shard === shard && d.position === position);
      if (h.error === undefined) {
        assert.equal(dl, undefined, `record ${k} is a row`);
        return;
      }
      assert.ok(dl, `record ${k} (${shard} ${position}) is a dead letter`);
      assert.match(dl.error, h.error);
      assert.ok(dl.error.length < 2_100, `a bounded error: ${dl.error.length} characters`);
    });
  });
}

test('policy fail: a record nested 100,000 deep stops the run with its shard and position', async () => {
  const r = await run('native', 'fail');
  assert.ok(r instanceof Error, 'the run stops');
  // The first record the run meets that cannot be stored: "deeper" (shard 0 is read first, position 59).
  assert.match(r.message, /^pipeline: record at shard shardId-000000000000 position 59: transform: column 'n' \(from 'n'\): cannot cast \[{100}…\[truncated\] to long \(dead_letter\.policy is 'fail'\)$/);
});
