/**
 * The embedded kinesalite endpoint: loopback only, ephemeral or given port, usable through the
 * SDK conventions (AWS_ENDPOINT_URL_KINESIS, dummy credentials), clean stop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { FloeError, ValidationError } from '../../src/errors.js';
import { ensureStream } from '../../src/source/kinesis/admin.js';
import { kinesisClientFromEnv } from '../../src/source/kinesis/client.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { startLocalKinesis } from '../../src/source/local-kinesis.js';
import './kinesis-test-helpers.js';

const home = mkdtempSync(join(tmpdir(), 'floe-home-'));

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('starts on an ephemeral loopback port and works through the SDK conventions', async () => {
  const local = await startLocalKinesis();
  const client = kinesisClientFromEnv({ env: { HOME: home, AWS_ENDPOINT_URL_KINESIS: local.url } });
  try {
    assert.match(local.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(local.url, `http://127.0.0.1:${local.port}`);
    assert.ok(await canConnect('127.0.0.1', local.port));
    // Not reachable through another interface: bound to loopback only.
    const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (external) assert.equal(await canConnect(external.address, local.port), false, `reachable on ${external.address}`);

    const r = await ensureStream(client, { streamName: 'glue-streaming-iceberg-stream', shardCount: 2 });
    assert.equal(r.created, true);
    assert.equal(r.openShardCount, 2);
    assert.equal((await ensureStream(client, { streamName: 'glue-streaming-iceberg-stream' })).created, false, 'idempotent');
    const put = await putRecords(client, { streamName: 'glue-streaming-iceberg-stream' }, [{ data: new Uint8Array([1]), partitionKey: 'k' }]);
    assert.equal(put.length, 1);
    assert.deepEqual((await client.send(new ListStreamsCommand({}))).StreamNames, ['glue-streaming-iceberg-stream']);
    // kinesalite has no ON_DEMAND mode: the error says what was asked.
    await assert.rejects(ensureStream(client, { streamName: 'od', mode: 'ON_DEMAND' }), (e: unknown) => e instanceof FloeError && /creating stream od \(ON_DEMAND\) failed/.test(e.message));
  } finally {
    client.destroy();
    await local.close();
  }
  await local.close(); // idempotent
  assert.equal(await canConnect('127.0.0.1', local.port), false, 'stopped');
});

test('starts on a given port; a busy port is a clear error; options are validated', async () => {
  const port = await freePort();
  const a = await startLocalKinesis({ port });
  try {
    assert.equal(a.port, port);
    await assert.rejects(startLocalKinesis({ port }), (e: unknown) => e instanceof FloeError && new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`).test(e.message));
  } finally {
    await a.close();
  }
  await assert.rejects(startLocalKinesis({ port: -1 }), ValidationError);
  await assert.rejects(startLocalKinesis({ port: 70000 }), ValidationError);
  await assert.rejects(startLocalKinesis({ createStreamMs: 1.5 }), /createStreamMs/);
});

test('each instance has its own in-memory store', async () => {
  const a = await startLocalKinesis();
  const b = await startLocalKinesis();
  const ca = kinesisClientFromEnv({ env: { HOME: home }, endpoint: a.url });
  const cb = kinesisClientFromEnv({ env: { HOME: home }, endpoint: b.url });
  try {
    await ensureStream(ca, { streamName: 'only-in-a' });
    assert.deepEqual((await cb.send(new ListStreamsCommand({}))).StreamNames, []);
  } finally {
    ca.destroy();
    cb.destroy();
    await a.close();
    await b.close();
  }
});
