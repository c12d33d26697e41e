/**
 * Exactly once per table under SIGKILL with routing (issue #17 part 4): `floe run` with a
 * `tables:` config (a `where` table, a table-name template that creates tables while running,
 * records no entry takes) is killed at random moments and at the commit's crash-sensitive points
 * (in any table's pipeline) while a producer keeps sending to a 2-shard stream (kinesalite), and
 * restarted each time. One table gets a single record, so its positions lag the others' (it
 * commits positions alone, every 10 intervals) and most restarts read again records the other
 * tables hold, which they must skip. In the end every record is exactly once in exactly its table(s), and each
 * unrouted record exactly once in the unrouted table; no table outside `name_pattern` exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { QueryEngine } from '../../src/query/engine.js';
import { Table } from '../../src/table/table.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { clientFor, createStream, startLocal } from '../source/kinesis-test-helpers.js';
import { repoRoot } from '../helpers/shared.js';

const STREAM = 'routed-events';
const TYPES = ['purchase', 'view', 'click', undefined, 'spam'] as const;

function cli(): { cmd: string; args: string[] } {
  return { cmd: process.execPath, args: ['--import', 'tsx', join(repoRoot(), 'src', 'cli', 'main.ts')] };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function event(i: number): Record<string, unknown> {
  const e: Record<string, unknown> = { id: `evt_${i}`, n: i };
  const t = TYPES[i % TYPES.length];
  if (t !== undefined) e.event_type = t;
  return e;
}

/** The tables each record belongs in. */
function tablesOf(i: number): string[] {
  const t = event(i).event_type;
  const out: string[] = [];
  if (t === 'purchase') out.push('db.purchases');
  if (t === 'view' || t === 'click') out.push(`db.events_${t}`);
  if (i % 3 === 0 && t !== undefined) out.push('db.thirds');
  if (i === 5) out.push('db.rare');
  return out.length > 0 ? out : ['db.unrouted'];
}

