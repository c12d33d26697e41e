/**
 * Issue #17 part 5: a table evolved by floe is read correctly by an independent reader and by
 * `floe query`, now and at every earlier snapshot, and floe's evolved metadata follows the rules
 * Spark's writer follows (compared with the fixture tables' own evolved metadata in
 * `../shared/fixtures`).
 *
 * The table goes through `floe table alter` one change at a time, with an append after each:
 * add a column, widen int → long, rename, drop, partition evolution (unpartitioned → identity).
 * After every append the test keeps the snapshot id and the metadata file then current. Then:
 * - `floe query --snapshot-id` at each snapshot returns that snapshot's rows in that snapshot's
 *   schema (names, types, columns present);
 * - icebird (its own Avro and Parquet readers; see icebird.test.ts for how it is served) reads
 *   each of those metadata files and returns the same rows, so an older metadata file is its
 *   time travel. icebird resolves columns by field id: old files read under the renamed name, a
 *   dropped column gone, an added one null in files written before it.
 * - The fixture comparison replays Spark's evolutions with floe on a table created with the
 *   fixture's first schema and spec: add then widen (spark_v2_posdeletes_schemaevol), rename
 *   (spark_bucket_rename_column), add a partition field (spark_partition_evolution_missing_cols),
 *   and compares schemas (ids, names, types, required), schema ids, last-column-id, specs,
 *   field ids, default spec and last-partition-id with Spark's final metadata.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { icebergRead } from 'icebird';
import type { Catalog } from '../../src/catalog/catalog.js';
import { openCatalog } from '../../src/catalog/open.js';
import type { PartitionSpec, TableMetadata } from '../../src/iceberg/metadata.js';
import { parseTableMetadata } from '../../src/iceberg/table-metadata.js';
import { Table } from '../../src/table/table.js';
import { cliJson, type JsonRow } from '../cli/helpers.js';
import { fixturePath, SKIP_NO_SHARED } from '../helpers/shared.js';
import { serve, withWarehouseFetch, type Served } from './warehouse-server.js';

const ID = { namespace: ['db'], name: 'evolved' };

/** A row by field id (1 id, 2 n, 3 name→title, 4 gone, 5 country). */
type ById = Record<number, string | number | null>;

/** One stage: the change before it, the rows it appends, and the schema (field id → name) after it. */
interface Stage {
  alter?: string[];
  rows: ById[];
  schema: [number, string][];
}

const STAGES: Stage[] = [
  { rows: [{ 1: 1, 2: 10, 3: 'a', 4: 'x1' }, { 1: 2, 2: null, 3: 'b', 4: null }], schema: [[1, 'id'], [2, 'n'], [3, 'name'], [4, 'gone']] },
  { alter: ['add-column', 'country', 'string'], rows: [{ 1: 3, 2: 30, 3: 'c', 4: 'x3', 5: 'FR' }], schema: [[1, 'id'], [2, 'n'], [3, 'name'], [4, 'gone'], [5, 'country']] },
  { alter: ['widen', 'n', 'long'], rows: [{ 1: 4, 2: 5_000_000_000, 3: 'd', 4: 'x4', 5: 'DE' }], schema: [[1, 'id'], [2, 'n'], [3, 'name'], [4, 'gone'], [5, 'country']] },
  { alter: ['rename-column', 'name', 'title'], rows: [{ 1: 5, 2: 50, 3: 'e', 4: 'x5', 5: null }], schema: [[1, 'id'], [2, 'n'], [3, 'title'], [4, 'gone'], [5, 'country']] },
  { alter: ['drop-column', 'gone'], rows: [{ 1: 6, 2: -6_000_000_000, 3: 'f', 5: 'FR' }], schema: [[1, 'id'], [2, 'n'], [3, 'title'], [5, 'country']] },
  { alter: ['set-partition-spec', 'country, bucket(4, id)'], rows: [{ 1: 7, 2: 70, 3: 'g', 5: 'DE' }, { 1: 8, 2: null, 3: 'h', 5: null }], schema: [[1, 'id'], [2, 'n'], [3, 'title'], [5, 'country']] },
];

/** The rows visible after stage `k`, as `{ name: value }` in that stage's schema. */
function expectedAt(k: number): Record<string, string | number | null>[] {
  const schema = STAGES[k]!.schema;
  return STAGES.slice(0, k + 1)
    .flatMap((s) => s.rows)
    .map((r) => Object.fromEntries(schema.map(([id, name]) => [name, r[id] ?? null])));
}

