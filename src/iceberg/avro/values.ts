/**
 * Iceberg primitive values in Avro (spec Appendix A, "Avro"): the Avro schema for an Iceberg
 * type, and conversions between avsc's decoded values and floe's in-memory {@link IcebergValue}.
 *
 * Used for partition tuples, whose Avro types follow the partition spec's result types. Reading
 * derives the Iceberg representation from the Avro schema alone (logical types say what a long
 * or a fixed means), so manifests can be decoded without the table metadata.
 */
import { ValidationError } from '../../errors.js';
import { bigEndianToBigInt, bytesToUuid, uuidToBytes } from '../conversions.js';
import { decimalParams, fixedLength, primitiveKind } from '../schema-types.js';
import type { IcebergValue, PrimitiveType } from '../types.js';
import type { AvroNode } from './avro-schema.js';

/** Minimum bytes of a two's complement integer holding any unscaled value of `precision` digits. */
export function decimalRequiredBytes(precision: number): number {
  const max = 10n ** BigInt(precision);
  let bytes = 1;
  while (2n ** BigInt(8 * bytes - 1) < max) bytes++;
  return bytes;
}

/** Tracks Avro named types already defined in one schema: a name may only be defined once. */
export class AvroNames {
  private readonly defined = new Set<string>();
  /** Returns the definition the first time a name is used, and a reference to it afterwards. */
  named(name: string, definition: Record<string, unknown>): unknown {
    if (this.defined.has(name)) return name;
    this.defined.add(name);
    return definition;
  }
}

/**
 * The Avro schema of an Iceberg primitive type (spec Appendix A). Named types follow Iceberg
 * Java's names (`decimal_P_S`, `uuid_fixed`, `fixed_L`) so the output matches the reference.
 */
export function avroSchemaForPrimitive(type: PrimitiveType, names: AvroNames, what: string): unknown {
  const kind = kindOf(type, what);
  switch (kind) {
    case 'boolean':
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'string':
      return kind;
    case 'binary':
      return 'bytes';
    case 'unknown':
      return 'null';
    case 'date':
      return { type: 'int', logicalType: 'date' };
    case 'time':
      return { type: 'long', logicalType: 'time-micros' };
    case 'timestamp':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': false };
    case 'timestamptz':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true };
    case 'timestamp_ns':
      return { type: 'long', logicalType: 'timestamp-nanos', 'adjust-to-utc': false };
    case 'timestamptz_ns':
      return { type: 'long', logicalType: 'timestamp-nanos', 'adjust-to-utc': true };
    case 'uuid':
      return names.named('uuid_fixed', { type: 'fixed', name: 'uuid_fixed', size: 16, logicalType: 'uuid' });
    case 'decimal': {
      const { precision, scale } = decimalParams(type)!;
      const name = `decimal_${precision}_${scale < 0 ? `n${-scale}` : scale}`;
      return names.named(name, { type: 'fixed', name, size: decimalRequiredBytes(precision), logicalType: 'decimal', precision, scale });
    }
    case 'fixed': {
      const size = fixedLength(type)!;
      return names.named(`fixed_${size}`, { type: 'fixed', name: `fixed_${size}`, size });
    }
    default:
      throw new ValidationError(`avro: ${what}: unsupported partition type '${String(type)}'`);
  }
}

/** The primitive kind of a partition type, as a ValidationError naming the field when unknown. */
function kindOf(type: PrimitiveType, what: string): string {
  try {
    return primitiveKind(type) ?? 'nested';
  } catch (e) {
    throw new ValidationError(`avro: ${what}: unsupported partition type '${String(type)}'`, { cause: e });
  }
}

/**
 * Converts an in-memory value to what avsc encodes for `avroSchemaForPrimitive(type)`.
 * Validates the representation (bigint for long-like types, etc.) so mistakes name the field.
 */
