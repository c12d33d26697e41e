/**
 * The documented AWS setup holds together: `examples/aws.yaml` is a valid config naming the
 * reference system's resources; the pipeline runs on a Glue catalog (fake Glue, local Kinesis and
 * a local warehouse standing in for S3); and every Glue, Kinesis and Athena operation floe makes is
 * allowed by the least-privilege policies in `docs/iam/` (so the README's policy is not a guess).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GlueCatalog } from '../../src/catalog/glue/glue-catalog.js';
import { loadConfig, validateConfig } from '../../src/pipeline/config.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { REFERENCE_STREAM, REFERENCE_TABLE } from '../../src/pipeline/reference.js';
import { athenaClientFromEnv, runAthenaQuery } from '../../src/query/athena/athena-query.js';
import { QueryEngine } from '../../src/query/engine.js';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { referenceEntries } from '../../src/source/kinesis/reference-events.js';
import { repoRoot } from '../helpers/shared.js';
import { startAthenaFake } from '../query/athena-fake.js';
import { clientFor, createStream, startFaultProxy, startLocal, waitFor } from '../source/kinesis-test-helpers.js';
import { startGlueFake } from './glue-fake.js';

const ROOT = repoRoot();

interface Statement {
  Sid: string;
  Action: string | string[];
  Resource: string | string[];
}

async function policy(name: string): Promise<Statement[]> {
  const doc = JSON.parse(await readFile(join(ROOT, 'docs', 'iam', name), 'utf8')) as { Version: string; Statement: Statement[] };
  assert.equal(doc.Version, '2012-10-17');
  return doc.Statement;
}

function allowedActions(statements: Statement[]): Set<string> {
  return new Set(statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));
}

describe('the AWS setup in the README', () => {
  it('examples/aws.yaml is the reference system on Glue, S3 and Kinesis', async () => {
    const config = await loadConfig(join(ROOT, 'examples', 'aws.yaml'));
    assert.equal(config.source.stream, 'glue-streaming-iceberg-stream');
    assert.equal(config.catalog.uri, 'glue://123456789012');
    assert.equal(config.catalog.warehouse, 's3://glue-streaming-iceberg-data-123456789012/warehouse');
    assert.equal(config.table.name, 'glue_streaming_iceberg_db.streaming_events');
  });

  it('floe run on a Glue catalog lands the events; its Glue and Kinesis calls are all in the writer policy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'floe-glue-aws-'));
    const glue = await startGlueFake();
    const kinesis = await startLocal();
    const proxy = await startFaultProxy(kinesis.url);
    const catalog = new GlueCatalog({
      endpoint: glue.endpoint,
      region: 'ap-northeast-1',
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
      warehouse: join(dir, 'warehouse'),
    });
    try {
      const admin = clientFor(kinesis.url);
      await createStream(admin, REFERENCE_STREAM, 1);
      await putRecords(admin, { streamName: REFERENCE_STREAM }, referenceEntries(10));
      await putRecords(admin, { streamName: REFERENCE_STREAM }, [{ data: new TextEncoder().encode('not json'), partitionKey: 'bad' }]);
      admin.destroy();

      // examples/aws.yaml, with the local stand-ins in place of AWS endpoints and the S3 bucket.
      const raw = (await import('yaml')).parse(await readFile(join(ROOT, 'examples', 'aws.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
      raw.catalog!.warehouse = join(dir, 'warehouse');
      raw.commit!.interval = '200ms';
      const config = validateConfig(raw);
      let committed = 0;
      const pipeline = await Pipeline.open({
        config,
        catalog,
        source: new KinesisSource({ client: clientFor(proxy.url, 3), streamName: REFERENCE_STREAM, discoveryIntervalMs: 500, idleDelayMs: 50 }),
        onEvent: (e) => {
          if (e.type === 'commit') committed += e.records + e.deadLetters;
        },
      });
      const done = pipeline.run();
      await waitFor(() => committed >= 11, 20_000, `11 records committed (have ${committed})`);
      pipeline.stop();
      await done;
      const runRequests = [...glue.requests];
      const runCalls = [...proxy.calls];

      const engine = await QueryEngine.open({ catalog });
      try {
        const r = await engine.query(`SELECT count(*), count(DISTINCT event_id) FROM ${REFERENCE_TABLE}`);
        assert.deepEqual(r.rows.map((row) => row.map(Number)), [[10, 10]]);
        const dl = await engine.query(`SELECT count(*) FROM ${REFERENCE_TABLE}_dead_letters`);
        assert.deepEqual(dl.rows.map((row) => row.map(Number)), [[1]]);
      } finally {
        engine.close();
      }
      const stored = glue.table('glue_streaming_iceberg_db', 'streaming_events')!;
      assert.equal((stored.StorageDescriptor as { Location: string }).Location, join(dir, 'warehouse', 'glue_streaming_iceberg_db.db', 'streaming_events'));
      assert.ok(glue.requestsOf('UpdateTable').length > 0);
      assert.ok(glue.requestsOf('UpdateTable').every((u) => u.body.SkipArchive === true));

      const writer = await policy('floe-writer-policy.json');
      const allowed = allowedActions(writer);
      const used = new Set([...runRequests.map((r) => `glue:${r.operation}`), ...runCalls.map((c) => `kinesis:${c.op}`)]);
      for (const action of used) assert.ok(allowed.has(action), `${action} is used by floe run but not in floe-writer-policy.json`);
      // And the policy grants nothing floe run does not use (beyond S3, exercised by the S3 FileIO).
      for (const action of allowed) {
        if (action.startsWith('s3:')) continue;
        assert.ok(used.has(action), `${action} is in floe-writer-policy.json but floe run never used it`);
      }
      // Glue resources: only the catalog, the database and the two tables.
      const glueResources = writer.find((s) => s.Sid === 'CatalogTheTables')!.Resource as string[];
      assert.deepEqual(
        glueResources.map((r) => r.replace(/^arn:aws:glue:[^:]+:\d+:/, '')),
        ['catalog', 'database/glue_streaming_iceberg_db', 'table/glue_streaming_iceberg_db/streaming_events', 'table/glue_streaming_iceberg_db/streaming_events_dead_letters'],
      );
    } finally {
      await catalog.close();
      await proxy.close();
      await kinesis.close();
      await glue.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('floe query --engine athena needs only what the query policy grants', async () => {
    const athena = await startAthenaFake();
    const client = athenaClientFromEnv({ endpoint: athena.endpoint, region: 'ap-northeast-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } });
    try {
      athena.on({ match: /.*/, columns: [{ Name: 'n', Type: 'bigint' }], rows: [['10']], queuedPolls: 0, runningPolls: 0 });
      await runAthenaQuery(client, `SELECT count(*) AS n FROM ${REFERENCE_TABLE}`, {
        outputLocation: 's3://glue-streaming-iceberg-data-123456789012/athena-results/',
        pollInitialMs: 1,
      });
      athena.on({ match: 'SELECT forever()', hang: true });
      await runAthenaQuery(client, 'SELECT forever()', { outputLocation: 's3://r/', timeoutMs: 30, pollInitialMs: 5 }).catch(() => undefined);
      const allowed = allowedActions(await policy('floe-athena-query-policy.json'));
      for (const r of athena.requests) assert.ok(allowed.has(`athena:${r.operation}`), `athena:${r.operation} missing from the query policy`);
      assert.ok(athena.requests.some((r) => r.operation === 'StopQueryExecution'));
    } finally {
      client.destroy();
      await athena.stop();
    }
  });
});
