/**
 * Upserts that delete by position through a real pipeline (`table.upsert` on a format v3 table
 * with a long key: the key index of `table/upsert-vectors.ts`): many commits of random changes
 * end in the last state of each key, whatever the partitioning, with deletion vectors and no
 * equality delete; a restart builds the index again from the table (its start event counts the
 * live keys); `deletes: equality`, a v2 table and a string key keep equality deletes, and say why;
 * maintenance running beside the pipeline (`openPipeline`) compacts through the index while
 * commits keep deleting by position.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { FileContent, isDeletionVector } from '../../src/iceberg/manifest-types.js';
import type { MaintenanceEvent } from '../../src/maintenance/scheduler.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { Pipeline, type PipelineEvent, type PipelineStats } from '../../src/pipeline/pipeline.js';
import { QueryEngine } from '../../src/query/engine.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { openPipeline, type RunEvent } from '../../src/run/run-pipeline.js';
import type { MemoryPartition } from '../../src/source/memory.js';
import type { PollOptions, SourceBatch } from '../../src/source/source.js';
import { Table } from '../../src/table/table.js';
import { DrainingSource } from './harness.js';
import { rng } from '../helpers/rng.js';

const enc = new TextEncoder();
const ID = { namespace: ['db'], name: 't' };
const COLUMNS = { id: 'long', region: 'string', v: 'string' };
const V3 = { 'format-version': '3' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Records in one shard, each given as the object. */
function shard(id: string, records: object[]): MemoryPartition {
  return { id, length: records.length, record: (i) => ({ data: enc.encode(JSON.stringify(records[i])) }) };
}

/**
 * `n` random upserts and deletes of `keys` keys over two shards (keys split by shard: order per
 * key is stream order). `at(k)`: the shards holding the first k changes, and the expected rows
 * and live keys after them (a prefix of the same stream, for a run and its restart).
 */
function randomChanges(seed: number, n: number, keys = 25) {
  const rnd = rng(seed);
  const state = new Map<number, string>();
  const shards: object[][] = [[], []];
  const snapshots: { lengths: [number, number]; expected: string[]; live: number }[] = [];
  const snap = () => ({
    lengths: [shards[0]!.length, shards[1]!.length] as [number, number],
    expected: [...state.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r),
    live: state.size,
  });
  for (let i = 0; i < n; i++) {
    snapshots.push(snap());
    const id = Math.floor(rnd() * keys);
    const region = rnd() < 0.5 ? 'eu' : 'us';
    if (rnd() < 0.2) {
      shards[id % 2]!.push({ id, op: 'delete' });
      state.delete(id);
    } else {
      const v = `v${i}`;
      shards[id % 2]!.push({ id, region, v, op: rnd() < 0.5 ? 'insert' : 'update' });
      state.set(id, `${id}|${region}|${v}`);
    }
  }
  snapshots.push(snap());
  const at = (k: number) => {
    const s = snapshots[k]!;
    return { partitions: [shard('shard-0', shards[0]!.slice(0, s.lengths[0])), shard('shard-1', shards[1]!.slice(0, s.lengths[1]))], expected: s.expected, live: s.live };
  };
  return { at, ...at(n) };
}

interface Env {
  dir: string;
  catalog: SqlCatalog;
}

