/**
 * Puffin files (`format/puffin-spec.md`): `PFA1`, the blobs back to back, then the footer
 *
 *     PFA1 | FooterPayload (UTF-8 JSON) | u32 LE payload size | u32 LE flags | PFA1
 *
 * whose JSON lists each blob's type, fields, snapshot, offset and length. floe writes
 * uncompressed blobs and footers only (all a deletion vector needs); it reads footers so that
 * a blob can be located, leaving blob decompression to whoever understands the blob type.
 */
import { UnsupportedError, ValidationError } from '../errors.js';
import { DELETION_VECTOR_BLOB_TYPE, encodeDeletionVector, encodeDeletionVectorBits } from './deletion-vector.js';
import { parseJson, stringifyJson, toBigInt, type JsonValue } from './json.js';

const MAGIC = Uint8Array.of(0x50, 0x46, 0x41, 0x31);
/** Payload size, flags and closing magic. */
const FOOTER_TAIL_BYTES = 12;
const FLAG_FOOTER_COMPRESSED = 1;
/** `MetadataColumns.ROW_POSITION` (`_pos`): the field a deletion vector is computed for. */
const ROW_POSITION_FIELD_ID = 2147483645;

/** One blob's entry in a Puffin footer (JSON names as in the spec). */
export interface PuffinBlobMetadata {
  type: string;
  /** Field ids the blob was computed for. */
  fields: number[];
  /** −1 for deletion vectors: the snapshot is inherited from the manifest entry. */
  'snapshot-id': bigint;
  'sequence-number': bigint;
  /** Where the blob starts in the file. */
  offset: number;
  /** The blob's stored (possibly compressed) length. */
  length: number;
  /** Absent when the blob is stored uncompressed. */
  'compression-codec'?: string;
  properties?: Record<string, string>;
}

/** A Puffin file's footer payload. */
export interface PuffinFooter {
  blobs: PuffinBlobMetadata[];
  /** File properties, e.g. `created-by`; empty when the footer has none. */
  properties: Record<string, string>;
}

/** One blob to write with {@link writePuffin}. */
export interface PuffinBlobInput {
  type: string;
  fields: number[];
  snapshotId: bigint;
  sequenceNumber: bigint;
  /** The blob's bytes, stored uncompressed. */
  data: Uint8Array;
  properties?: Record<string, string>;
}

function isMagicAt(file: Uint8Array, at: number): boolean {
  for (let i = 0; i < 4; i++) if (file[at + i] !== MAGIC[i]) return false;
  return true;
}

function isObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: JsonValue, fail: (m: string) => never, name: string): Record<string, string> {
  if (!isObject(v)) return fail(`${name} must be an object`);
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') fail(`${name}.${k} must be a string`);
    out[k] = value as string;
  }
  return out;
}

/**
 * Reads and checks the footer of a whole Puffin file.
 * @param file the file's bytes
 * @param what names the file in error messages
 * @throws UnsupportedError for an LZ4-compressed footer or unknown flags; ValidationError
 *   (`puffin: <what>: …`) for anything malformed, including blobs outside the blob area
 */
