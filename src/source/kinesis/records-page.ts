/**
 * The lean GetRecords parser: a JSON response body read as bytes into one {@link RecordsPage}, with
 * no string for the body, no object per record and no `JSON.parse` (issue 13, bench/notes.md
 * item 28). Each record's `Data` (base64) is checked and decoded straight into one buffer for
 * the whole page; sequence numbers and partition keys are copied as bytes into another and become
 * strings only when asked for; arrival times go into a Float64Array.
 *
 * Strict about the wire format, like JSON.parse and the SDK together: the body must be one JSON
 * object (RFC 8259 grammar: whitespace, string escapes, control characters, numbers), the members
 * floe reads must have their types (`Records` an array of objects; `Data`, `PartitionKey`,
 * `SequenceNumber`, `EncryptionType`, `NextShardIterator` strings; `ApproximateArrivalTimestamp`,
 * `MillisBehindLatest` numbers; `ChildShards` an array; null = absent), `Data` must be padded
 * base64 (the SDK's check), a sequence number decimal digits (what `position.ts` accepts) and no
 * member may appear twice in one object (JSON.parse would keep the last one silently). Unknown
 * members are checked as JSON and skipped, without recursion on their depth. Any violation is a
 * `SOURCE_READ_FAILED` error saying what and where (byte offset, record index); the shard reader
 * adds the shard. `parseGetRecordsBody` (get-records.ts) stays as the reference the differential
 * test compares this parser with (test/source/kinesis-records-page.differential.test.ts).
 *
 * The usual body is read in C first (`native/records_page.c`, when built): the same columns, and
 * a decline on anything else, which this parser then reads from the start (errors are always
 * this parser's). The differential test runs every body through both.
 */
import { givePageBuffer, takePageBuffer } from './page-pool.js';
import type { _Record } from '@aws-sdk/client-kinesis';
import { FloeError } from '../../errors.js';
import { nativeRecordsPage } from './records-page-native.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** Base64 digit values; 64 = '=', 65 = '"' (the string's end), 66 = '\\', 255 = anything else. */
const B64 = new Uint8Array(256).fill(255);
{
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) B64[digits.charCodeAt(i)] = i;
  B64[0x3d] = 64;
  B64[QUOTE] = 65;
  B64[BACKSLASH] = 66;
}

/** Sequence numbers as `position.ts` accepts them. */
const SEQUENCE_RE = /^(0|[1-9]\d{0,127})$/;

/** Record flags. */
const HAS_SEQ = 1;
const HAS_DATA = 2;
const HAS_ARRIVAL = 4;
const HAS_KEY = 8;
const HAS_ENCRYPTION = 16;

/** A shard a closed shard continues into, as the SDK's output has it. */
export interface PageChildShard {
  ShardId?: string;
  ParentShards?: string[];
  HashKeyRange?: { StartingHashKey?: string; EndingHashKey?: string };
}

/** The Kinesis records of one GetRecords response, in columns. */
export class RecordsPage {
  /** Records (Kinesis records, before any KPL deaggregation). */
  readonly count: number;
  /** The records' decoded `Data`, back to back: record k is `[dataEnd[k-1] (0 for k = 0), dataEnd[k])`. */
  readonly data: Uint8Array;
  readonly dataEnd: Int32Array;
  /** `ApproximateArrivalTimestamp` in epoch ms (rounded as the SDK does); NaN when absent. */
  readonly arrivalMs: Float64Array;
  /** Sequence numbers then partition keys (UTF-8, unescaped), per record: ends at `textEnd[2k]`, `textEnd[2k+1]`. */
  private readonly text: Uint8Array;
  private readonly textEnd: Int32Array;
  private readonly flags: Uint8Array;
  /** Strings that had JSON escapes (kept as JSON.parse gives them, lone surrogates included), by record. */
  private readonly escapedKeys: Map<number, string> | undefined;
  private readonly encryption: Map<number, string> | undefined;
  /** Whether the body had a `Records` member (the SDK's output leaves it out otherwise). */
  readonly recordsPresent: boolean;
  readonly nextShardIterator: string | undefined;
  readonly millisBehindLatest: number | undefined;
  readonly childShards: PageChildShard[] | undefined;
  /** The pool's buffer behind the columns, until {@link release} gives it back (not a field of the page's content). */
  #pooled: ArrayBuffer | undefined;

  /**
   * Says that nothing will read this page again, nor any view of its `data` or columns: its
   * buffer goes back to the page pool for the next responses (pages read by the native reader;
   * others are left to the garbage collector). Idempotent. Only a consumer that owns every use of
   * the page calls it (the pipeline, for blocks whose records are all in columns).
   */
  release(): void {
    const b = this.#pooled;
    if (b === undefined) return;
    this.#pooled = undefined;
    givePageBuffer(b);
  }

