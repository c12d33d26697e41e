/**
 * The runner composes the pipeline and its maintenance as `floe run` always did: the config's
 * maintenance section maps to the scheduler's policy without losing a setting; work beside
 * ingestion starts after `started` and stops after the last commit, before the source closes;
 * `openPipeline` runs maintenance (events on the same listener), `Pipeline` alone runs none.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatTableIdentifier } from '../../src/catalog/catalog.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { DEFAULT_MAINTENANCE_MEMORY_LIMIT } from '../../src/maintenance/policy.js';
import { DEFAULT_DUCKDB_MEMORY_LIMIT, MAINTENANCE_DEFAULTS, validateConfig } from '../../src/pipeline/config.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { maintenanceDuckDB, maintenancePolicy, openPipeline, type RunEvent } from '../../src/run/run-pipeline.js';
import { MemorySource } from '../../src/source/memory.js';

const enc = new TextEncoder();

function source(records: number): MemorySource {
  return new MemorySource({
    id: 's',
    partitions: [{ id: 'p0', length: records, record: (i: number) => ({ data: enc.encode(JSON.stringify({ id: i, kind: `k${i % 3}` })) }) }],
  });
}

function config(dir: string, extra: Record<string, unknown>) {
  return validateConfig({
    source: { stream: 's' },
    catalog: { warehouse: dir },
    table: { name: 'db.t' },
    transform: { columns: { id: 'long', kind: 'string' } },
    dead_letter: { policy: 'dlq', table: 'db.t_dead' },
    ...extra,
  });
}

test('runner: the maintenance section maps to the policy setting for setting; the memory defaults agree', () => {
  const raw = {
    compact: { interval: '7s', min_files: 3, target_file_size: '5MB', delete_files: { interval: '3s', min_files: 4, min_ratio: '5%' } },
    expire_snapshots: { interval: '11s', older_than: '2h', retain_last: 4 },
    remove_orphans: { interval: '13s', older_than: '2h', allow_short_older_than: true },
    rewrite_manifests: false,
    convert_deletes: { interval: '2s', min_files: 3 },
  };
  const c = config('/w', { maintenance: raw, duckdb: { memory_limit: '100MB', temp_directory: '/spill' } });
  const policy = maintenancePolicy(c.maintenance!);
  assert.deepEqual(policy, {
    compact: {
      enabled: true,
      intervalMs: 7000,
      minFiles: 3,
      targetFileSizeBytes: 5 * 1024 * 1024,
      deleteFiles: { enabled: true, intervalMs: 3000, minFiles: 4, minRatio: 0.05, minVectorRatio: 0.3 },
    },
    expireSnapshots: { enabled: true, intervalMs: 11_000, olderThanMs: 7_200_000, retainLast: 4 },
    removeOrphans: { enabled: true, intervalMs: 13_000, olderThanMs: 7_200_000, allowShortOlderThan: true },
    rewriteManifests: { ...MAINTENANCE_DEFAULTS.rewriteManifests, enabled: false },
    convertDeletes: { enabled: true, intervalMs: 2000, minFiles: 3 },
  });
  assert.deepEqual(maintenancePolicy(MAINTENANCE_DEFAULTS), MAINTENANCE_DEFAULTS);
  assert.deepEqual(maintenanceDuckDB(c.duckdb), { memoryLimitBytes: 100 * 1024 * 1024, tempDirectory: '/spill' });
  assert.deepEqual(maintenanceDuckDB(undefined), { memoryLimitBytes: DEFAULT_DUCKDB_MEMORY_LIMIT });
  assert.equal(DEFAULT_MAINTENANCE_MEMORY_LIMIT, DEFAULT_DUCKDB_MEMORY_LIMIT, 'a scheduler built without settings gets the config default');
});

test('pipeline: work beside ingestion starts after `started`, stops after the last commit, before the source closes', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-alongside-'));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    const order: string[] = [];
    let tables: string[] = [];
    let committed = 0;
    const src = source(500);
    const close = src.close.bind(src);
    src.close = async () => {
      order.push('source closed');
      await close();
    };
    const pipeline = await Pipeline.open({
      config: config(dir, { maintenance: false, commit: { interval: '1h', max_records: 100 } }),
      catalog,
      source: src,
      onEvent: (e) => {
        order.push(e.type);
        if (e.type === 'commit' && (committed += e.records) >= 500) pipeline.stop();
      },
      alongside: (ids) => {
        tables = ids.map(formatTableIdentifier);
        return {
          start: () => void order.push('alongside start'),
          stop: async () => {
            order.push('alongside stop');
            await new Promise((r) => setTimeout(r, 50)); // awaited: nothing closes meanwhile
            order.push('alongside stopped');
          },
        };
      },
    });
    await pipeline.run();
    assert.deepEqual(tables, ['db.t', 'db.t_dead'], 'the table, then the dead-letter table');
    const lastCommit = order.lastIndexOf('commit');
    assert.ok(order.filter((o) => o === 'commit').length >= 5, order.join(', '));
    assert.deepEqual(order.slice(0, 2), ['started', 'alongside start']);
    assert.deepEqual(order.slice(lastCommit + 1), ['alongside stop', 'alongside stopped', 'source closed', 'stopped']);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('runner: openPipeline compacts beside ingestion with the config policy; Pipeline alone does no maintenance', { timeout: 90_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-runner-'));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    const maintenance = { compact: { interval: '100ms', min_files: 3 }, expire_snapshots: false, remove_orphans: false, rewrite_manifests: false };
    const run = async (open: typeof openPipeline, untilCompacted: boolean): Promise<RunEvent[]> => {
      const events: RunEvent[] = [];
      let committed = 0;
      const src = source(400);
      const pipeline = await open({
        config: config(dir, { maintenance, commit: { interval: '1h', max_records: 50 } }),
        catalog,
        source: src,
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'commit' && (committed += e.records) >= 400 && !untilCompacted) pipeline.stop();
          if (e.type === 'maintenance') pipeline.stop();
        },
      });
      const stopAnyway = setTimeout(() => pipeline.stop(), 30_000); // a failing test ends
      try {
        await pipeline.run();
      } finally {
        clearTimeout(stopAnyway);
      }
      return events;
    };

    // The pipeline alone: eight files, a policy that would compact them, and no maintenance event.
    const alone = await run((o) => Pipeline.open(o), false);
    assert.ok(alone.filter((e) => e.type === 'commit').length >= 8, JSON.stringify(alone.map((e) => (e.type === 'commit' ? e.records : e.type))));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(alone.filter((e) => e.type === 'maintenance'), []);

    // Composed: the compaction comes through the same listener, between `started` and `stopped`.
    const composed = await run(openPipeline, true);
    const types = composed.map((e) => e.type);
    const m = composed.find((e): e is Extract<RunEvent, { type: 'maintenance' }> => e.type === 'maintenance');
    assert.ok(m, `a maintenance event (got ${types.join(', ')})`);
    assert.equal(m.error, undefined, m.error);
    assert.equal(m.operation, 'compact');
    assert.equal(m.table, 'db.t');
    assert.ok(Number(m.details.rewrittenFiles) >= 3, JSON.stringify(m.details));
    assert.ok(types.indexOf('started') < types.indexOf('maintenance') && types.indexOf('maintenance') < types.indexOf('stopped'));
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
});
