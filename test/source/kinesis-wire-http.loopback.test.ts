/**
 * floe's own HTTP/1.1 client of GetRecords (`wire-http.ts`) against raw servers on 127.0.0.1
 * that write responses byte by byte as a test wants them: Content-Length and chunked bodies, a
 * response split at every byte boundary, keep-alive reuse (and when not to reuse), a connection
 * closed mid-body, malformed and oversized responses refused, HTTPS with a self-signed CA, and
 * pages that keep nothing of a connection's reused buffer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FloeError } from '../../src/errors.js';
import { agentProbe } from '../../src/source/kinesis/read-stats.js';
import { classifyKinesisError, kinesisClientFromEnv } from '../../src/source/kinesis/client.js';
import { getRecordsCaller, leanTransportOf, registerLeanTransport } from '../../src/source/kinesis/get-records-http.js';
import { getRecordsCommand, type GetRecordsPageOutput } from '../../src/source/kinesis/get-records.js';
import { WIRE_MAX_BODY, WirePool, type WireEndpoint, type WireResponse } from '../../src/source/kinesis/wire-http.js';
import { makeTestCertificates, SKIP_NO_OPENSSL } from './kafka-tls-certs.js';

/** A request as the raw server saw it. */
interface RawRequest {
  head: string;
  body: string;
  /** Which connection (0, 1, …) and which request on it. */
  conn: number;
  nth: number;
}

type Respond = (socket: Socket, req: RawRequest) => void | Promise<void>;

/** A raw HTTP/1.1 server: reads requests (Content-Length bodies) and lets `respond` write bytes. */
function rawServer(respondRef: { fn: Respond }, secure?: { key: string; cert: string }): { server: Server | TlsServer; seen: RawRequest[]; servernames: (string | false)[] } {
  const seen: RawRequest[] = [];
  const servernames: (string | false)[] = [];
  let conns = 0;
  const onSocket = (socket: Socket): void => {
    const conn = conns++;
    let nth = 0;
    let pending = Buffer.alloc(0);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    if ('servername' in socket) servernames.push((socket as Socket & { servername: string | false }).servername);
    socket.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.toString('latin1', 0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const req = { head, body: pending.toString('utf8', end + 4, end + 4 + length), conn, nth: nth++ };
        pending = pending.subarray(end + 4 + length);
        seen.push(req);
        void respondRef.fn(socket, req);
      }
    });
  };
  const server = secure ? createTlsServer({ key: secure.key, cert: secure.cert }, onSocket) : createServer(onSocket);
  return { server, seen, servernames };
}

async function listen(server: Server | TlsServer): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const respond: { fn: Respond } = { fn: () => {} };
const plain = rawServer(respond);
let port = 0;
let endpoint: WireEndpoint;

before(async () => {
  port = await listen(plain.server);
  endpoint = { protocol: 'http:', host: '127.0.0.1', port };
});
after(async () => {
  await new Promise<void>((r) => plain.server.close(() => r()));
});

function pool(extra: Partial<ConstructorParameters<typeof WirePool>[0]> = {}): WirePool {
  return new WirePool({ maxSockets: 4, connectionTimeoutMs: 2000, requestTimeoutMs: 5000, ...extra });
}

const HEAD = `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n`;

async function call(p: WirePool, signal = new AbortController().signal): Promise<{ status: number; headers: Record<string, string>; body: string; reason: string }> {
  const r: WireResponse = await p.request(endpoint, HEAD, Buffer.from('{}'), signal);
  try {
    return { status: r.statusCode, headers: r.headers, body: Buffer.from(r.body).toString('utf8'), reason: r.reason };
  } finally {
    r.release();
  }
}

async function failure(p: WirePool, e = endpoint): Promise<Error & { code?: string }> {
  return p.request(e, HEAD, Buffer.from('{}'), new AbortController().signal).then(
    (r) => {
      r.release();
      return assert.fail('the call succeeded');
    },
    (err: Error & { code?: string }) => err,
  );
}

