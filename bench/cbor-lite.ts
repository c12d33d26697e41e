/**
 * The little CBOR (RFC 8949) the fast Kinesis endpoint needs to speak `application/x-amz-cbor-1.1`:
 * encoding of null, booleans, numbers (integers as integers, others as float64), strings, byte
 * strings, arrays, maps and Dates (tag 1, epoch seconds), and decoding of what a client sends
 * (definite and indefinite lengths, half/single/double floats, tags read as their value).
 * Benchmark and test code only: it trusts its input's depth.
 */

/** The head of a data item: major type and argument. */
export function cborHead(major: number, n: number): Uint8Array {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
  if (n < 0x100000000) return Uint8Array.of(m | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  const b = new Uint8Array(9);
  b[0] = m | 27;
  new DataView(b.buffer).setBigUint64(1, BigInt(n));
  return b;
}

/** A text string item. */
export function cborText(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([cborHead(3, bytes.length), bytes]);
}

/** A float64 item. */
export function cborFloat(x: number): Uint8Array {
  const b = new Uint8Array(9);
  b[0] = 0xfb;
  new DataView(b.buffer).setFloat64(1, x);
  return b;
}

/** Encodes a value (see the module comment for what it takes). */
export function cborEncode(value: unknown): Buffer {
  const parts: Uint8Array[] = [];
  const put = (v: unknown): void => {
    if (v === null || v === undefined) parts.push(Uint8Array.of(0xf6));
    else if (v === true) parts.push(Uint8Array.of(0xf5));
    else if (v === false) parts.push(Uint8Array.of(0xf4));
    else if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) parts.push(v >= 0 ? cborHead(0, v) : cborHead(1, -1 - v));
      else parts.push(cborFloat(v));
    } else if (typeof v === 'string') parts.push(cborText(v));
    else if (v instanceof Uint8Array) parts.push(cborHead(2, v.length), v);
    else if (v instanceof Date) parts.push(Uint8Array.of(0xc1), cborFloat(v.getTime() / 1000));
    else if (Array.isArray(v)) {
      parts.push(cborHead(4, v.length));
      for (const x of v) put(x);
    } else if (typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
      parts.push(cborHead(5, entries.length));
      for (const [k, x] of entries) {
        parts.push(cborText(k));
        put(x);
      }
    } else throw new Error(`cbor: cannot encode ${typeof v}`);
  };
  put(value);
  return Buffer.concat(parts);
}

const BREAK = Symbol('break');

/** Decodes one data item (the whole buffer). Tags give their content; byte strings are Buffers. */
export function cborDecode(bytes: Uint8Array): unknown {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number): void => {
    if (at + n > buf.length) throw new Error('cbor: truncated');
  };
  const arg = (info: number): number => {
    if (info < 24) return info;
    const width = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : -1;
    if (width < 0) throw new Error(`cbor: bad additional information ${info}`);
    need(width);
    const v = width === 8 ? Number(buf.readBigUInt64BE(at)) : buf.readUIntBE(at, width);
    at += width;
    return v;
  };
  const item = (): unknown => {
    need(1);
    const b = buf[at++]!;
    const major = b >> 5;
    const info = b & 31;
    if (info === 31) {
      // Indefinite length: chunks or items up to a break.
      if (major === 2 || major === 3) {
        const chunks: Buffer[] = [];
        for (let c = item(); c !== BREAK; c = item()) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
        const all = Buffer.concat(chunks);
        return major === 2 ? all : all.toString('utf8');
      }
      if (major === 4) {
        const out: unknown[] = [];
        for (let x = item(); x !== BREAK; x = item()) out.push(x);
        return out;
      }
      if (major === 5) {
        const out: Record<string, unknown> = {};
        for (let k = item(); k !== BREAK; k = item()) out[String(k)] = item();
        return out;
      }
      if (major === 7) return BREAK;
      throw new Error('cbor: indefinite length on a number or tag');
    }
    switch (major) {
      case 0:
        return arg(info);
      case 1:
        return -1 - arg(info);
      case 2:
      case 3: {
        const n = arg(info);
        need(n);
        const s = buf.subarray(at, at + n);
        at += n;
        return major === 2 ? Buffer.from(s) : s.toString('utf8');
      }
      case 4: {
        const n = arg(info);
        const out: unknown[] = [];
        for (let i = 0; i < n; i++) out.push(item());
        return out;
      }
      case 5: {
        const n = arg(info);
        const out: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) out[String(item())] = item();
        return out;
      }
      case 6:
        arg(info);
        return item();
      default: {
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22 || info === 23) return null;
        if (info === 25) {
          need(2);
          const h = buf.readUInt16BE(at);
          at += 2;
          const e = (h >> 10) & 31;
          const f = h & 1023;
          const v = e === 0 ? f * 2 ** -24 : e === 31 ? (f ? NaN : Infinity) : (1 + f / 1024) * 2 ** (e - 15);
          return h & 0x8000 ? -v : v;
        }
        if (info === 26) {
          need(4);
          at += 4;
          return buf.readFloatBE(at - 4);
        }
        if (info === 27) {
          need(8);
          at += 8;
          return buf.readDoubleBE(at - 8);
        }
        throw new Error(`cbor: unsupported simple value ${info}`);
      }
    }
  };
  const v = item();
  if (at !== buf.length) throw new Error('cbor: trailing bytes');
  return v;
}
