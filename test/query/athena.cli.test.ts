/**
 * `floe query --engine athena` end to end (in-process CLI → real SDK client → fake Athena on
 * 127.0.0.1 via AWS_ENDPOINT_URL_ATHENA): flags, output formats identical to DuckDB's for the
 * same values, usage errors.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { assertFails, cliJson, runCli } from '../cli/helpers.js';
import { startAthenaFake, type AthenaFake } from './athena-fake.js';

/** The same row as DuckDB SQL literals and as Athena prints it. */
const DUCKDB_SQL =
  "SELECT CAST(1152921504606846976 AS BIGINT) AS big, CAST(42 AS INTEGER) AS small, CAST(12.34 AS DECIMAL(9,2)) AS price, " +
  "TIMESTAMP '2026-01-08 15:16:52.123456' AS ts, TIMESTAMPTZ '2026-01-08 15:16:52+00' AS tstz, DATE '2026-01-08' AS d, " +
  "true AS flag, CAST(1.5 AS DOUBLE) AS x, '\\x68\\x69'::BLOB AS bin, CAST(NULL AS VARCHAR) AS missing, 'a,\"b\"' AS text";
const ATHENA_SQL = 'SELECT * FROM db.typed';
const ATHENA_COLUMNS = [
  { Name: 'big', Type: 'bigint' },
  { Name: 'small', Type: 'integer' },
  { Name: 'price', Type: 'decimal', Precision: 9, Scale: 2 },
  { Name: 'ts', Type: 'timestamp' },
  { Name: 'tstz', Type: 'timestamp with time zone' },
  { Name: 'd', Type: 'date' },
  { Name: 'flag', Type: 'boolean' },
  { Name: 'x', Type: 'double' },
  { Name: 'bin', Type: 'varbinary' },
  { Name: 'missing', Type: 'varchar' },
  { Name: 'text', Type: 'varchar' },
];
const ATHENA_ROW = [
  '1152921504606846976', '42', '12.34', '2026-01-08 15:16:52.123456', '2026-01-08 15:16:52.000 UTC', '2026-01-08', 'true', '1.5', '68 69', null, 'a,"b"',
];

describe('floe query --engine athena', () => {
  let fake: AthenaFake;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    fake = await startAthenaFake({ workGroups: { primary: 's3://results/primary/', etl: undefined } });
    fake.on({ match: ATHENA_SQL, columns: ATHENA_COLUMNS, rows: [ATHENA_ROW], queuedPolls: 0, runningPolls: 1 });
    dir = await mkdtemp(join(tmpdir(), 'floe-athena-cli-'));
    // An empty catalog for the DuckDB side (`floe query` opens only a catalog that exists).
    await new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir }).close();
    env = { AWS_ENDPOINT_URL_ATHENA: fake.endpoint, AWS_REGION: 'ap-northeast-1', HOME: dir };
  });
  after(async () => {
    await fake.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the same JSON as the DuckDB engine for the same values', async () => {
    const viaDuckDb = await cliJson(['query', '--catalog', join(dir, 'catalog.db'), DUCKDB_SQL]);
    const viaAthena = await cliJson(['query', '--engine', 'athena', ATHENA_SQL], env);
    assert.deepEqual(viaAthena, viaDuckDb);
    assert.deepEqual(viaAthena, [
      {
        big: '1152921504606846976',
        small: 42,
        price: '12.34',
        ts: '2026-01-08T15:16:52.123456',
        tstz: '2026-01-08T15:16:52Z',
        d: '2026-01-08',
        flag: true,
        x: 1.5,
        bin: '6869',
        missing: null,
        text: 'a,"b"',
      },
    ]);
  });

  it('prints the same CSV and table as the DuckDB engine', async () => {
    for (const format of ['csv', 'table']) {
      const duck = await runCli(['query', '--catalog', join(dir, 'catalog.db'), '--format', format, DUCKDB_SQL]);
      const athena = await runCli(['query', '--engine', 'athena', '--format', format, ATHENA_SQL], env);
      assert.equal(athena.code, 0, athena.stderr);
      assert.equal(athena.stdout, duck.stdout, format);
    }
    const csv = await runCli(['query', '--engine', 'athena', '--format', 'csv', ATHENA_SQL], env);
    assert.equal(csv.stdout.split('\n')[1], '1152921504606846976,42,12.34,2026-01-08T15:16:52.123456,2026-01-08T15:16:52Z,2026-01-08,true,1.5,6869,,"a,""b"""');
  });

  it('passes --workgroup, --output-location, --database and --athena-catalog to StartQueryExecution', async () => {
    const rows = await cliJson(
      ['query', '--engine', 'athena', '--workgroup', 'etl', '--output-location', 's3://bucket/athena-results/', '--database', 'db', '--athena-catalog', 'AwsDataCatalog', ATHENA_SQL],
      env,
    );
    assert.equal(rows.length, 1);
    const start = fake.requestsOf('StartQueryExecution').at(-1)!;
    assert.equal(start.WorkGroup, 'etl');
    assert.deepEqual(start.ResultConfiguration, { OutputLocation: 's3://bucket/athena-results/' });
    assert.deepEqual(start.QueryExecutionContext, { Database: 'db', Catalog: 'AwsDataCatalog' });
  });

  it("fails with Athena's reason and exit code 1", async () => {
    fake.on({ match: 'SELECT nope FROM db.typed', fail: { reason: "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved" } });
    const r = await runCli(['query', '--engine', 'athena', 'SELECT nope FROM db.typed'], env);
    assertFails(r, 1, /athena: query .* FAILED: COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved/);
    const noOutput = await runCli(['query', '--engine', 'athena', '--workgroup', 'etl', ATHENA_SQL], env);
    assertFails(noOutput, 1, /No output location provided/);
  });

  it('rejects flags of the other engine and unknown engines as usage errors', async () => {
    assertFails(await runCli(['query', '--engine', 'athena', '--table', `t=${dir}`, ATHENA_SQL], env), 2, /--table does not apply to --engine athena/);
    assertFails(await runCli(['query', '--engine', 'athena', '--snapshot-id', '1', ATHENA_SQL], env), 2, /FOR TIMESTAMP AS OF/);
    assertFails(await runCli(['query', '--workgroup', 'etl', 'SELECT 1'], env), 2, /--workgroup only applies to --engine athena/);
    assertFails(await runCli(['query', '--engine', 'spark', 'SELECT 1'], env), 2, /--engine must be duckdb or athena/);
  });
});
