import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAINTENANCE_DEFAULTS, validateConfig } from '../../src/pipeline/config.js';
import { DELETE_FILES_DEFAULTS } from '../../src/pipeline/config-delete-files.js';
import { MaintenanceScheduler, type MaintenanceEvent } from '../../src/maintenance/scheduler.js';
import { appendRows, assertRows, liveDataFiles, maintenanceOnly, sortedRows, withTable } from './helpers.js';

const base = {
  source: { stream: 's' },
  table: { name: 'db.events' },
  transform: { columns: { event_id: 'string' } },
};

test('config: maintenance defaults are on; sections take true/false/mappings; errors name the key', () => {
  assert.deepEqual(validateConfig(base).maintenance, MAINTENANCE_DEFAULTS);
  const off = validateConfig({ ...base, maintenance: false }).maintenance!;
  assert.ok(!off.compact.enabled && !off.expireSnapshots.enabled && !off.removeOrphans.enabled && !off.rewriteManifests.enabled);
  assert.deepEqual(validateConfig({ ...base, maintenance: { enabled: false } }).maintenance, off);
  const m = validateConfig({
    ...base,
    maintenance: {
      compact: { interval: '30s', min_files: 8, target_file_size: '64MB' },
      expire_snapshots: { older_than: '1d', retain_last: 50, interval: '1h' },
      remove_orphans: false,
      rewrite_manifests: { enabled: false },
    },
  }).maintenance!;
  assert.deepEqual(m.compact, { enabled: true, intervalMs: 30_000, minFiles: 8, targetFileSizeBytes: 64 * 1024 * 1024, deleteFiles: DELETE_FILES_DEFAULTS });
  assert.deepEqual(m.expireSnapshots, { enabled: true, intervalMs: 3_600_000, olderThanMs: 86_400_000, retainLast: 50 });
  assert.equal(m.removeOrphans.enabled, false);
  assert.equal(m.rewriteManifests.enabled, false);

  const bad: [unknown, RegExp][] = [
    [{ compact: { min_file: 3 } }, /config: maintenance\.compact\.min_file: unknown key/],
    [{ vacuum: {} }, /config: maintenance\.vacuum: unknown key/],
    [{ expire_snapshots: { older_than: 'a while' } }, /config: maintenance\.expire_snapshots\.older_than: invalid duration/],
    [{ expire_snapshots: { retain_last: 0 } }, /config: maintenance\.expire_snapshots\.retain_last: must be a positive integer/],
    [{ compact: { interval: '10ms' } }, /config: maintenance\.compact\.interval: must be at least 100ms/],
    [{ compact: { target_file_size: 'huge' } }, /config: maintenance\.compact\.target_file_size: invalid size/],
    [{ remove_orphans: 'daily' }, /config: maintenance\.remove_orphans: must be a mapping, true or false/],
    [{ compact: { enabled: 'yes' } }, /config: maintenance\.compact\.enabled: must be true or false/],
    ['sometimes', /config: maintenance: must be a mapping, true or false/],
  ];
  for (const [maintenance, re] of bad) assert.throws(() => validateConfig({ ...base, maintenance }), re);
});


test('scheduler: runs due tasks in order, reports work and failures, keeps going, stops promptly', async () => {
  await withTable(async ({ catalog, table }) => {
    for (let i = 0; i < 6; i++) await appendRows(table, i * 10, 10);
    const before = await sortedRows(catalog);
    const events: MaintenanceEvent[] = [];
    const scheduler = new MaintenanceScheduler({
      catalog,
      tables: [table.identifier, { namespace: ['db'], name: 'missing' }],
      policy: maintenanceOnly({
        compact: { enabled: true, intervalMs: 150, minFiles: 3, targetFileSizeBytes: 1 << 27 },
        expireSnapshots: { enabled: true, intervalMs: 150, olderThanMs: 0, retainLast: 2 },
      }),
      onEvent: (e) => events.push(e),
    });
    assert.ok(scheduler.hasWork);
    scheduler.start();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(events.some((e) => e.operation === 'expire-snapshots' && !e.error) && events.filter((e) => e.error).length >= 4)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const t0 = Date.now();
    await scheduler.stop();
    assert.ok(Date.now() - t0 < 5000, 'stop() returns promptly');

    const ok = events.filter((e) => !e.error);
    assert.equal(ok[0]?.operation, 'compact', 'compaction runs before expiry');
    assert.equal(ok[0]?.details.rewrittenFiles, 6);
    assert.ok(ok.some((e) => e.operation === 'expire-snapshots' && Number(e.details.expiredSnapshots) > 0));
    // The missing table fails every time, as events, without stopping the others.
    const failed = events.filter((e) => e.error);
    assert.ok(failed.length >= 4);
    assert.ok(failed.every((e) => e.table === 'db.missing' && e.code === 'NO_SUCH_TABLE'), JSON.stringify(failed[0]));
    await assertRows(catalog, before, 'after scheduled maintenance');
    assert.equal((await liveDataFiles(table)).length, 1);
  });
});

test('scheduler: nothing enabled means no work', () => {
  const s = new MaintenanceScheduler({
    catalog: undefined as never,
    tables: [{ namespace: ['db'], name: 't' }],
    policy: maintenanceOnly({}),
    onEvent: () => undefined,
  });
  assert.equal(s.hasWork, false);
});
