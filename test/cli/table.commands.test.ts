/**
 * `floe table create|describe|list|snapshots|files|drop` against a temporary warehouse: the JSON
 * output of every subcommand after rows were appended with the library, smoke checks of the table
 * and csv formats, and bad input (exit code 2, a message naming the flag or column).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openCatalog } from '../../src/catalog/open.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import type { Snapshot } from '../../src/iceberg/metadata.js';
import type { IcebergValue } from '../../src/iceberg/types.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';
import { assertFails, cliJson, runCli, type JsonRow } from './helpers.js';

const SCHEMA = 'event_id string not null, user_id long, event_time timestamptz, price decimal(9,2), tags list<string>';
const PARTITION = 'day(event_time), bucket(4, user_id)';
const DAY_US = 86_400_000_000n;
const BASE_US = 1_767_225_600_000_000n; // 2026-01-01T00:00:00Z

/** Rows `from … from+n-1`: 3 days of event_time, 5 users. */
function rows(from: number, n: number): IcebergValue[][] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return [`evt-${i}`, BigInt(i % 5), BASE_US + BigInt(i % 3) * DAY_US + BigInt(i) * 1_000_000n, BigInt(i * 125), [`t${i % 2}`]];
  });
}

describe('floe table commands', () => {
  let warehouse: string;
  /** `--warehouse <tmp>` after the given words. */
  const wh = (...argv: string[]) => [...argv, '--warehouse', warehouse];
  const snapshots: Snapshot[] = [];

  before(() => {
    warehouse = mkdtempSync(join(tmpdir(), 'floe-cli-table-'));
  });
  after(() => rmSync(warehouse, { recursive: true, force: true }));

  /** Appends rows with the library (not the CLI), the way a pipeline would. */
  async function append(from: number, n: number): Promise<Snapshot> {
    const catalog = await openCatalog({ warehouse });
    try {
      const table = await Table.load(catalog, { namespace: ['db'], name: 'events' });
      const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows(from, n)));
      const { snapshot } = await table.newAppend().appendFiles(files, specId).commit();
      snapshots.push(snapshot);
      return snapshot;
    } finally {
      await catalog.close();
    }
  }

  test('create: prints the table, its location and first metadata file', async () => {
    const out = await cliJson(wh('table', 'create', 'db.events', '--schema', SCHEMA, '--partition-by', PARTITION, '--property', 'owner=tests'));
    assert.equal(out.length, 1);
    const row = out[0]!;
    assert.equal(row.table, 'db.events');
    assert.equal(row.location, join(warehouse, 'db', 'events'));
    assert.match(row.metadata as string, /\/db\/events\/metadata\/00000-[0-9a-f-]{36}\.metadata\.json$/);
    assert.ok(existsSync(row.metadata as string), 'the metadata file exists');
    // A second table in another namespace (created on the fly), unpartitioned, format v1.
    const other = await cliJson(wh('table', 'create', 'ops.audit', '--schema', 'id long not null, note string', '--format-version', '1'));
    assert.equal(other[0]!.table, 'ops.audit');
  });

  test('describe --format json: schema with fresh ids, partition spec, properties, no snapshot yet', async () => {
    const [d] = await cliJson(wh('table', 'describe', 'db.events'));
    assert.ok(d);
    assert.equal(d.table, 'db.events');
    assert.equal(d['format-version'], 2);
    assert.match(d['table-uuid'] as string, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(d.location, join(warehouse, 'db', 'events'));
    const schema = d.schema as { fields: { id: number; name: string; required: boolean; type: unknown }[] };
    assert.deepEqual(
      schema.fields.map((f) => [f.id, f.name, f.required, f.type]),
      [
        [1, 'event_id', true, 'string'],
        [2, 'user_id', false, 'long'],
        [3, 'event_time', false, 'timestamptz'],
        [4, 'price', false, 'decimal(9, 2)'],
        [5, 'tags', false, { type: 'list', 'element-id': 6, element: 'string', 'element-required': false }],
      ],
    );
    assert.deepEqual(d['partition-spec'], [
      { 'source-id': 3, 'field-id': 1000, name: 'event_time_day', transform: 'day' },
      { 'source-id': 2, 'field-id': 1001, name: 'user_id_bucket', transform: 'bucket[4]' },
    ]);
    assert.deepEqual(d['sort-order'], []);
    assert.equal((d.properties as Record<string, string>).owner, 'tests');
    assert.equal(d['current-snapshot-id'], null);
    assert.equal(d['current-snapshot-summary'], null);

    const [audit] = await cliJson(wh('table', 'describe', 'ops.audit'));
    assert.equal(audit!['format-version'], 1);
    assert.deepEqual(audit!['partition-spec'], []);
  });

  test('list --format json: every namespace, or one', async () => {
    assert.deepEqual(await cliJson(wh('table', 'list')), [
      { namespace: 'db', table: 'events' },
      { namespace: 'ops', table: 'audit' },
    ]);
    assert.deepEqual(await cliJson(wh('table', 'list', 'ops')), [{ namespace: 'ops', table: 'audit' }]);
  });

  test('snapshots and files are empty before the first append', async () => {
    assert.deepEqual(await cliJson(wh('table', 'snapshots', 'db.events')), []);
    assert.deepEqual(await cliJson(wh('table', 'files', 'db.events')), []);
  });

  test('snapshots --format json after two library appends: ids, lineage, sequence numbers, summaries, refs', async () => {
    await append(0, 30);
    await append(30, 12);
    const [s1, s2] = snapshots;
    assert.ok(s1 && s2);
    const out = await cliJson(wh('table', 'snapshots', 'db.events'));
    assert.equal(out.length, 2);
    const [a, b] = out as [JsonRow, JsonRow];
    // Snapshot ids exceed 2^53: strings, exact.
    assert.equal(a.snapshot_id, s1['snapshot-id'].toString());
    assert.equal(b.snapshot_id, s2['snapshot-id'].toString());
    assert.equal(a.parent_id, null);
    assert.equal(b.parent_id, a.snapshot_id);
    assert.equal(a.sequence_number, '1');
    assert.equal(b.sequence_number, '2');
    assert.equal(a.timestamp, new Date(s1['timestamp-ms']).toISOString());
    assert.equal(a.operation, 'append');
    assert.equal(a.added_records, '30');
    assert.equal(b.added_records, '12');
    assert.equal(a.total_records, '30');
    assert.equal(b.total_records, '42');
    assert.equal(b.total_data_files, s2.summary['total-data-files']);
    assert.equal(a.refs, '');
    assert.equal(b.refs, 'main');
    const summary = b.summary as Record<string, string>;
    assert.equal(summary.operation, 'append');
    assert.equal(summary['added-records'], '12');
    assert.equal(summary['total-records'], '42');
  });

  test('files --format json: every live data file, its partition and counts; --snapshot-id for an older state', async () => {
    const [s1, s2] = snapshots;
    const all = await cliJson(wh('table', 'files', 'db.events'));
    assert.equal(String(all.length), s2!.summary['total-data-files']);
    assert.equal(all.reduce((n, f) => n + (f.record_count as number), 0), 42);
    for (const f of all) {
      assert.ok((f.file_path as string).startsWith(join(warehouse, 'db', 'events', 'data') + '/'), String(f.file_path));
      assert.ok(existsSync(f.file_path as string), `${String(f.file_path)} exists`);
      assert.equal(f.content, 'data');
      assert.match(f.file_format as string, /^parquet$/i);
      assert.ok((f.file_size_in_bytes as number) > 0);
      // [day ordinal, bucket]: the 3 days starting 2026-01-01 (day 20454) and buckets 0..3.
      const [day, bucket] = JSON.parse(f.partition as string) as [number, number];
      assert.ok(day >= 20454 && day <= 20456, `day ${day}`);
      assert.ok(bucket >= 0 && bucket < 4, `bucket ${bucket}`);
      assert.match(f.sequence_number as string, /^[12]$/);
    }
    const first = await cliJson(wh('table', 'files', 'db.events', '--snapshot-id', s1!['snapshot-id'].toString()));
    assert.equal(String(first.length), s1!.summary['total-data-files']);
    assert.equal(first.reduce((n, f) => n + (f.record_count as number), 0), 30);
    assert.ok(first.every((f) => f.sequence_number === '1'));
  });

  test('describe after appends shows the current snapshot; floe query reads the catalog table', async () => {
    const [d] = await cliJson(wh('table', 'describe', 'db.events'));
    assert.equal(d!['current-snapshot-id'], snapshots[1]!['snapshot-id'].toString());
    assert.equal((d!['current-snapshot-summary'] as Record<string, string>)['total-records'], '42');
    const q = await cliJson(wh('query', 'SELECT count(*) AS n, sum(price) AS total, max(event_time) AS last FROM db.events'));
    const total = (Array.from({ length: 42 }, (_, i) => i * 125).reduce((x, y) => x + y, 0) / 100).toFixed(2);
    assert.deepEqual(q, [{ n: 42, total, last: '2026-01-03T00:00:41Z' }]);
  });

  test('--format table and csv smoke checks', async () => {
    const d = await runCli(wh('table', 'describe', 'db.events'));
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^Table\s+db\.events$/m);
    assert.match(d.stdout, /^Partition spec\s+event_time_day: day\(3\) \[1000\]$/m);
    assert.match(d.stdout, /^\s+user_id_bucket: bucket\[4\]\(2\) \[1001\]$/m);
    assert.match(d.stdout, new RegExp(`^Current snapshot ${snapshots[1]!['snapshot-id']} \\(append, .*, 42 records\\)$`, 'm'));
    assert.match(d.stdout, /1: event_id: required string/);
    assert.match(d.stdout, /^Key \(identifier\) none$/m, 'no identifier fields');

    const l = await runCli(wh('table', 'list', '--format', 'table'));
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, /^namespace \| table\n-+-\+-+\ndb\s+\| events\nops\s+\| audit\n\(2 rows\)\n$/);

    const s = await runCli(wh('table', 'snapshots', 'db.events'));
    assert.equal(s.code, 0, s.stderr);
    assert.ok(!s.stdout.includes('summary'), 'the table format leaves out the summary column');
    assert.match(s.stdout, /\(2 rows\)\n$/);

    const c = await runCli(wh('table', 'files', 'db.events', '--format', 'csv'));
    assert.equal(c.code, 0, c.stderr);
    const lines = c.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'file_path,content,file_format,partition,record_count,file_size_in_bytes,sequence_number');
    // The partition column is JSON with commas: quoted, its quotes doubled.
    assert.match(lines[1]!, /^\/.*\.parquet,data,\w+,"\[\d+,\d\]",\d+,\d+,[12]$/);
  });

  test('bad input: exit code 2 and a message naming the flag or column; nothing is created', async () => {
    const cases: [string[], RegExp][] = [
      [['table', 'create', 'db.bad', '--schema', 'id lung'], /--schema: column 'id': .*unknown primitive type "lung"/],
      [['table', 'create', 'db.bad', '--schema', 'id long, m map<string, strin>'], /--schema: column 'm\.value': .*"strin"/],
      [['table', 'create', 'db.bad', '--schema', 'id decimal(50,2)'], /--schema: column 'id': .*precision/],
      [['table', 'create', 'db.bad', '--schema', 'id long, id string'], /--schema: duplicate column 'id'/],
      [['table', 'create', 'db.bad', '--schema', 'id long not nul'], /--schema: expected 'null' after 'not'/],
      [['table', 'create', 'db.bad', '--schema', '{"type": "struct", "fields": [{"id": 1, "name": "a", "required": false, "type": "lung"}]}'], /--schema: .*'a'.*"lung"/],
      [['table', 'create', 'db.bad', '--schema', '{"type": "struct"'], /--schema: invalid JSON/],
      [['table', 'create', 'db.bad'], /needs --schema/],
      [['table', 'create', 'db.bad', '--schema', 'id long', '--partition-by', 'day(nope)'], /--partition-by: unknown column 'nope'/],
      [['table', 'create', 'db.bad', '--schema', 'id long', '--partition-by', 'day(id)'], /--partition-by: .*day cannot be applied to 'id' of type long/],
      [['table', 'create', 'db.bad', '--schema', 'id long', '--partition-by', 'bucket(0, id)'], /--partition-by: .*bucket/],
      [['table', 'create', 'db.bad', '--schema', 'id long', '--partition-by', 'frob(id)'], /--partition-by: unknown transform 'frob'/],
      [['table', 'create', 'db.bad', '--schema', 'id long', '--format-version', '4'], /--format-version must be 1, 2 or 3/],
      [['table', 'create', 'db.bad', '--schema', 'id long', '--property', 'novalue'], /--property expects NAME=VALUE/],
      [['table', 'create', 'db.bad', '--schema', 'id long', '--frobnicate'], /--frobnicate/],
      [['table', 'create', 'nodot', '--schema', 'id long'], /invalid table identifier 'nodot'/],
      [['table', 'describe', 'db.events', '--format', 'xml'], /--format must be table, json or csv/],
      [['table', 'files', 'db.events', '--snapshot-id', 'latest'], /--snapshot-id must be an integer, got 'latest'/],
      [['table', 'describe'], /describe expects NAMESPACE\.TABLE/],
      [['table', 'frobnicate'], /unknown table subcommand 'frobnicate'/],
    ];
    for (const [argv, message] of cases) {
      assertFails(await runCli(wh(...argv)), 2, message);
    }
    assert.deepEqual(await cliJson(wh('table', 'list', 'db')), [{ namespace: 'db', table: 'events' }], 'no table was created');
  });

  test('failures that are not usage errors exit 1 with a clear message', async () => {
    assertFails(await runCli(wh('table', 'create', 'db.events', '--schema', 'id long')), 1, /table db\.events already exists/);
    assertFails(await runCli(wh('table', 'describe', 'db.nope')), 1, /table db\.nope does not exist/);
    assertFails(await runCli(wh('table', 'files', 'db.events', '--snapshot-id', '123')), 1, /snapshot 123 does not exist/);
  });

  test('drop --format json; drop --purge deletes the files the metadata references', async () => {
    const [d] = await cliJson(wh('table', 'describe', 'db.events'));
    const metadataLocation = d!['metadata-location'] as string;
    const files = (await cliJson(wh('table', 'files', 'db.events'))).map((f) => f.file_path as string);

    assert.deepEqual(await cliJson(wh('table', 'drop', 'ops.audit')), [{ dropped: 'ops.audit', purged: false }]);
    assert.deepEqual(await cliJson(wh('table', 'list', 'ops')), []);

    assert.deepEqual(await cliJson(wh('table', 'drop', 'db.events', '--purge')), [{ dropped: 'db.events', purged: true }]);
    assert.deepEqual(await cliJson(wh('table', 'list')), []);
    assert.ok(!existsSync(metadataLocation), 'metadata file purged');
    for (const f of files) assert.ok(!existsSync(f), `${f} purged`);
    assertFails(await runCli(wh('table', 'drop', 'db.events')), 1, /table db\.events does not exist/);
  });
});

