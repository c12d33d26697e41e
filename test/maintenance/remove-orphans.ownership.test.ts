/**
 * Orphan removal deletes only what the table owns. The attack of issue 12: a table whose location
 * is the warehouse root (created before the location rule, moved by a commit, or created by
 * another engine) made the sweep delete `catalog.db`, its WAL and every file of the other tables.
 * Now the sweep refuses (LOCATION_OVERLAP, naming what overlaps) and deletes nothing; the 24-hour
 * floor of the window needs explicit consent; and whatever a listing returns, the catalog's files
 * and anything outside the table's directories are never deleted.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Catalog, TableIdentifier } from '../../src/catalog/catalog.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import type { FileInfo } from '../../src/io/file-io.js';
import { LocalFileIO } from '../../src/io/local.js';
import { removeOrphanFiles } from '../../src/maintenance/remove-orphans.js';
import { MaintenanceScheduler, type MaintenanceEvent } from '../../src/maintenance/scheduler.js';
import { MAINTENANCE_DEFAULTS } from '../../src/pipeline/config.js';
import { Table } from '../../src/table/table.js';
import { appendRows, ID, SCHEMA, sortedRows } from './helpers.js';

const DAY = 86_400_000;
const PARENT: TableIdentifier = { namespace: ['db'], name: 'parent' };

/** Every file under `dir`, recursively, with its size. */
function snapshotFiles(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(p, statSync(p).size);
    }
  };
  walk(dir);
  return out;
}

function age(path: string, ms: number): void {
  const t = (Date.now() - ms) / 1000;
  utimesSync(path, t, t);
}

