/**
 * The commit loop riding out an unavailable catalog (`table/snapshot-producer.ts`): a request that
 * never left is sent again; an unknown outcome is resolved by reloading, patiently; a copy sent
 * again after "not landed" can never apply twice; the budget and a stop end the waiting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import type { Catalog, TableIdentifier } from '../../src/catalog/catalog.js';
import { CatalogUnreachableError, CommitStateUnknownError, FloeError } from '../../src/errors.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';
import type { CommitRetryEvent } from '../../src/table/snapshot-producer.js';
import type { Schema } from '../../src/iceberg/types.js';
import type { TableRequirement, TableUpdate } from '../../src/iceberg/commit.js';

const SCHEMA: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'long' }] };
const ID: TableIdentifier = { namespace: ['db'], name: 't' };
const FAST = { budgetMs: 5_000, baseDelayMs: 5, maxDelayMs: 20 };

type CommitFault = (commit: () => Promise<unknown>) => Promise<void>;

/** A catalog whose next commits and loads fail as scripted (each fault is used once, in order). */
function faulty(inner: Catalog, faults: { commits?: CommitFault[]; loads?: number }): Catalog & { commitCalls: number } {
  let loadsToFail = faults.loads ?? 0;
  const commits = [...(faults.commits ?? [])];
  const state = { commitCalls: 0 };
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'commitCalls') return state.commitCalls;
      if (prop === 'commitTable') {
        return async (id: TableIdentifier, req: TableRequirement[], upd: TableUpdate[]) => {
          state.commitCalls++;
          const fault = commits.shift();
          if (fault) {
            await fault(() => target.commitTable(id, req, upd));
            throw new Error('test: a fault must throw');
          }
          return target.commitTable(id, req, upd);
        };
      }
      if (prop === 'loadTable') {
        return async (id: TableIdentifier) => {
          if (loadsToFail > 0 && state.commitCalls > 0) {
            loadsToFail--;
            throw new FloeError('CATALOG', 'catalog: rest: table db.t: request failed: fetch failed: ECONNREFUSED', { retriable: true });
          }
          return target.loadTable(id);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as Catalog & { commitCalls: number };
}

const refused: CommitFault = async () => {
  throw new CatalogUnreachableError('catalog: rest: table db.t: catalog unreachable, request not sent (ECONNREFUSED)');
};
const appliedThenUnknown: CommitFault = async (commit) => {
  await commit();
  throw new CommitStateUnknownError('catalog: rest: table db.t: commit outcome unknown (other side closed)');
};
const lostUnknown: CommitFault = async () => {
  throw new CommitStateUnknownError('catalog: rest: table db.t: commit outcome unknown (timed out)');
};

async function withTable(fn: (catalog: SqlCatalog, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-outage-'));
  const catalog = new SqlCatalog({ name: 'test', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'wh') });
  try {
    await catalog.createNamespace(['db']);
    await catalog.createTable(ID, { schema: SCHEMA });
    await fn(catalog, dir);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function append(catalog: Catalog, ids: number[], opts: { outage?: typeof FAST; signal?: AbortSignal } = {}) {
  const table = await Table.load(catalog, ID);
  const events: CommitRetryEvent[] = [];
  const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), ids.map((i) => [BigInt(i)])));
  const op = table.newAppend({ outage: opts.outage ?? FAST, onRetry: (e) => events.push(e), ...(opts.signal ? { signal: opts.signal } : {}) });
  const result = op.appendFiles(files, specId).commit();
  return { result, events, table };
}

async function snapshots(catalog: Catalog): Promise<{ count: number; records: number }> {
  const md = (await catalog.loadTable(ID)).metadata;
  const snaps = md.snapshots ?? [];
  return { count: snaps.length, records: Number(snaps.at(-1)?.summary['total-records'] ?? 0) };
}

test('a commit refused before it was sent is sent again as it is, one event per retry', async () => {
  await withTable(async (catalog) => {
    const c = faulty(catalog, { commits: [refused, refused, refused] });
    const { result, events } = await append(c, [1, 2, 3]);
    const r = await result;
    assert.equal(r.attempts, 1, 'no conflict: the same attempt, sent again');
    assert.equal(c.commitCalls, 4);
    assert.deepEqual(events.map((e) => [e.reason, e.retry]), [['unreachable', 1], ['unreachable', 2], ['unreachable', 3]]);
    assert.ok(events.every((e) => e.table === 'db.t' && /ECONNREFUSED/.test(e.error) && e.waitMs <= FAST.maxDelayMs));
    assert.deepEqual(await snapshots(catalog), { count: 1, records: 3 });
  });
});

