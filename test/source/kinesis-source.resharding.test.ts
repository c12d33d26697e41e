/**
 * Resharding against a real kinesalite: after SplitShard and MergeShards, child shards are read
 * only once every parent has been read to its end AND that SHARD_END was committed; restarts in
 * the middle of a lineage; periodic re-discovery.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ListShardsCommand, MergeShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { waitForStreamActive } from '../../src/source/kinesis/admin.js';
import { putRecords, type PutResult } from '../../src/source/kinesis/producer.js';
import { SHARD_END, type SourceRecord } from '../../src/source/source.js';
import { createStream, dec, enc, pollFor, pollUntil, startLocal, waitFor, type LocalEnv } from './kinesis-test-helpers.js';

let env: LocalEnv;
before(async () => {
  env = await startLocal();
});
after(async () => {
  await env.close();
});

let streamNo = 0;
async function newStream(shards: number): Promise<string> {
  const name = `reshard-${++streamNo}`;
  await createStream(env.client, name, shards);
  return name;
}

function source(streamName: string, discoveryIntervalMs = 60_000): KinesisSource {
  return new KinesisSource({ client: env.client, streamName, idleDelayMs: 20, minCallIntervalMs: 20, discoveryIntervalMs });
}

/** Puts `n` records tagged `<tag><i>` with partition keys spread over the whole hash range. */
function put(stream: string, tag: string, n: number): Promise<PutResult[]> {
  return putRecords(
    env.client,
    { streamName: stream },
    Array.from({ length: n }, (_, i) => ({ data: enc(`${tag}${i}`), partitionKey: `key-${i}` })),
  );
}

async function split(stream: string, shardId: string): Promise<void> {
  const shards = (await env.client.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  const s = shards.find((x) => x.ShardId === shardId);
  assert.ok(s?.HashKeyRange);
  const lo = BigInt(s.HashKeyRange.StartingHashKey!);
  const hi = BigInt(s.HashKeyRange.EndingHashKey!);
  await env.client.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: shardId, NewStartingHashKey: ((lo + hi) / 2n).toString() }));
  await waitForStreamActive(env.client, stream);
}

async function shardIds(stream: string): Promise<{ id: string; parents: string[]; closed: boolean }[]> {
  const shards = (await env.client.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  return shards.map((s) => ({
    id: s.ShardId!,
    parents: [s.ParentShardId, s.AdjacentParentShardId].filter((x): x is string => !!x),
    closed: s.SequenceNumberRange?.EndingSequenceNumber != null,
  }));
}

/**
 * A one-shard stream split, then its first child split again (5 shards), with 30 keys written in
 * each generation: `g0-<i>`, `g1-<i>`, `g2-<i>`.
 */
async function splitOfSplit(): Promise<{ stream: string; root: string; firstChild: string; lineage: Awaited<ReturnType<typeof shardIds>> }> {
  const stream = await newStream(1);
  const [root] = (await shardIds(stream)).map((s) => s.id);
  assert.ok(root);
  await put(stream, 'g0-', 30);
  await split(stream, root);
  await put(stream, 'g1-', 30);
  const firstChild = (await shardIds(stream)).find((x) => x.parents.includes(root))!.id;
  await split(stream, firstChild);
  await put(stream, 'g2-', 30);
  return { stream, root, firstChild, lineage: await shardIds(stream) };
}

const texts = (rs: SourceRecord[]): string[] => rs.map((r) => dec(r.data));
const state = (s: KinesisSource, id: string): string | undefined => s.metrics().partitions.find((p) => p.partitionId === id)?.state;

test('split: children wait for the parent SHARD_END to be committed, then read', async () => {
  const stream = await newStream(1);
  const [parent] = (await shardIds(stream)).map((s) => s.id);
  assert.ok(parent);
  await put(stream, 'p', 10);
  const s = source(stream);
  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    const first = await pollUntil(s, (c) => c.records.length >= 10);
    assert.deepEqual(texts(first.records).sort(), Array.from({ length: 10 }, (_, i) => `p${i}`).sort());

    await split(stream, parent);
    await put(stream, 'c', 10);
    const children = (await shardIds(stream)).filter((x) => x.parents.includes(parent)).map((x) => x.id);
    assert.equal(children.length, 2);

    // The parent ends: SHARD_END is handed out (the pipeline must commit it) and the shard end
    // triggers a re-discovery that finds the children, which wait.
    const end = await pollUntil(s, (c) => c.positions.get(parent) === SHARD_END);
    assert.equal(end.records.length, 0, 'no child record before the parent end is committed');
    await waitFor(() => children.every((c) => state(s, c) === 'waiting'), 5000, 'children discovered and waiting');
    assert.equal(state(s, parent), 'ended');
    const idle = await pollFor(s, 400);
    assert.equal(idle.records.length, 0, 'still nothing from the children while the end is uncommitted');

    // Committing a non-final position does not release anything either.
    s.markCommitted(new Map([[parent, first.records.at(-1)!.position]]));
    assert.equal((await pollFor(s, 200)).records.length, 0);

    s.markCommitted(new Map([[parent, SHARD_END]]));
    assert.equal(state(s, parent), 'done');
    const rest = await pollUntil(s, (c) => c.records.length >= 10);
    assert.deepEqual(texts(rest.records).sort(), Array.from({ length: 10 }, (_, i) => `c${i}`).sort());
    assert.ok(rest.records.every((r) => children.includes(r.partitionId)));
  } finally {
    await s.close();
  }
});

