/**
 * Iceberg data types and schemas, in the spec's JSON shape (`format/spec.md`, Appendix C), so
 * metadata files and REST payloads share one set of types.
 *
 * Primitive types are their JSON strings: `"int"`, `"decimal(9,2)"`, `"fixed[16]"`, …
 */

/** A primitive type in its JSON form. */
export type PrimitiveType =
  | 'boolean'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'timestamp_ns'
  | 'timestamptz_ns'
  | 'string'
  | 'uuid'
  | 'binary'
  | 'unknown'
  /** v3 semi-structured and geospatial types (recognized so v1/v2 tables can refuse them). */
  | 'variant'
  | 'geometry'
  | 'geography'
  | `geometry(${string})`
  | `geography(${string})`
  | `decimal(${number},${number})`
  | `decimal(${number}, ${number})`
  | `fixed[${number}]`;

/** A field of a struct (a column at top level). */
export interface NestedField {
  id: number;
  name: string;
  required: boolean;
  type: IcebergType;
  doc?: string;
  /** v3: value for rows written before the field existed (JSON single-value form). */
  'initial-default'?: unknown;
  /** v3: value writers use when none is given (JSON single-value form). */
  'write-default'?: unknown;
}

/** A struct type. */
export interface StructType {
  type: 'struct';
  fields: NestedField[];
}

/** A list type. */
export interface ListType {
  type: 'list';
  'element-id': number;
  element: IcebergType;
  'element-required': boolean;
}

/** A map type. */
export interface MapType {
  type: 'map';
  'key-id': number;
  key: IcebergType;
  'value-id': number;
  value: IcebergType;
  'value-required': boolean;
}

/** Any Iceberg type. */
export type IcebergType = PrimitiveType | StructType | ListType | MapType;

/** A table schema: a struct with an id. */
export interface Schema extends StructType {
  'schema-id': number;
  'identifier-field-ids'?: number[];
}

/**
 * The in-memory representation of a single Iceberg value, used by transforms, bounds, partition
 * tuples and the binary/JSON single-value serializations:
 *
 * | Iceberg type | JS value |
 * |---|---|
 * | boolean | boolean |
 * | int, date (days) | number |
 * | long | bigint |
 * | float, double | number |
 * | decimal(P,S) | bigint (the unscaled value; the type gives the scale) |
 * | time, timestamp, timestamptz (µs) | bigint |
 * | timestamp_ns, timestamptz_ns (ns) | bigint |
 * | string | string |
 * | uuid | string (lowercase, canonical 8-4-4-4-12 form) |
 * | fixed, binary | Uint8Array |
 * | struct | IcebergValue[] in field order |
 * | list | IcebergValue[] |
 * | map | Map<IcebergValue, IcebergValue> |
 *
 * `null` is a null value.
 */
export type IcebergValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | IcebergValue[]
  | Map<IcebergValue, IcebergValue>;
