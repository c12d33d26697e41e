/**
 * Upserts and deletes by key (`Table.upsert`, `RowDelta`, `writeEqualityDeletes`): the delete
 * files read back (only the key columns, with field ids), the manifest entries (content 2,
 * equality_ids, delete manifests), the summaries (as Iceberg Java writes them, compared with the
 * fixture `java_eq_deletes_partitioned`), the identifier fields, and the rows `floe query` sees.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import type { Catalog } from '../../src/catalog/catalog.js';
import { DuckDB, sqlString } from '../../src/duckdb/instance.js';
import { readManifestList } from '../../src/iceberg/avro/manifest-list.js';
import { readManifest } from '../../src/iceberg/avro/manifest.js';
import { parseTableMetadata } from '../../src/iceberg/table-metadata.js';
import type { ManifestFile } from '../../src/iceberg/manifest-types.js';
import type { Schema } from '../../src/iceberg/types.js';
import { fileUriToPath } from '../../src/io/location.js';
import { QueryEngine } from '../../src/query/engine.js';
import { deleteLayout, keyFieldIds } from '../../src/table/equality-deletes.js';
import { Table } from '../../src/table/table.js';
import { fixturePath, SKIP_NO_SHARED } from '../helpers/shared.js';

const SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'region', required: true, type: 'string' },
    { id: 3, name: 'v', required: false, type: 'string' },
  ],
};

const ID = { namespace: ['db'], name: 't' };

async function withTable(
  opts: { partitionBy?: 'id' | 'region'; formatVersion?: 1 | 2; schema?: Schema },
  fn: (table: Table, catalog: Catalog) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-upsert-'));
  const catalog = new SqlCatalog({ name: 'test', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'wh') });
  try {
    await catalog.createNamespace(['db']);
    const schema = opts.schema ?? SCHEMA;
    const source = schema.fields.find((f) => f.name === opts.partitionBy);
    await catalog.createTable(ID, {
      schema,
      ...(opts.formatVersion ? { formatVersion: opts.formatVersion } : {}),
      ...(source
        ? { partitionSpec: { 'spec-id': 0, fields: [{ 'source-id': source.id, 'field-id': 1000, name: opts.partitionBy === 'id' ? 'id_bucket' : 'region', transform: opts.partitionBy === 'id' ? 'bucket[4]' : 'identity' }] } }
        : {}),
    });
    await fn(await Table.load(catalog, ID), catalog);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function rows(catalog: Catalog): Promise<string[]> {
  const engine = await QueryEngine.open({ catalog });
  try {
    const r = await engine.query('SELECT id, region, v FROM db.t ORDER BY id');
    return r.rows.map((row) => row.map(String).join('|'));
  } finally {
    engine.close();
  }
}

async function manifests(table: Table): Promise<ManifestFile[]> {
  const list = table.currentSnapshot()!['manifest-list']!;
  return readManifestList(await table.io.read(list), list);
}

test('upsert: last row of a key wins, deletes remove keys, older rows are replaced (floe query)', async () => {
  await withTable({}, async (table, catalog) => {
    await table.upsert(
      [
        { id: 1n, region: 'eu', v: 'a' },
        { id: 2n, region: 'eu', v: 'b' },
        { id: 1n, region: 'eu', v: 'a2' },
        { id: 3n, region: 'us', v: 'c' },
      ],
      { key: ['id'] },
    );
    assert.deepEqual(await rows(catalog), ['1|eu|a2', '2|eu|b', '3|us|c']);
    const r = await table.upsert([{ id: 2n, region: 'us', v: 'b2' }, { id: 4n, region: 'eu', v: 'd' }], {
      deletes: [{ id: 3n }, { id: 99n }],
      summary: { 'floe.checkpoint.s.shard-0': '42' },
    });
    assert.deepEqual(await rows(catalog), ['1|eu|a2', '2|us|b2', '4|eu|d']);
    // The positions land in the same snapshot and are carried forward.
    assert.equal(r!.snapshot.summary['floe.checkpoint.s.shard-0'], '42');
    const again = await table.upsert([{ id: 5n, region: 'eu', v: 'e' }]);
    assert.equal(again!.snapshot.summary['floe.checkpoint.s.shard-0'], '42');
    assert.deepEqual(await rows(catalog), ['1|eu|a2', '2|us|b2', '4|eu|d', '5|eu|e']);
    // A delete only: operation delete; the key is gone, nothing else.
    const d = await table.upsert([], { deletes: [{ id: 1n }] });
    assert.equal(d!.snapshot.summary.operation, 'delete');
    assert.deepEqual(await rows(catalog), ['2|us|b2', '4|eu|d', '5|eu|e']);
    // A key deleted and upserted in one call keeps its row.
    await table.upsert([{ id: 1n, region: 'eu', v: 'back' }], { deletes: [{ id: 1n }] });
    assert.deepEqual(await rows(catalog), ['1|eu|back', '2|us|b2', '4|eu|d', '5|eu|e']);
    assert.equal(await table.upsert([], { deletes: [] }), undefined);
  });
});

test('upsert: snapshot summaries have the keys and values Iceberg Java writes', async () => {
  await withTable({}, async (table) => {
    const first = await table.upsert([{ id: 1n, region: 'eu', v: 'a' }, { id: 2n, region: 'eu', v: 'b' }], { key: ['id'] });
    const s1 = first!.snapshot.summary;
    assert.equal(s1.operation, 'overwrite');
    assert.equal(s1['added-data-files'], '1');
    assert.equal(s1['added-records'], '2');
    assert.equal(s1['added-delete-files'], '1');
    assert.equal(s1['added-equality-delete-files'], '1');
    assert.equal(s1['added-equality-deletes'], '2');
    assert.equal(s1['total-delete-files'], '1');
    assert.equal(s1['total-equality-deletes'], '2');
    assert.equal(s1['total-position-deletes'], '0');
    assert.equal(s1['total-data-files'], '1');
    assert.equal(s1['total-records'], '2');
    assert.equal(s1['changed-partition-count'], '1');
    const second = await table.upsert([{ id: 2n, region: 'eu', v: 'b2' }], { deletes: [{ id: 1n }] });
    const s2 = second!.snapshot.summary;
    assert.equal(s2['added-equality-deletes'], '2');
    assert.equal(s2['total-equality-deletes'], '4');
    assert.equal(s2['total-delete-files'], '2');
    assert.equal(s2['total-records'], '3');
    assert.equal(second!.snapshot['sequence-number'], 2n);
  });
});

test('upsert: the summary keys of an equality delete are those of the Java fixture', { skip: SKIP_NO_SHARED }, async () => {
  const dir = fixturePath('iceberg-tables', 'java_eq_deletes_partitioned', 'metadata');
  const md = parseTableMetadata(await readFile(join(dir, 'v6.metadata.json'), 'utf8'));
  const javaDelete = md.snapshots!.find((s) => s.summary.operation === 'delete')!.summary;
  await withTable({ partitionBy: 'region' }, async (table) => {
    await table.upsert([{ id: 1n, region: 'eu', v: 'a' }], { key: ['id', 'region'] });
    const ours = (await table.upsert([], { deletes: [{ id: 1n, region: 'eu' }] }))!.snapshot.summary;
    const keys = (s: Record<string, string>) => Object.keys(s).filter((k) => k !== 'iceberg-version' && !k.startsWith('floe.')).sort();
    assert.deepEqual(keys(ours), keys(javaDelete));
    for (const k of ['operation', 'added-equality-delete-files', 'added-delete-files', 'added-equality-deletes', 'changed-partition-count', 'total-position-deletes']) {
      assert.equal(ours[k], javaDelete[k], k);
    }
  });
});

test('upsert: delete files hold only the key columns with field ids; manifests and identifier fields', async () => {
  await withTable({}, async (table) => {
    const r = await table.upsert([{ id: 7n, region: 'eu', v: 'x' }, { id: 8n, region: 'us', v: 'y' }], { key: ['region', 'id'] });
    assert.deepEqual(table.schema()['identifier-field-ids'], [2, 1]);
    assert.deepEqual(r!.metadata.schemas.at(-1)!['identifier-field-ids'], [2, 1]);
    const list = await manifests(table);
    assert.deepEqual(list.map((m) => m.content), [0, 1]); // data manifests first, then deletes
    const del = list[1]!;
    assert.equal(del.added_files_count, 1);
    assert.equal(del.added_rows_count, 2);
    assert.equal(del.sequence_number, 1n);
    const { entries, meta } = readManifest(await table.io.read(del.manifest_path));
    assert.equal(meta.content, 'deletes');
    assert.equal(entries.length, 1);
    const f = entries[0]!.data_file;
    assert.equal(f.content, 2);
    assert.deepEqual(f.equality_ids, [2, 1]);
    assert.equal(f.record_count, 2);
    assert.match(f.file_path, /\/data\/delete-[0-9a-f-]{36}\.parquet$/);
    const db = await DuckDB.open({ threads: 1 });
    try {
      const path = sqlString(fileUriToPath(f.file_path));
      const cols = await db.all(`SELECT name, field_id FROM parquet_schema(${path}) WHERE field_id IS NOT NULL ORDER BY field_id`);
      assert.deepEqual(cols.map((c) => [c.name, Number(c.field_id)]), [['id', 1], ['region', 2]]);
      const back = await db.all(`SELECT region, id FROM read_parquet(${path}) ORDER BY id`);
      assert.deepEqual(back.map((x) => `${x.region}|${x.id}`), ['eu|7', 'us|8']);
    } finally {
      db.close();
    }
    // The same key again: no new schema (identifier fields already set).
    const schemas = table.metadata.schemas.length;
    await table.upsert([{ id: 7n, region: 'eu', v: 'x2' }], { key: ['region', 'id'] });
    assert.equal(table.metadata.schemas.length, schemas);
  });
});

test('upsert: partition of the key → partitioned deletes; of another column → an unpartitioned spec reaching every partition', async () => {
  await withTable({ partitionBy: 'id' }, async (table, catalog) => {
    await table.upsert([{ id: 1n, region: 'eu', v: 'a' }, { id: 2n, region: 'us', v: 'b' }, { id: 3n, region: 'eu', v: 'c' }], { key: ['id'] });
    assert.deepEqual(deleteLayout(table.metadata, [1]), { specId: 0, partitioned: true });
    await table.upsert([{ id: 1n, region: 'us', v: 'a2' }], { deletes: [{ id: 3n }] });
    assert.equal(table.metadata['partition-specs'].length, 1);
    for (const m of await manifests(table)) assert.equal(m.partition_spec_id, 0);
    const { entries } = readManifest(await table.io.read((await manifests(table)).find((m) => m.content === 1)!.manifest_path));
    assert.ok(entries.every((e) => e.data_file.partition.length === 1));
    assert.deepEqual(await rows(catalog), ['1|us|a2', '2|us|b']);
  });
  await withTable({ partitionBy: 'region' }, async (table, catalog) => {
    await table.upsert([{ id: 1n, region: 'eu', v: 'a' }, { id: 2n, region: 'us', v: 'b' }], { key: ['id'] });
    // The key moves to another partition: the delete must reach the old one.
    await table.upsert([{ id: 1n, region: 'us', v: 'moved' }], { deletes: [{ id: 2n }] });
    const specs = table.metadata['partition-specs'];
    assert.equal(specs.length, 2);
    assert.equal(table.metadata['default-spec-id'], 0);
    const global = specs.find((s) => s.fields.length === 0)!;
    const dels = (await manifests(table)).filter((m) => m.content === 1);
    assert.ok(dels.length === 2 && dels.every((m) => m.partition_spec_id === global['spec-id']));
    assert.deepEqual(await rows(catalog), ['1|us|moved']);
  });
});

test('upsert: refused on v1 tables, without a key, and with an optional or float key column', async () => {
  await withTable({ formatVersion: 1 }, async (table) => {
    await assert.rejects(table.upsert([{ id: 1n, region: 'eu' }], { key: ['id'] }), /need an Iceberg format version 2 table; this table is v1/);
  });
  await withTable({}, async (table) => {
    await assert.rejects(table.upsert([{ id: 1n, region: 'eu' }]), /the table has no identifier fields/);
    await assert.rejects(table.upsert([{ id: 1n, region: 'eu' }], { key: ['v'] }), /key column 'v' is optional in the table.*requireColumn\("v"\)/);
    await assert.rejects(table.upsert([{ id: 1n, region: 'eu' }], { key: ['nope'] }), /'nope' is not a top-level column/);
    assert.equal(table.currentSnapshot(), undefined);
  });
  const schema: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'f', required: true, type: 'double' }] };
  await withTable({ schema }, async (table) => {
    assert.throws(() => keyFieldIds(table.metadata, ['f'], 'config: table.upsert.key'), /must not be float or double/);
  });
});
