/**
 * Waiting for another process's write lock on the SQLite catalog (`catalog/sql/busy.ts`): the wait
 * never blocks the event loop for more than a few milliseconds, signals are answered during it, the
 * commit lands once the lock is released, and the busy timeout still bounds the wait.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import type { TableIdentifier } from '../../src/catalog/catalog.js';
import { CommitConflictError, FloeError } from '../../src/errors.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';
import type { Schema } from '../../src/iceberg/types.js';

const SCHEMA: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'long' }] };
const ID: TableIdentifier = { namespace: ['db'], name: 't' };

/** Another process takes the database's write lock (BEGIN IMMEDIATE) and holds it for `holdMs`. */
async function holdWriteLock(dbPath: string, holdMs: number): Promise<{ child: ChildProcess; released: Promise<number> }> {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const script = `
    const Database = require(${JSON.stringify(sqlite)});
    const db = new Database(${JSON.stringify(dbPath)});
    db.exec('BEGIN IMMEDIATE');
    db.prepare("INSERT INTO iceberg_namespace_properties VALUES ('other', 'x', 'k', 'v')").run();
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); }, ${holdMs});`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let releasedAt = 0;
  const locked = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('released') && releasedAt === 0) releasedAt = Date.now();
      if (out.includes('locked')) resolve();
    });
    child.once('exit', (code) => (out.includes('locked') ? undefined : reject(new Error(`test: lock holder exited ${code}`))));
  });
  const released = new Promise<number>((resolve) => child.once('exit', () => resolve(releasedAt || Date.now())));
  await locked;
  return { child, released };
}

/** Largest gap between ticks of a 10 ms interval while `fn` runs. */
async function maxStall<T>(fn: () => Promise<T>): Promise<{ value: T; maxGapMs: number }> {
  let last = performance.now();
  let maxGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 10);
  try {
    const value = await fn();
    return { value, maxGapMs: Math.max(maxGapMs, performance.now() - last) };
  } finally {
    clearInterval(timer);
  }
}

async function withCatalog(busyTimeoutMs: number, fn: (catalog: SqlCatalog, dbPath: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-busy-'));
  const dbPath = join(dir, 'catalog.db');
  const catalog = new SqlCatalog({ name: 'test', uri: dbPath, warehouse: join(dir, 'wh'), busyTimeoutMs });
  try {
    await catalog.createNamespace(['db']);
    await catalog.createTable(ID, { schema: SCHEMA });
    await fn(catalog, dbPath);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('a commit waiting 2 s for another process\'s lock keeps the event loop turning, answers a signal, and lands after the release', async () => {
  await withCatalog(10_000, async (catalog, dbPath) => {
    const table = await Table.load(catalog, ID);
    const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), [[1n], [2n]]));
    const op = table.newAppend().appendFiles(files, specId);
    const { released } = await holdWriteLock(dbPath, 2_000);
    const started = Date.now();
    // A signal sent 500 ms into the wait is handled at once (the loop is free).
    let signalLatencyMs = -1;
    const onSignal = () => (signalLatencyMs = Date.now() - sentAt);
    let sentAt = 0;
    process.once('SIGTERM', onSignal);
    const signalTimer = setTimeout(() => {
      sentAt = Date.now();
      process.kill(process.pid, 'SIGTERM');
    }, 500);
    try {
      const { value, maxGapMs } = await maxStall(() => op.commit());
      const releasedAt = await released;
      const waited = Date.now() - started;
      assert.ok(waited >= 1_500, `the commit waited for the lock (${waited} ms)`);
      assert.ok(Date.now() - releasedAt < 1_000, 'and landed soon after the release');
      assert.ok(maxGapMs < 100, `the event loop stalled ${maxGapMs.toFixed(1)} ms at most (must be < 100)`);
      assert.ok(signalLatencyMs >= 0 && signalLatencyMs < 100, `signal answered after ${signalLatencyMs} ms`);
      assert.equal(value.attempts, 1);
      const md = (await catalog.loadTable(ID)).metadata;
      assert.equal(md.snapshots?.length, 1);
      assert.equal(md.snapshots![0]!.summary['total-records'], '2');
    } finally {
      clearTimeout(signalTimer);
      process.off('SIGTERM', onSignal);
    }
  });
});

test('the busy timeout still bounds the wait, without stalling: a commit fails as not applied, a namespace change as retriable', async () => {
  await withCatalog(300, async (catalog, dbPath) => {
    const base = await catalog.loadTable(ID);
    const { released } = await holdWriteLock(dbPath, 1_500);
    const started = Date.now();
    const { maxGapMs } = await maxStall(async () => {
      await assert.rejects(
        catalog.commitTable(ID, [], [{ action: 'set-properties', updates: { a: 'b' } }]),
        (e: unknown) => e instanceof CommitConflictError && /not applied: the catalog database stayed busy/.test(e.message),
      );
      await assert.rejects(catalog.createNamespace(['other']), (e: unknown) => e instanceof FloeError && e.retriable && /database is locked|busy/i.test(e.message));
    });
    const took = Date.now() - started;
    assert.ok(took >= 600 && took < 1_400, `two waits of 300 ms: ${took} ms`);
    assert.ok(maxGapMs < 100, `the event loop stalled ${maxGapMs.toFixed(1)} ms at most`);
    await released;
    assert.equal((await catalog.loadTable(ID)).metadataLocation, base.metadataLocation, 'nothing was applied');
    await catalog.createNamespace(['other']);
  });
});

test('a stop (the commit\'s signal) ends the wait for the lock within the grace: ABORTED, nothing applied, no file left', async () => {
  await withCatalog(10_000, async (catalog, dbPath) => {
    const table = await Table.load(catalog, ID);
    const base = table.loaded.metadataLocation;
    const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), [[1n]]));
    const stop = new AbortController();
    const { child, released } = await holdWriteLock(dbPath, 8_000);
    try {
      const commit = table.newAppend({ signal: stop.signal }).appendFiles(files, specId).commit();
      await new Promise((r) => setTimeout(r, 500));
      const abortedAt = Date.now();
      stop.abort();
      await assert.rejects(commit, (e: unknown) => {
        assert.ok(e instanceof FloeError && e.code === 'ABORTED', String(e));
        assert.match(e.message, /^catalog: commit to db\.t not applied: stopped while waiting for the catalog database lock/);
        return true;
      });
      const answeredMs = Date.now() - abortedAt;
      assert.ok(answeredMs < 1_000, `answered ${answeredMs} ms after the abort (busy timeout 10 s)`);
    } finally {
      child.kill();
      await released;
    }
    const after = await catalog.loadTable(ID);
    assert.equal(after.metadataLocation, base, 'nothing was applied');
    const metadataDir = dirname(base.replace(/^file:\/\//, ''));
    const left = (await readdir(metadataDir)).filter((f) => f.endsWith('.metadata.json'));
    assert.equal(left.length, 1, `only the table's own metadata file: ${left.join(', ')}`);
  });
});

test('a commit whose signal already aborted still lands when the lock is released within the grace', async () => {
  await withCatalog(10_000, async (catalog, dbPath) => {
    const stopped = AbortSignal.abort();
    const { released } = await holdWriteLock(dbPath, 40);
    const loaded = await catalog.commitTable(ID, [], [{ action: 'set-properties', updates: { a: 'b' } }], { signal: stopped });
    assert.equal(loaded.metadata.properties.a, 'b');
    await released;
    assert.equal((await catalog.loadTable(ID)).metadata.properties.a, 'b');
  });
});
