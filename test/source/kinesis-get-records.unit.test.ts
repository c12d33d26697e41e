/**
 * The lean GetRecords parser (`get-records.ts`) against the SDK's own deserializer, on the same
 * HTTP responses served by a stub request handler: every record field, the iterator, the lag,
 * child shards, empty and odd bodies, and error responses (which stay the SDK's: the same
 * exception classes and codes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { GetRecordsCommand, KinesisClient, type GetRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { FloeError } from '../../src/errors.js';
import { getRecordsCommand, parseGetRecordsBody } from '../../src/source/kinesis/get-records.js';
import { rng } from '../helpers/rng.js';

/** A client whose every call gets `status` and `body` back. */
function stubClient(status: number, body: string, headers: Record<string, string> = {}): KinesisClient {
  return new KinesisClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    endpoint: 'http://127.0.0.1:9',
    maxAttempts: 1,
    requestHandler: {
      handle: async () => ({
        response: { statusCode: status, reason: '', headers: { 'content-type': 'application/x-amz-json-1.1', ...headers }, body: Readable.from([Buffer.from(body)]) },
      }),
    } as never,
  });
}

const strip = (o: GetRecordsCommandOutput) => {
  const { $metadata: _m, ...rest } = o;
  return rest;
};

async function both(body: string): Promise<{ sdk: unknown; ours: unknown }> {
  const input = { ShardIterator: 'it' };
  const sdk = strip(await stubClient(200, body).send(new GetRecordsCommand(input)));
  const ours = strip(await stubClient(200, body).send(getRecordsCommand(input)));
  return { sdk, ours };
}

test('records, iterator, lag and child shards: the SDK output, field for field', async () => {
  const random = rng(7);
  const records = Array.from({ length: 300 }, (_, i) => {
    const data = Buffer.from(Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256)));
    return {
      Data: data.toString('base64'),
      PartitionKey: ['pk_1', 'clé-é', '𝄞', ''][i % 4],
      SequenceNumber: `4959033827149025660855969253836157109592157598913658${String(i).padStart(4, '0')}`,
      ApproximateArrivalTimestamp: 1_767_885_412.345 + i * 0.001 + (i % 3 === 0 ? 0.0004 : i % 3 === 1 ? 0.0006 : 0),
      ...(i % 5 === 0 ? { EncryptionType: 'KMS' } : {}),
    };
  });
  const body = JSON.stringify({
    Records: records,
    NextShardIterator: 'AAAAAAAAAAH' + 'x'.repeat(200),
    MillisBehindLatest: 1234,
    ChildShards: [{ ShardId: 'shardId-000000000002', ParentShards: ['shardId-000000000000'], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '170141183460469231731687303715884105727' }, Extra: 1 }],
  });
  const { sdk, ours } = await both(body);
  assert.deepStrictEqual(ours, sdk);
  const out = ours as GetRecordsCommandOutput;
  assert.equal(out.Records!.length, 300);
  assert.ok(out.Records![1]!.Data instanceof Uint8Array && !Buffer.isBuffer(out.Records![1]!.Data), 'a plain Uint8Array, as the SDK gives');
});

test('an empty page, a closed shard (no iterator), a body without Records, records missing members', async () => {
  for (const body of [
    JSON.stringify({ Records: [{ Data: 'AAEC', SequenceNumber: '1' }, { PartitionKey: 'k', SequenceNumber: '2' }], NextShardIterator: 'n' }),
    JSON.stringify({ Records: [], NextShardIterator: 'it2', MillisBehindLatest: 0 }),
    JSON.stringify({ Records: [], MillisBehindLatest: 0, ChildShards: [] }),
    JSON.stringify({ NextShardIterator: 'it3' }),
  ]) {
    const { sdk, ours } = await both(body);
    assert.deepStrictEqual(ours, sdk, body);
  }
});

test('a success without a JSON content type is left to the SDK', async () => {
  // Data that is not base64: the SDK refuses it, the lean parser (Node's decoder) would not.
  const body = JSON.stringify({ Records: [{ Data: 'AA!!', PartitionKey: 'k', SequenceNumber: '1' }], NextShardIterator: 'n' });
  const headers = { 'content-type': 'application/octet-stream' };
  const sdkError = await stubClient(200, body, headers).send(new GetRecordsCommand({ ShardIterator: 'it' })).then(() => undefined, (e: Error) => e);
  assert.ok(sdkError, 'the SDK refuses the body');
  await assert.rejects(stubClient(200, body, headers).send(getRecordsCommand({ ShardIterator: 'it' })), (e: unknown) => (e as Error).message === sdkError.message);
});

test('error responses stay the SDK’s: the same exception, the same code', async () => {
  const cases: [number, string][] = [
    [400, JSON.stringify({ __type: 'ProvisionedThroughputExceededException', message: 'Rate exceeded for shard' })],
    [400, JSON.stringify({ __type: 'ExpiredIteratorException', message: 'Iterator expired' })],
    [500, JSON.stringify({ __type: 'InternalFailure', message: 'oops' })],
    [503, ''],
  ];
  for (const [status, body] of cases) {
    const errorOf = async (cmd: GetRecordsCommand) => {
      try {
        await stubClient(status, body).send(cmd);
      } catch (e) {
        return e as Error & { $metadata?: { httpStatusCode?: number } };
      }
      assert.fail(`status ${status}: no error`);
    };
    const sdk = await errorOf(new GetRecordsCommand({ ShardIterator: 'it' }));
    const ours = await errorOf(getRecordsCommand({ ShardIterator: 'it' }));
    assert.equal(ours.name, sdk.name, `status ${status}`);
    assert.equal(ours.constructor, sdk.constructor, `status ${status}`);
    assert.equal(ours.$metadata?.httpStatusCode, status);
  }
});

test('parseGetRecordsBody: a body that is not a GetRecords response is a clear error', () => {
  const enc = new TextEncoder();
  for (const [body, message] of [
    ['not json', /kinesis: GetRecords response is not JSON/],
    ['{"Records":{}}', /without a Records list/],
    ['{"Records":[{"Data":7}]}', /record 0: Data is not a string/],
    ['{"Records":[5]}', /record 0 is not an object/],
  ] as const) {
    assert.throws(() => parseGetRecordsBody(enc.encode(body)), (e: unknown) => e instanceof FloeError && message.test(e.message), body);
  }
});
