/**
 * `KinesisSource.poll({ runs: true })` (bench/notes.md item 28): the same records as a poll for
 * objects — data, partition keys, arrival times, positions (inside KPL aggregates too), metadata
 * — in the same order per shard, each once, with the batch positions those of the runs' last
 * records and the shards' ends; the poll bounds (records, bytes) hold. Against the fast endpoint
 * (`bench/kinesis-fast-endpoint.ts`) on 127.0.0.1, 6 shards, two of them closed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFastKinesis, type FastRecord } from '../../bench/kinesis-fast-endpoint.js';
import { kinesisClientFromEnv } from '../../src/source/kinesis/client.js';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { aggregate } from '../../src/source/kinesis/kpl.js';
import { SHARD_END, type SourceRecord } from '../../src/source/source.js';

const enc = new TextEncoder();

function shardRecords(shard: number, n: number): FastRecord[] {
  return Array.from({ length: n }, (_, i) =>
    i % 50 === 7
      ? { data: aggregate([0, 1, 2].map((u) => ({ partitionKey: `agg-${shard}-${i}-${u}-é`, data: enc.encode(`{"s":${shard},"i":${i},"u":${u}}`) }))), partitionKey: `agg-${shard}-${i}` }
      : { data: enc.encode(JSON.stringify({ s: shard, i, pad: 'x'.repeat(i % 90) })), partitionKey: `pk-${shard}-${i % 13}-中` },
  );
}

/** Everything the source hands out until every shard ended, as plain records, per shard in order. */
async function readAll(url: string, runs: boolean): Promise<{ records: Map<string, SourceRecord[]>; ends: Set<string> }> {
  const client = kinesisClientFromEnv({ endpoint: url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const source = new KinesisSource({ client, streamName: 's', maxRecordsPerCall: 300, minCallIntervalMs: 10, idleDelayMs: 20 });
  const records = new Map<string, SourceRecord[]>();
  const ends = new Set<string>();
  try {
    await source.start(new Map(), { type: 'TRIM_HORIZON' });
    const deadline = Date.now() + 60_000;
    let quiet = 0;
    while (quiet < 5 && Date.now() < deadline) {
      const b = await source.poll({ maxRecords: 257, maxBytes: 16 * 1024, waitMs: 300, runs });
      const got: SourceRecord[] = [...b.records];
      if (runs) {
        assert.equal(b.records.length, 0, 'records come as runs when asked');
        for (const run of b.runs ?? []) {
          assert.ok(run.from < run.to && run.to <= run.block.length);
          for (let i = run.from; i < run.to; i++) {
            const r = run.block.record(i);
            assert.equal(run.block.position(i), r.position);
            assert.equal(run.block.partitionKey(i), r.partitionKey);
            assert.equal(run.block.arrivalTimeMs(i), r.arrivalTimeMs);
            got.push({ ...r, data: new Uint8Array(r.data) });
          }
          // The batch's position of the shard: its run's last record (or its end).
          const pos = b.positions.get(run.block.partitionId);
          assert.ok(pos === run.block.position(run.to - 1) || pos === SHARD_END, `position ${pos}`);
        }
      } else {
        assert.equal(b.runs, undefined);
      }
      assert.ok(got.length <= 257, 'maxRecords held');
      const bytes = got.reduce((a, r) => a + r.data.byteLength, 0);
      assert.ok(got.length <= 1 || bytes <= 16 * 1024 + 256 * 13, `maxBytes held (${bytes})`);
      for (const r of got) {
        const list = records.get(r.partitionId) ?? [];
        list.push({ ...r, data: new Uint8Array(r.data), meta: { ...r.meta } });
        records.set(r.partitionId, list);
      }
      for (const [shard, pos] of b.positions) if (pos === SHARD_END) ends.add(shard);
      if (b.positions.size > 0) source.markCommitted(b.positions);
      quiet = got.length === 0 && b.positions.size === 0 ? quiet + 1 : 0;
    }
  } finally {
    await source.close();
    client.destroy();
  }
  return { records, ends };
}

test('runs of blocks and record objects: the same records, positions and metadata, each once, in order', async () => {
  // One endpoint read twice from the start: the same sequence numbers.
  const endpoint = await startFastKinesis({
    streamName: 's',
    shards: Array.from({ length: 6 }, (_, s) => ({ records: shardRecords(s, 700), closed: s < 2 })),
  });
  let asObjects;
  let asRuns;
  try {
    asObjects = await readAll(endpoint.url, false);
    asRuns = await readAll(endpoint.url, true);
  } finally {
    await endpoint.close();
  }
  // Per shard: 700 Kinesis records, 14 of them aggregates of 3.
  assert.equal(asObjects.records.size, 6);
  for (const list of asObjects.records.values()) assert.equal(list.length, 700 + 14 * 2);
  assert.equal(asObjects.ends.size, 2);
  assert.deepEqual(asRuns.records, asObjects.records);
  assert.deepEqual(asRuns.ends, asObjects.ends);
  const sub = asRuns.records.get([...asRuns.records.keys()][0]!)!.find((r) => r.meta.aggregated === 'true' && r.meta.subSequenceNumber === '0')!;
  assert.match(sub.position, /^\d+:0$/);
});