const JSON_BODY = '{"Records":[],"NextShardIterator":"next ✓","MillisBehindLatest":0}';
const CL_RESPONSE = `HTTP/1.1 200 OK\r\nx-amzn-RequestId: req-1\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: ${Buffer.byteLength(JSON_BODY)}\r\n\r\n${JSON_BODY}`;
/** The same body in three chunks, a chunk extension and a trailer. */
const CHUNKED_RESPONSE =
  'HTTP/1.1 200 OK\r\nx-amzn-RequestId: req-2\r\nContent-Type: application/x-amz-json-1.1\r\nTransfer-Encoding: chunked\r\n\r\n' +
  `c\r\n${JSON_BODY.slice(0, 12)}\r\n` +
  `${(Buffer.byteLength(JSON_BODY) - 12 - 5).toString(16)};ext=1\r\n${Buffer.from(JSON_BODY).subarray(12, -5).toString('utf8')}\r\n` +
  `5\r\n${JSON_BODY.slice(-5)}\r\n` +
  '0\r\nX-Trailer: yes\r\n\r\n';

test('Content-Length and chunked bodies are read exactly, headers as Node gives them', async () => {
  const p = pool();
  try {
    respond.fn = (s) => void s.write(CL_RESPONSE);
    const a = await call(p);
    assert.equal(a.status, 200);
    assert.equal(a.reason, 'OK');
    assert.equal(a.body, JSON_BODY);
    assert.equal(a.headers['x-amzn-requestid'], 'req-1');
    assert.equal(a.headers['content-type'], 'application/x-amz-json-1.1');
    respond.fn = (s) => void s.write(CHUNKED_RESPONSE);
    const b = await call(p);
    assert.equal(b.body, JSON_BODY);
    assert.equal(b.headers['x-amzn-requestid'], 'req-2');
    // Repeated headers: joined (Node's rule), the first Content-Type kept.
    respond.fn = (s) => void s.write('HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nContent-Type: a/json\r\nContent-Type: b\r\nContent-Length: 0\r\n\r\n');
    const c = await call(p);
    assert.equal(c.headers['x-a'], '1, 2');
    assert.equal(c.headers['content-type'], 'a/json');
    assert.equal(c.body, '');
  } finally {
    p.destroy();
  }
});

/** Writes `bytes` in the given pieces, each in its own TCP segment (Nagle off, a pause between). */
async function writePieces(s: Socket, bytes: Buffer, cuts: number[]): Promise<void> {
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > at) s.write(bytes.subarray(at, cut));
    at = cut;
    await new Promise((r) => setTimeout(r, 1));
  }
}

test('a response split at every byte boundary, and one dribbled byte by byte, reads the same', async () => {
  const p = pool();
  try {
    for (const response of [CL_RESPONSE, CHUNKED_RESPONSE]) {
      const bytes = Buffer.from(response, 'utf8');
      for (let k = 1; k < bytes.length; k++) {
        respond.fn = (s) => writePieces(s, bytes, [k]);
        const r = await call(p);
        assert.equal(r.body, JSON_BODY, `split at ${k}`);
        assert.equal(r.status, 200);
      }
      respond.fn = (s) => writePieces(s, bytes, Array.from({ length: bytes.length }, (_, i) => i));
      assert.equal((await call(p)).body, JSON_BODY, 'byte by byte');
    }
    // Every one of those calls went over the one connection.
    assert.equal(p.counts().sockets, 1);
  } finally {
    p.destroy();
  }
});

