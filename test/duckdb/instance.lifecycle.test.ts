import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FloeError } from '../../src/errors.js';
import { closeSharedDuckDB, DuckDB, sharedDuckDB, sqlIdent, sqlString } from '../../src/duckdb/instance.js';

describe('DuckDB instance', () => {
  test('run, all and values', async () => {
    const db = await DuckDB.open({ threads: 1 });
    try {
      await db.run('CREATE TABLE t (a BIGINT, d DECIMAL(20, 3), ts TIMESTAMPTZ)');
      await db.run(`INSERT INTO t VALUES (9007199254740993, 12345678901234567.891, '1969-12-31 23:59:59.999999+00')`);
      const js = await db.all('SELECT a FROM t');
      assert.deepStrictEqual(js, [{ a: 9007199254740993n }]);
      const exact = await db.values('SELECT d, ts FROM t');
      assert.equal(String(exact[0]?.d), '12345678901234567.891');
      assert.equal((exact[0]?.ts as { micros: bigint }).micros, -1n);
    } finally {
      db.close();
      db.close(); // idempotent
    }
  });

  test('the session time zone is UTC on every connection', async () => {
    const db = await DuckDB.open({ threads: 1 });
    try {
      assert.deepStrictEqual(await db.all(`SELECT current_setting('TimeZone') AS tz`), [{ tz: 'UTC' }]);
      const tz = await db.withConnection(async (c) => (await c.runAndReadAll(`SELECT current_setting('TimeZone')`)).getRows());
      assert.deepStrictEqual(tz, [['UTC']]);
    } finally {
      db.close();
    }
  });

  test('extensions are not autoloaded: remote and iceberg queries fail fast', async () => {
    const db = await DuckDB.open({ threads: 1 });
    try {
      const started = Date.now();
      await assert.rejects(db.all(`SELECT * FROM read_parquet('s3://bucket/x.parquet')`), (e: unknown) => {
        assert.ok(e instanceof FloeError);
        assert.match(e.message, /^duckdb: .*httpfs/s);
        assert.match(e.message, /\(in: SELECT \* FROM read_parquet\('s3:\/\/bucket\/x\.parquet'\)\)$/);
        return true;
      });
      await assert.rejects(db.all(`SELECT * FROM iceberg_scan('/nowhere')`), /duckdb: .*iceberg/s);
      assert.ok(Date.now() - started < 5000, 'no network attempt');
      assert.deepStrictEqual(await db.all(`SELECT current_setting('autoinstall_known_extensions') AS i, current_setting('autoload_known_extensions') AS l`), [{ i: false, l: false }]);
    } finally {
      db.close();
    }
  });

  test('statements on the default connection run one at a time; failures do not block the queue', async () => {
    const db = await DuckDB.open({ threads: 1 });
    try {
      await db.run('CREATE TABLE q (i INTEGER)');
      const work = [
        db.run('INSERT INTO q VALUES (1)'),
        db.run('INSERT INTO nope VALUES (1)').catch((e: unknown) => e),
        db.run('INSERT INTO q VALUES (2)'),
      ];
      const [, failed] = await Promise.all(work);
      assert.ok(failed instanceof FloeError);
      assert.deepStrictEqual(await db.all('SELECT i FROM q ORDER BY i'), [{ i: 1 }, { i: 2 }]);
    } finally {
      db.close();
    }
  });

  test('a closed instance refuses work', async () => {
    const db = await DuckDB.open({ threads: 1 });
    db.close();
    await assert.rejects(db.all('SELECT 1'), /duckdb: instance is closed/);
  });

  test('bad settings are reported', async () => {
    await assert.rejects(DuckDB.open({ threads: 0 }), /threads must be a positive integer/);
    await assert.rejects(DuckDB.open({ memoryLimit: 'lots' }), /duckdb: cannot create instance/);
  });

  test('sharedDuckDB returns one instance until closed', async () => {
    const a = await sharedDuckDB();
    const b = await sharedDuckDB();
    assert.equal(a, b);
    await closeSharedDuckDB();
    const c = await sharedDuckDB();
    assert.notEqual(c, a);
    assert.deepStrictEqual(await c.all('SELECT 1 AS one'), [{ one: 1 }]);
    await closeSharedDuckDB();
  });

  test('quoting helpers', () => {
    assert.equal(sqlString(`it's`), `'it''s'`);
    assert.equal(sqlIdent('a "b"'), '"a ""b"""');
  });
});