describe('floe table create --location: a table owns its location alone', () => {
  let dir: string;
  let warehouse: string;
  const wh = (...argv: string[]) => [...argv, '--warehouse', warehouse];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floe-cli-location-'));
    warehouse = join(dir, 'wh');
    assert.equal((await runCli(wh('table', 'create', 'db.events', '--schema', 'id long'))).code, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the attack: db.parent at the warehouse root is refused (exit 1), naming the warehouse and the catalog', async () => {
    const r = await runCli(wh('table', 'create', 'db.parent', '--schema', 'id long', '--location', warehouse));
    assertFails(
      r,
      1,
      new RegExp(`catalog: table db\\.parent: location refused: ${warehouse} contains the warehouse root ${warehouse}`),
      new RegExp(`contains the catalog database ${join(warehouse, 'catalog.db')}`),
      /contains table db\.events/,
    );
    assert.deepEqual(await cliJson(wh('table', 'list', 'db')), [{ namespace: 'db', table: 'events' }]);
  });

  test('inside another table, or holding one, is refused naming that table; a directory of its own is fine', async () => {
    assertFails(await runCli(wh('table', 'create', 'db.inner', '--schema', 'id long', '--location', join(warehouse, 'db', 'events', 'x'))), 1, /lies inside table db\.events/);
    assertFails(await runCli(wh('table', 'create', 'db.outer', '--schema', 'id long', '--location', join(warehouse, 'db'))), 1, /contains table db\.events/);
    const [row] = await cliJson(wh('table', 'create', 'db.own', '--schema', 'id long', '--location', join(dir, 'own')));
    assert.equal(row!.location, join(dir, 'own'));
  });

  test('a catalog path whose directory does not exist is refused (nothing created); a warehouse under /proc fails at once', async () => {
    const missing = join(dir, 'nonexistent', 'dir', 'catalog.db');
    assertFails(await runCli(['table', 'list', '--catalog', missing]), 1, /catalog: SQLite catalog .*nonexistent\/dir\/catalog\.db: directory .* does not exist/);
    assert.ok(!existsSync(join(dir, 'nonexistent')));
    if (!existsSync('/proc/self')) return;
    // In a child process: Node 20's recursive mkdir never returns under /proc (it blocked forever).
    const { spawnCli } = await import('./spawn.js');
    const child = spawnCli(['table', 'create', 'db.t', '--schema', 'id long', '--warehouse', '/proc/floe-x']);
    const killer = setTimeout(() => child.child.kill('SIGKILL'), 30_000);
    const { code, signal } = await child.exited;
    clearTimeout(killer);
    assert.equal(signal, null, `killed after 30 s: the command hung; stderr: ${child.stderr()}`);
    assert.equal(code, 1);
    assert.match(child.stderr(), /cannot create directory \/proc\/floe-x/);
  });
});

