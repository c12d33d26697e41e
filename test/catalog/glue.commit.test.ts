/**
 * GlueCatalog commits: UpdateTable with the VersionId read (optimistic locking), SkipArchive on
 * every update, the early metadata_location check, and the outcome mapping (conflict, unknown,
 * reconciled) — against the fake Glue server through the real SDK client, with two writers as two
 * catalog instances (two processes in production).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TableIdentifier } from '../../src/catalog/catalog.js';
import { GlueCatalog, type GlueCatalogOptions } from '../../src/catalog/glue/glue-catalog.js';
import { CommitConflictError, CommitStateUnknownError } from '../../src/errors.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import type { Schema } from '../../src/iceberg/types.js';
import { QueryEngine } from '../../src/query/engine.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';
import { startGlueFake, type GlueFake } from './glue-fake.js';

const CREDENTIALS = { accessKeyId: 'AKIDFLOETEST', secretAccessKey: 'floe-test-secret' };
const SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', type: 'long', required: true },
    { id: 2, name: 'name', type: 'string', required: false },
  ],
};

describe('GlueCatalog commits', () => {
  let fake: GlueFake;
  let dir: string;
  const catalogs: GlueCatalog[] = [];

  const open = (extra: Partial<GlueCatalogOptions> = {}) => {
    const c = new GlueCatalog({ endpoint: fake.endpoint, region: 'us-east-1', credentials: CREDENTIALS, warehouse: join(dir, 'wh'), ...extra });
    catalogs.push(c);
    return c;
  };
  /** A fresh table in a fresh database. */
  const newTable = async (catalog: GlueCatalog): Promise<TableIdentifier> => {
    const db = `commit_${randomUUID().replace(/-/g, '_')}`;
    await catalog.createNamespace([db]);
    const id = { namespace: [db], name: 'events' };
    await catalog.createTable(id, { schema: SCHEMA });
    return id;
  };
  const setProp = (catalog: GlueCatalog, id: TableIdentifier, k: string, v: string) =>
    catalog.commitTable(id, [], [{ action: 'set-properties', updates: { [k]: v } }]);

  before(async () => {
    fake = await startGlueFake();
    dir = await mkdtemp(join(tmpdir(), 'floe-glue-commit-'));
  });
  after(async () => {
    for (const c of catalogs) await c.close();
    await fake.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends SkipArchive and the VersionId read on every UpdateTable, so Glue archives nothing', async () => {
    const catalog = open();
    const id = await newTable(catalog);
    const db = id.namespace[0]!;
    const start = fake.requestsOf('UpdateTable').length;
    for (let i = 0; i < 5; i++) await setProp(catalog, id, 'n', String(i));
    const updates = fake.requestsOf('UpdateTable').slice(start);
    assert.equal(updates.length, 5);
    updates.forEach((u, i) => {
      assert.equal(u.body.SkipArchive, true, `UpdateTable ${i} has SkipArchive`);
      assert.equal(u.body.VersionId, String(i), `UpdateTable ${i} is conditioned on version ${i}`);
      assert.equal(u.body.DatabaseName, db);
    });
    assert.equal(fake.table(db, 'events')?.VersionId, '5');
    assert.equal(fake.archivedVersions(db, 'events'), 0);
  });

  it('archives a version per commit when skip-archive is turned off (what SkipArchive avoids)', async () => {
    const catalog = open({ skipArchive: false });
    const id = await newTable(catalog);
    for (let i = 0; i < 3; i++) await setProp(catalog, id, 'n', String(i));
    assert.equal(fake.archivedVersions(id.namespace[0]!, 'events'), 3);
    assert.ok(fake.requestsOf('UpdateTable').slice(-3).every((u) => u.body.SkipArchive === false));
  });

  it('a stale VersionId at the commit point is a CommitConflictError; the loser leaves no file behind', async () => {
    const a = open();
    const b = open();
    const id = await newTable(a);
    const db = id.namespace[0]!;
    let bLocation = '';
    // B commits after A has read and re-checked the table, just before A's UpdateTable is applied.
    fake.beforeNext('UpdateTable', async () => {
      bLocation = (await setProp(b, id, 'writer', 'b')).metadataLocation;
    });
    const aLocations: string[] = [];
    const probe = a.commitTable(id, [], [{ action: 'set-properties', updates: { writer: 'a' } }]);
    await assert.rejects(probe, (e: unknown) => {
      assert.ok(e instanceof CommitConflictError, `got ${String(e)}`);
      assert.match(e.message, /concurrent update/);
      return true;
    });
    // A's UpdateTable arrived first (and was held); B's arrived and was applied meanwhile. Both
    // carried version 0; B's moved the table to version 1, so A's was refused.
    const updates = fake.requestsOf('UpdateTable').slice(-2);
    assert.deepEqual(updates.map((u) => u.body.VersionId), ['0', '0']);
    const aParams = (updates[0]!.body.TableInput as { Parameters: Record<string, string> }).Parameters;
    aLocations.push(aParams.metadata_location!);
    assert.notEqual(aLocations[0], bLocation);
    const t = await a.loadTable(id);
    assert.equal(t.metadataLocation, bLocation);
    assert.equal(t.metadata.properties.writer, 'b');
    assert.equal(await t.io.exists(aLocations[0]!), false, "the loser's metadata file was deleted");
    assert.equal(fake.table(db, 'events')?.VersionId, '1');
    // After a reload, A's retry wins.
    const retried = await setProp(a, id, 'writer', 'a');
    assert.equal(retried.metadata.properties.writer, 'a');
    assert.ok(retried.metadata['metadata-log'].some((e) => e['metadata-file'] === bLocation));
  });

  it('checks metadata_location again before UpdateTable and does not send it when another writer got in first', async () => {
    const a = open();
    const b = open();
    const id = await newTable(a);
    // A's first GetTable passes; B commits before A's second (the re-check).
    fake.beforeNext('GetTable', async () => {
      fake.beforeNext('GetTable', async () => {
        await setProp(b, id, 'writer', 'b');
      });
    });
    const before = fake.requestsOf('UpdateTable').length;
    await assert.rejects(setProp(a, id, 'writer', 'a'), (e: unknown) => {
      assert.ok(e instanceof CommitConflictError);
      assert.match(e.message, /no longer/);
      return true;
    });
    assert.equal(fake.requestsOf('UpdateTable').length - before, 1, "only B's UpdateTable was sent");
    assert.equal((await a.loadTable(id)).metadata.properties.writer, 'b');
  });

  it('a 5xx on UpdateTable is CommitStateUnknownError and keeps the new file', async () => {
    const catalog = open();
    const id = await newTable(catalog);
    const base = await catalog.loadTable(id);
    fake.inject('UpdateTable', { status: 500, type: 'InternalServiceException' });
    const err = await setProp(catalog, id, 'k', 'v').then(
      () => assert.fail('commit should not succeed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CommitStateUnknownError, `got ${String(err)}`);
    assert.match(err.message, /may or may not have been applied \(new metadata (.+)\)/);
    const newFile = /new metadata (\S+)\)/.exec(err.message)![1]!;
    assert.equal(await base.io.exists(newFile), true, 'a file the table may point at is never deleted');
    assert.equal((await catalog.loadTable(id)).metadataLocation, base.metadataLocation, 'the fake did not apply it');
  });

  it('a 5xx whose update was applied anyway is recognised as committed', async () => {
    const catalog = open();
    const id = await newTable(catalog);
    fake.inject('UpdateTable', { status: 503, type: 'InternalServiceException', applyFirst: true });
    const t = await setProp(catalog, id, 'k', 'landed');
    assert.equal(t.metadata.properties.k, 'landed');
    assert.equal((await catalog.loadTable(id)).metadataLocation, t.metadataLocation);
  });

  it('a timed-out UpdateTable is CommitStateUnknownError, and may indeed land later', async () => {
    const catalog = open({ requestTimeoutMs: 300 });
    const id = await newTable(catalog);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    fake.beforeNext('UpdateTable', () => released);
    const err = await setProp(catalog, id, 'k', 'late').then(
      () => assert.fail('commit should not succeed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CommitStateUnknownError, `got ${String(err)}`);
    release();
    // The request was still in flight: Glue applies it after floe gave up waiting.
    for (let i = 0; i < 50 && (await catalog.loadTable(id)).metadata.properties.k !== 'late'; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const t = await catalog.loadTable(id);
    assert.equal(t.metadata.properties.k, 'late');
    assert.equal(await t.io.exists(t.metadataLocation), true, 'the file it points at still exists');
  });

  it('maps ConcurrentModificationException and throttling to CommitConflictError (nothing applied)', async () => {
    const catalog = open();
    const id = await newTable(catalog);
    const base = await catalog.loadTable(id);
    fake.inject('UpdateTable', { status: 400, type: 'ConcurrentModificationException', message: 'Update table failed due to concurrent modifications.' });
    await assert.rejects(setProp(catalog, id, 'k', 'v'), CommitConflictError);
    fake.inject('UpdateTable', { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' });
    await assert.rejects(setProp(catalog, id, 'k', 'v'), (e: unknown) => e instanceof CommitConflictError && /throttled/.test(e.message));
    assert.equal((await catalog.loadTable(id)).metadataLocation, base.metadataLocation);
    assert.equal(fake.table(id.namespace[0]!, 'events')?.VersionId, '0');
  });

  it('checks a CreateTable that failed with a 5xx: created → success, otherwise unknown', async () => {
    const catalog = open();
    const db = `create_${randomUUID().replace(/-/g, '_')}`;
    await catalog.createNamespace([db]);
    fake.inject('CreateTable', { status: 500, applyFirst: true });
    const t = await catalog.createTable({ namespace: [db], name: 'landed' }, { schema: SCHEMA });
    assert.equal((await catalog.loadTable({ namespace: [db], name: 'landed' })).metadataLocation, t.metadataLocation);
    fake.inject('CreateTable', { status: 500 });
    await assert.rejects(catalog.createTable({ namespace: [db], name: 'lost' }, { schema: SCHEMA }), CommitStateUnknownError);
    assert.equal(await catalog.tableExists({ namespace: [db], name: 'lost' }), false);
  });

  it('rolls a rename back when the old table cannot be deleted', async () => {
    const catalog = open();
    const id = await newTable(catalog);
    const to = { namespace: id.namespace, name: 'renamed' };
    fake.inject('DeleteTable', { status: 400, type: 'AccessDeniedException', message: 'no glue:DeleteTable' });
    await assert.rejects(catalog.renameTable(id, to), /AccessDeniedException: no glue:DeleteTable/);
    assert.equal(await catalog.tableExists(id), true);
    assert.equal(await catalog.tableExists(to), false, 'the new name was removed again');
  });

  it('retries reads through throttling and 5xx', async () => {
    const catalog = open({ readRetry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    const id = await newTable(catalog);
    fake.inject('GetTable', { status: 400, type: 'ThrottlingException' });
    fake.inject('GetTable', { status: 500, type: 'InternalServiceException' });
    assert.equal((await catalog.loadTable(id)).identifier.name, 'events');
    fake.inject('GetTable', { status: 400, type: 'AccessDeniedException', message: 'not allowed' });
    await assert.rejects(catalog.loadTable(id), /glue: reading table .* failed: AccessDeniedException: not allowed/);
  });

  it('two Table writers appending concurrently both land (conflicts retried after reload), and DuckDB reads every row', async () => {
    const a = open();
    const b = open();
    const id = await newTable(a);
    const append = async (catalog: GlueCatalog, from: number) => {
      const table = await Table.load(catalog, id);
      const rows = Array.from({ length: 5 }, (_, i) => [BigInt(from + i), `row_${from + i}`]);
      const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows));
      await table.newAppend().appendFiles(files, specId).commit();
    };
    await Promise.all([append(a, 0), append(b, 100), append(a, 200), append(b, 300)]);
    const engine = await QueryEngine.open({ catalog: a });
    try {
      const r = await engine.query(`SELECT count(*) AS n, count(DISTINCT id) AS d FROM ${id.namespace[0]}.events`);
      assert.deepEqual(r.rows.map((row) => row.map(Number)), [[20, 20]]);
    } finally {
      engine.close();
    }
    const t = await a.loadTable(id);
    assert.equal(t.metadata.snapshots.length, 4);
    assert.equal(fake.archivedVersions(id.namespace[0]!, 'events'), 0);
  });
});
