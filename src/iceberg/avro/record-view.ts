/**
 * Field-id access to decoded Avro records. Every manifest and manifest-list reader goes through
 * this view so that fields are found by Iceberg field id, never by name (writers disagree on
 * names: 504 is `added_files_count` or `added_data_files_count`), and so that type mismatches
 * produce errors naming the file, the record and the field.
 */
import { ValidationError } from '../../errors.js';
import { nonNullBranch, type AvroNode, type AvroRecordField, type AvroRecordNode } from './avro-schema.js';
import { copyBytes } from './values.js';

/** A decoded record seen through its compiled schema. */
export class RecordView {
  constructor(
    readonly node: AvroRecordNode,
    private readonly value: Record<string, unknown>,
    /** Context for errors, e.g. `s3://…/m0.avro: entry 3`. */
    readonly what: string,
  ) {}

  /** Wraps a top-level decoded record; fails when the schema is not a record. */
  static of(node: AvroNode, value: unknown, what: string): RecordView {
    if (node.kind !== 'record') throw new ValidationError(`avro: ${what}: expected a record schema, got ${node.kind}`);
    return new RecordView(node, value as Record<string, unknown>, what);
  }

  /** The schema field with this id, if the writer wrote it. */
  field(id: number): AvroRecordField | undefined {
    return this.node.byId.get(id);
  }

  /** The raw decoded value of field `id`: undefined when the writer did not write the field. */
  raw(id: number): unknown {
    const f = this.node.byId.get(id);
    return f === undefined ? undefined : this.value[f.key];
  }

  /** The raw decoded value of the field at position `index` in the writer schema. */
  rawAt(index: number): unknown {
    const f = this.node.fields[index];
    return f === undefined ? undefined : this.value[f.key];
  }

  fail(id: number, name: string, msg: string): never {
    throw new ValidationError(`avro: ${this.what}: field ${id} (${name}) ${msg}`);
  }

  private required(id: number, name: string): unknown {
    const v = this.raw(id);
    if (v === undefined) this.fail(id, name, 'is missing from the file schema');
    if (v === null) this.fail(id, name, 'is null but required');
    return v;
  }

  /** A required string. */
  string(id: number, name: string): string {
    const v = this.required(id, name);
    return typeof v === 'string' ? v : this.fail(id, name, `must be a string, got ${typeof v}`);
  }

  /** An optional string (null when absent or null). */
  optString(id: number, name: string): string | null {
    const v = this.raw(id);
    if (v === undefined || v === null) return null;
    return typeof v === 'string' ? v : this.fail(id, name, `must be a string, got ${typeof v}`);
  }

  /** A required int or long as a number (counts, sizes, ids). */
  number(id: number, name: string): number {
    return this.toNumber(this.required(id, name), id, name);
  }

  /** An optional int or long as a number. */
  optNumber(id: number, name: string): number | null {
    const v = this.raw(id);
    return v === undefined || v === null ? null : this.toNumber(v, id, name);
  }

  /** A required long as a bigint. */
  bigint(id: number, name: string): bigint {
    return this.toBigInt(this.required(id, name), id, name);
  }

  /** An optional long as a bigint. */
  optBigint(id: number, name: string): bigint | null {
    const v = this.raw(id);
    return v === undefined || v === null ? null : this.toBigInt(v, id, name);
  }

  /** An optional boolean. */
  optBoolean(id: number, name: string): boolean | null {
    const v = this.raw(id);
    if (v === undefined || v === null) return null;
    return typeof v === 'boolean' ? v : this.fail(id, name, `must be a boolean, got ${typeof v}`);
  }

  /** A required boolean. */
  boolean(id: number, name: string): boolean {
    const v = this.optBoolean(id, name);
    return v === null ? this.fail(id, name, 'is missing or null but required') : v;
  }

  /** Optional bytes or fixed, copied out of the decoded block. */
  optBytes(id: number, name: string): Uint8Array | null {
    const v = this.raw(id);
    if (v === undefined || v === null) return null;
    return v instanceof Uint8Array ? copyBytes(v) : this.fail(id, name, 'must be bytes');
  }

  /** A required nested record. */
  record(id: number, name: string): RecordView {
    const v = this.required(id, name);
    const node = nonNullBranch(this.field(id)!.node);
    if (node?.kind !== 'record') return this.fail(id, name, 'must be a record');
    return new RecordView(node, v as Record<string, unknown>, this.what);
  }

  /** An optional array, with the schema of its elements. */
  optArray(id: number, name: string): { items: AvroNode; values: unknown[] } | null {
    const v = this.raw(id);
    if (v === undefined || v === null) return null;
    const node = nonNullBranch(this.field(id)!.node);
    if (node?.kind !== 'array' || !Array.isArray(v)) return this.fail(id, name, 'must be an array');
    return { items: node.items, values: v };
  }

  /** An optional list of numbers (split_offsets, equality_ids). */
  optNumberList(id: number, name: string): number[] | null {
    const a = this.optArray(id, name);
    return a === null ? null : a.values.map((x) => this.toNumber(x, id, name));
  }

  /**
   * An optional Iceberg map with int keys, stored as an Avro array of key/value records
   * (logical type `map`; the first field is the key, the second the value, per spec Appendix A).
   */
  optIntMap<V>(id: number, name: string, value: (v: unknown) => V): Map<number, V> | null {
    const a = this.optArray(id, name);
    if (a === null) return null;
    const items = nonNullBranch(a.items);
    if (items?.kind !== 'record' || items.fields.length < 2) {
      return this.fail(id, name, 'must be an array of key/value records');
    }
    const [kf, vf] = items.fields as [AvroRecordField, AvroRecordField];
    const out = new Map<number, V>();
    for (const e of a.values) {
      const rec = e as Record<string, unknown>;
      out.set(this.toNumber(rec[kf.key], id, name), value(rec[vf.key]));
    }
    return out;
  }

  /** Converts an int/long map value to a number, naming this field on failure. */
  toNumber(v: unknown, id: number, name: string): number {
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') {
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
        this.fail(id, name, `value ${v} exceeds 2^53`);
      }
      return Number(v);
    }
    return this.fail(id, name, `must be a number, got ${v === null ? 'null' : typeof v}`);
  }

  private toBigInt(v: unknown, id: number, name: string): bigint {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
    return this.fail(id, name, `must be an integer, got ${typeof v}`);
  }

  /** Converts a bytes map value, naming this field on failure. */
  bytesValue(v: unknown, id: number, name: string): Uint8Array {
    return v instanceof Uint8Array ? copyBytes(v) : this.fail(id, name, 'values must be bytes');
  }
}
