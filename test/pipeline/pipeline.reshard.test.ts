/**
 * The real Pipeline against a real kinesis-local on 127.0.0.1 while the stream is resharded with
 * UpdateShardCount (2 → 4 while running, 4 → 2 while stopped, 2 → 1 after resuming) and a
 * producer keeps writing: every produced record ends up in the table exactly once, no child
 * shard's records are committed before the commit that holds its parents' SHARD_END, a closed
 * shard's checkpoint leaves the summary once a child of it has one (the next run resumes without
 * it), and the final snapshot summary holds only the open shard's position.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { ancestors, snapshotForRef } from '../../src/iceberg/snapshot.js';
import { readCheckpoint } from '../../src/pipeline/checkpoint.js';
import type { PipelineConfig } from '../../src/pipeline/config.js';
import { Pipeline, type PipelineEvent } from '../../src/pipeline/pipeline.js';
import { referenceConfig, REFERENCE_STREAM, REFERENCE_TABLE } from '../../src/pipeline/reference.js';
import { QueryEngine } from '../../src/query/engine.js';
import { ensureStream } from '../../src/source/kinesis/admin.js';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { isoSeconds } from '../../src/source/kinesis/reference-events.js';
import { SHARD_END } from '../../src/source/source.js';
import { KeyedProducer, lineage, sleep, updateShardCount } from '../source/kinesis-local-fixtures.js';
import { tryStartKinesisLocal, type KinesisLocalStart } from '../source/kinesis-local-server.js';
import { clientFor, waitFor } from '../source/kinesis-test-helpers.js';

let local: KinesisLocalStart = { skip: 'kinesis-local not started' };
let client: KinesisClient | undefined;

before(async () => {
  local = await tryStartKinesisLocal();
  if (local.server) client = clientFor(local.server.url, 3);
});
after(async () => {
  client?.destroy();
  await local.server?.close();
});

function kinesis(t: TestContext): KinesisClient | undefined {
  if (!client) t.skip(local.skip ?? 'kinesis-local not started');
  return client;
}

/** The reference pipeline plus the shard each row came from. */
function config(warehouse: string, endpoint: string): PipelineConfig {
  const base = referenceConfig({ warehouse, endpoint, intervalMs: 200 });
  return { ...base, transform: { columns: [...base.transform.columns, { name: 'shard', type: 'string', value: 'shard' }] } };
}

/** Reference-shaped fields for the keyed producer's records: event_id is `<key>-<n>`. */
function referenceFields(key: string, n: number): Record<string, unknown> {
  return {
    event_id: `${key}-${n}`,
    user_id: `user_00${n % 5}`,
    event_type: (['click', 'page_view', 'purchase'] as const)[n % 3],
    page: `/products/${100 + n}`,
    timestamp: isoSeconds(Date.now()),
  };
}

