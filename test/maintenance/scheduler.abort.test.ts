/**
 * `stop()` of the maintenance scheduler while its commit waits for an unavailable catalog: the
 * commit's outage patience (2 minutes by default) is cut by the scheduler's signal, so a stopping
 * `floe run` is not held by maintenance. Nothing is committed; the event says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Catalog, TableIdentifier } from '../../src/catalog/catalog.js';
import { CatalogUnreachableError } from '../../src/errors.js';
import type { TableRequirement, TableUpdate } from '../../src/iceberg/commit.js';
import { type MaintenanceConfig } from '../../src/pipeline/config.js';
import { MaintenanceScheduler, type MaintenanceEvent } from '../../src/maintenance/scheduler.js';
import { appendRows, maintenanceOnly, withTable } from './helpers.js';

/** The catalog with every commit refused as never sent (a catalog server that is down). */
function refusingCommits(inner: Catalog): Catalog & { commits: () => number } {
  let commits = 0;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'commits') return () => commits;
      if (prop === 'commitTable') {
        return async (_id: TableIdentifier, _req: TableRequirement[], _upd: TableUpdate[]) => {
          commits++;
          throw new CatalogUnreachableError('catalog: rest: table db.events: catalog unreachable, commit not sent (fetch failed: ECONNREFUSED)');
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as Catalog & { commits: () => number };
}


const cases: Array<{ operation: MaintenanceEvent['operation']; policy: MaintenanceConfig }> = [
  { operation: 'compact', policy: maintenanceOnly({ compact: { enabled: true, intervalMs: 100, minFiles: 3, targetFileSizeBytes: 1 << 27 } }) },
  { operation: 'rewrite-manifests', policy: maintenanceOnly({ rewriteManifests: { enabled: true, intervalMs: 100, minManifests: 3 } }) },
];

for (const c of cases) {
  test(`scheduler: stop() during a catalog outage ends the ${c.operation} commit's wait at once`, async () => {
    await withTable(async ({ catalog, table }) => {
      for (let i = 0; i < 4; i++) await appendRows(table, i * 10, 10);
      const snapshotsBefore = (await catalog.loadTable(table.identifier)).metadata.snapshots?.length;
      const down = refusingCommits(catalog);
      const events: MaintenanceEvent[] = [];
      const scheduler = new MaintenanceScheduler({ catalog: down, tables: [table.identifier], policy: c.policy, onEvent: (e) => events.push(e) });
      scheduler.start();
      const deadline = Date.now() + 20_000;
      while (down.commits() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(down.commits() > 0, 'the operation reached its commit');
      // Inside the commit's outage wait now (first retry after ~250 ms, then up to 5 s).
      await new Promise((r) => setTimeout(r, 400));
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        scheduler.stop().then(() => true),
        new Promise<false>((r) => (timer = setTimeout(() => r(false), 5_000))),
      ]);
      clearTimeout(timer);
      const stopMs = Date.now() - t0;
      assert.ok(stopped, `stop() still waiting after 5 s (the commit kept its 2-minute outage patience)`);
      assert.ok(stopMs < 1_000, `stop() took ${stopMs} ms`);
      const failed = events.filter((e) => e.operation === c.operation && e.error);
      assert.equal(failed.length, 1, JSON.stringify(events));
      assert.equal(failed[0]!.code, 'CATALOG_UNREACHABLE');
      assert.match(failed[0]!.error!, /commit not applied: stopped while waiting to retry/);
      assert.equal((await catalog.loadTable(table.identifier)).metadata.snapshots?.length, snapshotsBefore, 'nothing committed');
    });
  });
}
