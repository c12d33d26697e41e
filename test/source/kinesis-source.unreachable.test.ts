/**
 * An endpoint where nothing listens fails the source within seconds, naming the endpoint (it used
 * to retry ListShards for 23–37 s in silence), while the hiccups of an endpoint that does answer
 * (a connection reset mid-request, 5xx, throttling) are still retried, a server that starts a
 * moment late is still reached, and once reached, refused connections mid-run do not fail it.
 *
 * The endpoint is a tiny Kinesis stand-in on 127.0.0.1 answering ListShards with no shards; a
 * closed port is one that was bound and closed again.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { FloeError } from '../../src/errors.js';
import { isUnreachableError, UNREACHABLE_GRACE_MS } from '../../src/source/kinesis/client.js';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { clientFor } from './kinesis-test-helpers.js';

/** What the stand-in does with the n-th request (from 1). */
type Behaviour = (n: number) => 'ok' | 'reset' | '500' | 'throttle';

interface StandIn {
  server: Server;
  port: number;
  url: string;
  requests: number;
  close(): Promise<void>;
}

function handler(stand: { requests: number }, behaviour: Behaviour) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = ++stand.requests;
      const what = behaviour(n);
      const send = (status: number, body: unknown) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      if (what === 'reset') {
        req.socket.destroy(); // the request arrived; the connection dies before any answer
      } else if (what === '500') {
        send(500, { __type: 'InternalFailure', message: 'boom' });
      } else if (what === 'throttle') {
        send(400, { __type: 'LimitExceededException', message: 'slow down' });
      } else {
        const target = String(req.headers['x-amz-target'] ?? '');
        send(200, target.endsWith('.PutRecords') ? { FailedRecordCount: 0, Records: [{ SequenceNumber: '1', ShardId: 'shardId-000000000000' }] } : { Shards: [] });
      }
    });
  };
}

async function standIn(behaviour: Behaviour, port = 0): Promise<StandIn> {
  const stand = { requests: 0 } as StandIn;
  const server = createServer(handler(stand, behaviour));
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  stand.server = server;
  stand.port = (server.address() as AddressInfo).port;
  stand.url = `http://127.0.0.1:${stand.port}`;
  stand.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return stand;
}

