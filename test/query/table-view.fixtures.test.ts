/**
 * Interop proof: every foreign fixture table (Spark, Iceberg Java, DuckDB writers) read through
 * floe's scan planning and DuckDB SQL, checked against the expected results in
 * `../shared/fixtures/iceberg-tables` (INDEX.md, manifest.json).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDB, sqlString } from '../../src/duckdb/instance.js';
import { planTableScan, type TableScanOptions } from '../../src/query/table-scan.js';
import { registerTableView, tableScanSql } from '../../src/query/table-view.js';
import { equal } from '../../src/iceberg/expressions.js';
import { SKIP_NO_SHARED, fixturePath } from '../helpers/shared.js';
import { fixtureEntries, openFixture, type FixtureTable } from './fixture-tables.js';

let db: DuckDB;
let viewCounter = 0;

before(async () => {
  db = await DuckDB.open({ threads: 2 });
});
after(() => db?.close());

/** Plans a scan of the fixture, registers a view over it and returns the view's name. */
async function view(t: FixtureTable, options: TableScanOptions = {}): Promise<string> {
  const { sql } = await tableScanSql(db, t.io, t.metadata, options);
  const name = `fixture_view_${++viewCounter}`;
  await registerTableView(db, name, sql);
  return name;
}

async function one(sql: string): Promise<Record<string, unknown>> {
  const rows = await db.all(sql);
  assert.equal(rows.length, 1, sql);
  return rows[0]!;
}

async function count(viewName: string): Promise<number> {
  return Number((await one(`SELECT count(*) AS n FROM ${viewName}`)).n);
}

/** Rows of `a` missing from `b`, as a multiset (EXCEPT ALL). */
async function exceptAll(a: string, b: string): Promise<number> {
  return Number((await one(`SELECT count(*) AS n FROM (SELECT * FROM ${a} EXCEPT ALL SELECT * FROM ${b})`)).n);
}

