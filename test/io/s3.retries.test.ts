/**
 * S3FileIO under faults: a proxy on 127.0.0.1 in front of a real s3rver throttles, fails,
 * delays and drops requests, and the FileIO must retry what can be retried, give up on what
 * cannot, and never turn its own lost-response write into "already exists".
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { AlreadyExistsError, FloeError } from '../../src/errors.js';
import type { S3FileIO } from '../../src/io/s3.js';
import { s3ErrorXml, startFaultProxy, type FaultProxy, type FaultRule, type RecordedRequest } from './fault-proxy.js';
import { startS3rver, testS3FileIO, type S3rver } from './s3rver.js';

const MiB = 1024 * 1024;
const enc = new TextEncoder();
const dec = new TextDecoder();

let server: S3rver;
let proxy: FaultProxy;
let direct: S3FileIO;
const opened: S3FileIO[] = [];

before(async () => {
  server = await startS3rver(['floe']);
  proxy = await startFaultProxy(server.endpoint);
  direct = testS3FileIO(server.endpoint);
});

afterEach(() => proxy.setRule(undefined));

after(async () => {
  for (const io of [direct, ...opened]) io.close();
  await proxy.close();
  await server.close();
});

interface Retried {
  io: S3FileIO;
  retries: { operation: string; location: string; error: unknown }[];
}

function proxied(options: Parameters<typeof testS3FileIO>[1] = {}): Retried {
  const retries: Retried['retries'] = [];
  const io = testS3FileIO(proxy.url, { onRetry: (operation, location, ev) => retries.push({ operation, location, error: ev.error }), ...options });
  opened.push(io);
  return { io, retries };
}

/** Applies `action` to the first `times` requests matching `match`, forwards everything else. */
function firstMatching(match: (r: RecordedRequest) => boolean, times: number, action: ReturnType<FaultRule>): FaultRule {
  let seen = 0;
  return (r) => (match(r) && seen++ < times ? action : undefined);
}

const isPut = (r: RecordedRequest) => r.method === 'PUT';
const isGet = (r: RecordedRequest) => r.method === 'GET';

function since(from: number, match: (r: RecordedRequest) => boolean): number {
  return proxy.requests.slice(from).filter(match).length;
}