test('an unknown outcome is resolved by reloading, also while the reloads fail: landed once', async () => {
  await withTable(async (catalog) => {
    const c = faulty(catalog, { commits: [appliedThenUnknown], loads: 3 });
    const { result, events } = await append(c, [1, 2]);
    await result;
    assert.equal(c.commitCalls, 1, 'landed: never sent again');
    assert.deepEqual(events.map((e) => e.reason), ['reload-failed', 'reload-failed', 'reload-failed']);
    assert.deepEqual(await snapshots(catalog), { count: 1, records: 2 });
  });
});

test('an unknown outcome that did not land is sent again and lands once', async () => {
  await withTable(async (catalog) => {
    const c = faulty(catalog, { commits: [lostUnknown] });
    const { result, events } = await append(c, [1, 2, 3, 4]);
    await result;
    assert.equal(c.commitCalls, 2);
    assert.deepEqual(events.map((e) => e.reason), ['unknown-outcome']);
    assert.deepEqual(await snapshots(catalog), { count: 1, records: 4 });
  });
});

test('a first copy that lands late makes the resent copy conflict; the conflict finds it landed, nothing twice', async () => {
  await withTable(async (catalog, dir) => {
    let late: (() => Promise<unknown>) | undefined;
    const c = faulty(catalog, {
      commits: [
        // The first copy is held (still in flight somewhere) and reported unknown.
        async (commit) => {
          late = commit;
          throw new CommitStateUnknownError('catalog: rest: table db.t: commit outcome unknown (timed out)');
        },
        // The resent copy: the first lands just before it, so it conflicts.
        async (commit) => {
          await late!();
          await commit();
        },
      ],
    });
    const { result } = await append(c, [7, 8]);
    const r = await result;
    assert.equal(c.commitCalls, 2);
    assert.equal(r.snapshot['snapshot-id'], (await catalog.loadTable(ID)).metadata['current-snapshot-id']);
    assert.deepEqual(await snapshots(catalog), { count: 1, records: 2 });
    // The landed snapshot's files are all there (the cleanup kept what it uses).
    const md = (await catalog.loadTable(ID)).metadata;
    const list = md.snapshots![0]!['manifest-list']!;
    const names = await readdir(join(dir, 'wh', 'db', 't', 'metadata'));
    assert.ok(names.some((n) => list.endsWith(n)), `${list} kept`);
  });
});

test('the outage budget bounds the waiting: refused → CatalogUnreachableError, files removed; unresolved → unknown, files kept', async () => {
  await withTable(async (catalog, dir) => {
    const metaDir = join(dir, 'wh', 'db', 't', 'metadata');
    const before = new Set(await readdir(metaDir));
    const c = faulty(catalog, { commits: Array.from({ length: 1000 }, () => refused) });
    const started = Date.now();
    const { result, events } = await append(c, [1], { outage: { budgetMs: 300, baseDelayMs: 10, maxDelayMs: 50 } });
    await assert.rejects(result, (e: unknown) => {
      assert.ok(e instanceof CatalogUnreachableError, String(e));
      assert.match(e.message, /^table: db\.t: commit not applied: the catalog stayed unavailable for 0\.\d s \(\d+ retries\)/);
      return true;
    });
    const took = Date.now() - started;
    assert.ok(took >= 300 && took < 2_000, `gave up after ${took} ms`);
    assert.ok(events.length >= 5 && events.length < 40, `${events.length} retries`);
    assert.deepEqual([...(await readdir(metaDir))].filter((n) => !before.has(n)), [], 'the manifests and list it wrote are gone');

    const u = faulty(catalog, { commits: [appliedThenUnknown], loads: 1000 });
    const second = await append(u, [2], { outage: { budgetMs: 200, baseDelayMs: 10, maxDelayMs: 50 } });
    await assert.rejects(second.result, (e: unknown) => e instanceof CommitStateUnknownError && /commit outcome unknown: the catalog stayed unavailable/.test(e.message));
    assert.deepEqual(await snapshots(catalog), { count: 1, records: 1 }, 'it had landed; the files it uses are kept');
  });
});

test('a stop ends the waiting at once', async () => {
  await withTable(async (catalog) => {
    const c = faulty(catalog, { commits: Array.from({ length: 1000 }, () => refused) });
    const stop = new AbortController();
    const { result, events } = await append(c, [1], { outage: { budgetMs: 60_000, baseDelayMs: 2_000, maxDelayMs: 5_000 }, signal: stop.signal });
    while (events.length === 0) await new Promise((r) => setTimeout(r, 5));
    const started = Date.now();
    stop.abort();
    await assert.rejects(result, (e: unknown) => e instanceof CatalogUnreachableError && /stopped while waiting to retry/.test(e.message));
    assert.ok(Date.now() - started < 200, `stopped after ${Date.now() - started} ms`);
    assert.deepEqual(await snapshots(catalog), { count: 0, records: 0 });
  });
});