  constructor(parts: {
    count: number;
    data: Uint8Array;
    dataEnd: Int32Array;
    arrivalMs: Float64Array;
    text: Uint8Array;
    textEnd: Int32Array;
    flags: Uint8Array;
    escapedKeys?: Map<number, string> | undefined;
    encryption?: Map<number, string> | undefined;
    recordsPresent: boolean;
    nextShardIterator?: string | undefined;
    millisBehindLatest?: number | undefined;
    childShards?: PageChildShard[] | undefined;
    /** The buffer behind every column, when it comes from the page pool (`page-pool.ts`). */
    pooled?: ArrayBuffer | undefined;
  }) {
    this.#pooled = parts.pooled;
    this.count = parts.count;
    this.data = parts.data;
    this.dataEnd = parts.dataEnd;
    this.arrivalMs = parts.arrivalMs;
    this.text = parts.text;
    this.textEnd = parts.textEnd;
    this.flags = parts.flags;
    this.escapedKeys = parts.escapedKeys;
    this.encryption = parts.encryption;
    this.recordsPresent = parts.recordsPresent;
    this.nextShardIterator = parts.nextShardIterator;
    this.millisBehindLatest = parts.millisBehindLatest;
    this.childShards = parts.childShards;
  }

  /** Start of record k's data in {@link data}. */
  dataStart(k: number): number {
    return k === 0 ? 0 : this.dataEnd[k - 1]!;
  }

  /** Record k's sequence number, or undefined when the response had none for it. */
  sequenceNumber(k: number): string | undefined {
    if ((this.flags[k]! & HAS_SEQ) === 0) return undefined;
    const start = k === 0 ? 0 : this.textEnd[2 * k - 1]!;
    return latin1(this.text, start, this.textEnd[2 * k]!);
  }

  /** Whether record k has a sequence number. */
  hasSequenceNumber(k: number): boolean {
    return (this.flags[k]! & HAS_SEQ) !== 0;
  }

  /** Bytes of all partition keys (see {@link partitionKeyBytes}). */
  partitionKeyBytesTotal(): number {
    let total = 0;
    for (let k = 0; k < this.count; k++) total += this.partitionKeyBytes(k);
    return total;
  }

  /** Bytes of record k's partition key in UTF-8 (what budgets count). */
  partitionKeyBytes(k: number): number {
    const escaped = this.escapedKeys?.get(k);
    if (escaped !== undefined) return escaped.length;
    return this.textEnd[2 * k + 1]! - this.textEnd[2 * k]!;
  }

  /** Record k's partition key ('' when absent). */
  partitionKey(k: number): string {
    const escaped = this.escapedKeys?.get(k);
    if (escaped !== undefined) return escaped;
    const start = this.textEnd[2 * k]!;
    const end = this.textEnd[2 * k + 1]!;
    return start === end ? '' : utf8(this.text, start, end);
  }

  /** Record k's `EncryptionType`, when present. */
  encryptionType(k: number): string | undefined {
    return this.encryption?.get(k);
  }

  /** Whether record k had an `ApproximateArrivalTimestamp`. */
  hasArrival(k: number): boolean {
    return (this.flags[k]! & HAS_ARRIVAL) !== 0;
  }

  /** Record k in the SDK's shape (tests, and the few callers that want objects). */
  sdkRecord(k: number): _Record {
    const out = {} as _Record;
    const f = this.flags[k]!;
    if (f & HAS_SEQ) out.SequenceNumber = this.sequenceNumber(k)!;
    if (f & HAS_DATA) out.Data = this.data.slice(this.dataStart(k), this.dataEnd[k]!);
    if (f & HAS_KEY) out.PartitionKey = this.partitionKey(k);
    if (f & HAS_ARRIVAL) out.ApproximateArrivalTimestamp = new Date(this.arrivalMs[k]!);
    if (f & HAS_ENCRYPTION) out.EncryptionType = this.encryption!.get(k) as _Record['EncryptionType'];
    return out;
  }