async function query(catalog: SqlCatalog, sql: string): Promise<unknown[][]> {
  const engine = await QueryEngine.open({ catalog });
  try {
    const r = await engine.query(sql);
    return r.rows.map((row) => row.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
  } finally {
    engine.close();
  }
}

test('pipeline: UpdateShardCount while running and while stopped: every record exactly once, lineage checkpointed', async (t) => {
  const c = kinesis(t);
  if (!c || !local.server) return;
  const url = local.server.url;
  await ensureStream(c, { streamName: REFERENCE_STREAM, shardCount: 2 });
  const dir = await mkdtemp(join(tmpdir(), 'floe-reshard-'));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  const cfg = config(dir, url);
  const producer = new KeyedProducer(c, REFERENCE_STREAM, 16, { extra: referenceFields });

  /** Every event of both runs, in order. */
  const events: PipelineEvent[] = [];
  let committedRecords = 0;
  const clients: KinesisClient[] = [];
  const runs: { pipeline: Pipeline; done: Promise<unknown> }[] = [];
  const run = async (): Promise<{ pipeline: Pipeline; done: Promise<unknown> }> => {
    const sourceClient = clientFor(url, 3);
    clients.push(sourceClient);
    const pipeline = await Pipeline.open({
      config: cfg,
      catalog,
      source: new KinesisSource({ client: sourceClient, streamName: REFERENCE_STREAM, discoveryIntervalMs: 500, idleDelayMs: 30, minCallIntervalMs: 30 }),
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'commit') committedRecords += e.records + e.deadLetters;
      },
    });
    const r = { pipeline, done: pipeline.run() };
    r.done.catch(() => undefined); // awaited by the test; no unhandled rejection if a step before fails
    runs.push(r);
    return r;
  };

  try {
    const committedShards = (): Set<string> => {
      const out = new Set<string>();
      for (const e of events) if (e.type === 'commit') for (const [k, v] of Object.entries(e.positions)) if (v !== SHARD_END) out.add(k);
      return out;
    };
    const childrenOf = async (parents: string[]): Promise<string[]> =>
      (await lineage(c, REFERENCE_STREAM)).filter((s) => s.parents.some((p) => parents.includes(p))).map((s) => s.id);

    // Run 1: 2 shards, then 4 while it reads; stopped once it committed records of a child.
    const roots = (await lineage(c, REFERENCE_STREAM)).map((s) => s.id);
    const first = await run();
    producer.start();
    await waitFor(() => committedRecords > 0, 15_000, 'run 1 commits');
    await updateShardCount(c, REFERENCE_STREAM, 4);
    const split = await childrenOf(roots);
    await waitFor(() => split.some((s) => committedShards().has(s)), 15_000, 'run 1 commits records of a child shard');
    first.pipeline.stop();
    await first.done;

    // Stopped: the stream is merged back to 2 shards while the producer keeps going.
    await updateShardCount(c, REFERENCE_STREAM, 2);
    const merged = await childrenOf(split);
    await sleep(300);

    // Run 2 resumes from the table; once it reads the merged shards, down to 1 shard under it.
    const second = await run();
    await waitFor(() => merged.some((s) => committedShards().has(s)), 15_000, 'run 2 commits records of a merged shard');
    await updateShardCount(c, REFERENCE_STREAM, 1);
    const last = await childrenOf(merged);
    const rounds = producer.rounds;
    await waitFor(() => producer.rounds >= rounds + 3, 10_000, 'the producer writes to the last shard');
    const produced = await producer.stop();
    await waitFor(() => committedRecords >= produced, 20_000, `${produced} records committed (have ${committedRecords})`);
    second.pipeline.stop();
    await second.done;
    assert.equal(last.length, 1);

    assert.equal(events.filter((e) => e.type === 'error').length, 0, JSON.stringify(events.filter((e) => e.type === 'error')));
    assert.equal(events.filter((e) => e.type === 'dead-letter').length, 0);
    assert.equal(committedRecords, produced, 'commit events add up to what was produced');
    assert.deepEqual(await query(catalog, `SELECT count(*), count(DISTINCT event_id) FROM ${REFERENCE_TABLE}`), [[produced, produced]]);

    const shards = await lineage(c, REFERENCE_STREAM);
    assert.equal(shards.length, 9, 'lineage 2 → 4 → 2 → 1');
    // Every shard of the lineage contributed rows (the producer wrote during each one's life).
    const perShard = new Map((await query(catalog, `SELECT shard, count(*) FROM ${REFERENCE_TABLE} GROUP BY shard`)).map(([s, n]) => [s as string, n as number]));
    for (const sh of shards) assert.ok((perShard.get(sh.id) ?? 0) > 0, `rows from ${sh.id}`);

    // Commit order: a shard's first committed position comes after the commit of each parent's end.
    const commits = events.filter((e): e is Extract<PipelineEvent, { type: 'commit' }> => e.type === 'commit');
    const firstCommit = (shard: string): number => commits.findIndex((e) => e.positions[shard] !== undefined);
    const endCommit = (shard: string): number => commits.findIndex((e) => e.positions[shard] === SHARD_END);
    for (const sh of shards) {
      for (const p of sh.parents) {
        const end = endCommit(p);
        assert.ok(end >= 0, `SHARD_END of ${p} committed`);
        assert.ok(end < firstCommit(sh.id), `${sh.id} first committed in commit ${firstCommit(sh.id)}, after ${p} ended in commit ${end}`);
      }
    }

    // The final snapshot summary: the 8 closed shards all have a child with a position, so only
    // the open shard keeps one (summaries do not grow with every reshard).
    const table = await catalog.loadTable({ namespace: ['glue_streaming_iceberg_db'], name: 'streaming_events' });
    const positions = readCheckpoint(snapshotForRef(table.metadata, 'main'), REFERENCE_STREAM);
    const open = shards.filter((sh) => !sh.closed).map((sh) => sh.id);
    assert.deepEqual([...positions.keys()], open);
    assert.match(positions.get(open[0]!) ?? '', /^\d+$/, 'the open shard at a sequence number');
    // In every snapshot, a shard whose position left the summary has a descendant with one: what
    // a restart from that snapshot needs to know the shard is done (rule 2 of lineage.ts).
    const descendants = (id: string): string[] => {
      const kids = shards.filter((x) => x.parents.includes(id)).map((x) => x.id);
      return [...kids, ...kids.flatMap(descendants)];
    };
    const history = [...ancestors(table.metadata, snapshotForRef(table.metadata, 'main')!['snapshot-id'])].reverse();
    const seen = new Set<string>();
    let retiredSnapshots = 0;
    for (const snap of history) {
      const cp = readCheckpoint(snap, REFERENCE_STREAM);
      for (const id of seen) {
        if (cp.has(id)) continue;
        retiredSnapshots++;
        assert.ok(descendants(id).some((d) => cp.has(d)), `snapshot ${snap['snapshot-id']}: ${id} left without a descendant position`);
      }
      for (const id of cp.keys()) seen.add(id);
    }
    assert.ok(retiredSnapshots > 0);
    // Run 2 started from run 1's positions: no root still reading, at least one root already
    // gone from the checkpoint (a child of it had committed records), a child part-way.
    const started = events.filter((e): e is Extract<PipelineEvent, { type: 'started' }> => e.type === 'started');
    assert.equal(started.length, 2);
    for (const r of roots) assert.ok([undefined, SHARD_END].includes(started[1]!.positions[r]), `${r} ended or retired when run 2 started`);
    assert.ok(roots.some((r) => started[1]!.positions[r] === undefined), `a root retired before run 2: ${JSON.stringify(started[1]!.positions)}`);
    assert.ok(split.some((s) => /^\d+$/.test(started[1]!.positions[s] ?? '')), `a child part-way when run 2 started: ${JSON.stringify(started[1]!.positions)}`);
  } finally {
    await producer.stop().catch(() => undefined);
    for (const r of runs) r.pipeline.stop(); // a no-op for runs that ended; after a failure, ends the others
    await Promise.allSettled(runs.map((r) => r.done));
    for (const x of clients) x.destroy();
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
});
