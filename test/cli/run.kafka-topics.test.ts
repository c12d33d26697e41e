/**
 * `floe run` with a Kafka source while topics and partitions appear (librdkafka's mock cluster,
 * records produced by `kcat -P`), every record exactly once:
 * - a topic created after the start by producing to it (the mock creates topics on first use)
 *   joins `topic_pattern` within `metadata_max_age`, the source joining the group again as a new
 *   member while a producer keeps writing to the topic it already reads;
 * - partitions added to a topic while running: the mock has no CreatePartitions, so floe reads
 *   through `kafka-metadata-proxy.ts`, whose Metadata shows 2 of the topic's 4 partitions until the
 *   limit is lifted (to floe, what CreatePartitions does); kafkajs sees the new partitions at
 *   its next metadata refresh (`metadata_max_age`) and the group rebalances.
 * The mock's group waits `session_timeout` − 1 s for members to join again: 3 s sessions here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SKIP_NO_KCAT, produce, startMockKafka, startProducer, type MockKafka } from '../source/kafka-mock.js';
import { startKafkaProxy } from '../source/kafka-metadata-proxy.js';
import { childEnv, killStrayCliProcesses, spawnCli, type CliProcess } from './spawn.js';
import { countRows, queryWarehouse } from '../helpers/warehouse-query.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('floe run: topics and partitions created while running', { skip: SKIP_NO_KCAT }, () => {
  let mock: MockKafka;
  let dir: string;
  before(async () => {
    mock = await startMockKafka();
    dir = await mkdtemp(join(tmpdir(), 'floe-run-kafka-topics-'));
  });
  after(async () => {
    killStrayCliProcesses();
    await mock?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a topic created after the start is read, every record of every topic exactly once', { timeout: 90_000 }, async () => {
    const warehouse = join(dir, 'wh');
    const config = join(dir, 'disc.yaml');
    await writeFile(
      config,
      [
        'source:',
        '  type: kafka',
        `  brokers: ${mock.bootstrap}`,
        '  group: g-disc',
        '  topic_pattern: "^disc-[a-z]+$"',
        '  session_timeout: 3s',
        '  metadata_max_age: 300ms',
        'catalog:',
        `  warehouse: ${warehouse}`,
        'table:',
        '  name: db.disc',
        'transform:',
        '  columns:',
        '    id: { type: long, required: true }',
        '    topic: { type: string, value: topic }',
        '    part: { type: int, value: partition }',
        '    off: { type: long, value: offset }',
        'commit:',
        '  interval: 200ms',
        'maintenance: false',
        '',
      ].join('\n'),
    );
    const query = <T extends unknown[]>(sql: string): Promise<T[]> => queryWarehouse<T>(warehouse, sql);
    const rows = (): Promise<bigint> => countRows(warehouse, 'db.disc');
    // A topic that matches, and one that does not (must never be read).
    await produce(mock.bootstrap, 'disc-a', [{ value: JSON.stringify({ id: 0 }) }]);
    await produce(mock.bootstrap, 'other-x', [{ value: JSON.stringify({ id: -1 }) }]);
    let next = 1;
    const producer = startProducer(mock.bootstrap, 'disc-a');
    const sending = setInterval(() => producer.send(Array.from({ length: 20 }, () => JSON.stringify({ id: next++ }))), 50);
    const p = spawnCli(['run', '--config', config], { env: childEnv(), cwd: dir });
    let newTopicRecords = 0;
    try {
      await p.waitForStdout((out) => out.includes('"msg":"commit"'), 30_000, 'a first commit');
      // disc-b does not exist until this produce creates it (4 partitions, the mock's default).
      const first = Array.from({ length: 100 }, (_, i) => ({ value: JSON.stringify({ id: 1_000_000 + i }), key: `k${i}` }));
      await produce(mock.bootstrap, 'disc-b', first);
      newTopicRecords += first.length;
      await p.waitForStdout((out) => out.includes('new topics match source.topic_pattern: disc-b'), 15_000, 'disc-b listed');
      // More to the new topic while the member joins again, and after.
      const second = Array.from({ length: 100 }, (_, i) => ({ value: JSON.stringify({ id: 1_000_100 + i }), key: `j${i}` }));
      await produce(mock.bootstrap, 'disc-b', second);
      newTopicRecords += second.length;
      await sleep(1500);
    } finally {
      clearInterval(sending);
      await producer.end();
    }
    const total = next + newTopicRecords;
    try {
      const deadline = Date.now() + 40_000;
      while ((await rows()) < BigInt(total)) {
        if (Date.now() > deadline) throw new Error(`test: ${await rows()} of ${total} rows; stdout: ${p.stdout().slice(-2000)} stderr: ${p.stderr().slice(-2000)}`);
        await sleep(300);
      }
      await sleep(800);
      p.child.kill('SIGTERM');
      assert.deepEqual(await p.exited, { code: 0, signal: null }, p.stderr());
      const [n, distinct] = (await query<[bigint, bigint]>('SELECT count(*), count(DISTINCT id) FROM db.disc'))[0]!;
      assert.equal(n, BigInt(total), 'no duplicate, no loss');
      assert.equal(distinct, BigInt(total));
      const byTopic = await query<[string, bigint]>('SELECT topic, count(*) FROM db.disc GROUP BY topic ORDER BY topic');
      assert.deepEqual(byTopic, [
        ['disc-a', BigInt(next)],
        ['disc-b', BigInt(newTopicRecords)],
      ]);
      // Per partition, offsets 0..n-1 exactly: nothing skipped or repeated across the restart.
      const parts = await query<[string, number, bigint, bigint, bigint]>('SELECT topic, part, count(*), min(off), max(off) FROM db.disc GROUP BY topic, part ORDER BY topic, part');
      assert.equal(parts.filter((r) => r[0] === 'disc-b').length, 4, 'the new topic\'s 4 partitions');
      for (const [topic, part, count, lo, hi] of parts) assert.ok(lo === 0n && hi === count - 1n, `${topic}:${part}: ${count} rows, offsets ${lo}..${hi}`);
      const out = p.stdout();
      console.log(`kafka topic discovery: ${total} records (${newTopicRecords} in disc-b), rewinds ${out.split('"msg":"rewound').length - 1}`);
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });

  test('partitions added to a topic while running are read, every record exactly once', { timeout: 90_000 }, async () => {
    // One broker: kafkajs fetches from each broker separately, and with 3 every fetcher sees the
    // new partitions and joins again, so the mock's group rebalances 3–4 times (about 10 s more;
    // exactly once holds the same: FLOE_KAFKA_GROW_BROKERS=3 runs it so).
    const own = await startMockKafka({ brokers: Number(process.env.FLOE_KAFKA_GROW_BROKERS ?? 1) });
    const proxy = await startKafkaProxy(own);
    const warehouse = join(dir, 'wh-grow');
    const config = join(dir, 'grow.yaml');
    await writeFile(
      config,
      [
        'source:',
        '  type: kafka',
        `  brokers: ${proxy.bootstrap}`,
        '  group: g-grow',
        '  topics: [grow]',
        '  session_timeout: 3s',
        '  metadata_max_age: 300ms',
        'catalog:',
        `  warehouse: ${warehouse}`,
        'table:',
        '  name: db.grow',
        'transform:',
        '  columns:',
        '    id: { type: long, required: true }',
        '    part: { type: int, value: partition }',
        '    off: { type: long, value: offset }',
        'commit:',
        '  interval: 200ms',
        'maintenance: false',
        '',
      ].join('\n'),
    );
    const query = <T extends unknown[]>(sql: string): Promise<T[]> => queryWarehouse<T>(warehouse, sql);
    const rows = (): Promise<bigint> => countRows(warehouse, 'db.grow');
    // To floe the topic has partitions 0 and 1; the producers see all 4 and write to every one.
    proxy.limitPartitions('grow', 2);
    let next = 0;
    for (const part of [0, 1, 2, 3]) await produce(own.bootstrap, 'grow', Array.from({ length: 20 }, () => ({ value: JSON.stringify({ id: next++ }) })), { partition: part });
    const producer = startProducer(own.bootstrap, 'grow');
    const sending = setInterval(() => producer.send(Array.from({ length: 20 }, () => JSON.stringify({ id: next++ }))), 50);
    let p: CliProcess | undefined;
    const t0 = Date.now();
    const phases: string[] = [];
    const mark = (what: string) => phases.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    try {
      p = spawnCli(['run', '--config', config], { env: childEnv(), cwd: dir });
      await p.waitForStdout((out) => out.includes('"msg":"commit"'), 30_000, 'a first commit');
      mark('first commit');
      const before = await query<[number]>('SELECT DISTINCT part FROM db.grow ORDER BY part');
      assert.ok(before.length > 0 && before.every((r) => r[0] === 0 || r[0] === 1), `only the partitions the metadata shows: ${JSON.stringify(before)}`);
      // "CreatePartitions": the next metadata shows 4 partitions.
      proxy.limitPartitions('grow', undefined);
      mark('revealed');
      // The mock's group waits for members to join again (session timeout − 1 s) before assigning.
      await p.waitForStdout((out) => out.includes('assigned 4 partitions'), 30_000, 'the 4 partitions assigned');
      mark('4 assigned');
      await sleep(1000);
    } finally {
      clearInterval(sending);
      await producer.end();
    }
    const total = next;
    try {
      const deadline = Date.now() + 40_000;
      while ((await rows()) < BigInt(total)) {
        if (Date.now() > deadline) throw new Error(`test: ${await rows()} of ${total} rows; stdout: ${p.stdout().slice(-2000)} stderr: ${p.stderr().slice(-2000)}`);
        await sleep(300);
      }
      mark('all rows');
      await sleep(800);
      p.child.kill('SIGTERM');
      assert.deepEqual(await p.exited, { code: 0, signal: null }, p.stderr());
      const [n, distinct] = (await query<[bigint, bigint]>('SELECT count(*), count(DISTINCT id) FROM db.grow'))[0]!;
      assert.equal(n, BigInt(total), 'no duplicate, no loss');
      assert.equal(distinct, BigInt(total));
      const parts = await query<[number, bigint, bigint, bigint]>('SELECT part, count(*), min(off), max(off) FROM db.grow GROUP BY part ORDER BY part');
      assert.deepEqual(parts.map((r) => r[0]), [0, 1, 2, 3]);
      for (const [part, count, lo, hi] of parts) assert.ok(count >= 20n && lo === 0n && hi === count - 1n, `grow:${part}: ${count} rows, offsets ${lo}..${hi}`);
      assert.deepEqual(proxy.errors, []);
      if (process.env.FLOE_KAFKA_DEBUG) console.log(p.stdout());
      console.log(`kafka partitions added: ${total} records, rows per partition ${parts.map((r) => r[1]).join('/')}, rewinds ${p.stdout().split('"msg":"rewound').length - 1}; ${phases.join(', ')}`);
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await proxy.close();
      await own.stop();
    }
  });
});