  /** A page from records in the SDK's shape (a response another deserializer read). */
  static fromRecords(records: readonly _Record[], rest: { nextShardIterator?: string | undefined; millisBehindLatest?: number | undefined; childShards?: PageChildShard[] | undefined } = {}): RecordsPage {
    const n = records.length;
    const enc = new TextEncoder();
    const parts: Uint8Array[] = [];
    const texts: Uint8Array[] = [];
    const dataEnd = new Int32Array(n);
    const textEnd = new Int32Array(2 * n);
    const arrivalMs = new Float64Array(n).fill(NaN);
    const flags = new Uint8Array(n);
    let encryption: Map<number, string> | undefined;
    let escapedKeys: Map<number, string> | undefined;
    let d = 0;
    let t = 0;
    for (let k = 0; k < n; k++) {
      const r = records[k]!;
      let f = 0;
      if (r.Data !== undefined) {
        f |= HAS_DATA;
        parts.push(r.Data);
        d += r.Data.byteLength;
      }
      dataEnd[k] = d;
      if (r.SequenceNumber !== undefined) {
        f |= HAS_SEQ;
        const s = enc.encode(r.SequenceNumber);
        texts.push(s);
        t += s.length;
      }
      textEnd[2 * k] = t;
      if (r.PartitionKey !== undefined) {
        f |= HAS_KEY;
        // A key with surrogates is kept as a string (a lone one would not survive UTF-8).
        if (/[\ud800-\udfff]/.test(r.PartitionKey)) (escapedKeys ??= new Map()).set(k, r.PartitionKey);
        else {
          const s = enc.encode(r.PartitionKey);
          texts.push(s);
          t += s.length;
        }
      }
      textEnd[2 * k + 1] = t;
      if (r.ApproximateArrivalTimestamp !== undefined) {
        f |= HAS_ARRIVAL;
        arrivalMs[k] = r.ApproximateArrivalTimestamp.getTime();
      }
      if (r.EncryptionType !== undefined) {
        f |= HAS_ENCRYPTION;
        (encryption ??= new Map()).set(k, r.EncryptionType);
      }
      flags[k] = f;
    }
    return new RecordsPage({
      count: n,
      data: concat(parts, d),
      dataEnd,
      arrivalMs,
      text: concat(texts, t),
      textEnd,
      flags,
      escapedKeys,
      encryption,
      recordsPresent: true,
      nextShardIterator: rest.nextShardIterator,
      millisBehindLatest: rest.millisBehindLatest,
      childShards: rest.childShards,
    });
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function latin1(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}

function utf8(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');
}

/** Scratch buffers of the parser, reused by every parse of the process (a parse never awaits). */
let scratchData = new Uint8Array(64 * 1024);
let scratchText = new Uint8Array(16 * 1024);
let scratchInts = new Int32Array(3 * 1024);
let scratchArrival = new Float64Array(1024);
let scratchFlags = new Uint8Array(1024);
/** Open containers of a skipped value: 1 = object, 2 = array (no recursion on depth). */
let skipStack = new Uint8Array(64);

/** Exact powers of ten (up to 1e22) for the arrival time's fast conversion. */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

function fail(message: string): never {
  throw new FloeError('SOURCE_READ_FAILED', `kinesis: GetRecords response ${message}`);
}

/** The parse's state: the body and the read position. */
class Parser {
  p = 0;
  /** Whether the last string scanned had a backslash escape. */
  escaped = false;
  constructor(
    readonly b: Uint8Array,
    readonly n: number,
  ) {}

  ws(): void {
    const b = this.b;
    let p = this.p;
    for (;;) {
      const c = b[p];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.p = p;
  }

  expect(c: number, what: string): void {
    this.ws();
    if (this.b[this.p] !== c) this.unexpected(what);
    this.p++;
  }

  unexpected(what: string): never {
    if (this.p >= this.n) fail(`is not JSON: it ends where ${what} should be (${this.n} bytes)`);
    fail(`is not JSON: byte ${this.p} is ${describeByte(this.b[this.p]!)} where ${what} should be`);
  }

  /**
   * Scans a JSON string starting at its opening quote (at `p`); leaves `p` after the closing
   * quote and returns the index of the closing quote. Sets {@link escaped}.
   */
  string(): number {
    const b = this.b;
    const n = this.n;
    let q = this.p + 1;
    let escaped = false;
    for (;;) {
      // Plain bytes first, one table look-up each.
      while (q < n && STR[b[q]!] === 0) q++;
      if (q >= n) {
        this.p = q;
        this.unexpected('the end of a string');
      }
      const c = b[q]!;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        const e = b[q + 1];
        if (e === 0x75) {
          for (let i = 2; i < 6; i++) {
            const h = b[q + i];
            if (h === undefined || !((h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66))) {
              this.p = q;
              fail(`is not JSON: invalid \\u escape at byte ${q}`);
            }
          }
          q += 6;
          continue;
        }
        if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          q += 2;
          continue;
        }
        fail(`is not JSON: invalid escape at byte ${q}`);
      }
      fail(`is not JSON: control character ${describeByte(c)} in a string at byte ${q}`);
    }
    this.escaped = escaped;
    this.p = q + 1;
    return q;
  }

  /** The JSON string at `[start, end]` (quotes included) as JSON.parse gives it. */
  decodeString(start: number, end: number): string {
    return JSON.parse(Buffer.from(this.b.buffer, this.b.byteOffset + start, end + 1 - start).toString('utf8')) as string;
  }

  /** Scans a JSON number at `p` (RFC 8259 grammar); returns its value. */
  number(): number {
    const b = this.b;
    const start = this.p;
    let q = start;
    if (b[q] === 0x2d) q++;
    let mantissa = 0;
    let digits = 0;
    let c = b[q];
    if (c === 0x30) {
      q++;
    } else if (c !== undefined && c >= 0x31 && c <= 0x39) {
      while ((c = b[q]) !== undefined && c >= 0x30 && c <= 0x39) {
        mantissa = mantissa * 10 + (c - 0x30);
        digits++;
        q++;
      }
    } else {
      this.p = q;
      this.unexpected('a number');
    }
    let fraction = 0;
    if (b[q] === 0x2e) {
      q++;
      const f0 = q;
      while ((c = b[q]) !== undefined && c >= 0x30 && c <= 0x39) {
        mantissa = mantissa * 10 + (c - 0x30);
        q++;
      }
      if (q === f0) {
        this.p = q;
        this.unexpected('a digit of a fraction');
      }
      fraction = q - f0;
      digits += fraction;
    }
    let exponent = false;
    if (b[q] === 0x65 || b[q] === 0x45) {
      exponent = true;
      q++;
      if (b[q] === 0x2b || b[q] === 0x2d) q++;
      const e0 = q;
      while ((c = b[q]) !== undefined && c >= 0x30 && c <= 0x39) q++;
      if (q === e0) {
        this.p = q;
        this.unexpected('a digit of an exponent');
      }
    }
    this.p = q;
    // Exact when the digits fit a double's integers and the power of ten is exact: one correctly
    // rounded division, the value JSON.parse gives. Otherwise the same text through Number.
    if (!exponent && digits <= 15 && fraction <= 22) {
      const v = mantissa / POW10[fraction]!;
      return b[start] === 0x2d ? -v : v;
    }
    return Number(latin1(b, start, q));
  }

  /** Skips one JSON value of any kind, checking it (iteratively: no recursion on its depth). */
  skipValue(): void {
    const b = this.b;
    let depth = 0;
    for (;;) {
      this.ws();
      const c = b[this.p];
      // A value.
      if (c === LBRACE || c === LBRACKET) {
        if (depth === skipStack.length) {
          const grown = new Uint8Array(depth * 2);
          grown.set(skipStack);
          skipStack = grown;
        }
        skipStack[depth++] = c === LBRACE ? 1 : 2;
        this.p++;
        this.ws();
        const close = b[this.p];
        if ((c === LBRACE && close === RBRACE) || (c === LBRACKET && close === RBRACKET)) {
          this.p++;
          depth--;
        } else if (c === LBRACE) {
          if (close !== QUOTE) this.unexpected('a member name');
          this.string();
          this.expect(COLON, "':'");
          continue;
        } else {
          continue;
        }
      } else if (c === QUOTE) {
        this.string();
      } else if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) {
        this.number();
      } else {
        this.literal();
      }
      // After a value: close containers or go to the next element.
      for (;;) {
        if (depth === 0) return;
        this.ws();
        const d = b[this.p];
        const inObject = skipStack[depth - 1] === 1;
        if (d === COMMA) {
          this.p++;
          if (inObject) {
            this.ws();
            if (b[this.p] !== QUOTE) this.unexpected('a member name');
            this.string();
            this.expect(COLON, "':'");
          }
          break;
        }
        if ((inObject && d === RBRACE) || (!inObject && d === RBRACKET)) {
          this.p++;
          depth--;
          continue;
        }
        this.unexpected(inObject ? "',' or '}'" : "',' or ']'");
      }
    }
  }

