/**
 * Exactly once with upserts and deletes under SIGKILL: `floe run` on a `table.upsert` table is
 * killed at random moments and at the commit's crash-sensitive points while a producer keeps
 * sending upserts and deletes of a small set of keys to Kinesis (kinesalite); it is restarted each
 * time. In the end the table (through the query engine) is exactly the last state of each key of
 * the produced stream, nothing else: a replayed record re-applies a change idempotently, and rows
 * and their equality deletes land in one snapshot with the positions. Run twice: on a v2 table
 * (equality deletes, no maintenance), and on a v3 table whose runs delete by position (deletion
 * vectors, each start building its key index from the table) with compactions running beside
 * them (committed through the index) between the kills.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { FileContent, isDeletionVector } from '../../src/iceberg/manifest-types.js';
import { QueryEngine } from '../../src/query/engine.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { Table } from '../../src/table/table.js';
import { clientFor, createStream, startLocal } from '../source/kinesis-test-helpers.js';
import { repoRoot } from '../helpers/shared.js';

/** How to start the CLI: the compiled one when built with this feature, else through tsx. */
function cli(): { cmd: string; args: string[] } {
  const built = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  if (existsSync(built) && existsSync(join(repoRoot(), 'dist', 'src', 'pipeline', 'keyed-changes.js'))) return { cmd: process.execPath, args: [built] };
  return { cmd: process.execPath, args: ['--import', 'tsx', join(repoRoot(), 'src', 'cli', 'main.ts')] };
}

/** Starts `floe run`; its log (stdout) is piped only when `log` is set (the caller must read it). */
function startRun(configPath: string, env: NodeJS.ProcessEnv, log = false): ChildProcess {
  const { cmd, args } = cli();
  return spawn(cmd, [...args, 'run', '--config', configPath], { env, stdio: ['ignore', log ? 'pipe' : 'ignore', 'pipe'] });
}

/** Collects a run's log (stdout, when piped): read it at the end, its last lines may arrive after the exit event. */
function collectLog(child: ChildProcess): () => string {
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  return () => log;
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

/**
 * A variant of the scenario: the config lines that differ (the table's and maintenance's), and
 * what else to check once the final run has drained the stream (its runs' stderr given).
 */
interface Variant {
  tmpPrefix: string;
  /** Lines after `upsert: { key: [id] }` (indented under `table:`). */
  table: string[];
  /** The `maintenance` section's lines. */
  maintenance: string[];
  /** Checks of the variant, after the table was found in the last state of each key (given each run's log: stdout, JSON lines). */
  check?: (catalog: SqlCatalog, logs: string[], t: TestContext) => Promise<void>;
}

async function crashScenario(variant: Variant, t: TestContext): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), variant.tmpPrefix));
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
        ...variant.table,
        'transform:',
        '  columns:',
        '    id: long',
        '    v: long',
        '  operation: { path: op, delete: [d] }',
        'commit:',
        '  interval: 150ms',
        ...variant.maintenance,
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
    /** Each run's log (when the variant checks them). */
    const logs: (() => string)[] = [];
    let snapshots = 0;
    let committedRounds = 0;
    for (let round = 0; round < 6; round++) {
      const point = points[round % points.length]!;
      const child = startRun(configPath, point ? { ...baseEnv, FLOE_CRASH_POINT: point } : baseEnv, variant.check !== undefined);
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const done = exited(child);
      logs.push(collectLog(child));
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
    const child = startRun(configPath, baseEnv, variant.check !== undefined);
    logs.push(collectLog(child));
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
    await variant.check?.(catalog, logs.map((l) => l()), t);
  } finally {
    client.destroy();
    await catalog.close();
    await local.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('crash: SIGKILL of an upserting run at random moments and commit points ends in the last state of each key', { timeout: 180_000 }, async (t) => {
  await crashScenario({ tmpPrefix: 'floe-crash-upsert-', table: ["  partition_by: 'bucket(4, id)'"], maintenance: ['maintenance: false'] }, t);
});

/** Live delete files of db.kv's current snapshot: deletion vectors and equality deletes. */
async function liveDeletes(catalog: SqlCatalog): Promise<{ vectors: number; equality: number }> {
  const table = await Table.load(catalog, { namespace: ['db'], name: 'kv' });
  const scan = await planTableScan(table.io, table.metadata, { ref: 'main' });
  const all = [...new Map(scan.tasks.flatMap((task) => task.deletes).map((d) => [`${d.file.file_path}@${d.file.content_offset}`, d.file])).values()];
  return { vectors: all.filter(isDeletionVector).length, equality: all.filter((d) => d.content === FileContent.EQUALITY_DELETES).length };
}

test('crash: the same on a v3 table deleting by position (deletion vectors), with compactions between the kills', { timeout: 180_000 }, async (t) => {
  await crashScenario(
    {
      tmpPrefix: 'floe-crash-upsert-v3-',
      table: ["  partition_by: 'bucket(4, id)'", "  properties: { format-version: '3' }"],
      maintenance: [
        'maintenance:',
        '  compact:',
        '    interval: 300ms',
        '    min_files: 2',
        '    delete_files: { interval: 150ms, min_files: 2 }',
        '  rewrite_manifests: false',
        '  expire_snapshots: false',
        '  remove_orphans: false',
      ],
      check: async (catalog, logs, t) => {
        const all = logs.join('\n');
        const byVectors = logs.filter((l) => l.includes('older rows deleted by position (deletion vectors)')).length;
        const compactions = (all.match(/maintenance: compact db\.kv(?! failed)/g) ?? []).length;
        const failed = all.split('\n').filter((l) => /maintenance: compact db\.kv failed/.test(l));
        t.diagnostic(`${byVectors} of ${logs.length} runs deleted by vectors; ${compactions} compactions committed, ${failed.length} failed`);
        // Every run that got as far as opening the table said it deletes by position; none fell back.
        assert.ok(byVectors >= 2, `runs that deleted by vectors: ${byVectors} of ${logs.length}; first log: ${logs[0]?.slice(0, 1500)}`);
        assert.ok(!all.includes('older rows deleted by equality'), all.split('\n').filter((l) => l.includes('deleted by equality')).join('\n'));
        // A compaction in the writer's process commits through its index: never refused as another writer's change.
        assert.deepEqual(failed.filter((l) => /another writer|abandoned|twice/.test(l)), [], 'compactions refused');
        assert.ok(compactions >= 1, `compactions committed: ${compactions}; failures: ${failed.slice(0, 3).join(' / ')}`);
        const d = await liveDeletes(catalog);
        assert.equal(d.equality, 0, 'no equality delete is live');
        const table = await Table.load(catalog, { namespace: ['db'], name: 'kv' });
        assert.equal(table.metadata['format-version'], 3);
        assert.ok(table.metadata.snapshots!.every((s) => Number(s.summary['added-equality-delete-files'] ?? 0) === 0), 'no snapshot added an equality delete');
        assert.ok(table.metadata.snapshots!.some((s) => Number(s.summary['added-dvs'] ?? 0) > 0), 'commits added deletion vectors');
      },
    },
    t,
  );
});
