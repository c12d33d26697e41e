/**
 * The fast local Kinesis endpoint of the benchmarks (`bench/kinesis-fast-endpoint.ts`) against
 * the AWS SDK's own client, as floe calls it: records byte for byte, sequence numbers and
 * iterator positions of every kind, pagination of ListShards, ChildShards at a closed shard's
 * end (and a KinesisSource reading a split stream through it), expired iterators, and the
 * limits mode's throttling. A benchmark is only as good as the endpoint it reads from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  DescribeStreamSummaryCommand,
  type GetRecordsCommandOutput,
  type KinesisClient,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import { cborKinesisClient } from '../../bench/kinesis-cbor-client.js';
import { startFastKinesis, type FastKinesisOptions, type FastRecord } from '../../bench/kinesis-fast-endpoint.js';
import { kinesisClientFromEnv } from '../../src/source/kinesis/client.js';
import { getRecordsCommand } from '../../src/source/kinesis/get-records.js';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { SHARD_END } from '../../src/source/source.js';

const enc = new TextEncoder();

async function withEndpoint(options: FastKinesisOptions, body: (client: KinesisClient, url: string) => Promise<void>): Promise<void> {
  const endpoint = await startFastKinesis(options);
  const client = kinesisClientFromEnv({ endpoint: endpoint.url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  try {
    await body(client, endpoint.url);
  } finally {
    client.destroy();
    await endpoint.close();
  }
}

async function iterator(client: KinesisClient, shardId: string, type: ShardIteratorType, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await client.send(new GetShardIteratorCommand({ StreamName: 's', ShardId: shardId, ShardIteratorType: type, ...extra }));
  assert.ok(res.ShardIterator);
  return res.ShardIterator;
}

const records = (n: number, tag: string): FastRecord[] =>
  Array.from({ length: n }, (_, i) => ({ data: i % 3 === 2 ? new Uint8Array([0, 255, i, 10, 34, 92]) : enc.encode(`{"n":${i},"t":"${tag}"}`), partitionKey: i % 2 ? `clé-${i}-𝄞` : `pk${i}` }));

test('records, sequence numbers and every iterator type, through the SDK client and floe\'s lean parser', async () => {
  const shard0 = records(7, 'a');
  // A fixed clock: MillisBehindLatest is then the same for both calls.
  const clock = 1_767_885_412_000;
  await withEndpoint({ streamName: 's', shards: [{ records: shard0 }, { records: records(3, 'b') }], listShardsPageSize: 1, now: () => clock }, async (client, url) => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    // Pagination: one shard a page; the second page by NextToken alone.
    const p1 = await client.send(new ListShardsCommand({ StreamName: 's' }));
    assert.deepEqual(p1.Shards?.map((s) => s.ShardId), ['shardId-000000000000']);
    assert.ok(p1.NextToken);
    await assert.rejects(client.send(new ListShardsCommand({ StreamName: 's', NextToken: p1.NextToken })), { name: 'InvalidArgumentException' });
    const p2 = await client.send(new ListShardsCommand({ NextToken: p1.NextToken }));
    assert.deepEqual(p2.Shards?.map((s) => s.ShardId), ['shardId-000000000001']);
    assert.equal(p2.NextToken, undefined);
    assert.equal(p2.Shards?.[0]?.HashKeyRange?.EndingHashKey, String((1n << 128n) - 1n));
    const after = await client.send(new ListShardsCommand({ StreamName: 's', ShardFilter: { Type: 'AFTER_SHARD_ID', ShardId: 'shardId-000000000000' } }));
    assert.deepEqual(after.Shards?.map((s) => s.ShardId), ['shardId-000000000001']);
    await assert.rejects(client.send(new ListShardsCommand({ StreamName: 'other' })), { name: 'ResourceNotFoundException' });
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: 's' }));
    assert.equal(summary.StreamDescriptionSummary?.OpenShardCount, 2);

    // TRIM_HORIZON, 3 records a call: the SDK's parser and floe's see the same thing.
    const it = await iterator(client, 'shardId-000000000000', 'TRIM_HORIZON');
    const sdk = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 3 }));
    const lean = await client.send(getRecordsCommand({ ShardIterator: it, Limit: 3 }));
    const { $metadata: _a, NextShardIterator: n1, ...sdkRest } = sdk;
    const { $metadata: _b, NextShardIterator: n2, ...leanRest } = lean;
    assert.deepEqual(leanRest, sdkRest);
    assert.ok(n1 && n2);
    assert.equal(sdk.Records?.length, 3);
    sdk.Records!.forEach((r, i) => {
      assert.deepEqual(Buffer.from(r.Data!), Buffer.from(shard0[i]!.data));
      assert.equal(r.PartitionKey, shard0[i]!.partitionKey);
      assert.match(r.SequenceNumber!, /^\d{56}$/);
      assert.ok(r.ApproximateArrivalTimestamp instanceof Date);
    });
    const seqs = sdk.Records!.map((r) => BigInt(r.SequenceNumber!));
    assert.ok(seqs[0]! < seqs[1]! && seqs[1]! < seqs[2]!);
    assert.ok((sdk.MillisBehindLatest ?? 0) > 0, 'behind while records are left');

    // The rest, then an empty response at the tip of an open shard, still with an iterator.
    const rest = await client.send(new GetRecordsCommand({ ShardIterator: n1 }));
    assert.deepEqual(rest.Records?.map((r) => r.PartitionKey), shard0.slice(3).map((r) => r.partitionKey));
    assert.equal(rest.MillisBehindLatest, 0);
    const tip = await client.send(new GetRecordsCommand({ ShardIterator: rest.NextShardIterator }));
    assert.deepEqual(tip.Records, []);
    assert.ok(tip.NextShardIterator);
    assert.equal(tip.ChildShards, undefined);

    // Positions by sequence number and by time; LATEST is the tip.
    const all = [...sdk.Records!, ...rest.Records!];
    const first = async (type: ShardIteratorType, extra: Record<string, unknown>) =>
      (await client.send(new GetRecordsCommand({ ShardIterator: await iterator(client, 'shardId-000000000000', type, extra), Limit: 1 }))).Records?.[0]?.SequenceNumber;
    assert.equal(await first('AT_SEQUENCE_NUMBER', { StartingSequenceNumber: all[4]!.SequenceNumber }), all[4]!.SequenceNumber);
    assert.equal(await first('AFTER_SEQUENCE_NUMBER', { StartingSequenceNumber: all[4]!.SequenceNumber }), all[5]!.SequenceNumber);
    assert.equal(await first('AFTER_SEQUENCE_NUMBER', { StartingSequenceNumber: all[6]!.SequenceNumber }), undefined);
    assert.equal(await first('AT_TIMESTAMP', { Timestamp: all[2]!.ApproximateArrivalTimestamp }), all[2]!.SequenceNumber);
    assert.equal(await first('LATEST', {}), undefined);
    // A sequence number of another shard is refused, as Kinesis refuses it.
    await assert.rejects(iterator(client, 'shardId-000000000001', 'AT_SEQUENCE_NUMBER', { StartingSequenceNumber: all[0]!.SequenceNumber }), { name: 'InvalidArgumentException' });
    await assert.rejects(iterator(client, 'shardId-000000000009', 'TRIM_HORIZON'), { name: 'ResourceNotFoundException' });
    await assert.rejects(client.send(new GetRecordsCommand({ ShardIterator: 'bm90IGFuIGl0ZXJhdG9y' })), { name: 'InvalidArgumentException' });
  });
});

test('a closed shard ends with ChildShards and no iterator; a KinesisSource reads parent, then children', async () => {
  const half = String((1n << 127n) - 1n);
  const options: FastKinesisOptions = {
    streamName: 's',
    shards: [
      { records: records(4, 'p'), closed: true, hashKeyRange: ['0', String((1n << 128n) - 1n)] },
      { records: records(2, 'c1'), parentShardId: 'shardId-000000000000', hashKeyRange: ['0', half] },
      { records: records(3, 'c2'), parentShardId: 'shardId-000000000000', hashKeyRange: [String(1n << 127n), String((1n << 128n) - 1n)] },
    ],
  };
  await withEndpoint(options, async (client, url) => {
    const listed = await client.send(new ListShardsCommand({ StreamName: 's' }));
    assert.ok(listed.Shards?.[0]?.SequenceNumberRange?.EndingSequenceNumber, 'the parent is closed');
    const open = await client.send(new ListShardsCommand({ StreamName: 's', ShardFilter: { Type: 'AT_LATEST' } }));
    assert.deepEqual(open.Shards?.map((s) => s.ShardId), ['shardId-000000000001', 'shardId-000000000002']);
    const first = await client.send(new GetRecordsCommand({ ShardIterator: await iterator(client, 'shardId-000000000000', 'TRIM_HORIZON') }));
    assert.equal(first.Records?.length, 4);
    const end: GetRecordsCommandOutput = await client.send(getRecordsCommand({ ShardIterator: first.NextShardIterator }));
    assert.deepEqual(end.Records, []);
    assert.equal(end.NextShardIterator, undefined);
    assert.deepEqual(end.ChildShards?.map((c) => [c.ShardId, c.ParentShards, c.HashKeyRange?.EndingHashKey]), [
      ['shardId-000000000001', ['shardId-000000000000'], half],
      ['shardId-000000000002', ['shardId-000000000000'], String((1n << 128n) - 1n)],
    ]);

    // The real reader: the parent to its end, committed, then both children.
    const source = new KinesisSource({ client: kinesisClientFromEnv({ endpoint: url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }), streamName: 's', minCallIntervalMs: 20, idleDelayMs: 20 });
    await source.start(new Map(), { type: 'TRIM_HORIZON' });
    const got: string[] = [];
    const ends = new Set<string>();
    const deadline = Date.now() + 10_000;
    while (got.length < 9 && Date.now() < deadline) {
      const batch = await source.poll({ maxRecords: 100, maxBytes: 1 << 20, waitMs: 200 });
      for (const r of batch.records) got.push(`${r.partitionId}/${new TextDecoder().decode(r.data)}`);
      for (const [shard, pos] of batch.positions) if (pos === SHARD_END) ends.add(shard);
      source.markCommitted(batch.positions);
    }
    await source.close();
    assert.equal(got.length, 9);
    assert.deepEqual([...ends], ['shardId-000000000000']);
    const firstChild = got.findIndex((g) => !g.startsWith('shardId-000000000000/'));
    assert.equal(firstChild, 4, 'every parent record before any child record');
  });
});

test('an iterator older than the TTL is refused with ExpiredIteratorException', async () => {
  let clock = 1_767_885_412_000;
  await withEndpoint({ streamName: 's', shards: [{ records: records(2, 'x') }], iteratorTtlMs: 300_000, now: () => clock }, async (client) => {
    const it = await iterator(client, 'shardId-000000000000', 'TRIM_HORIZON');
    clock += 299_000;
    const ok = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1 }));
    assert.equal(ok.Records?.length, 1);
    clock += 2_000;
    await assert.rejects(client.send(getRecordsCommand({ ShardIterator: it })), { name: 'ExpiredIteratorException' });
    // The iterator the last response handed out is still fresh.
    const next = await client.send(new GetRecordsCommand({ ShardIterator: ok.NextShardIterator }));
    assert.equal(next.Records?.length, 1);
  });
});

test('limits mode: 5 calls a second, the read rate, and the bytes of one call', async () => {
  let clock = 1_767_885_412_000;
  // 100 records of 100 bytes (90 of data, a 10-byte key): 10,000 bytes.
  const big = Array.from({ length: 100 }, (_, i) => ({ data: new Uint8Array(90).fill(65 + (i % 26)), partitionKey: `pk_${String(i).padStart(7, '0')}` }));
  await withEndpoint(
    { streamName: 's', shards: [{ records: big }], limits: { bytesPerSecond: 10_000, maxBytesPerCall: 2_000 }, now: () => clock },
    async (client) => {
      let it = await iterator(client, 'shardId-000000000000', 'TRIM_HORIZON');
      // One call: at most 2,000 bytes (20 records), whatever the Limit.
      const r1 = await client.send(new GetRecordsCommand({ ShardIterator: it }));
      assert.equal(r1.Records?.length, 20);
      it = r1.NextShardIterator!;
      // 2,000 bytes at 10,000 bytes/s: the shard refuses calls for 200 ms.
      clock += 150;
      await assert.rejects(client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1 })), { name: 'ProvisionedThroughputExceededException' });
      clock += 60;
      // Then small calls: the sixth within one second is refused.
      for (let k = 0; k < 4; k++) {
        const r = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1 }));
        assert.equal(r.Records?.length, 1);
        it = r.NextShardIterator!;
        clock += 20;
      }
      await assert.rejects(client.send(getRecordsCommand({ ShardIterator: it, Limit: 1 })), { name: 'ProvisionedThroughputExceededException' });
      clock += 1_000;
      const again = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1 }));
      assert.equal(again.Records?.length, 1);
    },
  );
});

test('limits mode with a write rate: records become readable as they arrive', async () => {
  let clock = 1_767_885_412_000;
  const recs = Array.from({ length: 50 }, (_, i) => ({ data: new Uint8Array(96).fill(1), partitionKey: `k${String(i).padStart(3, '0')}` })); // 100 bytes each
  await withEndpoint({ streamName: 's', shards: [{ records: recs }], limits: true, writeBytesPerSecond: 1_000, now: () => clock }, async (client) => {
    const it = await iterator(client, 'shardId-000000000000', 'TRIM_HORIZON');
    const none = await client.send(new GetRecordsCommand({ ShardIterator: it }));
    assert.deepEqual(none.Records, []);
    clock += 1_000; // 1,000 bytes written: 10 records
    const ten = await client.send(new GetRecordsCommand({ ShardIterator: none.NextShardIterator }));
    assert.equal(ten.Records?.length, 10);
    assert.equal(ten.MillisBehindLatest, 0);
    const latest = await iterator(client, 'shardId-000000000000', 'LATEST');
    clock += 300;
    const fromLatest = await client.send(new GetRecordsCommand({ ShardIterator: latest }));
    assert.equal(fromLatest.Records?.length, 3);
  });
});

test('CBOR (application/x-amz-cbor-1.1): the same records, positions, child shards and errors as JSON', async () => {
  let clock = 1_767_885_412_000;
  const options: FastKinesisOptions = {
    streamName: 's',
    shards: [{ records: records(5, 'p'), closed: true }, { records: records(2, 'c'), parentShardId: 'shardId-000000000000' }],
    now: () => clock,
  };
  await withEndpoint(options, async (json, url) => {
    const cbor = cborKinesisClient({ endpoint: url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    let seen = '';
    cbor.middlewareStack.add((next) => async (args) => {
      const out = await next(args);
      seen = String((out.response as { headers: Record<string, string> }).headers['content-type']);
      return out;
    }, { step: 'deserialize', name: 'peek' });
    try {
      const listed = [await json.send(new ListShardsCommand({ StreamName: 's' })), await cbor.send(new ListShardsCommand({ StreamName: 's' }))].map(({ $metadata: _m, ...r }) => r);
      assert.deepEqual(listed[1], listed[0]);
      assert.equal(seen, 'application/x-amz-cbor-1.1');
      const it = (await cbor.send(new GetShardIteratorCommand({ StreamName: 's', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
      const [a, b] = await Promise.all([json.send(new GetRecordsCommand({ ShardIterator: it, Limit: 4 })), cbor.send(new GetRecordsCommand({ ShardIterator: it, Limit: 4 }))]);
      const { $metadata: _a, ...ja } = a;
      const { $metadata: _b, ...cb } = b;
      // The CBOR codec hands Data out as its own Uint8Array subclass: compare the bytes.
      const bytes = (o: typeof ja) => ({ ...o, Records: o.Records?.map((r) => ({ ...r, Data: Buffer.from(r.Data!) })) });
      assert.deepEqual(bytes(cb), bytes(ja));
      assert.ok(cb.Records?.[0]?.ApproximateArrivalTimestamp instanceof Date);
      const endA = await json.send(new GetRecordsCommand({ ShardIterator: (await json.send(new GetRecordsCommand({ ShardIterator: ja.NextShardIterator }))).NextShardIterator }));
      const endB = await cbor.send(new GetRecordsCommand({ ShardIterator: (await cbor.send(new GetRecordsCommand({ ShardIterator: cb.NextShardIterator }))).NextShardIterator }));
      assert.equal(endB.NextShardIterator, undefined);
      assert.deepEqual(endB.ChildShards, endA.ChildShards);
      assert.equal(endB.ChildShards?.[0]?.ShardId, 'shardId-000000000001');
      clock += 400_000;
      await assert.rejects(cbor.send(new GetRecordsCommand({ ShardIterator: it })), { name: 'ExpiredIteratorException' });
    } finally {
      cbor.destroy();
    }
  });
});
