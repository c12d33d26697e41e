/**
 * S3FileIO behaviour beyond the FileIO contract, against a real s3rver (through a recording proxy
 * where the test needs to see the requests): multipart uploads, s3/s3a equivalence, the localPath
 * cache, batch deletes, error mapping and client configuration.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AlreadyExistsError, FloeError, NotFoundError, ValidationError } from '../../src/errors.js';
import { fileIOFor } from '../../src/io/resolve.js';
import { LazyS3FileIO } from '../../src/io/s3-lazy.js';
import { resolveS3ClientConfig } from '../../src/io/s3-client.js';
import { parseS3Location } from '../../src/io/s3-location.js';
import { expectedEtag, partRanges } from '../../src/io/s3-upload.js';
import { S3FileIO } from '../../src/io/s3.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { S3RVER_CREDENTIALS, startS3rver, testS3FileIO, type S3rver } from './s3rver.js';

const MiB = 1024 * 1024;

let server: S3rver;
let proxy: FaultProxy;
let cacheDir: string;
const opened: S3FileIO[] = [];

before(async () => {
  server = await startS3rver(['floe', 'second']);
  proxy = await startFaultProxy(server.endpoint);
  cacheDir = await mkdtemp(join(tmpdir(), 'floe-s3-objects-'));
});

after(async () => {
  for (const io of opened) io.close();
  await proxy.close();
  await server.close();
  await rm(cacheDir, { recursive: true, force: true });
});

/** An S3FileIO through the recording proxy. */
function proxied(options: Parameters<typeof testS3FileIO>[1] = {}): S3FileIO {
  const io = testS3FileIO(proxy.url, { cacheDir, ...options });
  opened.push(io);
  return io;
}

function pattern(size: number, seed = 7): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Requests recorded from `from` on, as `METHOD path?query` with the bucket path kept. */
function calls(from: number): string[] {
  return proxy.requests.slice(from).map((r) => `${r.method} ${r.url}`);
}

describe('S3 locations', () => {
  it('parses s3:// and s3a:// and rejects other or keyless locations', () => {
    assert.deepEqual(parseS3Location('s3://b/k/x.json'), { scheme: 's3', bucket: 'b', key: 'k/x.json' });
    assert.deepEqual(parseS3Location('S3A://b/k'), { scheme: 's3a', bucket: 'b', key: 'k' });
    assert.deepEqual(parseS3Location('s3://b', true), { scheme: 's3', bucket: 'b', key: '' });
    assert.throws(() => parseS3Location('gs://b/k'), ValidationError);
    assert.throws(() => parseS3Location('s3://b'), /needs a key/);
    assert.throws(() => parseS3Location('s3://b/dir/'), /needs a key/);
    assert.throws(() => parseS3Location('s3:///k'), /invalid bucket/);
  });

  it('computes part ranges and the ETags S3 gives single and multipart uploads', () => {
    assert.deepEqual(partRanges(12, 5), [
      { start: 0, end: 5 },
      { start: 5, end: 10 },
      { start: 10, end: 12 },
    ]);
    // Never more than 10,000 parts: the part size grows instead.
    assert.equal(partRanges(20_001, 1).length, 6667);
    assert.equal(expectedEtag(new TextEncoder().encode('hello')), '5d41402abc4b2a76b9719d911017c592');
    assert.match(expectedEtag(new Uint8Array(12), partRanges(12, 5)), /^[0-9a-f]{32}-3$/);
  });
});