test('merge: the child waits until BOTH parents are ended and committed', async () => {
  const stream = await newStream(2);
  const [a, b] = (await shardIds(stream)).map((s) => s.id);
  assert.ok(a && b);
  await put(stream, 'x', 20);
  await env.client.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: a, AdjacentShardToMerge: b }));
  await waitForStreamActive(env.client, stream);
  await put(stream, 'y', 6);
  const merged = (await shardIds(stream)).find((x) => x.parents.length === 2);
  assert.ok(merged);

  const s = source(stream);
  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    const c = await pollUntil(s, (c) => c.positions.get(a) === SHARD_END && c.positions.get(b) === SHARD_END);
    assert.deepEqual(texts(c.records).sort(), Array.from({ length: 20 }, (_, i) => `x${i}`).sort());
    assert.equal(state(s, merged.id), 'waiting');
    assert.deepEqual(s.metrics().partitions.find((p) => p.partitionId === merged.id)?.parents.sort(), [a, b].sort());

    s.markCommitted(new Map([[a, SHARD_END]]));
    assert.equal((await pollFor(s, 400)).records.length, 0, 'one parent committed is not enough');
    assert.equal(state(s, merged.id), 'waiting');

    s.markCommitted(new Map([[b, SHARD_END]]));
    const rest = await pollUntil(s, (c) => c.records.length >= 6);
    assert.deepEqual(texts(rest.records).sort(), Array.from({ length: 6 }, (_, i) => `y${i}`).sort());
  } finally {
    await s.close();
  }
});

test('a pipeline committing every batch reads a split-of-a-split lineage in order, each key exactly once', async () => {
  const { stream, lineage } = await splitOfSplit();
  assert.equal(lineage.length, 5);

  const s = source(stream);
  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    const order: { kind: 'record' | 'end'; shard: string; text?: string }[] = [];
    await pollUntil(s, (c) => c.records.length >= 90, {
      maxRecords: 7,
      onBatch: (b) => {
        for (const r of b.records) order.push({ kind: 'record', shard: r.partitionId, text: dec(r.data) });
        for (const [shard, pos] of b.positions) if (pos === SHARD_END) order.push({ kind: 'end', shard });
        s.markCommitted(b.positions); // the pipeline committed this batch
      },
    });
    const got = order.filter((o) => o.kind === 'record').map((o) => o.text!);
    assert.equal(got.length, 90);
    assert.equal(new Set(got).size, 90, 'no duplicates');
    // Every record of a shard comes after the committed end of each of its parents.
    for (const sh of lineage) {
      const firstRecord = order.findIndex((o) => o.kind === 'record' && o.shard === sh.id);
      for (const p of sh.parents) {
        const parentEnd = order.findIndex((o) => o.kind === 'end' && o.shard === p);
        if (firstRecord >= 0) assert.ok(parentEnd >= 0 && parentEnd < firstRecord, `${sh.id} read before ${p} ended`);
      }
    }
    // Per key, generations come in order: g0 before g1 before g2.
    for (let i = 0; i < 30; i++) {
      const idx = [0, 1, 2].map((g) => got.indexOf(`g${g}-${i}`));
      assert.ok(idx[0]! < idx[1]! && idx[1]! < idx[2]!, `key ${i}: ${idx.join(' < ')}`);
    }
  } finally {
    await s.close();
  }
});

