/**
 * Conformance with Iceberg Java: rewrites data files that Spark (iceberg-spark-runtime 1.4.2)
 * wrote, and checks our metrics equal the ones Spark recorded in its manifests — counts, NaN
 * counts and the exact bytes of every bound (truncated strings and binary included).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeParquetFile } from '../../src/data/parquet-writer.js';
import { readManifest } from '../../src/iceberg/avro/manifest.js';
import { bytesToHex } from '../../src/iceberg/conversions.js';
import { parseSchema } from '../../src/iceberg/schema-parse.js';
import type { IcebergValue } from '../../src/iceberg/types.js';
import { DuckDB, sqlString } from '../../src/duckdb/instance.js';
import { fixturePath, SKIP_NO_SHARED } from '../helpers/shared.js';
import { fromDuckDB } from './duckdb-values.js';

const TABLES = [
  { dir: 'spark_v2_posdeletes_schemaevol', prefix: 'data/iceberg/generated_spec2_0_001/' },
  { dir: 'spark_v1_cow_schemaevol', prefix: 'data/iceberg/generated_spec1_0_001/' },
];

function hexMap(m: Map<number, Uint8Array> | undefined): Record<number, string> {
  return Object.fromEntries([...(m ?? new Map<number, Uint8Array>())].map(([k, v]) => [k, bytesToHex(v)]));
}

function countMap(m: Map<number, number> | undefined): Record<number, number> {
  return Object.fromEntries(m ?? new Map<number, number>());
}

describe('metrics match Iceberg Java on Spark-written files', { skip: SKIP_NO_SHARED }, () => {
  let dir: string;
  let db: DuckDB;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'floe-spark-metrics-'));
    db = await DuckDB.open({ threads: 1 });
  });
  after(async () => {
    db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const table of TABLES) {
    test(table.dir, async () => {
      const root = fixturePath('iceberg-tables', table.dir);
      const metaDir = join(root, 'pyspark_iceberg_table', 'metadata');
      const seen = new Set<string>();
      for (const name of readdirSync(metaDir).filter((f) => /-m\d+\.avro$/.test(f))) {
        const { entries, meta } = readManifest(readFileSync(join(metaDir, name)), name);
        assert.ok(meta.schemaJson, `${name}: schema in the manifest header`);
        const schema = parseSchema(JSON.parse(meta.schemaJson), name);
        for (const { data_file: spark } of entries) {
          if (spark.content !== 0 || seen.has(spark.file_path)) continue;
          seen.add(spark.file_path);
          assert.ok(spark.file_path.startsWith(table.prefix), spark.file_path);
          const local = join(root, spark.file_path.slice(table.prefix.length));

          // Read the file back by column name (Spark named the columns after the schema it wrote).
          const rows = await db.values(`SELECT * FROM read_parquet(${sqlString(local)})`);
          const present = schema.fields.filter((f) => rows.length === 0 || f.name in rows[0]!);
          const columns = new Map<number, IcebergValue[]>(
            present.map((f) => [f.id, rows.map((r) => fromDuckDB(f.type, r[f.name] ?? null))]),
          );
          const fileSchema = { ...schema, fields: present };
          const ours = await writeParquetFile({
            schema: fileSchema,
            rows: { length: rows.length, columns },
            path: join(dir, `${seen.size}.parquet`),
            db,
          });

          const what = `${table.dir}: ${spark.file_path.split('/').pop()}`;
          assert.equal(ours.recordCount, spark.record_count, `${what}: record count`);
          assert.deepStrictEqual(countMap(ours.metrics.valueCounts), countMap(spark.value_counts), `${what}: value counts`);
          assert.deepStrictEqual(countMap(ours.metrics.nullValueCounts), countMap(spark.null_value_counts), `${what}: null counts`);
          assert.deepStrictEqual(countMap(ours.metrics.nanValueCounts), countMap(spark.nan_value_counts), `${what}: NaN counts`);
          assert.deepStrictEqual(hexMap(ours.metrics.lowerBounds), hexMap(spark.lower_bounds), `${what}: lower bounds`);
          assert.deepStrictEqual(hexMap(ours.metrics.upperBounds), hexMap(spark.upper_bounds), `${what}: upper bounds`);
        }
      }
      assert.ok(seen.size >= 1, 'at least one data file compared');
    });
  }
});
