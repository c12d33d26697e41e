/**
 * Enhanced fan-out (`consumer` option): the real SDK's SubscribeToShard over HTTP/2 against the
 * local event-stream server (`efo-server.ts`, records from kinesalite). Same positions as
 * GetRecords, resume after a restart, renewal when a subscription ends, a split shard's parent
 * read to its end before its children, one registration for two sources, the server's strictness.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ListShardsCommand, SplitShardCommand, SubscribeToShardCommand, DescribeStreamSummaryCommand, RegisterStreamConsumerCommand } from '@aws-sdk/client-kinesis';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { efoClientFromEnv, ensureConsumer } from '../../src/source/kinesis/efo-consumer.js';
import { waitForStreamActive } from '../../src/source/kinesis/admin.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { SHARD_END } from '../../src/source/source.js';
import { clientFor, createStream, dec, enc, pollUntil, startLocal, waitFor, type LocalEnv } from './kinesis-test-helpers.js';
import { eventStreamMessage, startEfoServer, type EfoServer } from './efo-server.js';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../helpers/shared.js';

const ROOT = repoRoot();

let env: LocalEnv;
const servers: EfoServer[] = [];
before(async () => {
  env = await startLocal();
});
after(async () => {
  for (const s of servers) await s.close();
  await env.close();
});

async function server(lifetimeMs = 60_000): Promise<EfoServer> {
  const s = await startEfoServer({ upstream: env.url, lifetimeMs, activationDelayMs: 200, pollIntervalMs: 20, heartbeatMs: 100 });
  servers.push(s);
  return s;
}

const h2 = (url: string) => efoClientFromEnv({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } });

function efoSource(efo: EfoServer, streamName: string, consumer = 'floe-efo'): KinesisSource {
  return new KinesisSource({ client: clientFor(efo.url), streamName, discoveryIntervalMs: 60_000, consumer: { name: consumer, client: h2(efo.url) } });
}

let streamNo = 0;
async function stream(shards = 1): Promise<string> {
  const name = `efo-${++streamNo}`;
  await createStream(env.client, name, shards);
  return name;
}

function put(streamName: string, tag: string, n: number): Promise<unknown> {
  return putRecords(env.client, { streamName }, Array.from({ length: n }, (_, i) => ({ data: enc(`${tag}${i}`), partitionKey: `k${i}` })));
}

test('efo: every record once, with the positions GetRecords gives; a restart resumes after the committed position', async () => {
  const efo = await server();
  const name = await stream(1);
  await put(name, 'a', 30);
  const s1 = efoSource(efo, name);
  await s1.start(new Map(), { type: 'TRIM_HORIZON' });
  const got = await pollUntil(s1, (c) => c.records.length >= 30);
  assert.deepEqual(got.records.map((r) => dec(r.data)), Array.from({ length: 30 }, (_, i) => `a${i}`));
  // The GetRecords reader gives the same positions for the same records.
  const poll = new KinesisSource({ client: env.client, streamName: name, idleDelayMs: 20, minCallIntervalMs: 20 });
  await poll.start(new Map(), { type: 'TRIM_HORIZON' });
  const ref = await pollUntil(poll, (c) => c.records.length >= 30);
  await poll.close();
  assert.deepEqual(got.records.map((r) => r.position), ref.records.map((r) => r.position));
  const mid = got.records[19]!.position;
  s1.markCommitted(new Map([['shardId-000000000000', mid]]));
  await s1.close();
  await waitFor(() => efo.active().length === 0, 5_000, 'closing the source ends its subscription (the stream is reset)');

  await put(name, 'b', 5);
  const s2 = efoSource(efo, name);
  await s2.start(new Map([['shardId-000000000000', mid]]), { type: 'TRIM_HORIZON' });
  const again = await pollUntil(s2, (c) => c.records.length >= 15);
  await s2.close();
  assert.deepEqual(again.records.map((r) => dec(r.data)), [...Array.from({ length: 10 }, (_, i) => `a${20 + i}`), ...Array.from({ length: 5 }, (_, i) => `b${i}`)]);
  assert.deepEqual(efo.stats.starts.at(-1), { shardId: 'shardId-000000000000', type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: mid });
  assert.equal(efo.stats.registrations, 1, 'the second source found the consumer registered');

  // docs/iam: every call of an EFO source is in the writer policy or the EFO consumer policy,
  // and the EFO policy grants nothing the source does not call.
  const actions = async (file: string) =>
    (JSON.parse(await readFile(join(ROOT, 'docs', 'iam', file), 'utf8')) as { Statement: { Action: string | string[] }[] }).Statement.flatMap((st) => (Array.isArray(st.Action) ? st.Action : [st.Action]));
  const efoAllowed = new Set(await actions('floe-efo-consumer-policy.json'));
  const allowed = new Set([...(await actions('floe-writer-policy.json')), ...efoAllowed]);
  const used = new Set([...efo.stats.actions].map((a) => `kinesis:${a}`));
  for (const a of used) assert.ok(allowed.has(a), `${a} is called by an EFO source but not in docs/iam`);
  for (const a of efoAllowed) assert.ok(used.has(a), `${a} is in floe-efo-consumer-policy.json but never called`);
});

test('efo: subscriptions that end mid-stream are renewed from the continuation, nothing lost or repeated', async () => {
  const efo = await server(250);
  const name = await stream(2);
  const src = efoSource(efo, name);
  await src.start(new Map(), { type: 'TRIM_HORIZON' });
  const sent: string[] = [];
  const producing = (async () => {
    for (let round = 0; round < 8; round++) {
      await put(name, `r${round}-`, 20);
      for (let i = 0; i < 20; i++) sent.push(`r${round}-${i}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  const got = await pollUntil(src, (c) => c.records.length >= 160, { timeoutMs: 30_000 });
  await producing;
  await src.close();
  const ids = got.records.map((r) => dec(r.data));
  assert.equal(new Set(ids).size, ids.length, 'no record twice');
  assert.deepEqual([...ids].sort(), [...sent].sort());
  assert.ok(efo.stats.expired >= 2, `subscriptions expired: ${efo.stats.expired}`);
  const renewals = efo.stats.starts.filter((s) => s.type === 'AFTER_SEQUENCE_NUMBER');
  assert.ok(renewals.length >= 2, `renewals from a continuation: ${renewals.length}`);
  // Each shard's records arrive in sequence order.
  for (const shard of ['shardId-000000000000', 'shardId-000000000001']) {
    const seqs = got.records.filter((r) => r.partitionId === shard).map((r) => BigInt(r.position));
    assert.deepEqual(seqs, [...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  }
});

test('efo: a split shard is read to its end (ChildShards), its children only after that end is committed', async () => {
  const efo = await server();
  const name = await stream(1);
  await put(name, 'p', 10);
  const shards = (await env.client.send(new ListShardsCommand({ StreamName: name }))).Shards ?? [];
  const range = shards[0]!.HashKeyRange!;
  const middle = ((BigInt(range.StartingHashKey!) + BigInt(range.EndingHashKey!)) / 2n).toString();
  await env.client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: middle }));
  await waitForStreamActive(env.client, name);
  await put(name, 'c', 10);
  const src = efoSource(efo, name);
  await src.start(new Map(), { type: 'TRIM_HORIZON' });
  let committedEnd = false;
  const got = await pollUntil(src, (c) => c.records.length >= 20, {
    timeoutMs: 20_000,
    onBatch: (b) => {
      if (b.positions.get('shardId-000000000000') === SHARD_END) {
        // Nothing of a child before the parent's end is committed.
        assert.ok(![...b.positions.keys()].some((k) => k !== 'shardId-000000000000'));
        committedEnd = true;
        src.markCommitted(new Map([['shardId-000000000000', SHARD_END]]));
      }
    },
  });
  await src.close();
  assert.ok(committedEnd);
  const ids = got.records.map((r) => dec(r.data));
  assert.deepEqual(ids.slice(0, 10), Array.from({ length: 10 }, (_, i) => `p${i}`));
  assert.deepEqual([...ids.slice(10)].sort(), Array.from({ length: 10 }, (_, i) => `c${i}`).sort());
  assert.ok(got.records.slice(10).every((r) => r.partitionId !== 'shardId-000000000000'));
});

test('efo server: strict like Kinesis (consumer ACTIVE, one subscription per consumer and shard, HTTP/2 only)', async () => {
  const efo = await server();
  const name = await stream(1);
  const c1 = clientFor(efo.url);
  const arn = (await c1.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!.StreamARN!;
  const reg = await c1.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: 'strict' }));
  const client = h2(efo.url);
  const stop = new AbortController();
  const sub = () =>
    client.send(new SubscribeToShardCommand({ ConsumerARN: reg.Consumer!.ConsumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' } }), { abortSignal: stop.signal });
  await assert.rejects(sub(), (e: Error) => e.name === 'ResourceInUseException' && /not ACTIVE/.test(e.message));
  await assert.rejects(c1.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: 'strict' })), { name: 'ResourceInUseException' });
  assert.equal(await ensureConsumer({ client: c1, streamArn: arn, consumerName: 'strict' }), reg.Consumer!.ConsumerARN);
  const first = await sub();
  await assert.rejects(sub(), (e: Error) => e.name === 'ResourceInUseException' && /Another active subscription/.test(e.message));
  // Over HTTP/1.1 the server refuses, as Kinesis does.
  await assert.rejects(
    c1.send(new SubscribeToShardCommand({ ConsumerARN: reg.Consumer!.ConsumerARN, ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' } })),
    (e: Error) => /requires HTTP\/2/.test(e.message),
  );
  const it = first.EventStream![Symbol.asyncIterator]();
  const ev = await it.next();
  assert.ok(!ev.done && ev.value.SubscribeToShardEvent !== undefined);
  assert.equal(efo.active().length, 1);
  stop.abort(); // resets the HTTP/2 stream
  await waitFor(() => efo.active().length === 0, 5_000, 'the subscription ends when the client resets its stream');
  client.destroy();
  c1.destroy();
});

test('efo server: event-stream frames as the spec (the empty-message vector), refused by the SDK\'s decoder when a byte flips', () => {
  // AWS's event-stream test vector "empty_message": lengths 16 and 0, prelude CRC, message CRC.
  assert.equal(eventStreamMessage({}, new Uint8Array(0)).toString('base64'), 'AAAAEAAAAAAFwkjrfZjI/w==');
  const codec = new EventStreamCodec((b: Uint8Array) => Buffer.from(b).toString('utf8'), (t: string) => new Uint8Array(Buffer.from(t, 'utf8')));
  const frame = eventStreamMessage({ ':message-type': 'event', ':event-type': 'SubscribeToShardEvent' }, Buffer.from('{"Records":[]}'));
  const decoded = codec.decode(frame);
  assert.deepEqual(decoded.headers[':event-type'], { type: 'string', value: 'SubscribeToShardEvent' });
  assert.equal(Buffer.from(decoded.body).toString(), '{"Records":[]}');
  const payloadFlip = Buffer.from(frame);
  payloadFlip[payloadFlip.length - 6]! ^= 1;
  assert.throws(() => codec.decode(payloadFlip), /message checksum/);
  const preludeFlip = Buffer.from(frame);
  preludeFlip[7]! ^= 1;
  assert.throws(() => codec.decode(preludeFlip), /checksum/);
});
