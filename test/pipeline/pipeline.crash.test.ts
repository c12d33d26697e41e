/**
 * Exactly once under SIGKILL: `floe run` is killed many times — at random moments and at the
 * commit's crash-sensitive points (after writing files, just before the catalog commit, just after
 * it) — while a producer keeps sending; it is restarted each time. In the end every produced
 * record is in the table exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { QueryEngine } from '../../src/query/engine.js';
import { REFERENCE_STREAM, REFERENCE_TABLE } from '../../src/pipeline/reference.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { clientFor, createStream, startLocal } from '../source/kinesis-test-helpers.js';
import { repoRoot } from '../helpers/shared.js';

/** How to start the CLI: the compiled one when built, else through tsx. */
function cli(): { cmd: string; args: string[] } {
  const built = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  if (existsSync(built)) return { cmd: process.execPath, args: [built] };
  return { cmd: process.execPath, args: ['--import', 'tsx', join(repoRoot(), 'src', 'cli', 'main.ts')] };
}

function startRun(configPath: string, env: NodeJS.ProcessEnv): ChildProcess {
  const { cmd, args } = cli();
  return spawn(cmd, [...args, 'run', '--config', configPath], { env, stdio: ['ignore', 'ignore', 'pipe'] });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function countRows(catalog: SqlCatalog): Promise<[number, number]> {
  if (!(await catalog.tableExists({ namespace: ['glue_streaming_iceberg_db'], name: 'streaming_events' }))) return [0, 0];
  const engine = await QueryEngine.open({ catalog });
  try {
    const r = await engine.query(`SELECT count(*), count(DISTINCT event_id) FROM ${REFERENCE_TABLE}`);
    const row = r.rows[0]!;
    return [Number(row[0]), Number(row[1])];
  } finally {
    engine.close();
  }
}

test('crash: SIGKILL at random moments and at every commit point loses and duplicates nothing', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-crash-'));
  const local = await startLocal();
  const client = clientFor(local.url, 3);
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    await createStream(client, REFERENCE_STREAM, 2);
    const configPath = join(dir, 'floe.yaml');
    await writeFile(
      configPath,
      [
        'source:',
        `  stream: ${REFERENCE_STREAM}`,
        `  endpoint: ${local.url}`,
        '  discovery_interval: 1s',
        'catalog:',
        `  uri: ${join(dir, 'catalog.db')}`,
        `  warehouse: ${dir}`,
        'table:',
        `  name: ${REFERENCE_TABLE}`,
        'transform:',
        '  columns:',
        '    event_id: string',
        '    user_id: string',
        '    event_type: string',
        '    page: string',
        '    event_time: { type: timestamptz, path: timestamp }',
        '    processed_time: { type: timestamptz, value: processing_time }',
        'commit:',
        '  interval: 150ms',
        '',
      ].join('\n'),
    );

    // The producer: unique event ids, sent in small batches for the whole test.
    let produced = 0;
    let producing = true;
    const producer = (async () => {
      while (producing) {
        const entries = Array.from({ length: 40 }, (_, k) => {
          const i = produced + k;
          const event = { event_id: `evt_${i}`, user_id: `user_00${i % 5}`, event_type: 'click', page: `/products/${100 + i}`, timestamp: '2026-01-08T15:16:52Z' };
          return { data: new TextEncoder().encode(JSON.stringify(event)), partitionKey: `pk_${i}` };
        });
        await putRecords(client, { streamName: REFERENCE_STREAM }, entries);
        produced += entries.length;
        await sleep(60);
      }
    })();

    const baseEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const points = ['afterWrite:0.5', 'beforeCommit:0.5', 'afterCommit:0.5', ''];
    const outcomes: string[] = [];
    for (let round = 0; round < 16; round++) {
      const point = points[round % points.length]!;
      const child = startRun(configPath, point ? { ...baseEnv, FLOE_CRASH_POINT: point } : baseEnv);
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const done = exited(child);
      // Random moment: anywhere from start-up to several commits in.
      const killer = sleep(200 + Math.floor(Math.random() * 1500)).then(() => child.kill('SIGKILL'));
      const result = await Promise.race([done, killer.then(() => done)]);
      outcomes.push(`${point || 'random'}:${result.signal ?? result.code}`);
      assert.ok(result.signal === 'SIGKILL' || result.code === 0, `run exited unexpectedly (${JSON.stringify(result)}): ${stderr}`);
    }
    producing = false;
    await producer;

    // A final clean run drains the stream; SIGTERM makes it commit and exit 0.
    const child = startRun(configPath, baseEnv);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 60_000;
    let rows: [number, number] = [0, 0];
    while (Date.now() < deadline) {
      rows = await countRows(catalog);
      if (rows[0] >= produced) break;
      await sleep(300);
    }
    child.kill('SIGTERM');
    const end = await exited(child);
    assert.equal(end.code, 0, `final run exit: ${JSON.stringify(end)} ${stderr}`);
    rows = await countRows(catalog);
    assert.ok(outcomes.filter((o) => o.endsWith('SIGKILL')).length >= 12, `kills: ${outcomes.join(' ')}`);
    assert.deepEqual(rows, [produced, produced], `every produced record exactly once (produced ${produced}; outcomes ${outcomes.join(' ')})`);
  } finally {
    client.destroy();
    await catalog.close();
    await local.close();
    await rm(dir, { recursive: true, force: true });
  }
});