describe('floe table describe shows the key (identifier fields) of the current schema', () => {
  let warehouse: string;
  before(() => {
    warehouse = mkdtempSync(join(tmpdir(), 'floe-cli-describe-key-'));
  });
  after(() => rmSync(warehouse, { recursive: true, force: true }));

  test('text and json: the key columns by name, in the schema’s order of identifier-field-ids', async () => {
    const catalog = await openCatalog({ warehouse });
    try {
      await catalog.createNamespace(['db']);
      await catalog.createTable(
        { namespace: ['db'], name: 'keyed' },
        {
          schema: {
            type: 'struct',
            'schema-id': 0,
            fields: [
              { id: 1, name: 'region', required: true, type: 'string' },
              { id: 2, name: 'v', required: false, type: 'string' },
              { id: 3, name: 'id', required: true, type: 'long' },
            ],
            'identifier-field-ids': [3, 1],
          },
        },
      );
    } finally {
      await catalog.close();
    }
    const [d] = await cliJson(['table', 'describe', 'db.keyed', '--warehouse', warehouse]);
    assert.deepEqual(d!['identifier-fields'], ['id', 'region']);
    const text = await runCli(['table', 'describe', 'db.keyed', '--warehouse', warehouse]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Key \(identifier\) id, region$/m);
  });
});
