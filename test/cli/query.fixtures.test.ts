/**
 * Interop proof through the command line: every foreign table in
 * `../shared/fixtures/iceberg-tables` (written by Spark, Iceberg Java, DuckDB) gives its expected
 * results (INDEX.md, manifest.json) through `floe query --table t=<dir> --format json`, exactly as
 * a user would run it. Also pins the `--format json` value rules and smoke-tests csv and table.
 *
 * The tables are opened from their local directories, which differ from the locations recorded in
 * their metadata (relative paths, `s3a://…`), so every run also proves the automatic remapping of
 * moved tables; one test relocates a metadata file and needs `--path-map`.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import type { TableMetadata } from '../../src/iceberg/metadata.js';
import { parseTableMetadata } from '../../src/iceberg/table-metadata.js';
import { fixturePath, SKIP_NO_SHARED } from '../helpers/shared.js';
import { assertFails, cliJson, runCli, type JsonRow } from './helpers.js';

/** One table of manifest.json. */
interface Entry {
  name: string;
  metadata: string;
  versionHint: string;
  pathPrefix: string;
  localRoot: string;
  expected: { count: number; snapshotCounts?: Record<string, number>; expectedRowsParquet?: string };
}

function entries(): Entry[] {
  return (JSON.parse(readFileSync(fixturePath('iceberg-tables', 'manifest.json'), 'utf8')) as { tables: Entry[] }).tables;
}

function entry(name: string): Entry {
  const e = entries().find((x) => x.name === name);
  if (!e) throw new Error(`test: manifest.json has no table ${name}`);
  return e;
}

/** The table directory (the parent of `metadata/`), which `floe query` resolves via version-hint.text. */
function tableDir(e: Entry): string {
  return dirname(dirname(fixturePath('iceberg-tables', e.localRoot, e.metadata)));
}

/** A metadata file of the table: the listed one, or a sibling such as `v8.metadata.json`. */
function metadataFile(e: Entry, file?: string): string {
  const listed = fixturePath('iceberg-tables', e.localRoot, e.metadata);
  return file ? join(dirname(listed), file) : listed;
}

function metadataOf(e: Entry): TableMetadata {
  const path = metadataFile(e);
  return parseTableMetadata(readFileSync(path, 'utf8'), path);
}

/** `floe query --table t=<location> [flags…] --format json <sql>`. */
function query(location: string, sql: string, ...flags: string[]): Promise<JsonRow[]> {
  return cliJson(['query', '--table', `t=${location}`, ...flags, sql]);
}

/** `SELECT count(*)` through the CLI. */
async function count(location: string, ...flags: string[]): Promise<number> {
  const rows = await query(location, 'SELECT count(*) AS n FROM t', ...flags);
  assert.equal(rows.length, 1);
  const n = rows[0]!.n;
  assert.equal(typeof n, 'number', 'a count is a JSON number');
  return n as number;
}

/** Column name → DuckDB type of the view `t` (DESCRIBE through the CLI). */
async function columnTypes(location: string): Promise<Record<string, string>> {
  const rows = await query(location, 'DESCRIBE t');
  return Object.fromEntries(rows.map((r) => [r.column_name as string, r.column_type as string]));
}

/** SQL reading the Spark-written expected rows of a table. */
function expectedParquet(e: Entry): string {
  const glob = join(fixturePath('iceberg-tables', e.localRoot), e.expected.expectedRowsParquet!);
  return `read_parquet('${glob.replace(/'/g, "''")}')`;
}

/**
 * Per-table expectations from INDEX.md that manifest.json does not carry. Every table of
 * manifest.json must appear here, so a new fixture table fails the suite until it is covered.
 */
const SNAPSHOT_COUNTS_FROM_INDEX: Record<string, number[]> = {
  spark_v2_posdeletes_schemaevol: [6005, 6005, 7690, 7690, 6592, 6592, 6592],
  spark_v1_cow_schemaevol: [6005, 6005, 7690, 7690, 7690, 7690, 7690],
  spark_bucket_rename_column: [4],
  java_eq_deletes_partitioned: [4, 3, 2, 4, 3],
  spark_partition_evolution_missing_cols: [2, 6],
};