  /** `true`, `false` or `null` at `p`; returns which (0, 1, 2). */
  literal(): number {
    const b = this.b;
    const p = this.p;
    if (b[p] === 0x6e && b[p + 1] === 0x75 && b[p + 2] === 0x6c && b[p + 3] === 0x6c) {
      this.p = p + 4;
      return 2;
    }
    if (b[p] === 0x74 && b[p + 1] === 0x72 && b[p + 2] === 0x75 && b[p + 3] === 0x65) {
      this.p = p + 4;
      return 1;
    }
    if (b[p] === 0x66 && b[p + 1] === 0x61 && b[p + 2] === 0x6c && b[p + 3] === 0x73 && b[p + 4] === 0x65) {
      this.p = p + 5;
      return 0;
    }
    this.unexpected('a value');
  }

  /** True (and `p` after it) when `null` is next. */
  isNull(): boolean {
    const b = this.b;
    const p = this.p;
    if (b[p] === 0x6e && b[p + 1] === 0x75 && b[p + 2] === 0x6c && b[p + 3] === 0x6c) {
      this.p = p + 4;
      return true;
    }
    return false;
  }

  /**
   * The member name at `p` (after whitespace) as one of the `M_` codes, {@link M_OTHER} for a name
   * floe does not read; `p` is left after the name's closing quote. The usual names are matched
   * byte by byte in place; a name with escapes is decoded first (`"D\u0061ta"` is `Data`).
   */
  memberName(): number {
    this.ws();
    const b = this.b;
    const s = this.p + 1;
    if (b[this.p] !== QUOTE) this.unexpected('a member name');
    const first = b[s];
    const m = first === undefined ? M_OTHER : NAME_BY_FIRST[first]!;
    if (m !== M_OTHER) {
      const want = NAMES[m]!;
      const len = want.length;
      let i = 1;
      while (i < len && b[s + i] === want[i]) i++;
      if (i === len && b[s + len] === QUOTE) {
        this.p = s + len + 1;
        return m;
      }
      // Another name with the same first letter: read it whole.
    }
    const start = this.p;
    const end = this.string();
    const name = this.escaped ? this.decodeString(start, end) : latin1(b, start + 1, end);
    const k = NAME_STRINGS.indexOf(name);
    return k < 0 ? M_OTHER : k;
  }
}

