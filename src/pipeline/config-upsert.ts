/**
 * The config of upserts and deletes by key: `table.upsert: { key: [col, …] }`,
 * `transform.operation: { path, delete: [values] }` (how a record says "delete") and
 * `transform.format: debezium` (Debezium's change events). Checked with the rest of the config,
 * before any work.
 */
import { ValidationError } from '../errors.js';
import type { ColumnMapping, UnmappedPolicy } from './transform.js';

/** `table.upsert`. */
export interface UpsertConfig {
  /** The key columns (names of `transform.columns`): the table's identifier fields. */
  key: string[];
  /**
   * How a commit deletes the older rows of its keys: `vectors` (default) deletes them by position
   * with deletion vectors when the table can (format v3, a single int/long key: the writer keeps
   * every key's position in memory, `table/upsert-vectors.ts`), else by equality; `equality`
   * always writes equality deletes.
   */
  deletes: 'vectors' | 'equality';
}

/** `transform.operation`: a record whose value at `path` is one of `delete` deletes its key. */
export interface OperationConfig {
  path: string;
  delete: (string | number | boolean)[];
}

/** `transform.format`: `json` (default: the record is the row) or `debezium` (a change event). */
export type RecordFormat = 'json' | 'debezium';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(o: Obj, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new ValidationError(`config: ${where}.${k}: unknown key (allowed: ${allowed.join(', ')})`);
  }
}

/**
 * Parses `table.upsert`, `transform.operation` and `transform.format` (raw values, undefined when
 * absent) against the mapping's columns.
 */
export function parseUpsertConfig(
  raw: { upsert: unknown; operation: unknown; format: unknown },
  columns: readonly ColumnMapping[],
  unmapped: UnmappedPolicy | undefined,
): { upsert?: UpsertConfig; operation?: OperationConfig; format?: RecordFormat } {
  const out: { upsert?: UpsertConfig; operation?: OperationConfig; format?: RecordFormat } = {};
  if (raw.upsert !== undefined && raw.upsert !== null) {
    const u = raw.upsert;
    if (!isObj(u)) throw new ValidationError('config: table.upsert: must be a mapping (key: [columns])');
    checkKeys(u, ['key', 'deletes'], 'table.upsert');
    const deletes = u.deletes ?? 'vectors';
    if (deletes !== 'vectors' && deletes !== 'equality') throw new ValidationError(`config: table.upsert.deletes: must be vectors or equality, got ${JSON.stringify(u.deletes)}`);
    const key = typeof u.key === 'string' ? [u.key] : u.key;
    if (!Array.isArray(key) || key.length === 0) throw new ValidationError('config: table.upsert.key: required, a non-empty list of column names');
    const names = new Set(columns.map((c) => c.name));
    key.forEach((k, i) => {
      if (typeof k !== 'string' || k.length === 0) throw new ValidationError(`config: table.upsert.key[${i}]: must be a column name, got ${JSON.stringify(k)}`);
      if (!names.has(k)) throw new ValidationError(`config: table.upsert.key[${i}]: '${k}' is not a column of transform.columns (${[...names].join(', ')})`);
      if (key.indexOf(k) !== i) throw new ValidationError(`config: table.upsert.key[${i}]: '${k}' is listed twice`);
      const type = columns.find((c) => c.name === k)?.type?.trim().toLowerCase();
      if (type === 'float' || type === 'double') throw new ValidationError(`config: table.upsert.key[${i}]: '${k}' is a ${type}, which cannot be a key (Iceberg identifier fields)`);
    });
    if (unmapped !== undefined && unmapped !== 'ignore') {
      throw new ValidationError(`config: transform.unmapped: '${unmapped}' is not supported with table.upsert (use ignore, the default)`);
    }
    out.upsert = { key: key as string[], deletes };
  }
  if (raw.format !== undefined && raw.format !== null) {
    if (raw.format !== 'json' && raw.format !== 'debezium') throw new ValidationError(`config: transform.format: must be json or debezium, got ${JSON.stringify(raw.format)}`);
    if (raw.format === 'debezium') {
      if (!out.upsert) throw new ValidationError('config: transform.format: debezium needs table.upsert (the key that updates and deletes apply to)');
      out.format = 'debezium';
    }
  }
  if (raw.operation !== undefined && raw.operation !== null) {
    const o = raw.operation;
    if (!isObj(o)) throw new ValidationError('config: transform.operation: must be a mapping (path, delete)');
    checkKeys(o, ['path', 'delete'], 'transform.operation');
    if (typeof o.path !== 'string' || o.path.length === 0) throw new ValidationError('config: transform.operation.path: required, the field that holds the operation (e.g. op)');
    const del = Array.isArray(o.delete) ? o.delete : o.delete === undefined ? undefined : [o.delete];
    if (del === undefined || del.length === 0) throw new ValidationError('config: transform.operation.delete: required, the values that mean delete (e.g. [d, delete])');
    del.forEach((v, i) => {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        throw new ValidationError(`config: transform.operation.delete[${i}]: must be a string, number or boolean, got ${JSON.stringify(v)}`);
      }
    });
    if (!out.upsert) throw new ValidationError('config: transform.operation: needs table.upsert (the key a delete removes)');
    if (out.format === 'debezium') throw new ValidationError('config: transform.operation: not used with transform.format: debezium (its op field says it)');
    out.operation = { path: o.path, delete: del as (string | number | boolean)[] };
  }
  return out;
}