export function icebergToAvro(type: PrimitiveType, v: IcebergValue, what: string): unknown {
  if (v === null) return null;
  const bad = (expected: string): never => {
    throw new ValidationError(`avro: ${what}: expected ${expected} for type ${type}, got ${describe(v)}`);
  };
  switch (kindOf(type, what)) {
    case 'boolean':
      return typeof v === 'boolean' ? v : bad('a boolean');
    case 'int':
    case 'date':
      return typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31 ? v : bad('a 32-bit integer number');
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return typeof v === 'bigint' ? v : bad('a bigint');
    case 'float':
    case 'double':
      return typeof v === 'number' ? v : bad('a number');
    case 'string':
      return typeof v === 'string' ? v : bad('a string');
    case 'uuid':
      return typeof v === 'string' && UUID_RE.test(v) ? toBuffer(uuidToBytes(v)) : bad('a uuid string');
    case 'binary':
      return v instanceof Uint8Array ? toBuffer(v) : bad('a Uint8Array');
    case 'decimal':
      if (typeof v !== 'bigint') return bad('a bigint (unscaled decimal)');
      return Buffer.from(twosComplement(v, decimalRequiredBytes(decimalParams(type)!.precision), what));
    case 'fixed': {
      const size = fixedLength(type)!;
      return v instanceof Uint8Array && v.length === size ? toBuffer(v) : bad(`a Uint8Array of ${size} bytes`);
    }
    case 'unknown':
      return bad('null');
    default:
      throw new ValidationError(`avro: ${what}: unsupported partition type '${String(type)}'`);
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Converts a decoded Avro value to the in-memory representation, guided by the writer schema:
 * long → bigint; decimal (fixed or bytes) → unscaled bigint; uuid (fixed(16) or string) →
 * lowercase canonical string; other fixed/bytes → Uint8Array; date/int → number.
 * @param uuidHint treat a plain fixed(16) as a uuid (writers that omit the logical type)
 */
export function avroToIceberg(node: AvroNode, v: unknown, what: string, uuidHint = false): IcebergValue {
  if (v === null || v === undefined) return null;
  switch (node.kind) {
    case 'union': {
      const branches = node.branches.filter((b) => !(b.kind === 'primitive' && b.type === 'null'));
      if (branches.length !== 1) throw new ValidationError(`avro: ${what}: unsupported union of ${branches.length} non-null types`);
      return avroToIceberg(branches[0]!, v, what, uuidHint);
    }
    case 'primitive':
      switch (node.type) {
        case 'null':
          return null;
        case 'boolean':
        case 'int':
        case 'float':
        case 'double':
          return v as boolean | number;
        case 'long':
          return typeof v === 'bigint' ? v : BigInt(v as number);
        case 'string':
          if (node.logicalType === 'uuid') return String(v).toLowerCase();
          return v as string;
        case 'bytes':
          if (node.logicalType === 'decimal') return bigEndianToBigInt(v as Uint8Array);
          return copyBytes(v as Uint8Array);
      }
      break;
    case 'fixed': {
      const b = v as Uint8Array;
      if (node.logicalType === 'decimal') return bigEndianToBigInt(b);
      if (node.size === 16 && (node.logicalType === 'uuid' || uuidHint)) return bytesToUuid(b);
      return copyBytes(b);
    }
    case 'enum':
      return node.symbols[Number(v)] ?? String(v);
    default:
      break;
  }
  throw new ValidationError(`avro: ${what}: unsupported Avro type ${node.kind} for a partition value`);
}

/** A detached plain Uint8Array (not a Buffer view into a whole decompressed block). */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/** A Buffer view of a Uint8Array (avsc's bytes/fixed types require Buffer instances). */
export function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Big-endian two's complement of `v` in exactly `size` bytes (sign-extended). */
function twosComplement(v: bigint, size: number, what: string): Uint8Array {
  const bits = BigInt(size * 8);
  const min = -(1n << (bits - 1n));
  const max = (1n << (bits - 1n)) - 1n;
  if (v < min || v > max) throw new ValidationError(`avro: ${what}: decimal ${v} does not fit in ${size} bytes`);
  let u = BigInt.asUintN(size * 8, v);
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}

function describe(v: IcebergValue): string {
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Map) return 'a Map';
  return `${typeof v} ${String(v)}`;
}