/** Member codes: indexes into {@link NAME_STRINGS}. */
const M_DATA = 0;
const M_SEQUENCE = 1;
const M_KEY = 2;
const M_ARRIVAL = 3;
const M_ENCRYPTION = 4;
const M_RECORDS = 5;
const M_NEXT = 6;
const M_MILLIS = 7;
const M_CHILDREN = 8;
const M_OTHER = 9;
const NAME_STRINGS = ['Data', 'SequenceNumber', 'PartitionKey', 'ApproximateArrivalTimestamp', 'EncryptionType', 'Records', 'NextShardIterator', 'MillisBehindLatest', 'ChildShards'];
const NAMES = NAME_STRINGS.map((n) => Uint8Array.from(n, (c) => c.charCodeAt(0)));
/** The name to try first by its first byte (names sharing a first letter go the slow way). */
const NAME_BY_FIRST = new Uint8Array(256).fill(M_OTHER);
for (const m of [M_DATA, M_SEQUENCE, M_KEY, M_ARRIVAL, M_ENCRYPTION, M_RECORDS, M_NEXT, M_MILLIS, M_CHILDREN]) NAME_BY_FIRST[NAME_STRINGS[m]!.charCodeAt(0)] = m;

/** Bytes a JSON string cannot hold as they are: the quote, the backslash, control characters. */
const STR = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STR[c] = 1;
STR[QUOTE] = 1;
STR[BACKSLASH] = 1;

function describeByte(c: number): string {
  return c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `0x${c.toString(16).padStart(2, '0')}`;
}

/** Grows the per-record scratch arrays to hold at least `k + 1` records. */
function ensureRecords(k: number): void {
  if (k < scratchFlags.length) return;
  const cap = Math.max(scratchFlags.length * 2, k + 1);
  const ints = new Int32Array(cap * 3);
  ints.set(scratchInts);
  scratchInts = ints;
  const arrival = new Float64Array(cap);
  arrival.set(scratchArrival);
  scratchArrival = arrival;
  const flags = new Uint8Array(cap);
  flags.set(scratchFlags);
  scratchFlags = flags;
}


/**
 * Decodes the base64 string whose opening quote is at `p.p` into `scratchData` at `o`; returns the
 * new end of the decoded bytes (`p.p` after the closing quote). Padded base64 only, as the SDK
 * requires; a string with JSON escapes is decoded as JSON first.
 */
function decodeData(p: Parser, o: number, k: number): number {
  const b = p.b;
  const n = p.n;
  const out = scratchData;
  const start = p.p;
  let q = start + 1;
  // Whole groups of four base64 digits: the usual record, one table look-up per byte.
  while (q + 4 <= n) {
    const a = B64[b[q]!]!;
    const c1 = B64[b[q + 1]!]!;
    const c2 = B64[b[q + 2]!]!;
    const c3 = B64[b[q + 3]!]!;
    if ((a | c1 | c2 | c3) >= 64) break;
    out[o] = (a << 2) | (c1 >> 4);
    out[o + 1] = ((c1 & 15) << 4) | (c2 >> 2);
    out[o + 2] = ((c2 & 3) << 6) | c3;
    o += 3;
    q += 4;
  }
  const a = B64[b[q] ?? 0]!;
  if (a === 65) {
    p.p = q + 1;
    return o;
  }
  // The last group, padded: `xx==` or `xxx=`, then the closing quote.
  if (q + 4 < n && b[q + 4] === QUOTE) {
    const c1 = B64[b[q + 1]!]!;
    const c2 = B64[b[q + 2]!]!;
    const c3 = B64[b[q + 3]!]!;
    if (a < 64 && c1 < 64 && c2 === 64 && c3 === 64) {
      out[o] = (a << 2) | (c1 >> 4);
      p.p = q + 5;
      return o + 1;
    }
    if (a < 64 && c1 < 64 && c2 < 64 && c3 === 64) {
      out[o] = (a << 2) | (c1 >> 4);
      out[o + 1] = ((c1 & 15) << 4) | (c2 >> 2);
      p.p = q + 5;
      return o + 2;
    }
  }
  // Anything else: check the string as JSON (errors name its byte), then as base64.
  p.p = start;
  const end = p.string();
  const text = p.escaped ? p.decodeString(start, end) : latin1(b, start + 1, end);
  if (!isPaddedBase64(text)) fail(`record ${k}: Data is not padded base64 (${text.length} characters from byte ${start + 1})`);
  const bytes = Buffer.from(text, 'base64');
  out.set(bytes, o);
  return o + bytes.length;
}

