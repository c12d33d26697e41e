/**
 * Iceberg types as DuckDB types (SQL spelling), shared by the Parquet writer and the reader, and
 * the DuckDB type objects those strings stand for.
 *
 * | Iceberg | DuckDB | Parquet as DuckDB writes it |
 * |---|---|---|
 * | boolean | BOOLEAN | BOOLEAN |
 * | int | INTEGER | INT32 |
 * | long | BIGINT | INT64 |
 * | float | FLOAT | FLOAT |
 * | double | DOUBLE | DOUBLE |
 * | decimal(P,S) | DECIMAL(P,S) | INT32 (P ≤ 9), INT64 (P ≤ 18), FIXED_LEN_BYTE_ARRAY(16) + DECIMAL |
 * | date | DATE | INT32 DATE |
 * | time | TIME | INT64 TIME(MICROS, isAdjustedToUTC=false) |
 * | timestamp | TIMESTAMP | INT64 TIMESTAMP(MICROS, isAdjustedToUTC=false) |
 * | timestamptz | TIMESTAMPTZ | INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true) |
 * | timestamp_ns | TIMESTAMP_NS | INT64 TIMESTAMP(NANOS, isAdjustedToUTC=false) |
 * | timestamptz_ns | TIMESTAMP_NS (read only: DuckDB has no zoned nanosecond type) | — |
 * | string | VARCHAR | BYTE_ARRAY UTF8 |
 * | uuid | UUID | FIXED_LEN_BYTE_ARRAY(16) UUID |
 * | fixed[L] | BLOB | BYTE_ARRAY (DuckDB cannot write FIXED_LEN_BYTE_ARRAY for a blob) |
 * | binary | BLOB | BYTE_ARRAY |
 * | struct | STRUCT("name" type, …) | group |
 * | list | type[] | 3-level LIST (`list`/`element`) |
 * | map | MAP(key, value) | MAP (`key_value`/`key`/`value`) |
 * | unknown | "NULL" | (never written: the spec keeps unknown columns out of data files) |
 *
 * Names in STRUCT types are quoted, so any Iceberg field name survives.
 */
import type { DuckDBConnection, DuckDBType } from '@duckdb/node-api';
import { FloeError, UnsupportedError, ValidationError } from '../errors.js';
import { decimalParams, primitiveKind } from '../iceberg/schema-types.js';
import type { IcebergType, PrimitiveType } from '../iceberg/types.js';
import { sqlIdent } from './instance.js';

/** Options of {@link duckdbType}. */
export interface DuckDBTypeOptions {
  /**
   * True when the type is for writing Parquet: types DuckDB cannot write faithfully
   * (`timestamptz_ns`, `unknown`) are refused instead of approximated.
   */
  forWrite?: boolean;
}

/**
 * The DuckDB type (SQL) holding values of an Iceberg type.
 * @param what names the field in error messages
 * @throws UnsupportedError for types DuckDB cannot hold (variant, geometry, geography), and with
 *   `forWrite` for `timestamptz_ns` and `unknown`
 */
export function duckdbType(type: IcebergType, what = 'type', options: DuckDBTypeOptions = {}): string {
  if (typeof type === 'string') return primitiveDuckDBType(type, what, options);
  switch (type.type) {
    case 'struct': {
      if (type.fields.length === 0) {
        throw new UnsupportedError(`duckdb-types: ${what}: DuckDB cannot hold an empty struct`);
      }
      const seen = new Map<string, string>();
      const parts = type.fields.map((f) => {
        // DuckDB resolves struct entry names case-insensitively and refuses duplicates.
        const folded = f.name.toLowerCase();
        const other = seen.get(folded);
        if (other !== undefined) {
          throw new UnsupportedError(
            `duckdb-types: ${what}: fields ${JSON.stringify(other)} and ${JSON.stringify(f.name)} differ only in case, which DuckDB cannot hold`,
          );
        }
        seen.set(folded, f.name);
        return `${sqlIdent(f.name)} ${duckdbType(f.type, `${what}.${f.name}`, options)}`;
      });
      return `STRUCT(${parts.join(', ')})`;
    }
    case 'list':
      return `${duckdbType(type.element, `${what}.element`, options)}[]`;
    case 'map':
      return `MAP(${duckdbType(type.key, `${what}.key`, options)}, ${duckdbType(type.value, `${what}.value`, options)})`;
    default:
      throw new ValidationError(`duckdb-types: ${what}: not an Iceberg type: ${JSON.stringify(type)}`);
  }
}

function primitiveDuckDBType(type: PrimitiveType, what: string, options: DuckDBTypeOptions): string {
  const kind = primitiveKind(type);
  switch (kind) {
    case 'boolean':
      return 'BOOLEAN';
    case 'int':
      return 'INTEGER';
    case 'long':
      return 'BIGINT';
    case 'float':
      return 'FLOAT';
    case 'double':
      return 'DOUBLE';
    case 'decimal': {
      const p = decimalParams(type);
      if (!p || p.precision < 1 || p.precision > 38 || p.scale > p.precision) {
        throw new ValidationError(`duckdb-types: ${what}: invalid decimal type ${type}`);
      }
      return `DECIMAL(${p.precision}, ${p.scale})`;
    }
    case 'date':
      return 'DATE';
    case 'time':
      return 'TIME';
    case 'timestamp':
      return 'TIMESTAMP';
    case 'timestamptz':
      return 'TIMESTAMPTZ';
    case 'timestamp_ns':
      return 'TIMESTAMP_NS';
    case 'timestamptz_ns':
      if (options.forWrite) {
        // TIMESTAMP_NS would be written with isAdjustedToUTC=false: a different Iceberg type.
        throw new UnsupportedError(
          `duckdb-types: ${what}: timestamptz_ns cannot be written through DuckDB (it has no UTC-adjusted nanosecond timestamp)`,
        );
      }
      return 'TIMESTAMP_NS';
    case 'string':
      return 'VARCHAR';
    case 'uuid':
      return 'UUID';
    case 'fixed':
    case 'binary':
      return 'BLOB';
    case 'unknown':
      if (options.forWrite) {
        throw new UnsupportedError(`duckdb-types: ${what}: unknown-typed columns are not stored in data files`);
      }
      return '"NULL"';
    default:
      throw new UnsupportedError(`duckdb-types: ${what}: type ${type} is not supported by DuckDB`);
  }
}

/** Type lists already resolved (the same few schemas are written over and over). */
const typeCache = new Map<string, DuckDBType[]>();

/**
 * DuckDB's own type objects for type strings of {@link duckdbType} (what a table function declares
 * for its columns), as a prepared `SELECT CAST(NULL AS …)` on `conn` reports them; cached.
 */
export async function duckdbTypesOf(conn: DuckDBConnection, ddlTypes: readonly string[]): Promise<DuckDBType[]> {
  const key = ddlTypes.join('\u0000');
  const cached = typeCache.get(key);
  if (cached) return cached;
  const sql = `SELECT ${ddlTypes.map((t, i) => `CAST(NULL AS ${t}) AS c${i}`).join(', ')}`;
  let stmt;
  try {
    stmt = await conn.prepare(sql);
  } catch (e) {
    throw new FloeError('DUCKDB_QUERY', `duckdb: ${e instanceof Error ? e.message : String(e)} (in: ${sql.slice(0, 200)})`, { cause: e });
  }
  try {
    const types = ddlTypes.map((_, i) => stmt.columnType(i));
    if (typeCache.size > 256) typeCache.clear();
    typeCache.set(key, types);
    return types;
  } finally {
    stmt.destroySync();
  }
}
