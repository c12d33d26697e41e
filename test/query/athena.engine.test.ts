/**
 * runAthenaQuery against the fake Athena server through the real SDK client: the request shape,
 * polling with backoff, paging (header row on the first page only), failures with Athena's
 * reason, timeouts that stop the query.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AthenaClient } from '@aws-sdk/client-athena';
import { FloeError, ValidationError } from '../../src/errors.js';
import {
  athenaClientFromEnv,
  athenaResultToPlainRows,
  AthenaQueryError,
  runAthenaQuery,
} from '../../src/query/athena/athena-query.js';
import { startAthenaFake, type AthenaFake } from './athena-fake.js';

const REFERENCE_SQL = 'SELECT * FROM glue_streaming_iceberg_db.streaming_events ORDER BY event_time DESC LIMIT 10';

describe('runAthenaQuery', () => {
  let fake: AthenaFake;
  let client: AthenaClient;
  const waits: number[] = [];
  const sleep = async (ms: number) => {
    waits.push(ms);
  };

  before(async () => {
    fake = await startAthenaFake({ workGroups: { primary: undefined, analytics: 's3://results-bucket/analytics/' } });
    // The SDK convention: AWS_ENDPOINT_URL_ATHENA; no credentials configured → local dummy ones.
    client = athenaClientFromEnv({ env: { AWS_ENDPOINT_URL_ATHENA: fake.endpoint, AWS_REGION: 'ap-northeast-1', HOME: '/nonexistent' } });
  });
  after(async () => {
    client.destroy();
    await fake.stop();
  });

  it("runs the reference system's check query: request shape, polling with backoff, typed rows", async () => {
    fake.on({
      match: REFERENCE_SQL,
      columns: [
        { Name: 'event_id', Type: 'varchar' },
        { Name: 'user_id', Type: 'varchar' },
        { Name: 'event_type', Type: 'varchar' },
        { Name: 'page', Type: 'varchar' },
        { Name: 'event_time', Type: 'timestamp(6) with time zone' },
        { Name: 'processed_time', Type: 'timestamp(6) with time zone' },
      ],
      rows: [
        ['evt_1767885412_1', 'user_001', 'click', '/products/101', '2026-01-08 15:16:54.000000 UTC', '2026-01-08 15:17:03.412000 UTC'],
        ['evt_1767885412_0', 'user_000', 'page_view', null, '2026-01-08 15:16:52.000000 UTC', '2026-01-08 15:17:01.000000 UTC'],
      ],
      queuedPolls: 2,
      runningPolls: 3,
    });
    waits.length = 0;
    const result = await runAthenaQuery(client, REFERENCE_SQL, {
      workGroup: 'primary',
      outputLocation: 's3://glue-streaming-iceberg-data-123456789012/athena-results/',
      database: 'glue_streaming_iceberg_db',
      catalog: 'AwsDataCatalog',
      sleep,
    });
    const start = fake.requestsOf('StartQueryExecution').at(-1)!;
    assert.equal(start.QueryString, REFERENCE_SQL);
    assert.equal(start.WorkGroup, 'primary');
    assert.deepEqual(start.ResultConfiguration, { OutputLocation: 's3://glue-streaming-iceberg-data-123456789012/athena-results/' });
    assert.deepEqual(start.QueryExecutionContext, { Database: 'glue_streaming_iceberg_db', Catalog: 'AwsDataCatalog' });
    assert.equal(typeof start.ClientRequestToken, 'string', 'the SDK fills in the idempotency token');
    // 2 QUEUED + 3 RUNNING polls, then SUCCEEDED: 5 waits growing by 1.5x from 200 ms.
    assert.deepEqual(waits, [200, 300, 450, 675, 1013]);
    assert.equal(result.statementType, 'DML');
    assert.equal(result.dataScannedBytes, 1234);
    assert.deepEqual(result.columns.map((c) => c.name), ['event_id', 'user_id', 'event_type', 'page', 'event_time', 'processed_time']);
    assert.equal(result.rows.length, 2, 'the header row is not a data row');
    assert.deepEqual(athenaResultToPlainRows(result).rows, [
      ['evt_1767885412_1', 'user_001', 'click', '/products/101', '2026-01-08T15:16:54Z', '2026-01-08T15:17:03.412000Z'],
      ['evt_1767885412_0', 'user_000', 'page_view', null, '2026-01-08T15:16:52Z', '2026-01-08T15:17:01Z'],
    ]);
  });

  it('caps the poll interval', async () => {
    fake.on({ match: 'SELECT 1', columns: [{ Name: '_col0', Type: 'integer' }], rows: [['1']], queuedPolls: 0, runningPolls: 12 });
    waits.length = 0;
    await runAthenaQuery(client, 'SELECT 1', { outputLocation: 's3://r/', sleep, pollInitialMs: 100, pollMaxMs: 500 });
    assert.deepEqual(waits, [100, 150, 225, 338, 500, 500, 500, 500, 500, 500, 500, 500]);
  });

  it('reads every page, skipping the header on the first page only', async () => {
    const rows = Array.from({ length: 7 }, (_, i) => [String(i), i % 2 === 0 ? `name_${i}` : null]);
    fake.on({ match: 'SELECT id, name FROM db.t', columns: [{ Name: 'id', Type: 'bigint' }, { Name: 'name', Type: 'varchar' }], rows });
    const result = await runAthenaQuery(client, 'SELECT id, name FROM db.t', { workGroup: 'analytics', pageSize: 3, sleep });
    assert.deepEqual(result.rows, rows.map((r) => r.map((v) => v ?? undefined)));
    const id = result.queryExecutionId;
    const pages = fake.requestsOf('GetQueryResults').filter((r) => r.QueryExecutionId === id);
    assert.equal(pages.length, 3, '8 rows (header included) in pages of 3');
    assert.ok(pages.every((p) => p.MaxResults === 3));
    assert.equal(pages[0]!.NextToken, undefined);
    assert.ok(pages.slice(1).every((p) => typeof p.NextToken === 'string'));
    assert.equal(result.outputLocation, `s3://results-bucket/analytics/${id}.csv`, "the workgroup's output location was used");
  });

  it('keeps the first row of DDL and utility results (no header row there)', async () => {
    fake.on({ match: 'SHOW TABLES IN db', statementType: 'UTILITY', columns: [{ Name: 'tab_name', Type: 'string' }], rows: [['events'], ['events_dead_letters']] });
    const result = await runAthenaQuery(client, 'SHOW TABLES IN db', { outputLocation: 's3://r/', sleep });
    assert.deepEqual(result.rows, [['events'], ['events_dead_letters']]);
  });

  it("reports a FAILED query with Athena's reason", async () => {
    fake.on({ match: /FROM db\.missing/, fail: { reason: "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.db.missing' does not exist" } });
    await assert.rejects(runAthenaQuery(client, 'SELECT * FROM db.missing', { outputLocation: 's3://r/', sleep }), (e: unknown) => {
      assert.ok(e instanceof AthenaQueryError);
      assert.equal(e.state, 'FAILED');
      assert.match(e.message, /^athena: query [0-9a-f-]+ FAILED: TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog\.db\.missing' does not exist$/);
      assert.equal(e.retriable, false);
      return true;
    });
  });

  it('reports a CANCELLED query', async () => {
    fake.on({ match: 'SELECT slow()', cancel: true });
    await assert.rejects(runAthenaQuery(client, 'SELECT slow()', { outputLocation: 's3://r/', sleep }), /CANCELLED: Query cancelled by user/);
  });

  it("surfaces Athena's refusal to start (no output location, unknown workgroup)", async () => {
    await assert.rejects(runAthenaQuery(client, 'SELECT 1', { sleep }), (e: unknown) => {
      assert.ok(e instanceof FloeError);
      assert.match(e.message, /^athena: starting the query failed: InvalidRequestException: No output location provided/);
      return true;
    });
    await assert.rejects(runAthenaQuery(client, 'SELECT 1', { workGroup: 'nope', outputLocation: 's3://r/', sleep }), /WorkGroup nope is not found/);
    await assert.rejects(runAthenaQuery(client, 'SELECT 1', { outputLocation: '/tmp/results', sleep }), ValidationError);
  });

  it('stops a query that outlives its timeout', async () => {
    fake.on({ match: 'SELECT forever()', columns: [{ Name: 'x', Type: 'integer' }], hang: true });
    const err = await runAthenaQuery(client, 'SELECT forever()', { outputLocation: 's3://r/', timeoutMs: 150, pollInitialMs: 20, pollMaxMs: 40 }).then(
      () => assert.fail('should time out'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof FloeError && err.code === 'ATHENA_TIMEOUT', String(err));
    const id = fake.requestsOf('StopQueryExecution').at(-1)?.QueryExecutionId;
    assert.equal(typeof id, 'string');
    assert.equal(fake.stateOf(id as string), 'CANCELLED');
  });

  it('stops the query when aborted', async () => {
    fake.on({ match: 'SELECT until_aborted()', hang: true });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(
      runAthenaQuery(client, 'SELECT until_aborted()', { outputLocation: 's3://r/', signal: ac.signal, pollInitialMs: 10, pollMaxMs: 20 }),
      /was stopped before it finished/,
    );
    const id = fake.requestsOf('StopQueryExecution').at(-1)?.QueryExecutionId as string;
    assert.equal(fake.stateOf(id), 'CANCELLED');
  });

  it('stops a query even when aborted before it was started', async () => {
    fake.on({ match: 'SELECT aborted_early()', hang: true });
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(runAthenaQuery(client, 'SELECT aborted_early()', { outputLocation: 's3://r/', signal: ac.signal }), /was stopped before it finished/);
    const started = fake.requests.filter((r) => r.operation === 'StartQueryExecution' && r.body.QueryString === 'SELECT aborted_early()');
    assert.equal(started.length, 1);
    const id = fake.requestsOf('StopQueryExecution').at(-1)?.QueryExecutionId as string;
    assert.equal(fake.stateOf(id), 'CANCELLED');
  });
});
