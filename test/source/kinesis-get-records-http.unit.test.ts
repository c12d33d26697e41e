/**
 * The lean GetRecords path (`get-records-http.ts`) against the SDK's: the same request signed
 * the same way (headers compared at a fixed clock), the same records, and the same errors for
 * every kind of failure (service errors, 5xx, a cut connection, nothing listening, a timeout, an
 * abort), each served by a real HTTP server on 127.0.0.1 to both paths.
 */
import { after, before, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetRecordsCommand, type GetRecordsCommandInput, type KinesisClient } from '@aws-sdk/client-kinesis';
import { classifyKinesisError, isUnreachableError, kinesisClientFromEnv } from '../../src/source/kinesis/client.js';
import { getRecordsCommand, type GetRecordsPageOutput } from '../../src/source/kinesis/get-records.js';
import { getRecordsCaller, resolveGetRecordsTemplate, signGetRecords, getRecordsBody } from '../../src/source/kinesis/get-records-http.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server;
let url = '';
const seen: Seen[] = [];
let handler: Handler = () => {};

before(async () => {
  server = createServer((req, res) => {
    // No Date header: the SDK would correct its clock from it between the two calls compared.
    res.sendDate = false;
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const CREDS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session/token+=' };
const ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/lean';
const BODY = JSON.stringify({
  Records: [
    { SequenceNumber: '49590338271490256608559692538361571095921575989136588898', Data: Buffer.from('{"a":1}').toString('base64'), PartitionKey: 'pk', ApproximateArrivalTimestamp: 1_700_000_000.123 },
    { SequenceNumber: '49590338271490256608559692538361571095921575989136588899', Data: '', PartitionKey: 'ключ' },
  ],
  NextShardIterator: 'next-it',
  MillisBehindLatest: 42,
});

function ok(res: ServerResponse, body = BODY): void {
  res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The lean path's two transports: floe's own HTTP/1.1 client (the default) and Node's (`FLOE_KINESIS_HTTP=node`). */
const TRANSPORTS = [{ name: 'wire', env: {} }, { name: 'node-http', env: { FLOE_KINESIS_HTTP: 'node' } }] as const;
let transportEnv: Record<string, string> = {};

function clientFor(endpoint: string, extra: Parameters<typeof kinesisClientFromEnv>[0] = {}): KinesisClient {
  return kinesisClientFromEnv({ endpoint, region: 'us-east-1', credentials: CREDS, maxAttempts: 1, env: transportEnv, ...extra });
}

/** The SDK's call, without the two headers it adds per attempt (so both sign the same set). */
function sdkCommand(input: GetRecordsCommandInput): GetRecordsCommand {
  const command = new GetRecordsCommand(input);
  type Middleware = Parameters<typeof command.middlewareStack.addRelativeTo>[0];
  const strip = (next: (a: { request: { headers: Record<string, string> } }) => unknown) => (args: { request: { headers: Record<string, string> } }) => {
    delete args.request.headers['amz-sdk-invocation-id'];
    delete args.request.headers['amz-sdk-request'];
    return next(args);
  };
  command.middlewareStack.addRelativeTo(strip as unknown as Middleware, { name: 'testStrip', relation: 'before', toMiddleware: 'httpSigningMiddleware' });
  return command;
}

const SIGNED = ['authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token', 'host', 'content-type', 'content-length', 'x-amz-target', 'x-amz-user-agent', 'user-agent'];

for (const stream of [{ StreamName: 'lean' }, { StreamARN: ARN }] as const) for (const transport of TRANSPORTS) {
  test(`the lean request is the SDK's request, signed alike (${'StreamARN' in stream ? 'by ARN' : 'by name'}, ${transport.name})`, async () => {
    transportEnv = { ...transport.env };
    mock.timers.enable({ apis: ['Date'], now: Date.UTC(2026, 11, 7, 5, 59, 30) });
    const client = clientFor(url);
    try {
      handler = (_req, _body, res) => ok(res);
      seen.length = 0;
      const input = { ShardIterator: 'AAAAAAAAAAH+/it==', Limit: 1234, ...('StreamARN' in stream ? stream : {}) };
      await client.send(sdkCommand(input));
      const out = await getRecordsCaller(client, stream)(input, () => {}, new AbortController().signal);
      assert.equal(out.floePage?.count, 2);
      assert.equal(seen.length, 2);
      const [sdk, lean] = seen as [Seen, Seen];
      assert.equal(lean.headers['amz-sdk-invocation-id'], undefined, 'the second call went the lean way');
      assert.equal(lean.method, sdk.method);
      assert.equal(lean.url, sdk.url);
      assert.equal(lean.body, sdk.body);
      for (const h of SIGNED) assert.equal(lean.headers[h], sdk.headers[h], h);
      assert.match(String(lean.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261207\/us-east-1\/kinesis\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/);
    } finally {
      mock.timers.reset();
      client.destroy();
    }
  });
}

test('on an AWS endpoint (no custom endpoint) the template and the signature are the SDK’s', async () => {
  transportEnv = {};
  for (const stream of [{ StreamName: 'lean' }, { StreamARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/lean' }] as const) {
    const client = kinesisClientFromEnv({ region: 'eu-west-1', credentials: CREDS, maxAttempts: 1, env: {} });
    try {
      const input = { ShardIterator: 'it', Limit: 10, ...('StreamARN' in stream ? stream : {}) };
      // The SDK's signed request, captured after its signature and never sent.
      const command = sdkCommand(input);
      type Middleware = Parameters<typeof command.middlewareStack.addRelativeTo>[0];
      let sdkRequest: { hostname: string; protocol: string; path: string; headers: Record<string, string> } | undefined;
      const capture = () => (args: { request: typeof sdkRequest }) => {
        sdkRequest = args.request;
        throw new Error('captured');
      };
      command.middlewareStack.addRelativeTo(capture as unknown as Middleware, { name: 'testCapture', relation: 'after', toMiddleware: 'httpSigningMiddleware' });
      await assert.rejects(client.send(command), /captured/);
      assert.ok(sdkRequest);
      const template = await resolveGetRecordsTemplate(client, stream);
      assert.ok(template);
      assert.equal(template.hostname, sdkRequest.hostname);
      assert.equal(template.protocol, sdkRequest.protocol);
      const date = new Date(Date.parse(`${sdkRequest.headers['x-amz-date']!.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z')}`));
      const ours = await signGetRecords(template, getRecordsBody(template, input), date);
      for (const h of SIGNED) {
        const key: string | undefined = Object.keys(sdkRequest.headers).find((k) => k.toLowerCase() === h);
        assert.equal(ours[h], key === undefined ? undefined : sdkRequest.headers[key], h);
      }
    } finally {
      client.destroy();
    }
  }
});

/** What a failed call threw, in the fields callers read. */
function shape(e: unknown): Record<string, unknown> {
  const err = e as { name?: unknown; code?: unknown; message?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return {
    name: err.name,
    code: err.code,
    message: err.message,
    fault: err.$fault,
    status: err.$metadata?.httpStatusCode,
    kind: classifyKinesisError(e),
    unreachable: isUnreachableError(e),
  };
}

async function bothFail(client: KinesisClient, signal?: () => AbortSignal): Promise<{ sdk: Record<string, unknown>; lean: Record<string, unknown>; leanSent: boolean }> {
  const input = { ShardIterator: 'it', Limit: 5 };
  const sdkErr = await client.send(getRecordsCommand(input, () => {}, true), { abortSignal: signal?.() ?? new AbortController().signal }).then(
    () => assert.fail('the SDK call succeeded'),
    (e: unknown) => e,
  );
  const before = seen.length;
  const leanErr = await getRecordsCaller(client, { StreamName: 'lean' })(input, () => {}, signal?.() ?? new AbortController().signal).then(
    () => assert.fail('the lean call succeeded'),
    (e: unknown) => e,
  );
  const leanSent = seen.slice(before).some((s) => s.headers['amz-sdk-invocation-id'] === undefined);
  return { sdk: shape(sdkErr), lean: shape(leanErr), leanSent };
}

const SERVICE_ERRORS: [number, string, string][] = [
  [400, 'ProvisionedThroughputExceededException', 'Rate exceeded for shard shardId-000000000000'],
  [400, 'ExpiredIteratorException', 'Iterator expired'],
  [400, 'com.amazonaws.kinesis#ResourceNotFoundException', 'Stream lean not found'],
  [400, 'AccessDeniedException', 'not authorized'],
  [500, 'InternalFailure', 'oops'],
  [503, 'ServiceUnavailable', 'later'],
  [429, 'SomethingNew', 'slow down'],
];

for (const [status, type, message] of SERVICE_ERRORS) for (const transport of TRANSPORTS) {
  test(`a ${status} ${type} is the SDK's error (${transport.name})`, async () => {
    transportEnv = { ...transport.env };
    handler = (_req, _body, res) => {
      const payload = JSON.stringify({ __type: type, message });
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    };
    const client = clientFor(url);
    try {
      const { sdk, lean, leanSent } = await bothFail(client);
      assert.ok(leanSent, 'the lean path sent its own request');
      assert.deepEqual(lean, sdk);
      assert.equal(lean.status, status);
    } finally {
      client.destroy();
    }
  });
}

for (const transport of TRANSPORTS) test(`a 502 with an empty body, and a 200 that is not JSON, are the SDK’s errors (${transport.name})`, async () => {
  transportEnv = { ...transport.env };
  for (const [status, contentType, body] of [
    [502, 'text/plain', ''],
    [200, 'application/x-amz-json-1.1', '{"Records":[{"Data":"not base64!"}]'],
  ] as const) {
    handler = (_req, _b, res) => {
      res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const client = clientFor(url);
    try {
      const { sdk, lean } = await bothFail(client);
      assert.deepEqual(lean, sdk, `${status} ${body}`);
    } finally {
      client.destroy();
    }
  }
});

for (const transport of TRANSPORTS) test(`a connection cut mid-response, nothing listening, a timeout and an abort fail alike (${transport.name})`, async () => {
  transportEnv = { ...transport.env };
  // Cut: the socket is destroyed once the request arrived.
  handler = (req) => req.socket.destroy();
  let client = clientFor(url);
  try {
    const { sdk, lean } = await bothFail(client);
    assert.deepEqual(lean, sdk);
    assert.equal(lean.kind, 'transient');
  } finally {
    client.destroy();
  }
  // Cut after the headers: part of the body, then the socket closed.
  handler = (req, _b, res) => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': 1000 });
    res.write('{"Records":[');
    setTimeout(() => req.socket.destroy(), 20);
  };
  client = clientFor(url);
  try {
    const { sdk, lean } = await bothFail(client);
    assert.equal(lean.kind, sdk.kind);
    assert.equal(lean.kind, 'transient');
  } finally {
    client.destroy();
  }
  // Nothing listening.
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise<void>((r) => closed.close(() => r()));
  client = clientFor(deadUrl);
  try {
    const { sdk, lean } = await bothFail(client);
    assert.deepEqual(lean, sdk);
    assert.equal(lean.unreachable, true);
  } finally {
    client.destroy();
  }
  // No answer within the request timeout.
  handler = () => {};
  client = clientFor(url, { requestTimeoutMs: 150 });
  try {
    const { sdk, lean } = await bothFail(client);
    assert.deepEqual(lean, sdk);
    assert.equal(lean.name, 'TimeoutError');
    assert.equal(lean.kind, 'transient');
  } finally {
    client.destroy();
  }
  // Aborted while waiting.
  client = clientFor(url);
  try {
    const aborting = (): AbortSignal => AbortSignal.timeout(100);
    const { sdk, lean } = await bothFail(client, aborting);
    assert.deepEqual(lean, sdk);
    assert.equal(lean.kind, 'aborted');
  } finally {
    client.destroy();
  }
});

test('a 200 gives the same page, iterator and lag both ways; SDK retries or a foreign client keep the SDK path', async () => {
  transportEnv = {};
  handler = (_req, _body, res) => ok(res);
  const client = clientFor(url);
  try {
    const input = { ShardIterator: 'it', Limit: 7 };
    let sdkBytes = 0;
    let leanBytes = 0;
    const sdk = (await client.send(getRecordsCommand(input, (n) => (sdkBytes = n), true))) as GetRecordsPageOutput;
    const lean = await getRecordsCaller(client, { StreamName: 'lean' })(input, (n) => (leanBytes = n), new AbortController().signal);
    assert.equal(lean.NextShardIterator, sdk.NextShardIterator);
    assert.equal(lean.MillisBehindLatest, sdk.MillisBehindLatest);
    assert.equal(leanBytes, sdkBytes);
    const recs = (o: GetRecordsPageOutput) => Array.from({ length: o.floePage?.count ?? 0 }, (_, k) => o.floePage!.sdkRecord(k));
    assert.equal(lean.floePage?.count, 2);
    assert.deepEqual(recs(lean), recs(sdk));
  } finally {
    client.destroy();
  }
  // maxAttempts 3: the SDK's own retries stay, so does its path.
  const retrying = clientFor(url, { maxAttempts: 3 });
  try {
    assert.equal(await resolveGetRecordsTemplate(retrying, { StreamName: 'lean' }), undefined);
    seen.length = 0;
    await getRecordsCaller(retrying, { StreamName: 'lean' })({ ShardIterator: 'it' }, () => {}, new AbortController().signal);
    assert.ok(seen[0]?.headers['amz-sdk-invocation-id'], 'sent by the SDK');
  } finally {
    retrying.destroy();
  }
});

test('the signing key kept for the day is replaced at the next day and with new credentials', async () => {
  transportEnv = {};
  let creds = { ...CREDS };
  const client = kinesisClientFromEnv({ endpoint: url, region: 'us-east-1', credentials: CREDS, maxAttempts: 1 });
  // A provider whose credentials change (a refresh), the way the SDK's chain refreshes them.
  const refreshing = kinesisClientFromEnv({ endpoint: url, region: 'us-east-1', maxAttempts: 1, env: {} });
  // Credentials about to expire are asked for again at every signature (the SDK's memoization).
  (refreshing.config as unknown as { credentials: unknown }).credentials = async () => ({ ...creds, expiration: new Date(Date.now() + 60_000) });
  try {
    const kept = await resolveGetRecordsTemplate(refreshing, { StreamName: 'lean' });
    assert.ok(kept);
    const input = { ShardIterator: 'it', Limit: 1 };
    const body = getRecordsBody(kept, input);
    const day1 = new Date(Date.UTC(2026, 11, 7, 23, 59, 59));
    const day2 = new Date(Date.UTC(2026, 11, 8, 0, 0, 1));
    const fresh = async (at: Date): Promise<string | undefined> => {
      const t = await resolveGetRecordsTemplate(refreshing, { StreamName: 'lean' });
      return (await signGetRecords(t!, body, at)).authorization;
    };
    const a1 = (await signGetRecords(kept, body, day1)).authorization;
    assert.equal(a1, await fresh(day1));
    assert.equal((await signGetRecords(kept, body, day2)).authorization, await fresh(day2), 'next day');
    creds = { accessKeyId: 'AKIDOTHER', secretAccessKey: 'other-secret', sessionToken: 'other' };
    const a3 = (await signGetRecords(kept, body, day2)).authorization;
    assert.match(String(a3), /Credential=AKIDOTHER\//);
    assert.equal(a3, await fresh(day2), 'new credentials');
    creds = { ...creds, secretAccessKey: 'rotated-secret' };
    assert.equal((await signGetRecords(kept, body, day2)).authorization, await fresh(day2), 'same key id, new secret');
    assert.notEqual((await signGetRecords(kept, body, day2)).authorization, a3);
  } finally {
    client.destroy();
    refreshing.destroy();
  }
});