/** icebird's values made comparable: longs come back as bigint (ints as number), missing as undefined. */
function normalize(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v === undefined ? null : v]));
}

describe('a table evolved by floe, read by icebird and floe query at every snapshot', () => {
  let dir: string;
  let warehouse: string;
  let served: Served;
  const wh = (...argv: string[]) => [...argv, '--warehouse', warehouse];
  /** Per stage: the snapshot its append made and the metadata file current right after. */
  const marks: { snapshotId: string; metadataLocation: string; location: string }[] = [];
  const alterOutputs: JsonRow[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floe-evolved-'));
    warehouse = join(dir, 'wh');
    await cliJson(wh('table', 'create', 'db.evolved', '--schema', 'id int not null, n int, name string, gone string'));
    for (const stage of STAGES) {
      if (stage.alter) alterOutputs.push(...(await cliJson(wh('table', 'alter', 'db.evolved', ...stage.alter))));
      const catalog: Catalog = await openCatalog({ warehouse });
      try {
        const table = await Table.load(catalog, ID);
        const rows = stage.rows.map((r) => Object.fromEntries(stage.schema.filter(([id]) => id in r).map(([id, name]) => [name, r[id]])));
        const result = await table.append(rows);
        marks.push({ snapshotId: result!.snapshot['snapshot-id'].toString(), metadataLocation: table.metadataLocation, location: table.location });
      } finally {
        await catalog.close();
      }
    }
    served = await serve(warehouse);
  });

  after(async () => {
    await new Promise<void>((ok) => (served ? served.server.close(() => ok()) : ok()));
    rmSync(dir, { recursive: true, force: true });
  });

  const tableUrl = () => `${served.base}/${relative(warehouse, marks[0]!.location).split(sep).join('/')}`;

  test('each alter is one new schema or spec; ids never reused; each append records the schema it was written with', async () => {
    assert.deepEqual(alterOutputs.map((o) => o.committed), [true, true, true, true, true]);
    const catalog = await openCatalog({ warehouse });
    try {
      const md = (await Table.load(catalog, ID)).metadata;
      assert.deepEqual(md.schemas.map((s) => s['schema-id']), [0, 1, 2, 3, 4]);
      assert.equal(md['current-schema-id'], 4);
      assert.equal(md['last-column-id'], 5);
      assert.deepEqual(md.snapshots.map((s) => s['schema-id']), [0, 1, 2, 3, 4, 4]);
      assert.deepEqual(md['partition-specs'].map((s) => [s['spec-id'], s.fields.map((f) => [f['field-id'], f['source-id'], f.name, f.transform])]), [
        [0, []],
        [1, [[1000, 5, 'country', 'identity'], [1001, 1, 'id_bucket', 'bucket[4]']]],
      ]);
      assert.equal(md['last-partition-id'], 1001);
    } finally {
      await catalog.close();
    }
  });

  for (const [k] of STAGES.entries()) {
    test(`stage ${k} (${STAGES[k]!.alter?.join(' ') ?? 'created'}): floe query at its snapshot and icebird at its metadata file return its rows in its schema`, async () => {
      const expected = expectedAt(k);
      const names = STAGES[k]!.schema.map(([, n]) => n);
      const fromFloe = await cliJson(wh('query', '--snapshot-id', marks[k]!.snapshotId, 'SELECT * FROM db.evolved ORDER BY id'));
      assert.deepEqual(fromFloe.map((r) => Object.keys(r)), expected.map(() => names), 'floe: the columns of that snapshot');
      assert.deepEqual(fromFloe, expected, 'floe: rows');
      const fromIcebird = await withWarehouseFetch(warehouse, served, () =>
        icebergRead({ tableUrl: tableUrl(), metadataFileName: basename(marks[k]!.metadataLocation) }),
      );
      const got = [...fromIcebird].map(normalize).sort((a, b) => (a.id as number) - (b.id as number));
      assert.deepEqual(got, expected, 'icebird: rows');
    });
  }

  test('floe query now: the current schema over files of every shape, partition pruning on the new spec', async () => {
    assert.deepEqual(await cliJson(wh('query', 'SELECT * FROM db.evolved ORDER BY id')), expectedAt(STAGES.length - 1));
    assert.deepEqual(await cliJson(wh('query', "SELECT id, n FROM db.evolved WHERE country = 'DE' ORDER BY id")), [
      { id: 4, n: 5_000_000_000 },
      { id: 7, n: 70 },
    ]);
    assert.deepEqual(await cliJson(wh('query', 'SELECT count(*) AS c FROM db.evolved WHERE country IS NULL')), [{ c: 4 }]);
  });
});

