import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { MaintenanceScheduler, type MaintenanceEvent } from '../../src/maintenance/scheduler.js';
import { DEFAULT_DUCKDB_MEMORY_LIMIT, MAINTENANCE_DEFAULTS, validateConfig, type MaintenanceConfig } from '../../src/pipeline/config.js';
import type { DuckDB } from '../../src/duckdb/instance.js';
import { appendRows, assertRows, sortedRows, withTable } from './helpers.js';

const base = {
  source: { stream: 's' },
  table: { name: 'db.events' },
  transform: { columns: { event_id: 'string' } },
};

test('config: duckdb.memory_limit and duckdb.temp_directory; bounds and unknown keys name the key', () => {
  assert.deepEqual(validateConfig(base).duckdb, { memoryLimitBytes: DEFAULT_DUCKDB_MEMORY_LIMIT });
  assert.equal(DEFAULT_DUCKDB_MEMORY_LIMIT, 256 * 1024 * 1024);
  assert.deepEqual(validateConfig({ ...base, duckdb: { memory_limit: '1GB', temp_directory: '/var/tmp/floe' } }).duckdb, {
    memoryLimitBytes: 1024 ** 3,
    tempDirectory: '/var/tmp/floe',
  });
  assert.deepEqual(validateConfig({ ...base, duckdb: { memory_limit: 64 * 1024 * 1024 } }).duckdb, { memoryLimitBytes: 64 * 1024 * 1024 });
  const bad: [unknown, RegExp][] = [
    [{ memory_limit: '16MB' }, /: config: duckdb\.memory_limit: must be at least 64MB, got "16MB"$/],
    [{ memory_limit: '2048GB' }, /: config: duckdb\.memory_limit: must be at most/],
    [{ memory_limit: 'half' }, /: config: duckdb\.memory_limit: invalid size "half"/],
    [{ memory_limit: -1 }, /: config: duckdb\.memory_limit: invalid size -1/],
    [{ memory: '1GB' }, /: config: duckdb\.memory: unknown key \(allowed: memory_limit, temp_directory\)$/],
    [{ temp_directory: '' }, /: config: duckdb\.temp_directory: must be a non-empty string$/],
    ['256MB', /: config: duckdb: must be a mapping$/],
  ];
  for (const [duckdb, re] of bad) assert.throws(() => validateConfig({ ...base, duckdb }), re);
});

function compactOnly(): MaintenanceConfig {
  return {
    compact: { enabled: true, intervalMs: 60_000, minFiles: 3, targetFileSizeBytes: 1 << 27 },
    expireSnapshots: { ...MAINTENANCE_DEFAULTS.expireSnapshots, enabled: false },
    removeOrphans: { ...MAINTENANCE_DEFAULTS.removeOrphans, enabled: false },
    rewriteManifests: { ...MAINTENANCE_DEFAULTS.rewriteManifests, enabled: false },
  };
}

test('scheduler: compaction runs under the configured memory limit, keeps nothing of the files it read, spills under temp_directory', async () => {
  await withTable(async ({ dir, catalog, table }) => {
    const spill = join(dir, 'spill');
    await mkdir(spill);
    const events: MaintenanceEvent[] = [];
    const scheduler = new MaintenanceScheduler({
      catalog,
      tables: [table.identifier],
      policy: compactOnly(),
      onEvent: (e) => events.push(e),
      duckdb: { memoryLimitBytes: 96 * 1024 * 1024, tempDirectory: spill },
    });
    // The scheduler's own instance (private): what a long `floe run` keeps between compactions.
    const instance = () => (scheduler as unknown as { duckdb: DuckDB | undefined }).duckdb;
    let next = 0;
    for (let round = 0; round < 4; round++) {
      for (let f = 0; f < 4; f++) {
        await appendRows(table, next, 50);
        next += 50;
      }
      await scheduler.runOne('compact', table.identifier);
      const db = instance();
      assert.ok(db, 'the compaction opened its instance');
      // Every file compacted so far was read by this instance; none of it may stay in memory.
      const cached = await db.all(`SELECT memory_usage_bytes AS m FROM duckdb_memory() WHERE tag = 'EXTERNAL_FILE_CACHE'`);
      assert.equal(Number(cached[0]?.m ?? 0), 0, `round ${round}: bytes of read files kept by DuckDB`);
      // Nor anything else DuckDB manages (buffers, caches): the instance rests empty between runs.
      const total = await db.all(`SELECT sum(memory_usage_bytes) AS m FROM duckdb_memory()`);
      assert.ok(Number(total[0]?.m ?? 0) < 1024 * 1024, `round ${round}: DuckDB holds ${String(total[0]?.m)} bytes between compactions`);
    }
    assert.deepEqual(
      events.map((e) => [e.operation, e.error, e.details.rewrittenFiles]),
      // Size tiers: the 400-row file of round 2 is left out of round 3 (67% of 600 rows), and
      // joins round 4 with round 3's 200-row file (50% of 800).
      [
        ['compact', undefined, 4],
        ['compact', undefined, 5],
        ['compact', undefined, 4],
        ['compact', undefined, 6],
      ],
    );
    const db = instance()!;
    assert.deepEqual(await db.all(`SELECT current_setting('memory_limit') AS m, current_setting('threads') AS t`), [{ m: '96.0 MiB', t: 1n }]);
    assert.equal(dirname(db.spillDirectory), spill);
    const rowsBefore = await sortedRows(catalog);
    assert.equal(rowsBefore.length, 800);
    await scheduler.stop();
    assert.equal(instance(), undefined, 'stop() releases the instance');
    assert.ok(!existsSync(db.spillDirectory));
    assert.deepEqual(await readdir(spill), []);
    await assertRows(catalog, rowsBefore, 'after compactions');
  });
});
