/**
 * The delete-file trigger of automatic maintenance (`maintenance.compact.delete_files`): its
 * config, and the scheduler compacting a partition soon after delete files pile up there while
 * the small-file compaction is far from due.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/shared.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { DELETE_FILES_DEFAULTS } from '../../src/pipeline/config-delete-files.js';
import { MaintenanceScheduler, type MaintenanceEvent } from '../../src/maintenance/scheduler.js';
import { maintenancePolicy } from '../../src/run/run-pipeline.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { appendRows, commitDeletes, equalityDeleteFile, liveDataFiles, maintenanceOnly, sortedRows, withTable } from './helpers.js';

const base = {
  source: { stream: 's' },
  table: { name: 'db.events' },
  transform: { columns: { event_id: 'string' } },
};

const compactOf = (maintenance: unknown) => validateConfig({ ...base, maintenance }).maintenance!.compact;

test('config: maintenance.compact.delete_files: on by default; true/false/mapping; percentages; errors name the key', () => {
  assert.deepEqual(DELETE_FILES_DEFAULTS, { enabled: true, intervalMs: 10_000, minFiles: 10, minRatio: 0.1, minVectorRatio: 0.3 });
  assert.deepEqual(compactOf(undefined).deleteFiles, DELETE_FILES_DEFAULTS);
  assert.deepEqual(compactOf({ compact: { delete_files: true } }).deleteFiles, DELETE_FILES_DEFAULTS);
  assert.equal(compactOf({ compact: { delete_files: false } }).deleteFiles!.enabled, false);
  assert.equal(compactOf({ compact: { delete_files: { enabled: false } } }).deleteFiles!.enabled, false);
  assert.deepEqual(compactOf({ compact: { delete_files: { interval: '2s', min_files: 3, min_ratio: '2.5%' } } }).deleteFiles, {
    enabled: true,
    intervalMs: 2000,
    minFiles: 3,
    minRatio: 0.025,
    minVectorRatio: 0.3,
  });
  assert.equal(compactOf({ compact: { delete_files: { min_vector_ratio: '50%' } } }).deleteFiles!.minVectorRatio, 0.5);
  assert.equal(compactOf({ compact: { delete_files: { min_ratio: 0.3 } } }).deleteFiles!.minRatio, 0.3);
  assert.equal(compactOf({ compact: { delete_files: { min_ratio: '100%' } } }).deleteFiles!.minRatio, 1);
  // Compaction off: the trigger is off with it (the scheduler checks both).
  const off = maintenancePolicy(validateConfig({ ...base, maintenance: { compact: false } }).maintenance!);
  assert.equal(off.compact.enabled, false);

  const bad: [unknown, RegExp][] = [
    [{ delete_files: { min_ratio: '0%' } }, /config: maintenance\.compact\.delete_files\.min_ratio: must be a share of the rows above 0, up to 1 or 100% .*got "0%"/],
    [{ delete_files: { min_ratio: 1.5 } }, /config: maintenance\.compact\.delete_files\.min_ratio: must be a share.*got 1\.5/],
    [{ delete_files: { min_ratio: '150%' } }, /min_ratio: must be a share.*got "150%"/],
    [{ delete_files: { min_ratio: 'lots' } }, /min_ratio: must be a share.*got "lots"/],
    [{ delete_files: { min_vector_ratio: 0 } }, /config: maintenance\.compact\.delete_files\.min_vector_ratio: must be a share/],
    [{ delete_files: { min_files: 0 } }, /config: maintenance\.compact\.delete_files\.min_files: must be a positive integer, got 0/],
    [{ delete_files: { min_files: '5' } }, /min_files: must be a positive integer, got "5"/],
    [{ delete_files: { interval: '10ms' } }, /config: maintenance\.compact\.delete_files\.interval: must be at least 100ms/],
    [{ delete_files: { interval: 'soon' } }, /config: maintenance\.compact\.delete_files\.interval: invalid duration/],
    [{ delete_files: { max_files: 3 } }, /config: maintenance\.compact\.delete_files\.max_files: unknown key/],
    [{ delete_files: 'often' }, /config: maintenance\.compact\.delete_files: must be a mapping, true or false/],
    [{ delete_files: { enabled: 'yes' } }, /config: maintenance\.compact\.delete_files\.enabled: must be true or false/],
  ];
  for (const [compact, re] of bad) assert.throws(() => validateConfig({ ...base, maintenance: { compact } }), re);
});

test('README: the delete_files rows are the keys and defaults the parser has', () => {
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const rows = new Map<string, string>();
  for (const m of readme.matchAll(/^\| `maintenance\.compact\.delete_files(\.[a-z_]+)?` \| ([^|]*) \|/gm)) rows.set(m[1] ?? '', m[2]!.trim());
  assert.deepEqual([...rows.keys()].sort(), ['', '.interval', '.min_files', '.min_ratio', '.min_vector_ratio']);
  assert.equal(rows.get(''), 'on');
  const parsed = compactOf({ compact: { delete_files: { interval: rows.get('.interval')!.replace(/`/g, ''), min_files: Number(rows.get('.min_files')!.replace(/`/g, '')), min_ratio: rows.get('.min_ratio')!.replace(/`/g, ''), min_vector_ratio: rows.get('.min_vector_ratio')!.replace(/`/g, '') } } }).deleteFiles;
  assert.deepEqual(parsed, DELETE_FILES_DEFAULTS);
});


test('scheduler: delete files are compacted on the trigger’s interval, long before the small-file compaction is due', async () => {
  await withTable(async ({ catalog, table }) => {
    for (let i = 0; i < 3; i++) await appendRows(table, i * 10, 10);
    const events: MaintenanceEvent[] = [];
    const scheduler = new MaintenanceScheduler({
      catalog,
      tables: [table.identifier],
      policy: maintenancePolicy(
        maintenanceOnly({
          compact: {
            enabled: true,
            intervalMs: 3_600_000,
            minFiles: 2,
            targetFileSizeBytes: 1 << 27,
            deleteFiles: { enabled: true, intervalMs: 150, minFiles: 2, minRatio: 0.5, minVectorRatio: 0.5 },
          },
        }),
      ),
      onEvent: (e) => events.push(e),
      reportIdle: true,
    });
    scheduler.start();
    try {
      // One delete file is under both thresholds: idle checks only.
      await commitDeletes(table, [await equalityDeleteFile(table, ['evt_000001'])]);
      const idleUntil = Date.now() + 600;
      while (Date.now() < idleUntil) await new Promise((r) => setTimeout(r, 50));
      assert.ok(events.length >= 2, `checked on its interval (${events.length} checks)`);
      assert.ok(events.every((e) => !e.error && e.details.snapshotId === null && e.details.trigger === 'delete-files'), JSON.stringify(events));

      await commitDeletes(table, [await equalityDeleteFile(table, ['evt_000012', 'evt_000025'])]);
      const before = await sortedRows(catalog);
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && !events.some((e) => e.details.snapshotId !== null && e.details.snapshotId !== undefined)) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const done = events.find((e) => e.details.snapshotId !== null)!;
      assert.ok(done, 'the trigger compacted');
      assert.equal(done.operation, 'compact');
      assert.equal(done.details.trigger, 'delete-files');
      assert.equal(done.details.removedDeleteFiles, 2);
      assert.equal(done.details.rewrittenFiles, 3);
      assert.deepEqual(await sortedRows(catalog), before);
      assert.equal(before.length, 27);
      await table.refresh();
      assert.equal((await planTableScan(table.io, table.metadata, { ref: 'main' })).stats.deleteFiles, 0);
      assert.equal((await liveDataFiles(table)).length, 1);
    } finally {
      await scheduler.stop();
    }
  });
});
