/**
 * A minimal protobuf wire-format reader and writer: just enough for the KPL aggregation format
 * (varints, length-delimited fields, skipping unknown fields). No schema, no code generation.
 *
 * Varints are decoded as numbers: every varint the KPL format carries is a table index, so a value
 * beyond 2^53 can only come from a corrupt record, which the caller treats as not aggregated.
 */
import { ValidationError } from '../../errors.js';

/** Protobuf wire types. Groups (3, 4) are deprecated and rejected. */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_FIXED32 = 5;

/** One field read from a message: its number, wire type, and value. */
export type ProtoField =
  | { field: number; wireType: typeof WIRE_VARINT; value: number }
  | { field: number; wireType: typeof WIRE_LENGTH_DELIMITED; value: Uint8Array }
  | { field: number; wireType: typeof WIRE_FIXED64 | typeof WIRE_FIXED32; value: Uint8Array };

/** Sequential reader over one message's bytes. Throws ValidationError on malformed input. */
export class ProtoReader {
  private pos = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** True when every byte has been consumed. */
  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  /** Reads a varint as a (safe) integer. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.bytes[this.pos];
      if (b === undefined) throw new ValidationError('protobuf: truncated varint');
      this.pos++;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) throw new ValidationError('protobuf: varint beyond 2^53');
        return result;
      }
      scale *= 128;
    }
    throw new ValidationError('protobuf: varint longer than 10 bytes');
  }

  /** Reads `n` raw bytes (a view, not a copy). */
  private take(n: number): Uint8Array {
    if (n > this.bytes.length - this.pos) {
      throw new ValidationError(`protobuf: field of ${n} bytes runs past the end of the message`);
    }
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads the next field (tag and value). */
  next(): ProtoField {
    const tag = this.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 0) throw new ValidationError('protobuf: field number 0');
    switch (wireType) {
      case WIRE_VARINT:
        return { field, wireType, value: this.varint() };
      case WIRE_LENGTH_DELIMITED:
        return { field, wireType, value: this.take(this.varint()) };
      case WIRE_FIXED64:
        return { field, wireType, value: this.take(8) };
      case WIRE_FIXED32:
        return { field, wireType, value: this.take(4) };
      default:
        throw new ValidationError(`protobuf: unsupported wire type ${wireType} (field ${field})`);
    }
  }
}

/** Appends protobuf fields to a growing buffer. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  /** Encodes a non-negative safe integer as a varint. */
  static varintBytes(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0) throw new ValidationError(`protobuf: cannot encode varint ${n}`);
    const out: number[] = [];
    let v = n;
    while (v >= 0x80) {
      out.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return Uint8Array.from(out);
  }

  /** Writes a varint field. */
  uint(field: number, value: number): this {
    this.push(ProtoWriter.varintBytes(field * 8 + WIRE_VARINT));
    this.push(ProtoWriter.varintBytes(value));
    return this;
  }

  /** Writes a length-delimited field (bytes, string, or embedded message). */
  bytes(field: number, value: Uint8Array): this {
    this.push(ProtoWriter.varintBytes(field * 8 + WIRE_LENGTH_DELIMITED));
    this.push(ProtoWriter.varintBytes(value.length));
    this.push(value);
    return this;
  }

  /** Writes a UTF-8 string field. */
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** The bytes written so far. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}
