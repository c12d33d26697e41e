/**
 * Helpers for the maintenance tests: a table in a temporary SQLite catalog, appends, delete files,
 * a FileIO that fails on demand (crash injection), and the table's rows as a sorted multiset read
 * through the QueryEngine.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Catalog, TableIdentifier } from '../../src/catalog/catalog.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { toDataFile } from '../../src/data/data-file.js';
import { writeParquetFile } from '../../src/data/parquet-writer.js';
import { FloeError } from '../../src/errors.js';
import { MAINTENANCE_DEFAULTS, type MaintenanceConfig } from '../../src/pipeline/config.js';
import { FileContent, type DataFile } from '../../src/iceberg/manifest-types.js';
import type { TableRequirement, TableUpdate } from '../../src/iceberg/commit.js';
import type { PartitionSpec } from '../../src/iceberg/metadata.js';
import type { IcebergValue, Schema } from '../../src/iceberg/types.js';
import type { FileInfo, FileIO, WriteOptions } from '../../src/io/file-io.js';
import { LocalFileIO } from '../../src/io/local.js';
import { QueryEngine } from '../../src/query/engine.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { Table } from '../../src/table/table.js';
import { dataLocation, writeDataFiles } from '../../src/table/write.js';

export const ID: TableIdentifier = { namespace: ['db'], name: 'events' };

export const SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'event_id', required: true, type: 'string' },
    { id: 2, name: 'user_id', required: false, type: 'string' },
    { id: 3, name: 'event_time', required: false, type: 'timestamptz' },
    { id: 4, name: 'amount', required: false, type: 'decimal(9, 2)' },
  ],
};

/** Partitioned by day(event_time). */
export const BY_DAY: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 3, 'field-id': 1000, name: 'event_time_day', transform: 'day' }] };

const BASE_US = 1_767_830_400_000_000n; // 2026-01-08T00:00:00Z

/** Row `i`: one row every 20 minutes from 2026-01-08 00:00 UTC (72 rows per day). */
export function row(i: number): IcebergValue[] {
  return [`evt_${String(i).padStart(6, '0')}`, i % 7 === 0 ? null : `user_${i % 5}`, BASE_US + BigInt(i) * 1_200_000_000n, BigInt(i * 13)];
}

export function rows(from: number, n: number): IcebergValue[][] {
  return Array.from({ length: n }, (_, k) => row(from + k));
}

/** A FileIO over the local disk whose writes or deletes can be made to fail (crash injection). */
export class FaultyIO implements FileIO {
  private readonly inner = new LocalFileIO();
  /** Writes allowed before every further write throws; undefined = never fail. */
  writesLeft: number | undefined;
  /** Deletes allowed before every further delete throws. */
  deletesLeft: number | undefined;
  writes = 0;
  deletes = 0;

  read(location: string): Promise<Uint8Array> {
    return this.inner.read(location);
  }
  readRange(location: string, offset: number, length: number): Promise<Uint8Array> {
    return this.inner.readRange(location, offset, length);
  }
  stat(location: string): Promise<FileInfo> {
    return this.inner.stat(location);
  }
  exists(location: string): Promise<boolean> {
    return this.inner.exists(location);
  }
  async write(location: string, data: Uint8Array, options?: WriteOptions): Promise<void> {
    if (this.writesLeft !== undefined && this.writesLeft-- <= 0) throw new FloeError('IO', `io: ${location}: injected write failure`);
    this.writes++;
    return this.inner.write(location, data, options);
  }
  async delete(location: string): Promise<void> {
    if (this.deletesLeft !== undefined && this.deletesLeft-- <= 0) throw new FloeError('IO', `io: ${location}: injected delete failure`);
    this.deletes++;
    return this.inner.delete(location);
  }
  list(prefix: string): AsyncIterable<FileInfo> {
    return this.inner.list(prefix);
  }
  localPath(location: string): Promise<string> {
    return this.inner.localPath(location);
  }
  /** Stops injecting failures. */
  heal(): void {
    this.writesLeft = undefined;
    this.deletesLeft = undefined;
  }
}

/** A temporary catalog with `db.events` (optionally partitioned), torn down afterwards. */
export interface TableEnv {
  dir: string;
  catalog: SqlCatalog;
  io: FaultyIO;
  table: Table;
}