/** Padded base64, as the SDK's `fromBase64` accepts it (its length and its regex). */
function isPaddedBase64(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

/** A page's columns, all views of one allocation (see {@link pageColumns}). */
interface PageColumns {
  arrivalMs: Float64Array;
  dataEnd: Int32Array;
  textEnd: Int32Array;
  flags: Uint8Array;
  data: Uint8Array;
  text: Uint8Array;
  /** The buffer, when taken from the page pool. */
  pooled?: ArrayBuffer;
}

/**
 * The columns of a page of `count` records, `dataBytes` of data and `textBytes` of texts, as views
 * of one uninitialized allocation (filled by the caller): one ArrayBuffer per page instead of six,
 * each of which V8 tracks and sweeps on its own and counts as external memory.
 */
function pageColumns(count: number, dataBytes: number, textBytes: number, pooled = false): PageColumns {
  // Widest first: every view starts aligned to its element size.
  const ends = 8 * count;
  const textEnds = ends + 4 * count;
  const flags = textEnds + 8 * count;
  const data = flags + count;
  const text = data + dataBytes;
  const buffer = pooled ? takePageBuffer(text + textBytes) : Buffer.allocUnsafeSlow(text + textBytes).buffer;
  return {
    ...(pooled ? { pooled: buffer } : {}),
    arrivalMs: new Float64Array(buffer, 0, count),
    dataEnd: new Int32Array(buffer, ends, count),
    textEnd: new Int32Array(buffer, textEnds, 2 * count),
    flags: new Uint8Array(buffer, flags, count),
    data: new Uint8Array(buffer, data, dataBytes),
    text: new Uint8Array(buffer, text, textBytes),
  };
}

/** The native reader's record columns and scalars (see native/records_page.c), by record slot. */
let nativeEnds = new Int32Array(1024);
let nativeTexts = new Int32Array(2 * 1024);
let nativeEnc = new Int32Array(2 * 1024);
const nativeOut = new Float64Array(9);

/**
 * The page read by the native reader (`native/records_page.c`), or undefined when it declined or
 * is not built; never an error (errors are {@link parseRecordsPage}'s). Decoded data and texts
 * are never longer than the body; records are at least 80 bytes of body with the four members
 * the native reader requires, so (n / 64) + 2 record slots are always enough. Exported for the
 * differential test.
 */
export function parseRecordsPageNative(body: Uint8Array): RecordsPage | undefined {
  const read = nativeRecordsPage();
  if (read === undefined) return undefined;
  const n = body.byteLength;
  if (scratchData.length < n) scratchData = new Uint8Array(Math.max(n, scratchData.length * 2));
  if (scratchText.length < n) scratchText = new Uint8Array(Math.max(n, scratchText.length * 2));
  const cap = (n >>> 6) + 2;
  if (scratchFlags.length < cap) ensureRecords(cap - 1);
  if (nativeEnds.length < cap) {
    const slots = Math.max(cap, nativeEnds.length * 2);
    nativeEnds = new Int32Array(slots);
    nativeTexts = new Int32Array(2 * slots);
    nativeEnc = new Int32Array(2 * slots);
  }
  if (!read(body, scratchData, scratchText, nativeEnds, nativeTexts, nativeEnc, scratchArrival, scratchFlags, nativeOut)) return undefined;
  const count = nativeOut[0]!;
  let encryption: Map<number, string> | undefined;
  if (nativeOut[8]! > 0) {
    encryption = new Map();
    for (let k = 0; k < count; k++) if (nativeEnc[2 * k]! >= 0) encryption.set(k, utf8(body, nativeEnc[2 * k]!, nativeEnc[2 * k + 1]!));
  }
  const dataBytes = nativeOut[1]!;
  const textBytes = nativeOut[2]!;
  const c = pageColumns(count, dataBytes, textBytes, true);
  c.arrivalMs.set(scratchArrival.subarray(0, count));
  c.dataEnd.set(nativeEnds.subarray(0, count));
  c.textEnd.set(nativeTexts.subarray(0, 2 * count));
  c.flags.set(scratchFlags.subarray(0, count));
  c.data.set(scratchData.subarray(0, dataBytes));
  c.text.set(scratchText.subarray(0, textBytes));
  return new RecordsPage({
    count,
    ...c,
    encryption,
    recordsPresent: nativeOut[3] === 1,
    nextShardIterator: nativeOut[5]! >= 0 ? utf8(body, nativeOut[4]!, nativeOut[5]!) : undefined,
    millisBehindLatest: Number.isNaN(nativeOut[6]) ? undefined : nativeOut[6],
    childShards: nativeOut[7] === 0 ? [] : undefined,
  });
}

/**
 * Parses a GetRecords response body (JSON) into a {@link RecordsPage}. The body may be a shared
 * scratch buffer: nothing of it is kept. `native` (default true): the C reader first, when built
 * (`FLOE_JSON_SCANNER=javascript` turns it off through the source's `nativeParser`).
 * @throws FloeError (`SOURCE_READ_FAILED`) when the body is not a well-formed GetRecords response
 */
export function parseRecordsPage(body: Uint8Array, native = true): RecordsPage {
  if (native) {
    const page = parseRecordsPageNative(body);
    if (page !== undefined) return page;
  }
  const n = body.byteLength;
  // Decoded data and texts are never longer than the body.
  if (scratchData.length < n) scratchData = new Uint8Array(Math.max(n, scratchData.length * 2));
  if (scratchText.length < n) scratchText = new Uint8Array(Math.max(n, scratchText.length * 2));
  const p = new Parser(body, n);
  p.expect(LBRACE, 'the response object');
  let recordsPresent = false;
  let nextShardIterator: string | undefined;
  let millisBehindLatest: number | undefined;
  let childShards: PageChildShard[] | undefined;
  let seen = 0;
  let count = 0;
  let o = 0; // decoded data bytes
  let t = 0; // text bytes
  let escapedKeys: Map<number, string> | undefined;
  let encryption: Map<number, string> | undefined;
  p.ws();
  if (body[p.p] === RBRACE) p.p++;
  else {
    for (;;) {
      const m = p.memberName();
      p.expect(COLON, "':'");
      p.ws();
      const bit = m === M_RECORDS ? 1 : m === M_NEXT ? 2 : m === M_MILLIS ? 4 : m === M_CHILDREN ? 8 : 0;
      if (bit !== 0) {
        if (seen & bit) fail(`has the member ${NAME_STRINGS[m]} twice`);
        seen |= bit;
      }
      if (m === M_RECORDS) {
        if (body[p.p] !== LBRACKET) fail(`member Records is not a list (byte ${p.p})`);
        recordsPresent = true;
        p.p++;
        p.ws();
        if (body[p.p] === RBRACKET) p.p++;
        else {
          for (;;) {
            ensureRecords(count);
            const k = count++;
            const r = parseRecord(p, k, o, t);
            o = r.o;
            t = r.t;
            if (r.escapedKey !== undefined) (escapedKeys ??= new Map()).set(k, r.escapedKey);
            if (r.encryption !== undefined) (encryption ??= new Map()).set(k, r.encryption);
            p.ws();
            const c = body[p.p];
            p.p++;
            if (c === COMMA) continue;
            if (c === RBRACKET) break;
            p.p--;
            p.unexpected("',' or ']' after a record");
          }
        }
      } else if (m === M_NEXT) {
        if (!p.isNull()) {
          if (body[p.p] !== QUOTE) fail(`member NextShardIterator is not a string (byte ${p.p})`);
          const s = p.p;
          const e = p.string();
          nextShardIterator = p.escaped ? p.decodeString(s, e) : utf8(body, s + 1, e);
        }
      } else if (m === M_MILLIS) {
        if (!p.isNull()) {
          const c = body[p.p];
          if (!(c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39))) fail(`member MillisBehindLatest is not a number (byte ${p.p})`);
          millisBehindLatest = p.number();
        }
      } else if (m === M_CHILDREN) {
        if (!p.isNull()) {
          if (body[p.p] !== LBRACKET) fail(`member ChildShards is not a list (byte ${p.p})`);
          const s = p.p;
          p.skipValue();
          childShards = childShardsOf(JSON.parse(utf8(body, s, p.p)) as unknown[]);
        }
      } else {
        p.skipValue();
      }
      p.ws();
      const c = body[p.p];
      p.p++;
      if (c === COMMA) continue;
      if (c === RBRACE) break;
      p.p--;
      p.unexpected("',' or '}'");
    }
  }
  p.ws();
  if (p.p !== n) p.unexpected('the end of the response');

  // Exact-size copies out of the scratch buffers: nothing of the body or the scratch stays.
  const ints = scratchInts;
  const c = pageColumns(count, o, t);
  const dataEnd = c.dataEnd;
  const textEnd = c.textEnd;
  for (let k = 0; k < count; k++) {
    dataEnd[k] = ints[3 * k]!;
    textEnd[2 * k] = ints[3 * k + 1]!;
    textEnd[2 * k + 1] = ints[3 * k + 2]!;
  }
  c.arrivalMs.set(scratchArrival.subarray(0, count));
  c.flags.set(scratchFlags.subarray(0, count));
  c.data.set(scratchData.subarray(0, o));
  c.text.set(scratchText.subarray(0, t));
  return new RecordsPage({
    count,
    ...c,
    escapedKeys,
    encryption,
    recordsPresent,
    nextShardIterator,
    millisBehindLatest,
    childShards,
  });
}

