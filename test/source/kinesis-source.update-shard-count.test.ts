/**
 * What kinesalite cannot show, against a real kinesis-local on 127.0.0.1: ON_DEMAND streams, and
 * UpdateShardCount (2 → 4 → 2 → 1) while a producer writes. Per key the records must come out of
 * `poll()` exactly once and in order across parents and children, and no child record may come
 * before every parent's records were handed out and its SHARD_END was committed through
 * `markCommitted` (checked in the order `poll()` returns things and in the partition states of
 * the source's metrics). Also a restart from committed positions in the middle of such a lineage.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { ensureStream } from '../../src/source/kinesis/admin.js';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { SHARD_END, type PartitionState, type SourceBatch } from '../../src/source/source.js';
import { KeyedProducer, lineage, parseKeyed, sleep, updateShardCount } from './kinesis-local-fixtures.js';
import { tryStartKinesisLocal, type KinesisLocalStart } from './kinesis-local-server.js';
import { clientFor, pollUntil, waitFor } from './kinesis-test-helpers.js';

let local: KinesisLocalStart = { skip: 'kinesis-local not started' };
let client: KinesisClient | undefined;

before(async () => {
  local = await tryStartKinesisLocal();
  if (local.server) client = clientFor(local.server.url, 3);
});
after(async () => {
  client?.destroy();
  await local.server?.close();
});

/** The client, or undefined after marking the test skipped. */
function kinesis(t: TestContext): KinesisClient | undefined {
  if (!client) t.skip(local.skip ?? 'kinesis-local not started');
  return client;
}

function source(c: KinesisClient, target: { streamName: string } | { streamArn: string }, discoveryIntervalMs = 1_000): KinesisSource {
  return new KinesisSource({ client: c, ...target, idleDelayMs: 30, minCallIntervalMs: 30, discoveryIntervalMs, backoff: { baseDelayMs: 20, maxDelayMs: 500 } });
}

/** Per key, the counters in the order they were returned. */
function byKey(records: { key: string; n: number }[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of records) {
    const list = out.get(r.key) ?? [];
    list.push(r.n);
    out.set(r.key, list);
  }
  return out;
}

function assertEveryKeyInOrder(records: { key: string; n: number }[], keys: string[], rounds: number): void {
  const got = byKey(records);
  const expected = Array.from({ length: rounds }, (_, i) => i);
  for (const key of keys) assert.deepEqual(got.get(key) ?? [], expected, `${key}: every counter exactly once, in order`);
  assert.equal(records.length, keys.length * rounds);
}

test('ON_DEMAND stream: created, discovered by ARN, every shard read, each record exactly once', async (t) => {
  const c = kinesis(t);
  if (!c) return;
  const stream = 'on-demand-1';
  const created = await ensureStream(c, { streamName: stream, mode: 'ON_DEMAND' });
  assert.equal(created.mode, 'ON_DEMAND');
  assert.ok((created.openShardCount ?? 0) >= 2, `an ON_DEMAND stream starts with several shards (${created.openShardCount})`);
  assert.ok(created.streamArn);
  const shards = await lineage(c, stream);
  assert.equal(shards.length, created.openShardCount);

  const producer = new KeyedProducer(c, stream, 16);
  await producer.writeRounds(8);

  const s = source(c, { streamArn: created.streamArn });
  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    const got = await pollUntil(s, (x) => x.records.length >= producer.total, { timeoutMs: 15_000, maxRecords: 37 });
    assert.equal(s.id, stream, 'the source id is the stream name, also when addressed by ARN');
    assertEveryKeyInOrder(got.records.map((r) => parseKeyed(r.data)), producer.keys, 8);
    const m = s.metrics();
    assert.deepEqual(m.partitions.map((p) => p.partitionId).sort(), shards.map((x) => x.id).sort());
    for (const p of m.partitions) {
      assert.equal(p.state, 'reading', `${p.partitionId} is read`);
      assert.ok(p.recordsRead > 0, `${p.partitionId} held records`);
    }
    assert.equal(m.recordsRead, producer.total);
    assert.ok(got.records.every((r) => r.meta.stream === stream && r.meta.shardId === r.partitionId));
    // Records written after the reader caught up arrive too (the stream stays open).
    await producer.writeRounds(2);
    const more = await pollUntil(s, (x) => x.records.length >= 32, { timeoutMs: 10_000 });
    assert.deepEqual(
      more.records.map((r) => parseKeyed(r.data).n).sort((a, b) => a - b),
      [...Array<number>(16).fill(8), ...Array<number>(16).fill(9)],
    );
    assert.ok(s.metrics().millisBehindLatest !== undefined, 'MillisBehindLatest reported');
  } finally {
    await s.close();
  }
});

/** One thing the consumer saw, in order. */
type Seen =
  | { kind: 'record'; shard: string; key: string; n: number }
  | { kind: 'end'; shard: string }
  | { kind: 'committed-end'; shard: string };

