/**
 * `floe run` with `source.type: kafka` as real processes against librdkafka's mock cluster
 * (kcat), records produced by `kcat -P` (another client than floe's kafkajs):
 * - 12 partitions (three 4-partition topics by `topic_pattern`: the mock creates topics with 4
 *   partitions and has no CreateTopics), derived values (topic, partition, offset, key, header,
 *   timestamp), bad records in the dead-letter table with topic:partition and offset;
 * - SIGKILL of `floe run` again and again while a producer sends: every record exactly once;
 * - two, then three processes in one group, each joining while the producer sends
 *   (rebalances): every record exactly once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SKIP_NO_KCAT, produce, startMockKafka, startProducer, type MockKafka } from '../source/kafka-mock.js';
import { childEnv, killStrayCliProcesses, spawnCli, type CliProcess } from './spawn.js';
import { queryWarehouse } from '../helpers/warehouse-query.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('floe run with a Kafka source (mock cluster)', { skip: SKIP_NO_KCAT }, () => {
  let mock: MockKafka;
  let dir: string;
  before(async () => {
    mock = await startMockKafka();
    dir = await mkdtemp(join(tmpdir(), 'floe-run-kafka-'));
  });
  after(async () => {
    killStrayCliProcesses();
    await mock?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function setup(name: string, source: string[], columns: string[], commit = ['  interval: 300ms']) {
    const warehouse = join(dir, name);
    const config = join(dir, `${name}.yaml`);
    await writeFile(
      config,
      [
        'source:',
        '  type: kafka',
        `  brokers: ${mock.bootstrap}`,
        `  group: g-${name}`,
        '  session_timeout: 3s',
        ...source,
        'catalog:',
        `  warehouse: ${warehouse}`,
        'table:',
        `  name: db.${name}`,
        'transform:',
        '  columns:',
        ...columns,
        'commit:',
        ...commit,
        'maintenance: false',
        '',
      ].join('\n'),
    );
    const query = <T extends unknown[]>(sql: string): Promise<T[]> => queryWarehouse<T>(warehouse, sql);
    const counts = async (): Promise<[bigint, bigint]> => {
      try {
        return (await query<[bigint, bigint]>(`SELECT count(*), count(DISTINCT id) FROM db.${name}`))[0]!;
      } catch {
        return [0n, 0n]; // not created yet
      }
    };
    const run = (): CliProcess => spawnCli(['run', '--config', config], { env: childEnv(), cwd: dir });
    return { config, query, counts, run };
  }

  async function waitRows(counts: () => Promise<[bigint, bigint]>, n: number, timeoutMs: number, procs: CliProcess[]): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [rows] = await counts();
      if (rows >= BigInt(n)) return;
      if (Date.now() > deadline) {
        throw new Error(`test: ${rows} of ${n} rows after ${timeoutMs} ms; stderr: ${procs.map((p) => p.stderr().slice(-1500)).join(' | ')} stdout: ${procs.map((p) => p.stdout().slice(-1500)).join(' | ')}`);
      }
      await sleep(300);
    }
  }

  test('12 partitions by topic_pattern, derived values, bad records to the dead-letter table', { timeout: 120_000 }, async () => {
    const s = await setup(
      'twelve',
      ['  topic_pattern: "^twelve-[abc]$"'],
      [
        '    id: { type: long, required: true }',
        '    topic: { type: string, value: topic }',
        '    part: { type: int, value: partition }',
        '    off: { type: long, value: offset }',
        '    k: { type: string, value: key }',
        '    trace: { type: string, header: trace }',
        '    ts: { type: timestamptz, value: timestamp }',
      ],
    );
    let id = 0;
    const expected = new Map<string, number>();
    for (const t of ['a', 'b', 'c']) {
      const recs = Array.from({ length: 100 }, () => ({ value: JSON.stringify({ id: id++ }), key: `key-${id % 13}` }));
      await produce(mock.bootstrap, `twelve-${t}`, recs);
      expected.set(`twelve-${t}`, 100);
    }
    await produce(mock.bootstrap, 'twelve-a', [{ value: JSON.stringify({ id: id++ }), key: 'h', headers: { trace: 't-1' } }]);
    // Bad records: not JSON, and a missing required id (on partition 2 of topic b).
    await produce(mock.bootstrap, 'twelve-b', [{ value: 'not json' }, { value: '{"other":1}' }], { partition: 2 });
    const p = s.run();
    try {
      await waitRows(s.counts, id, 60_000, [p]);
      await sleep(500);
      p.child.kill('SIGTERM');
      assert.deepEqual(await p.exited, { code: 0, signal: null }, p.stderr());
      assert.deepEqual(await s.counts(), [BigInt(id), BigInt(id)]);
      const parts = await s.query<[string, number, bigint]>('SELECT topic, part, count(*) FROM db.twelve GROUP BY topic, part ORDER BY topic, part');
      assert.equal(parts.length, 12, `12 partitions: ${JSON.stringify(parts, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
      // Offsets per partition are 0..n-1 with no gap or repeat (the bad ones on b:2 excepted).
      const gaps = await s.query<[bigint]>(
        "SELECT count(*) FROM (SELECT topic, part, max(off) - min(off) + 1 AS span, count(*) AS n FROM db.twelve GROUP BY topic, part) WHERE span <> n AND NOT (topic = 'twelve-b' AND part = 2)",
      );
      assert.equal(gaps[0]![0], 0n);
      const h = await s.query<[string, string, string]>("SELECT trace, k, topic FROM db.twelve WHERE trace IS NOT NULL");
      assert.deepEqual(h, [['t-1', 'h', 'twelve-a']]);
      const ts = await s.query<[bigint]>('SELECT count(*) FROM db.twelve WHERE ts > now() - INTERVAL 10 MINUTE AND ts <= now() + INTERVAL 1 MINUTE');
      assert.equal(ts[0]![0], BigInt(id));
      const dl = await s.query<[string, string, string, string]>('SELECT stream, shard, sequence_number, error FROM db.twelve_dead_letters ORDER BY sequence_number');
      assert.equal(dl.length, 2);
      for (const row of dl) {
        assert.equal(row[0], 'kafka');
        assert.equal(row[1], 'twelve-b:2');
      }
      assert.match(dl[0]![3], /not JSON/);
      assert.match(dl[1]![3], /required/);
      assert.deepEqual(
        dl.map((r) => r[2]),
        [...dl.map((r) => r[2])].sort((x, y) => Number(x) - Number(y)),
      );
      const lines = p.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; positions?: Record<string, string> });
      const lastCommit = lines.filter((l) => l.msg === 'commit').pop()!;
      assert.ok(Object.keys(lastCommit.positions ?? {}).every((k) => /^twelve-[abc]:[0-3]$/.test(k)));
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });

  // 30 s (about 4–5 kills) keeps `npm test` short; the long run (16+ kills) is
  // `FLOE_KAFKA_KILL_SECONDS=120 npx tsx --test test/cli/run.kafka.test.ts`.
  const KILL_SECONDS = Number(process.env.FLOE_KAFKA_KILL_SECONDS ?? 30);
  test('SIGKILL of floe run again and again while producing: every record exactly once', { timeout: 120_000 + KILL_SECONDS * 1000 }, async () => {
    const s = await setup('kills', ['  topics: [kills]'], ['    id: { type: long, required: true }'], ['  interval: 200ms']);
    const producer = startProducer(mock.bootstrap, 'kills');
    let next = 0;
    const sending = setInterval(() => {
      producer.send(Array.from({ length: 50 }, () => JSON.stringify({ id: next++ })));
    }, 50);
    const started = Date.now();
    let kills = 0;
    const procs: CliProcess[] = [];
    try {
      // Kill while producing for KILL_SECONDS (each restart waits for the group: session 3 s).
      while (Date.now() - started < KILL_SECONDS * 1000) {
        const p = s.run();
        procs.push(p);
        // Killed at a random moment after it started reading: sometimes mid-commit.
        await p.waitForStdout((out) => out.includes('"msg":"commit"'), 30_000, 'a commit').catch(() => undefined);
        await sleep(200 + Math.floor(Math.random() * 1500));
        p.child.kill('SIGKILL');
        await p.exited;
        kills++;
      }
    } finally {
      clearInterval(sending);
      await producer.end();
    }
    const total = next;
    const last = s.run();
    procs.push(last);
    try {
      await waitRows(s.counts, total, 90_000, [last]);
      await sleep(1000);
      last.child.kill('SIGTERM');
      assert.deepEqual(await last.exited, { code: 0, signal: null }, last.stderr());
      const [rows, distinct] = await s.counts();
      console.log(`kafka kills: ${kills} SIGKILLs in ${Math.round((Date.now() - started) / 1000)} s, ${total} records produced, ${rows} rows, ${distinct} distinct`);
      assert.ok(kills >= Math.min(4, Math.floor(KILL_SECONDS / 8)), `${kills} kills`);
      assert.equal(rows, BigInt(total), 'no duplicate, no loss');
      assert.equal(distinct, BigInt(total));
      const range = (await s.query<[bigint, bigint]>('SELECT min(id), max(id) FROM db.kills'))[0];
      assert.deepEqual(range, [0n, BigInt(total - 1)]);
    } finally {
      if (last.child.exitCode === null) last.child.kill('SIGKILL');
    }
  });

  test('two, then three processes in one group, each joining while producing (rebalances): every record exactly once', { timeout: 180_000 }, async () => {
    const s = await setup('trio', ['  topics: [trio]'], ['    id: { type: long, required: true }', '    part: { type: string, value: partition }'], ['  interval: 200ms']);
    const producer = startProducer(mock.bootstrap, 'trio');
    let next = 0;
    const sending = setInterval(() => {
      producer.send(Array.from({ length: 40 }, () => JSON.stringify({ id: next++ })));
    }, 50);
    const procs: CliProcess[] = [s.run()];
    try {
      await procs[0]!.waitForStdout((out) => out.includes('"msg":"commit"'), 30_000, 'a commit of the first process');
      for (const n of [2, 3]) {
        await sleep(1500);
        const p = s.run();
        procs.push(p);
        await p.waitForStdout((out) => out.includes('"msg":"commit"'), 40_000, `a commit of process ${n}`);
      }
      await sleep(3000);
    } finally {
      clearInterval(sending);
      await producer.end();
    }
    const total = next;
    try {
      await waitRows(s.counts, total, 60_000, procs);
      await sleep(1000);
      for (const p of procs) p.child.kill('SIGTERM');
      const ends = await Promise.all(procs.map((p) => p.exited));
      ends.forEach((e, i) => assert.deepEqual(e, { code: 0, signal: null }, procs[i]!.stderr()));
      const [rows, distinct] = await s.counts();
      const commitsOf = (p: CliProcess) => p.stdout().split('\n').filter((l) => l.includes('"msg":"commit"')).length;
      const rewinds = procs.map((p) => p.stdout().split('"msg":"rewound').length - 1).reduce((a, b) => a + b, 0);
      console.log(`kafka trio: ${total} records, ${rows} rows, ${distinct} distinct; commits ${procs.map(commitsOf).join(' + ')}; rewinds ${rewinds}`);
      assert.equal(rows, BigInt(total), 'no duplicate, no loss');
      assert.equal(distinct, BigInt(total));
      for (const p of procs) assert.ok(commitsOf(p) > 0, 'every member committed');
    } finally {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });
});
