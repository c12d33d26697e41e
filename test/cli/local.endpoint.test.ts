/**
 * `floe local`: an embedded Kinesis-compatible endpoint on 127.0.0.1. It prints its URL on
 * stdout, creates the requested stream, serves the Kinesis API, keeps streams in --data across
 * restarts, and stops cleanly (exit 0, port released) on SIGINT or SIGTERM.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeStreamSummaryCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { clientFor, dec, enc, pollUntil } from '../source/kinesis-test-helpers.js';
import { assertFails, runCli } from './helpers.js';
import { childEnv, killStrayCliProcesses, runCliProcess, spawnCli, type CliProcess } from './spawn.js';

after(() => killStrayCliProcesses());

/** Starts `floe local …` and waits for the URL line on stdout. */
async function startLocalCli(args: string[]): Promise<{ p: CliProcess; url: string }> {
  const p = spawnCli(['local', '--port', '0', ...args], { env: childEnv() });
  await p.waitForStdout((out) => out.includes('\n'), 30_000, 'the URL line');
  const url = p.stdout().split('\n')[0]!;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, 'stdout starts with the URL and nothing else');
  return { p, url };
}

/** True when something accepts TCP connections on the URL's port. */
function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('floe local --port 0 --stream s --shards 2: prints its URL, the stream exists, SIGINT stops it with exit 0', { timeout: 60_000 }, async () => {
  const { p, url } = await startLocalCli(['--stream', 'local-s', '--shards', '2']);
  const client = clientFor(url, 3);
  try {
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: 'local-s' }));
    assert.equal(summary.StreamDescriptionSummary?.StreamStatus, 'ACTIVE');
    const shards = await client.send(new ListShardsCommand({ StreamName: 'local-s' }));
    assert.equal(shards.Shards?.length, 2);
    // It serves the API: records go in.
    await putRecords(client, { streamName: 'local-s' }, [{ data: enc('{"a":1}'), partitionKey: 'k' }]);
  } finally {
    client.destroy();
  }
  assert.match(p.stderr(), new RegExp(`export AWS_ENDPOINT_URL_KINESIS=${url.replace(/\./g, '\\.')}`));
  assert.match(p.stderr(), /\(in memory\), stream local-s/);

  p.child.kill('SIGINT');
  assert.deepEqual(await p.exited, { code: 0, signal: null }, p.stderr());
  assert.match(p.stderr(), /floe: local endpoint stopped\n$/);
  assert.equal(p.stdout(), `${url}\n`, 'stdout is just the URL');
  assert.equal(await listening(url), false, 'the port is released');
});

test('floe local --data DIR keeps streams and records across restarts; SIGTERM stops it too', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-local-'));
  try {
    const first = await startLocalCli(['--data', join(dir, 'kinesis'), '--stream', 'kept']);
    let client = clientFor(first.url, 3);
    try {
      await putRecords(client, { streamName: 'kept' }, ['one', 'two', 'three'].map((s) => ({ data: enc(s), partitionKey: s })));
    } finally {
      client.destroy();
    }
    assert.match(first.p.stderr(), /\(data in .*kinesis\)/);
    first.p.child.kill('SIGTERM');
    assert.deepEqual(await first.p.exited, { code: 0, signal: null }, first.p.stderr());

    // Started again on the same data, with the same --stream (it exists: not an error).
    const second = await startLocalCli(['--data', join(dir, 'kinesis'), '--stream', 'kept']);
    client = clientFor(second.url, 3);
    const source = new KinesisSource({ client, streamName: 'kept', minCallIntervalMs: 20, idleDelayMs: 20 });
    try {
      await source.start(new Map(), { type: 'TRIM_HORIZON' });
      const got = await pollUntil(source, (c) => c.records.length >= 3);
      assert.deepEqual(got.records.map((r) => dec(r.data)), ['one', 'two', 'three']);
    } finally {
      await source.close();
      client.destroy();
    }
    second.p.child.kill('SIGINT');
    assert.deepEqual(await second.p.exited, { code: 0, signal: null }, second.p.stderr());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('floe local: bad flags exit 2 before starting anything', async () => {
  assertFails(await runCli(['local', '--port', '70000']), 2, /^floe: cli: --port must be 0\.\.65535, got '70000'/);
  assertFails(await runCli(['local', '--port', 'x']), 2, /--port must be 0\.\.65535/);
  assertFails(await runCli(['local', '--port', '0', '--shards', '0']), 2, /--shards must be a positive integer/);
  assertFails(await runCli(['local', '--port', '0', '--region', 'x']), 2, /Unknown option '--region'/);
  assertFails(await runCli(['local', '--port', '0', '--stream', 'bad name!']), 2, /^floe: cli: --stream: invalid stream name 'bad name!'/);
});

test('floe local: a stream it cannot create is an error, and the endpoint stops (no hanging process)', { timeout: 60_000 }, async () => {
  // The embedded endpoint allows 200 shards in all.
  const r = await runCliProcess(['local', '--port', '0', '--stream', 'too-big', '--shards', '500'], { env: childEnv(), timeoutMs: 30_000 });
  assert.deepEqual([r.code, r.signal], [1, null], `exit; stderr: ${r.stderr}`);
  assert.match(r.stderr, /^floe: kinesis: creating stream too-big \(PROVISIONED\) failed: /);
  assert.equal(r.stdout, '', 'no URL printed for an endpoint that is not usable');
});