test('UpdateShardCount 2 → 4 → 2 → 1 while producing: per key in order, exactly once, children only after committed parent ends', async (t) => {
  const c = kinesis(t);
  if (!c) return;
  const stream = 'update-shard-count-1';
  await ensureStream(c, { streamName: stream, shardCount: 2 });
  const producer = new KeyedProducer(c, stream, 16);
  const s = source(c, { streamName: stream });

  const seen: Seen[] = [];
  const violations: string[] = [];
  /** Parents whose ended-but-uncommitted state was observed with all their children waiting. */
  const gated = new Set<string>();
  const committedEnds = new Set<string>();
  /** Batches "being committed": markCommitted runs at least COMMIT_MS after the poll (a slow pipeline). */
  const COMMIT_MS = 250;
  const inFlight: { due: number; positions: Map<string, string> }[] = [];
  let producedTotal: number | undefined;
  let records = 0;
  /** Set when the test failed elsewhere: the consumer stops instead of spinning on a closed source. */
  let abandoned = false;

  /**
   * Commits, in order, the batches whose time has come. A batch holding a SHARD_END also waits
   * (up to 5 s) until the parent was seen ended with its children discovered and waiting, so the
   * gate is observed even when re-listing shards is slow on a loaded machine.
   */
  const commitDue = (all: boolean): void => {
    for (;;) {
      const next = inFlight[0];
      if (!next || (!all && next.due > Date.now())) return;
      const ends = [...next.positions].filter(([, pos]) => pos === SHARD_END).map(([shard]) => shard);
      if (!all && next.due + 5_000 > Date.now() && !ends.every((shard) => gated.has(shard))) return;
      const { positions } = inFlight.shift()!;
      s.markCommitted(positions);
      for (const [shard, pos] of positions) {
        if (pos === SHARD_END) {
          committedEnds.add(shard);
          seen.push({ kind: 'committed-end', shard });
        }
      }
    }
  };

  const check = (b: SourceBatch): void => {
    const m = s.metrics();
    const state = new Map<string, PartitionState>(m.partitions.map((p) => [p.partitionId, p.state]));
    const parentsOf = new Map(m.partitions.map((p) => [p.partitionId, p.parents]));
    for (const r of b.records) {
      for (const p of parentsOf.get(r.partitionId) ?? []) {
        if (!committedEnds.has(p)) violations.push(`record of ${r.partitionId} returned before the end of parent ${p} was committed`);
      }
    }
    for (const p of m.partitions) {
      const active = p.state === 'reading' || p.state === 'ended' || p.recordsRead > 0;
      for (const q of p.parents) {
        if (active && state.get(q) !== 'done') violations.push(`${p.partitionId} is ${p.state} (${p.recordsRead} read) while parent ${q} is ${state.get(q)}`);
      }
    }
    for (const p of m.partitions) {
      if (p.state !== 'ended') continue;
      const children = m.partitions.filter((x) => x.parents.includes(p.partitionId));
      if (children.length > 0 && children.every((x) => x.state === 'waiting')) gated.add(p.partitionId);
    }
  };

  const consume = async (): Promise<void> => {
    const deadline = Date.now() + 28_000;
    while (!abandoned && (producedTotal === undefined || records < producedTotal || inFlight.length > 0)) {
      if (Date.now() > deadline) throw new Error(`test: consumer timed out with ${records} of ${producedTotal ?? '?'} records`);
      const b = await s.poll({ maxRecords: 40, maxBytes: 1 << 20, waitMs: 50 });
      check(b);
      for (const r of b.records) {
        const { key, n } = parseKeyed(r.data);
        seen.push({ kind: 'record', shard: r.partitionId, key, n });
      }
      records += b.records.length;
      for (const [shard, pos] of b.positions) if (pos === SHARD_END) seen.push({ kind: 'end', shard });
      if (b.positions.size > 0) inFlight.push({ due: Date.now() + COMMIT_MS, positions: b.positions });
      commitDue(producedTotal !== undefined && records >= producedTotal);
    }
  };

  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    const consumer = consume();
    consumer.catch(() => undefined); // awaited below; no unhandled rejection if a step before fails
    producer.start();
    // Each shard generation gets at least 3 rounds (every key) written after it became ACTIVE.
    const moreRounds = async (): Promise<void> => {
      const from = producer.rounds;
      await sleep(500);
      await waitFor(() => producer.rounds >= from + 3, 15_000, 'the producer writes 3 more rounds');
    };
    for (const target of [4, 2, 1]) {
      await moreRounds();
      await updateShardCount(c, stream, target);
    }
    await moreRounds();
    producedTotal = await producer.stop();
    await consumer;
    const shardsAfter = await lineage(c, stream);

    // The lineage kinesis-local built: 2 roots, 4 children, 2 merged, 1 final.
    assert.equal(shardsAfter.length, 9, JSON.stringify(shardsAfter));
    assert.equal(shardsAfter.filter((x) => !x.closed).length, 1);

    assert.deepEqual(violations.slice(0, 5), []);
    const recs = seen.filter((x): x is Extract<Seen, { kind: 'record' }> => x.kind === 'record');
    assertEveryKeyInOrder(recs, producer.keys, producer.rounds);

    // In poll order: parent's last record < its SHARD_END < that end committed < child's first record.
    const firstIdx = (pred: (x: Seen) => boolean): number => seen.findIndex(pred);
    const lastIdx = (pred: (x: Seen) => boolean): number => {
      for (let i = seen.length - 1; i >= 0; i--) if (pred(seen[i]!)) return i;
      return -1;
    };
    for (const sh of shardsAfter) {
      const first = firstIdx((x) => x.kind === 'record' && x.shard === sh.id);
      assert.ok(first >= 0, `${sh.id} held records (the producer wrote during its life)`);
      for (const p of sh.parents) {
        const lastOfParent = lastIdx((x) => x.kind === 'record' && x.shard === p);
        const end = firstIdx((x) => x.kind === 'end' && x.shard === p);
        const committed = firstIdx((x) => x.kind === 'committed-end' && x.shard === p);
        assert.ok(lastOfParent < end && end < committed && committed < first, `${p} → ${sh.id}: last ${lastOfParent} < end ${end} < committed ${committed} < first child record ${first}`);
      }
    }
    for (const sh of shardsAfter.filter((x) => x.closed)) {
      assert.equal(seen.filter((x) => x.kind === 'end' && x.shard === sh.id).length, 1, `one SHARD_END for ${sh.id}`);
      assert.ok(gated.has(sh.id), `children of ${sh.id} were discovered and seen waiting while its end was uncommitted`);
    }

    // Final metrics: closed shards done at SHARD_END, the last one reading; lineage as listed.
    const m = s.metrics();
    assert.equal(m.partitions.length, 9);
    for (const sh of shardsAfter) {
      const p = m.partitions.find((x) => x.partitionId === sh.id);
      assert.ok(p, `${sh.id} in metrics`);
      assert.deepEqual([...p.parents].sort(), [...sh.parents].sort(), `parents of ${sh.id}`);
      if (sh.closed) {
        assert.equal(p.state, 'done', `${sh.id} done`);
        assert.equal(p.committedPosition, SHARD_END);
      } else {
        assert.equal(p.state, 'reading');
        assert.notEqual(p.committedPosition, undefined);
      }
    }
    assert.equal(m.recordsRead, producedTotal);
  } finally {
    abandoned = true;
    await producer.stop().catch(() => undefined);
    await s.close();
  }
});

