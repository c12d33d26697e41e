/**
 * Compaction next to a writer that adds columns (issue #17 part 3, `transform.unmapped:
 * add_columns`): a compaction plans and rewrites its files on the schema it loaded, and between
 * that and its commit a writer commits a new schema together with rows that fill the new column.
 * The new column's values must survive (the compaction rewrites only the files it planned, which
 * were written before the column existed), the table must keep the newer schema as current, and
 * the compaction's snapshot must be built on it. Checked for a column added with its rows in one
 * commit, and for a column added alone (`floe table alter`, no snapshot) with rows afterwards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchFromRows } from '../../src/data/column-batch.js';
import type { TableMetadata } from '../../src/iceberg/metadata.js';
import { currentSchema } from '../../src/iceberg/metadata-lookup.js';
import { addColumn } from '../../src/iceberg/schema-evolution.js';
import type { Schema } from '../../src/iceberg/types.js';
import type { WriteOptions } from '../../src/io/file-io.js';
import { compactTable } from '../../src/maintenance/compact.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';
import { appendRows, ID, row, sortedRows, withTable, type FaultyIO } from './helpers.js';

/** Runs `during` once, just before the first manifest write while armed (the compaction's commit). */
function gateFirstManifest(io: FaultyIO, during: () => Promise<void>): { fired: () => boolean } {
  let armed = true;
  let fired = false;
  const write = io.write.bind(io);
  io.write = async (location: string, data: Uint8Array, options?: WriteOptions) => {
    if (armed && /\/metadata\/[^/]+-m\d+\.avro$/.test(location)) {
      armed = false;
      await during();
      fired = true;
    }
    return write(location, data, options);
  };
  return { fired: () => fired };
}

/** The schema with `country: string` added (the table's next schema id and field id). */
function withCountry(md: TableMetadata): { schema: Schema; lastColumnId: number } {
  const schemaId = Math.max(...md.schemas.map((s) => s['schema-id'])) + 1;
  return addColumn(currentSchema(md), { name: 'country', type: 'string' }, { schemaId, lastColumnId: md['last-column-id'] });
}

/** Appends rows `from..from+n-1` with a country each, under `schema`; with `schemaChange` in the same commit. */
async function appendWithCountry(table: Table, from: number, n: number, change?: { schema: Schema; lastColumnId: number }) {
  await table.refresh();
  const schema = change?.schema ?? table.schema();
  const md: TableMetadata = change
    ? { ...table.metadata, schemas: [...table.metadata.schemas, change.schema], 'current-schema-id': change.schema['schema-id'], 'last-column-id': change.lastColumnId }
    : table.metadata;
  const values = Array.from({ length: n }, (_, k) => [...row(from + k), `c${from + k}`]);
  const { files, specId } = await writeDataFiles(table.io, md, batchFromRows(schema, values));
  return table
    .newAppend(change ? { schemaChange: change } : {})
    .appendFiles(files, specId)
    .commit();
}

const countries = async (catalog: Parameters<typeof sortedRows>[0]) => {
  const { QueryEngine } = await import('../../src/query/engine.js');
  const engine = await QueryEngine.open({ catalog, threads: 1 });
  try {
    const r = await engine.query('SELECT event_id, country FROM db.events ORDER BY event_id');
    return r.rows.map((x) => `${String(x[0])}=${x[1] === null ? 'null' : String(x[1])}`);
  } finally {
    engine.close();
  }
};

const expected = (old: number, added: number[]) => [
  ...Array.from({ length: old }, (_, i) => `evt_${String(i).padStart(6, '0')}=null`),
  ...added.map((i) => `evt_${String(i).padStart(6, '0')}=c${i}`),
];

test('compaction planned on the old schema, a column added with its rows before it commits: no value lost, newer schema kept', async () => {
  await withTable(async ({ catalog, io, table }) => {
    for (let i = 0; i < 6; i++) await appendRows(table, i * 5, 5);
    const oldSchemaId = table.metadata['current-schema-id'];
    const writer = await Table.load(catalog, ID);
    const gate = gateFirstManifest(io, async () => {
      await writer.refresh();
      await appendWithCountry(writer, 30, 5, withCountry(writer.metadata));
    });

    const r = await compactTable(table, { minInputFiles: 5 });
    assert.ok(gate.fired(), 'the add_columns commit ran between the compaction plan and its commit');
    assert.equal(r.rewrittenDataFiles, 6);
    assert.ok(r.attempts >= 2, `the compaction retried on the new head (attempts ${r.attempts})`);

    await table.refresh();
    const md = table.metadata;
    assert.notEqual(md['current-schema-id'], oldSchemaId, 'the newer schema stays current');
    assert.ok(currentSchema(md).fields.some((f) => f.name === 'country'));
    assert.equal(table.currentSnapshot()!['schema-id'], md['current-schema-id'], 'the replace snapshot records the current schema');
    assert.deepEqual(await countries(catalog), expected(30, [30, 31, 32, 33, 34]));
    // The writer's file is still live, untouched; the compacted file holds only the planned rows.
    const files = (await planTableScan(table.io, md, { ref: 'main' })).tasks.map((t) => t.file.record_count).sort((a, b) => a - b);
    assert.deepEqual(files, [5, 30]);

    // A second compaction now rewrites files of both schemas together: the values survive it too.
    // (Files of 5 rows: the 30-row file must not hold more than 60% of the rows merged, or the
    // size-tier rule leaves it out.)
    for (let i = 0; i < 4; i++) await appendWithCountry(table, 35 + i * 5, 5);
    const r2 = await compactTable(table, { minInputFiles: 5 });
    assert.equal(r2.rewrittenDataFiles, 6);
    assert.deepEqual(await countries(catalog), expected(30, Array.from({ length: 25 }, (_, k) => 30 + k)));
  });
});

test('compaction planned on the old schema, a column added alone (alter) then rows with it: no value lost', async () => {
  await withTable(async ({ catalog, io, table }) => {
    for (let i = 0; i < 6; i++) await appendRows(table, i * 5, 5);
    const writer = await Table.load(catalog, ID);
    const gate = gateFirstManifest(io, async () => {
      await writer.refresh();
      const change = withCountry(writer.metadata);
      await writer.updateSchema(() => change.schema);
      await appendWithCountry(writer, 30, 3);
    });
    await compactTable(table, { minInputFiles: 5 });
    assert.ok(gate.fired());
    await table.refresh();
    assert.ok(currentSchema(table.metadata).fields.some((f) => f.name === 'country'));
    assert.deepEqual(await countries(catalog), expected(30, [30, 31, 32]));
  });
});
