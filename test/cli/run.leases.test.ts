/**
 * Several `floe run` processes share one 8-shard stream through a lease table (`source.application`,
 * issue #14) and write one table, against kinesalite and dynalite started here, with a SQLite
 * catalog, while a producer sends:
 * - a SIGKILLed worker's shards are read by the others within two failover times, and a new
 *   worker takes a fair share;
 * - a worker paused (SIGSTOP) past its leases loses its shards to the others, who commit them;
 *   resumed (SIGCONT), its commit is fenced on those shards: no duplicate, no loss.
 * Every produced id is counted in the table exactly once (rows and distinct ids).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { QueryEngine } from '../../src/query/engine.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { clientFor, createStream, enc, startFaultProxy, startLocal, type FaultProxy, type LocalEnv } from '../source/kinesis-test-helpers.js';
import { startDynalite, type LocalDynamo } from '../source/dynalite-helpers.js';
import { childEnv, killStrayCliProcesses, spawnCli, type CliProcess } from './spawn.js';

/** Failover time of the test config: renewals every second, take passes every second. */
const FAILOVER_MS = 3000;
const SHARDS = 8;

let kinesis: LocalEnv;
let dynamo: LocalDynamo;
/** In front of dynalite: counts the workers' DynamoDB calls. */
let proxy: FaultProxy;
let dir: string;

before(async () => {
  kinesis = await startLocal();
  dynamo = await startDynalite(50);
  proxy = await startFaultProxy(dynamo.url);
  dir = await mkdtemp(join(tmpdir(), 'floe-run-leases-'));
});

after(async () => {
  killStrayCliProcesses();
  await proxy.close();
  await dynamo.close();
  await kinesis.close();
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LogLine {
  ts: string;
  level: string;
  msg: string;
  [k: string]: unknown;
}

function logLines(stdout: string): LogLine[] {
  const out: LogLine[] = [];
  for (const l of stdout.split('\n')) {
    if (l.length === 0) continue;
    try {
      out.push(JSON.parse(l) as LogLine);
    } catch {
      // a partial last line
    }
  }
  return out;
}

/** The shards a worker holds according to its log (gained, not lost since). */
function held(p: CliProcess): Set<string> {
  const s = new Set<string>();
  for (const l of logLines(p.stdout())) {
    const m = /^leases: (gained|lost) shard (\S+)/.exec(l.msg);
    if (!m) continue;
    if (m[1] === 'gained') s.add(m[2]!);
    else s.delete(m[2]!);
  }
  return s;
}

/** When (epoch ms) a worker's log says it started reading `shard`, after `since`. */
function readingSince(p: CliProcess, shard: string, since: number): number | undefined {
  for (const l of logLines(p.stdout())) {
    if (l.msg.startsWith(`kinesis: reading shard ${shard} `) && Date.parse(l.ts) >= since) return Date.parse(l.ts);
  }
  return undefined;
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, procs: CliProcess[] = []): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      const logs = procs.map((p, i) => `--- worker ${i}\n${p.stdout().split('\n').slice(-25).join('\n')}\n${p.stderr()}`).join('\n');
      throw new Error(`test: timed out after ${timeoutMs} ms waiting for ${what}\n${logs}`);
    }
    await sleep(100);
  }
}

