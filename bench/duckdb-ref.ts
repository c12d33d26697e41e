/**
 * The native reference: DuckDB's own `read_json` → `COPY … TO parquet` of the same events,
 * on the same cores (`--threads`), timed around the COPY.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { averageSize, emitResult, eventPool, flag, peakRss } from './common.js';

const events = Number(flag('events', '1000000'));
const size = Number(flag('size', '150')) as 150 | 1024;
const threads = Number(flag('threads', '1'));
const dir = await mkdtemp(join(tmpdir(), 'floe-bench-duck-'));
const pool = eventPool(size);
const dec = new TextDecoder();
const lines: string[] = [];
for (let i = 0; i < events; i++) lines.push(dec.decode(pool[i % pool.length]!));
const input = join(dir, 'events.ndjson');
await writeFile(input, lines.join('\n') + '\n');
lines.length = 0;
const db = await DuckDBInstance.create(':memory:', { threads: String(threads), autoload_known_extensions: 'false', autoinstall_known_extensions: 'false' });
const conn = await db.connect();
await conn.run("SET TimeZone='UTC'");
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await conn.run(`COPY (
  SELECT event_id, user_id, event_type, page, CAST("timestamp" AS TIMESTAMPTZ) AS event_time, now() AS processed_time
  FROM read_json('${input}', format = 'newline_delimited',
    columns = {event_id: 'VARCHAR', user_id: 'VARCHAR', event_type: 'VARCHAR', page: 'VARCHAR', "timestamp": 'VARCHAR'})
) TO '${join(dir, 'out.parquet')}' (FORMAT parquet, COMPRESSION zstd)`);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
conn.closeSync();
db.closeSync();
await rm(dir, { recursive: true, force: true });
const bytes = events * averageSize(pool);
emitResult({
  bench: 'duckdb-native',
  events,
  size,
  threads,
  seconds,
  eventsPerSecond: events / seconds,
  mbPerSecond: bytes / 1e6 / seconds,
  cpuSecondsPerGB: (cpu.user + cpu.system) / 1e6 / (bytes / 1e9),
  peakRssMB: peakRss() / 1e6,
});