test('keep-alive: a connection is reused only after a response read to its exact end', async () => {
  const p = pool();
  try {
    plain.seen.length = 0;
    respond.fn = (s) => void s.write(CL_RESPONSE);
    for (let i = 0; i < 5; i++) await call(p);
    assert.deepEqual(plain.seen.map((r) => [r.nth]), [[0], [1], [2], [3], [4]]);
    const first = plain.seen[0]!.conn;
    assert.ok(plain.seen.every((r) => r.conn === first), 'one connection');
    // `Connection: close`, HTTP/1.0, a body to the connection's end, bytes past the response:
    // each answer is read, and the next call opens a new connection.
    const notReused = [
      `HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}`,
      `HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}`,
      `HTTP/1.1 200 OK\r\n\r\n{}`,
      `HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}EXTRA`,
    ];
    for (const text of notReused) {
      plain.seen.length = 0;
      respond.fn = (s) => {
        s.write(text);
        if (!/Content-Length/.test(text)) s.end(); // the body's end is the connection's
      };
      const r = await call(p).catch((e: Error) => assert.fail(`${JSON.stringify(text)}: ${e.message}`));
      assert.equal(r.body, '{}', text);
      respond.fn = (s) => void s.write(CL_RESPONSE);
      await call(p).catch((e: Error) => assert.fail(`after ${JSON.stringify(text)}: ${e.message}`));
      assert.equal(plain.seen.length, 2);
      assert.notEqual(plain.seen[1]!.conn, plain.seen[0]!.conn, `a new connection after ${JSON.stringify(text)}`);
    }
    // Bytes on an idle connection: it is closed, the next call opens another.
    plain.seen.length = 0;
    let idleSocket: Socket | undefined;
    respond.fn = (s) => {
      idleSocket = s;
      s.write(CL_RESPONSE);
    };
    await call(p);
    idleSocket!.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50));
    await call(p);
    assert.notEqual(plain.seen[1]!.conn, plain.seen[0]!.conn);
  } finally {
    p.destroy();
  }
});

test('a connection closed mid-body or before the head: a retriable error, no partial response', async () => {
  const p = pool();
  try {
    respond.fn = (s) => {
      s.write(CL_RESPONSE.slice(0, CL_RESPONSE.length - 10));
      setTimeout(() => s.destroy(), 10);
    };
    const mid = await failure(p);
    assert.equal(mid.code, 'ECONNRESET');
    assert.equal(classifyKinesisError(mid), 'transient');
    respond.fn = (s) => {
      s.write(CHUNKED_RESPONSE.slice(0, 150));
      setTimeout(() => s.end(), 10);
    };
    assert.equal(classifyKinesisError(await failure(p)), 'transient');
    respond.fn = (s) => void s.end();
    const early = await failure(p);
    assert.equal(early.message, 'socket hang up');
    assert.equal(early.name, 'TimeoutError');
    assert.equal(classifyKinesisError(early), 'transient');
    // The pool goes on with a new connection.
    respond.fn = (s) => void s.write(CL_RESPONSE);
    assert.equal((await call(p)).body, JSON_BODY);
    // A timeout and an abort, as the SDK's handler says them.
    respond.fn = () => {};
    const slow = pool({ requestTimeoutMs: 100 });
    try {
      const t = await failure(slow);
      assert.equal(t.name, 'TimeoutError');
      assert.equal(t.code, 'ETIMEDOUT');
    } finally {
      slow.destroy();
    }
    const aborted = await p.request(endpoint, HEAD, Buffer.from('{}'), AbortSignal.timeout(50)).then(
      () => assert.fail('the call succeeded'),
      (e: Error) => e,
    );
    assert.equal(aborted.name, 'AbortError');
  } finally {
    p.destroy();
  }
});

test('malformed and oversized responses are refused (SOURCE_READ_FAILED, nothing read)', async () => {
  const cases: [string, RegExp][] = [
    ['HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n', /malformed status line/],
    ['HTTP/2 200\r\nContent-Length: 0\r\n\r\n', /malformed status line/],
    ['HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n', /malformed header line/],
    ['HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n', /malformed header line/],
    ['HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 0\r\n\r\n', /control character/],
    ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}', /conflicting Content-Length/],
    ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /malformed Content-Length/],
    ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n', /both Transfer-Encoding and Content-Length/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', /unsupported Transfer-Encoding/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /malformed chunk size/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n', /chunk data not followed by CRLF/],
    [`HTTP/1.1 200 OK\r\nContent-Length: ${WIRE_MAX_BODY + 1}\r\n\r\n`, /declared length 33554433 over the 33554432-byte limit/],
    [`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${(WIRE_MAX_BODY + 1).toString(16)}\r\n`, /chunk of 33554433 bytes over/],
    [`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`, /head larger than 65536 bytes/],
  ];
  const p = pool();
  try {
    for (const [text, message] of cases) {
      respond.fn = (s) => void s.write(text);
      const e = await failure(p);
      assert.ok(e instanceof FloeError, `${JSON.stringify(text.slice(0, 60))}: ${e.message}`);
      assert.equal(e.code, 'SOURCE_READ_FAILED');
      assert.match(e.message, message);
      assert.equal(classifyKinesisError(e), 'fatal');
    }
    // Each of those closed its connection: none is left open, and a good answer is still read.
    assert.equal(p.counts().sockets, 0);
    respond.fn = (s) => void s.write(CL_RESPONSE);
    assert.equal((await call(p)).body, JSON_BODY);
  } finally {
    p.destroy();
  }
});

