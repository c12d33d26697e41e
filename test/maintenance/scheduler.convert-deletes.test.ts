/**
 * Conversion of equality deletes in automatic maintenance (`maintenance.convert_deletes`): its
 * config (defaults, true/false/mapping, errors naming the key), the README's rows, and the
 * scheduler converting an upsert table's equality deletes on its own interval, before the
 * delete-file trigger would compact them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/shared.js';
import { MAINTENANCE_DEFAULTS, validateConfig } from '../../src/pipeline/config.js';
import { FileContent } from '../../src/iceberg/manifest-types.js';
import { MaintenanceScheduler, type MaintenanceEvent } from '../../src/maintenance/scheduler.js';
import { maintenancePolicy } from '../../src/run/run-pipeline.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { appendRows, commitDeletes, equalityDeleteFile, maintenanceOnly, sortedRows, withTable } from './helpers.js';

const base = {
  source: { stream: 's' },
  table: { name: 'db.events' },
  transform: { columns: { event_id: 'string' } },
};

const convertOf = (maintenance: unknown) => validateConfig({ ...base, maintenance }).maintenance!.convertDeletes;

test('config: maintenance.convert_deletes: off by default; true/false/mapping (every 5s); errors name the key', () => {
  const defaults = { enabled: false, intervalMs: 5_000, minFiles: 1 };
  assert.deepEqual(MAINTENANCE_DEFAULTS.convertDeletes, defaults);
  assert.deepEqual(convertOf(undefined), defaults);
  assert.deepEqual(convertOf({ compact: { interval: '2m' } }), defaults, 'other tasks configured: still off');
  assert.deepEqual(convertOf({ convert_deletes: true }), { ...defaults, enabled: true });
  assert.deepEqual(convertOf({ convert_deletes: {} }), { ...defaults, enabled: true });
  assert.equal(convertOf({ convert_deletes: false })!.enabled, false);
  assert.equal(convertOf({ convert_deletes: { enabled: false } })!.enabled, false);
  assert.equal(convertOf(false)!.enabled, false, 'maintenance: false turns it off');
  assert.deepEqual(convertOf({ convert_deletes: { interval: '2s', min_files: 3 } }), { enabled: true, intervalMs: 2000, minFiles: 3 });
  // The policy carries it to the scheduler.
  assert.deepEqual(maintenancePolicy(validateConfig({ ...base, maintenance: { convert_deletes: { interval: '1s' } } }).maintenance!).convertDeletes, {
    enabled: true,
    intervalMs: 1000,
    minFiles: 1,
  });
  const bad: [unknown, RegExp][] = [
    [{ min_files: 0 }, /config: maintenance\.convert_deletes\.min_files: must be a positive integer/],
    [{ interval: '10ms' }, /config: maintenance\.convert_deletes\.interval: must be at least 100ms/],
    [{ interval: '25d' }, /config: maintenance\.convert_deletes\.interval: must be at most 24d/],
    [{ interval: 'soon' }, /config: maintenance\.convert_deletes\.interval: invalid duration/],
    [{ min_ratio: 0.5 }, /config: maintenance\.convert_deletes\.min_ratio: unknown key/],
    ['often', /config: maintenance\.convert_deletes: must be a mapping, true or false/],
    [{ enabled: 'yes' }, /config: maintenance\.convert_deletes\.enabled: must be true or false/],
  ];
  for (const [convert_deletes, re] of bad) assert.throws(() => validateConfig({ ...base, maintenance: { convert_deletes } }), re);
});

test('README: the convert_deletes rows are the keys and defaults the parser has', () => {
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const rows = new Map<string, string>();
  for (const m of readme.matchAll(/^\| `maintenance\.convert_deletes(\.[a-z_]+)?` \| ([^|]*) \|/gm)) rows.set(m[1] ?? '', m[2]!.trim());
  assert.deepEqual([...rows.keys()].sort(), ['', '.interval', '.min_files']);
  assert.equal(rows.get(''), 'off');
  const parsed = convertOf({ convert_deletes: { interval: rows.get('.interval')!.replace(/`/g, ''), min_files: Number(rows.get('.min_files')!.replace(/`/g, '')) } });
  assert.deepEqual(parsed, { ...MAINTENANCE_DEFAULTS.convertDeletes!, enabled: true });
});


test('scheduler: equality deletes become position deletes on their own interval, rows unchanged', async () => {
  await withTable(async ({ catalog, table }) => {
    for (let i = 0; i < 3; i++) await appendRows(table, i * 10, 10);
    const events: MaintenanceEvent[] = [];
    const scheduler = new MaintenanceScheduler({
      catalog,
      tables: [table.identifier],
      policy: maintenancePolicy(maintenanceOnly({ convertDeletes: { enabled: true, intervalMs: 150, minFiles: 2 } })),
      onEvent: (e) => events.push(e),
      reportIdle: true,
    });
    scheduler.start();
    try {
      // One file is under min_files: idle checks only.
      await commitDeletes(table, [await equalityDeleteFile(table, ['evt_000001'])]);
      const idleUntil = Date.now() + 600;
      while (Date.now() < idleUntil) await new Promise((r) => setTimeout(r, 50));
      assert.ok(events.length >= 2, `checked on its interval (${events.length} checks)`);
      assert.ok(events.every((e) => !e.error && e.operation === 'convert-deletes' && e.details.snapshotId === null), JSON.stringify(events));

      await commitDeletes(table, [await equalityDeleteFile(table, ['evt_000012', 'evt_000025'])]);
      const before = await sortedRows(catalog);
      assert.equal(before.length, 27);
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && !events.some((e) => e.details.snapshotId !== null || e.error)) await new Promise((r) => setTimeout(r, 50));
      const done = events.find((e) => e.details.snapshotId !== null || e.error);
      assert.ok(done, 'the conversion ran');
      assert.equal(done.error, undefined, done.error);
      assert.equal(done.operation, 'convert-deletes');
      assert.equal(done.details.removedEqualityDeleteFiles, 2);
      assert.equal(done.details.addedPositionDeleteFiles, 1);
      assert.equal(done.details.positions, 3);
      assert.deepEqual(await sortedRows(catalog), before);
      await table.refresh();
      const scan = await planTableScan(table.io, table.metadata, { ref: 'main' });
      const deletes = new Set(scan.tasks.flatMap((t) => t.deletes.map((d) => d.file)));
      assert.ok([...deletes].every((d) => d.content === FileContent.POSITION_DELETES));
      assert.equal(scan.tasks.length, 3, 'no data file rewritten');
    } finally {
      await scheduler.stop();
    }
  });
});
