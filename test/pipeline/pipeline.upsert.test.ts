/**
 * Upserts and deletes by key through a real pipeline (`table.upsert`, `transform.operation`,
 * `transform.format: debezium`): many commits of random changes end with the table equal to the
 * last state of each key of the stream (read by `floe query`'s engine), whatever the partitioning;
 * Debezium envelopes with and without the schema wrapper; tombstones skipped and counted; the
 * config checked before any work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { Pipeline, type PipelineEvent, type PipelineStats } from '../../src/pipeline/pipeline.js';
import { QueryEngine } from '../../src/query/engine.js';
import type { MemoryPartition } from '../../src/source/memory.js';
import { Table } from '../../src/table/table.js';
import { DrainingSource } from './harness.js';
import { rng } from '../helpers/rng.js';

const enc = new TextEncoder();

/** Records in one shard, each given as the object (JSON) or raw text. */
function shard(id: string, records: (object | string)[]): MemoryPartition {
  return { id, length: records.length, record: (i) => ({ data: enc.encode(typeof records[i] === 'string' ? (records[i] as string) : JSON.stringify(records[i])) }) };
}

interface Run {
  stats: PipelineStats;
  events: PipelineEvent[];
  rows: string[];
  dead: string[];
  table: Table;
}

async function run(config: Record<string, unknown>, partitions: MemoryPartition[], select = 'SELECT id, region, v FROM db.t ORDER BY id', prepare?: (catalog: SqlCatalog) => Promise<void>): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-upsert-pipe-'));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    await prepare?.(catalog);
    const source = new DrainingSource(partitions);
    const events: PipelineEvent[] = [];
    const pipeline = await Pipeline.open({
      config: validateConfig({ source: { stream: 'events' }, catalog: { warehouse: dir }, maintenance: false, ...config }),
      catalog,
      source,
      onEvent: (e) => events.push(e),
    });
    source.onDrained = () => pipeline.stop();
    const stats = await pipeline.run();
    const engine = await QueryEngine.open({ catalog });
    try {
      const rows = (await engine.query(select)).rows.map((r) => r.map((v) => (v === null ? 'null' : String(v))).join('|'));
      const hasDead = await catalog.tableExists({ namespace: ['db'], name: 't_dead_letters' });
      const dead = hasDead ? (await engine.query('SELECT error FROM db.t_dead_letters ORDER BY CAST(sequence_number AS BIGINT)')).rows.map((r) => String(r[0])) : [];
      return { stats, events, rows, dead, table: await Table.load(catalog, { namespace: ['db'], name: 't' }) };
    } finally {
      engine.close();
    }
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const COLUMNS = { id: 'long', region: 'string', v: 'string' };