/** A port on 127.0.0.1 where nothing listens: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = await standIn(() => 'ok');
  await s.close();
  return s.port;
}

function source(
  url: string,
  extra: { discoveryIntervalMs?: number; backoff?: { baseDelayMs: number; maxDelayMs: number }; log?: (level: string, message: string) => void } = {},
): KinesisSource {
  return new KinesisSource({ client: clientFor(url), streamName: 'events', backoff: { baseDelayMs: 50, maxDelayMs: 400 }, ...extra });
}

// The tests mostly wait on timers (the grace period): run them side by side.
describe('unreachable Kinesis endpoints', { concurrency: true }, () => {
  test('a closed port fails start() within seconds with the endpoint and what to do in the message', async () => {
    const port = await closedPort();
    const s = source(`http://127.0.0.1:${port}`);
    const t0 = Date.now();
    const err = await s.start(new Map(), { type: 'TRIM_HORIZON' }).then(
      () => assert.fail('start succeeded against a closed port'),
      (e: unknown) => e,
    );
    const elapsed = Date.now() - t0;
    await s.close();
    assert.ok(err instanceof FloeError, String(err));
    assert.equal(err.code, 'SOURCE_READ_FAILED');
    assert.equal(err.retriable, true);
    assert.ok(isUnreachableError(err.cause), 'the cause is the refused connection');
    assert.match(err.message, new RegExp(`^kinesis: ListShards on stream events: cannot connect to http://127\\.0\\.0\\.1:${port} \\(`));
    assert.match(err.message, /ECONNREFUSED/);
    assert.match(err.message, /`floe local`/);
    assert.match(err.message, /AWS_ENDPOINT_URL_KINESIS/);
    // The grace period, then one last attempt: not the 23–37 s of before.
    assert.ok(elapsed >= UNREACHABLE_GRACE_MS - 50, `gave up after ${elapsed} ms, before the grace period`);
    assert.ok(elapsed < UNREACHABLE_GRACE_MS + 3_000, `gave up only after ${elapsed} ms`);
  });

  test('a host name that does not resolve fails the same way', async () => {
    const s = source('http://floe-no-such-host.invalid:4567');
    const err = await s.start(new Map(), { type: 'TRIM_HORIZON' }).then(
      () => assert.fail('start succeeded'),
      (e: unknown) => e,
    );
    await s.close();
    assert.ok(err instanceof FloeError);
    assert.match(err.message, /cannot connect to http:\/\/floe-no-such-host\.invalid:4567 .*(ENOTFOUND|EAI_AGAIN)/);
  });

  test('resets mid-request, 500s and throttling are retried past the grace period, then start() succeeds', async () => {
    let first = 0;
    // Six failures, each followed by a delay of 500–1000 ms: longer than the grace period given to
    // refused connections, within the 8 failures ListShards rides out.
    const stand = await standIn((n) => {
      first ||= Date.now();
      if (n <= 6) return n % 3 === 1 ? 'reset' : n % 3 === 2 ? '500' : 'throttle';
      return 'ok';
    });
    const s = source(stand.url, { backoff: { baseDelayMs: 1_000, maxDelayMs: 1_000 } });
    try {
      await s.start(new Map(), { type: 'TRIM_HORIZON' });
      assert.equal(stand.requests, 7);
      assert.ok(Date.now() - first >= UNREACHABLE_GRACE_MS, `failed for ${Date.now() - first} ms only`);
    } finally {
      await s.close();
      await stand.close();
    }
  });

  test('a server that starts listening a moment after the first attempt is reached', async () => {
    const port = await closedPort();
    const s = source(`http://127.0.0.1:${port}`);
    let stand: StandIn | undefined;
    const late = new Promise<void>((resolve) =>
      setTimeout(() => {
        void standIn(() => 'ok', port).then((st) => {
          stand = st;
          resolve();
        });
      }, 1_000),
    );
    try {
      await s.start(new Map(), { type: 'TRIM_HORIZON' });
      await late;
      assert.ok(stand !== undefined && stand.requests >= 1);
    } finally {
      await s.close();
      await late;
      await stand?.close();
    }
  });

  test('once the endpoint has answered, refused connections mid-run are retried, not fatal', async () => {
    const stand = await standIn(() => 'ok');
    const warnings: string[] = [];
    const s = source(stand.url, { discoveryIntervalMs: 100, log: (level, message) => level === 'warn' && warnings.push(message) });
    try {
      await s.start(new Map(), { type: 'TRIM_HORIZON' });
      await stand.close(); // the endpoint goes away mid-run (a restart)
      const until = Date.now() + UNREACHABLE_GRACE_MS + 1_000;
      while (Date.now() < until) await s.poll({ maxRecords: 10, maxBytes: 1 << 20, waitMs: 200 }); // throws if the source failed
      assert.ok(
        warnings.some((w) => /shard discovery failed, retrying later/.test(w)),
        `warnings: ${warnings.join(' | ')}`,
      );
    } finally {
      await s.close();
    }
  });

  test('putRecords: a closed port fails within seconds naming the endpoint; a reset then ok succeeds', async () => {
    const port = await closedPort();
    const client = clientFor(`http://127.0.0.1:${port}`);
    const t0 = Date.now();
    const data = new TextEncoder().encode('{"a":1}');
    await assert.rejects(putRecords(client, { streamName: 'events' }, [{ data, partitionKey: 'k' }]), (e: unknown) => {
      assert.ok(e instanceof FloeError);
      assert.equal(e.code, 'KINESIS_PUT_FAILED');
      assert.match(e.message, new RegExp(`^kinesis: PutRecords to events: cannot connect to http://127\\.0\\.0\\.1:${port} .*\`floe local\``));
      return true;
    });
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < UNREACHABLE_GRACE_MS + 3_000, `gave up only after ${elapsed} ms`);

    const stand = await standIn((n) => (n <= 2 ? 'reset' : 'ok'));
    try {
      const out = await putRecords(clientFor(stand.url), { streamName: 'events', backoff: { baseDelayMs: 20, maxDelayMs: 40 } }, [{ data, partitionKey: 'k' }]);
      assert.deepEqual(out, [{ shardId: 'shardId-000000000000', sequenceNumber: '1' }]);
      assert.equal(stand.requests, 3);
    } finally {
      await stand.close();
    }
  });
});
