/**
 * `floe run` against `floe catalog serve` (both real CLI processes on 127.0.0.1) while the catalog
 * server is SIGKILLed: once for several seconds, then at random moments in a loop, each time
 * restarted on the same port. `floe run` must ride it out (one log line per retry, no exit), keep
 * the rows buffered, commit them once the catalog is back, and every produced record must land
 * exactly once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { QueryEngine } from '../../src/query/engine.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { clientFor, createStream, enc, startLocal, type LocalEnv } from '../source/kinesis-test-helpers.js';
import { childEnv, killStrayCliProcesses, spawnCli, type CliProcess } from './spawn.js';

let local: LocalEnv;
let dir: string;

before(async () => {
  local = await startLocal();
  dir = await mkdtemp(join(tmpdir(), 'floe-run-outage-'));
});

after(async () => {
  killStrayCliProcesses();
  await local.close();
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

function countBy(xs: (string | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x ?? '?'] = (out[x ?? '?'] ?? 0) + 1;
  return out;
}

function logLines(stdout: string): LogLine[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

test('floe run rides out SIGKILLs of the REST catalog server: rows stay buffered, then land exactly once', { timeout: 120_000 }, async (t) => {
  const warehouse = join(dir, 'wh');
  const port = await freePort();
  const serve = async (): Promise<CliProcess> => {
    const p = spawnCli(['catalog', 'serve', '--port', String(port), '--warehouse', warehouse], { cwd: dir });
    await p.waitForStdout((out) => out.includes(`http://127.0.0.1:${port}`), 30_000, 'the server URL');
    return p;
  };
  const kill = async (p: CliProcess) => {
    p.child.kill('SIGKILL');
    await p.exited;
  };

  const stream = 'outage';
  await createStream(local.client, stream, 2);
  const config = join(dir, 'run.yaml');
  await writeFile(
    config,
    [
      'source:',
      `  stream: ${stream}`,
      'catalog:',
      `  uri: http://127.0.0.1:${port}`,
      'table:',
      '  name: db.events',
      'transform:',
      '  columns:',
      '    id: { type: long, required: true }',
      'commit:',
      '  interval: 200ms',
      '  retry_budget: 1m',
      '',
    ].join('\n'),
  );

  // The producer: 20 records every 50 ms with increasing ids, until told to stop.
  let produced = 0;
  let producing = true;
  const producer = (async () => {
    const client = clientFor(local.url, 3);
    try {
      while (producing) {
        const from = produced;
        await putRecords(
          client,
          { streamName: stream },
          Array.from({ length: 20 }, (_, k) => ({ data: enc(JSON.stringify({ id: from + k })), partitionKey: `pk_${from + k}` })),
        );
        produced += 20;
        await sleep(50);
      }
    } finally {
      client.destroy();
    }
  })();

  let server = await serve();
  const run = spawnCli(['run', '--config', config], { env: childEnv({ AWS_ENDPOINT_URL_KINESIS: local.url }), cwd: dir });
  const commits = () => logLines(run.stdout()).filter((l) => l.msg === 'commit').length;
  const retries = () => logLines(run.stdout()).filter((l) => l.msg.startsWith('commit: catalog unavailable'));
  try {
    await run.waitForStdout(() => commits() >= 2, 40_000, 'two commits');

    // A long outage: the server is gone for 5 s (plus its restart).
    await kill(server);
    const killedAt = Date.now();
    await sleep(5_000);
    const retriesDown = retries().length;
    server = await serve();
    const outageMs = Date.now() - killedAt;
    const before = commits();
    await run.waitForStdout(() => commits() > before, 30_000, 'a commit after the outage');
    assert.ok(retriesDown >= 2, `retries logged while the catalog was down (${retriesDown})`);
    // One line per retry, waits growing to 5 s: a handful, not a flood.
    assert.ok(retries().length <= 4 + outageMs / 1000, `${retries().length} retry lines for an outage of ${outageMs} ms`);
    const line = retries()[0]!;
    assert.equal(line.level, 'warn');
    assert.equal(line.table, 'db.events');
    assert.match(String(line.error), /ECONNREFUSED/);

    // Short kills at random moments, each restarted on the same port.
    for (let i = 0; i < 4; i++) {
      await sleep(200 + Math.random() * 1_000);
      await kill(server);
      await sleep(Math.random() * 800);
      server = await serve();
    }
    const afterKills = commits();
    await run.waitForStdout(() => commits() > afterKills, 30_000, 'a commit after the kills');

    producing = false;
    await producer;
    // Everything produced is read and committed; then a clean stop.
    await sleep(1_500);
    run.child.kill('SIGTERM');
    const end = await run.exited;
    assert.deepEqual(end, { code: 0, signal: null }, `floe run exit; stderr: ${run.stderr()}\n${run.stdout().slice(-3000)}`);
    // No error: every unknown outcome (a kill while a commit was on the wire, or a request on a
    // pooled connection the dead server had closed) was resolved by reloading.
    assert.deepEqual(logLines(run.stdout()).filter((l) => l.level === 'error'), []);
    const reasons = retries().map((l) => /\((\S+)\)/.exec(l.msg)?.[1]);
    t.diagnostic(`produced ${produced}, ${commits()} commits, retries by reason: ${JSON.stringify(countBy(reasons))}`);
    // A refused connection is "unreachable", never an unknown outcome.
    for (const l of retries()) if (/ECONNREFUSED/.test(String(l.error))) assert.match(l.msg, /\((unreachable|reload-failed)\)/);
  } finally {
    producing = false;
    await producer.catch(() => undefined);
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
    await kill(server);
  }

  const catalog = new SqlCatalog({ name: 'floe', uri: join(warehouse, 'catalog.db'), warehouse });
  const engine = await QueryEngine.open({ catalog });
  try {
    const r = await engine.query('SELECT count(*), count(DISTINCT id), min(id), max(id) FROM db.events');
    assert.deepEqual(r.rows[0], [BigInt(produced), BigInt(produced), 0n, BigInt(produced - 1)], `produced ${produced}`);
  } finally {
    engine.close();
    await catalog.close();
  }
});