/** Random upserts and deletes of 25 keys over two shards (keys split by shard: order per key is stream order). */
function randomChanges(seed: number, n: number) {
  const rnd = rng(seed);
  const state = new Map<number, string>();
  const shards: object[][] = [[], []];
  for (let i = 0; i < n; i++) {
    const id = Math.floor(rnd() * 25);
    const region = rnd() < 0.5 ? 'eu' : 'us';
    if (rnd() < 0.2) {
      shards[id % 2]!.push({ id, op: 'delete' });
      state.delete(id);
    } else {
      const v = `v${i}`;
      shards[id % 2]!.push({ id, region, v, op: rnd() < 0.5 ? 'insert' : 'update' });
      state.set(id, `${id}|${region}|${v}`);
    }
  }
  const expected = [...state.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
  return { partitions: [shard('shard-0', shards[0]!), shard('shard-1', shards[1]!)], expected };
}

for (const [label, partitionBy] of [['unpartitioned', undefined], ['partitioned by the key', 'bucket(4, id)'], ['partitioned by another column', 'region']] as const) {
  test(`upsert pipeline (${label}): many commits of random changes end in the last state of each key`, async () => {
    const { partitions, expected } = randomChanges(partitionBy === undefined ? 1 : partitionBy === 'region' ? 2 : 3, 400);
    const r = await run(
      {
        table: { name: 'db.t', upsert: { key: ['id'] }, ...(partitionBy ? { partition_by: partitionBy } : {}) },
        transform: { columns: COLUMNS, operation: { path: 'op', delete: ['delete'] } },
        commit: { interval: '1h', max_records: 9 },
      },
      partitions,
    );
    assert.deepEqual(r.rows, expected);
    assert.ok(r.stats.commits >= 20, `commits: ${r.stats.commits}`);
    assert.equal(r.stats.records, 400);
    const schema = r.table.schema();
    assert.deepEqual(schema['identifier-field-ids'], [schema.fields.find((f) => f.name === 'id')!.id]);
    assert.equal(schema.fields.find((f) => f.name === 'id')!.required, true);
    const specs = r.table.metadata['partition-specs'];
    assert.equal(specs.length, partitionBy === 'region' ? 2 : 1, 'an unpartitioned spec is added only for a partition of another column');
    const ops = new Set(r.table.metadata.snapshots!.map((s) => s.summary.operation));
    assert.ok(ops.has('overwrite'));
    // Every snapshot carries the positions.
    assert.ok(r.table.currentSnapshot()!.summary['floe.checkpoint.events.shard-0'] !== undefined);
  });
}

test('upsert pipeline: within one commit the last record of a key wins, and a delete then upsert keeps the row', async () => {
  const records = [
    { id: 1, region: 'eu', v: 'a' },
    { id: 1, region: 'eu', v: 'b' },
    { id: 2, region: 'eu', v: 'c' },
    { id: 2, op: 'd' },
    { id: 3, region: 'us', v: 'x' },
    { id: 3, op: 'd' },
    { id: 3, region: 'us', v: 'y' },
  ];
  const r = await run(
    { table: { name: 'db.t', upsert: { key: ['id'] } }, transform: { columns: COLUMNS, operation: { path: 'op', delete: ['d'] } }, commit: { interval: '1h' } },
    [shard('s', records)],
  );
  assert.deepEqual(r.rows, ['1|eu|b', '3|us|y']);
});

test('debezium: c/r/u upsert after, d deletes by before, with and without the schema wrapper; tombstones skipped and counted', async () => {
  const ev = (op: string, before: object | null, after: object | null) => ({ before, after, op, ts_ms: 1_700_000_000_000, source: { table: 't' } });
  const wrap = (payload: object) => ({ schema: { type: 'struct', optional: false }, payload });
  const records: (object | string)[] = [
    ev('r', null, { id: 1, region: 'eu', v: 'snap' }),
    wrap(ev('c', null, { id: 2, region: 'eu', v: 'new' })),
    ev('c', null, { id: 3, region: 'us', v: 'gone soon' }),
    '', // a Kafka tombstone (null value)
    wrap(ev('u', { id: 1, region: 'eu', v: 'snap' }, { id: 1, region: 'us', v: 'moved' })),
    ev('d', { id: 3 }, null),
    'null',
    wrap(ev('d', { id: 2, region: 'eu', v: 'new' }, null)),
    ev('t', null, null), // truncate: a dead letter
    wrap(ev('c', null, { id: 4, region: 'eu', v: 12.5 })),
    { id: 5, region: 'eu', v: 'no envelope' }, // no op: a dead letter
  ];
  const r = await run(
    { table: { name: 'db.t', upsert: { key: ['id'] } }, transform: { columns: COLUMNS, format: 'debezium' }, commit: { interval: '1h', max_records: 3 } },
    [shard('s', records)],
  );
  assert.deepEqual(r.rows, ['1|us|moved', '4|eu|12.5']);
  assert.equal(r.stats.tombstones, 2);
  assert.equal(r.dead.length, 2);
  assert.match(r.dead[0]!, /debezium: op "t" is not supported/);
  assert.match(r.dead[1]!, /debezium: no 'op' field/);
});

test('upsert config: checked before any work', () => {
  const base = { source: { stream: 's' }, transform: { columns: COLUMNS } };
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ ...base, table: { name: 'db.t', upsert: { key: ['id'], extra: 1 } } }, /config: table\.upsert\.extra: unknown key/],
    [{ ...base, table: { name: 'db.t', upsert: { key: [] } } }, /config: table\.upsert\.key: required/],
    [{ ...base, table: { name: 'db.t', upsert: { key: ['nope'] } } }, /config: table\.upsert\.key\[0\]: 'nope' is not a column of transform\.columns/],
    [{ ...base, table: { name: 'db.t', upsert: { key: ['id', 'id'] } } }, /listed twice/],
    [{ ...base, table: { name: 'db.t', upsert: { key: ['f'] } }, transform: { columns: { ...COLUMNS, f: 'double' } } }, /'f' is a double, which cannot be a key/],
    [{ ...base, table: { name: 'db.t' }, transform: { columns: COLUMNS, operation: { path: 'op', delete: ['d'] } } }, /transform\.operation: needs table\.upsert/],
    [{ ...base, table: { name: 'db.t' }, transform: { columns: COLUMNS, format: 'debezium' } }, /transform\.format: debezium needs table\.upsert/],
    [{ ...base, table: { name: 'db.t', upsert: { key: ['id'] } }, transform: { columns: COLUMNS, format: 'avro' } }, /transform\.format: must be json or debezium/],
    [{ ...base, table: { name: 'db.t', upsert: { key: ['id'] } }, transform: { columns: COLUMNS, operation: { path: 'op' } } }, /transform\.operation\.delete: required/],
    [{ ...base, table: { name: 'db.t', upsert: { key: ['id'] } }, transform: { columns: COLUMNS, operation: { path: 'op', delete: ['d'], when: 1 } } }, /transform\.operation\.when: unknown key/],
    [{ ...base, table: { name: 'db.t', upsert: { key: ['id'] } }, transform: { columns: COLUMNS, format: 'debezium', operation: { path: 'op', delete: ['d'] } } }, /not used with transform\.format: debezium/],
    [{ ...base, table: { name: 'db.t', upsert: { key: ['id'] } }, transform: { columns: COLUMNS, unmapped: 'add_columns' } }, /transform\.unmapped: 'add_columns' is not supported with table\.upsert/],
    [{ ...base, table: { name: 'db.t', upsert: { key: ['id'], deletes: 'positions' } }, transform: { columns: COLUMNS } }, /table\.upsert\.deletes: must be vectors or equality, got "positions"/],
  ];
  for (const [config, message] of bad) assert.throws(() => validateConfig(config), message, JSON.stringify(config));
  const ok = validateConfig({ ...base, table: { name: 'db.t', upsert: { key: ['id'] } }, transform: { columns: COLUMNS, operation: { path: 'meta.op', delete: ['d', 3] } } });
  assert.deepEqual(ok.table.upsert, { key: ['id'], deletes: 'vectors' });
  assert.deepEqual(ok.transform.operation, { path: 'meta.op', delete: ['d', 3] });
});

