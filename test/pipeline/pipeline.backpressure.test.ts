/**
 * Backpressure through the whole pipeline: a burst far larger than the pipeline can commit
 * quickly (small commits, each slowed down at the catalog) must not grow memory. The source's
 * buffers stay within their configured bounds the whole time while the pipeline lags behind,
 * every commit stays within commit.max_records, and in the end every record is in the table
 * exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Catalog } from '../../src/catalog/catalog.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { QueryEngine } from '../../src/query/engine.js';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { clientFor, createStream, startLocal, waitFor } from '../source/kinesis-test-helpers.js';

const STREAM = 'burst';
const SHARDS = 2;
const PER_SHARD_RECORDS = 150;
const PER_SHARD_BYTES = 24 * 1024;
const TOTAL_BYTES = 32 * 1024;
const MAX_RECORDS = 100;
const COMMIT_DELAY_MS = 40;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The catalog, with every table commit delayed: a deliberately slow commit path. */
function slowCommits(catalog: Catalog): Catalog {
  return new Proxy(catalog, {
    get(target, prop, receiver) {
      if (prop === 'commitTable') {
        return async (...args: Parameters<Catalog['commitTable']>) => {
          await sleep(COMMIT_DELAY_MS);
          return target.commitTable(...args);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/**
 * Records of exactly 200 bytes (plus an 8-byte key), so that the byte bounds bind as well as the
 * record bounds. Equal sizes matter: the readers size each GetRecords from the average record
 * size seen so far, so with varying sizes the byte bounds hold only up to that estimate's error.
 */
function entries(from: number, count: number) {
  return Array.from({ length: count }, (_, k) => {
    const n = from + k;
    const body = JSON.stringify({ event_id: `evt_${n}`, n, pad: '' });
    const json = body.replace('"pad":""', `"pad":"${'x'.repeat(200 - body.length)}"`);
    return { data: new TextEncoder().encode(json), partitionKey: `pk_${String(n).padStart(5, '0')}` };
  });
}

test('a burst faster than the commits keeps the source within its buffer bounds and loses nothing', { timeout: 90_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-bp-'));
  const local = await startLocal();
  const client = clientFor(local.url, 3);
  const sqlCatalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  const catalog = slowCommits(sqlCatalog);
  let sampler: NodeJS.Timeout | undefined;
  try {
    await createStream(client, STREAM, SHARDS);
    const TOTAL = 3000;
    // Most of the burst is in the stream before the pipeline starts; the rest arrives while it runs.
    for (let i = 0; i < 2000; i += 500) await putRecords(client, { streamName: STREAM }, entries(i, 500));

    const config = validateConfig({
      source: { stream: STREAM, endpoint: local.url },
      catalog: { warehouse: dir },
      table: { name: 'db.burst' },
      transform: { columns: { event_id: { type: 'string', required: true }, n: 'long' } },
      commit: { interval: '1s', max_records: MAX_RECORDS },
      dead_letter: { policy: 'fail' },
    });
    const source = new KinesisSource({
      client: clientFor(local.url, 3),
      streamName: STREAM,
      minCallIntervalMs: 10,
      idleDelayMs: 20,
      maxBufferedRecordsPerShard: PER_SHARD_RECORDS,
      maxBufferedBytesPerShard: PER_SHARD_BYTES,
      maxBufferedBytes: TOTAL_BYTES,
    });

    let committed = 0;
    const commitSizes: number[] = [];
    const pipeline = await Pipeline.open({
      config,
      catalog,
      source,
      onEvent: (e) => {
        if (e.type === 'commit') {
          committed += e.records;
          commitSizes.push(e.records);
        }
      },
    });

    // Watch the source's buffers all along.
    const violations: string[] = [];
    let samples = 0;
    let maxBytes = 0;
    let maxShardRecords = 0;
    let samplesNearlyFull = 0;
    const sample = () => {
      const m = source.metrics();
      samples++;
      maxBytes = Math.max(maxBytes, m.bufferedBytes);
      if (m.bufferedBytes > TOTAL_BYTES) violations.push(`total ${m.bufferedBytes} bytes`);
      for (const p of m.partitions) {
        maxShardRecords = Math.max(maxShardRecords, p.bufferedRecords);
        if (p.bufferedRecords > PER_SHARD_RECORDS) violations.push(`${p.partitionId}: ${p.bufferedRecords} records`);
        if (p.bufferedBytes > PER_SHARD_BYTES) violations.push(`${p.partitionId}: ${p.bufferedBytes} bytes`);
      }
      if (m.bufferedBytes >= TOTAL_BYTES * 0.6 || m.partitions.some((p) => p.bufferedRecords >= PER_SHARD_RECORDS * 0.6)) samplesNearlyFull++;
    };
    sampler = setInterval(sample, 5);

    const running = pipeline.run();
    await sleep(300);
    for (let i = 2000; i < TOTAL; i += 500) await putRecords(client, { streamName: STREAM }, entries(i, 500));
    await waitFor(() => committed >= TOTAL, 60_000, `${TOTAL} records committed (have ${committed})`);
    pipeline.stop();
    const stats = await running;
    clearInterval(sampler);
    sampler = undefined;
    sample();

    assert.deepEqual(violations.slice(0, 5), [], `buffer bounds exceeded ${violations.length} times`);
    assert.ok(samples > 100, `sampled often enough (${samples})`);
    // The pipeline really lagged: the source sat on (nearly) full buffers, waiting for it.
    assert.ok(samplesNearlyFull > 20, `buffers were nearly full while the pipeline lagged (${samplesNearlyFull} of ${samples} samples; max ${maxBytes} bytes, ${maxShardRecords} records/shard)`);
    // The high-water marks the source keeps agree.
    const m = source.metrics();
    assert.ok(m.peakBufferedBytes <= TOTAL_BYTES, `peak ${m.peakBufferedBytes} bytes`);
    for (const p of m.partitions) {
      assert.ok(p.peakBufferedRecords <= PER_SHARD_RECORDS, `${p.partitionId} peak ${p.peakBufferedRecords} records`);
      assert.ok(p.peakBufferedBytes <= PER_SHARD_BYTES, `${p.partitionId} peak ${p.peakBufferedBytes} bytes`);
    }
    // The pipeline's own buffer is bounded by commit.max_records.
    assert.ok(commitSizes.every((n) => n <= MAX_RECORDS), `commit sizes ${commitSizes.join(',')}`);
    assert.ok(commitSizes.length >= TOTAL / MAX_RECORDS, `${commitSizes.length} commits`);
    assert.equal(stats.records, TOTAL);

    const engine = await QueryEngine.open({ catalog: sqlCatalog });
    try {
      const r = await engine.query('SELECT count(*), count(DISTINCT event_id), min(n), max(n), sum(n) FROM db.burst');
      assert.deepEqual(r.rows, [[BigInt(TOTAL), BigInt(TOTAL), 0n, BigInt(TOTAL - 1), BigInt((TOTAL * (TOTAL - 1)) / 2)]]);
    } finally {
      engine.close();
    }
  } finally {
    if (sampler) clearInterval(sampler);
    client.destroy();
    await sqlCatalog.close();
    await local.close();
    await rm(dir, { recursive: true, force: true });
  }
});