describe('S3FileIO retries', () => {
  it('retries throttled writes with backoff (503 SlowDown)', async () => {
    const { io, retries } = proxied();
    const loc = `s3://floe/${randomUUID()}/m.json`;
    proxy.setRule(firstMatching(isPut, 2, { kind: 'respond', status: 503, body: s3ErrorXml('SlowDown', 'Please reduce your request rate.') }));
    const from = proxy.requests.length;
    await io.write(loc, enc.encode('metadata'));
    assert.equal(since(from, isPut), 3);
    assert.equal(retries.length, 2);
    assert.ok(retries.every((r) => r.operation === 'write' && r.location === loc));
    assert.equal(dec.decode(await direct.read(loc)), 'metadata');
  });

  it('retries reads after a 500 and after a dropped connection', async () => {
    const { io, retries } = proxied();
    const loc = `s3://floe/${randomUUID()}/d.bin`;
    await direct.write(loc, enc.encode('0123456789'));
    proxy.setRule(firstMatching(isGet, 1, { kind: 'respond', status: 500, body: s3ErrorXml('InternalError') }));
    assert.equal(dec.decode(await io.read(loc)), '0123456789');
    proxy.setRule(firstMatching(isGet, 1, { kind: 'drop-before' }));
    assert.equal(dec.decode(await io.readRange(loc, 2, 3)), '234');
    assert.equal(retries.length, 2);
  });

  it('retries a request that timed out', async () => {
    const { io, retries } = proxied({ requestTimeoutMs: 300 });
    const loc = `s3://floe/${randomUUID()}/slow.bin`;
    await direct.write(loc, enc.encode('slow'));
    proxy.setRule(firstMatching(isGet, 1, { kind: 'delay', ms: 1500 }));
    assert.equal(dec.decode(await io.read(loc)), 'slow');
    assert.equal(retries.length, 1);
  });

  it('gives up after the configured attempts with a retriable error naming the location', async () => {
    const { io } = proxied({ retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    const loc = `s3://floe/${randomUUID()}/never.bin`;
    proxy.setRule((r) => (isGet(r) ? { kind: 'respond', status: 503, body: s3ErrorXml('SlowDown') } : undefined));
    const from = proxy.requests.length;
    await assert.rejects(io.read(loc), (e: unknown) => {
      assert.ok(e instanceof FloeError);
      assert.equal(e.retriable, true);
      assert.match(e.message, new RegExp(`^io: ${loc}: read failed: SlowDown \\(HTTP 503\\)`));
      return true;
    });
    assert.equal(since(from, isGet), 3);
  });

  it('does not retry access denied', async () => {
    const { io, retries } = proxied();
    proxy.setRule((r) => (isGet(r) ? { kind: 'respond', status: 403, body: s3ErrorXml('AccessDenied', 'Access Denied') } : undefined));
    const from = proxy.requests.length;
    await assert.rejects(io.read(`s3://floe/${randomUUID()}`), /read failed: AccessDenied \(HTTP 403\): Access Denied; check the AWS credentials/);
    assert.equal(since(from, isGet), 1);
    assert.equal(retries.length, 0);
  });

  it('retries a failed part of a multipart upload', async () => {
    const { io, retries } = proxied({ multipartThresholdBytes: 6 * MiB, partSizeBytes: 5 * MiB });
    const data = new Uint8Array(11 * MiB).map((_, i) => i % 251);
    const loc = `s3://floe/${randomUUID()}/big.bin`;
    const isPart2 = (r: RecordedRequest) => r.method === 'PUT' && /partNumber=2(&|$)/.test(r.url);
    proxy.setRule(firstMatching(isPart2, 1, { kind: 'respond', status: 500, body: s3ErrorXml('InternalError') }));
    const from = proxy.requests.length;
    await io.write(loc, data);
    assert.equal(since(from, isPart2), 2);
    assert.equal(retries.length, 1);
    assert.ok(Buffer.from(await direct.read(loc)).equals(Buffer.from(data)));
  });

  it('retries listing pages', async () => {
    const { io } = proxied({ listPageSize: 2 });
    const prefix = `s3://floe/${randomUUID()}/`;
    for (let i = 0; i < 5; i++) await direct.write(`${prefix}f${i}`, new Uint8Array([i]));
    // Fail the second page request.
    let lists = 0;
    proxy.setRule((r) => (r.method === 'GET' && /list-type=2/.test(r.url) && ++lists === 2 ? { kind: 'respond', status: 500, body: s3ErrorXml('InternalError') } : undefined));
    const listed = [];
    for await (const f of io.list(prefix)) listed.push(f.location);
    assert.deepEqual(listed, [0, 1, 2, 3, 4].map((i) => `${prefix}f${i}`));
  });
});

describe('S3FileIO no-overwrite writes with lost responses', () => {
  it('recognizes its own write whose response was lost', async () => {
    const { io, retries } = proxied();
    const loc = `s3://floe/${randomUUID()}/metadata/00001-a.metadata.json`;
    proxy.setRule(firstMatching(isPut, 1, { kind: 'drop-after' }));
    const from = proxy.requests.length;
    await io.write(loc, enc.encode('{"format-version":2}'));
    assert.equal(retries.length, 1, 'the lost response was retried');
    assert.equal(since(from, isPut), 1, 'the retry found the object and did not write again');
    assert.equal(dec.decode(await direct.read(loc)), '{"format-version":2}');
  });

  it('reports AlreadyExists when another writer took the name meanwhile', async () => {
    const { io } = proxied();
    const loc = `s3://floe/${randomUUID()}/metadata/00001-b.metadata.json`;
    proxy.setRule(
      firstMatching(isPut, 1, {
        kind: 'drop-after',
        // Another writer replaces the object between our lost response and our retry.
        beforeDrop: () => direct.write(loc, enc.encode('theirs!'), { overwrite: true }),
      }),
    );
    await assert.rejects(io.write(loc, enc.encode('ours...')), AlreadyExistsError);
    assert.equal(dec.decode(await direct.read(loc)), 'theirs!');
  });

  it('recognizes its own multipart upload whose completion response was lost', async () => {
    const { io } = proxied({ multipartThresholdBytes: 6 * MiB, partSizeBytes: 5 * MiB });
    const data = new Uint8Array(7 * MiB).map((_, i) => (i * 7) % 256);
    const loc = `s3://floe/${randomUUID()}/data/big.parquet`;
    const isComplete = (r: RecordedRequest) => r.method === 'POST' && /uploadId=/.test(r.url);
    proxy.setRule(firstMatching(isComplete, 1, { kind: 'drop-after' }));
    await io.write(loc, data);
    assert.ok(Buffer.from(await direct.read(loc)).equals(Buffer.from(data)));
  });

  it('lets exactly one of many racing writers in one process create a file', async () => {
    const { io } = proxied();
    const other = proxied().io;
    const loc = `s3://floe/${randomUUID()}/metadata/v1.metadata.json`;
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => (i % 2 ? io : other).write(loc, enc.encode(`writer-${i}`))));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    assert.equal(won.length, 1, `winners: ${won.join(',')}`);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof AlreadyExistsError, String(r.reason));
    assert.equal(dec.decode(await direct.read(loc)), `writer-${won[0]}`);
  });
});