describe('S3FileIO against s3rver', () => {
  it('uploads large files in parts and reads ranges across part boundaries', async () => {
    const io = proxied({ multipartThresholdBytes: 6 * MiB, partSizeBytes: 5 * MiB, partConcurrency: 2 });
    const data = pattern(12 * MiB + 123);
    const loc = `s3://floe/${randomUUID()}/big.parquet`;
    const from = proxy.requests.length;
    await io.write(loc, data);
    const made = calls(from);
    assert.equal(made.filter((c) => /^POST .*\?uploads/.test(c)).length, 1, `one CreateMultipartUpload: ${made.join(', ')}`);
    assert.deepEqual(
      made.filter((c) => /^PUT .*partNumber=/.test(c)).map((c) => Number(/partNumber=(\d+)/.exec(c)?.[1])).sort(),
      [1, 2, 3],
    );
    assert.equal(made.filter((c) => /^POST .*uploadId=/.test(c)).length, 1, 'one CompleteMultipartUpload');
    const back = await io.read(loc);
    assert.ok(Buffer.from(back).equals(Buffer.from(data)), 'content differs');
    const boundary = 5 * MiB;
    const range = await io.readRange(loc, boundary - 10, 20);
    assert.ok(Buffer.from(range).equals(Buffer.from(data.subarray(boundary - 10, boundary + 10))));
    assert.equal((await io.readRange(loc, data.length - 3, 100)).length, 3);
    assert.equal((await io.stat(loc)).size, data.length);
  });

  it('refuses a multipart upload onto an existing object and leaves it unchanged', async () => {
    const io = proxied({ multipartThresholdBytes: 6 * MiB, partSizeBytes: 5 * MiB });
    const loc = `s3://floe/${randomUUID()}/metadata/00001-x.metadata.json`;
    await io.write(loc, new TextEncoder().encode('committed'));
    await assert.rejects(io.write(loc, pattern(7 * MiB)), AlreadyExistsError);
    assert.equal(new TextDecoder().decode(await io.read(loc)), 'committed');
    await io.write(loc, pattern(7 * MiB), { overwrite: true });
    assert.equal((await io.stat(loc)).size, 7 * MiB);
  });

  it('sends If-None-Match: * on no-overwrite writes only', async () => {
    const io = proxied();
    const base = `s3://floe/${randomUUID()}`;
    const from = proxy.requests.length;
    await io.write(`${base}/a`, new Uint8Array([1]));
    await io.write(`${base}/b`, new Uint8Array([2]), { overwrite: true });
    const puts = proxy.requests.slice(from).filter((r) => r.method === 'PUT');
    assert.equal(puts.length, 2);
    assert.equal(puts[0]?.headers['if-none-match'], '*');
    assert.equal(puts[1]?.headers['if-none-match'], undefined);
  });

  it('treats s3:// and s3a:// as the same objects', async () => {
    const io = proxied();
    const key = `${randomUUID()}/data/f.parquet`;
    await io.write(`s3a://floe/${key}`, new TextEncoder().encode('PAR1'));
    assert.equal(new TextDecoder().decode(await io.read(`s3://floe/${key}`)), 'PAR1');
    await assert.rejects(io.write(`s3://floe/${key}`, new Uint8Array([0])), AlreadyExistsError);
    const listed = [];
    for await (const f of io.list(`s3a://floe/${key.split('/')[0]}/`)) listed.push(f.location);
    assert.deepEqual(listed, [`s3a://floe/${key}`]);
    await io.delete(`s3://floe/${key}`);
    assert.equal(await io.exists(`s3a://floe/${key}`), false);
  });

  it('downloads a local copy once and reuses it, also from another instance', async () => {
    const io = proxied();
    const loc = `s3://floe/${randomUUID()}/data/00000-0.parquet`;
    const data = pattern(300_000);
    await io.write(loc, data);
    let from = proxy.requests.length;
    const p1 = await io.localPath(loc);
    assert.ok(p1.startsWith(cacheDir) && p1.endsWith('.parquet'), p1);
    assert.ok((await readFile(p1)).equals(Buffer.from(data)));
    assert.deepEqual(calls(from).map((c) => c.split(' ')[0]), ['HEAD', 'GET']);

    from = proxy.requests.length;
    const [p2, p3] = await Promise.all([io.localPath(loc), proxied().localPath(loc)]);
    assert.equal(p2, p1);
    assert.equal(p3, p1);
    assert.deepEqual(calls(from).map((c) => c.split(' ')[0]), ['HEAD', 'HEAD'], 'no download when cached');

    // A new version of the object gets a new cache file; the old one is never served.
    await io.write(loc, pattern(300_000, 99), { overwrite: true });
    const p4 = await io.localPath(loc);
    assert.notEqual(p4, p1);
    assert.ok((await readFile(p4)).equals(Buffer.from(pattern(300_000, 99))));
    const names = await readdir(cacheDir);
    assert.ok(!names.some((n) => n.endsWith('.tmp')), `no temporary files left: ${names.join(', ')}`);
  });

  it('deletes in batches across buckets, counting missing objects as deleted', async () => {
    const io = proxied();
    const prefix = randomUUID();
    const locations = [];
    for (let i = 0; i < 12; i++) {
      const loc = `s3://${i % 2 ? 'floe' : 'second'}/${prefix}/f${i}`;
      await io.write(loc, new Uint8Array([i]));
      locations.push(loc);
    }
    locations.push(`s3://floe/${prefix}/never-written`);
    const from = proxy.requests.length;
    const result = await io.deleteFiles(locations);
    assert.equal(result.failures.length, 0);
    assert.deepEqual([...result.deleted].sort(), [...locations].sort());
    // DeleteObjects per bucket, never one DeleteObject per key. (s3rver often answers the first
    // multi-key DeleteObjects with a 500 — it races with itself removing empty directories — so a
    // bucket may see a retry.)
    const made = calls(from);
    assert.deepEqual([...new Set(made.map((c) => /^POST \/([^/]+)\/\?delete/.exec(c)?.[1]))].sort(), ['floe', 'second'], made.join(', '));
    assert.ok(made.length <= 4, made.join(', '));
    for (const loc of locations) assert.equal(await io.exists(loc), false, loc);
  });

  it('names the location and the cause in errors', async () => {
    const io = proxied();
    await assert.rejects(io.read('s3://no-such-bucket/x'), (e: unknown) => {
      assert.ok(e instanceof NotFoundError);
      assert.match(e.message, /^io: s3:\/\/no-such-bucket\/x: not found \(bucket 'no-such-bucket' does not exist\)$/);
      return true;
    });
    await assert.rejects(io.write('s3://no-such-bucket/x', new Uint8Array(1)), (e: unknown) => {
      assert.ok(e instanceof FloeError && !(e instanceof NotFoundError));
      assert.match(e.message, /io: s3:\/\/no-such-bucket\/x: write failed: bucket 'no-such-bucket' does not exist/);
      return true;
    });
    await assert.rejects(io.read('gs://floe/x'), ValidationError);

    const wrongKeys = proxied({ credentials: { accessKeyId: 'nobody', secretAccessKey: 'x' } });
    const from = proxy.requests.length;
    await assert.rejects(wrongKeys.read(`s3://floe/${randomUUID()}`), (e: unknown) => {
      assert.ok(e instanceof FloeError, String(e));
      assert.equal(e.retriable, false);
      assert.match(e.message, /^io: s3:\/\/floe\/.*: read failed: InvalidAccessKeyId.*the AWS credentials were rejected$/);
      return true;
    });
    assert.equal(proxy.requests.length - from, 1, 'an authentication failure is not retried');
  });

  it('validates its options', () => {
    assert.throws(() => new S3FileIO({ partSizeBytes: MiB, env: {} }), /partSizeBytes must be an integer >= 5242880/);
    assert.throws(() => new S3FileIO({ listPageSize: 5000, env: {} }), /listPageSize must be at most 1000/);
    assert.throws(() => new S3FileIO({ retry: { maxAttempts: 0 }, env: {} }), /maxAttempts must be a positive integer/);
  });
});

