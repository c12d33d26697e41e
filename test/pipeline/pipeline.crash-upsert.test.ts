/**
 * Exactly once with upserts and deletes under SIGKILL: `floe run` on a `table.upsert` table is
 * killed at random moments and at the commit's crash-sensitive points while a producer keeps
 * sending upserts and deletes of a small set of keys to Kinesis (kinesalite); it is restarted each
 * time. In the end the table (through the query engine) is exactly the last state of each key of
 * the produced stream, nothing else: a replayed record re-applies a change idempotently, and rows
 * and their equality deletes land in one snapshot with the positions.
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
import { putRecords } from '../../src/source/kinesis/producer.js';
import { clientFor, createStream, startLocal } from '../source/kinesis-test-helpers.js';
import { repoRoot } from '../helpers/shared.js';

/** How to start the CLI: the compiled one when built with this feature, else through tsx. */
function cli(): { cmd: string; args: string[] } {
  const built = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  if (existsSync(built) && existsSync(join(repoRoot(), 'dist', 'src', 'pipeline', 'keyed-changes.js'))) return { cmd: process.execPath, args: [built] };
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
const STREAM = 'upserts';
const KEYS = 60;

async function tableRows(catalog: SqlCatalog): Promise<string[]> {
  if (!(await catalog.tableExists({ namespace: ['db'], name: 'kv' }))) return [];
  const engine = await QueryEngine.open({ catalog });
  try {
    const r = await engine.query('SELECT id, v FROM db.kv ORDER BY id');
    return r.rows.map((row) => `${row[0]}=${row[1]}`);
  } finally {
    engine.close();
  }
}

/** Snapshots of the table (0 before it exists). */
async function snapshotCount(catalog: SqlCatalog): Promise<number> {
  if (!(await catalog.tableExists({ namespace: ['db'], name: 'kv' }))) return 0;
  return (await catalog.loadTable({ namespace: ['db'], name: 'kv' })).metadata.snapshots?.length ?? 0;
}

/** The dead letters, for the failure message (none are expected). */
async function deadLetters(catalog: SqlCatalog): Promise<string> {
  if (!(await catalog.tableExists({ namespace: ['db'], name: 'kv_dead_letters' }))) return 'none';
  const engine = await QueryEngine.open({ catalog });
  try {
    return JSON.stringify((await engine.query('SELECT shard, sequence_number, error FROM db.kv_dead_letters')).rows.slice(0, 5));
  } finally {
    engine.close();
  }
}

test('crash: SIGKILL of an upserting run at random moments and commit points ends in the last state of each key', { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-crash-upsert-'));
  const local = await startLocal();
  const client = clientFor(local.url, 3);
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    await createStream(client, STREAM, 2);
    const configPath = join(dir, 'floe.yaml');
    await writeFile(
      configPath,
      [
        'source:',
        `  stream: ${STREAM}`,
        `  endpoint: ${local.url}`,
        '  discovery_interval: 1s',
        'catalog:',
        `  uri: ${join(dir, 'catalog.db')}`,
        `  warehouse: ${dir}`,
        'table:',
        '  name: db.kv',
        '  upsert: { key: [id] }',
        "  partition_by: 'bucket(4, id)'",
        'transform:',
        '  columns:',
        '    id: long',
        '    v: long',
        '  operation: { path: op, delete: [d] }',
        'commit:',
        '  interval: 150ms',
        'maintenance: false',
        '',
      ].join('\n'),
    );

    // The producer: per batch, distinct keys (a key's records keep their order: same partition
    // key, same shard, one at a time), 25% deletes; `state` is the last state of each key.
    const state = new Map<number, number>();
    let produced = 0;
    let deletes = 0;
    let producing = true;
    const producer = (async () => {
      while (producing) {
        const ids = new Set<number>();
        while (ids.size < 15) ids.add(Math.floor(Math.random() * KEYS));
        const changes = [...ids].map((id) => {
          const n = produced++;
          return Math.random() < 0.25 ? { id, op: 'd' } : { id, v: n, op: 'u' };
        });
        await putRecords(
          client,
          { streamName: STREAM },
          changes.map((c) => ({ data: new TextEncoder().encode(JSON.stringify(c)), partitionKey: `key-${c.id}` })),
        );
        for (const c of changes) {
          if (c.op === 'd') {
            state.delete(c.id);
            deletes++;
          } else state.set(c.id, c.v!);
        }
        await sleep(50);
      }
    })();

    const baseEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const points = ['afterWrite:0.5', 'beforeCommit:0.5', 'afterCommit:0.5', ''];
    const outcomes: string[] = [];
    let snapshots = 0;
    let committedRounds = 0;
    for (let round = 0; round < 6; round++) {
      const point = points[round % points.length]!;
      const child = startRun(configPath, point ? { ...baseEnv, FLOE_CRASH_POINT: point } : baseEnv);
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const done = exited(child);
      // A random moment once the run commits (start-up through tsx takes seconds: a kill during
      // it proves nothing), unless a crash point killed it first.
      const before = snapshots;
      const killer = (async () => {
        const until = Date.now() + 20_000;
        while (child.exitCode === null && child.signalCode === null && Date.now() < until && (await snapshotCount(catalog)) <= before) await sleep(50);
        await sleep(Math.floor(Math.random() * 700));
        child.kill('SIGKILL');
      })();
      const result = await Promise.race([done, killer.then(() => done)]);
      const now = await snapshotCount(catalog);
      if (now > snapshots) committedRounds++;
      snapshots = now;
      outcomes.push(`${point || 'random'}:${result.signal ?? result.code}`);
      assert.ok(result.signal === 'SIGKILL' || result.code === 0, `run exited unexpectedly (${JSON.stringify(result)}): ${stderr}`);
    }
    producing = false;
    await producer;
    const expected = [...state.entries()].sort((a, b) => a[0] - b[0]).map(([id, v]) => `${id}=${v}`);

    // A final clean run drains the stream; SIGTERM makes it commit and exit 0.
    const child = startRun(configPath, baseEnv);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 60_000;
    let rows: string[] = [];
    while (Date.now() < deadline) {
      rows = await tableRows(catalog);
      if (JSON.stringify(rows) === JSON.stringify(expected)) break;
      await sleep(300);
    }
    child.kill('SIGTERM');
    const end = await exited(child);
    assert.equal(end.code, 0, `final run exit: ${JSON.stringify(end)} ${stderr}`);
    rows = await tableRows(catalog);
    assert.ok(outcomes.filter((o) => o.endsWith('SIGKILL')).length >= 4, `kills: ${outcomes.join(' ')}`);
    // Kills that interrupted a run with commits behind it (not only start-ups).
    assert.ok(committedRounds >= 2, `rounds that committed before their kill: ${committedRounds}`);
    assert.ok(deletes > 0 && produced > 200, `produced ${produced}, deletes ${deletes}`);
    t.diagnostic(`produced ${produced} changes (${deletes} deletes) of ${KEYS} keys; ${rows.length} keys live; ${committedRounds} killed runs had committed; runs: ${outcomes.join(' ')}`);
    const dead = await deadLetters(catalog);
    const extra = rows.filter((r) => !expected.includes(r));
    const missing = expected.filter((r) => !rows.includes(r));
    assert.deepEqual(rows, expected, `the last state of each key (produced ${produced}, ${deletes} deletes; outcomes ${outcomes.join(' ')}; extra ${extra.join(' ')}; missing ${missing.join(' ')}; dead letters: ${dead})`);
  } finally {
    client.destroy();
    await catalog.close();
    await local.close();
    await rm(dir, { recursive: true, force: true });
  }
});