test('restart from committed positions in the middle of an UpdateShardCount lineage: nothing lost, nothing twice', async (t) => {
  const c = kinesis(t);
  if (!c) return;
  const stream = 'update-shard-count-2';
  await ensureStream(c, { streamName: stream, shardCount: 2 });
  const producer = new KeyedProducer(c, stream, 16);
  await producer.writeRounds(5);
  await updateShardCount(c, stream, 4);
  await producer.writeRounds(5);
  const children = (await lineage(c, stream)).filter((x) => x.parents.length > 0).map((x) => x.id);
  assert.equal(children.length, 4);

  // First run: reads the roots and part of the children, committing every batch it gets.
  const committed = new Map<string, string>();
  const first = source(c, { streamName: stream });
  let firstRecords: { key: string; n: number }[];
  try {
    await first.start(new Map(), { type: 'TRIM_HORIZON' });
    const got = await pollUntil(first, (x) => x.records.filter((r) => children.includes(r.partitionId)).length >= 20, {
      timeoutMs: 15_000,
      maxRecords: 10,
      onBatch: (b) => {
        first.markCommitted(b.positions);
        for (const [k, v] of b.positions) committed.set(k, v);
      },
    });
    firstRecords = got.records.map((r) => parseKeyed(r.data));
  } finally {
    await first.close();
  }
  const roots = [...committed].filter(([, v]) => v === SHARD_END).map(([k]) => k);
  assert.equal(roots.length, 2, 'both roots committed at SHARD_END');
  assert.ok(firstRecords.length < producer.total, 'the first run stopped part-way');

  // While nothing runs: more records, and a merge back to 2 shards.
  await producer.writeRounds(3);
  await updateShardCount(c, stream, 2);
  await producer.writeRounds(4);

  // Second run from the committed positions (LATEST would skip closed shards it never saw: it
  // must not matter, the table's positions cover the whole lineage so far).
  const second = source(c, { streamName: stream });
  try {
    await second.start(committed, { type: 'LATEST' });
    const rest = producer.total - firstRecords.length;
    const got = await pollUntil(second, (x) => x.records.length >= rest, {
      timeoutMs: 15_000,
      maxRecords: 25,
      onBatch: (b) => second.markCommitted(b.positions),
    });
    assert.ok(got.records.every((r) => !roots.includes(r.partitionId)), 'committed roots are not read again');
    assertEveryKeyInOrder([...firstRecords, ...got.records.map((r) => parseKeyed(r.data))], producer.keys, producer.rounds);
    const m = second.metrics();
    for (const root of roots) assert.equal(m.partitions.find((p) => p.partitionId === root)?.state, 'done');
    const merged = (await lineage(c, stream)).filter((x) => x.parents.length === 2);
    assert.equal(merged.length, 2);
    for (const sh of merged) assert.equal(m.partitions.find((p) => p.partitionId === sh.id)?.state, 'reading', `${sh.id} read after its parents`);
  } finally {
    await second.close();
  }
});
