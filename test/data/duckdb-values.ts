/**
 * Test helper: converts values DuckDB reads back into the Iceberg in-memory representation
 * (`IcebergValue`), so tests can compare written and read values exactly.
 */
import assert from 'node:assert/strict';
import {
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  DuckDBUUIDValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { IcebergType, IcebergValue } from '../../src/iceberg/types.js';

/** The Iceberg value of a DuckDB value read from a column of Iceberg type `type`. */
export function fromDuckDB(type: IcebergType, v: DuckDBValue): IcebergValue {
  if (v === null || v === undefined) return null;
  if (typeof type === 'string') {
    if (v instanceof DuckDBDecimalValue) return v.value;
    if (v instanceof DuckDBDateValue) return v.days;
    if (v instanceof DuckDBTimeValue) return v.micros;
    if (v instanceof DuckDBTimestampTZValue) return v.micros;
    if (v instanceof DuckDBTimestampValue) return v.micros;
    if (v instanceof DuckDBTimestampNanosecondsValue) return v.nanos;
    if (v instanceof DuckDBUUIDValue) return v.toString();
    if (v instanceof DuckDBBlobValue) return Uint8Array.from(v.bytes);
    // DuckDB reads an INT32 column as a number; Iceberg long values are bigints.
    if (type === 'long' && typeof v === 'number') return BigInt(v);
    return v as IcebergValue;
  }
  switch (type.type) {
    case 'struct': {
      assert.ok(v instanceof DuckDBStructValue, 'struct value');
      return type.fields.map((f) => fromDuckDB(f.type, v.entries[f.name] ?? null));
    }
    case 'list':
      assert.ok(v instanceof DuckDBListValue, 'list value');
      return v.items.map((x) => fromDuckDB(type.element, x));
    case 'map':
      assert.ok(v instanceof DuckDBMapValue, 'map value');
      return new Map(v.entries.map((e) => [fromDuckDB(type.key, e.key), fromDuckDB(type.value, e.value)]));
  }
}
