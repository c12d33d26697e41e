/**
 * `floe run` with a bad config: exit code 2, an error naming the key, and no work at all — no
 * catalog database created, not one request to the Kinesis endpoint.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertFails, runCli } from './helpers.js';
import { childEnv, killStrayCliProcesses, runCliProcess } from './spawn.js';

let dir: string;
let trap: Server;
let trapUrl: string;
let requests = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-run-config-'));
  // A Kinesis endpoint that only counts: a bad config must never reach it.
  trap = createServer((req, res) => {
    requests++;
    res.writeHead(500);
    res.end();
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
  trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
});

after(async () => {
  killStrayCliProcesses();
  await new Promise<void>((r) => trap.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

/** A config file: the good one below with `replace` applied to its text. */
async function configFile(name: string, replace: [string, string][] = []): Promise<{ path: string; warehouse: string }> {
  const warehouse = join(dir, `${name}-wh`);
  let text = [
    'source:',
    '  stream: events',
    `  endpoint: ${trapUrl}`,
    'catalog:',
    `  warehouse: ${warehouse}`,
    'table:',
    '  name: db.events',
    '  partition_by: day(ts)',
    'transform:',
    '  columns:',
    '    a: string',
    '    ts: { type: timestamptz, path: timestamp }',
    'commit:',
    '  interval: 1s',
    '',
  ].join('\n');
  for (const [from, to] of replace) {
    assert.ok(text.includes(from), `test: '${from}' in the config`);
    text = text.replace(from, to);
  }
  const path = join(dir, `${name}.yaml`);
  await writeFile(path, text);
  return { path, warehouse };
}

const BAD: [string, [string, string][], RegExp][] = [
  ['unknown-key', [['  interval: 1s', '  intervall: 1s']], /^floe: config: commit\.intervall: unknown key/],
  ['bad-duration', [['  interval: 1s', '  interval: fast']], /^floe: config: commit\.interval: invalid duration "fast"/],
  ['bad-type', [['    a: string', '    a: strng']], /^floe: config: transform\.columns\[0\]\.type \(a\): invalid type 'strng'/],
  ['bad-value', [['    a: string', '    a: { type: long, value: stream }']], /^floe: config: transform\.columns\[0\]\.value \(a\): 'stream' needs a string column/],
  ['bad-partition', [['day(ts)', 'day(a)']], /^floe: config: table\.partition_by: .*day cannot be applied/],
  ['bad-policy', [['commit:', 'dead_letter:\n  policy: ignore\ncommit:']], /^floe: config: dead_letter\.policy: must be dlq, fail or skip/],
  ['bad-position', [['  stream: events', '  stream: events\n  initial_position: AT_TIMESTAMP']], /^floe: config: source\.initial_timestamp: required/],
  ['bad-endpoint', [[`  endpoint: ${'http://127.0.0.1'}`, '  endpoint: 127.0.0.1']], /^floe: config: source\.endpoint: must be an http\(s\) URL/],
  ['bad-yaml', [['table:', 'table: [']], /^floe: config: .*bad-yaml\.yaml: not valid YAML\/JSON/],
  // Lease timing without a lease table: refused rather than silently ignored.
  ['lease-without-application', [['  stream: events', '  stream: events\n  lease:\n    failover_time: 5s']], /^floe: config: source\.lease: only used with source\.application/],
];

for (const [name, replace, pattern] of BAD) {
  test(`floe run --config (${name}): exit 2 naming the key, before any work`, async () => {
    const fixed = replace.map(([from, to]): [string, string] => [from.replace('http://127.0.0.1', trapUrl), to]);
    const { path, warehouse } = await configFile(name, fixed);
    const before = requests;
    const r = await runCli(['run', '--config', path], { AWS_ENDPOINT_URL_KINESIS: trapUrl });
    assertFails(r, 2, pattern);
    assert.equal(r.stdout, '');
    assert.equal(existsSync(warehouse), false, 'no warehouse directory, no catalog database');
    assert.equal(requests, before, 'no request to the Kinesis endpoint');
  });
}

test('floe run: a missing config file, no --config, or an unknown flag exit 2', async () => {
  assertFails(await runCli(['run', '--config', join(dir, 'nope.yaml')]), 2, /^floe: config: cannot read .*nope\.yaml/);
  assertFails(await runCli(['run']), 2, /^floe: cli: run needs --config <file>/);
  assertFails(await runCli(['run', '--config', 'x.yaml', '--verbose']), 2, /^floe: cli: run: Unknown option '--verbose'/);
  const help = await runCli(['run', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: floe run --config/);
});

test('floe run (a real process): a bad config exits 2 and creates nothing', { timeout: 60_000 }, async () => {
  const { path, warehouse } = await configFile('spawned', [['  interval: 1s', '  interval: fast']]);
  const before = requests;
  const r = await runCliProcess(['run', '--config', path], { env: childEnv({ AWS_ENDPOINT_URL_KINESIS: trapUrl }), cwd: dir });
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stderr, 'floe: config: commit.interval: invalid duration "fast" (e.g. 500ms, 1s, 5m)\n');
  assert.equal(r.stdout, '');
  assert.equal(existsSync(warehouse), false);
  assert.equal(requests, before);
  // Nothing appeared in the working directory either (no ./warehouse/catalog.db by default).
  assert.deepEqual((await readdir(dir)).filter((f) => !f.endsWith('.yaml')), []);
});
