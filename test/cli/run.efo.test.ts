/**
 * `floe run` reading through enhanced fan-out (`source.consumer`), with leases, against the local
 * SubscribeToShard server (`test/source/efo-server.ts`, records from kinesalite; subscriptions
 * last 2 s so they are renewed many times) and dynalite: two workers on a 4-shard stream while a
 * producer sends; one is SIGKILLed (its HTTP/2 subscriptions die with it), the other takes its
 * shards and subscribes from the table's positions. Every produced id is in the table exactly once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { QueryEngine } from '../../src/query/engine.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { clientFor, createStream, enc, startLocal, type LocalEnv } from '../source/kinesis-test-helpers.js';
import { startDynalite, type LocalDynamo } from '../source/dynalite-helpers.js';
import { startEfoServer, type EfoServer } from '../source/efo-server.js';
import { childEnv, killStrayCliProcesses, spawnCli, type CliProcess } from './spawn.js';

const FAILOVER_MS = 3000;
const SHARDS = 4;

let kinesis: LocalEnv;
let dynamo: LocalDynamo;
let efo: EfoServer;
let dir: string;

before(async () => {
  kinesis = await startLocal();
  dynamo = await startDynalite(50);
  efo = await startEfoServer({ upstream: kinesis.url, lifetimeMs: 2000, activationDelayMs: 500, pollIntervalMs: 50, heartbeatMs: 500 });
  dir = await mkdtemp(join(tmpdir(), 'floe-run-efo-'));
});

after(async () => {
  killStrayCliProcesses();
  await efo.close();
  await dynamo.close();
  await kinesis.close();
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function messages(p: CliProcess): { ts: number; msg: string }[] {
  const out: { ts: number; msg: string }[] = [];
  for (const l of p.stdout().split('\n')) {
    try {
      const j = JSON.parse(l) as { ts: string; msg: string };
      out.push({ ts: Date.parse(j.ts), msg: j.msg });
    } catch {
      // a partial line
    }
  }
  return out;
}

function held(p: CliProcess): Set<string> {
  const s = new Set<string>();
  for (const { msg } of messages(p)) {
    const m = /^leases: (gained|lost) shard (\S+)/.exec(msg);
    if (m) m[1] === 'gained' ? s.add(m[2]!) : s.delete(m[2]!);
  }
  return s;
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, procs: CliProcess[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      const logs = procs.map((p, i) => `--- worker ${i}\n${p.stdout().split('\n').slice(-20).join('\n')}\n${p.stderr()}`).join('\n');
      throw new Error(`test: timed out after ${timeoutMs} ms waiting for ${what}\n${logs}`);
    }
    await sleep(100);
  }
}

test('floe run with source.consumer (enhanced fan-out) and leases: SIGKILL a worker, every record lands once', { timeout: 120_000 }, async () => {
  const name = 'efo_kill';
  const stream = 'efo-kill';
  await createStream(kinesis.client, stream, SHARDS);
  const warehouse = join(dir, name);
  const config = join(dir, `${name}.yaml`);
  await writeFile(
    config,
    [
      'source:',
      `  stream: ${stream}`,
      '  consumer: floe-efo-test',
      '  application: floe-efo',
      '  discovery_interval: 2s',
      '  lease:',
      `    failover_time: ${FAILOVER_MS}ms`,
      'catalog:',
      `  warehouse: ${warehouse}`,
      'table:',
      `  name: db.${name}`,
      'transform:',
      '  columns:',
      '    id: { type: long, required: true }',
      '    shard: { type: string, value: shard }',
      'commit:',
      '  interval: 1s',
      'maintenance: false',
      '',
    ].join('\n'),
  );
  // Every Kinesis call goes to the EFO server (it forwards the others to kinesalite).
  const env = childEnv({ AWS_ENDPOINT_URL_KINESIS: efo.url, AWS_ENDPOINT_URL_DYNAMODB: dynamo.url });
  const workers: CliProcess[] = [];
  const start = (): CliProcess => {
    const p = spawnCli(['run', '--config', config], { env, cwd: dir });
    workers.push(p);
    return p;
  };
  const client = clientFor(kinesis.url, 3);
  let produced = 0;
  let stop = false;
  const producing = (async () => {
    while (!stop) {
      const from = produced;
      await putRecords(client, { streamName: stream }, Array.from({ length: 20 }, (_, k) => ({ data: enc(JSON.stringify({ id: from + k })), partitionKey: `pk-${from + k}` })));
      produced += 20;
      await sleep(100);
    }
  })();
  const rows = async (): Promise<[number, number]> => {
    const catalog = new SqlCatalog({ name: 'floe', uri: join(warehouse, 'catalog.db'), warehouse });
    try {
      if (!(await catalog.tableExists({ namespace: ['db'], name }))) return [0, 0];
      const engine = await QueryEngine.open({ catalog });
      try {
        const r = await engine.query(`SELECT count(*), count(DISTINCT id) FROM db.${name}`);
        const [n, d] = r.rows[0] as [bigint, bigint];
        return [Number(n), Number(d)];
      } finally {
        engine.close();
      }
    } finally {
      await catalog.close();
    }
  };
  try {
    const [a, b] = [start(), start()];
    await until(() => held(a).size >= 1 && held(b).size >= 1 && held(a).size + held(b).size === SHARDS, 40_000, 'shards spread over 2 workers', [a, b]);
    await until(async () => (await rows())[0] > 0, 20_000, 'a first commit', [a, b]);
    await sleep(1500);
    const victim = held(a);
    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await a.exited;
    await until(() => [...victim].every((s) => messages(b).some((m) => m.ts >= killedAt && m.msg.startsWith(`kinesis: reading shard ${s} `))), 20_000, 'the killed worker\'s shards subscribed by the other', [b]);
    await sleep(2500); // a subscription renewal or so
    stop = true;
    await producing;
    const total = produced;
    let last: [number, number] = [0, 0];
    await until(
      async () => {
        last = await rows();
        assert.ok(last[0] <= total && last[0] === last[1], `rows ${last[0]}, distinct ${last[1]}, produced ${total}: a duplicate`);
        return last[0] === total;
      },
      30_000,
      `all ${total} records in the table (last ${JSON.stringify(last)})`,
      [b],
    );
    b.child.kill('SIGTERM');
    assert.deepEqual(await b.exited, { code: 0, signal: null }, b.stderr());
    assert.deepEqual(await rows(), [total, total]);
    assert.equal(efo.stats.registrations, 1, 'one registration for both workers');
    assert.ok(efo.stats.expired >= 2, `subscriptions renewed: ${efo.stats.expired} expired`);
    assert.ok(efo.stats.starts.some((s) => s.type === 'AFTER_SEQUENCE_NUMBER'));
    assert.deepEqual(efo.active(), []);
    console.log(`# ${total} records produced, each in the table once; ${efo.stats.subscriptions} subscriptions (${efo.stats.expired} ended by their lifetime, ${efo.stats.resourceInUse} refused as in use)`);
  } finally {
    stop = true;
    await producing.catch(() => undefined);
    client.destroy();
    for (const p of workers) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(workers.map((p) => p.exited));
  }
});
