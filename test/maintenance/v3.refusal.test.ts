/**
 * Maintenance of format v3 tables: compaction (it would give rewritten rows new row ids) and
 * delete conversion (it writes position delete files, which v3 does not take) are refused with
 * the reason, nothing committed; the scheduler skips them with one event (one log line), not a
 * failure every interval; manifest rewrites still run. A pipeline with `table.upsert` refuses a v3
 * table before any work (its equality deletes could never be converted or compacted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnsupportedError } from '../../src/errors.js';
import { compactTable } from '../../src/maintenance/compact.js';
import { convertEqualityDeletes } from '../../src/maintenance/convert-deletes.js';
import { MaintenanceScheduler, type MaintenanceEvent } from '../../src/maintenance/scheduler.js';
import { MAINTENANCE_DEFAULTS, validateConfig } from '../../src/pipeline/config.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { maintenancePolicy } from '../../src/run/run-pipeline.js';
import { MemorySource } from '../../src/source/memory.js';
import { appendRows, maintenanceOnly, withTable } from './helpers.js';

test('v3: compaction and delete conversion are refused with the reason; nothing committed', async () => {
  await withTable(
    async ({ table }) => {
      for (let i = 0; i < 6; i++) await appendRows(table, i * 5, 5);
      const snapshots = table.metadata.snapshots.length;
      await assert.rejects(compactTable(table, { minInputFiles: 2 }), (e: unknown) => e instanceof UnsupportedError && /^compact: db\.events: format v3 table: .*new row ids.*_row_id/.test(e.message));
      await assert.rejects(
        convertEqualityDeletes(table),
        (e: unknown) => e instanceof UnsupportedError && /^convert-deletes: db\.events: format v3 table: .*position delete files, which v3 tables do not take/.test(e.message),
      );
      await table.refresh();
      assert.equal(table.metadata.snapshots.length, snapshots);
    },
    { formatVersion: 3 },
  );
});

test('v2: compaction still runs (the refusal is v3 only)', async () => {
  await withTable(async ({ table }) => {
    for (let i = 0; i < 6; i++) await appendRows(table, i * 5, 5);
    const r = await compactTable(table, { minInputFiles: 2 });
    assert.notEqual(r.snapshotId, undefined);
  });
});

test('scheduler: a v3 table\'s compaction and conversion are skipped with one event each; manifest rewrites run', async () => {
  await withTable(
    async ({ catalog, table }) => {
      for (let i = 0; i < 3; i++) await appendRows(table, i * 5, 5);
      const events: MaintenanceEvent[] = [];
      const scheduler = new MaintenanceScheduler({
        catalog,
        tables: [table.identifier],
        policy: maintenancePolicy(maintenanceOnly({ rewriteManifests: { ...MAINTENANCE_DEFAULTS.rewriteManifests, minManifests: 2 } })),
        onEvent: (e) => events.push(e),
      });
      try {
        for (let round = 0; round < 3; round++) {
          await scheduler.runOne('compact', table.identifier);
          await scheduler.runOne('compact', table.identifier, true);
          await scheduler.runOne('convert-deletes', table.identifier);
        }
        assert.deepEqual(
          events.map((e) => [e.operation, e.error, typeof e.skipped]),
          [
            ['compact', undefined, 'string'],
            ['convert-deletes', undefined, 'string'],
          ],
        );
        assert.match(events[0]!.skipped!, /format v3 table: compaction would give rewritten rows new row ids/);
        await scheduler.runOne('rewrite-manifests', table.identifier);
        const merged = events[2];
        assert.equal(merged?.operation, 'rewrite-manifests');
        assert.equal(merged.error, undefined, merged.error);
        assert.notEqual(merged.details.snapshotId, null);
      } finally {
        await scheduler.stop();
      }
    },
    { formatVersion: 3 },
  );
});

const upsertConfig = (properties: Record<string, string> = {}) =>
  validateConfig({
    source: { stream: 'events' },
    table: { name: 'db.events', upsert: { key: ['event_id'] }, properties },
    transform: { columns: [{ name: 'event_id', type: 'string', required: true }, { name: 'user_id', type: 'string' }] },
    maintenance: false,
  });

test('table.upsert: refused for a v3 table, in the config and on an existing table, before any work', async () => {
  assert.throws(
    () => upsertConfig({ 'format-version': '3' }),
    (e: unknown) => e instanceof UnsupportedError && /^config: table\.upsert: db\.events is a format v3 table; floe upserts only into format v2 tables/.test(e.message),
  );
  assert.doesNotThrow(() => upsertConfig({ 'format-version': '2' }));
  await withTable(
    async ({ catalog, table }) => {
      const before = (await catalog.loadTable(table.identifier)).metadataLocation;
      const source = new MemorySource({ id: 'events', partitions: [] });
      await assert.rejects(
        Pipeline.open({ config: upsertConfig(), catalog, source }),
        (e: unknown) => e instanceof UnsupportedError && /db\.events is a format v3 table/.test(e.message),
      );
      assert.equal((await catalog.loadTable(table.identifier)).metadataLocation, before, 'no commit (no identifier fields, no evolution)');
    },
    { formatVersion: 3 },
  );
});
