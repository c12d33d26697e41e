/**
 * The documented AWS setup holds together: `examples/aws.yaml` is a valid config naming the
 * reference system's resources; the pipeline runs on a Glue catalog (fake Glue, local Kinesis and
 * a local warehouse standing in for S3); and every Glue, Kinesis, DynamoDB (lease table) and Athena
 * operation floe makes is allowed by the least-privilege policies in `docs/iam/` (so the README's
 * policy is not a guess).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GlueCatalog } from '../../src/catalog/glue/glue-catalog.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { kinesisSourceFor, leaseOptionsFor } from '../../src/cli/commands/run.js';
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
import { startDynalite } from '../source/dynalite-helpers.js';
import { startGlueFake } from './glue-fake.js';
import { iamDocs } from '../../src/deploy/iam-policy.js';
import { synthesizeTemplate } from '../../src/deploy/template.js';

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
      // The task role of `floe deploy` (its stack creates the database: no CreateDatabase) allows the same calls.
      const deployRaw = (await import('yaml')).parse(await readFile(join(ROOT, 'examples', 'aws-deploy.yaml'), 'utf8')) as Record<string, unknown>;
      const template = synthesizeTemplate(validateConfig(deployRaw), deployRaw);
      const taskRole = (template.Resources.TaskRole!.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[])[0]!.PolicyDocument;
      const deployed = allowedActions(taskRole.Statement);
      for (const action of used) {
        if (action !== 'glue:CreateDatabase') assert.ok(deployed.has(action), `${action} is used by floe run but not in the task role of floe deploy`);
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

  it('floe run with source.application: its DynamoDB calls are in the lease table policy, on the lease table only', { timeout: 60_000 }, async () => {
    const application = 'glue-streaming-iceberg-ingest';
    const dir = await mkdtemp(join(tmpdir(), 'floe-lease-policy-'));
    const kinesis = await startLocal();
    const dynamo = await startDynalite(50);
    const proxy = await startFaultProxy(dynamo.url);
    const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
    try {
      const admin = clientFor(kinesis.url);
      await createStream(admin, 'orders', 2);
      await putRecords(admin, { streamName: 'orders' }, Array.from({ length: 10 }, (_, i) => ({ data: new TextEncoder().encode(JSON.stringify({ id: i })), partitionKey: `k${i}` })));
      admin.destroy();
      const config = validateConfig({
        source: { stream: 'orders', application, lease: { failover_time: '1s' } },
        catalog: { warehouse: dir },
        table: { name: 'db.orders' },
        transform: { columns: { id: 'long' } },
        commit: { interval: '200ms' },
        maintenance: false,
      });
      // What floe run builds: the SDK's conventions, the endpoints of the local stand-ins.
      const env = { AWS_REGION: 'ap-northeast-1', AWS_ENDPOINT_URL_KINESIS: kinesis.url, AWS_ENDPOINT_URL_DYNAMODB: proxy.url };
      const leases = leaseOptionsFor(config, () => {}, env, () => catalog)!;
      let committed = 0;
      const pipeline = await Pipeline.open({
        config,
        catalog,
        source: kinesisSourceFor(config, () => {}, env, leases),
        onEvent: (e) => {
          if (e.type === 'commit') committed += e.records;
        },
      });
      const done = pipeline.run();
      await waitFor(() => committed >= 10, 30_000, `10 records committed (have ${committed})`);
      pipeline.stop();
      await done; // releases the leases

      const statements = await policy('floe-lease-table-policy.json');
      const allowed = allowedActions(statements);
      const used = new Set(proxy.calls.map((c) => `dynamodb:${c.op}`));
      for (const action of used) assert.ok(allowed.has(action), `${action} is used by floe run but not in floe-lease-table-policy.json`);
      // Every call is on the lease table, named after the application; the policy names it alone.
      assert.deepEqual([...new Set(proxy.calls.map((c) => c.body.TableName))], [application]);
      assert.deepEqual(
        statements.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource])).map((r) => r.replace(/^arn:aws:dynamodb:[^:]+:\d+:/, '')),
        [`table/${application}`],
      );
      // The policy grants exactly what the lease table's code sends, except DeleteItem (no caller in
      // src/); a run uses all of it but GetItem, sent only after a lost conditional write.
      const code = await readFile(join(ROOT, 'src', 'source', 'kinesis', 'leases', 'lease-table.ts'), 'utf8');
      const sent = new Set([...code.matchAll(/new (\w+)Command\(/g)].map((m) => `dynamodb:${m[1]}`));
      assert.ok(sent.has('dynamodb:DeleteItem'));
      const callers: string[] = [];
      const walk = async (d: string): Promise<void> => {
        for (const e of await readdir(d, { withFileTypes: true })) {
          const p = join(d, e.name);
          if (e.isDirectory()) await walk(p);
          else if (p.endsWith('.ts') && !p.endsWith('lease-table.ts') && (await readFile(p, 'utf8')).includes('.deleteLease(')) callers.push(p);
        }
      };
      await walk(join(ROOT, 'src'));
      assert.deepEqual(callers, [], 'deleteLease has no caller in src/');
      sent.delete('dynamodb:DeleteItem');
      assert.deepEqual([...allowed].sort(), [...sent].sort());
      for (const action of allowed) if (action !== 'dynamodb:GetItem') assert.ok(used.has(action), `${action} is in the policy but the run never used it`);
    } finally {
      await catalog.close();
      await proxy.close();
      await dynamo.close();
      await kinesis.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('docs/iam is what src/deploy/iam-policy.ts generates for the reference system (the one source of the deployed roles)', async () => {
    for (const [file, text] of Object.entries(iamDocs())) {
      assert.deepEqual(JSON.parse(await readFile(join(ROOT, 'docs', 'iam', file), 'utf8')), JSON.parse(text), `docs/iam/${file}`);
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