describe('S3 client configuration', () => {
  it('follows AWS_ENDPOINT_URL_S3 with path-style addressing and dummy credentials for local stores', () => {
    const r = resolveS3ClientConfig({ env: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4568', HOME: '/nonexistent' } });
    assert.equal(r.endpoint, 'http://127.0.0.1:4568');
    assert.equal(r.forcePathStyle, true);
    assert.equal(r.region, 'us-east-1');
    assert.equal(r.dummyCredentials, true);
    assert.ok(r.credentials);
  });

  it('uses the default chain and virtual-hosted style on AWS', () => {
    const r = resolveS3ClientConfig({ env: { AWS_REGION: 'eu-west-1', HOME: '/nonexistent' } });
    assert.equal(r.endpoint, undefined);
    assert.equal(r.forcePathStyle, false);
    assert.equal(r.region, 'eu-west-1');
    assert.equal(r.dummyCredentials, false);
    assert.equal(r.credentials, undefined);
    const aws = resolveS3ClientConfig({ endpoint: 'https://s3.eu-west-1.amazonaws.com', env: { HOME: '/nonexistent' } });
    assert.equal(aws.forcePathStyle, false);
    assert.equal(aws.dummyCredentials, false);
  });

  it('keeps configured credentials for a local store, and explicit options win', () => {
    const env = { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', HOME: '/nonexistent' };
    const fromEnv = resolveS3ClientConfig({ env });
    assert.equal(fromEnv.dummyCredentials, false);
    assert.deepEqual(fromEnv.credentials, { accessKeyId: 'k', secretAccessKey: 's' });
    const r = resolveS3ClientConfig({ env, endpoint: 'http://127.0.0.1:2', forcePathStyle: false, region: 'ap-south-1' });
    assert.deepEqual([r.endpoint, r.forcePathStyle, r.region], ['http://127.0.0.1:2', false, 'ap-south-1']);
    const ignored = resolveS3ClientConfig({ env: { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' } });
    assert.equal(ignored.endpoint, undefined);
  });

  it('resolves s3:// and s3a:// to the shared, lazily loaded S3 FileIO', () => {
    const a = fileIOFor('s3://b/k');
    assert.ok(a instanceof LazyS3FileIO);
    assert.equal(fileIOFor('s3a://b/k'), a);
  });

  it('reaches s3rver from the environment alone', async () => {
    const io = new LazyS3FileIO({
      env: { AWS_ENDPOINT_URL_S3: server.endpoint, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, HOME: '/nonexistent' },
    });
    try {
      const loc = `s3://floe/${randomUUID()}/env.txt`;
      await io.write(loc, new TextEncoder().encode('from env'));
      assert.equal(new TextDecoder().decode(await io.read(loc)), 'from env');
    } finally {
      await io.close();
    }
  });
});