/** What {@link parseRecord} returns (one object per record: kept small, reused). */
const recordResult: { o: number; t: number; escapedKey: string | undefined; encryption: string | undefined } = {
  o: 0,
  t: 0,
  escapedKey: undefined,
  encryption: undefined,
};

/** Parses record `k` (an object at `p`): data into scratchData at `o`, texts into scratchText at `t`. */
function parseRecord(p: Parser, k: number, o: number, t: number): typeof recordResult {
  const b = p.b;
  p.ws();
  if (b[p.p] !== LBRACE) fail(`record ${k} is not an object (byte ${p.p})`);
  p.p++;
  let flags = 0;
  let seqLen = -1;
  let keyS = -1;
  let keyE = -1;
  let escapedSeq: string | undefined;
  let escapedKey: string | undefined;
  let encryption: string | undefined;
  let dataEnd = o;
  let hasData = false;
  let arrival = NaN;
  p.ws();
  if (b[p.p] === RBRACE) p.p++;
  else {
    for (;;) {
      const m = p.memberName();
      p.expect(COLON, "':'");
      p.ws();
      if (m < M_RECORDS) {
        const bit = 1 << m;
        if (flags & bit) fail(`record ${k} has the member ${NAME_STRINGS[m]} twice`);
        flags |= bit;
      }
      switch (m) {
        case M_DATA:
          if (p.isNull()) break;
          if (b[p.p] !== QUOTE) fail(`record ${k}: Data is not a string (byte ${p.p})`);
          dataEnd = decodeData(p, o, k);
          hasData = true;
          break;
        case M_SEQUENCE: {
          if (p.isNull()) break;
          const s = p.p;
          if (b[s] !== QUOTE) fail(`record ${k}: SequenceNumber is not a string (byte ${s})`);
          // Digits then the quote: the usual sequence number, checked and copied in one pass
          // (to the texts' next place, where it belongs: it comes before the partition key).
          const text = scratchText;
          const n = p.n;
          let q = s + 1;
          let w = t;
          // Bounded by the body's length: the byte read is always a number (a faster loop).
          while (q < n) {
            const d = b[q]! - 0x30;
            if (d < 0 || d > 9) break;
            text[w++] = d + 0x30;
            q++;
          }
          const c = q < n ? b[q] : undefined;
          const len = q - s - 1;
          if (c === QUOTE && len >= 1 && len <= 128 && !(len > 1 && b[s + 1] === 0x30)) {
            seqLen = len;
            escapedSeq = undefined;
            p.p = q + 1;
            break;
          }
          const e = p.string();
          seqLen = -1;
          escapedSeq = p.escaped ? p.decodeString(s, e) : latin1(b, s + 1, e);
          if (!SEQUENCE_RE.test(escapedSeq)) fail(`record ${k}: SequenceNumber is not a sequence number (byte ${s})`);
          break;
        }
        case M_KEY: {
          if (p.isNull()) break;
          const s = p.p;
          if (b[s] !== QUOTE) fail(`record ${k}: PartitionKey is not a string (byte ${s})`);
          const e = p.string();
          keyS = s + 1;
          keyE = e;
          escapedKey = p.escaped ? p.decodeString(s, e) : undefined;
          break;
        }
        case M_ARRIVAL: {
          if (p.isNull()) break;
          const c = b[p.p];
          if (!(c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39))) fail(`record ${k}: ApproximateArrivalTimestamp is not a number (byte ${p.p})`);
          // Epoch seconds with a fraction, as the SDK reads it.
          arrival = Math.round(p.number() * 1000);
          // A time a Date can hold (±8.64e15 ms), or the record would carry an invalid date.
          if (!(Math.abs(arrival) <= 8.64e15)) fail(`record ${k}: ApproximateArrivalTimestamp is not a valid time (byte ${p.p})`);
          break;
        }
        case M_ENCRYPTION: {
          if (p.isNull()) break;
          const s = p.p;
          if (b[s] !== QUOTE) fail(`record ${k}: EncryptionType is not a string (byte ${s})`);
          const e = p.string();
          encryption = p.escaped ? p.decodeString(s, e) : utf8(b, s + 1, e);
          break;
        }
        default:
          p.skipValue();
      }
      p.ws();
      const c = b[p.p];
      p.p++;
      if (c === COMMA) continue;
      if (c === RBRACE) break;
      p.p--;
      p.unexpected(`',' or '}' in record ${k}`);
    }
  }
  // `flags` has a bit per member seen; keep those that were not null.
  let present = 0;
  if (seqLen >= 0 || escapedSeq !== undefined) present |= HAS_SEQ;
  if (hasData) present |= HAS_DATA;
  if (keyS >= 0) present |= HAS_KEY;
  if (encryption !== undefined) present |= HAS_ENCRYPTION;
  if (!Number.isNaN(arrival)) present |= HAS_ARRIVAL;
  scratchArrival[k] = arrival;
  // Texts (the scratch holds the body's length): the sequence number, then the partition key.
  const text = scratchText;
  if (escapedSeq !== undefined) for (let i = 0; i < escapedSeq.length; i++) text[t++] = escapedSeq.charCodeAt(i);
  else if (seqLen > 0) t += seqLen; // copied while it was checked
  const seqEnd = t;
  if (escapedKey === undefined) for (let i = keyS; i < keyE; i++) text[t++] = b[i]!;
  const ints = scratchInts;
  ints[3 * k] = dataEnd;
  ints[3 * k + 1] = seqEnd;
  ints[3 * k + 2] = t;
  scratchFlags[k] = present;
  recordResult.o = dataEnd;
  recordResult.t = t;
  recordResult.escapedKey = escapedKey;
  recordResult.encryption = encryption;
  return recordResult;
}