export async function withTable(
  fn: (env: TableEnv) => Promise<void>,
  opts: { spec?: PartitionSpec; properties?: Record<string, string>; formatVersion?: 1 | 2 | 3 } = {},
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-maint-'));
  const io = new FaultyIO();
  const catalog = new SqlCatalog({ name: 'test', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'wh'), io });
  try {
    await catalog.createNamespace(['db']);
    await catalog.createTable(ID, {
      schema: SCHEMA,
      ...(opts.spec ? { partitionSpec: opts.spec } : {}),
      ...(opts.properties ? { properties: opts.properties } : {}),
      ...(opts.formatVersion ? { formatVersion: opts.formatVersion } : {}),
    });
    const table = await Table.load(catalog, ID);
    await fn({ dir, catalog, io, table });
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Appends rows `from .. from+n-1` in one commit. */
export async function appendRows(table: Table, from: number, n: number, summary?: Record<string, string>) {
  await table.refresh();
  const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows(from, n)));
  return table.newAppend(summary ? { summary } : {}).appendFiles(files, specId).commit();
}

/** Writes a position delete file for `(dataFile, positions)` in the data file's partition. */
export async function positionDeleteFile(table: Table, target: DataFile, positions: number[]): Promise<DataFile> {
  const schema: Schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 2147483546, name: 'file_path', required: true, type: 'string' },
      { id: 2147483545, name: 'pos', required: true, type: 'long' },
    ],
  };
  const path = join(dataLocation(table.metadata), `pos-del-${Math.random().toString(36).slice(2)}.parquet`);
  const result = await writeParquetFile({ schema, rows: batchFromRows(schema, positions.map((p) => [target.file_path, BigInt(p)])), path });
  const file = toDataFile(result, target.partition, 0, path).file;
  return { ...file, content: FileContent.POSITION_DELETES };
}

/** Writes an equality delete file on event_id (unpartitioned tables: a global delete). */
export async function equalityDeleteFile(table: Table, eventIds: string[], partition: IcebergValue[] = []): Promise<DataFile> {
  const schema: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'event_id', required: true, type: 'string' }] };
  const path = join(dataLocation(table.metadata), `eq-del-${Math.random().toString(36).slice(2)}.parquet`);
  const result = await writeParquetFile({ schema, rows: batchFromRows(schema, eventIds.map((e) => [e])), path });
  const file = toDataFile(result, partition, 0, path).file;
  return { ...file, content: FileContent.EQUALITY_DELETES, equality_ids: [1] };
}

/** Commits delete files (an overwrite snapshot adding them). */
export async function commitDeletes(table: Table, files: DataFile[], specId?: number) {
  await table.refresh();
  const op = table.newOverwrite();
  for (const f of files) op.addFile(f, specId);
  return op.commit();
}

function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === 'object') return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
  return String(v);
}

/** The table's rows as sorted strings (a multiset), read through the QueryEngine. */
export async function sortedRows(catalog: Catalog, name = 'db.events', where = ''): Promise<string[]> {
  const engine = await QueryEngine.open({ catalog, threads: 1 });
  try {
    const r = await engine.query(`SELECT * FROM ${name} ${where}`);
    return r.rows.map((row) => row.map(show).join('|')).sort();
  } finally {
    engine.close();
  }
}

/** Live data files of the current snapshot. */
export async function liveDataFiles(table: Table): Promise<DataFile[]> {
  await table.refresh();
  return (await planTableScan(table.io, table.metadata, { ref: 'main' })).tasks.map((t) => t.file);
}

/** Asserts the table reads and its rows equal `expected`. */
export async function assertRows(catalog: Catalog, expected: string[], what: string): Promise<void> {
  const got = await sortedRows(catalog);
  assert.equal(got.length, expected.length, `${what}: row count`);
  assert.deepEqual(got, expected, `${what}: rows`);
}

/** A maintenance config with every task off except those `over` gives (the scheduler tests' policy). */
export function maintenanceOnly(over: Partial<MaintenanceConfig>): MaintenanceConfig {
  const off = <T extends { enabled: boolean }>(x: T): T => ({ ...x, enabled: false });
  return {
    compact: off(MAINTENANCE_DEFAULTS.compact),
    expireSnapshots: off(MAINTENANCE_DEFAULTS.expireSnapshots),
    removeOrphans: off(MAINTENANCE_DEFAULTS.removeOrphans),
    rewriteManifests: off(MAINTENANCE_DEFAULTS.rewriteManifests),
    ...over,
  };
}

/** A catalog whose next commit first runs `before` (a concurrent writer), once. */
export function interleaving(inner: Catalog, before: () => Promise<void>): Catalog {
  let armed = true;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'commitTable') {
        return async (id: TableIdentifier, req: TableRequirement[], upd: TableUpdate[]) => {
          if (armed) {
            armed = false;
            await before();
          }
          return target.commitTable(id, req, upd);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
