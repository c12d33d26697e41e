/**
 * `floe run` / `floe produce` when floe does not know which Kinesis to talk to, or nothing answers
 * there: a message that says what to do (AWS_REGION, AWS_ENDPOINT_URL_KINESIS, `floe local`)
 * instead of the SDK's bare `Region is missing`, and a closed endpoint reported within seconds
 * with its URL instead of 23–37 s of silent retries.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UNREACHABLE_GRACE_MS } from '../../src/source/kinesis/client.js';
import { assertFails, runCli } from './helpers.js';
import { childEnv, killStrayCliProcesses, runCliProcess } from './spawn.js';

let dir: string;
/** A HOME without ~/.aws: no profile, no region from a config file. */
let home: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-kinesis-target-'));
  home = join(dir, 'home');
  await mkdir(home);
});

after(async () => {
  killStrayCliProcesses();
  await rm(dir, { recursive: true, force: true });
});

/** A valid config; `endpoint` adds `source.endpoint`. */
async function configFile(name: string, endpoint?: string): Promise<{ path: string; warehouse: string }> {
  const warehouse = join(dir, `${name}-wh`);
  const text = [
    'source:',
    '  stream: events',
    ...(endpoint ? [`  endpoint: ${endpoint}`] : []),
    'catalog:',
    `  warehouse: ${warehouse}`,
    'table:',
    '  name: db.events',
    'transform:',
    '  columns:',
    '    a: string',
    '',
  ].join('\n');
  const path = join(dir, `${name}.yaml`);
  await writeFile(path, text);
  return { path, warehouse };
}

/** A port on 127.0.0.1 where nothing listens: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const WHAT_TO_DO = [/AWS_REGION/, /AWS_ENDPOINT_URL_KINESIS/, /`floe local`/];

// Most of the time is spent waiting out the grace period: run the tests side by side.
describe('which Kinesis, and whether it answers', { concurrency: true }, () => {
  test('floe run with no region and no endpoint: says to set AWS_REGION or AWS_ENDPOINT_URL_KINESIS (floe local), creates nothing', async () => {
    const { path, warehouse } = await configFile('no-region');
    const r = await runCli(['run', '--config', path], { HOME: home });
    assertFails(r, 1, /^\{"ts":"[^"]+","level":"error","msg":"kinesis: no AWS region\. /, ...WHAT_TO_DO); // run's fatal error: one JSON line off a terminal
    assert.doesNotMatch(r.stderr, /Region is missing/);
    assert.equal(existsSync(warehouse), false, 'no warehouse directory, no catalog database');
  });

  test('floe run with an endpoint and no region: no complaint about the region (a local endpoint needs none)', async () => {
    // (A region without an endpoint would reach out to AWS itself: not in a test.)
    const port = await closedPort();
    const { path } = await configFile('region-endpoint', `http://127.0.0.1:${port}`);
    const r = await runCli(['run', '--config', path], { HOME: home });
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stderr, /no AWS region/);
  });

  test('floe produce with no region and no endpoint: the same message', async () => {
    const r = await runCli(['produce', '--stream', 'events', '--count', '1'], { HOME: home });
    assertFails(r, 1, /^floe: kinesis: no AWS region\. /, ...WHAT_TO_DO);
  });

  test('a profile without a region (a real process, the SDK\'s own "Region is missing") gets the same advice', { timeout: 60_000 }, async () => {
    const config = join(dir, 'aws-config');
    await writeFile(config, '[default]\noutput = json\n');
    const env = childEnv({ AWS_CONFIG_FILE: config, HOME: home });
    delete env.AWS_REGION; // (an empty AWS_REGION is a region to the SDK: "" is not a valid hostname)
    const r = await runCliProcess(['produce', '--stream', 'events', '--count', '1'], { env, cwd: dir });
    assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
    assert.match(r.stderr, /^floe: kinesis: PutRecords to events failed: no AWS region \(the SDK says "Region is missing"\)\. /);
    for (const p of WHAT_TO_DO) assert.match(r.stderr, p);
  });

  test('floe run against a closed port fails within seconds naming the endpoint', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const { path } = await configFile('closed-port');
    const t0 = Date.now();
    const r = await runCli(['run', '--config', path], { HOME: home, AWS_ENDPOINT_URL_KINESIS: url });
    const elapsed = Date.now() - t0;
    assertFails(r, 1, new RegExp(`^\\{.*"msg":"kinesis: ListShards on stream events: cannot connect to ${url.replace(/\./g, '\\.')} \\(connect ECONNREFUSED`), /`floe local`/);
    assert.ok(elapsed < UNREACHABLE_GRACE_MS + 5_000, `floe run gave up only after ${elapsed} ms`);
  });

  test('floe produce against a closed port fails within seconds naming the endpoint', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const t0 = Date.now();
    const r = await runCli(['produce', '--stream', 'events', '--count', '1', '--endpoint', url], { HOME: home });
    const elapsed = Date.now() - t0;
    assertFails(r, 1, new RegExp(`^floe: kinesis: PutRecords to events: cannot connect to ${url.replace(/\./g, '\\.')} \\(`), /`floe local`/);
    assert.ok(elapsed < UNREACHABLE_GRACE_MS + 5_000, `floe produce gave up only after ${elapsed} ms`);
  });
});