/** `ChildShards` with the members the SDK keeps. */
function childShardsOf(list: unknown[]): PageChildShard[] {
  return list.map((c, i) => {
    if (c === null || typeof c !== 'object' || Array.isArray(c)) fail(`ChildShards[${i}] is not an object`);
    const x = c as { ShardId?: unknown; ParentShards?: unknown; HashKeyRange?: { StartingHashKey?: unknown; EndingHashKey?: unknown } | null };
    if (x.ShardId !== undefined && x.ShardId !== null && typeof x.ShardId !== 'string') fail(`ChildShards[${i}].ShardId is not a string`);
    if (x.ParentShards !== undefined && x.ParentShards !== null && !(Array.isArray(x.ParentShards) && x.ParentShards.every((s) => typeof s === 'string'))) {
      fail(`ChildShards[${i}].ParentShards is not a list of strings`);
    }
    const out: PageChildShard = {
      ShardId: (x.ShardId ?? undefined) as string | undefined,
      ParentShards: (x.ParentShards ?? undefined) as string[] | undefined,
      HashKeyRange: x.HashKeyRange ? { StartingHashKey: x.HashKeyRange.StartingHashKey as string | undefined, EndingHashKey: x.HashKeyRange.EndingHashKey as string | undefined } : undefined,
    };
    return out;
  });
}