// ---------------------------------------------------------------------------------------------
// floe's evolution rules against Spark's, on the fixture tables' own metadata.

/** The final metadata of a fixture table (its highest vN.metadata.json). */
function fixtureMetadata(dirParts: string[], version: number): TableMetadata {
  return parseTableMetadata(readFileSync(fixturePath('iceberg-tables', ...dirParts, 'metadata', `v${version}.metadata.json`), 'utf8'));
}

const schemaShape = (md: TableMetadata) =>
  md.schemas.map((s) => [s['schema-id'], s.fields.map((f) => [f.id, f.name, f.required, f.type])]);
const specShape = (specs: PartitionSpec[]) => specs.map((s) => [s['spec-id'], s.fields.map((f) => [f['field-id'], f['source-id'], f.name, f.transform])]);

describe("floe's evolved metadata follows Spark's (fixture tables)", { skip: SKIP_NO_SHARED }, () => {
  let dir: string;
  let warehouse: string;
  const wh = (...argv: string[]) => [...argv, '--warehouse', warehouse];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'floe-evolved-fixtures-'));
    warehouse = join(dir, 'wh');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Creates `db.<name>` with the first schema and spec of `first`, applies `changes` with floe, returns the metadata. */
  async function replay(name: string, first: TableMetadata, changes: string[][]): Promise<TableMetadata> {
    const catalog = await openCatalog({ warehouse });
    try {
      if (!(await catalog.namespaceExists(['db']))) await catalog.createNamespace(['db']);
      const spec = first['partition-specs'].find((s) => s['spec-id'] === first['default-spec-id'])!;
      await catalog.createTable({ namespace: ['db'], name }, { schema: first.schemas[0]!, partitionSpec: spec });
    } finally {
      await catalog.close();
    }
    for (const c of changes) await cliJson(wh('table', 'alter', `db.${name}`, ...c));
    const again = await openCatalog({ warehouse });
    try {
      return (await Table.load(again, { namespace: ['db'], name })).metadata;
    } finally {
      await again.close();
    }
  }

  test('add a column then widen it (spark_v2_posdeletes_schemaevol v1 → v9): same schemas, ids, last-column-id', async () => {
    const parts = ['spark_v2_posdeletes_schemaevol', 'pyspark_iceberg_table'];
    const spark = fixtureMetadata(parts, 9);
    const mine = await replay('schemaevol', fixtureMetadata(parts, 1), [
      ['add-column', 'schema_evol_added_col_1', 'int'],
      ['widen', 'schema_evol_added_col_1', 'long'],
    ]);
    assert.deepEqual(schemaShape(mine), schemaShape(spark));
    assert.equal(mine['current-schema-id'], spark['current-schema-id']);
    assert.equal(mine['last-column-id'], spark['last-column-id']);
  });

  test('rename a partition source column (spark_bucket_rename_column v1 → v3): same schemas; the partition field keeps its name and id', async () => {
    const spark = fixtureMetadata(['spark_bucket_rename_column'], 3);
    const mine = await replay('renamed', fixtureMetadata(['spark_bucket_rename_column'], 1), [['rename-column', 'date', 'event_date']]);
    assert.deepEqual(schemaShape(mine), schemaShape(spark));
    assert.equal(mine['current-schema-id'], spark['current-schema-id']);
    assert.deepEqual(specShape(mine['partition-specs']), specShape(spark['partition-specs']));
  });

  test('add a partition field (spark_partition_evolution_missing_cols v1 → v4): same specs, field ids, default spec, last-partition-id', async () => {
    const spark = fixtureMetadata(['spark_partition_evolution_missing_cols'], 4);
    const mine = await replay('partevol', fixtureMetadata(['spark_partition_evolution_missing_cols'], 1), [['set-partition-spec', 'event_date, event_type']]);
    assert.deepEqual(specShape(mine['partition-specs']), specShape(spark['partition-specs']));
    assert.equal(mine['default-spec-id'], spark['default-spec-id']);
    assert.equal(mine['last-partition-id'], spark['last-partition-id']);
    assert.deepEqual(schemaShape(mine), schemaShape(spark), 'a partition change leaves the schema alone');
  });
});
