import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { FencedError } from '../../src/errors.js';
import { Pipeline, type PipelineEvent } from '../../src/pipeline/pipeline.js';
import { referenceConfig, REFERENCE_STREAM, REFERENCE_TABLE } from '../../src/pipeline/reference.js';
import type { PipelineConfig } from '../../src/pipeline/config.js';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { referenceEntries } from '../../src/source/kinesis/reference-events.js';
import { QueryEngine } from '../../src/query/engine.js';
import { clientFor, createStream, startLocal, waitFor, enc } from '../source/kinesis-test-helpers.js';

interface Env {
  dir: string;
  url: string;
  catalog: SqlCatalog;
  config: PipelineConfig;
  close(): Promise<void>;
}

async function setup(shards = 2): Promise<Env> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-pipe-'));
  const local = await startLocal();
  const client = clientFor(local.url);
  await createStream(client, REFERENCE_STREAM, shards);
  client.destroy();
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  const config = referenceConfig({ warehouse: dir, endpoint: local.url, intervalMs: 200 });
  return {
    dir,
    url: local.url,
    catalog,
    config,
    async close() {
      await catalog.close();
      await local.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function source(env: Env): KinesisSource {
  return new KinesisSource({ client: clientFor(env.url, 3), streamName: REFERENCE_STREAM, discoveryIntervalMs: 500, idleDelayMs: 50 });
}

async function put(env: Env, entries: { data: Uint8Array; partitionKey: string }[]): Promise<void> {
  const client = clientFor(env.url, 3);
  await putRecords(client, { streamName: REFERENCE_STREAM }, entries);
  client.destroy();
}

async function query(env: Env, sql: string): Promise<unknown[][]> {
  const engine = await QueryEngine.open({ catalog: env.catalog });
  try {
    const r = await engine.query(sql);
    return r.rows.map((row) => row.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
  } finally {
    engine.close();
  }
}

/** Runs a pipeline until `committed` records+dead letters are committed, then stops it. */
async function runUntil(env: Env, committed: number): Promise<PipelineEvent[]> {
  const events: PipelineEvent[] = [];
  let total = 0;
  const pipeline = await Pipeline.open({
    config: env.config,
    catalog: env.catalog,
    source: source(env),
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'commit') total += e.records + e.deadLetters;
    },
  });
  const done = pipeline.run();
  await waitFor(() => total >= committed, 20_000, `${committed} records committed (have ${total})`);
  pipeline.stop();
  await done;
  return events;
}

test('pipeline: reference events land exactly once; bad records go to the dead-letter table', async () => {
  const env = await setup(2);
  try {
    await put(env, referenceEntries(200));
    await put(env, [
      { data: enc('not json at all'), partitionKey: 'bad-1' },
      { data: enc('{"event_id":"x","timestamp":"yesterday"}'), partitionKey: 'bad-2' },
      { data: Uint8Array.of(0xff, 0xfe, 0x7b), partitionKey: 'bad-3' },
    ]);
    const events = await runUntil(env, 203);
    assert.ok(events.some((e) => e.type === 'commit'));
    assert.deepEqual(await query(env, `SELECT count(*), count(DISTINCT event_id) FROM ${REFERENCE_TABLE}`), [[200, 200]]);
    const dl = await query(env, `SELECT partition_key, error, text, octet_length(raw) FROM ${REFERENCE_TABLE}_dead_letters ORDER BY partition_key`);
    assert.equal(dl.length, 3);
    assert.match(String(dl[0]![1]), /not JSON/);
    assert.match(String(dl[1]![1]), /column 'event_time' \(from 'timestamp'\).*yesterday/);
    assert.match(String(dl[2]![1]), /not valid UTF-8/);
    assert.equal(dl[2]![2], null);
    assert.equal(dl[2]![3], 3);
    // event_time parsed from the record, processed_time set by the pipeline.
    const [[nullTimes]] = (await query(env, `SELECT count(*) FROM ${REFERENCE_TABLE} WHERE event_time IS NULL OR processed_time IS NULL`)) as [[number]];
    assert.equal(nullTimes, 0);

    // A second run resumes from the positions in the table: only new records are added.
    await put(env, referenceEntries(50, { first: 1000 }));
    await runUntil(env, 50);
    assert.deepEqual(await query(env, `SELECT count(*), count(DISTINCT event_id) FROM ${REFERENCE_TABLE}`), [[250, 250]]);
    assert.deepEqual(await query(env, `SELECT count(*) FROM ${REFERENCE_TABLE}_dead_letters`), [[3]]);
    const md = (await env.catalog.loadTable({ namespace: ['glue_streaming_iceberg_db'], name: 'streaming_events' })).metadata;
    const current = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id'])!;
    const keys = Object.keys(current.summary).filter((k) => k.startsWith(`floe.checkpoint.${REFERENCE_STREAM}.`));
    assert.equal(keys.length, 2);
  } finally {
    await env.close();
  }
});

test('pipeline: a second writer on the same table fences itself instead of duplicating', async () => {
  const env = await setup(1);
  try {
    await put(env, referenceEntries(20));
    await runUntil(env, 20); // table has positions now
    const a = await Pipeline.open({ config: env.config, catalog: env.catalog, source: source(env) });
    const b = await Pipeline.open({ config: env.config, catalog: env.catalog, source: source(env) });
    const ra = a.run();
    const rb = b.run();
    const outcomes = Promise.allSettled([ra, rb]);
    await put(env, referenceEntries(30, { first: 100 }));
    // Whichever commits second finds the positions moved and fences itself.
    await waitFor(() => false, 3000, 'settle').catch(() => undefined);
    a.stop();
    b.stop();
    const [oa, ob] = await outcomes;
    const fenced = [oa, ob].filter((o) => o.status === 'rejected' && o.reason instanceof FencedError);
    assert.equal(fenced.length, 1, `exactly one writer fenced: ${JSON.stringify([oa.status, ob.status])}`);
    assert.deepEqual(await query(env, `SELECT count(*), count(DISTINCT event_id) FROM ${REFERENCE_TABLE}`), [[50, 50]]);
  } finally {
    await env.close();
  }
});