describe('floe query over every fixture table', { skip: SKIP_NO_SHARED }, () => {
  test('manifest.json, the fixture directories and this suite cover the same tables', () => {
    const names = entries().map((e) => e.name).sort();
    const dirs = readdirSync(fixturePath('iceberg-tables'))
      .filter((d) => statSync(fixturePath('iceberg-tables', d)).isDirectory())
      .sort();
    assert.deepEqual(names, dirs);
    assert.deepEqual(names, Object.keys(SNAPSHOT_COUNTS_FROM_INDEX).sort());
    const index = readFileSync(fixturePath('iceberg-tables', 'INDEX.md'), 'utf8');
    for (const n of names) assert.match(index, new RegExp(`## ${n} `), `INDEX.md describes ${n}`);
  });

  for (const e of SKIP_NO_SHARED ? [] : entries()) {
    describe(e.name, () => {
      test(`count(*) = ${e.expected.count} from the table directory (version-hint.text) and from the listed metadata file`, async () => {
        assert.equal(await count(tableDir(e)), e.expected.count);
        assert.equal(await count(metadataFile(e)), e.expected.count);
      });

      test('per-snapshot counts with --snapshot-id, in snapshot-log order as INDEX.md lists them', async () => {
        const md = metadataOf(e);
        const log = md['snapshot-log'];
        const expected = SNAPSHOT_COUNTS_FROM_INDEX[e.name]!;
        assert.equal(log.length, expected.length, 'snapshot-log length');
        for (const [i, s] of log.entries()) {
          const id = s['snapshot-id'].toString();
          const n = await count(tableDir(e), '--snapshot-id', id);
          assert.equal(n, expected[i], `snapshot ${i + 1} (${id})`);
          // manifest.json lists the same counts by id (where it lists any).
          const listed = e.expected.snapshotCounts?.[id];
          if (listed !== undefined) assert.equal(n, listed, `manifest.json count of ${id}`);
        }
        assert.equal(expected.at(-1), e.expected.count, 'the last snapshot is the current one');
      });

      test('--as-of: each snapshot-log timestamp selects its snapshot; a millisecond earlier the previous one', async () => {
        const log = metadataOf(e)['snapshot-log'];
        const expected = SNAPSHOT_COUNTS_FROM_INDEX[e.name]!;
        for (const [i, s] of log.entries()) {
          const at = s['timestamp-ms'];
          // Alternate the accepted forms: epoch milliseconds and ISO-8601 with a zone.
          const text = i % 2 === 0 ? String(at) : new Date(at).toISOString();
          assert.equal(await count(tableDir(e), '--as-of', text), expected[i], `as of ${text}`);
        }
        // Between two snapshots the older one is read (the newest one at or before the time).
        const last = log.length - 1;
        if (last >= 1) {
          const before = new Date(log[last]!['timestamp-ms'] - 1).toISOString();
          assert.equal(await count(tableDir(e), '--as-of', before), expected[last - 1], `as of ${before}`);
        }
        // Before the first snapshot there is nothing to read: a clear error, not an empty table.
        const r = await runCli(['query', '--table', `t=${tableDir(e)}`, '--as-of', String(log[0]!['timestamp-ms'] - 1), 'SELECT 1 FROM t']);
        assertFails(r, 1, /before the oldest snapshot/);
      });
    });
  }

  describe('spark_v2_posdeletes_schemaevol (v2, position deletes, schema evolution)', () => {
    const e = SKIP_NO_SHARED ? undefined : entry('spark_v2_posdeletes_schemaevol');
    const dir = () => tableDir(e!);

    test('null counts, sums, boolean counts, distinct uuids and the shipdate range', async () => {
      const [r] = await query(
        dir(),
        `SELECT
          count(*) - count(l_orderkey_bool) AS n1, count(*) - count(l_partkey_int) AS n2,
          count(*) - count(l_suppkey_long) AS n3, count(*) - count(l_extendedprice_float) AS n4,
          count(*) - count(l_extendedprice_double) AS n5, count(*) - count(l_extendedprice_dec9_2) AS n6,
          count(*) - count(l_extendedprice_dec18_6) AS n7, count(*) - count(l_extendedprice_dec38_10) AS n8,
          count(*) - count(l_shipdate_date) AS n9, count(*) - count(l_partkey_time) AS n10,
          count(*) - count(l_commitdate_timestamp) AS n11, count(*) - count(l_commitdate_timestamp_tz) AS n12,
          count(*) - count(l_comment_string) AS n13, count(*) - count(uuid) AS n14,
          count(*) - count(l_comment_blob) AS n15, count(*) - count(schema_evol_added_col_1) AS n16,
          sum(l_partkey_int) AS s_int, sum(l_suppkey_long) AS s_long, sum(schema_evol_added_col_1) AS s16,
          sum(l_extendedprice_dec9_2) AS s_dec,
          count(*) FILTER (WHERE l_orderkey_bool) AS b_true, count(*) FILTER (WHERE NOT l_orderkey_bool) AS b_false,
          count(DISTINCT uuid) AS uuids, min(l_shipdate_date) AS dmin, max(l_shipdate_date) AS dmax
        FROM t`,
      );
      assert.ok(r);
      for (const k of [1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 15]) assert.equal(r[`n${k}`], 3077, `nulls in col ${k}`);
      for (const k of [6, 7, 8, 14]) assert.equal(r[`n${k}`], 0, `nulls in col ${k}`);
      assert.equal(r.n16, 5907);
      // Integer sums (HUGEINT in DuckDB) that a double holds exactly are JSON numbers…
      assert.equal(r.s_int, 351927);
      assert.equal(r.s_long, 20352);
      assert.equal(r.s16, 67305);
      // …a decimal sum is a string, exact to the cent.
      assert.equal(r.s_dec, '172494012.13');
      assert.equal(r.b_true, 1721);
      assert.equal(r.b_false, 1794);
      assert.equal(r.uuids, 5456);
      assert.equal(r.dmin, '1992-01-08');
      assert.equal(r.dmax, '1998-11-25');
    });

    test('every row equals the Spark-written expected rows (EXCEPT ALL both ways)', async () => {
      const ev = expectedParquet(e!);
      const [r] = await query(
        dir(),
        `SELECT (SELECT count(*) FROM (SELECT * FROM t EXCEPT ALL SELECT * FROM ${ev})) AS missing_from_expected,
                (SELECT count(*) FROM (SELECT * FROM ${ev} EXCEPT ALL SELECT * FROM t)) AS missing_from_floe,
                (SELECT count(*) FROM ${ev}) AS expected_rows`,
      );
      assert.deepEqual(r, { missing_from_expected: 0, missing_from_floe: 0, expected_rows: 6592 });
    });

    test("col16's type by metadata version (the metadata file as LOCATION): long at v9, int at v8, absent at v6", async () => {
      const col = 'schema_evol_added_col_1';
      assert.equal((await columnTypes(metadataFile(e!, 'v9.metadata.json')))[col], 'BIGINT');
      assert.equal((await columnTypes(metadataFile(e!, 'v8.metadata.json')))[col], 'INTEGER');
      const v6 = await columnTypes(metadataFile(e!, 'v6.metadata.json'));
      assert.equal(v6[col], undefined);
      assert.equal(v6.l_partkey_int, 'INTEGER', 'the other columns are still there at v6');
      // The older metadata file also reads its own current snapshot: v6 is at snapshot 6.
      assert.equal(await count(metadataFile(e!, 'v6.metadata.json')), 6592);
      assert.equal(await count(metadataFile(e!, 'v2.metadata.json')), 6005);
    });

    test('JSON value rules on every column type (checked against DuckDB casts, row by row)', async () => {
      const rows = await query(
        dir(),
        `SELECT *,
           l_suppkey_long::VARCHAR AS long_text, l_extendedprice_dec9_2::VARCHAR AS dec9_text,
           l_extendedprice_dec18_6::VARCHAR AS dec18_text, l_extendedprice_dec38_10::VARCHAR AS dec38_text,
           l_shipdate_date::VARCHAR AS date_text, epoch_us(l_commitdate_timestamp) AS ts_us,
           epoch_us(l_commitdate_timestamp_tz) AS tstz_us, hex(l_comment_blob) AS blob_hex,
           l_extendedprice_double::VARCHAR AS double_text
         FROM t WHERE l_comment_string IS NOT NULL ORDER BY uuid LIMIT 200`,
      );
      assert.equal(rows.length, 200);
      for (const r of rows) {
        const at = `row ${String(r.uuid)}`;
        assert.equal(typeof r.l_orderkey_bool, 'boolean', at);
        assert.ok(Number.isInteger(r.l_partkey_int), at);
        assert.ok(Number.isInteger(r.l_suppkey_long), `${at}: a small long is a JSON number`);
        assert.equal(String(r.l_suppkey_long), r.long_text, at);
        assert.equal(typeof r.l_extendedprice_float, 'number', at);
        assert.equal(Math.fround(r.l_extendedprice_float as number), r.l_extendedprice_float, `${at}: float is exact`);
        assert.equal(r.l_extendedprice_double, Number(r.double_text), at);
        // Decimals are strings with exactly `scale` digits, never rounded through a double.
        assert.equal(r.l_extendedprice_dec9_2, r.dec9_text, at);
        assert.match(r.l_extendedprice_dec9_2 as string, /^-?\d+\.\d{2}$/, at);
        assert.equal(r.l_extendedprice_dec18_6, r.dec18_text, at);
        assert.match(r.l_extendedprice_dec18_6 as string, /^-?\d+\.\d{6}$/, at);
        assert.equal(r.l_extendedprice_dec38_10, r.dec38_text, at);
        assert.match(r.l_extendedprice_dec38_10 as string, /^-?\d+\.\d{10}$/, at);
        assert.equal(r.l_shipdate_date, r.date_text, at);
        assert.match(r.l_shipdate_date as string, /^\d{4}-\d\d-\d\d$/, at);
        // timestamp: ISO without zone; timestamptz: ISO in UTC with Z. Both exact to the microsecond.
        assert.match(r.l_commitdate_timestamp as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/, at);
        assert.equal(Date.parse(`${r.l_commitdate_timestamp as string}Z`) * 1000, r.ts_us, at);
        assert.match(r.l_commitdate_timestamp_tz as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$/, at);
        assert.equal(Date.parse(r.l_commitdate_timestamp_tz as string) * 1000, r.tstz_us, at);
        assert.equal(typeof r.l_comment_string, 'string', at);
        assert.match(r.uuid as string, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, at);
        // binary: lowercase hex, as in Iceberg's JSON single-value serialization.
        assert.equal(r.l_comment_blob, (r.blob_hex as string).toLowerCase(), at);
        assert.ok(r.schema_evol_added_col_1 === null || Number.isInteger(r.schema_evol_added_col_1), at);
      }
      // Nulls are JSON null.
      const [n] = await query(dir(), 'SELECT l_partkey_int, l_comment_blob, l_shipdate_date FROM t WHERE l_partkey_int IS NULL LIMIT 1');
      assert.deepEqual(n, { l_partkey_int: null, l_comment_blob: null, l_shipdate_date: null });
    });

    test('JSON rules for large integers and nested values', async () => {
      const [r] = await query(
        dir(),
        `SELECT 9007199254740991::BIGINT AS max_safe, 9007199254740993::BIGINT AS above_safe,
                -9007199254740993::BIGINT AS below_safe, 4786266686210019019::BIGINT AS snapshot_id,
                sum(l_suppkey_long) * 1000000000000::HUGEINT AS big_sum,
                [min(l_shipdate_date), max(l_shipdate_date)] AS date_range,
                {'min_price': min(l_extendedprice_dec9_2), 'rows': count(*), 'first_ts': min(l_commitdate_timestamp_tz)} AS stats,
                MAP {'true': count(*) FILTER (WHERE l_orderkey_bool), 'false': count(*) FILTER (WHERE NOT l_orderkey_bool)} AS by_bool,
                list(DISTINCT l_orderkey_bool ORDER BY l_orderkey_bool) FILTER (WHERE l_orderkey_bool IS NOT NULL) AS bools
         FROM t`,
      );
      assert.ok(r);
      assert.equal(r.max_safe, 9007199254740991);
      assert.equal(r.above_safe, '9007199254740993', 'an integer a double cannot hold is a string');
      assert.equal(r.below_safe, '-9007199254740993');
      assert.equal(r.snapshot_id, '4786266686210019019');
      assert.equal(r.big_sum, '20352000000000000');
      assert.deepEqual(r.date_range, ['1992-01-08', '1998-11-25']);
      const stats = r.stats as Record<string, unknown>;
      assert.equal(typeof stats.min_price, 'string');
      assert.match(stats.min_price as string, /^\d+\.\d\d$/);
      assert.equal(stats.rows, 6592);
      assert.match(stats.first_ts as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$/);
      assert.deepEqual(r.by_bool, { true: 1721, false: 1794 });
      assert.deepEqual(r.bools, [false, true]);
    });

    test('--format csv: header, RFC 4180 quoting, NULL as an empty field', async () => {
      const r = await runCli([
        'query', '--table', `t=${dir()}`, '--format', 'csv',
        `SELECT * FROM (
           (SELECT l_partkey_int AS k, l_comment_string AS c, l_extendedprice_dec9_2 AS p FROM t
            WHERE l_partkey_int IS NULL ORDER BY p LIMIT 1)
           UNION ALL
           (SELECT l_partkey_int, l_comment_string, l_extendedprice_dec9_2 FROM t
            WHERE l_comment_string LIKE '%,%' ORDER BY 1, 2 LIMIT 2)
         ) ORDER BY k NULLS FIRST, c`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split('\n');
      assert.equal(lines[0], 'k,c,p');
      assert.equal(lines.length, 4);
      assert.match(lines[1]!, /^,,\d+\.\d\d$/, 'a row of NULLs with a decimal');
      for (const line of lines.slice(2)) assert.match(line, /^\d+,"[^"]*,[^"]*",\d+\.\d\d$/, 'a comment with a comma is quoted');
    });

    test('--format table (and the default): header, separator, NULL shown, row count', async () => {
      const sql = 'SELECT l_partkey_int AS k, l_extendedprice_dec9_2 AS p FROM t ORDER BY k NULLS FIRST, p LIMIT 2';
      const explicit = await runCli(['query', '--table', `t=${dir()}`, '--format', 'table', sql]);
      const dflt = await runCli(['query', '--table', `t=${dir()}`, sql]);
      assert.equal(explicit.code, 0, explicit.stderr);
      assert.equal(dflt.stdout, explicit.stdout);
      const lines = explicit.stdout.trimEnd().split('\n');
      assert.match(lines[0]!, /^k\s+\| p$/);
      assert.match(lines[1]!, /^-+-\+-+$/);
      assert.match(lines[2]!, /^NULL\s+\| \d+\.\d\d$/);
      assert.equal(lines.at(-1), '(2 rows)');
    });
  });

  describe('spark_v1_cow_schemaevol (v1, copy-on-write, DELETED entries)', () => {
    const e = SKIP_NO_SHARED ? undefined : entry('spark_v1_cow_schemaevol');

    test('null counts, sums, boolean counts and distinct uuids', async () => {
      const [r] = await query(
        tableDir(e!),
        `SELECT count(*) - count(l_partkey_int) AS n2, count(*) - count(l_comment_string) AS n13,
          count(*) - count(schema_evol_added_col_1) AS n16,
          sum(l_partkey_int) AS s_int, sum(l_suppkey_long) AS s_long, sum(schema_evol_added_col_1) AS s16,
          sum(l_extendedprice_dec9_2) AS s_dec,
          count(*) FILTER (WHERE l_orderkey_bool) AS b_true, count(*) FILTER (WHERE NOT l_orderkey_bool) AS b_false,
          count(DISTINCT uuid) AS uuids
        FROM t`,
      );
      assert.deepEqual(r, {
        n2: 3077,
        n13: 3077,
        n16: 6789,
        s_int: 462729,
        s_long: 26452,
        s16: 87745,
        s_dec: '178242251.79',
        b_true: 1831,
        b_false: 2782,
        uuids: 6005,
      });
    });

    test('every row equals the Spark-written expected rows (EXCEPT ALL both ways)', async () => {
      const ev = expectedParquet(e!);
      const [r] = await query(
        tableDir(e!),
        `SELECT (SELECT count(*) FROM (SELECT * FROM t EXCEPT ALL SELECT * FROM ${ev})) AS a,
                (SELECT count(*) FROM (SELECT * FROM ${ev} EXCEPT ALL SELECT * FROM t)) AS b`,
      );
      assert.deepEqual(r, { a: 0, b: 0 });
    });
  });

  describe('spark_bucket_rename_column (bucket + identity partitions, renamed column)', () => {
    const e = SKIP_NO_SHARED ? undefined : entry('spark_bucket_rename_column');
    const rows = (dateCol: string) => [
      { id: 1, name: 'Flopsy 🐇', [dateCol]: '2022-01-01', price: '9.99', active: true },
      { id: 2, name: 'Mopsy–Naïve', [dateCol]: '2022-01-01', price: '-5.00', active: false },
      { id: 3, name: 'Cottontail', [dateCol]: null, price: '0.00', active: true },
      { id: 4, name: 'Thumper', [dateCol]: '2022-01-02', price: '99999999.99', active: false },
    ];

    test('full rows at v3 (the renamed column event_date, read by field id)', async () => {
      assert.deepEqual(await query(tableDir(e!), 'SELECT * FROM t ORDER BY id'), rows('event_date'));
      assert.equal((await columnTypes(tableDir(e!))).price, 'DECIMAL(10,2)');
    });

    test('full rows at v2 (metadata file as LOCATION) under the old name date', async () => {
      assert.deepEqual(await query(metadataFile(e!, 'v2.metadata.json'), 'SELECT * FROM t ORDER BY id'), rows('date'));
    });

    test('filters through the bucket and identity partitions; the null partition', async () => {
      assert.deepEqual(await query(tableDir(e!), 'SELECT name FROM t WHERE id = 4'), [{ name: 'Thumper' }]);
      assert.deepEqual(await query(tableDir(e!), 'SELECT id FROM t WHERE event_date IS NULL'), [{ id: 3 }]);
      assert.deepEqual(await query(tableDir(e!), "SELECT id FROM t WHERE event_date = DATE '2022-01-01' ORDER BY id"), [{ id: 1 }, { id: 2 }]);
    });

    test('a relocated metadata file reads its manifests and data through --path-map FROM=TO', async () => {
      const tmp = mkdtempSync(join(tmpdir(), 'floe-cli-pathmap-'));
      try {
        // Only the metadata JSON moves: the recorded location now maps to the temp dir (which has
        // no manifests or data), so the files must come through explicit, longer mappings.
        mkdirSync(join(tmp, 'metadata'));
        copyFileSync(metadataFile(e!), join(tmp, 'metadata', 'v3.metadata.json'));
        const without = await runCli(['query', '--table', `t=${tmp}`, 'SELECT count(*) FROM t']);
        assertFails(without, 1, /snap-5276958600260276572/);
        const recorded = e!.pathPrefix.replace(/\/$/, '');
        const root = fixturePath('iceberg-tables', e!.localRoot);
        const rowsOut = await query(
          tmp,
          'SELECT * FROM t ORDER BY id',
          '--path-map', `${recorded}/metadata=${join(root, 'metadata')}`,
          '--path-map', `${recorded}/data=${join(root, 'data')}`,
        );
        assert.deepEqual(rowsOut, rows('event_date'));
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });

    test('--format csv and table keep Unicode text intact', async () => {
      const csv = await runCli(['query', '--table', `t=${tableDir(e!)}`, '--format', 'csv', 'SELECT id, name, price FROM t ORDER BY id']);
      assert.equal(csv.code, 0, csv.stderr);
      assert.equal(csv.stdout, 'id,name,price\n1,Flopsy 🐇,9.99\n2,Mopsy–Naïve,-5.00\n3,Cottontail,0.00\n4,Thumper,99999999.99\n');
      const table = await runCli(['query', '--table', `t=${tableDir(e!)}`, 'SELECT id, event_date FROM t ORDER BY id']);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^3\s+\| NULL$/m);
      assert.match(table.stdout, /\(4 rows\)\n$/);
    });
  });

  describe('java_eq_deletes_partitioned (partition-scoped equality deletes)', () => {
    test('final rows', async () => {
      const e = entry('java_eq_deletes_partitioned');
      assert.deepEqual(await query(tableDir(e), 'SELECT id, name, bir FROM t ORDER BY id'), [
        { id: 1, name: 'a', bir: '2025-01-01' },
        { id: 4, name: 'd', bir: '2025-01-04' },
        { id: 5, name: 'e', bir: '2025-01-05' },
      ]);
    });
  });

  describe('spark_partition_evolution_missing_cols (identity columns only in the manifest)', () => {
    test('full rows, with event_date and event_type filled from partition tuples', async () => {
      const e = entry('spark_partition_evolution_missing_cols');
      assert.deepEqual(await query(tableDir(e), 'SELECT event_date, user_id, event_type FROM t ORDER BY event_date, user_id'), [
        { event_date: '2024-01-01', user_id: 12345, event_type: 'click' },
        { event_date: '2024-01-02', user_id: 67890, event_type: 'purchase' },
        { event_date: '2024-01-03', user_id: 13579, event_type: 'view' },
        { event_date: '2024-01-03', user_id: 24680, event_type: 'click' },
        { event_date: '2024-01-04', user_id: 86420, event_type: 'view' },
        { event_date: '2024-01-04', user_id: 97531, event_type: 'purchase' },
      ]);
    });

    test("filter event_date = '2024-01-02' gives user 67890", async () => {
      const e = entry('spark_partition_evolution_missing_cols');
      assert.deepEqual(await query(tableDir(e), "SELECT user_id FROM t WHERE event_date = '2024-01-02'"), [{ user_id: 67890 }]);
    });
  });

  test('two --table flags in one statement; no default catalog database is created as a side effect', async () => {
    const a = entry('java_eq_deletes_partitioned');
    const b = entry('spark_partition_evolution_missing_cols');
    const defaultDb = resolve('warehouse', 'catalog.db');
    const existed = existsSync(defaultDb);
    const rows = await cliJson([
      'query',
      '--table', `eq=${tableDir(a)}`,
      '--table', `ns.evo=${tableDir(b)}`,
      'SELECT (SELECT count(*) FROM eq) AS eq_rows, (SELECT count(*) FROM ns.evo) AS evo_rows',
    ]);
    assert.deepEqual(rows, [{ eq_rows: 3, evo_rows: 6 }]);
    assert.equal(existsSync(defaultDb), existed);
  });
});
