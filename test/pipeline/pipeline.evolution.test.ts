/**
 * Tables that change under `floe run` (issue #17 parts 2 and 3), through real pipelines on one SQL
 * catalog, read back by `floe query`'s engine at the current snapshot and at the snapshot before
 * each change (time travel):
 * - config evolution at start: a column added, a type widened, partition evolution, properties;
 *   `table.evolve: false` and an incompatible type refused before any work, naming the command;
 * - `transform.unmapped`: `dead_letter` names the field; `add_columns` adds columns in the same
 *   commit as their rows (one metadata change per snapshot), widens long → double before the
 *   commit, adds fields inside struct columns, dead-letters a value that cannot fit its column;
 *   a flood of 10,000 distinct keys adds at most `max_new_columns` per commit.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { currentSchema, defaultSpec } from '../../src/iceberg/metadata-lookup.js';
import { schemaToString } from '../../src/iceberg/schema-display.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { Pipeline, type PipelineEvent } from '../../src/pipeline/pipeline.js';
import { QueryEngine } from '../../src/query/engine.js';
import { Table } from '../../src/table/table.js';
import { DrainingSource, stringRows } from './harness.js';

const enc = new TextEncoder();
const ID = { namespace: ['db'], name: 'events' };

/** One run of `records` (one shard, continuing at `from`) with this config; the run's events. */
async function run(
  catalog: SqlCatalog,
  dir: string,
  config: Record<string, unknown>,
  records: unknown[],
  opts: { from?: number; readPath?: 'off' | 'js' | 'native' } = {},
): Promise<PipelineEvent[]> {
  const from = opts.from ?? 0;
  const all = [...Array(from).fill({}), ...records];
  const source = new DrainingSource([
    { id: 'shardId-000000000000', length: all.length, record: (i) => ({ data: enc.encode(typeof all[i] === 'string' ? (all[i] as string) : JSON.stringify(all[i])), partitionKey: 'k', arrivalTimeMs: 1_767_885_400_000 + i }) },
  ]);
  const events: PipelineEvent[] = [];
  const pipeline = await Pipeline.open({
    config: validateConfig({ source: { stream: 'events' }, catalog: { warehouse: dir }, commit: { interval: '1h' }, maintenance: false, ...config }),
    catalog,
    source,
    ...(opts.readPath === 'off' ? { jsonFastPath: false } : opts.readPath === 'js' ? { nativeScanner: false } : {}),
    onEvent: (e) => events.push(e),
  });
  source.onDrained = () => pipeline.stop();
  await pipeline.run();
  return events;
}

async function query(catalog: SqlCatalog, sql: string, snapshotId?: bigint): Promise<(string | null)[][]> {
  const engine = await QueryEngine.open({ catalog, ...(snapshotId !== undefined ? { snapshotId } : {}) });
  try {
    return stringRows((await engine.query(sql)).rows);
  } finally {
    engine.close();
  }
}

