/**
 * `floe quickstart --source kafka`: the reference system's local twin, as it was first built
 * (Kafka → streaming job → Iceberg REST catalog → S3-compatible store), without Docker:
 * librdkafka's mock cluster (kcat) as the broker, s3rver as the warehouse bucket, floe's own
 * REST catalog server (`floe catalog serve`'s) over an embedded catalog whose tables live in that
 * bucket, the pipeline reading the topic through the REST catalog, 10 reference events produced,
 * then the reference query. Everything runs on 127.0.0.1 and is gone when it ends (the broker
 * and the bucket are in memory / a temporary directory).
 *
 * s3rver is a development dependency of floe: this quickstart runs from a checkout (`npm ci`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCatalog } from '../../catalog/open.js';
import { startRestCatalogServer } from '../../catalog/rest/rest-server.js';
import { SqlCatalog } from '../../catalog/sql/sql-catalog.js';
import { FloeError } from '../../errors.js';
import { S3FileIO } from '../../io/s3.js';
import { validateConfig } from '../../pipeline/config.js';
import { REFERENCE_COLUMNS, REFERENCE_STREAM, REFERENCE_TABLE } from '../../pipeline/reference.js';
import { QueryEngine } from '../../query/engine.js';
import { openPipeline } from '../../run/run-pipeline.js';
import { referenceEntries } from '../../source/kinesis/reference-events.js';
import { startLocalKafka } from '../../source/kafka/local-kafka.js';
import { formatResult } from '../format.js';
import type { CommandIO } from '../io.js';
import { kafkaSourceFor, RunReporter } from './run.js';

const REFERENCE_QUERY = `SELECT * FROM ${REFERENCE_TABLE} ORDER BY event_time DESC LIMIT 10`;

/** s3rver's fixed credentials. */
const S3_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

interface S3rverLike {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}

/** Starts s3rver in this process on 127.0.0.1 with the bucket `warehouse`. */
async function startBucket(directory: string): Promise<{ endpoint: string; close: () => Promise<void> }> {
  let S3rver: new (options: Record<string, unknown>) => S3rverLike;
  try {
    const name = 's3rver';
    S3rver = ((await import(name)) as { default: typeof S3rver }).default;
  } catch (e) {
    throw new FloeError('UNSUPPORTED', 'quickstart: --source kafka needs s3rver, a development dependency of floe: run it from a checkout after `npm ci`', { cause: e });
  }
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: 'warehouse' }] });
  const { port } = await server.run();
  return { endpoint: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/** Runs `floe quickstart --source kafka` with `count` reference events. */
export async function quickstartKafka(io: CommandIO, count: number): Promise<number> {
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(2)} s`;
  const say = (s: string) => io.stderr(`[${elapsed()}] ${s}\n`);
  const kafka = await startLocalKafka();
  const dir = await mkdtemp(join(tmpdir(), 'floe-quickstart-kafka-'));
  const cleanups: (() => Promise<void>)[] = [() => kafka.close(), () => rm(dir, { recursive: true, force: true })];
  try {
    say(`Kafka mock cluster (kcat) on ${kafka.brokers.join(',')}`);
    const bucket = await startBucket(join(dir, 's3'));
    cleanups.unshift(bucket.close);
    say(`S3-compatible store (s3rver) on ${bucket.endpoint}, bucket warehouse`);
    const s3 = new S3FileIO({ endpoint: bucket.endpoint, region: 'us-east-1', env: {}, credentials: { ...S3_KEYS } });
    cleanups.unshift(async () => s3.close());
    const backing = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: 's3://warehouse/', io: s3 });
    cleanups.unshift(() => backing.close());
    const server = await startRestCatalogServer({
      catalog: backing,
      tableConfig: {
        's3.endpoint': bucket.endpoint,
        's3.path-style-access': 'true',
        'client.region': 'us-east-1',
        's3.access-key-id': S3_KEYS.accessKeyId,
        's3.secret-access-key': S3_KEYS.secretAccessKey,
      },
    });
    cleanups.unshift(() => server.close());
    say(`REST catalog (floe catalog serve) on ${server.url}, warehouse s3://warehouse/`);
    // The pipeline and the query reach the bucket only through the settings the REST catalog
    // vends with the table (endpoint, path style, credentials): no S3 settings of the process.

    // The topic is created by the first records (the mock cluster has no CreateTopics).
    const { Kafka, logLevel } = (await import('kafkajs')).default;
    const producer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer({ allowAutoTopicCreation: true });
    await producer.connect();
    try {
      const entries = referenceEntries(count, { first: 0 });
      await producer.send({ topic: REFERENCE_STREAM, messages: entries.map((e) => ({ key: e.partitionKey, value: Buffer.from(e.data) })) });
    } finally {
      await producer.disconnect();
    }
    say(`produced ${count} reference events to topic ${REFERENCE_STREAM}`);

    const config = validateConfig({
      source: { type: 'kafka', brokers: kafka.brokers, topics: [REFERENCE_STREAM], group: 'floe-quickstart', session_timeout: '6s' },
      catalog: { uri: server.url },
      table: { name: REFERENCE_TABLE, create: true },
      transform: { columns: REFERENCE_COLUMNS },
      commit: { interval: 1000 },
      maintenance: false,
    });
    const catalog = await openCatalog({ uri: server.url });
    cleanups.unshift(() => catalog.close());
    const reporter = new RunReporter({ ...io, isTTY: false, stdout: () => undefined });
    let committed = 0;
    const source = await kafkaSourceFor(config, () => undefined, io.env, () => catalog);
    const pipeline = await openPipeline({
      config,
      catalog,
      source,
      onEvent: (e) => {
        reporter.event(e);
        if (e.type === 'commit') {
          committed += e.records + e.deadLetters;
          say(`committed snapshot ${e.snapshotId}: ${e.records} rows in ${e.durationMs} ms`);
        }
      },
    });
    let failed = false;
    const running = pipeline.run();
    running.catch(() => {
      failed = true;
    });
    say('pipeline running: joining the consumer group (the mock cluster waits 3 s for a first group)');
    const deadline = Date.now() + 30_000;
    while (committed < count && !failed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const landed = committed >= count;
    pipeline.stop();
    await running;
    if (!landed) {
      io.stderr(`floe: quickstart: only ${committed} of ${count} events were committed within 30 s\n`);
      return 1;
    }
    const engine = await QueryEngine.open({ catalog });
    try {
      const result = await engine.query(REFERENCE_QUERY);
      io.stdout(`\n${REFERENCE_QUERY}\n\n`);
      io.stdout(formatResult(result, 'table'));
    } finally {
      engine.close();
    }
    io.stdout(
      `\nDone in ${elapsed()}: Kafka (mock cluster) → floe → REST catalog → S3 (s3rver), all on 127.0.0.1 and gone now.\n` +
        `The same pipeline against a real cluster: source.type kafka in a floe run config (README, "Kafka source").\n`,
    );
    return 0;
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}
