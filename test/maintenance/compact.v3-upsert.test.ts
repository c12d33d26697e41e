/**
 * Maintenance and upserts on format v3 tables: the scheduler compacts a v3 table like any other,
 * and converts its equality deletes into deletion vectors; `table.upsert` is taken for a v3 table, in
 * the config and on an existing table; a pipeline's upserts (equality deletes) over several runs,
 * compacted, read as the last state of each key with the deletes removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactTable } from '../../src/maintenance/compact.js';
import { MaintenanceScheduler, type MaintenanceEvent } from '../../src/maintenance/scheduler.js';
import { MAINTENANCE_DEFAULTS, validateConfig } from '../../src/pipeline/config.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { maintenancePolicy } from '../../src/run/run-pipeline.js';
import { DrainingSource } from '../pipeline/harness.js';
import { appendRows, commitDeletes, equalityDeleteFile, maintenanceOnly, rows, sortedRows, withTable } from './helpers.js';

test('scheduler: a v3 table\'s equality deletes become deletion vectors (event details say so), then nothing is left to do', async () => {
  await withTable(
    async ({ catalog, table }) => {
      for (let i = 0; i < 3; i++) await appendRows(table, i * 5, 5);
      const id = (i: number) => String(rows(i, 1)[0]![0]);
      await commitDeletes(table, [await equalityDeleteFile(table, [id(1), id(7), id(8)])]);
      const before = await sortedRows(catalog);
      assert.equal(before.length, 12);
      const events: MaintenanceEvent[] = [];
      const scheduler = new MaintenanceScheduler({
        catalog,
        tables: [table.identifier],
        policy: maintenancePolicy(maintenanceOnly({ convertDeletes: { ...MAINTENANCE_DEFAULTS.convertDeletes!, enabled: true } })),
        onEvent: (e) => events.push(e),
      });
      try {
        await scheduler.runOne('convert-deletes', table.identifier);
        await scheduler.runOne('convert-deletes', table.identifier);
        assert.deepEqual(
          events.map((e) => [e.operation, e.error]),
          [['convert-deletes', undefined]],
          'the second round finds no equality delete',
        );
        const d = events[0]!.details;
        assert.equal(d.addedPositionDeleteFiles, 0);
        assert.equal(d.addedDeletionVectors, 2, 'rows 1 (first file), 7 and 8 (second file)');
        assert.equal(d.positions, 3);
        assert.deepEqual(await sortedRows(catalog), before);
      } finally {
        await scheduler.stop();
      }
    },
    { formatVersion: 3 },
  );
});

test('scheduler: a v3 table is compacted, then found done', async () => {
  await withTable(
    async ({ catalog, table }) => {
      for (let i = 0; i < 6; i++) await appendRows(table, i * 5, 5);
      const before = await sortedRows(catalog);
      const events: MaintenanceEvent[] = [];
      const scheduler = new MaintenanceScheduler({
        catalog,
        tables: [table.identifier],
        policy: maintenancePolicy(maintenanceOnly({ compact: { ...MAINTENANCE_DEFAULTS.compact, minFiles: 2 } })),
        onEvent: (e) => events.push(e),
      });
      try {
        await scheduler.runOne('compact', table.identifier);
        await scheduler.runOne('compact', table.identifier);
        assert.deepEqual(
          events.map((e) => [e.operation, e.error]),
          [['compact', undefined]],
        );
        assert.notEqual(events[0]!.details.snapshotId, null);
        assert.deepEqual(await sortedRows(catalog), before);
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

test('table.upsert on a v3 table: a pipeline upserts over three runs; compaction keeps the last state of each key', async () => {
  assert.doesNotThrow(() => upsertConfig({ 'format-version': '3' }));
  // prettier-ignore
  const changes = [
    ['e0', 'u1'], ['e1', 'u1'], ['e2', 'u1'], ['e0', 'u2'],
    ['e1', 'u3'], ['e3', 'u3'], ['e0', 'u4'],
    ['e2', 'u5'], ['e4', 'u5'], ['e3', 'u6'],
  ];
  const last = ['e0|u4', 'e1|u3', 'e2|u5', 'e3|u6', 'e4|u5'];
  const enc = new TextEncoder();
  await withTable(
    async ({ catalog, table }) => {
      // Each run resumes after the previous one's checkpoint: rows and equality deletes per run.
      for (const upTo of [4, 7, 10]) {
        const source = new DrainingSource([
          { id: 'shardId-0', length: upTo, record: (i) => ({ data: enc.encode(JSON.stringify({ event_id: changes[i]![0], user_id: changes[i]![1] })) }) },
        ]);
        const pipeline = await Pipeline.open({ config: upsertConfig(), catalog, source });
        source.onDrained = () => pipeline.stop();
        await pipeline.run();
      }
      const keyed = async () => (await sortedRows(catalog)).map((r) => r.split('|').slice(0, 2).join('|'));
      assert.deepEqual(await keyed(), last);
      await table.refresh();
      assert.equal(table.metadata['format-version'], 3);
      assert.ok(Number(table.metadata.snapshots.at(-1)!.summary['total-equality-deletes'] ?? 0) > 0, 'the runs wrote equality deletes');
      const before = await sortedRows(catalog);
      const r = await compactTable(table, { minInputFiles: 2 });
      assert.notEqual(r.snapshotId, undefined);
      assert.ok(r.removedDeleteFiles > 0, "the upserts' equality deletes applied and removed");
      assert.deepEqual(await sortedRows(catalog), before);
      assert.deepEqual(await keyed(), last);
    },
    { formatVersion: 3 },
  );
});
