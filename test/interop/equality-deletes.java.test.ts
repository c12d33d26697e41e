/**
 * Equality deletes across engines (issue #18, interop):
 * - floe compacts a copy of the table Iceberg Java wrote with partition-scoped equality deletes
 *   (`../shared/fixtures/iceberg-tables/java_eq_deletes_partitioned`) into the fixture's expected
 *   rows, drops its delete files, and the older snapshots still read as Java wrote them;
 * - the equality delete files and snapshot summaries floe's upserts write have Java's layout:
 *   the same scenario (4 rows in 4 identity partitions, then a delete by the partition column)
 *   gives the same summary keys and counts, the same manifest entry fields (`sort_order_id` 0
 *   included) and metrics keys, and a Parquet file of the key column only, with its field id and
 *   Java's footer keys `delete-type` and `delete-field-ids` (ids joined by ", ");
 * - icebird (an independent JavaScript reader, which applies equality deletes by sequence number)
 *   sees the same rows as `floe query` on tables floe's upserts wrote, partitioned by the key and
 *   unpartitioned. icebird 0.3.1 ignores a delete file's partition (it applies every equality
 *   delete to every older data file), which gives the same rows only when no key is in two
 *   partitions: true for floe's layouts (partitioned deletes only when the key determines the
 *   partition; otherwise one unpartitioned spec, which applies everywhere anyway). Then, with the
 *   equality deletes converted to position deletes (`maintenance.convert_deletes`), icebird and
 *   `floe query` still read the same rows.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { icebergRead } from 'icebird';
import type { Catalog, TableIdentifier } from '../../src/catalog/catalog.js';
import { openCatalog } from '../../src/catalog/open.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { sharedDuckDB } from '../../src/duckdb/instance.js';
import { readManifest } from '../../src/iceberg/avro/manifest.js';
import { readManifestList } from '../../src/iceberg/avro/manifest-list.js';
import { FileContent, type DataFile, type ManifestFile } from '../../src/iceberg/manifest-types.js';
import type { PartitionSpec, TableMetadata } from '../../src/iceberg/metadata.js';
import type { Schema } from '../../src/iceberg/types.js';
import type { FileIO } from '../../src/io/file-io.js';
import { LocalFileIO } from '../../src/io/local.js';
import { RemapFileIO } from '../../src/io/remap.js';
import { compactTable } from '../../src/maintenance/compact.js';
import { convertEqualityDeletes } from '../../src/maintenance/convert-deletes.js';
import { QueryEngine } from '../../src/query/engine.js';
import { Table } from '../../src/table/table.js';
import { cliJson } from '../cli/helpers.js';
import { SKIP_NO_SHARED } from '../helpers/shared.js';
import { openFixture } from '../query/fixture-tables.js';
import { serve, withWarehouseFetch, type Served } from './warehouse-server.js';

const FIXTURE = 'java_eq_deletes_partitioned';

async function liveEntries(io: FileIO, md: TableMetadata): Promise<{ manifest: ManifestFile; file: DataFile }[]> {
  const id = md['current-snapshot-id'];
  const snap = md.snapshots.find((s) => s['snapshot-id'] === id)!;
  const out: { manifest: ManifestFile; file: DataFile }[] = [];
  for (const manifest of readManifestList(await io.read(snap['manifest-list']!))) {
    for (const e of readManifest(await io.read(manifest.manifest_path)).entries) if (e.status !== 2) out.push({ manifest, file: e.data_file });
  }
  return out;
}

async function parquetColumns(io: FileIO, path: string): Promise<[string, string, number][]> {
  const db = await sharedDuckDB();
  const rows = await db.all(`SELECT name, type, field_id FROM parquet_schema('${await io.localPath(path)}') WHERE type IS NOT NULL`);
  return rows.map((r) => [String(r.name), String(r.type), Number(r.field_id)]);
}

/** The Parquet footer's key-value metadata of a file (`iceberg.schema` left out: it names the table's columns). */
async function parquetKv(io: FileIO, path: string): Promise<Record<string, string>> {
  const db = await sharedDuckDB();
  const rows = await db.all(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${await io.localPath(path)}')`);
  return Object.fromEntries(rows.map((r) => [String(r.k), String(r.v)]).filter(([k]) => k !== 'iceberg.schema'));
}

describe('Iceberg Java’s equality deletes (fixture java_eq_deletes_partitioned)', { skip: SKIP_NO_SHARED }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'floe-eqdel-java-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The fixture copied into `dir/<name>`, registered in a catalog of its own, and its rows (at a snapshot). */
  async function registeredCopy(name: string) {
    const fx = openFixture(FIXTURE);
    const copy = join(dir, name);
    cpSync(fx.root, copy, { recursive: true });
    const io = new RemapFileIO([{ from: fx.entry.pathPrefix, to: `${copy}/` }], new LocalFileIO());
    const catalog = new SqlCatalog({ name: 'java', uri: join(dir, `catalog-${name}.db`), warehouse: join(dir, `wh-${name}`), io });
    try {
      await catalog.createNamespace(['mydb']);
      const id: TableIdentifier = { namespace: ['mydb'], name: 'mytable_partitioned' };
      await catalog.registerTable(id, `${fx.entry.pathPrefix}${fx.entry.metadata}`);
      const table = await Table.load(catalog, id);
      const rows = async (snapshotId?: bigint) => {
        const engine = await QueryEngine.open({ catalog, threads: 1, ...(snapshotId !== undefined ? { snapshotId } : {}) });
        try {
          const r = await engine.query('SELECT id, name, CAST(bir AS VARCHAR) FROM mydb.mytable_partitioned ORDER BY id');
          return r.rows.map((x) => x.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
        } finally {
          engine.close();
        }
      };
      return { fx, catalog, table, rows };
    } catch (e) {
      await catalog.close();
      throw e;
    }
  }

  /** The table's rows after Java's deletes (INDEX.md). */
  const expected = [
    [1, 'a', '2025-01-01'],
    [4, 'd', '2025-01-04'],
    [5, 'e', '2025-01-05'],
  ];

  test('floe compacts a copy into the expected rows and drops the delete files; old snapshots read as before', async () => {
    const { fx, catalog, table, rows } = await registeredCopy('copy');
    try {
      assert.deepEqual(await rows(), expected, 'before compaction');

      const r = await compactTable(table, { minInputFiles: 5 });
      // Partitions b, c and f hold a delete file each; a, d and e are one small file each.
      assert.equal(r.partitions, 3);
      assert.equal(r.rewrittenDataFiles, 3);
      assert.equal(r.removedDeleteFiles, 3);
      assert.equal(r.records, 0, 'every row of b, c and f was deleted: nothing to write');
      assert.deepEqual(await rows(), expected, 'after compaction');
      await table.refresh();
      const snap = table.currentSnapshot()!;
      assert.equal(snap.summary.operation, 'replace');
      assert.equal(snap.summary['total-delete-files'], '0');
      assert.equal(snap.summary['total-equality-deletes'], '0');
      assert.equal(snap.summary['total-data-files'], '3');
      assert.equal(snap.summary['total-records'], '3');
      const entries = await liveEntries(table.io, table.metadata);
      assert.ok(entries.every((e) => e.file.content === FileContent.DATA));
      // Java's snapshots are untouched: each still reads its count (INDEX.md: 4, 3, 2, 4, 3).
      const counts = fx.entry.expected.snapshotCounts!;
      for (const [sid, n] of Object.entries(counts)) assert.equal((await rows(BigInt(sid))).length, n, `snapshot ${sid}`);
    } finally {
      await catalog.close();
    }
  });

  test('floe converts a copy’s equality deletes to position deletes: the expected rows, old snapshots as Java wrote them', async () => {
    const { fx, catalog, table, rows } = await registeredCopy('copy-convert');
    try {
      const r = await convertEqualityDeletes(table);
      // Partitions b, c and f: each row deleted by Java's partition-scoped equality deletes.
      assert.equal(r.removedEqualityDeleteFiles, 3);
      assert.equal(r.addedPositionDeleteFiles, 3);
      assert.equal(r.positions, 3);
      assert.deepEqual(await rows(), expected, 'after conversion');
      await table.refresh();
      const snap = table.currentSnapshot()!;
      assert.equal(snap.summary.operation, 'replace');
      assert.equal(snap.summary['total-equality-deletes'], '0');
      assert.equal(snap.summary['total-position-deletes'], '3');
      const entries = await liveEntries(table.io, table.metadata);
      const deletes = entries.filter((e) => e.file.content !== FileContent.DATA);
      assert.ok(deletes.length === 3 && deletes.every((e) => e.file.content === FileContent.POSITION_DELETES));
      // Each in its data file's (Java's) spec and partition.
      const data = entries.filter((e) => e.file.content === FileContent.DATA);
      for (const d of deletes) {
        assert.ok(data.some((x) => x.manifest.partition_spec_id === d.manifest.partition_spec_id && JSON.stringify(x.file.partition) === JSON.stringify(d.file.partition)));
      }
      const counts = fx.entry.expected.snapshotCounts!;
      for (const [sid, n] of Object.entries(counts)) assert.equal((await rows(BigInt(sid))).length, n, `snapshot ${sid}`);
    } finally {
      await catalog.close();
    }
  });

  test('floe’s upsert deletes have Java’s layout: summary keys and counts, manifest entry, Parquet columns', async () => {
    const fx = openFixture(FIXTURE);
    const schema: Schema = {
      type: 'struct',
      'schema-id': 0,
      // As Java's table, with the key column `name` required (identifier fields must be).
      fields: [
        { id: 1, name: 'id', required: true, type: 'int' },
        { id: 2, name: 'name', required: true, type: 'string' },
        { id: 3, name: 'bir', required: false, type: 'date' },
      ],
    };
    const spec: PartitionSpec = { 'spec-id': 0, fields: [{ name: 'name', transform: 'identity', 'source-id': 2, 'field-id': 1000 }] };
    const catalog = await openCatalog({ warehouse: join(dir, 'wh-layout') });
    try {
      await catalog.createNamespace(['mydb']);
      const id = { namespace: ['mydb'], name: 'mytable_partitioned' };
      await catalog.createTable(id, { schema, partitionSpec: spec });
      const table = await Table.load(catalog, id);
      // Java's history up to its snapshot 2: 4 rows in partitions a..d, then a delete of name = 'b'.
      await table.append(['a', 'b', 'c', 'd'].map((name, i) => ({ id: i + 1, name, bir: `2025-01-0${i + 1}` })));
      const committed = await table.upsert([], { key: ['name'], deletes: [{ name: 'b' }] });
      assert.ok(committed);
      const ours = committed.snapshot.summary;
      const javaSnap = fx.metadata.snapshots.find((s) => s['sequence-number'] === 2n)!;
      const java = javaSnap.summary;
      const keys = (s: Record<string, string>) => Object.keys(s).filter((k) => k !== 'iceberg-version' && !k.startsWith('floe.')).sort();
      assert.deepEqual(keys(ours), keys(java), 'summary keys');
      for (const k of keys(java).filter((x) => !x.includes('size'))) assert.equal(ours[k], java[k], `summary ${k}`);

      const pick = async (io: FileIO, md: TableMetadata, partition: string) =>
        (await liveEntries(io, md)).find((e) => e.file.content === FileContent.EQUALITY_DELETES && e.file.partition[0] === partition)!;
      const mine = await pick(table.io, table.metadata, 'b');
      const theirs = await pick(fx.io, fx.metadata, 'b');
      for (const e of [mine, theirs]) assert.equal(e.manifest.content, 1, 'a delete manifest');
      assert.equal(mine.manifest.partition_spec_id, theirs.manifest.partition_spec_id);
      const shape = (f: DataFile) => ({
        content: f.content,
        // Java: 0 (unsorted) on eq-delete entries of a table whose sort order is unsorted.
        sort_order_id: f.sort_order_id,
        file_format: f.file_format,
        partition: f.partition,
        record_count: f.record_count,
        equality_ids: f.equality_ids,
        metrics: [f.column_sizes, f.value_counts, f.null_value_counts, f.lower_bounds, f.upper_bounds].map((m) => [...(m?.keys() ?? [])].sort()),
        bounds: [f.lower_bounds?.get(2), f.upper_bounds?.get(2)].map((b) => (b ? Buffer.from(b).toString() : b)),
      });
      assert.deepEqual(shape(mine.file), shape(theirs.file));
      assert.match(mine.file.file_path, /\/data\/name=b\/delete-[0-9a-f-]+\.parquet$/, 'in the partition’s directory, as Java names them');
      assert.deepEqual(await parquetColumns(table.io, mine.file.file_path), await parquetColumns(fx.io, theirs.file.file_path), 'only the key column, with its field id');
      const theirKv = await parquetKv(fx.io, theirs.file.file_path);
      assert.deepEqual(theirKv, { 'delete-type': 'equality', 'delete-field-ids': '2' }, 'the fixture’s footer keys');
      assert.deepEqual(await parquetKv(table.io, mine.file.file_path), theirKv, 'Java’s footer keys (delete-type, delete-field-ids)');
      // The fixture's key column is optional in its table, so its Parquet column is OPTIONAL as
      // ours (DuckDB writes no REQUIRED column): nothing to compare there.
    } finally {
      await catalog.close();
    }
  });

  test('a key of two columns: delete-field-ids as Java joins them ("1, 2"), sort_order_id 0', async () => {
    const catalog = await openCatalog({ warehouse: join(dir, 'wh-two') });
    try {
      await catalog.createNamespace(['db']);
      const id = { namespace: ['db'], name: 'two' };
      const schema: Schema = {
        type: 'struct',
        'schema-id': 0,
        fields: [
          { id: 1, name: 'a', required: true, type: 'long' },
          { id: 2, name: 'b', required: true, type: 'string' },
          { id: 3, name: 'v', required: false, type: 'string' },
        ],
      };
      await catalog.createTable(id, { schema });
      const table = await Table.load(catalog, id);
      await table.upsert([{ a: 1n, b: 'x', v: 'one' }], { key: ['a', 'b'] });
      const entries = await liveEntries(table.io, table.metadata);
      const del = entries.find((e) => e.file.content === FileContent.EQUALITY_DELETES)!;
      assert.deepEqual(await parquetKv(table.io, del.file.file_path), { 'delete-type': 'equality', 'delete-field-ids': '1, 2' });
      assert.equal(del.file.sort_order_id, 0);
      // Data files keep what floe writes for them (no sort order id): unchanged here.
      assert.equal(entries.find((e) => e.file.content === FileContent.DATA)!.file.sort_order_id ?? null, null);
    } finally {
      await catalog.close();
    }
  });
});

describe('icebird reads floe’s upsert tables as floe query does', () => {
  let dir: string;
  let warehouse: string;
  let catalog: Catalog;
  let served: Served;
  const written = new Map<string, Table>();
  const SCHEMA: Schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'id', required: true, type: 'long' },
      { id: 2, name: 'region', required: true, type: 'string' },
      { id: 3, name: 'v', required: false, type: 'string' },
    ],
  };
  const tables: { name: string; spec?: PartitionSpec }[] = [
    { name: 'plain' },
    { name: 'by_id', spec: { 'spec-id': 0, fields: [{ name: 'id_bucket', transform: 'bucket[4]', 'source-id': 1, 'field-id': 1000 }] } },
    // Partitioned by a non-key column: the deletes get an unpartitioned spec (they apply everywhere).
    { name: 'by_region', spec: { 'spec-id': 0, fields: [{ name: 'region', transform: 'identity', 'source-id': 2, 'field-id': 1000 }] } },
  ];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floe-eqdel-icebird-'));
    warehouse = join(dir, 'wh');
    catalog = await openCatalog({ warehouse });
    await catalog.createNamespace(['db']);
    for (const t of tables) {
      const id = { namespace: ['db'], name: t.name };
      await catalog.createTable(id, { schema: SCHEMA, ...(t.spec ? { partitionSpec: t.spec } : {}) });
      const table = await Table.load(catalog, id);
      // An upsert may move a key to another region (another partition of by_region).
      const row = (i: number, round: number) => ({ id: BigInt(i), region: `r${(i + round) % 3}`, v: `v${i}-${round}` });
      await table.append(Array.from({ length: 40 }, (_, i) => row(i, 0)));
      // Rounds of upserts (some keys twice in a round: the last wins), new keys, and deletes.
      await table.upsert([row(1, 1), row(2, 1), row(1, 2), row(40, 1)], { key: ['id'] });
      await table.upsert([row(2, 3), row(7, 3), row(41, 3)], { deletes: [{ id: 5n }, { id: 40n }, { id: 99n }] });
      await table.upsert([], { deletes: [{ id: 7n }] });
      await table.upsert([row(7, 4), row(5, 4)]);
      await table.refresh();
      written.set(t.name, table);
    }
    served = await serve(warehouse);
  });

  after(async () => {
    await new Promise<void>((ok) => (served ? served.server.close(() => ok()) : ok()));
    await catalog?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const expected = new Map<bigint, string>();
  for (let i = 0; i < 40; i++) expected.set(BigInt(i), `v${i}-0`);
  expected.set(1n, 'v1-2');
  expected.set(2n, 'v2-3');
  expected.set(41n, 'v41-3');
  expected.delete(40n);
  expected.set(7n, 'v7-4');
  expected.set(5n, 'v5-4');
  const expectedRows = [...expected].sort((a, b) => Number(a[0] - b[0])).map(([id, v]) => `${id}|${v}`);

  for (const t of tables) {
    test(`${t.name}: icebird, floe query and the upserts agree`, async () => {
      const table = written.get(t.name)!;
      assert.ok(Number(table.currentSnapshot()!.summary['total-equality-deletes']) > 0, 'the table holds equality deletes');
      const floe = await cliJson(['query', '--warehouse', warehouse, `SELECT id, v FROM db.${t.name} ORDER BY id`]);
      assert.deepEqual(
        floe.map((r) => `${String(r.id)}|${String(r.v)}`),
        expectedRows,
      );
      const tableUrl = `${served.base}/${relative(warehouse, table.location).split(sep).join('/')}`;
      const rows = await withWarehouseFetch(warehouse, served, () => icebergRead({ tableUrl, metadataFileName: basename(table.metadataLocation) }));
      const theirs = rows.map((r) => `${String(r.id)}|${String(r.v)}`).sort((a, b) => Number(BigInt(a.split('|')[0]!) - BigInt(b.split('|')[0]!)));
      assert.deepEqual(theirs, expectedRows);
    });
  }

  // The same tables once maintenance converted their equality deletes to position deletes.
  for (const t of tables) {
    test(`${t.name}: after convert-deletes (position deletes only), icebird and floe query still agree`, async () => {
      const table = written.get(t.name)!;
      const r = await convertEqualityDeletes(table);
      assert.ok(r.positions > 0 && r.addedPositionDeleteFiles > 0, JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
      await table.refresh();
      assert.equal(table.currentSnapshot()!.summary['total-equality-deletes'], '0');
      const floe = await cliJson(['query', '--warehouse', warehouse, `SELECT id, v FROM db.${t.name} ORDER BY id`]);
      assert.deepEqual(
        floe.map((r) => `${String(r.id)}|${String(r.v)}`),
        expectedRows,
      );
      const tableUrl = `${served.base}/${relative(warehouse, table.location).split(sep).join('/')}`;
      const rows = await withWarehouseFetch(warehouse, served, () => icebergRead({ tableUrl, metadataFileName: basename(table.metadataLocation) }));
      const theirs = rows.map((r) => `${String(r.id)}|${String(r.v)}`).sort((a, b) => Number(BigInt(a.split('|')[0]!) - BigInt(b.split('|')[0]!)));
      assert.deepEqual(theirs, expectedRows);
    });
  }
});
