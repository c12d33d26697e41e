/**
 * A failure in the middle of any maintenance operation (injected through a FileIO that stops
 * writing or deleting, or a catalog whose commit fails) leaves a table that reads completely, and
 * running the operation again finishes the job.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Catalog } from '../../src/catalog/catalog.js';
import { CommitStateUnknownError, FloeError } from '../../src/errors.js';
import type { TableRequirement, TableUpdate } from '../../src/iceberg/commit.js';
import { compactTable } from '../../src/maintenance/compact.js';
import { expireSnapshots } from '../../src/maintenance/expire-snapshots.js';
import { removeOrphanFiles } from '../../src/maintenance/remove-orphans.js';
import { rewriteManifests } from '../../src/maintenance/rewrite-manifests.js';
import { Table } from '../../src/table/table.js';
import { appendRows, assertRows, ID, liveDataFiles, sortedRows, withTable, type TableEnv } from './helpers.js';

/** Orphans a zero-window sweep would find (nothing is deleted). */
async function leftovers(table: Table): Promise<string[]> {
  return (await removeOrphanFiles(table, { olderThanMs: 0, dryRun: true })).orphans.map((o) => o.location);
}

async function seed(env: TableEnv, appends = 8): Promise<string[]> {
  for (let i = 0; i < appends; i++) await appendRows(env.table, i * 10, 10);
  return sortedRows(env.catalog);
}

/** Runs `op` with 0, 1, 2, … successful writes before the injected failure, until it succeeds. */
async function untilItSucceeds(env: TableEnv, expected: string[], op: () => Promise<unknown>, check: () => Promise<void>): Promise<number> {
  for (let allowed = 0; allowed < 20; allowed++) {
    env.io.writesLeft = allowed;
    try {
      await op();
      env.io.heal();
      return allowed;
    } catch (e) {
      env.io.heal();
      assert.ok(e instanceof FloeError, `a floe error, got ${String(e)}`);
      await assertRows(env.catalog, expected, `after a failure with ${allowed} writes allowed`);
      assert.deepEqual(await leftovers(env.table), [], `nothing left behind after a failure with ${allowed} writes allowed`);
      await check();
    }
  }
  throw new Error('never succeeded');
}

test('crash: compaction failing at every write leaves the table as it was, then completes', async () => {
  await withTable(async (env) => {
    const expected = await seed(env, 5);
    const allowed = await untilItSucceeds(
      env,
      expected,
      () => compactTable(env.table, { minInputFiles: 5 }),
      async () => assert.equal((await liveDataFiles(env.table)).length, 5),
    );
    // Manifests (the new one and each rewritten one), the manifest list, the metadata file.
    assert.ok(allowed >= 7, `every write point was tried (${allowed})`);
    assert.equal((await liveDataFiles(env.table)).length, 1);
    await assertRows(env.catalog, expected, 'after the compaction');
  });
});

test('crash: manifest rewrite failing at every write leaves the table as it was, then completes', async () => {
  await withTable(async (env) => {
    const expected = await seed(env);
    await untilItSucceeds(
      env,
      expected,
      () => rewriteManifests(env.table),
      async () => {
        await env.table.refresh();
        assert.equal(env.table.currentSnapshot()!.summary.operation, 'append');
      },
    );
    await env.table.refresh();
    assert.equal(env.table.currentSnapshot()!.summary.operation, 'replace');
    await assertRows(env.catalog, expected, 'after the rewrite');
  });
});

/** A catalog whose commits report an unknown outcome, after committing or instead of it. */
function unknownOutcome(inner: Catalog, commitFirst: boolean): Catalog {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'commitTable') {
        return async (id: typeof ID, req: TableRequirement[], upd: TableUpdate[]) => {
          if (commitFirst) await target.commitTable(id, req, upd);
          throw new CommitStateUnknownError('catalog: connection reset during commit');
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

test('crash: a compaction commit with an unknown outcome keeps its files; landed or not, the table reads and a re-run works', async () => {
  await withTable(async (env) => {
    const expected = await seed(env, 6);
    // Not landed: the new files are kept (they might be referenced), the table is unchanged.
    const lost = await Table.load(unknownOutcome(env.catalog, false), ID);
    await assert.rejects(compactTable(lost, { minInputFiles: 5 }), CommitStateUnknownError);
    await assertRows(env.catalog, expected, 'after an unknown, lost commit');
    assert.equal((await liveDataFiles(env.table)).length, 6);
    assert.equal((await leftovers(env.table)).filter((p) => p.includes('/data/')).length, 1, 'the unreferenced output is an orphan');
    await removeOrphanFiles(env.table, { olderThanMs: 0, allowShortOlderThan: true });
    await assertRows(env.catalog, expected, 'after sweeping');
    // Landed: the reload finds the snapshot, the compaction succeeds.
    const landed = await Table.load(unknownOutcome(env.catalog, true), ID);
    const r = await compactTable(landed, { minInputFiles: 5 });
    assert.equal(r.addedDataFiles, 1);
    await assertRows(env.catalog, expected, 'after a landed commit');
    assert.equal((await liveDataFiles(env.table)).length, 1);
  });
});

test('crash: expiry interrupted while deleting, or failing to commit, never loses rows', async () => {
  await withTable(async (env) => {
    const expected = await seed(env, 6);
    await compactTable(env.table, { minInputFiles: 5 });
    // The commit fails: nothing is expired and nothing is deleted.
    const failing = await Table.load(unknownOutcome(env.catalog, false), ID);
    await assert.rejects(expireSnapshots(failing, { olderThanMs: 0, retainLast: 1 }), CommitStateUnknownError);
    await env.table.refresh();
    assert.equal(env.table.metadata.snapshots.length, 7);
    assert.equal(env.io.deletes, 0);
    // Time travel to the first snapshot still works: its files are all there.
    await assertRows(env.catalog, expected, 'after a failed expiry commit');

    // The commit lands; the deletes stop after 3.
    env.io.deletesLeft = 3;
    const r = await expireSnapshots(env.table, { olderThanMs: 0, retainLast: 1 });
    env.io.heal();
    assert.equal(r.expiredSnapshots, 6);
    assert.ok(r.failedDeletes > 0);
    await assertRows(env.catalog, expected, 'after an interrupted cleanup');
    const left = await leftovers(env.table);
    assert.ok(left.length > 0);
    const sweep = await removeOrphanFiles(env.table, { olderThanMs: 0, allowShortOlderThan: true });
    assert.equal(sweep.deleted, left.length);
    await assertRows(env.catalog, expected, 'after the sweep');
  });
});

test('crash: orphan removal interrupted while deleting finishes on the next run', async () => {
  await withTable(async (env) => {
    const expected = await seed(env, 6);
    await compactTable(env.table, { minInputFiles: 5 });
    await expireSnapshots(env.table, { olderThanMs: 0, retainLast: 1, deleteFiles: false });
    const orphans = await leftovers(env.table);
    assert.ok(orphans.length >= 12);
    env.io.deletesLeft = 4;
    const first = await removeOrphanFiles(env.table, { olderThanMs: 0, allowShortOlderThan: true });
    env.io.heal();
    assert.equal(first.deleted, 4);
    assert.equal(first.failed, orphans.length - 4);
    await assertRows(env.catalog, expected, 'after an interrupted sweep');
    const second = await removeOrphanFiles(env.table, { olderThanMs: 0, allowShortOlderThan: true });
    assert.equal(second.deleted, orphans.length - 4);
    await assertRows(env.catalog, expected, 'after the second sweep');
  });
});
