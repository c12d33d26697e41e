/**
 * `Table.upsert`: rows replace the table's rows of the same key, and keys are deleted, in one
 * snapshot (a {@link RowDelta}): the rows, the last of each key, in data files, and one equality
 * delete row per key touched (upserted or deleted) in delete files. The deletes apply to rows of
 * earlier snapshots only (sequence numbers), so the new rows stay.
 */
import { ValidationError } from '../errors.js';
import { valueAt, type ColumnBatch } from '../data/column-batch.js';
import type { TableMetadata } from '../iceberg/metadata.js';
import type { IcebergValue } from '../iceberg/types.js';
import { deleteLayout, ensureDeleteLayout, ensureIdentifierFields, keyFieldIds, keySchema, keyText, writeEqualityDeletes } from './equality-deletes.js';
import { rowsToBatch } from './rows.js';
import type { CommitOptions, CommitResult } from './snapshot-producer.js';
import type { Table } from './table.js';
import { writeDataFiles } from './write.js';

/** Options of `Table.upsert`. */
export interface UpsertOptions extends CommitOptions {
  /**
   * Keys to delete: objects holding the key columns (other keys ignored). A key both here and
   * in the rows keeps its row (the deletes come first).
   */
  deletes?: Iterable<object>;
  /**
   * The key columns; default the table's identifier fields. Different from them: they become the
   * identifier fields first (a schema change of its own).
   */
  key?: readonly string[];
}

/** The indexes of the last row of each key in `batch`, in row order, and every key's values. */
function lastOfEachKey(batch: ColumnBatch, keyIds: readonly number[]): { rows: number[]; keys: Map<string, IcebergValue[]> } {
  const last = new Map<string, number>();
  const keys = new Map<string, IcebergValue[]>();
  const cols = keyIds.map((id) => batch.columns.get(id));
  for (let r = 0; r < batch.length; r++) {
    const values = cols.map((c) => valueAt(c, r));
    const k = keyText(values);
    last.set(k, r);
    keys.set(k, values);
  }
  return { rows: [...last.values()].sort((a, b) => a - b), keys };
}

function pick(batch: ColumnBatch, rows: readonly number[]): ColumnBatch {
  if (rows.length === batch.length) return batch;
  const columns = new Map<number, IcebergValue[]>();
  for (const [id, col] of batch.columns) columns.set(id, rows.map((r) => valueAt(col, r)));
  return { length: rows.length, columns };
}

/** See `Table.upsert`. */
export async function upsertRows(table: Table, rows: Iterable<object>, options: UpsertOptions = {}): Promise<CommitResult | undefined> {
  const { deletes, key, ...commit } = options;
  const what = `table: ${table.name}: upsert`;
  let keyIds: number[];
  if (key !== undefined) {
    keyIds = keyFieldIds(table.metadata, key, `${what}: key`);
    await ensureIdentifierFields(table, keyIds);
  } else {
    const ids = table.schema()['identifier-field-ids'] ?? [];
    if (ids.length === 0) throw new ValidationError(`${what}: the table has no identifier fields; give the key columns (key: [...])`);
    const schema = table.schema();
    keyIds = keyFieldIds(table.metadata, ids.map((id) => schema.fields.find((f) => f.id === id)?.name ?? String(id)), `${what}: identifier fields`);
  }
  const schema = table.schema();
  const data = rowsToBatch(schema, rows);
  const upserted = lastOfEachKey(data, keyIds);
  const removed = lastOfEachKey(rowsToBatch(keySchema(schema, keyIds), deletes ?? []), keyIds);
  const all = new Map([...removed.keys, ...upserted.keys]);
  if (all.size === 0) return undefined;
  const layout = await ensureDeleteLayout(table, keyIds);
  const md = table.metadata;
  const keyColumns = new Map(keyIds.map((id, j) => [id, [...all.values()].map((v) => v[j] ?? null)]));
  const del = await writeEqualityDeletes(table.io, md, { length: all.size, columns: keyColumns }, { equalityIds: keyIds, specId: layout.specId });
  // A spec change meanwhile (another writer) could leave the deletes short of some rows: refuse.
  const validate = async (base: TableMetadata): Promise<void> => {
    if (deleteLayout(base, keyIds).specId !== layout.specId) {
      throw new ValidationError(`${what}: the table's partition specs changed meanwhile; the deletes were planned for spec ${layout.specId}: try again`);
    }
    await commit.validate?.(base);
  };
  const delta = table.newRowDelta({ ...commit, validate }).addDeleteFiles(del.files, del.specId);
  if (upserted.rows.length > 0) {
    const written = await writeDataFiles(table.io, md, pick(data, upserted.rows));
    delta.addRowsFiles(written.files, written.specId);
  }
  return delta.commit();
}
