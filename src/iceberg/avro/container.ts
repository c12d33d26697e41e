/**
 * Avro object container files, entirely in memory (Avro 1.11 spec, "Object Container Files"):
 *
 *     header: "Obj" 0x01, file metadata (map<bytes>), 16-byte sync marker
 *     blocks: record count (long), byte size (long), the records (compressed), sync marker
 *
 * The framing is done here rather than with avsc's stream classes because manifests are small,
 * read whole, and must be decoded synchronously from a `Uint8Array` (no filesystem, no events).
 * avsc encodes and decodes the datums inside each block.
 *
 * Codecs: `null` and `deflate` (raw RFC 1951 deflate, no zlib header, as the Avro spec requires)
 * for reading and writing; `snappy` for reading only.
 */
import { randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { UnsupportedError, ValidationError } from '../../errors.js';
import { avscType, compileSchema, type CompiledSchema } from './avro-schema.js';
import { snappyAvroBlock } from './snappy.js';

/** Compression codecs floe writes. */
export type AvroCodec = 'null' | 'deflate';

/** The 4 magic bytes that open every Avro object container file: `Obj` 0x01. */
export const AVRO_MAGIC: Uint8Array = Uint8Array.of(0x4f, 0x62, 0x6a, 0x01);

/** Uncompressed bytes after which the writer closes a block (Avro Java uses a similar interval). */
const BLOCK_TARGET_BYTES = 64 * 1024;

/**
 * Compiled schemas by their JSON text, reading and writing apart. A pipeline reads and writes
 * manifests and manifest lists at every commit, always with the same few schemas; compiling one
 * (avsc generates its reader and writer functions) was the largest source of garbage per commit
 * after the metadata JSON (issue 12). A compiled schema holds no state between files.
 */
class SchemaCache<T> {
  private readonly entries = new Map<string, T>();
  constructor(private readonly maxEntries: number) {}
  get(text: string, compile: () => T): T {
    const hit = this.entries.get(text);
    if (hit !== undefined) return hit;
    const compiled = compile();
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(text, compiled);
    return compiled;
  }
}
/** A table has a few manifest schemas (one per partition type) and one manifest list schema each version. */
const readSchemas = new SchemaCache<CompiledSchema>(64);
const writeTypes = new SchemaCache<ReturnType<typeof avscType>>(64);

/** A decoded container file. */
export interface AvroFile {
  /** The writer schema, compiled (original names and field ids kept). */
  schema: CompiledSchema;
  /** The writer schema as parsed JSON. */
  schemaJson: unknown;
  /** File metadata (user keys such as `partition-spec`, and `avro.schema` / `avro.codec`), UTF-8 decoded. */
  metadata: Map<string, string>;
  /** The codec named in the header (`null` when absent). */
  codec: string;
  /** The 16-byte sync marker. */
  sync: Uint8Array;
  /** Decoded records, as avsc returns them for the compiled schema (keys `f0`, `f1`, …). */
  records: unknown[];
}

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** A cursor over bytes with the Avro primitives the container header and block framing need. */
class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
  ) {}

  truncated(context: string): never {
    throw new ValidationError(`avro: ${this.what}: truncated file (${context} at offset ${this.pos} of ${this.buf.length})`);
  }

  /** Reads a zigzag varint long; counts and sizes always fit in a double's exact range. */
  long(context: string): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (this.pos >= this.buf.length) this.truncated(context);
      if (i >= 10) throw new ValidationError(`avro: ${this.what}: malformed varint (${context} at offset ${this.pos})`);
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) break;
    }
    if (!Number.isSafeInteger(n)) {
      throw new ValidationError(`avro: ${this.what}: ${context} ${n} is out of range`);
    }
    // Zigzag: even → n/2, odd → -(n+1)/2 (arithmetic, because bitwise ops are 32-bit in JS).
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  bytes(n: number, context: string): Uint8Array {
    if (n < 0) throw new ValidationError(`avro: ${this.what}: negative length for ${context} at offset ${this.pos}`);
    if (this.pos + n > this.buf.length) this.truncated(context);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/** Appends zigzag varint longs and raw bytes. */
class Writer {
  private chunks: Uint8Array[] = [];
  private scratch = new Uint8Array(10);
  length = 0;

  long(v: number): void {
    if (!Number.isSafeInteger(v)) throw new ValidationError(`avro: cannot encode ${v} as a long`);
    let n = v >= 0 ? v * 2 : -v * 2 - 1;
    let i = 0;
    while (n >= 0x80) {
      this.scratch[i++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.scratch[i++] = n;
    this.raw(this.scratch.slice(0, i));
  }

  raw(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  /** A length-prefixed byte string. */
  bytes(b: Uint8Array): void {
    this.long(b.length);
    this.raw(b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/**
 * Parses an Avro object container file and decodes every record with the writer schema.
 * @param what names the file in error messages (e.g. its location)
 */
export function readAvroFile(bytes: Uint8Array, what = 'avro file'): AvroFile {
  const r = new Reader(bytes, what);
  if (bytes.length < 4 || !AVRO_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new ValidationError(`avro: ${what}: invalid magic bytes (not an Avro object container file)`);
  }
  r.pos = 4;

  const metadata = new Map<string, string>();
  for (;;) {
    let count = r.long('metadata block count');
    if (count === 0) break;
    if (count < 0) {
      // A negative count is followed by the block's size in bytes, which we do not need.
      count = -count;
      r.long('metadata block size');
    }
    for (let i = 0; i < count; i++) {
      const key = utf8.decode(r.bytes(r.long('metadata key length'), 'metadata key'));
      const value = utf8.decode(r.bytes(r.long('metadata value length'), `metadata value '${key}'`));
      metadata.set(key, value);
    }
  }
  const sync = r.bytes(16, 'sync marker').slice();

  const schemaText = metadata.get('avro.schema');
  if (schemaText === undefined) throw new ValidationError(`avro: ${what}: missing avro.schema in file metadata`);
  let schemaJson: unknown;
  try {
    schemaJson = JSON.parse(schemaText);
  } catch (e) {
    throw new ValidationError(`avro: ${what}: avro.schema is not valid JSON`, { cause: e });
  }
  const codec = metadata.get('avro.codec') ?? 'null';
  const decompress = codecReader(codec, what);
  // Compiled once per schema text (errors are not kept: every file with a bad schema fails).
  const schema = readSchemas.get(schemaText, () => compileSchema(schemaJson, what));

  const records: unknown[] = [];
  let blockIndex = 0;
  while (r.pos < bytes.length) {
    const blockStart = r.pos;
    const count = r.long(`block ${blockIndex} record count`);
    const size = r.long(`block ${blockIndex} size`);
    if (count < 0) throw new ValidationError(`avro: ${what}: block ${blockIndex} has a negative record count`);
    const data = r.bytes(size, `block ${blockIndex} data`);
    const marker = r.bytes(16, `block ${blockIndex} sync marker`);
    if (!marker.every((b, i) => b === sync[i])) {
      throw new ValidationError(`avro: ${what}: sync marker mismatch after block ${blockIndex} (block at offset ${blockStart})`);
    }
    const raw = decompress(data, blockIndex);
    const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let offset = 0;
    for (let i = 0; i < count; i++) {
      let res: { value: unknown; offset: number };
      try {
        res = schema.type.decode(buf, offset);
      } catch (e) {
        throw new ValidationError(`avro: ${what}: cannot decode record ${i} of block ${blockIndex}: ${(e as Error).message}`, { cause: e });
      }
      if (res.offset < 0) {
        throw new ValidationError(`avro: ${what}: block ${blockIndex} is truncated (record ${i} of ${count} runs past its end)`);
      }
      records.push(res.value);
      offset = res.offset;
    }
    if (offset !== buf.length) {
      throw new ValidationError(`avro: ${what}: block ${blockIndex} has ${buf.length - offset} bytes after its ${count} records`);
    }
    blockIndex++;
  }
  return { schema, schemaJson, metadata, codec, sync, records };
}

function codecReader(codec: string, what: string): (data: Uint8Array, block: number) => Uint8Array {
  switch (codec) {
    case 'null':
      return (d) => d;
    case 'deflate':
      return (d, block) => {
        try {
          return inflateRawSync(d);
        } catch (e) {
          throw new ValidationError(`avro: ${what}: block ${block}: invalid deflate data: ${(e as Error).message}`, { cause: e });
        }
      };
    case 'snappy':
      return (d) => snappyAvroBlock(d, what);
    default:
      throw new UnsupportedError(`avro: ${what}: unsupported codec '${codec}' (supported: null, deflate, snappy)`);
  }
}

/** Options for {@link writeAvroFile}. */
export interface WriteAvroFileOptions {
  /** The writer schema, written verbatim as `avro.schema` (field ids and other attributes kept). */
  schema: unknown;
  /** User metadata (keys must not start with `avro.`). */
  metadata: ReadonlyArray<readonly [string, string]>;
  /** Records in avsc's representation for `schema` (longs as bigint, bytes as Buffer). */
  records: readonly unknown[];
  codec?: AvroCodec;
  /** Sync marker (16 bytes); random by default. Fixed markers make output reproducible in tests. */
  sync?: Uint8Array;
  /** Names the file in error messages. */
  what?: string;
}

/** Writes an Avro object container file. */
export function writeAvroFile(opts: WriteAvroFileOptions): Uint8Array {
  const what = opts.what ?? 'avro file';
  const codec = opts.codec ?? 'deflate';
  if (codec !== 'null' && codec !== 'deflate') {
    throw new UnsupportedError(`avro: ${what}: cannot write codec '${String(codec)}' (supported: null, deflate)`);
  }
  const sync = opts.sync ?? randomBytes(16);
  if (sync.length !== 16) throw new ValidationError(`avro: ${what}: sync marker must be 16 bytes, got ${sync.length}`);
  const schemaText = JSON.stringify(opts.schema);
  const type = writeTypes.get(schemaText, () => avscType(opts.schema));

  const w = new Writer();
  w.raw(AVRO_MAGIC);
  const meta: [string, string][] = [['avro.schema', schemaText], ['avro.codec', codec]];
  for (const [k, v] of opts.metadata) {
    if (k.startsWith('avro.')) throw new ValidationError(`avro: ${what}: metadata key '${k}' is reserved`);
    meta.push([k, v]);
  }
  w.long(meta.length);
  for (const [k, v] of meta) {
    w.bytes(utf8Encoder.encode(k));
    w.bytes(utf8Encoder.encode(v));
  }
  w.long(0);
  w.raw(sync);

  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (pending.length === 0) return;
    const raw = Buffer.concat(pending, pendingBytes);
    const data = codec === 'deflate' ? deflateRawSync(raw) : raw;
    w.long(pending.length);
    w.long(data.length);
    w.raw(data);
    w.raw(sync);
    pending = [];
    pendingBytes = 0;
  };
  opts.records.forEach((rec, i) => {
    let buf: Buffer;
    try {
      buf = type.toBuffer(rec);
    } catch (e) {
      throw new ValidationError(`avro: ${what}: cannot encode record ${i}: ${(e as Error).message}`, { cause: e });
    }
    pending.push(buf);
    pendingBytes += buf.length;
    if (pendingBytes >= BLOCK_TARGET_BYTES) flush();
  });
  flush();
  return w.finish();
}
