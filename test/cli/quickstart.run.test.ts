/**
 * `floe quickstart` (what `npm start` runs), as a process: the reference system end to end. It
 * exits 0, prints the reference query with the 10 events it sent and how to query the table
 * again; the hints work; a second run appends 10 more events to the same stream and table
 * (20 rows, no duplicates), because the stream is kept beside the warehouse and the positions
 * committed in the table stay valid.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { QueryEngine } from '../../src/query/engine.js';
import { REFERENCE_STREAM, REFERENCE_TABLE } from '../../src/pipeline/reference.js';
import { assertFails, cliJson, runCli } from './helpers.js';
import { childEnv, killStrayCliProcesses, runCliProcess } from './spawn.js';

after(() => killStrayCliProcesses());

const QUERY = `SELECT * FROM ${REFERENCE_TABLE} ORDER BY event_time DESC LIMIT 10`;

/** The event ids in the printed result table. */
function printedEventIds(stdout: string): string[] {
  return [...stdout.matchAll(/^(evt_\d+_\d+) +\|/gm)].map((m) => m[1]!);
}

test('floe quickstart: 10 events end to end, printed with the hints; a second run appends 10 more', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-qs-'));
  try {
    const first = await runCliProcess(['quickstart', '--warehouse', 'wh'], { cwd: dir, env: childEnv(), timeoutMs: 90_000 });
    assert.equal(first.code, 0, `exit code; stderr: ${first.stderr}`);
    // The reference query and its 10 rows.
    assert.ok(first.stdout.includes(`\n${QUERY}\n`), first.stdout);
    assert.match(first.stdout, /^event_id +\| user_id +\| event_type +\| page +\| event_time +\| processed_time$/m);
    const ids = printedEventIds(first.stdout);
    assert.equal(ids.length, 10, first.stdout);
    assert.deepEqual(ids.map((id) => Number(id.split('_')[2])).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.match(first.stdout, /^\(10 rows\)$/m);
    // Where the table is and how to query it again.
    assert.ok(first.stdout.includes(`The table lives in ${join(dir, 'wh')}.`), first.stdout);
    assert.match(first.stdout, /Query it again:\n/);
    assert.ok(first.stdout.includes(`  npx floe query --warehouse wh "${QUERY}"\n`), first.stdout);
    assert.ok(first.stdout.includes(`  npx floe table describe --warehouse wh ${REFERENCE_TABLE}\n`), first.stdout);
    assert.match(first.stdout, /Run the quickstart again to append 10 more events/);
    // Progress on stderr, ending with everything committed.
    assert.match(first.stderr, /stream glue-streaming-iceberg-stream created/);
    assert.match(first.stderr, /all 10 events committed/);
    assert.ok(existsSync(join(dir, 'wh', 'catalog.db')));
    assert.ok(existsSync(join(dir, 'wh', '.kinesis')), 'the stream is kept beside the warehouse');

    // The hints work (here with the absolute path, since this process runs elsewhere).
    const again = await runCli(['query', '--warehouse', join(dir, 'wh'), QUERY]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(printedEventIds(again.stdout).sort(), [...ids].sort());
    const described = await runCli(['table', 'describe', '--warehouse', join(dir, 'wh'), REFERENCE_TABLE]);
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /processed_time/);

    const second = await runCliProcess(['quickstart', '--warehouse', 'wh'], { cwd: dir, env: childEnv(), timeoutMs: 90_000 });
    assert.equal(second.code, 0, `second run exit code; stderr: ${second.stderr}`);
    assert.match(second.stderr, /stream glue-streaming-iceberg-stream exists/);
    assert.equal(printedEventIds(second.stdout).length, 10);

    // 20 rows, no duplicates, nothing dead-lettered; one position per shard, covering all 20.
    const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'wh', 'catalog.db'), warehouse: join(dir, 'wh') });
    const engine = await QueryEngine.open({ catalog });
    try {
      const r = await engine.query(
        `SELECT count(*), count(DISTINCT event_id), count(DISTINCT page), count(*) FILTER (WHERE event_time IS NULL OR processed_time IS NULL) FROM ${REFERENCE_TABLE}`,
      );
      assert.deepEqual(r.rows, [[20n, 20n, 10n, 0n]]);
      const dl = await engine.query(`SELECT count(*) FROM ${REFERENCE_TABLE}_dead_letters`);
      assert.deepEqual(dl.rows, [[0n]]);
      const md = (await catalog.loadTable({ namespace: ['glue_streaming_iceberg_db'], name: 'streaming_events' })).metadata;
      const current = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id'])!;
      const positions = Object.keys(current.summary).filter((k) => k.startsWith(`floe.checkpoint.${REFERENCE_STREAM}.`));
      assert.equal(positions.length, 1);
    } finally {
      engine.close();
      await catalog.close();
    }
    const snapshots = await cliJson(['table', 'snapshots', '--warehouse', join(dir, 'wh'), REFERENCE_TABLE]);
    assert.ok(snapshots.length >= 2, `${snapshots.length} snapshots`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('floe quickstart: bad flags exit 2', async () => {
  assertFails(await runCli(['quickstart', '--count', '0']), 2, /^floe: cli: --count must be a positive integer/);
  assertFails(await runCli(['quickstart', '--count', 'ten']), 2, /--count must be a positive integer/);
  assertFails(await runCli(['quickstart', '--stream', 'x']), 2, /Unknown option '--stream'/);
});
