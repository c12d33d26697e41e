/**
 * Start-up: from spawning the compiled `floe run` to its first committed snapshot, against a
 * stream that already holds records (the embedded Kinesis endpoint), each time into a new table.
 *
 *   node dist/bench/startup.js --runs 5
 *
 * Times are taken here, in the parent: spawn → the `started` log line (catalog opened, table
 * created, shards listed) → the first `commit` log line (records read, Parquet written, snapshot
 * committed). A bare `node -e ""` is timed too, as the floor any Node program pays.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ensureStream } from '../src/source/kinesis/admin.js';
import { kinesisClientFromEnv } from '../src/source/kinesis/client.js';
import { putRecords } from '../src/source/kinesis/producer.js';
import { startLocalKinesis } from '../src/source/local-kinesis.js';
import { emitResult, flag, floeBin, liveEvent, median } from './common.js';
import { REFERENCE_COLUMNS } from './reference.js';

const runs = Number(flag('runs', '5'));
const records = Number(flag('records', '1000'));

const kinesis = await startLocalKinesis();
const client = kinesisClientFromEnv({ endpoint: kinesis.url, region: 'us-east-1' });
const stream = 'bench-startup';
await ensureStream(client, { streamName: stream, mode: 'PROVISIONED', shardCount: 1 });
await putRecords(client, { streamName: stream }, Array.from({ length: records }, (_, i) => ({ data: liveEvent('start', i), partitionKey: `pk_${i}` })));

async function nodeFloor(): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve) => spawn(process.execPath, ['-e', ''], { stdio: 'ignore' }).on('exit', () => resolve()));
  return performance.now() - t0;
}

async function once(run: number): Promise<{ startedMs: number; firstCommitMs: number; rows: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-bench-start-'));
  const configPath = join(dir, 'floe.json');
  await writeFile(
    configPath,
    JSON.stringify({
      source: { stream, endpoint: kinesis.url, region: 'us-east-1' },
      catalog: { warehouse: dir },
      table: { name: `bench.start_${run}` },
      transform: { columns: REFERENCE_COLUMNS },
      commit: { interval: '1s' },
    }),
  );
  const t0 = performance.now();
  const floe = spawn(floeBin(), ['run', '--config', configPath], {
    env: { ...process.env, AWS_REGION: 'us-east-1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  floe.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => floe.on('exit', () => resolve()));
  let startedMs = NaN;
  const result = await new Promise<{ firstCommitMs: number; rows: number }>((resolve, reject) => {
    createInterface({ input: floe.stdout }).on('line', (line) => {
      let e: { msg?: string; records?: number };
      try {
        e = JSON.parse(line) as typeof e;
      } catch {
        return;
      }
      if (e.msg?.startsWith('started') && Number.isNaN(startedMs)) startedMs = performance.now() - t0;
      if (e.msg === 'commit') resolve({ firstCommitMs: performance.now() - t0, rows: e.records ?? 0 });
    });
    void exited.then(() => reject(new Error(`floe run exited before committing: ${stderr}`)));
  });
  floe.kill('SIGTERM');
  await exited;
  await rm(dir, { recursive: true, force: true });
  return { startedMs, ...result };
}

const floor: number[] = [];
for (let i = 0; i < 3; i++) floor.push(await nodeFloor());
const results = [];
for (let i = 0; i < runs; i++) results.push(await once(i));
await kinesis.close();
const commit = results.map((r) => r.firstCommitMs);
emitResult({
  bench: 'startup',
  runs,
  startedMsMedian: median(results.map((r) => r.startedMs)),
  firstCommitMsMedian: median(commit),
  firstCommitMsMin: Math.min(...commit),
  firstCommitMsMax: Math.max(...commit),
  firstCommitRows: median(results.map((r) => r.rows)),
  nodeFloorMs: median(floor),
});
