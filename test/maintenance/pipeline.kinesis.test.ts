/**
 * Maintenance next to a pipeline ingesting from a real Kinesis endpoint (kinesalite on
 * 127.0.0.1): records keep arriving while compaction, manifest merging and snapshot expiry commit
 * to the same table, in a loop run by the test and as `floe run`'s scheduled policy. Every record
 * must end up in the table exactly once, the pipeline must never be fenced, and a second run must
 * resume from the positions the maintenance commits carried forward.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { compactTable } from '../../src/maintenance/compact.js';
import { expireSnapshots } from '../../src/maintenance/expire-snapshots.js';
import { rewriteManifests } from '../../src/maintenance/rewrite-manifests.js';
import type { MaintenanceEvent } from '../../src/maintenance/scheduler.js';
import { validateConfig, type PipelineConfig } from '../../src/pipeline/config.js';
import { REFERENCE_STREAM } from '../../src/pipeline/reference.js';
import { QueryEngine } from '../../src/query/engine.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { openPipeline, type RunEvent } from '../../src/run/run-pipeline.js';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { referenceEntries } from '../../src/source/kinesis/reference-events.js';
import { Table } from '../../src/table/table.js';
import { clientFor, createStream, startLocal, waitFor } from '../source/kinesis-test-helpers.js';

const TABLE = { namespace: ['db'], name: 'events' };

interface Env {
  url: string;
  catalog: SqlCatalog;
  config(maintenance: unknown): PipelineConfig;
  close(): Promise<void>;
}

async function setup(): Promise<Env> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-maint-pipe-'));
  const local = await startLocal();
  const client = clientFor(local.url);
  await createStream(client, REFERENCE_STREAM, 2);
  client.destroy();
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  return {
    url: local.url,
    catalog,
    config: (maintenance) =>
      validateConfig({
        source: { stream: REFERENCE_STREAM, endpoint: local.url },
        catalog: { warehouse: dir },
        table: { name: 'db.events', partition_by: 'day(event_time)' },
        transform: {
          columns: { event_id: 'string', user_id: 'string', event_type: 'string', event_time: { type: 'timestamptz', path: 'timestamp' } },
        },
        commit: { interval: '100ms' },
        maintenance,
      }),
    async close() {
      await catalog.close();
      await local.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Sends `count` reference events from `first`, in batches, pausing between them (many commits). */
async function produce(env: Env, first: number, count: number, batch = 100, pauseMs = 0): Promise<void> {
  const client = clientFor(env.url, 3);
  try {
    for (let i = 0; i < count; i += batch) {
      await putRecords(client, { streamName: REFERENCE_STREAM }, referenceEntries(Math.min(batch, count - i), { first: first + i }));
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  } finally {
    client.destroy();
  }
}

function source(env: Env): KinesisSource {
  return new KinesisSource({ client: clientFor(env.url, 3), streamName: REFERENCE_STREAM, discoveryIntervalMs: 500, idleDelayMs: 20 });
}

async function counts(env: Env): Promise<[number, number]> {
  const engine = await QueryEngine.open({ catalog: env.catalog, threads: 1 });
  try {
    const r = await engine.query('SELECT count(*), count(DISTINCT event_id) FROM db.events');
    return [Number(r.rows[0]![0]), Number(r.rows[0]![1])];
  } finally {
    engine.close();
  }
}

/** Runs a pipeline until `n` records are committed; `during` runs concurrently. */
async function runPipeline(env: Env, config: PipelineConfig, n: number, during: (committed: () => number) => Promise<void>): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  let committed = 0;
  const pipeline = await openPipeline({
    config,
    catalog: env.catalog,
    source: source(env),
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'commit') committed += e.records;
    },
  });
  const run = pipeline.run();
  try {
    await during(() => committed);
    await waitFor(() => committed >= n, 60_000, `${n} records committed (have ${committed})`);
  } finally {
    pipeline.stop();
    await run;
  }
  return events;
}