// ——— GetRecords through the wire client ———

const CREDS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const record = (seq: string, data: string, key: string) => ({ SequenceNumber: seq, Data: Buffer.from(data).toString('base64'), PartitionKey: key, ApproximateArrivalTimestamp: 1_700_000_000.5 });

function jsonResponse(body: string, chunked = false, status = '200 OK'): string {
  const h = `HTTP/1.1 ${status}\r\nx-amzn-RequestId: rid\r\nContent-Type: application/x-amz-json-1.1\r\n`;
  if (!chunked) return `${h}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const half = Math.floor(body.length / 2);
  const chunk = (t: string) => `${Buffer.byteLength(t).toString(16)}\r\n${t}\r\n`;
  return `${h}Transfer-Encoding: chunked\r\n\r\n${chunk(body.slice(0, half))}${chunk(body.slice(half))}0\r\n\r\n`;
}

test('pages keep nothing of the reused buffer: a page read before the next call is intact after it', async () => {
  const client = kinesisClientFromEnv({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: CREDS, maxAttempts: 1 });
  try {
    const get = getRecordsCaller(client, { StreamName: 's' });
    const bodies = [0, 1, 2].map((i) =>
      JSON.stringify({ Records: Array.from({ length: 50 }, (_, k) => record(String(1000 * i + k), `{"call":${i},"k":${k},"pad":"${'x'.repeat(200)}"}`, `key-${i}-${k}`)), NextShardIterator: `it-${i}`, MillisBehindLatest: i }),
    );
    plain.seen.length = 0;
    const pages: GetRecordsPageOutput[] = [];
    for (let i = 0; i < 3; i++) {
      respond.fn = (s) => void s.write(jsonResponse(bodies[i]!, i === 1));
      pages.push(await get({ ShardIterator: `it-${i - 1}` }, () => {}, new AbortController().signal));
    }
    assert.ok(plain.seen.every((r) => r.conn === plain.seen[0]!.conn), 'one connection, one buffer');
    for (let i = 0; i < 3; i++) {
      const page = pages[i]!.floePage!;
      assert.equal(page.count, 50);
      assert.equal(pages[i]!.NextShardIterator, `it-${i}`);
      assert.equal(pages[i]!.$metadata.requestId, 'rid');
      for (let k = 0; k < 50; k++) {
        const r = page.sdkRecord(k);
        assert.equal(Buffer.from(r.Data!).toString(), `{"call":${i},"k":${k},"pad":"${'x'.repeat(200)}"}`);
        assert.equal(r.PartitionKey, `key-${i}-${k}`);
        assert.equal(r.SequenceNumber, String(1000 * i + k));
      }
    }
  } finally {
    client.destroy();
  }
});

test('a large response then small ones: the buffer grows, is cut back, and every body is exact', async () => {
  const p = pool();
  try {
    plain.seen.length = 0;
    const sizes = [3_000_000, 100, 200_000, 10, 5_000_000, 50];
    for (const [i, size] of sizes.entries()) {
      const body = `${i}:${String.fromCharCode(97 + i).repeat(size)}`;
      respond.fn = (s) => void s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      const r = await call(p);
      assert.equal(r.body.length, body.length, `response ${i}`);
      assert.ok(r.body === body, `response ${i} exact`);
    }
    assert.ok(plain.seen.every((r) => r.conn === plain.seen[0]!.conn), 'one connection');
  } finally {
    p.destroy();
  }
});

test('concurrent calls on many connections share the buffers: every body exact, each its own', async () => {
  const p = pool({ maxSockets: 8 });
  try {
    let next = 0;
    respond.fn = (s, req) => {
      // Sizes and delays differ, so responses finish and buffers change hands in every order.
      const id = Number(/"id":(\d+)/.exec(req.body)?.[1] ?? -1);
      const body = `${id}:${String.fromCharCode(97 + (id % 26)).repeat(70_000 + ((id * 7919) % 50_000))}`;
      const bytes = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      setTimeout(() => void writePieces(s, bytes, [Math.floor(bytes.length / 3), Math.floor((2 * bytes.length) / 3)]), (id * 13) % 7);
    };
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          const id = next++;
          const r = await p.request(endpoint, HEAD.replace('Content-Length: 2', `Content-Length: ${`{"id":${id}}`.length}`), Buffer.from(`{"id":${id}}`), new AbortController().signal);
          try {
            const text = Buffer.from(r.body).toString('latin1');
            const expected = `${id}:${String.fromCharCode(97 + (id % 26)).repeat(70_000 + ((id * 7919) % 50_000))}`;
            assert.ok(text === expected, `call ${id}: ${text.slice(0, 20)}… (${text.length} bytes, expected ${expected.length})`);
            await new Promise((res) => setTimeout(res, id % 3)); // held across other calls' reads
            assert.ok(Buffer.from(r.body).toString('latin1') === expected, `call ${id} intact while held`);
          } finally {
            r.release();
          }
        }),
      );
    }
    assert.ok(p.counts().sockets <= 8);
  } finally {
    p.destroy();
  }
});

test('chunked error bodies are the SDK’s errors; a 200 split anywhere is the SDK’s page', async () => {
  const client = kinesisClientFromEnv({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: CREDS, maxAttempts: 1 });
  try {
    const input = { ShardIterator: 'it', Limit: 5 };
    for (const [status, type] of [
      ['400 Bad Request', 'ProvisionedThroughputExceededException'],
      ['400 Bad Request', 'ExpiredIteratorException'],
      ['500 Internal Server Error', 'InternalFailure'],
    ] as const) {
      respond.fn = (s) => void s.write(jsonResponse(JSON.stringify({ __type: type, message: `m ${type}` }), true, status));
      const sdk = await client.send(getRecordsCommand(input, () => {}, true)).then(() => assert.fail('sdk succeeded'), (e: unknown) => e as Record<string, unknown>);
      const wire = await getRecordsCaller(client, { StreamName: 's' })(input, () => {}, new AbortController().signal).then(
        () => assert.fail('wire succeeded'),
        (e: unknown) => e as Record<string, unknown>,
      );
      const shape = (e: Record<string, unknown>) => ({ name: e.name, message: e.message, fault: e.$fault, status: (e.$metadata as { httpStatusCode?: number }).httpStatusCode, kind: classifyKinesisError(e) });
      assert.deepEqual(shape(wire), shape(sdk), type);
      assert.equal(shape(wire).name, type);
    }
    const body = JSON.stringify({ Records: [record('7', '{"a":1}', 'k')], NextShardIterator: 'n', MillisBehindLatest: 3 });
    const bytes = Buffer.from(jsonResponse(body));
    const sdkPage = ((await (respond.fn = (s) => void s.write(bytes), client.send(getRecordsCommand(input, () => {}, true)))) as GetRecordsPageOutput).floePage!;
    for (let k = 1; k < bytes.length; k += 7) {
      respond.fn = (s) => writePieces(s, bytes, [k]);
      const out = await getRecordsCaller(client, { StreamName: 's' })(input, () => {}, new AbortController().signal);
      assert.deepEqual(out.floePage!.sdkRecord(0), sdkPage.sdkRecord(0), `split at ${k}`);
    }
  } finally {
    client.destroy();
  }
});

test('HTTPS: a self-signed CA verified, SNI sent for a name, the wrong CA refused', { skip: SKIP_NO_OPENSSL }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'floe-wire-tls-'));
  const certs = makeTestCertificates(dir);
  const tlsRespond: { fn: Respond } = { fn: (s) => void s.write(CL_RESPONSE) };
  const secure = rawServer(tlsRespond, certs);
  const tlsPort = await listen(secure.server);
  const ca = readFileSync(certs.caFile);
  try {
    const p = pool({ tls: { ca } });
    try {
      const r = await p.request({ protocol: 'https:', host: '127.0.0.1', port: tlsPort }, HEAD, Buffer.from('{}'), new AbortController().signal);
      assert.equal(Buffer.from(r.body).toString(), JSON_BODY);
      r.release();
      const again = await p.request({ protocol: 'https:', host: '127.0.0.1', port: tlsPort }, HEAD, Buffer.from('{}'), new AbortController().signal);
      again.release();
      assert.equal(secure.seen.length, 2);
      assert.equal(secure.seen[1]!.conn, secure.seen[0]!.conn, 'kept alive over TLS');
      assert.deepEqual(secure.servernames, [false], 'no SNI for an address');
      const named = await p.request({ protocol: 'https:', host: 'localhost', port: tlsPort }, HEAD, Buffer.from('{}'), new AbortController().signal);
      named.release();
      assert.equal(secure.servernames[1], 'localhost');
    } finally {
      p.destroy();
    }
    const wrong = pool({ tls: { ca: readFileSync(certs.otherCaFile) } });
    try {
      const e = await failure(wrong, { protocol: 'https:', host: '127.0.0.1', port: tlsPort });
      assert.match(String(e.code), /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);
      assert.equal(classifyKinesisError(e), 'fatal');
    } finally {
      wrong.destroy();
    }
    // GetRecords over HTTPS end to end: the client's lean path on a pool that trusts the CA.
    const client = kinesisClientFromEnv({ endpoint: `https://127.0.0.1:${tlsPort}`, region: 'us-east-1', credentials: CREDS, maxAttempts: 1 });
    const wire = pool({ tls: { ca } });
    registerLeanTransport(client, { httpAgent: new HttpAgent(), httpsAgent: new HttpsAgent(), connectionTimeoutMs: 2000, requestTimeoutMs: 5000, wire });
    try {
      tlsRespond.fn = (s) => void s.write(jsonResponse(JSON.stringify({ Records: [record('9', 'hello', 'pk')], NextShardIterator: 'n2', MillisBehindLatest: 0 }), true));
      const out = await getRecordsCaller(client, { StreamName: 's' })({ ShardIterator: 'it' }, () => {}, new AbortController().signal);
      assert.equal(Buffer.from(out.floePage!.sdkRecord(0).Data!).toString(), 'hello');
      assert.equal(out.NextShardIterator, 'n2');
      assert.equal(secure.seen.at(-1)!.head.startsWith('POST / HTTP/1.1\r\n'), true);
      assert.match(secure.seen.at(-1)!.head, /\r\nauthorization: AWS4-HMAC-SHA256 /i);
    } finally {
      wire.destroy();
      client.destroy();
    }
  } finally {
    await new Promise<void>((r) => secure.server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FLOE_KINESIS_HTTP=node keeps Node’s client (the A/B switch); the default is the wire client', async () => {
  for (const env of [{ FLOE_KINESIS_HTTP: 'node' }, {}]) {
    const client = kinesisClientFromEnv({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: CREDS, maxAttempts: 1, env });
    try {
      plain.seen.length = 0;
      // Node's client holds its socket in the client's agent; the wire client in its own pool.
      let agentSockets: number | undefined;
      respond.fn = (s) => {
        agentSockets = agentProbe(client)()?.sockets;
        s.write(jsonResponse(JSON.stringify({ Records: [], NextShardIterator: 'n', MillisBehindLatest: 0 })));
      };
      const out = await getRecordsCaller(client, { StreamName: 's' })({ ShardIterator: 'it' }, () => {}, new AbortController().signal);
      assert.equal(out.NextShardIterator, 'n');
      assert.equal(plain.seen.length, 1);
      assert.equal(plain.seen[0]!.head.includes('amz-sdk-invocation-id'), false, 'the lean request');
      assert.equal(leanTransportOf(client)?.kind, 'FLOE_KINESIS_HTTP' in env ? 'node-http' : 'wire');
      // The read stats count the wire client's connection (Node's agent is read only once the SDK used it).
      if (!('FLOE_KINESIS_HTTP' in env)) assert.equal(agentSockets, 1);
    } finally {
      client.destroy();
    }
  }
});