export function readPuffinFooter(file: Uint8Array, what: string): PuffinFooter {
  const fail = (message: string): never => {
    throw new ValidationError(`puffin: ${what}: ${message}`);
  };
  const minimum = MAGIC.length * 2 + FOOTER_TAIL_BYTES;
  if (file.length < minimum) fail(`file is ${file.length} bytes, shorter than the smallest Puffin file (${minimum})`);
  if (!isMagicAt(file, 0)) fail('missing PFA1 magic at the start');
  if (!isMagicAt(file, file.length - 4)) fail('missing PFA1 magic at the end');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const flags = view.getUint32(file.length - 8, true);
  const payloadSize = view.getInt32(file.length - 12, true);
  const footerStart = file.length - FOOTER_TAIL_BYTES - payloadSize - MAGIC.length;
  if (payloadSize < 0 || footerStart < MAGIC.length) fail(`footer payload size ${payloadSize} does not fit the file`);
  if (!isMagicAt(file, footerStart)) fail(`missing PFA1 magic at the footer start (byte ${footerStart})`);
  if (flags & FLAG_FOOTER_COMPRESSED) {
    throw new UnsupportedError(`puffin: ${what}: LZ4-compressed footers are not supported`);
  }
  if (flags !== 0) throw new UnsupportedError(`puffin: ${what}: unknown footer flags 0x${flags.toString(16)}`);

  let text: string;
  try {
    const payload = file.subarray(footerStart + 4, footerStart + 4 + payloadSize);
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch (e) {
    throw new ValidationError(`puffin: ${what}: footer payload is not UTF-8`, { cause: e });
  }
  const json = parseJson(text, `puffin footer of ${what}`);
  if (!isObject(json)) return fail('footer payload is not a JSON object');
  const blobsJson = json['blobs'];
  if (!Array.isArray(blobsJson)) return fail('footer has no blobs list');
  const blobs = blobsJson.map((b, i) => readBlobMetadata(b, i, footerStart, fail));
  const propertiesJson = json['properties'];
  const properties = propertiesJson === undefined ? {} : stringMap(propertiesJson, fail, 'properties');
  return { blobs, properties };
}

function readBlobMetadata(
  b: JsonValue,
  i: number,
  footerStart: number,
  fail: (message: string) => never,
): PuffinBlobMetadata {
  const name = `blobs[${i}]`;
  if (!isObject(b)) return fail(`${name} is not an object`);
  const type = b['type'];
  if (typeof type !== 'string') return fail(`${name}.type must be a string`);
  const fields = b['fields'];
  if (!Array.isArray(fields)) return fail(`${name}.fields must be a list`);
  for (const f of fields) {
    if (typeof f !== 'number' || !Number.isInteger(f) || f < -(2 ** 31) || f >= 2 ** 31) {
      fail(`${name}.fields holds ${String(f)}, not an int`);
    }
  }
  const long = (key: string): bigint => {
    const v = b[key];
    if (v === undefined) return fail(`${name}.${key} is missing`);
    return toBigInt(v, `puffin ${name}.${key}`);
  };
  const nonNegative = (key: string): number => {
    const v = b[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      return fail(`${name}.${key} must be a non-negative integer, got ${String(v)}`);
    }
    return v;
  };
  const out: PuffinBlobMetadata = {
    type,
    fields: fields as number[],
    'snapshot-id': long('snapshot-id'),
    'sequence-number': long('sequence-number'),
    offset: nonNegative('offset'),
    length: nonNegative('length'),
  };
  if (out.offset < MAGIC.length || out.offset + out.length > footerStart) {
    fail(`${name} (offset ${out.offset}, length ${out.length}) lies outside the blob area [4, ${footerStart})`);
  }
  const codec = b['compression-codec'];
  if (codec !== undefined && codec !== null) {
    if (typeof codec !== 'string') fail(`${name}.compression-codec must be a string`);
    out['compression-codec'] = codec as string;
  }
  const properties = b['properties'];
  if (properties !== undefined) out.properties = stringMap(properties, fail, `${name}.properties`);
  return out;
}

/**
 * Writes a Puffin file holding `blobs` uncompressed, with an uncompressed footer whose JSON has
 * the same field order as Java's `FileMetadataParser`, so equal inputs give equal bytes.
 * @param blobs the blobs, stored in this order
 * @param properties the file properties; defaults to `created-by: floe` (pass `{}` for none)
 * @returns the file, each blob's footer entry (what a manifest entry needs) and the footer size
 *   (from the footer's opening magic to the end: Iceberg's `file-footer-size-in-bytes`)
 */
export function writePuffin(
  blobs: PuffinBlobInput[],
  properties: Record<string, string> = { 'created-by': 'floe' },
): { bytes: Uint8Array; blobs: PuffinBlobMetadata[]; footerSize: number } {
  const metadata: PuffinBlobMetadata[] = [];
  let offset = MAGIC.length;
  for (const [i, blob] of blobs.entries()) {
    for (const f of blob.fields) {
      if (!Number.isInteger(f) || f < -(2 ** 31) || f >= 2 ** 31) {
        throw new ValidationError(`puffin: blob ${i}: field id ${f} is not an int`);
      }
    }
    const entry: PuffinBlobMetadata = {
      type: blob.type,
      fields: [...blob.fields],
      'snapshot-id': blob.snapshotId,
      'sequence-number': blob.sequenceNumber,
      offset,
      length: blob.data.length,
    };
    if (blob.properties && Object.keys(blob.properties).length > 0) entry.properties = { ...blob.properties };
    metadata.push(entry);
    offset += blob.data.length;
  }
  // Java omits empty property maps; mirror it so footers compare equal.
  const footer = Object.keys(properties).length > 0 ? { blobs: metadata, properties } : { blobs: metadata };
  const payload = new TextEncoder().encode(stringifyJson(footer));
  const footerSize = MAGIC.length + payload.length + FOOTER_TAIL_BYTES;
  const bytes = new Uint8Array(offset + footerSize);
  bytes.set(MAGIC, 0);
  let at = MAGIC.length;
  for (const blob of blobs) {
    bytes.set(blob.data, at);
    at += blob.data.length;
  }
  bytes.set(MAGIC, at);
  bytes.set(payload, at + 4);
  const view = new DataView(bytes.buffer);
  view.setInt32(at + 4 + payload.length, payload.length, true);
  view.setUint32(at + 8 + payload.length, 0, true);
  bytes.set(MAGIC, at + 12 + payload.length);
  return { bytes, blobs: metadata, footerSize };
}

/**
 * The Puffin blob of a deletion vector, as Iceberg Java's `BaseDVFileWriter` writes it: field
 * `_pos`, snapshot id and sequence number −1 (inherited from the manifest entry at commit), and
 * the `referenced-data-file` and `cardinality` properties readers use to match it to its file.
 * @param referencedDataFile the data file's location exactly as table metadata has it
 * @param positions the deleted positions, ascending and unique, or as set bits (bit `p % 32` of
 *   word `p / 32`) with their count
 */
export function deletionVectorPuffinBlob(referencedDataFile: string, positions: ArrayLike<number> | { bits: Uint32Array; cardinality: number }): PuffinBlobInput {
  const bits = 'bits' in positions ? positions : undefined;
  return {
    type: DELETION_VECTOR_BLOB_TYPE,
    fields: [ROW_POSITION_FIELD_ID],
    snapshotId: -1n,
    sequenceNumber: -1n,
    data: bits ? encodeDeletionVectorBits(bits.bits) : encodeDeletionVector(positions as ArrayLike<number>),
    properties: { 'referenced-data-file': referencedDataFile, cardinality: String(bits ? bits.cardinality : (positions as ArrayLike<number>).length) },
  };
}