test('maintenance in a loop beside a running pipeline: every record exactly once', async () => {
  const env = await setup();
  try {
    const config = env.config(false);
    const N = 3000;
    let compactions = 0;
    let expiries = 0;
    let merges = 0;
    const events = await runPipeline(env, config, N, async (committed) => {
      const producing = produce(env, 0, N, 100, 150);
      let stop = false;
      const loop = (async () => {
        const table = await Table.load(env.catalog, TABLE);
        while (!stop) {
          const c = await compactTable(table, { minInputFiles: 3 });
          if (c.snapshotId !== undefined) compactions++;
          const m = await rewriteManifests(table, { minManifests: 4 });
          if (m.snapshotId !== undefined) merges++;
          const x = await expireSnapshots(table, { olderThanMs: 0, retainLast: 3 });
          if (x.expiredSnapshots > 0) expiries++;
        }
      })();
      await producing;
      await waitFor(() => committed() >= N, 60_000, 'all records committed');
      stop = true;
      await loop;
    });
    assert.ok(compactions >= 2, `compactions committed: ${compactions}`);
    assert.ok(expiries >= 2, `expiries committed: ${expiries}`);
    assert.ok(merges >= 1, `manifest merges committed: ${merges}`);
    assert.ok(!events.some((e) => e.type === 'error'), JSON.stringify(events.filter((e) => e.type === 'error')));
    const commits = events.filter((e) => e.type === 'commit').length;
    assert.deepEqual(await counts(env), [N, N]);

    // Fewer files than commits, few snapshots; the positions survived every maintenance commit.
    const table = await Table.load(env.catalog, TABLE);
    await compactTable(table, { minInputFiles: 2 });
    await expireSnapshots(table, { olderThanMs: 0, retainLast: 1 });
    const files = (await planTableScan(table.io, table.metadata, { ref: 'main' })).tasks.length;
    assert.ok(files < commits, `${files} files after ${commits} commits`);
    assert.equal(table.metadata.snapshots.length, 1);
    assert.equal(Object.keys(table.currentSnapshot()!.summary).filter((k) => k.startsWith('floe.checkpoint.')).length, 2);
    assert.deepEqual(await counts(env), [N, N]);

    // A new run resumes exactly where the table says.
    await runPipeline(env, config, 200, () => produce(env, N, 200));
    assert.deepEqual(await counts(env), [N + 200, N + 200]);
  } finally {
    await env.close();
  }
});

test('floe run’s maintenance policy compacts, merges and expires while ingesting; events report the work', async () => {
  const env = await setup();
  try {
    const config = env.config({
      compact: { interval: '300ms', min_files: 3 },
      rewrite_manifests: { interval: '400ms', min_manifests: 4 },
      expire_snapshots: { interval: '500ms', older_than: '0s', retain_last: 5 },
      remove_orphans: { interval: '700ms', older_than: '1h', allow_short_older_than: true },
    });
    const N = 2500;
    const events = await runPipeline(env, config, N, async (committed) => {
      await produce(env, 0, N, 50, 60);
      await waitFor(() => committed() >= N, 60_000, 'all records committed');
      // Let each task run at least once more on the final state.
      await new Promise((r) => setTimeout(r, 1500));
    });
    const maint = events.filter((e): e is MaintenanceEvent => e.type === 'maintenance');
    const ok = (op: string) => maint.filter((e) => e.operation === op && e.error === undefined && e.table === 'db.events').length;
    assert.ok(ok('compact') >= 1, `compactions: ${ok('compact')}`);
    assert.ok(ok('expire-snapshots') >= 1, `expiries: ${ok('expire-snapshots')}`);
    assert.ok(ok('rewrite-manifests') >= 1, `manifest merges: ${ok('rewrite-manifests')}`);
    const failures = maint.filter((e) => e.error !== undefined);
    assert.ok(failures.every((e) => e.code === 'COMMIT_CONFLICT'), JSON.stringify(failures));
    assert.ok(!events.some((e) => e.type === 'error'));
    assert.deepEqual(await counts(env), [N, N]);
    const table = await Table.load(env.catalog, TABLE);
    assert.ok(table.metadata.snapshots.length <= 5 + 15, `snapshots kept small: ${table.metadata.snapshots.length}`);
    const compacted = maint.find((e) => e.operation === 'compact' && e.error === undefined)!;
    assert.ok(Number(compacted.details.rewrittenFiles) >= 3);
  } finally {
    await env.close();
  }
});