test('restart after the parent was fully read but its end not committed: parent first, then children', async () => {
  const stream = await newStream(1);
  const [parent] = (await shardIds(stream)).map((s) => s.id);
  assert.ok(parent);
  const sent = await put(stream, 'p', 5);
  await split(stream, parent);
  await put(stream, 'c', 5);
  const last = sent.map((x) => x.sequenceNumber).sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1)).at(-1)!;

  const s = source(stream);
  try {
    // The table recorded the parent's last record but crashed before committing SHARD_END.
    await s.start(new Map([[parent, last]]), { type: 'LATEST' });
    const end = await pollUntil(s, (c) => c.positions.get(parent) === SHARD_END);
    assert.equal(end.records.length, 0, 'nothing re-read from the parent, no child read yet');
    assert.equal((await pollFor(s, 400)).records.length, 0, 'children wait for the commit');
    s.markCommitted(end.positions);
    const rest = await pollUntil(s, (c) => c.records.length >= 5);
    // Children start at TRIM_HORIZON even though the default is LATEST: nothing is lost.
    assert.deepEqual(texts(rest.records).sort(), ['c0', 'c1', 'c2', 'c3', 'c4']);
  } finally {
    await s.close();
  }
});

test('LATEST at startup skips closed shards and reads the open children from LATEST', async () => {
  const stream = await newStream(1);
  const [parent] = (await shardIds(stream)).map((s) => s.id);
  await put(stream, 'old', 5);
  await split(stream, parent!);
  await put(stream, 'older', 5);
  const s = source(stream);
  try {
    await s.start(new Map(), { type: 'LATEST' });
    assert.equal(state(s, parent!), 'skipped');
    await pollUntil(s, () => s.metrics().partitions.filter((p) => p.state === 'reading').every((p) => p.fetches > 0));
    await put(stream, 'new', 4);
    const c = await pollUntil(s, (c) => c.records.length >= 4);
    assert.deepEqual(texts(c.records).sort(), ['new0', 'new1', 'new2', 'new3']);
  } finally {
    await s.close();
  }
});

test('shards are re-discovered periodically', async () => {
  const stream = await newStream(1);
  const s = source(stream, 100);
  try {
    await s.start(new Map(), { type: 'LATEST' });
    await waitFor(() => s.metrics().discoveries >= 3, 3000, 'three discoveries');
    // A split found by the periodic listing alone (the reader has not hit the end yet).
    const [parent] = (await shardIds(stream)).map((x) => x.id);
    await split(stream, parent!);
    await waitFor(() => s.metrics().partitions.length === 3, 3000, 'children listed');
  } finally {
    await s.close();
  }
});

test('finished parents leave the checkpoint (retiredPartitions); restarts without them read each key once, in order', async () => {
  const { stream, root, firstChild, lineage } = await splitOfSplit();

  // The table's checkpoint, as the pipeline keeps it: every batch committed with its positions,
  // minus what the source retires; the source restarted from it every third batch.
  let table = new Map<string, string>();
  const got: string[] = [];
  const retiredSeen = new Set<string>();
  let s = source(stream);
  await s.start(table, { type: 'TRIM_HORIZON' });
  try {
    for (let batch = 1; got.length < 90; batch++) {
      assert.ok(batch < 500, `stuck at ${got.length} records`);
      const b = await s.poll({ maxRecords: 7, maxBytes: 1 << 20, waitMs: 50 });
      got.push(...texts(b.records));
      const merged = new Map([...table, ...b.positions]);
      const retired = s.retiredPartitions(merged);
      for (const id of retired) {
        assert.equal(merged.get(id), SHARD_END, `${id} retired before its end`);
        const children = lineage.filter((x) => x.parents.includes(id)).map((x) => x.id);
        assert.ok(children.some((c) => merged.has(c)), `${id} retired while no child has a position`);
        merged.delete(id);
        retiredSeen.add(id);
      }
      table = merged;
      s.markCommitted(b.positions);
      if (batch % 3 === 0) {
        await s.close();
        s = source(stream);
        await s.start(table, { type: 'TRIM_HORIZON' });
      }
    }
    assert.equal(got.length, 90);
    assert.equal(new Set(got).size, 90, 'no key read twice across restarts without the retired positions');
    for (let i = 0; i < 30; i++) {
      const idx = [0, 1, 2].map((g) => got.indexOf(`g${g}-${i}`));
      assert.ok(idx[0]! < idx[1]! && idx[1]! < idx[2]!, `key ${i}: ${idx.join(' < ')}`);
    }
    // Both split parents left the checkpoint; what is left are the open shards.
    assert.deepEqual([...retiredSeen].sort(), [root, firstChild].sort());
    const open = lineage.filter((x) => !x.closed).map((x) => x.id);
    assert.ok([...table.keys()].every((k) => open.includes(k)), `only open shards keep positions: ${[...table.keys()].join(', ')}`);
    // A final restart from that checkpoint finds nothing left to read.
    await s.close();
    s = source(stream);
    await s.start(table, { type: 'TRIM_HORIZON' });
    assert.equal((await pollFor(s, 500)).records.length, 0);
  } finally {
    await s.close();
  }
});