async function columnType(viewName: string, column: string): Promise<string | undefined> {
  const rows = await db.all(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ${sqlString(viewName)}`);
  return rows.find((r) => r.column_name === column)?.data_type as string | undefined;
}

describe('foreign fixture tables', { skip: SKIP_NO_SHARED }, () => {
  test('every table in manifest.json has its expected row count (current snapshot)', async () => {
    for (const entry of fixtureEntries()) {
      const t = openFixture(entry.name);
      assert.equal(await count(await view(t)), entry.expected.count, entry.name);
    }
  });

  test('every listed snapshot has its expected row count (time travel by snapshot id)', async () => {
    for (const entry of fixtureEntries()) {
      const t = openFixture(entry.name);
      for (const [id, expected] of Object.entries(entry.expected.snapshotCounts ?? {})) {
        assert.equal(await count(await view(t, { snapshotId: BigInt(id) })), expected, `${entry.name} @ ${id}`);
      }
    }
  });

  describe('spark_v2_posdeletes_schemaevol (v2, position deletes, schema evolution)', () => {
    let v: string;
    let t: FixtureTable;
    before(async () => {
      t = openFixture('spark_v2_posdeletes_schemaevol');
      v = await view(t);
    });

    test('plans 5 data files and 3 position delete files, one covering 3 data files', async () => {
      const scan = await planTableScan(t.io, t.metadata);
      assert.equal(scan.tasks.length, 5);
      const deletePaths = new Set(scan.tasks.flatMap((task) => task.deletes.map((d) => d.file.file_path)));
      assert.equal(deletePaths.size, 3);
      const covers = [...deletePaths].map((p) => scan.tasks.filter((task) => task.deletes.some((d) => d.file.file_path === p)).length);
      assert.ok(covers.includes(3), `delete coverage ${covers}`);
    });

    test('null counts, sums, boolean counts, distinct uuids and date range', async () => {
      const r = await one(`SELECT
          count(*) - count(l_orderkey_bool) AS n1, count(*) - count(l_partkey_int) AS n2,
          count(*) - count(l_suppkey_long) AS n3, count(*) - count(l_extendedprice_float) AS n4,
          count(*) - count(l_extendedprice_double) AS n5,
          count(*) - count(l_extendedprice_dec9_2) AS n6, count(*) - count(l_extendedprice_dec18_6) AS n7,
          count(*) - count(l_extendedprice_dec38_10) AS n8,
          count(*) - count(l_shipdate_date) AS n9, count(*) - count(l_partkey_time) AS n10,
          count(*) - count(l_commitdate_timestamp) AS n11, count(*) - count(l_commitdate_timestamp_tz) AS n12,
          count(*) - count(l_comment_string) AS n13, count(*) - count(uuid) AS n14,
          count(*) - count(l_comment_blob) AS n15, count(*) - count(schema_evol_added_col_1) AS n16,
          sum(l_partkey_int)::VARCHAR AS s_int, sum(l_suppkey_long)::VARCHAR AS s_long,
          sum(schema_evol_added_col_1)::VARCHAR AS s16, sum(l_extendedprice_dec9_2)::VARCHAR AS s_dec,
          count(*) FILTER (WHERE l_orderkey_bool) AS b_true, count(*) FILTER (WHERE NOT l_orderkey_bool) AS b_false,
          count(DISTINCT uuid) AS uuids,
          min(l_shipdate_date)::VARCHAR AS dmin, max(l_shipdate_date)::VARCHAR AS dmax
        FROM ${v}`);
      for (const k of [1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 15]) assert.equal(Number(r[`n${k}`]), 3077, `nulls in col ${k}`);
      for (const k of [6, 7, 8, 14]) assert.equal(Number(r[`n${k}`]), 0, `nulls in col ${k}`);
      assert.equal(Number(r.n16), 5907);
      assert.equal(r.s_int, '351927');
      assert.equal(r.s_long, '20352');
      assert.equal(r.s16, '67305');
      assert.equal(r.s_dec, '172494012.13');
      assert.equal(Number(r.b_true), 1721);
      assert.equal(Number(r.b_false), 1794);
      assert.equal(Number(r.uuids), 5456);
      assert.equal(r.dmin, '1992-01-08');
      assert.equal(r.dmax, '1998-11-25');
    });

    test('all rows equal the expected Parquet rows (EXCEPT ALL both ways)', async () => {
      const expected = fixturePath('iceberg-tables', t.entry.localRoot, t.entry.expected.expectedRowsParquet!);
      const ev = `(SELECT * FROM read_parquet(${sqlString(expected)}))`;
      assert.equal(await exceptAll(v, ev), 0);
      assert.equal(await exceptAll(ev, v), 0);
    });

    test('timestamptz stays TIMESTAMP WITH TIME ZONE; col16 is promoted to BIGINT', async () => {
      assert.equal(await columnType(v, 'l_commitdate_timestamp_tz'), 'TIMESTAMP WITH TIME ZONE');
      assert.equal(await columnType(v, 'l_commitdate_timestamp'), 'TIMESTAMP');
      assert.equal(await columnType(v, 'l_extendedprice_dec38_10'), 'DECIMAL(38,10)');
    });

    test("col16's type by metadata version: long at v9, int at v8, absent at v6", async () => {
      const at = async (file: string) => columnType(await view(openFixture(t.entry.name, file)), 'schema_evol_added_col_1');
      assert.equal(await at('v9.metadata.json'), 'BIGINT');
      assert.equal(await at('v8.metadata.json'), 'INTEGER');
      assert.equal(await at('v6.metadata.json'), undefined);
    });
  });

  describe('spark_v1_cow_schemaevol (v1, copy-on-write, DELETED entries)', () => {
    let v: string;
    let t: FixtureTable;
    before(async () => {
      t = openFixture('spark_v1_cow_schemaevol');
      v = await view(t);
    });

    test('one live data file; null counts, sums, booleans, distinct uuids', async () => {
      const scan = await planTableScan(t.io, t.metadata);
      assert.equal(scan.tasks.length, 1);
      assert.ok(scan.tasks.every((task) => task.dataSequenceNumber === 0n));
      const r = await one(`SELECT count(*) - count(l_partkey_int) AS n2, count(*) - count(l_comment_string) AS n13,
          count(*) - count(schema_evol_added_col_1) AS n16,
          sum(l_partkey_int)::VARCHAR AS s_int, sum(l_suppkey_long)::VARCHAR AS s_long,
          sum(schema_evol_added_col_1)::VARCHAR AS s16, sum(l_extendedprice_dec9_2)::VARCHAR AS s_dec,
          count(*) FILTER (WHERE l_orderkey_bool) AS b_true, count(*) FILTER (WHERE NOT l_orderkey_bool) AS b_false,
          count(DISTINCT uuid) AS uuids
        FROM ${v}`);
      assert.equal(Number(r.n2), 3077);
      assert.equal(Number(r.n13), 3077);
      assert.equal(Number(r.n16), 6789);
      assert.equal(r.s_int, '462729');
      assert.equal(r.s_long, '26452');
      assert.equal(r.s16, '87745');
      assert.equal(r.s_dec, '178242251.79');
      assert.equal(Number(r.b_true), 1831);
      assert.equal(Number(r.b_false), 2782);
      assert.equal(Number(r.uuids), 6005);
    });

    test('all rows equal the expected Parquet rows (EXCEPT ALL both ways)', async () => {
      const expected = fixturePath('iceberg-tables', t.entry.localRoot, t.entry.expected.expectedRowsParquet!);
      const ev = `(SELECT * FROM read_parquet(${sqlString(expected)}))`;
      assert.equal(await exceptAll(v, ev), 0);
      assert.equal(await exceptAll(ev, v), 0);
    });
  });

  describe('spark_bucket_rename_column (bucket + identity partitions, renamed column)', () => {
    const expectedRows = [
      [1, 'Flopsy 🐇', '2022-01-01', '9.99', true],
      [2, 'Mopsy–Naïve', '2022-01-01', '-5.00', false],
      [3, 'Cottontail', null, '0.00', true],
      [4, 'Thumper', '2022-01-02', '99999999.99', false],
    ];
    const rowsOf = async (v: string, dateCol: string) =>
      (
        await db.all(
          `SELECT id, name, ${dateCol}::VARCHAR AS d, price::VARCHAR AS price, active FROM ${v} ORDER BY id`,
        )
      ).map((r) => [r.id, r.name, r.d, r.price, r.active]);

    test('v3 metadata reads the renamed column event_date by field id', async () => {
      const t = openFixture('spark_bucket_rename_column');
      const v = await view(t);
      assert.deepEqual(await rowsOf(v, 'event_date'), expectedRows);
      assert.equal(await columnType(v, 'price'), 'DECIMAL(10,2)');
    });

    test('v2 metadata reads the same rows under the old name date', async () => {
      const v = await view(openFixture('spark_bucket_rename_column', 'v2.metadata.json'));
      assert.deepEqual(await rowsOf(v, 'date'), expectedRows);
    });

    test('partition pruning through bucket and identity transforms', async () => {
      const t = openFixture('spark_bucket_rename_column');
      const all = await planTableScan(t.io, t.metadata);
      assert.equal(all.tasks.length, 3);
      const byId = await planTableScan(t.io, t.metadata, { filter: equal('id', 4) });
      assert.equal(byId.tasks.length, 1, 'bucket[4](4) = 2 selects one file');
      const v = await view(t, { filter: equal('id', 4) });
      assert.deepEqual(await rowsOf(v, 'event_date'), [expectedRows[3]]);
      const byDate = await planTableScan(t.io, t.metadata, { filter: equal('event_date', '2022-01-01') });
      assert.equal(byDate.tasks.length, 1);
    });
  });

  describe('java_eq_deletes_partitioned (partition-scoped equality deletes)', () => {
    test('final rows', async () => {
      const t = openFixture('java_eq_deletes_partitioned');
      const rows = await db.all(`SELECT id, name, bir::VARCHAR AS bir FROM ${await view(t)} ORDER BY id`);
      assert.deepEqual(
        rows.map((r) => [r.id, r.name, r.bir]),
        [
          [1, 'a', '2025-01-01'],
          [4, 'd', '2025-01-04'],
          [5, 'e', '2025-01-05'],
        ],
      );
    });

    test('equality deletes are scoped to their partition', async () => {
      const t = openFixture('java_eq_deletes_partitioned');
      const scan = await planTableScan(t.io, t.metadata);
      for (const task of scan.tasks) {
        for (const d of task.deletes) {
          assert.deepEqual(d.file.partition, task.partition, `${d.file.file_path} applied to ${task.file.file_path}`);
          assert.ok(d.dataSequenceNumber > task.dataSequenceNumber);
        }
      }
      assert.equal(new Set(scan.tasks.flatMap((x) => x.deletes.map((d) => d.file.file_path))).size, 3);
    });
  });

  describe('spark_partition_evolution_missing_cols (identity columns only in the manifest)', () => {
    test('rows, with event_date and event_type filled from partition tuples', async () => {
      const t = openFixture('spark_partition_evolution_missing_cols');
      const rows = await db.all(
        `SELECT event_date::VARCHAR AS d, user_id, event_type FROM ${await view(t)} ORDER BY event_date, user_id`,
      );
      assert.deepEqual(
        rows.map((r) => [r.d, Number(r.user_id), r.event_type]),
        [
          ['2024-01-01', 12345, 'click'],
          ['2024-01-02', 67890, 'purchase'],
          ['2024-01-03', 13579, 'view'],
          ['2024-01-03', 24680, 'click'],
          ['2024-01-04', 86420, 'view'],
          ['2024-01-04', 97531, 'purchase'],
        ],
      );
    });

    test("filter event_date = '2024-01-02' plans fewer files and returns user 67890", async () => {
      const t = openFixture('spark_partition_evolution_missing_cols');
      const all = await planTableScan(t.io, t.metadata);
      const filtered = await planTableScan(t.io, t.metadata, { filter: equal('event_date', '2024-01-02') });
      assert.equal(all.tasks.length, 6);
      assert.equal(filtered.tasks.length, 1);
      assert.ok(filtered.stats.manifestsSkipped + filtered.stats.dataFilesSkipped > 0);
      const rows = await db.all(`SELECT user_id, event_type FROM ${await view(t, { filter: equal('event_date', '2024-01-02') })}`);
      assert.deepEqual(rows.map((r) => [Number(r.user_id), r.event_type]), [[67890, 'purchase']]);
    });
  });
});
