/**
 * The Parquet writer alone: a pre-built batch of reference rows → writeParquetFile, timed, for a
 * batch of JavaScript values (what a library caller hands in) and for an encoded batch (what the
 * pipeline hands in: the writer then only feeds DuckDB, so this is DuckDB's share of a row).
 *
 *   node dist/bench/writer.js --rows 300000
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchFromRows, ColumnBatchBuilder, type ColumnBatch } from '../src/data/column-batch.js';
import { writeParquetFile } from '../src/data/parquet-writer.js';
import type { IcebergValue } from '../src/iceberg/types.js';
import { schemaForTransform } from '../src/pipeline/transform.js';
import { DuckDB } from '../src/duckdb/instance.js';
import { emitResult, flag } from './common.js';

const count = Number(flag('rows', '300000'));
const repeat = Number(flag('repeat', '3'));
const schema = schemaForTransform({
  columns: [
    { name: 'event_id', type: 'string' },
    { name: 'user_id', type: 'string' },
    { name: 'event_type', type: 'string' },
    { name: 'page', type: 'string' },
    { name: 'event_time', type: 'timestamptz' },
    { name: 'processed_time', type: 'timestamptz' },
  ],
});
const types = ['click', 'page_view', 'purchase'];
const rows: IcebergValue[][] = [];
for (let i = 0; i < count; i++) {
  rows.push([
    `evt_1767885412_${String(i % 65_536).padStart(6, '0')}`,
    `user_00${i % 5}`,
    types[i % 3]!,
    `/products/${100 + (i % 100_000)}`,
    1_767_885_412_000_000n + BigInt(i),
    1_767_885_412_000_000n,
  ]);
}
const values = batchFromRows(schema, rows);
const encodedBuilder = new ColumnBatchBuilder(schema, { encode: true, expectedRows: count });
for (const row of rows) encodedBuilder.append(row);
const encoded = encodedBuilder.build();
const dir = await mkdtemp(join(tmpdir(), 'floe-bench-writer-'));
const db = await DuckDB.open({ threads: 1 });

/** Best wall time and CPU µs per row (all threads) over `repeat` writes. */
async function measure(batch: ColumnBatch, name: string): Promise<{ seconds: number; cpuMicrosPerRow: number }> {
  let best = Infinity;
  let cpuBest = Infinity;
  for (let k = 0; k < repeat; k++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await writeParquetFile({ schema, rows: batch, path: join(dir, `${name}${k}.parquet`), db });
    best = Math.min(best, performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpuBest = Math.min(cpuBest, (cpu.user + cpu.system) / count);
  }
  return { seconds: best / 1000, cpuMicrosPerRow: cpuBest };
}
const fromValues = await measure(values, 'v');
const fromEncoded = await measure(encoded, 'e');
db.close();
await rm(dir, { recursive: true, force: true });
emitResult({
  bench: 'writer',
  rows: count,
  rowsPerSecond: count / fromValues.seconds,
  cpuMicrosPerRow: fromValues.cpuMicrosPerRow,
  encodedRowsPerSecond: count / fromEncoded.seconds,
  encodedCpuMicrosPerRow: fromEncoded.cpuMicrosPerRow,
});
