/**
 * A member of a Kafka group that loses its partitions while it holds rows it has not committed
 * (librdkafka's mock cluster, `kcat -P` producing all along): two `floe run` processes share a
 * topic; one is frozen (SIGSTOP) for longer than the session timeout, so the group gives its
 * partitions to the other, which commits them; thawed (SIGCONT), the frozen one either commits
 * its held rows, which the table's positions fence per partition (the other moved them), or sees
 * the revocation first and drops them. Either way: every record exactly once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SKIP_NO_KCAT, startMockKafka, startProducer, type MockKafka } from '../source/kafka-mock.js';
import { childEnv, killStrayCliProcesses, spawnCli, type CliProcess } from './spawn.js';
import { countRows, queryWarehouse } from '../helpers/warehouse-query.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('floe run: a Kafka member frozen past its session', { skip: SKIP_NO_KCAT }, () => {
  let mock: MockKafka;
  let dir: string;
  before(async () => {
    mock = await startMockKafka({ brokers: 1 });
    dir = await mkdtemp(join(tmpdir(), 'floe-run-kafka-fence-'));
  });
  after(async () => {
    killStrayCliProcesses();
    await mock?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('its held rows are fenced or dropped, never committed twice', { timeout: 120_000 }, async () => {
    const warehouse = join(dir, 'wh');
    const config = join(dir, 'fence.yaml');
    await writeFile(
      config,
      [
        'source:',
        '  type: kafka',
        `  brokers: ${mock.bootstrap}`,
        '  group: g-fence',
        '  topics: [fence]',
        '  session_timeout: 4s',
        'catalog:',
        `  warehouse: ${warehouse}`,
        'table:',
        '  name: db.fence',
        'transform:',
        '  columns:',
        '    id: { type: long, required: true }',
        // Commits seldom, so the frozen member holds rows when it loses its partitions.
        'commit:',
        '  interval: 1500ms',
        'maintenance: false',
        '',
      ].join('\n'),
    );
    const query = <T extends unknown[]>(sql: string): Promise<T[]> => queryWarehouse<T>(warehouse, sql);
    const rows = (): Promise<bigint> => countRows(warehouse, 'db.fence');
    const producer = startProducer(mock.bootstrap, 'fence');
    let next = 0;
    const sending = setInterval(() => producer.send(Array.from({ length: 20 }, () => JSON.stringify({ id: next++ }))), 50);
    const run = (): CliProcess => spawnCli(['run', '--config', config], { env: childEnv(), cwd: dir });
    const procs: CliProcess[] = [];
    try {
      const a = run();
      procs.push(a);
      await a.waitForStdout((out) => out.includes('"msg":"commit"'), 30_000, 'a commit of the first process');
      const b = run();
      procs.push(b);
      await b.waitForStdout((out) => out.includes('"msg":"commit"'), 30_000, 'a commit of the second process');
      // Freeze the first about when its next commit is due (1.5 s after one): it holds ~1.5 s of
      // input, sometimes mid-commit (then fenced when it thaws), sometimes just before one.
      const commitsOfA = a.stdout().split('"msg":"commit"').length;
      await a.waitForStdout((out) => out.split('"msg":"commit"').length > commitsOfA, 10_000, 'another commit of the first process');
      await sleep(1400 + Math.floor(Math.random() * 150));
      a.child.kill('SIGSTOP');
      // Past the session (4 s) and the mock's rebalance wait: the second takes every partition.
      const assigned = b.stdout().split('assigned 4 partitions').length;
      await b.waitForStdout((out) => out.split('assigned 4 partitions').length > assigned, 20_000, 'the second process owning all 4 partitions');
      const commitsOfB = b.stdout().split('"msg":"commit"').length;
      await b.waitForStdout((out) => out.split('"msg":"commit"').length > commitsOfB, 10_000, 'a commit of the second process with them');
      a.child.kill('SIGCONT');
      await sleep(1500);
    } finally {
      clearInterval(sending);
      await producer.end();
    }
    const total = next;
    try {
      const deadline = Date.now() + 40_000;
      while ((await rows()) < BigInt(total)) {
        if (Date.now() > deadline) throw new Error(`test: ${await rows()} of ${total} rows; ${procs.map((p) => p.stdout().slice(-1500) + p.stderr().slice(-500)).join(' | ')}`);
        await sleep(300);
      }
      await sleep(800);
      for (const p of procs) p.child.kill('SIGTERM');
      const ends = await Promise.all(procs.map((p) => p.exited));
      ends.forEach((e, i) => assert.deepEqual(e, { code: 0, signal: null }, procs[i]!.stderr()));
      const [n, distinct] = (await query<[bigint, bigint]>('SELECT count(*), count(DISTINCT id) FROM db.fence'))[0]!;
      assert.equal(n, BigInt(total), 'no duplicate, no loss');
      assert.equal(distinct, BigInt(total));
      const a = procs[0]!.stdout();
      const fencedLines = a.split('\n').filter((l) => l.includes('"msg":"rewound') && !l.includes('"fenced":[]'));
      const droppedLines = a.split('\n').filter((l) => l.includes('"msg":"rewound') && l.includes('"fenced":[]'));
      // One of the two ways happened to the frozen member's held rows.
      assert.ok(fencedLines.length + droppedLines.length > 0, `the frozen member rewound: ${a.slice(-3000)}`);
      console.log(`kafka frozen member: ${total} records exactly once; its rows fenced ${fencedLines.length} times, dropped on revocation ${droppedLines.length} times`);
    } finally {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });
});