/** A warehouse in floe's default layout (`<wh>/catalog.db`) with db.events holding rows. */
async function withWarehouse(fn: (env: { dir: string; wh: string; catalog: SqlCatalog; events: Table }) => Promise<void>, io?: LocalFileIO): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-owner-'));
  const wh = join(dir, 'wh');
  const catalog = new SqlCatalog({ name: 'floe', uri: join(wh, 'catalog.db'), warehouse: wh, ...(io ? { io } : {}) });
  try {
    await catalog.createNamespace(['db']);
    await catalog.createTable(ID, { schema: SCHEMA });
    const events = await Table.load(catalog, ID);
    for (let i = 0; i < 3; i++) await appendRows(events, i * 10, 10);
    await fn({ dir, wh, catalog, events });
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A table that was allowed to move: created in a directory of its own, then `set-location` by a commit. */
async function movedTable(catalog: Catalog, id: TableIdentifier, own: string, to: string): Promise<Table> {
  await catalog.createTable(id, { schema: SCHEMA, location: own });
  await catalog.commitTable(id, [], [{ action: 'set-location', location: to }]);
  return Table.load(catalog, id);
}

test('the attack: a table at the warehouse root; the sweep refuses, names what overlaps, deletes nothing', async () => {
  await withWarehouse(async ({ dir, wh, catalog }) => {
    const parent = await movedTable(catalog, PARENT, join(dir, 'parent'), wh);
    assert.equal(parent.metadata.location, wh);
    const rowsBefore = await sortedRows(catalog);
    // Make everything old: age is never a reason to delete what another owner holds.
    const before = snapshotFiles(wh);
    for (const p of before.keys()) age(p, 30 * DAY);
    assert.ok(existsSync(join(wh, 'catalog.db')) && existsSync(join(wh, 'catalog.db-wal')), 'the catalog and its WAL are there');

    for (const dryRun of [true, false]) {
      const err = await removeOrphanFiles(parent, { olderThanMs: 0, allowShortOlderThan: true, dryRun }).then(
        () => assert.fail('the sweep ran'),
        (e: unknown) => e as Error & { code?: string },
      );
      assert.equal(err.code, 'LOCATION_OVERLAP');
      assert.match(err.message, /^remove-orphans: db\.parent: refused, nothing deleted: /);
      assert.match(err.message, new RegExp(`contains the warehouse root ${wh.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.match(err.message, /contains the catalog database .*catalog\.db/);
      assert.match(err.message, /overlapping tables: db\.events/);
    }
    // Nothing changed on disk (the catalog's own WAL may have grown: compare names only).
    assert.deepEqual([...snapshotFiles(wh).keys()].sort(), [...before.keys()].sort());
    assert.deepEqual(await sortedRows(catalog), rowsBefore);

    // floe run's automatic sweep reports the refusal and keeps going.
    const events: MaintenanceEvent[] = [];
    const scheduler = new MaintenanceScheduler({
      catalog,
      tables: [PARENT],
      policy: { ...MAINTENANCE_DEFAULTS, removeOrphans: { enabled: true, intervalMs: DAY, olderThanMs: 0, allowShortOlderThan: true } },
      onEvent: (e) => events.push(e),
    });
    await scheduler.runOne('remove-orphans', PARENT);
    await scheduler.stop();
    assert.equal(events.length, 1);
    assert.equal(events[0]!.code, 'LOCATION_OVERLAP');
    assert.match(events[0]!.error ?? '', /warehouse root/);
    assert.deepEqual([...snapshotFiles(wh).keys()].sort(), [...before.keys()].sort());
  });
});

test('nested tables: the outer and the inner sweep both refuse, naming the other table', async () => {
  await withWarehouse(async ({ dir, wh, catalog, events }) => {
    const innerId: TableIdentifier = { namespace: ['db'], name: 'inner' };
    const inner = await movedTable(catalog, innerId, join(dir, 'inner'), join(wh, 'db', 'events', 'data', 'inner'));
    const stray = join(wh, 'db', 'events', 'data', 'inner', 'old.parquet');
    writeFileSync(stray, 'x');
    age(stray, 30 * DAY);
    await assert.rejects(removeOrphanFiles(events, {}), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'LOCATION_OVERLAP');
      assert.match(e.message, /contains table db\.inner/);
      return true;
    });
    await assert.rejects(removeOrphanFiles(inner, {}), /lies inside table db\.events/);
    assert.ok(existsSync(stray), 'nothing deleted');
  });
});

test('a catalog that only lists and loads tables (REST, Glue) is checked table by table', async () => {
  await withWarehouse(async ({ dir, wh, catalog }) => {
    await movedTable(catalog, PARENT, join(dir, 'parent'), join(wh, 'db'));
    // The same catalog seen through the generic interface only: no locationFacts.
    const generic = new Proxy(catalog, {
      get: (target, key) => {
        if (key === 'locationFacts') return undefined;
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Catalog;
    const parent = await Table.load(generic, PARENT);
    await assert.rejects(removeOrphanFiles(parent, {}), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'LOCATION_OVERLAP');
      assert.match(e.message, /contains table db\.events/);
      return true;
    });
  });
});

/** A listing that strays outside the prefix asked for (a misbehaving store or a bug). */
class StrayListingIO extends LocalFileIO {
  extra: string[] = [];
  override async *list(prefix: string): AsyncIterable<FileInfo> {
    yield* super.list(prefix);
    for (const location of this.extra) {
      const st = statSync(location);
      yield { location, size: st.size, lastModified: st.mtimeMs };
    }
  }
}

test('whatever a listing returns: never the catalog database, its WAL, or a file outside the table', async () => {
  const io = new StrayListingIO();
  await withWarehouse(async ({ dir, wh, events }) => {
    const outside = join(dir, 'outside.txt');
    writeFileSync(outside, 'not the table\'s');
    const orphan = join(wh, 'db', 'events', 'data', 'orphan.parquet');
    writeFileSync(orphan, 'x');
    io.extra = [join(wh, 'catalog.db'), join(wh, 'catalog.db-wal'), outside, join(wh, 'db', 'events', '..', '..', 'catalog.db')];
    for (const p of [...io.extra, orphan]) age(p, 30 * DAY);
    const r = await removeOrphanFiles(events, { olderThanMs: 0, allowShortOlderThan: true });
    assert.deepEqual(r.orphans.map((o) => o.location), [orphan]);
    assert.equal(r.protectedFiles, 4);
    assert.ok(!existsSync(orphan));
    for (const p of io.extra) assert.ok(existsSync(p), `${p} kept`);
  }, io);
});

test('the 24-hour floor: a shorter window needs consent; a dry run needs none', async () => {
  await withWarehouse(async ({ wh, events }) => {
    const stray = join(wh, 'db', 'events', 'data', 'two-hours-old.parquet');
    mkdirSync(join(stray, '..'), { recursive: true });
    writeFileSync(stray, 'x');
    age(stray, 2 * 3_600_000);
    for (const olderThanMs of [0, 3_600_000, DAY - 1]) {
      await assert.rejects(removeOrphanFiles(events, { olderThanMs }), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'VALIDATION');
        assert.match(e.message, /^remove-orphans: older-than: \S+ is below the floor of 24h: a running writer's files are unreferenced until it commits/);
        assert.match(e.message, /set allowShortOlderThan/);
        return true;
      });
    }
    assert.ok(existsSync(stray));
    assert.equal((await removeOrphanFiles(events, { olderThanMs: DAY })).orphans.length, 0, 'two hours old: inside a 24h window');
    const dry = await removeOrphanFiles(events, { olderThanMs: 3_600_000, dryRun: true });
    assert.deepEqual(dry.orphans.map((o) => [o.location, o.deleted]), [[stray, false]]);
    const r = await removeOrphanFiles(events, { olderThanMs: 3_600_000, allowShortOlderThan: true });
    assert.deepEqual(r.orphans.map((o) => [o.location, o.deleted]), [[stray, true]]);
  });
});

test('the scheduler never hands a timer more than 2^31-1 ms (a longer delay fires at once and spins)', async () => {
  await withWarehouse(async ({ catalog }) => {
    const delays: number[] = [];
    const original = globalThis.setTimeout;
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      return original(fn, ms);
    }) as typeof setTimeout;
    const month = 30 * DAY; // built by hand, past the config's bounds
    const scheduler = new MaintenanceScheduler({
      catalog,
      tables: [ID],
      policy: {
        compact: { ...MAINTENANCE_DEFAULTS.compact, intervalMs: month },
        expireSnapshots: { ...MAINTENANCE_DEFAULTS.expireSnapshots, intervalMs: month },
        rewriteManifests: { ...MAINTENANCE_DEFAULTS.rewriteManifests, intervalMs: month },
        removeOrphans: { ...MAINTENANCE_DEFAULTS.removeOrphans, enabled: false },
      },
      onEvent: () => undefined,
    });
    try {
      scheduler.start();
      await new Promise((r) => original(r, 300));
    } finally {
      globalThis.setTimeout = original;
      await scheduler.stop();
    }
    assert.ok(delays.length >= 1 && delays.length <= 3, `timers set: ${delays.length} (a spinning loop sets thousands)`);
    assert.ok(delays.every((d) => d <= 2 ** 31 - 1), `delays: ${delays.join(', ')}`);
  });
});