async function setup(name: string) {
  const stream = `leases-${name}`;
  await createStream(kinesis.client, stream, SHARDS);
  const warehouse = join(dir, name);
  const config = join(dir, `${name}.yaml`);
  await writeFile(
    config,
    [
      'source:',
      `  stream: ${stream}`,
      `  application: floe-${name}`,
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
  const env = childEnv({ AWS_ENDPOINT_URL_KINESIS: kinesis.url, AWS_ENDPOINT_URL_DYNAMODB: proxy.url });
  const workers: CliProcess[] = [];
  const start = (): CliProcess => {
    const p = spawnCli(['run', '--config', config], { env, cwd: dir });
    workers.push(p);
    return p;
  };
  // The producer: `perTick` records every 100 ms over random partition keys (all shards).
  let produced = 0;
  let producing: Promise<void> | undefined;
  let stopProducing = false;
  const client = clientFor(kinesis.url, 3);
  const produce = (perTick: number): void => {
    producing = (async () => {
      while (!stopProducing) {
        const from = produced;
        await putRecords(
          client,
          { streamName: stream },
          Array.from({ length: perTick }, (_, k) => ({ data: enc(JSON.stringify({ id: from + k })), partitionKey: `pk-${from + k}` })),
        );
        produced += perTick;
        await sleep(100);
      }
    })();
    producing.catch(() => undefined); // awaited by stopProducer
  };
  const stopProducer = async (): Promise<number> => {
    stopProducing = true;
    await producing;
    client.destroy();
    return produced;
  };
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
  /** Waits until every produced record is in the table, then stops the workers (SIGTERM) and checks again. */
  const finish = async (total: number, live: CliProcess[]): Promise<void> => {
    let last: [number, number] = [0, 0];
    await until(
      async () => {
        last = await rows();
        assert.ok(last[0] <= total && last[0] === last[1], `rows ${last[0]}, distinct ${last[1]}, produced ${total}: a duplicate`);
        return last[0] === total;
      },
      30_000,
      `all ${total} records in the table`,
      live,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nlast count: ${JSON.stringify(last)}`);
    });
    for (const p of live) p.child.kill('SIGTERM');
    for (const p of live) assert.deepEqual(await p.exited, { code: 0, signal: null }, p.stderr());
    assert.deepEqual(await rows(), [total, total]);
  };
  /** Stops the producer and kills what still runs (after a failure). */
  const cleanup = async (): Promise<void> => {
    stopProducing = true;
    await producing?.catch(() => undefined);
    client.destroy();
    for (const p of workers) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(workers.map((p) => p.exited));
  };
  return { start, workers, produce, stopProducer, rows, finish, cleanup };
}

test('floe run with leases: a killed worker\'s shards move within two failover times; a new worker takes a fair share', { timeout: 120_000 }, async () => {
  const s = await setup('kill');
  try {
    await killScenario(s);
  } finally {
    await s.cleanup();
  }
});

async function killScenario(s: Awaited<ReturnType<typeof setup>>): Promise<void> {
  const [a, b, c] = [s.start(), s.start(), s.start()];
  s.produce(20);
  // The 8 shards end up spread over the three workers (2 or 3 each).
  await until(() => [a, b, c].every((p) => held(p).size >= 2) && [a, b, c].reduce((n, p) => n + held(p).size, 0) === SHARDS, 40_000, 'shards spread over 3 workers', [a, b, c]);
  // What the lease table costs in steady state: DynamoDB calls per worker and second.
  const count = () => {
    const m = new Map<string, number>();
    for (const call of proxy.calls) m.set(call.op, (m.get(call.op) ?? 0) + 1);
    return m;
  };
  const before0 = count();
  const t0 = Date.now();
  await sleep(4000);
  const after0 = count();
  const seconds = (Date.now() - t0) / 1000;
  const rates = [...after0].map(([op, n]) => `${op} ${((n - (before0.get(op) ?? 0)) / seconds / 3).toFixed(2)}`);
  console.log(`# DynamoDB calls per worker per second (3 workers, 8 shards, failover ${FAILOVER_MS} ms, commit every 1 s): ${rates.join(', ')}`);

  const victim = held(a);
  a.child.kill('SIGKILL');
  const killedAt = Date.now();
  await a.exited;
  // The others read every shard of the killed worker again.
  await until(() => [...victim].every((shard) => readingSince(b, shard, killedAt) !== undefined || readingSince(c, shard, killedAt) !== undefined), 20_000, 'the killed worker\'s shards read by the others', [b, c]);
  const moved = Math.max(...[...victim].map((shard) => readingSince(b, shard, killedAt) ?? readingSince(c, shard, killedAt)!)) - killedAt;
  console.log(`# shards of the killed worker read again after ${moved} ms (failover time ${FAILOVER_MS} ms)`);
  // Timestamps are the workers' log times (ms); a loaded machine gets one extra second.
  assert.ok(moved <= 2 * FAILOVER_MS + 1000, `read again after ${moved} ms`);

  // A new worker: it takes a fair share (8 shards over 3 workers: at least 2), by stealing.
  const d = s.start();
  const joined = Date.now();
  await until(() => held(d).size >= 2, 30_000, 'the new worker holding 2 shards', [b, c, d]);
  const firstLine = Date.parse(logLines(d.stdout())[0]!.ts);
  console.log(`# the new worker held ${held(d).size} shards ${Date.now() - joined} ms after its spawn, ${Date.now() - firstLine} ms after its first log line`);
  await until(() => [b, c, d].reduce((n, p) => n + held(p).size, 0) === SHARDS, 20_000, 'every shard held once', [b, c, d]);
  await sleep(2000);

  const total = await s.stopProducer();
  await s.finish(total, [b, c, d]);
  console.log(`# ${total} records produced, each in the table once`);
}

test('floe run with leases: a paused worker (SIGSTOP) past its leases is fenced when resumed: no duplicate, no loss', { timeout: 120_000 }, async () => {
  const s = await setup('pause');
  try {
    await pauseScenario(s);
  } finally {
    await s.cleanup();
  }
});

async function pauseScenario(s: Awaited<ReturnType<typeof setup>>): Promise<void> {
  const [a, b, c] = [s.start(), s.start(), s.start()];
  s.produce(20);
  await until(() => [a, b, c].every((p) => held(p).size >= 2) && [a, b, c].reduce((n, p) => n + held(p).size, 0) === SHARDS, 40_000, 'shards spread over 3 workers', [a, b, c]);
  // Let a commit or two happen, then freeze a worker with rows read and not committed.
  await sleep(1500);
  const zombie = held(a);
  a.child.kill('SIGSTOP');
  const pausedAt = Date.now();
  // The others take its shards and commit them.
  await until(() => [...zombie].every((shard) => held(b).has(shard) || held(c).has(shard)), 20_000, 'the paused worker\'s shards taken', [b, c]);
  const commitsAfter = (p: CliProcess, shard: string) =>
    logLines(p.stdout()).some((l) => l.msg === 'commit' && Date.parse(l.ts) > pausedAt && Object.keys((l.positions as object) ?? {}).includes(shard));
  await until(() => [...zombie].every((shard) => commitsAfter(b, shard) || commitsAfter(c, shard)), 20_000, 'the taken shards committed by the others', [b, c]);
  a.child.kill('SIGCONT');
  // Resumed: it finds its leases gone (and any commit of those shards fenced).
  await until(() => held(a).size === 0 || logLines(a.stdout()).some((l) => l.msg.startsWith('rewound')), 20_000, 'the resumed worker giving up its shards', [a]);
  await sleep(3000);

  const total = await s.stopProducer();
  await s.finish(total, [a, b, c]);
  const rewound = logLines(a.stdout()).filter((l) => l.msg.startsWith('rewound'));
  const lost = logLines(a.stdout()).filter((l) => /^leases: lost shard .* \((expired|stolen)\)/.test(l.msg));
  console.log(`# ${total} records produced, each in the table once; the resumed worker: ${lost.length} lease(s) lost, ${rewound.length} rewind(s)`);
  assert.ok(lost.length > 0, 'the resumed worker lost leases');
  assert.ok(rewound.length > 0, 'the resumed worker dropped the rows it had not committed');
}
