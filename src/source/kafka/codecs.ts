/**
 * The compression codecs kafkajs lacks (it decompresses gzip only), from small pure-JavaScript
 * packages (no native build, no dependencies): snappy (`snappyjs`, raw blocks and the xerial
 * framing the Java producer writes), lz4 (`lz4js`, the LZ4 frame format Kafka uses) and zstd
 * (`fzstd`, decompression only). floe only consumes, so compressing is refused.
 */
import { createRequire } from 'node:module';
import { decompress as zstdDecompress } from 'fzstd';
import { FloeError } from '../../errors.js';

const require = createRequire(import.meta.url);
const snappy = require('snappyjs') as { uncompress(data: Uint8Array, maxLength?: number): Uint8Array };
const lz4 = require('lz4js') as { decompress(data: Uint8Array): Uint8Array | number[] };

/** The largest decompressed batch accepted (a bound against decompression bombs). */
const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/** The magic of snappy-java's stream framing (`\x82SNAPPY\x00`), then two int32 versions. */
const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];

/** Snappy as Kafka producers write it: raw, or xerial-framed blocks (`[int32 length][raw block]…`). */
export function snappyDecompress(data: Uint8Array): Uint8Array {
  const xerial = data.length >= 16 && XERIAL_MAGIC.every((b, i) => data[i] === b);
  if (!xerial) return snappy.uncompress(data, MAX_DECOMPRESSED_BYTES);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let p = 16; p < data.length; ) {
    if (p + 4 > data.length) throw new Error('snappy: truncated xerial block header');
    const n = view.getInt32(p);
    p += 4;
    if (n < 0 || p + n > data.length) throw new Error('snappy: truncated xerial block');
    const part = snappy.uncompress(data.subarray(p, p + n), MAX_DECOMPRESSED_BYTES - total);
    parts.push(part);
    total += part.length;
    p += n;
  }
  return Buffer.concat(parts, total);
}

/** LZ4 frames (Kafka's lz4 since message format v1 with correct checksums). */
export function lz4Decompress(data: Uint8Array): Uint8Array {
  const out = lz4.decompress(data);
  if (out.length > MAX_DECOMPRESSED_BYTES) throw new Error(`lz4: a batch of more than ${MAX_DECOMPRESSED_BYTES} bytes`);
  return out instanceof Uint8Array ? out : Uint8Array.from(out);
}

/** Zstandard frames. */
export function zstdDecompressBatch(data: Uint8Array): Uint8Array {
  return zstdDecompress(data);
}

/** A kafkajs codec (`CompressionCodecs[type] = () => codec`) that decompresses with `fn`. */
export function kafkaCodec(name: string, fn: (data: Uint8Array) => Uint8Array): () => { compress(): never; decompress(buffer: Buffer): Promise<Buffer> } {
  const codec = {
    compress(): never {
      throw new FloeError('UNSUPPORTED', `kafka: floe reads ${name} batches but does not write them`);
    },
    async decompress(buffer: Buffer): Promise<Buffer> {
      try {
        const out = fn(buffer);
        return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
      } catch (e) {
        throw new FloeError('SOURCE_READ_FAILED', `kafka: a record batch compressed with ${name} cannot be decompressed: ${(e as Error).message}`, { cause: e });
      }
    },
  };
  return () => codec;
}
