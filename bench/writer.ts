/**
 * The Parquet writer alone: a pre-built batch of reference rows → writeParquetFile, timed.
 *
 *   node dist/bench/writer.js --rows 300000
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchFromRows } from '../src/data/column-batch.js';
import { writeParquetFile } from '../src/data/parquet-writer.js';
import type { IcebergValue } from '../src/iceberg/types.js';
import { schemaForTransform } from '../src/pipeline/transform.js';
import { closeSharedDuckDB } from '../src/query/duckdb.js';
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
const batch = batchFromRows(schema, rows);
const dir = await mkdtemp(join(tmpdir(), 'floe-bench-writer-'));
const times: number[] = [];
const cpu0 = process.cpuUsage();
for (let k = 0; k < repeat; k++) {
  const t0 = performance.now();
  await writeParquetFile({ schema, rows: batch, path: join(dir, `f${k}.parquet`) });
  times.push(performance.now() - t0);
}
const cpu = process.cpuUsage(cpu0);
await closeSharedDuckDB();
await rm(dir, { recursive: true, force: true });
const best = Math.min(...times) / 1000;
emitResult({
  bench: 'writer',
  rows: count,
  bestSeconds: best,
  rowsPerSecond: count / best,
  cpuMicrosPerRow: (cpu.user + cpu.system) / (count * repeat),
});
