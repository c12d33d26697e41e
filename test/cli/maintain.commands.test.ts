/**
 * `floe maintain compact|expire-snapshots|remove-orphans|rewrite-manifests|convert-deletes` against a temporary
 * warehouse: JSON output and exit codes, rows unchanged through `floe query`, file and snapshot
 * counts dropping, bad usage (exit 2, naming the flag), a missing table (exit 1), and the progress
 * bar drawn on stderr when the output is a terminal.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openCatalog } from '../../src/catalog/open.js';
import { main } from '../../src/cli/main.js';
import type { CommandIO } from '../../src/cli/io.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import type { IcebergValue } from '../../src/iceberg/types.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';
import { assertFails, cliJson, runCli } from './helpers.js';

const BASE_US = 1_767_225_600_000_000n; // 2026-01-01T00:00:00Z

function rows(from: number, n: number): IcebergValue[][] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return [`evt-${i}`, BigInt(i % 5), BASE_US + BigInt(i % 2) * 86_400_000_000n + BigInt(i) * 1_000_000n];
  });
}

describe('floe maintain', () => {
  let warehouse: string;
  const wh = (...argv: string[]) => [...argv, '--warehouse', warehouse];

  async function append(from: number, n: number): Promise<void> {
    const catalog = await openCatalog({ warehouse });
    try {
      const table = await Table.load(catalog, { namespace: ['db'], name: 'events' });
      const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows(from, n)));
      await table.newAppend({ summary: { 'floe.checkpoint.s.shard-0': String(from) } }).appendFiles(files, specId).commit();
    } finally {
      await catalog.close();
    }
  }

  const allRows = async () => {
    const out = await cliJson(wh('query', 'SELECT * FROM db.events ORDER BY event_id'));
    return JSON.stringify(out);
  };
  const dataFiles = async () => (await cliJson(wh('table', 'files', 'db.events'))).filter((f) => f.content === 'data').length;
  const snapshots = async () => (await cliJson(wh('table', 'snapshots', 'db.events'))).length;

  before(async () => {
    warehouse = mkdtempSync(join(tmpdir(), 'floe-cli-maint-'));
    const r = await runCli(wh('table', 'create', 'db.events', '--schema', 'event_id string not null, user_id long, event_time timestamptz', '--partition-by', 'day(event_time)'));
    assert.equal(r.code, 0, r.stderr);
    for (let i = 0; i < 8; i++) await append(i * 10, 10);
  });
  after(() => rmSync(warehouse, { recursive: true, force: true }));

  test('compact: JSON row, fewer files, same rows, checkpoints carried', async () => {
    const before = await allRows();
    const filesBefore = await dataFiles();
    assert.equal(filesBefore, 16);
    const [row] = await cliJson(wh('maintain', 'compact', 'db.events', '--min-input-files', '3', '--target-file-size', '64MB'));
    assert.ok(row);
    assert.equal(row.table, 'db.events');
    assert.equal(row.partitions, 2);
    assert.equal(row.rewritten_files, 16);
    assert.equal(row.added_files, 2);
    assert.equal(row.records, 80);
    assert.match(String(row.snapshot_id), /^\d+$/);
    assert.equal(await dataFiles(), 2);
    assert.equal(await allRows(), before);
    const snaps = await cliJson(wh('table', 'snapshots', 'db.events'));
    const last = snaps[snaps.length - 1]!;
    assert.equal(last.operation, 'replace');
    assert.match(JSON.stringify(last), /floe\.checkpoint\.s\.shard-0.{0,6}70/);
    // Again: nothing to do, exit 0, snapshot_id null.
    const [again] = await cliJson(wh('maintain', 'compact', 'db.events'));
    assert.equal(again!.snapshot_id, null);
  });

  test('compact --where: only matching partitions', async () => {
    await append(100, 10);
    await append(110, 10);
    const [row] = await cliJson(wh('maintain', 'compact', 'db.events', '--min-input-files', '2', '--where', "event_time < '2026-01-02'"));
    assert.equal(row!.partitions, 1);
    // The two new files; the partition's 40-row compacted file would hold 67% of the merge, so
    // the size tiers leave it out (README, Maintenance).
    assert.equal(row!.rewritten_files, 2);
  });

  test('rewrite-manifests: merges the manifests', async () => {
    const before = await allRows();
    const [row] = await cliJson(wh('maintain', 'rewrite-manifests', 'db.events'));
    assert.ok(Number(row!.manifests_before) > Number(row!.manifests_after));
    assert.equal(row!.manifests_after, 1);
    assert.equal(await allRows(), before);
  });

  test('expire-snapshots: only the newest remain; rows unchanged', async () => {
    const before = await allRows();
    assert.ok((await snapshots()) > 10);
    const [row] = await cliJson(wh('maintain', 'expire-snapshots', 'db.events', '--older-than', '0s', '--retain-last', '2'));
    assert.equal(row!.retained_snapshots, 2);
    assert.ok(Number(row!.deleted_data_files) >= 16);
    assert.equal(row!.failed_deletes, 0);
    assert.equal(await snapshots(), 2);
    assert.equal(await allRows(), before);
  });

  test('remove-orphans: --dry-run lists, then deletes; young files are kept', async () => {
    const dir = join(warehouse, 'db', 'events', 'data');
    mkdirSync(dir, { recursive: true });
    const old = join(dir, 'stray.parquet');
    writeFileSync(old, 'x');
    const t = Date.now() / 1000 - 5 * 86_400;
    utimesSync(old, t, t);
    writeFileSync(join(dir, 'young.parquet'), 'y');
    const dry = await cliJson(wh('maintain', 'remove-orphans', 'db.events', '--dry-run'));
    assert.deepEqual(dry.map((o) => [o.location, o.deleted]), [[old, false]]);
    assert.ok(existsSync(old));
    const real = await cliJson(wh('maintain', 'remove-orphans', 'db.events'));
    assert.deepEqual(real.map((o) => [o.location, o.deleted]), [[old, true]]);
    assert.ok(!existsSync(old));
    assert.ok(existsSync(join(dir, 'young.parquet')));
    const table = await runCli(wh('maintain', 'remove-orphans', 'db.events'));
    assert.equal(table.code, 0);
    assert.match(table.stdout, /\(0 rows\)/);
  });

  test('bad usage exits 2 naming the flag; a missing table exits 1', async () => {
    assertFails(await runCli(wh('maintain', 'shrink', 'db.events')), 2, /unknown maintain subcommand 'shrink'/);
    assertFails(await runCli(wh('maintain', 'compact')), 2, /expects NAMESPACE\.TABLE/);
    assertFails(await runCli(wh('maintain', 'expire-snapshots', 'db.events', '--older-than', 'soon')), 2, /cli: --older-than: invalid duration "soon"/);
    assertFails(await runCli(wh('maintain', 'expire-snapshots', 'db.events', '--retain-last', '0')), 2, /--retain-last: expected an integer >= 1/);
    assertFails(await runCli(wh('maintain', 'compact', 'db.events', '--target-file-size', 'big')), 2, /--target-file-size: invalid size/);
    assertFails(await runCli(wh('maintain', 'compact', 'db.events', '--where', "nope = 1")), 2, /--where: unknown column 'nope'/);
    assertFails(await runCli(wh('maintain', 'compact', 'db.events', '--dry-run')), 2, /--dry-run does not apply to compact/);
    assertFails(await runCli(wh('maintain', 'compact', 'db.nope')), 1, /db\.nope does not exist/);
    const help = await runCli(['maintain', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /floe maintain remove-orphans/);
  });

  test('a progress bar on stderr when the output is a terminal', async () => {
    await append(200, 5);
    await append(205, 5);
    let stderr = '';
    let stdout = '';
    const io: CommandIO = {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: {},
      isTTY: true,
    };
    const code = await main(wh('maintain', 'compact', 'db.events', '--min-input-files', '2'), io);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /\r\x1b\[2Kcompact (plan|write|commit)\s+\[[#.]{24}\] \d+\/\d+/);
    assert.ok(stderr.endsWith('\r\x1b[2K'), 'the bar is cleared before the result');
    assert.match(stdout, /\(1 row\)/);
  });
});

describe('floe maintain remove-orphans: the window floor and tables that do not own their location', () => {
  let dir: string;
  let warehouse: string;
  const wh = (...argv: string[]) => [...argv, '--warehouse', warehouse];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floe-cli-orphans-'));
    warehouse = join(dir, 'wh');
    assert.equal((await runCli(wh('table', 'create', 'db.events', '--schema', 'id long'))).code, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--older-than under 24h is bad usage without --allow-short-older-than; a dry run needs no consent', async () => {
    const stray = join(warehouse, 'db', 'events', 'data', 'stray.parquet');
    mkdirSync(join(stray, '..'), { recursive: true });
    writeFileSync(stray, 'x');
    const t = Date.now() / 1000 - 2 * 3600;
    utimesSync(stray, t, t);
    assertFails(
      await runCli(wh('maintain', 'remove-orphans', 'db.events', '--older-than', '1h')),
      2,
      /cli: --older-than: 1h is below the floor of 24h: a running writer's files are unreferenced until it commits.*--allow-short-older-than/,
    );
    assertFails(await runCli(wh('maintain', 'remove-orphans', 'db.events', '--older-than', '0s')), 2, /below the floor of 24h/);
    assertFails(await runCli(wh('maintain', 'expire-snapshots', 'db.events', '--allow-short-older-than')), 2, /--allow-short-older-than does not apply to expire-snapshots/);
    assert.ok(existsSync(stray));
    const dry = await cliJson(wh('maintain', 'remove-orphans', 'db.events', '--older-than', '1h', '--dry-run'));
    assert.deepEqual(dry.map((o) => [o.location, o.deleted]), [[stray, false]]);
    const real = await cliJson(wh('maintain', 'remove-orphans', 'db.events', '--older-than', '1h', '--allow-short-older-than'));
    assert.deepEqual(real.map((o) => [o.location, o.deleted]), [[stray, true]]);
  });

  test('the attack: a table moved to the warehouse root; the sweep exits 1 naming the overlap, catalog.db stays', async () => {
    // Creation refuses the warehouse root now; a table from before the rule (or moved by a commit,
    // or created by another engine) still exists in the wild.
    assertFails(await runCli(wh('table', 'create', 'db.parent', '--schema', 'id long', '--location', warehouse)), 1, /location refused/);
    assert.equal((await runCli(wh('table', 'create', 'db.parent', '--schema', 'id long', '--location', join(dir, 'parent')))).code, 0);
    const catalog = await openCatalog({ warehouse });
    try {
      await catalog.commitTable({ namespace: ['db'], name: 'parent' }, [], [{ action: 'set-location', location: warehouse }]);
    } finally {
      await catalog.close();
    }
    const old = Date.now() / 1000 - 30 * 86_400;
    for (const f of ['catalog.db', 'catalog.db-wal']) if (existsSync(join(warehouse, f))) utimesSync(join(warehouse, f), old, old);
    const r = await runCli(wh('maintain', 'remove-orphans', 'db.parent', '--older-than', '0s', '--allow-short-older-than'));
    assertFails(r, 1, /remove-orphans: db\.parent: refused, nothing deleted: .*contains the warehouse root/, /contains the catalog database .*catalog\.db/, /overlapping tables: db\.events/);
    assert.ok(existsSync(join(warehouse, 'catalog.db')), 'catalog.db is still there');
    assert.deepEqual((await cliJson(wh('table', 'list', 'db'))).map((t) => t.table), ['events', 'parent']);
  });
});

describe('floe maintain convert-deletes', () => {
  let warehouse: string;
  const wh = (...argv: string[]) => [...argv, '--warehouse', warehouse];
  before(() => {
    warehouse = mkdtempSync(join(tmpdir(), 'floe-cli-convert-'));
  });
  after(() => rmSync(warehouse, { recursive: true, force: true }));

  test('equality deletes become position deletes; rows unchanged; nothing left to do the second time', async () => {
    const r = await runCli(wh('table', 'create', 'db.t', '--schema', 'id long not null, v string'));
    assert.equal(r.code, 0, r.stderr);
    const catalog = await openCatalog({ warehouse });
    try {
      const table = await Table.load(catalog, { namespace: ['db'], name: 't' });
      await table.upsert([0, 1, 2, 3].map((i) => ({ id: BigInt(i), v: 'a' })), { key: ['id'] });
      await table.upsert([{ id: 1n, v: 'b' }], { deletes: [{ id: 2n }] });
    } finally {
      await catalog.close();
    }
    const rows = async () => JSON.stringify(await cliJson(wh('query', 'SELECT id, v FROM db.t ORDER BY id')));
    const before = await rows();
    assert.equal(before, JSON.stringify([{ id: 0, v: 'a' }, { id: 1, v: 'b' }, { id: 3, v: 'a' }]));
    const [row] = await cliJson(wh('maintain', 'convert-deletes', 'db.t'));
    assert.equal(row!.removed_equality_delete_files, 2);
    assert.equal(row!.added_position_delete_files, 1);
    assert.equal(row!.added_deletion_vectors, 0, 'a v2 table takes position delete files');
    assert.equal(row!.positions, 2);
    assert.equal(await rows(), before);
    const kinds = (await cliJson(wh('table', 'files', 'db.t'))).map((f) => f.content).filter((c) => c !== 'data');
    assert.equal(kinds.length, 1, JSON.stringify(kinds));
    const [again] = await cliJson(wh('maintain', 'convert-deletes', 'db.t'));
    assert.equal(again!.snapshot_id, null);
    assertFails(await runCli(wh('maintain', 'convert-deletes', 'db.t', '--min-files', '0')), 2, /--min-files/);
  });

  test('on a format v3 table equality deletes become deletion vectors, one per data file', async () => {
    const r = await runCli(wh('table', 'create', 'db.v3', '--format-version', '3', '--schema', 'id long not null, v string'));
    assert.equal(r.code, 0, r.stderr);
    const catalog = await openCatalog({ warehouse });
    try {
      const table = await Table.load(catalog, { namespace: ['db'], name: 'v3' });
      await table.upsert([0, 1, 2, 3].map((i) => ({ id: BigInt(i), v: 'a' })), { key: ['id'] });
      await table.upsert([4, 5].map((i) => ({ id: BigInt(i), v: 'a' })), { key: ['id'] });
      await table.upsert([{ id: 1n, v: 'b' }, { id: 5n, v: 'b' }], { deletes: [{ id: 2n }] });
    } finally {
      await catalog.close();
    }
    const rows = async () => JSON.stringify(await cliJson(wh('query', 'SELECT id, v FROM db.v3 ORDER BY id')));
    const before = await rows();
    assert.equal(before, JSON.stringify([0, 1, 3, 4, 5].map((id) => ({ id, v: id === 1 || id === 5 ? 'b' : 'a' }))));
    const [row] = await cliJson(wh('maintain', 'convert-deletes', 'db.v3'));
    assert.equal(row!.added_position_delete_files, 0);
    // Rows 1 and 2 of the first upsert's file, row 1 of the second's: two vectors.
    assert.equal(row!.added_deletion_vectors, 2);
    assert.equal(row!.positions, 3);
    assert.equal(await rows(), before);
    // Two vectors in one Puffin file, listed one by one.
    const kinds = (await cliJson(wh('table', 'files', 'db.v3'))).map((f) => `${f.content}`).filter((c) => c !== 'data');
    assert.deepEqual(kinds, ['deletion-vector', 'deletion-vector']);
  });
});