test('crash: SIGKILL with routing: every record exactly once in exactly its tables', { timeout: 300_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-crash-routing-'));
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
        'tables:',
        '  - table: { name: db.purchases }',
        `    where: "event_type IN ('purchase')"`,
        '    transform: { columns: { id: { type: string, required: true }, n: long } }',
        '  - table: { name: "db.events_{event_type}", name_pattern: "db\\\\.events_(view|click)" }',
        '    transform: { columns: { id: { type: string, required: true }, n: long, event_type: string } }',
        '  - table: { name: db.thirds }',
        '    where: "thirds = true AND NOT (event_type IS NULL OR n < 0)"',
        '    transform: { columns: { id: { type: string, required: true } } }',
        // One record ever: this table mostly commits positions alone (every 10 intervals), so it
        // is behind the others at most kills, and a restart reads again what they hold.
        '  - table: { name: db.rare }',
        '    where: "n = 5"',
        '    transform: { columns: { id: { type: string, required: true } } }',
        'commit:',
        '  interval: 150ms',
        'maintenance: false',
        '',
      ].join('\n'),
    );
    let produced = 0;
    let producing = true;
    const producer = (async () => {
      while (producing) {
        const entries = Array.from({ length: 30 }, (_, k) => {
          const i = produced + k;
          const e = event(i);
          // `thirds` marks the records db.thirds takes (i % 3 == 0 with an event_type).
          if (i % 3 === 0) e.thirds = true;
          return { data: new TextEncoder().encode(JSON.stringify(e)), partitionKey: `pk_${i}` };
        });
        await putRecords(client, { streamName: STREAM }, entries);
        produced += entries.length;
        await sleep(80);
      }
    })();

    /** Snapshots over the routed tables (a commit of any table adds one). */
    const snapshotCount = async (): Promise<number> => {
      let n = 0;
      for (const id of await catalog.listTables(['db']).catch(() => [])) {
        n += (await Table.load(catalog, id)).metadata.snapshots.length;
      }
      return n;
    };
    const committedSince = async (before: number, maxMs: number): Promise<void> => {
      const end = Date.now() + maxMs;
      while (Date.now() < end && (await snapshotCount()) <= before) await sleep(100);
    };
    const baseEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const points = ['afterWrite:0.3', 'beforeCommit:0.3', 'afterCommit:0.3', ''];
    const outcomes: string[] = [];
    const { cmd, args } = cli();
    for (let round = 0; round < 6; round++) {
      const point = points[round % points.length]!;
      const before = await snapshotCount();
      const child = spawn(cmd, [...args, 'run', '--config', configPath], { env: point ? { ...baseEnv, FLOE_CRASH_POINT: point } : baseEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let started: () => void = () => undefined;
      const running = new Promise<void>((r) => (started = r));
      const output = (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('started: writing')) started();
      };
      child.stdout?.on('data', output);
      child.stderr?.on('data', output);
      const done = exited(child);
      // Killed 0 to 1.5 s after its first commit of this round (a start takes seconds: tsx,
      // one DuckDB per table), so that every round commits and the tables' positions differ.
      const killer = Promise.race([running, sleep(30_000)])
        .then(() => committedSince(before, 30_000))
        .then(() => sleep(Math.floor(Math.random() * 1500)))
        .then(() => child.kill('SIGKILL'));
      const result = await Promise.race([done, killer.then(() => done)]);
      outcomes.push(`${point || 'random'}:${result.signal ?? result.code}`);
      assert.ok(result.signal === 'SIGKILL' || result.code === 0, `run exited unexpectedly (${JSON.stringify(result)}): ${stderr}`);
      assert.ok(stderr.includes('started: writing'), `round ${round} started writing before it was killed: ${stderr}`);
    }
    producing = false;
    await producer;

    const expected = new Map<string, string[]>();
    for (let i = 0; i < produced; i++) for (const t of tablesOf(i)) expected.set(t, [...(expected.get(t) ?? []), `evt_${i}`]);
    const total = [...expected.values()].reduce((n, l) => n + l.length, 0);

    const read = async (): Promise<Map<string, string[]>> => {
      const engine = await QueryEngine.open({ catalog });
      const out = new Map<string, string[]>();
      try {
        for (const t of expected.keys()) {
          if (!(await catalog.tableExists({ namespace: ['db'], name: t.slice(3) }))) continue;
          const sql = t === 'db.unrouted' ? `SELECT json_extract_string(text, '$.id') FROM ${t}` : `SELECT id FROM ${t}`;
          out.set(t, (await engine.query(sql)).rows.map((r) => String(r[0])));
        }
      } finally {
        engine.close();
      }
      return out;
    };
    // A final clean run drains the stream; SIGTERM makes it commit and exit 0.
    const child = spawn(cmd, [...args, 'run', '--config', configPath], { env: baseEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const got = await read();
      if ([...got.values()].reduce((n, l) => n + l.length, 0) >= total) break;
      await sleep(500);
    }
    child.kill('SIGTERM');
    const end = await exited(child);
    assert.equal(end.code, 0, `final run exit: ${JSON.stringify(end)} ${stderr}`);
    assert.ok(outcomes.filter((o) => o.endsWith('SIGKILL')).length >= 4, `kills: ${outcomes.join(' ')}`);

    const got = await read();
    for (const [t, ids] of expected) {
      const have = got.get(t) ?? [];
      const dups = have.filter((x, k) => have.indexOf(x) !== k);
      assert.deepEqual(dups, [], `${t}: no record twice (outcomes ${outcomes.join(' ')})`);
      assert.deepEqual([...have].sort(), [...ids].sort(), `${t}: exactly its records (produced ${produced})`);
    }
    const tables = (await catalog.listTables(['db'])).map((id) => id.name).filter((n) => !n.endsWith('_dead_letters')).sort();
    assert.deepEqual(tables, ['events_click', 'events_view', 'purchases', 'rare', 'thirds', 'unrouted']);
  } finally {
    client.destroy();
    await catalog.close();
    await local.close();
    await rm(dir, { recursive: true, force: true });
  }
});