async function withCatalog(prefix: string, fn: (catalog: SqlCatalog, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    await fn(catalog, dir);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const BASE_COLUMNS = [
  { name: 'id', type: 'string', required: true },
  { name: 'n', type: 'int' },
];

test('floe run on an existing table: added column, widened type, partition spec, properties; time travel reads the old shape', { timeout: 120_000 }, async () => {
  await withCatalog('floe-evolve-', async (catalog, dir) => {
    await run(catalog, dir, { table: { name: 'db.events' }, transform: { columns: BASE_COLUMNS } }, [{ id: 'a', n: 1 }, { id: 'b', n: 2 }]);
    const before = (await Table.load(catalog, ID)).metadata;
    const beforeSnapshot = before['current-snapshot-id']!;

    const config = {
      table: { name: 'db.events', partition_by: 'bucket(4, id)', properties: { 'commit.retry.num-retries': '7', owner: 'team-a' } },
      transform: { columns: [...BASE_COLUMNS.slice(0, 1), { name: 'n', type: 'long' }, { name: 'country', type: 'string' }] },
    };
    // table.evolve: false refuses, naming each command; nothing is committed.
    await assert.rejects(run(catalog, dir, { ...config, table: { ...config.table, evolve: false } }, [], { from: 2 }), (e: Error) => {
      assert.match(e.message, /^config: table\.evolve is false and the table db\.events differs from the config: /);
      assert.match(e.message, /`floe table alter db\.events add-column country string`/);
      assert.match(e.message, /`floe table alter db\.events widen n long`/);
      assert.match(e.message, /`floe table alter db\.events set-partition-spec 'bucket\(4, id\)'`/);
      assert.match(e.message, /`floe table alter db\.events set-property owner=team-a`/);
      return true;
    });
    assert.equal((await Table.load(catalog, ID)).metadata['current-schema-id'], before['current-schema-id'], 'refused: nothing committed');

    // A type the column cannot become: refused before any work, naming the column, both types and the commands.
    await assert.rejects(
      run(catalog, dir, { ...config, transform: { columns: [...BASE_COLUMNS.slice(0, 1), { name: 'n', type: 'string' }] } }, [], { from: 2 }),
      /^ValidationError: config: transform\.columns\[1\] \(n\): type string does not match the table's int, and a column of type int cannot become string .*`floe table alter db\.events rename-column n n_int`, then `floe table alter db\.events add-column n string`/,
    );

    const events = await run(catalog, dir, config, [{ id: 'c', n: 2 ** 40, country: 'FR' }], { from: 2 });
    const evolved = events.find((e) => e.type === 'evolved');
    assert.ok(evolved && evolved.type === 'evolved');
    assert.deepEqual(evolved.changes, [
      'widened column n int → long',
      'added column country string (optional)',
      'partition spec unpartitioned → bucket(4, id)',
      'property commit.retry.num-retries=7',
      'property owner=team-a',
    ]);
    const md = (await Table.load(catalog, ID)).metadata;
    const schema = currentSchema(md);
    assert.deepEqual(schema.fields.map((f) => [f.id, f.name, f.type, f.required]), [[1, 'id', 'string', true], [2, 'n', 'long', false], [3, 'country', 'string', false]]);
    assert.equal(md['last-column-id'], 3);
    assert.equal(defaultSpec(md).fields.length, 1);
    assert.equal(defaultSpec(md).fields[0]!.transform, 'bucket[4]');
    assert.equal(md.properties.owner, 'team-a');

    assert.deepEqual(await query(catalog, 'SELECT id, n, country FROM db.events ORDER BY id'), [['a', '1', null], ['b', '2', null], ['c', String(2 ** 40), 'FR']]);
    // Before the change: the old schema (no country; n an int).
    assert.deepEqual(await query(catalog, 'SELECT * FROM db.events ORDER BY id', beforeSnapshot), [['a', '1'], ['b', '2']]);

    // The same config again: nothing to change, no event.
    const again = await run(catalog, dir, config, [{ id: 'd', n: 4, country: 'DE' }], { from: 3 });
    assert.equal(again.filter((e) => e.type === 'evolved').length, 0);
  });
});

test('transform.unmapped: dead_letter names the field (top level, in a path object); ignore keeps the row', { timeout: 60_000 }, async () => {
  for (const readPath of ['off', 'js', 'native'] as const) {
    await withCatalog('floe-unmapped-dl-', async (catalog, dir) => {
      const columns = [{ name: 'id', type: 'string', required: true }, { name: 'user_id', type: 'string', path: 'user.id' }];
      const records = [
        { id: 'ok', user: { id: 'u1' } },
        { id: 'top', user: { id: 'u2' }, country: 'FR' },
        { id: 'nested', user: { id: 'u3', name: 'x' } },
        { id: 'ok2', user: null },
      ];
      const events = await run(catalog, dir, { table: { name: 'db.events' }, transform: { columns, unmapped: 'dead_letter' } }, records, { readPath });
      const started = events.find((e) => e.type === 'started');
      assert.equal(started?.type === 'started' && started.jsonFastPath, { off: 'off', js: 'javascript', native: 'native, staged' }[readPath]);
      assert.deepEqual(await query(catalog, 'SELECT id, user_id FROM db.events ORDER BY id'), [['ok', 'u1'], ['ok2', null]], readPath);
      const dl = await query(catalog, 'SELECT error FROM db.events_dead_letters ORDER BY sequence_number');
      assert.deepEqual(dl, [
        ["transform: unmapped field 'country': no column maps it (transform.unmapped is dead_letter)"],
        ["transform: unmapped field 'user.name': no column maps it (transform.unmapped is dead_letter)"],
      ], readPath);
    });
  }
});

test('transform.unmapped: add_columns adds columns with the rows, in one commit; widens before the commit; struct fields; misfits are dead letters', { timeout: 120_000 }, async () => {
  await withCatalog('floe-unmapped-add-', async (catalog, dir) => {
    const config = { table: { name: 'db.events' }, transform: { columns: [{ name: 'id', type: 'string', required: true }], unmapped: 'add_columns' } };
    await run(catalog, dir, config, [{ id: 'a' }, { id: 'b' }]);
    const first = (await Table.load(catalog, ID)).metadata;
    const firstSnapshot = first['current-snapshot-id']!;

    const events = await run(
      catalog,
      dir,
      config,
      [
        { id: 'c', score: 1, tags: ['x'], geo: { lat: 1, city: 'Paris' }, ok: true },
        { id: 'd', score: 2.5, extra: null },
        { id: 'e', score: 3, geo: { lat: 2.25, city: 'Lyon' } },
      ],
      { from: 2 },
    );
    const evolved = events.filter((e) => e.type === 'evolved');
    assert.equal(evolved.length, 1);
    assert.deepEqual(evolved[0]!.type === 'evolved' && evolved[0]!.changes, [
      'added column score long (optional)',
      'added column tags list<string> (optional)',
      'added column geo struct<lat: optional long, city: optional string> (optional)',
      'added column ok boolean (optional)',
      'widened column score long → double',
      'widened column geo.lat long → double',
    ]);
    assert.ok(evolved[0]!.type === 'evolved' && evolved[0]!.snapshotId !== undefined, 'reported with the commit that carries it');
    const md = (await Table.load(catalog, ID)).metadata;
    const schema = currentSchema(md);
    assert.equal(
      schemaToString(schema).replace(/\s+/g, ' ').trim(),
      schemaToString({
        type: 'struct',
        fields: [
          { id: 1, name: 'id', required: true, type: 'string' },
          { id: 2, name: 'score', required: false, type: 'double' },
          { id: 3, name: 'tags', required: false, type: { type: 'list', 'element-id': 4, element: 'string', 'element-required': false } },
          { id: 5, name: 'geo', required: false, type: { type: 'struct', fields: [{ id: 6, name: 'lat', required: false, type: 'double' }, { id: 7, name: 'city', required: false, type: 'string' }] } },
          { id: 8, name: 'ok', required: false, type: 'boolean' },
        ],
      }).replace(/\s+/g, ' ').trim(),
    );
    // Same commit: the snapshot that added the rows is the one that made the schema current.
    const snap = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id'])!;
    assert.equal(snap['schema-id'], md['current-schema-id']);
    assert.equal(md['metadata-log'].length, first['metadata-log'].length + 1, 'one metadata change: schema and rows together');
    assert.deepEqual(await query(catalog, 'SELECT id, score, ok, geo.city, geo.lat, tags[1] FROM db.events ORDER BY id'), [
      ['a', null, null, null, null, null],
      ['b', null, null, null, null, null],
      ['c', '1', 'true', 'Paris', '1', 'x'],
      ['d', '2.5', null, null, null, null],
      ['e', '3', null, 'Lyon', '2.25', null],
    ]);
    assert.deepEqual(await query(catalog, 'SELECT * FROM db.events ORDER BY id', firstSnapshot), [['a'], ['b']], 'time travel: the old schema');

    // Next run: a new field inside the struct column; a value that cannot fit a committed column.
    const later = await run(
      catalog,
      dir,
      config,
      [
        { id: 'f', geo: { lat: 3, city: 'Nice', zip: '06000' } },
        { id: 'g', ok: 'maybe' },
        { id: 'h', score: 'high' },
      ],
      { from: 5 },
    );
    assert.ok(later.some((e) => e.type === 'evolved' && e.changes.includes('added column geo.zip string (optional)')));
    assert.deepEqual(await query(catalog, 'SELECT id, geo.zip FROM db.events WHERE id IN (\'c\', \'f\') ORDER BY id'), [['c', null], ['f', '06000']]);
    const dl = await query(catalog, 'SELECT error FROM db.events_dead_letters ORDER BY sequence_number');
    assert.deepEqual(dl, [
      [`transform: column 'ok' (from 'ok'): cannot cast "maybe" to boolean`],
      [`transform: column 'score' (from 'score'): cannot cast "high" to double`],
    ]);
  });
});

test('transform.unmapped: add_columns: a flood of 10,000 distinct keys adds at most max_new_columns per commit and max_columns in all', { timeout: 120_000 }, async () => {
  await withCatalog('floe-unmapped-flood-', async (catalog, dir) => {
    const config = {
      table: { name: 'db.events' },
      transform: { columns: [{ name: 'id', type: 'string', required: true }], unmapped: 'add_columns', max_new_columns: 50, max_columns: 120 },
      commit: { interval: '1h', max_bytes: 20_000 }, // about 900 records a commit (dead letters count in bytes, not in rows)
    };
    const records = Array.from({ length: 10_000 }, (_, i) => `{"id":"r${i}","key_${i}":${i}}`);
    const events = await run(catalog, dir, config, records);
    const md = (await Table.load(catalog, ID)).metadata;
    assert.equal(currentSchema(md).fields.length, 120, 'id and 119 new columns: max_columns');
    const evolved = events.filter((e) => e.type === 'evolved');
    assert.deepEqual(evolved.map((e) => e.type === 'evolved' && e.changes.length), [50, 50, 19], 'at most 50 per commit');
    const commits = events.filter((e) => e.type === 'commit');
    assert.ok(commits.length >= 10, `${commits.length} commits`);
    assert.ok(commits.every((c) => c.type === 'commit' && c.files <= 1), 'the rows read under many schemas of a commit in one file');
    assert.equal(md.schemas.length, 4, 'one schema per commit that added columns, not one per column');
    assert.deepEqual(await query(catalog, 'SELECT count(*) FROM db.events'), [['119']]);
    const dl = await query(catalog, `SELECT count(*) FROM db.events_dead_letters`);
    assert.equal(dl[0]![0], '9881');
    const reasons = await query(catalog, `SELECT DISTINCT regexp_replace(error, 'key_[0-9]+', 'key_N') FROM db.events_dead_letters ORDER BY 1`);
    assert.deepEqual(reasons, [
      ["transform: unmapped field 'key_N': adding 1 column would exceed transform.max_columns (120; the table has 120)"],
      ["transform: unmapped field 'key_N': adding 1 column would exceed transform.max_new_columns (50 per commit; 50 added to this one)"],
    ]);
  });
});

test('transform.unmapped: add_columns: a crash at each commit point (files written, before the catalog commit, after it) loses, duplicates and re-adds nothing', { timeout: 120_000 }, async () => {
  const records = Array.from({ length: 240 }, (_, i) => (i % 10 === 3 ? { id: `r${i}`, [`key_${i % 7}`]: i } : { id: `r${i}` }));
  for (const point of ['afterWrite', 'beforeCommit', 'afterCommit'] as const) {
    await withCatalog('floe-unmapped-crash-', async (catalog, dir) => {
      const config = validateConfig({
        source: { stream: 'events' },
        catalog: { warehouse: dir },
        table: { name: 'db.events' },
        transform: { columns: [{ name: 'id', type: 'string', required: true }], unmapped: 'add_columns' },
        commit: { interval: '1h', max_records: 40 },
        maintenance: false,
      });
      const partitions = [{ id: 'shardId-000000000000', length: records.length, record: (i: number) => ({ data: enc.encode(JSON.stringify(records[i])), partitionKey: 'k', arrivalTimeMs: 1_767_885_400_000 + i }) }];
      // Crash at the second commit's point (its unit adds key_1, key_4, key_0), then run again to the end.
      let commits = 0;
      for (const crash of [true, false]) {
        const source = new DrainingSource(partitions);
        const pipeline = await Pipeline.open({
          config,
          catalog,
          source,
          crashPoint: (p) => {
            if (p === 'afterWrite') commits++;
            if (crash && p === point && commits === 2) throw new Error(`test: crash at ${p}`);
          },
        });
        source.onDrained = () => pipeline.stop();
        if (crash) await assert.rejects(pipeline.run(), /test: crash at/);
        else await pipeline.run();
      }
      const md = (await Table.load(catalog, ID)).metadata;
      assert.deepEqual(currentSchema(md).fields.map((f) => `${f.name} ${String(f.type)}`).sort(), ['id string', ...Array.from({ length: 7 }, (_, k) => `key_${k} long`)].sort(), point);
      assert.deepEqual(await query(catalog, 'SELECT count(*), count(DISTINCT id) FROM db.events'), [['240', '240']], point);
      const withKey = await query(catalog, `SELECT id, ${Array.from({ length: 7 }, (_, k) => `key_${k}`).join(', ')} FROM db.events WHERE ${Array.from({ length: 7 }, (_, k) => `key_${k} IS NOT NULL`).join(' OR ')} ORDER BY id`);
      const expected = records.filter((r) => Object.keys(r).length > 1).map((r) => [r.id as string, ...Array.from({ length: 7 }, (_, k) => (r[`key_${k}`] === undefined ? null : String(r[`key_${k}`])))]);
      assert.deepEqual(withKey, expected.sort((a, b) => (a[0]! < b[0]! ? -1 : 1)), point);
    });
  }
});

test('transform.unmapped: add_columns: names that cannot be column names are dead letters, never columns every write would fail on', { timeout: 60_000 }, async () => {
  await withCatalog('floe-unmapped-names-', async (catalog, dir) => {
    const config = { table: { name: 'db.events' }, transform: { columns: [{ name: 'id', type: 'string', required: true }], unmapped: 'add_columns' } };
    const records = [
      '{"id":"a","with space":1,"ünï":"u"}',
      '{"id":"b","Id":1}',
      '{"id":"c","x\\u0000y":1}',
      `{"id":"d","${'n'.repeat(256)}":1}`,
      '{"id":"e","\\ud800":1}',
      '{"id":"f","s":{"k":1,"K":2}}',
      '{"id":"g","s2":[{"k":1},{"K":2}]}',
      '{"id":"h","l":[1,"x"]}',
    ];
    await run(catalog, dir, config, records);
    assert.deepEqual(currentSchema((await Table.load(catalog, ID)).metadata).fields.map((f) => f.name), ['id', 'with space', 'ünï']);
    assert.deepEqual(await query(catalog, 'SELECT id, "with space", "ünï" FROM db.events'), [['a', '1', 'u']]);
    assert.deepEqual(await query(catalog, 'SELECT error FROM db.events_dead_letters ORDER BY sequence_number'), [
      ["transform: unmapped field 'Id': a name that differs only in case from the column 'id' (DuckDB, which writes the files, cannot hold both) cannot be a column name"],
      ["transform: unmapped field 'x\\u0000y': a name with a control character cannot be a column name"],
      [`transform: unmapped field '${'n'.repeat(100)}…': a name longer than 255 characters cannot be a column name`],
      ["transform: unmapped field '\ud800': a name with a lone surrogate cannot be a column name".replace('\ud800', '\ufffd')],
      ["transform: unmapped field 's.k': a name that differs only in case from the column 'K' (DuckDB, which writes the files, cannot hold both) cannot be a column name"],
      ["transform: unmapped field 's2.K': a name that differs only in case from the column 'k' (DuckDB, which writes the files, cannot hold both) cannot be a column name"],
      ["transform: unmapped field 'l': values of different types (long and string), no column is added for it"],
    ]);
  });
});

test('transform.unmapped: add_columns on a partitioned table: one file per partition per commit, values in place', { timeout: 60_000 }, async () => {
  await withCatalog('floe-unmapped-part-', async (catalog, dir) => {
    const config = { table: { name: 'db.events', partition_by: 'region' }, transform: { columns: [{ name: 'id', type: 'string', required: true }, { name: 'region', type: 'string' }], unmapped: 'add_columns' } };
    const records = Array.from({ length: 60 }, (_, i) => ({ id: `r${i}`, region: ['eu', 'us', 'ap'][i % 3], ...(i % 9 === 4 ? { [`f${i % 4}`]: i } : {}) }));
    const events = await run(catalog, dir, config, records);
    const commits = events.filter((e) => e.type === 'commit');
    assert.deepEqual(commits.map((c) => c.type === 'commit' && c.files), [3]);
    const cols = [...new Set(records.flatMap((r) => Object.keys(r)).filter((k) => k.startsWith('f')))].sort();
    const rows = await query(catalog, `SELECT id, region, ${cols.join(', ')} FROM db.events ORDER BY id`);
    const expected = records
      .map((r) => [r.id, r.region!, ...cols.map((c) => ((r as Record<string, unknown>)[c] === undefined ? null : String((r as Record<string, unknown>)[c])))])
      .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
    assert.deepEqual(rows, expected);
  });
});

test('transform.unmapped: add_columns: a schema change by another writer meanwhile stops the run without committing; the next start adds the columns after it', { timeout: 60_000 }, async () => {
  await withCatalog('floe-unmapped-race-', async (catalog, dir) => {
    const config = validateConfig({
      source: { stream: 'events' },
      catalog: { warehouse: dir },
      table: { name: 'db.events' },
      transform: { columns: [{ name: 'id', type: 'string', required: true }], unmapped: 'add_columns' },
      commit: { interval: '1h' },
      maintenance: false,
    });
    const records = [{ id: 'a' }, { id: 'b', score: 1 }];
    const partitions = [{ id: 'shardId-000000000000', length: 2, record: (i: number) => ({ data: enc.encode(JSON.stringify(records[i])), partitionKey: 'k', arrivalTimeMs: 0 }) }];
    for (const race of [true, false]) {
      const source = new DrainingSource(partitions);
      let raced = false;
      // The catalog as the pipeline sees it: its commit that adds columns is preceded by another
      // writer's `floe table alter db.events add-column note string`, landed just before.
      const racing = new Proxy(catalog, {
        get(target, prop, receiver) {
          if (prop !== 'commitTable') return Reflect.get(target, prop, receiver) as unknown;
          return async (...args: Parameters<SqlCatalog['commitTable']>) => {
            if (race && !raced && args[2].some((u) => u.action === 'add-schema')) {
              raced = true;
              const t = await Table.load(catalog, ID);
              await t.updateSchema((s, md) => ({ ...s, fields: [...s.fields, { id: md['last-column-id'] + 1, name: 'note', required: false, type: 'string' }] }));
            }
            return target.commitTable(...args);
          };
        },
      });
      const pipeline = await Pipeline.open({ config, catalog: racing, source });
      source.onDrained = () => pipeline.stop();
      if (race) {
        await assert.rejects(pipeline.run(), /^FencedError: pipeline: the schema of db\.events changed under this run \(schema 0 → 1, last column id 1 → 2\) while it was adding columns for new fields; stopping without committing/);
        assert.ok(raced);
      } else await pipeline.run();
    }
    const md = (await Table.load(catalog, ID)).metadata;
    assert.deepEqual(currentSchema(md).fields.map((f) => [f.id, f.name]), [[1, 'id'], [2, 'note'], [3, 'score']], 'ids after the other writer\'s column, none reused');
    assert.deepEqual(await query(catalog, 'SELECT id, score, note FROM db.events ORDER BY id'), [['a', null, null], ['b', '1', null]]);
  });
});