test('upsert: an existing table with an optional key column, or format v1, is refused at open with how to fix it', async () => {
  const config = { table: { name: 'db.t', upsert: { key: ['id'] } }, transform: { columns: COLUMNS } };
  const create = (formatVersion: 1 | 2) => async (catalog: SqlCatalog) => {
    await catalog.createNamespace(['db']);
    await catalog.createTable({ namespace: ['db'], name: 't' }, {
      formatVersion,
      schema: { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: formatVersion === 1, type: 'long' }, { id: 2, name: 'region', required: false, type: 'string' }, { id: 3, name: 'v', required: false, type: 'string' }] },
    });
  };
  await assert.rejects(run(config, [shard('s', [])], undefined, create(2)), /config: table\.upsert\.key: key column 'id' is optional in the table.*recreate the table/);
  await assert.rejects(run(config, [shard('s', [])], undefined, create(1)), /config: table\.upsert\.key: .*need an Iceberg format version 2 table; this table is v1/);
});

test('upsert with table.evolve: false: a key other than the table’s identifier fields is refused at open, naming the fix; the same key, or a table the run creates, runs', async () => {
  const config = (evolve: boolean) => ({ table: { name: 'db.t', upsert: { key: ['id'] }, evolve }, transform: { columns: COLUMNS } });
  let schemasBefore = 0;
  const create = (identifiers: number[] | undefined) => async (catalog: SqlCatalog) => {
    await catalog.createNamespace(['db']);
    await catalog.createTable({ namespace: ['db'], name: 't' }, {
      schema: {
        type: 'struct',
        'schema-id': 0,
        fields: [{ id: 1, name: 'id', required: true, type: 'long' }, { id: 2, name: 'region', required: true, type: 'string' }, { id: 3, name: 'v', required: false, type: 'string' }],
        ...(identifiers ? { 'identifier-field-ids': identifiers } : {}),
      },
    });
    schemasBefore = (await Table.load(catalog, { namespace: ['db'], name: 't' })).metadata.schemas.length;
  };
  const records = [shard('s', [{ id: 1, region: 'eu', v: 'a' }, { id: 1, region: 'eu', v: 'b' }])];
  // No identifier fields yet: the run would set them (a schema change), which evolve: false forbids.
  await assert.rejects(run(config(false), records, undefined, create(undefined)), (e: Error) => {
    assert.match(e.message, /^config: table\.evolve is false and the table db\.t's identifier fields \(its key\) are none, not table\.upsert\.key \[id\]: set table\.evolve: true/);
    assert.match(e.message, /`floe table alter` does not change identifier fields/);
    return true;
  });
  // Another key: the message offers the table's own.
  await assert.rejects(run(config(false), records, undefined, create([2])), /identifier fields \(its key\) are \[region\], not table\.upsert\.key \[id\]: .*or set table\.upsert\.key to \[region\]/);
  // The same key: runs, no schema change.
  const same = await run(config(false), records, undefined, create([1]));
  assert.deepEqual(same.rows, ['1|eu|b']);
  assert.equal(same.table.metadata.schemas.length, schemasBefore);
  // A table the run creates has the key from its creation: nothing to refuse, one schema.
  const created = await run(config(false), records);
  assert.deepEqual(created.rows, ['1|eu|b']);
  assert.equal(created.table.metadata.schemas.length, 1);
  assert.deepEqual(created.table.schema()['identifier-field-ids'], [created.table.schema().fields.find((f) => f.name === 'id')!.id]);
  // evolve: true (the default) sets them on the existing table.
  const evolved = await run(config(true), records, undefined, create(undefined));
  assert.deepEqual(evolved.table.schema()['identifier-field-ids'], [1]);
});

test('upsert: partition specs changed by another writer mid-run stop the run before a commit whose deletes would miss rows', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-upsert-specs-'));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    const records = Array.from({ length: 40 }, (_, i) => ({ id: i % 7, region: i % 2 ? 'eu' : 'us', v: `v${i}` }));
    let polls = 0;
    // After a few polls another writer adds a partition spec (not made default) to the table.
    class EvolvingSource extends DrainingSource {
      override async poll(options: Parameters<DrainingSource['poll']>[0]) {
        if (++polls === 3) {
          const other = await Table.load(catalog, { namespace: ['db'], name: 't' });
          await other.update(() => ({ requirements: [], updates: [{ action: 'add-spec', spec: { 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1001, name: 'region', transform: 'identity' }] } }] }));
        }
        return super.poll({ ...options, maxRecords: 4 });
      }
    }
    const source = new EvolvingSource([shard('s', records)]);
    const pipeline = await Pipeline.open({
      config: validateConfig({
        source: { stream: 'events' },
        catalog: { warehouse: dir },
        maintenance: false,
        table: { name: 'db.t', upsert: { key: ['id'] }, partition_by: 'bucket(4, id)' },
        transform: { columns: COLUMNS },
        commit: { interval: '1h', max_records: 4 },
      }),
      catalog,
      source,
    });
    source.onDrained = () => pipeline.stop();
    await assert.rejects(pipeline.run(), /pipeline: the partition specs of db\.t changed under this run \(equality deletes go to spec \(a new unpartitioned spec\) now, not 0\)/);
    // The commits before the change landed.
    const table = await Table.load(catalog, { namespace: ['db'], name: 't' });
    assert.ok(table.metadata.snapshots!.length >= 1);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
});