async function withCatalog(fn: (env: Env) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-upsert-vectors-pipe-'));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    await fn({ dir, catalog });
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

interface RunResult {
  stats: PipelineStats;
  events: RunEvent[];
}

/** One run to the end of the source (`open`: `Pipeline.open`, or `openPipeline` for maintenance beside it). */
async function runOnce(env: Env, config: Record<string, unknown>, source: DrainingSource, open: typeof openPipeline = Pipeline.open): Promise<RunResult> {
  const events: RunEvent[] = [];
  const pipeline = await open({
    config: validateConfig({ source: { stream: 'events' }, catalog: { warehouse: env.dir }, maintenance: false, ...config }),
    catalog: env.catalog,
    source,
    onEvent: (e) => events.push(e),
  });
  source.onDrained = () => pipeline.stop();
  const stats = await pipeline.run();
  return { stats, events };
}

async function query(env: Env, sql: string): Promise<string[]> {
  const engine = await QueryEngine.open({ catalog: env.catalog });
  try {
    return (await engine.query(sql)).rows.map((r) => r.map((v) => (v === null ? 'null' : String(v))).join('|'));
  } finally {
    engine.close();
  }
}

const rowsOf = (env: Env) => query(env, 'SELECT id, region, v FROM db.t ORDER BY id');
const countOf = async (env: Env) => Number((await query(env, 'SELECT count(*) FROM db.t'))[0]);

/** Live delete files of the current snapshot: deletion vectors, equality deletes, other position deletes. */
async function liveDeletes(env: Env): Promise<{ vectors: number; equality: number; positions: number }> {
  const table = await Table.load(env.catalog, ID);
  const scan = await planTableScan(table.io, table.metadata, { ref: 'main' });
  const all = [...new Map(scan.tasks.flatMap((t) => t.deletes).map((d) => [`${d.file.file_path}@${d.file.content_offset}`, d.file])).values()];
  return {
    vectors: all.filter(isDeletionVector).length,
    equality: all.filter((d) => d.content === FileContent.EQUALITY_DELETES).length,
    positions: all.filter((d) => d.content === FileContent.POSITION_DELETES && !isDeletionVector(d)).length,
  };
}

type UpsertDeletes = Extract<PipelineEvent, { type: 'upsert-deletes' }>;
const upsertDeletes = (events: RunEvent[]): UpsertDeletes[] => events.filter((e): e is UpsertDeletes => e.type === 'upsert-deletes');

/** The run deleted by position from start to end: one start event saying so, with the index's size and memory. */
function assertVectorsThroughout(events: RunEvent[], keys?: number): void {
  const modes = upsertDeletes(events);
  assert.equal(modes.length, 1, `one upsert-deletes event (the mode never changed): ${JSON.stringify(modes)}`);
  const e = modes[0]!;
  assert.equal(e.deletes, 'deletion-vectors', JSON.stringify(e));
  assert.equal(e.table, 'db.t');
  assert.equal(typeof e.keys, 'number');
  assert.equal(typeof e.memoryBytes, 'number');
  assert.ok(e.memoryBytes! > 0, `memoryBytes ${e.memoryBytes}`);
  assert.equal(typeof e.durationMs, 'number');
  if (keys !== undefined) assert.equal(e.keys, keys, 'the index holds every live key of the table');
  // Reported before the first commit (at start).
  const first = events.findIndex((x) => x.type === 'commit');
  assert.ok(first === -1 || events.indexOf(e) < first, 'reported at start');
}

function upsertConfig(partitionBy: string | undefined, extra: Record<string, unknown> = {}, maxRecords = 9) {
  return {
    table: { name: 'db.t', upsert: { key: ['id'] }, properties: V3, ...(partitionBy ? { partition_by: partitionBy } : {}), ...extra },
    transform: { columns: COLUMNS, operation: { path: 'op', delete: ['delete'] } },
    commit: { interval: '1h', max_records: maxRecords },
  };
}

for (const [label, partitionBy, seed] of [['unpartitioned', undefined, 11], ['partitioned by the key', 'bucket(4, id)', 12], ['partitioned by another column', 'region', 13]] as const) {
  test(`upsert vectors pipeline (${label}): random changes end in the last state of each key, deleted by vectors only`, async () => {
    await withCatalog(async (env) => {
      const { partitions, expected } = randomChanges(seed, 240);
      const r = await runOnce(env, upsertConfig(partitionBy), new DrainingSource(partitions));
      assert.equal(r.stats.records, 240);
      assert.ok(r.stats.commits >= 20, `commits: ${r.stats.commits}`);
      assertVectorsThroughout(r.events, 0);
      const table = await Table.load(env.catalog, ID);
      assert.equal(table.metadata['format-version'], 3);
      assert.deepEqual(await rowsOf(env), expected);
      assert.equal(await countOf(env), expected.length);
      const d = await liveDeletes(env);
      assert.equal(d.equality, 0, 'no equality delete is live');
      assert.equal(d.positions, 0, 'no position delete file (v3: vectors only)');
      assert.ok(d.vectors >= 1, `deletion vectors: ${d.vectors}`);
      // No snapshot ever added an equality delete.
      for (const s of table.metadata.snapshots!) assert.equal(Number(s.summary['added-equality-delete-files'] ?? 0), 0, `snapshot ${s['snapshot-id']}: ${JSON.stringify(s.summary)}`);
      assert.ok(table.metadata.snapshots!.some((s) => Number(s.summary['added-dvs'] ?? 0) > 0));
    });
  });
}

test('upsert vectors pipeline: a restart builds the index from the table (its start event counts the live keys) and keeps deleting by position', async () => {
  await withCatalog(async (env) => {
    const changes = randomChanges(21, 300);
    const first = changes.at(200);
    assert.ok(first.live > 0);
    const r1 = await runOnce(env, upsertConfig('bucket(4, id)'), new DrainingSource(first.partitions));
    assertVectorsThroughout(r1.events, 0);
    assert.deepEqual(await rowsOf(env), first.expected);
    // The second run reads the same shards, longer: it resumes after the committed positions.
    const r2 = await runOnce(env, upsertConfig('bucket(4, id)'), new DrainingSource(changes.partitions));
    assert.equal(r2.stats.records, 100, 'the restart reads only what the first run did not commit');
    assertVectorsThroughout(r2.events, first.live);
    assert.deepEqual(await rowsOf(env), changes.expected);
    assert.equal(await countOf(env), changes.expected.length);
    const d = await liveDeletes(env);
    assert.equal(d.equality, 0);
    assert.ok(d.vectors >= 1);
    // A third start with nothing new: the index holds the final keys.
    const r3 = await runOnce(env, upsertConfig('bucket(4, id)'), new DrainingSource(changes.partitions));
    assert.equal(r3.stats.records, 0);
    assertVectorsThroughout(r3.events, changes.live);
  });
});

test('upsert vectors pipeline: deletes: equality on a v3 table writes equality deletes, and the result is the same', async () => {
  await withCatalog(async (env) => {
    const { partitions, expected } = randomChanges(31, 200);
    const r = await runOnce(env, upsertConfig(undefined, { upsert: { key: ['id'], deletes: 'equality' } }), new DrainingSource(partitions));
    // No index: nothing reports deleting by vectors (the mode is the config's).
    assert.ok(!upsertDeletes(r.events).some((e) => e.deletes === 'deletion-vectors'), JSON.stringify(upsertDeletes(r.events)));
    assert.deepEqual(await rowsOf(env), expected);
    assert.equal(await countOf(env), expected.length);
    const d = await liveDeletes(env);
    assert.ok(d.equality >= 1, `equality deletes: ${d.equality}`);
    assert.equal(d.vectors, 0);
  });
});

test('upsert vectors pipeline: a v2 table and a string key report equality deletes with the reason', async () => {
  await withCatalog(async (env) => {
    const { partitions, expected } = randomChanges(41, 100);
    const r = await runOnce(env, { ...upsertConfig(undefined), table: { name: 'db.t', upsert: { key: ['id'] } } }, new DrainingSource(partitions));
    const modes = upsertDeletes(r.events);
    assert.equal(modes.length, 1, JSON.stringify(modes));
    assert.equal(modes[0]!.deletes, 'equality-deletes');
    assert.match(modes[0]!.reason!, /format version 3/);
    assert.equal((await Table.load(env.catalog, ID)).metadata['format-version'], 2);
    assert.deepEqual(await rowsOf(env), expected);
    assert.ok((await liveDeletes(env)).equality >= 1);
  });
  await withCatalog(async (env) => {
    const records = [
      { id: 'a', region: 'eu', v: '1' },
      { id: 'b', region: 'eu', v: '2' },
      { id: 'a', region: 'us', v: '3' },
      { id: 'b', op: 'delete' },
      { id: 'c', region: 'us', v: '4' },
    ];
    const r = await runOnce(
      env,
      {
        table: { name: 'db.t', upsert: { key: ['id'] }, properties: V3 },
        transform: { columns: { id: 'string', region: 'string', v: 'string' }, operation: { path: 'op', delete: ['delete'] } },
        commit: { interval: '1h', max_records: 2 },
      },
      new DrainingSource([shard('s', records)]),
    );
    const modes = upsertDeletes(r.events);
    assert.equal(modes.length, 1, JSON.stringify(modes));
    assert.equal(modes[0]!.deletes, 'equality-deletes');
    assert.match(modes[0]!.reason!, /string/);
    assert.deepEqual(await rowsOf(env), ['a|us|3', 'c|us|4']);
    const d = await liveDeletes(env);
    assert.ok(d.equality >= 1);
    assert.equal(d.vectors, 0);
  });
});

/** A source that hands out a few records at a time, after a pause: a run of many small commits over seconds. */
class TricklingSource extends DrainingSource {
  constructor(partitions: MemoryPartition[], private readonly perPoll: number, private readonly pauseMs: number) {
    super(partitions);
  }
  override async poll(options: PollOptions): Promise<SourceBatch> {
    await sleep(this.pauseMs);
    return super.poll({ ...options, maxRecords: Math.min(options.maxRecords, this.perPoll) });
  }
}

test('upsert vectors pipeline with maintenance: compactions commit through the index while commits delete by position', async () => {
  await withCatalog(async (env) => {
    const { partitions, expected } = randomChanges(51, 600, 120);
    const started = Date.now();
    const r = await runOnce(
      env,
      {
        ...upsertConfig('bucket(2, id)', {}, 10),
        maintenance: {
          compact: { interval: '200ms', min_files: 2, delete_files: { interval: '100ms', min_files: 2 } },
          rewrite_manifests: { interval: '300ms', min_manifests: 4 },
          expire_snapshots: false,
          remove_orphans: false,
        },
      },
      new TricklingSource(partitions, 5, 12),
      openPipeline,
    );
    const ms = Date.now() - started;
    const maintenance = r.events.filter((e): e is MaintenanceEvent => e.type === 'maintenance');
    const errors = maintenance.filter((e) => e.error !== undefined).map((e) => `${e.operation}: ${e.error}`);
    // The mode at each event: compactions that committed while commits deleted by vectors.
    let mode: string | undefined;
    let compactions = 0;
    for (const e of r.events) {
      if (e.type === 'upsert-deletes') mode = e.deletes;
      if (e.type === 'maintenance' && e.operation === 'compact' && e.error === undefined && e.details.snapshotId !== null && mode === 'deletion-vectors') compactions++;
    }
    const summary = `${ms} ms, ${r.stats.commits} commits, ${compactions} compactions, maintenance: ${maintenance.map((e) => `${e.operation}${e.error ? '!' : ''}`).join(' ')}; errors: ${errors.join(' / ')}`;
    assert.equal(r.stats.records, 600);
    assert.ok(compactions >= 2, summary);
    // No compaction abandoned (the writer's deletes go into its commit), and the index never went stale.
    assert.deepEqual(errors.filter((e) => /abandoned|stale|another writer|twice/.test(e)), [], summary);
    assertVectorsThroughout(r.events, 0);
    assert.deepEqual(await rowsOf(env), expected, summary);
    assert.equal(await countOf(env), expected.length);
    const d = await liveDeletes(env);
    assert.equal(d.equality, 0, 'no equality delete is live');
    assert.equal(d.positions, 0);
    const table = await Table.load(env.catalog, ID);
    for (const s of table.metadata.snapshots!) assert.equal(Number(s.summary['added-equality-delete-files'] ?? 0), 0, `snapshot ${s['snapshot-id']} (${s.summary.operation})`);
    // Some compaction removed vectors (the delete trigger rewrote files with vectors).
    assert.ok(maintenance.some((e) => e.operation === 'compact' && e.error === undefined && Number(e.details.removedDeleteFiles) > 0), summary);
  });
});
