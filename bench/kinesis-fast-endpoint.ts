/**
 * A fast local Kinesis endpoint for benchmarks and tests: an HTTP server on 127.0.0.1 that speaks
 * the Kinesis JSON 1.1 protocol (`application/x-amz-json-1.1`, `X-Amz-Target: Kinesis_20131202.*`)
 * and answers from records prepared in memory, so that what a benchmark measures is the reader,
 * not the endpoint (kinesalite and kinesis-local serve GetRecords tens of times slower than floe
 * reads them, on the same cores).
 *
 * Operations: ListShards (pages of at most 1,000 shards with `NextToken`, `ExclusiveStartShardId`,
 * `ShardFilter` AFTER_SHARD_ID / AT_LATEST; the other filter types list every shard),
 * DescribeStreamSummary, GetShardIterator (TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER,
 * AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP) and GetRecords (`Limit`, 56-digit sequence numbers that
 * increase in each shard, `MillisBehindLatest`, `NextShardIterator`, and `ChildShards` without a
 * `NextShardIterator` once a closed shard's end is reached). Iterators expire `iteratorTtlMs`
 * after they were handed out (Kinesis: 5 minutes): ExpiredIteratorException. Nothing is signed or
 * checked beyond what the shapes need; any other operation is UnknownOperationException.
 *
 * Each shard's records are serialized once, when the endpoint starts, into one buffer (every
 * record's JSON followed by a comma) with an offset per record: a GetRecords response is a fixed
 * head, one slice of that buffer and a tail, written with no per-record work. What the server
 * costs per call is the request's JSON, a few numbers and the socket.
 *
 * Two modes. Fast (the default): calls are answered as fast as they come, every record is
 * readable from the start. Limits (`limits`): each shard keeps Kinesis's own read limits: 5
 * GetRecords calls per second (a sixth call within a second is refused with
 * ProvisionedThroughputExceededException), 2 MB/s (a response of B bytes makes the shard refuse
 * calls for B / 2 MB/s, so a 10 MB response blocks it for 5 s, as Kinesis documents), and at
 * most 10,000 records or 10 MB a call. With `writeBytesPerSecond` the records of each shard
 * become readable over time at that rate (their arrival times spaced by their sizes), as if a
 * producer wrote them; `backlogMs` of them are there at the start.
 *
 * CBOR (`application/x-amz-cbor-1.1`, what the Java SDK speaks by default; kinesalite and
 * kinesis-local speak it too) is answered in kind: the same members, `Data` as a byte string,
 * `ApproximateArrivalTimestamp` as tag 1 (epoch seconds), which is what the JavaScript SDK's CBOR
 * codec reads as a Date. A shard's CBOR records are serialized at its first CBOR GetRecords.
 *
 * Bytes are counted as Kinesis bills reads: data plus partition key.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cborDecode, cborEncode, cborFloat, cborHead, cborText } from './cbor-lite.js';

/** One prepared record. */
export interface FastRecord {
  data: Uint8Array;
  partitionKey: string;
}

/** A shard's records: a list, or a count and a function (records made once, at start). */
export type FastRecords = readonly FastRecord[] | { count: number; record(i: number): FastRecord };

/** One shard of the prepared stream; shard ids are `shardId-<12-digit index>` in order. */
export interface FastShardSpec {
  records: FastRecords;
  /** Parents (resharding): this shard's records follow theirs. */
  parentShardId?: string;
  adjacentParentShardId?: string;
  /** The shard is closed after its records: GetRecords at its end returns ChildShards. */
  closed?: boolean;
  /** `[start, end]` as decimal strings; default: 2^128 split evenly over the shards. */
  hashKeyRange?: [string, string];
}

/** Per-shard read limits of the limits mode (Kinesis's own by default). */
export interface FastShardLimits {
  callsPerSecond: number;
  bytesPerSecond: number;
  maxRecordsPerCall: number;
  maxBytesPerCall: number;
}

/** Kinesis's read limits per shard. */
export const KINESIS_SHARD_LIMITS: FastShardLimits = { callsPerSecond: 5, bytesPerSecond: 2_000_000, maxRecordsPerCall: 10_000, maxBytesPerCall: 10 * 1024 * 1024 };

/** Options of {@link startFastKinesis}. */
export interface FastKinesisOptions {
  streamName: string;
  shards: FastShardSpec[];
  /** Enforce per-shard read limits (true: Kinesis's). Default off. */
  limits?: boolean | Partial<FastShardLimits>;
  /** Records of each shard become readable at this rate (bytes/s); default: all readable at start. */
  writeBytesPerSecond?: number;
  /** With `writeBytesPerSecond`: how much of each shard is already there at start, ms. Default 0. */
  backlogMs?: number;
  /** How long an iterator stays valid, ms. Default 300,000 (Kinesis's 5 minutes). */
  iteratorTtlMs?: number;
  /** Shards per ListShards page at most (Kinesis: 1,000). */
  listShardsPageSize?: number;
  /** Port on 127.0.0.1; default 0 (a free one). */
  port?: number;
  /** Clock (tests). Default Date.now. */
  now?: () => number;
}

/** Counters of what the endpoint served. */
export interface FastKinesisStats {
  calls: Record<string, number>;
  getRecordsCalls: number;
  /** GetRecords calls that returned at least one record. */
  getRecordsWithRecords: number;
  recordsServed: number;
  /** Data + partition key bytes of the records served. */
  bytesServed: number;
  /** Bytes of GetRecords response bodies. */
  responseBytes: number;
  throttled: number;
  expiredIterators: number;
  errors: number;
  /** Wall-clock ms of the first and the last GetRecords that returned records. */
  firstRecordsAtMs: number | undefined;
  lastRecordsAtMs: number | undefined;
  /** Wall-clock ms when every record of every shard had been served at least once. */
  allServedAtMs: number | undefined;
  /** Records in the stream. */
  records: number;
}

/** A running endpoint. */
export interface FastKinesisEndpoint {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  streamName: string;
  shardIds: string[];
  /** The sequence number of record `index` of shard `shard` (an index into `shards`). */
  sequenceNumber(shard: number, index: number): string;
  stats(): FastKinesisStats;
  /** Resolves once every record has been served (at once when there are none). */
  allServed(): Promise<void>;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/x-amz-json-1.1';
const CBOR_TYPE = 'application/x-amz-cbor-1.1';
const TARGET_PREFIX = 'Kinesis_20131202.';
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const TWO_128 = 1n << 128n;

/** Kinesis-looking error: HTTP 400, `{"__type", "message"}` (what the SDK's JSON 1.1 protocol reads). */
class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** One shard's prepared state. */
interface Shard {
  index: number;
  id: string;
  spec: FastShardSpec;
  count: number;
  /** Serialized records, each followed by a comma. */
  body: Buffer;
  /** Byte offset of each record in `body` (count + 1 entries). */
  offsets: Float64Array;
  /** Cumulative data + partition key bytes (count + 1 entries). */
  cumBytes: Float64Array;
  /** Arrival time of each record, ms. */
  arrivals: Float64Array;
  hashKeyRange: [string, string];
  /** The records (for the CBOR body, made at the first CBOR call). */
  record: (i: number) => FastRecord;
  cbor: { body: Buffer; offsets: Float64Array } | undefined;
  /** Highest record index served + 1. */
  servedUpTo: number;
  /** Limits mode: times of the recent accepted calls, and when the shard takes calls again. */
  recentCalls: number[];
  readyAtMs: number;
}

const pad = (n: number | bigint, width: number): string => String(n).padStart(width, '0');

/** Epoch milliseconds as Kinesis's JSON number of epoch seconds (with milliseconds). */
const epochSeconds = (ms: number): string => (ms / 1000).toFixed(3);

/** First index in the sorted `xs` whose value is > `x` (or >= when `inclusive`). */
function bound(xs: Float64Array, x: number, inclusive: boolean): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = xs[mid]!;
    if (inclusive ? v < x : v <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Starts the endpoint on 127.0.0.1 (only). The records are serialized before it listens (about a
 * second per million 150-byte records).
 */
export async function startFastKinesis(options: FastKinesisOptions): Promise<FastKinesisEndpoint> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const ttl = options.iteratorTtlMs ?? 300_000;
  const pageSize = Math.max(1, Math.min(1000, options.listShardsPageSize ?? 1000));
  const limits: FastShardLimits | undefined = options.limits ? { ...KINESIS_SHARD_LIMITS, ...(options.limits === true ? {} : options.limits) } : undefined;
  const streamName = options.streamName;
  const streamArn = `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${streamName}`;
  // Distinguishes this instance's iterators and sequence numbers from any other's.
  const instance = pad(Math.floor(startedAt % 1e13), 13) + pad(Math.floor(Math.random() * 1000), 3);
  const sequenceNumber = (shard: number, index: number): string => `49${instance}${pad(shard, 6)}${pad(index + 1, 32)}`;
  const startingSequence = (shard: number): string => `49${instance}${pad(shard, 6)}${pad(0, 32)}`;

  const base64 = new WeakMap<Uint8Array, string>();
  const shards: Shard[] = options.shards.map((spec, index) => {
    const list = Array.isArray(spec.records) ? (spec.records as readonly FastRecord[]) : undefined;
    const gen = list ? undefined : (spec.records as { count: number; record(i: number): FastRecord });
    const count = list ? list.length : gen!.count;
    const record = list ? (i: number) => list[i]! : (i: number) => gen!.record(i);
    const offsets = new Float64Array(count + 1);
    const cumBytes = new Float64Array(count + 1);
    const arrivals = new Float64Array(count);
    const b64 = (data: Uint8Array): string => {
      let text = base64.get(data);
      if (text === undefined) {
        text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
        base64.set(data, text);
      }
      return text;
    };
    // Pass 1: sizes, then arrival times (spread over the minute before start, or at the write rate).
    for (let i = 0; i < count; i++) {
      const r = record(i);
      cumBytes[i + 1] = cumBytes[i]! + r.data.byteLength + Buffer.byteLength(r.partitionKey, 'utf8');
    }
    const rate = options.writeBytesPerSecond;
    for (let i = 0; i < count; i++) {
      arrivals[i] =
        rate !== undefined && rate > 0
          ? startedAt - (options.backlogMs ?? 0) + (cumBytes[i + 1]! / rate) * 1000
          : startedAt - 60_000 + Math.floor((i * 60_000) / Math.max(1, count));
    }
    // Pass 2: each record's JSON, followed by a comma, into one buffer.
    const texts: string[] = [];
    const parts: Buffer[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      const r = record(i);
      const text = `{"SequenceNumber":"${sequenceNumber(index, i)}","ApproximateArrivalTimestamp":${epochSeconds(arrivals[i]!)},"Data":"${b64(r.data)}","PartitionKey":${JSON.stringify(r.partitionKey)}},`;
      offsets[i] = at;
      at += Buffer.byteLength(text, 'utf8');
      texts.push(text);
      if (texts.length === 4096 || i === count - 1) {
        parts.push(Buffer.from(texts.join(''), 'utf8'));
        texts.length = 0;
      }
    }
    offsets[count] = at;
    const body = Buffer.concat(parts, at);
    const n = options.shards.length;
    const hashKeyRange: [string, string] = spec.hashKeyRange ?? [String((TWO_128 * BigInt(index)) / BigInt(n)), String((TWO_128 * BigInt(index + 1)) / BigInt(n) - 1n)];
    return { index, id: `shardId-${pad(index, 12)}`, spec, count, body, offsets, cumBytes, arrivals, hashKeyRange, record, cbor: undefined, servedUpTo: 0, recentCalls: [], readyAtMs: 0 };
  });
  const byId = new Map(shards.map((s) => [s.id, s]));
  const totalRecords = shards.reduce((a, s) => a + s.count, 0);

  const stats: FastKinesisStats = {
    calls: {},
    getRecordsCalls: 0,
    getRecordsWithRecords: 0,
    recordsServed: 0,
    bytesServed: 0,
    responseBytes: 0,
    throttled: 0,
    expiredIterators: 0,
    errors: 0,
    firstRecordsAtMs: undefined,
    lastRecordsAtMs: undefined,
    allServedAtMs: totalRecords === 0 ? startedAt : undefined,
    records: totalRecords,
  };
  let unserved = shards.filter((s) => s.count > 0).length;
  const servedWaiters: (() => void)[] = [];

  /** Records of a shard readable at `t`. */
  const visible = (s: Shard, t: number): number => (options.writeBytesPerSecond ? bound(s.arrivals, t, false) : s.count);

  // Iterators: `<instance>:<shard>:<index>:<issued ms>`, base64, padded to the length of a real one.
  const FILLER = 'A'.repeat(120);
  const iteratorFor = (s: Shard, index: number): string => Buffer.from(`${instance}:${s.index}:${index}:${now()}:${FILLER}`).toString('base64');
  function parseIterator(it: unknown): { shard: Shard; index: number } {
    if (typeof it !== 'string' || it.length === 0 || it.length > 512) throw new ApiError('InvalidArgumentException', 'ShardIterator is missing or not valid');
    const parts = Buffer.from(it, 'base64').toString('latin1').split(':');
    const shard = shards[Number(parts[1])];
    const index = Number(parts[2]);
    const issued = Number(parts[3]);
    if (parts[0] !== instance || parts.length !== 5 || !shard || !Number.isInteger(index) || index < 0 || index > shard.count || !Number.isFinite(issued)) {
      throw new ApiError('InvalidArgumentException', `Invalid ShardIterator.`);
    }
    const t = now();
    if (t - issued > ttl) {
      stats.expiredIterators++;
      throw new ApiError(
        'ExpiredIteratorException',
        `Iterator expired. The iterator was created at time ${new Date(issued).toUTCString()} while right now it is ${new Date(t).toUTCString()} which is further in the future than the tolerated delay of ${ttl} milliseconds.`,
      );
    }
    return { shard, index };
  }

  function checkStream(input: Record<string, unknown>): void {
    const name = input.StreamName ?? (typeof input.StreamARN === 'string' ? input.StreamARN.split('/').pop() : undefined);
    if (name !== streamName) throw new ApiError('ResourceNotFoundException', `Stream ${String(name)} under account ${ACCOUNT} not found.`);
  }

  function shardJson(s: Shard): Record<string, unknown> {
    const range: Record<string, string> = { StartingSequenceNumber: startingSequence(s.index) };
    if (s.spec.closed) range.EndingSequenceNumber = s.count > 0 ? sequenceNumber(s.index, s.count - 1) : startingSequence(s.index);
    return {
      ShardId: s.id,
      ...(s.spec.parentShardId ? { ParentShardId: s.spec.parentShardId } : {}),
      ...(s.spec.adjacentParentShardId ? { AdjacentParentShardId: s.spec.adjacentParentShardId } : {}),
      HashKeyRange: { StartingHashKey: s.hashKeyRange[0], EndingHashKey: s.hashKeyRange[1] },
      SequenceNumberRange: range,
    };
  }

  function listShards(input: Record<string, unknown>): unknown {
    let from = 0;
    let list = shards;
    if (input.NextToken !== undefined) {
      if (input.StreamName !== undefined || input.StreamARN !== undefined) {
        throw new ApiError('InvalidArgumentException', 'NextToken and StreamName cannot be provided together.');
      }
      const [inst, offset, filter] = Buffer.from(String(input.NextToken), 'base64').toString('latin1').split(':');
      if (inst !== instance || !Number.isInteger(Number(offset))) throw new ApiError('InvalidArgumentException', 'Invalid NextToken.');
      from = Number(offset);
      if (filter === 'open') list = shards.filter((s) => !s.spec.closed);
    } else {
      checkStream(input);
      const after = (input.ShardFilter as { Type?: string; ShardId?: string } | undefined)?.Type === 'AFTER_SHARD_ID' ? (input.ShardFilter as { ShardId?: string }).ShardId : (input.ExclusiveStartShardId as string | undefined);
      if (after !== undefined) list = list.filter((s) => s.id > after);
      if ((input.ShardFilter as { Type?: string } | undefined)?.Type === 'AT_LATEST') list = list.filter((s) => !s.spec.closed);
    }
    const max = Math.min(pageSize, typeof input.MaxResults === 'number' ? input.MaxResults : pageSize);
    const page = list.slice(from, from + max);
    const out: Record<string, unknown> = { Shards: page.map(shardJson) };
    if (from + max < list.length) {
      const filter = list.length !== shards.length && (input.ShardFilter as { Type?: string } | undefined)?.Type === 'AT_LATEST' ? 'open' : 'all';
      // Only plain continuation is encoded (the filter of a first page beyond AT_LATEST is not kept for ExclusiveStartShardId).
      out.NextToken = Buffer.from(`${instance}:${from + max}:${filter}`).toString('base64');
    }
    return out;
  }

  function getShardIterator(input: Record<string, unknown>): unknown {
    checkStream(input);
    const s = byId.get(String(input.ShardId));
    if (!s) throw new ApiError('ResourceNotFoundException', `Shard ${String(input.ShardId)} in stream ${streamName} under account ${ACCOUNT} does not exist`);
    const type = input.ShardIteratorType;
    let index: number;
    switch (type) {
      case 'TRIM_HORIZON':
        index = 0;
        break;
      case 'LATEST':
        index = visible(s, now());
        break;
      case 'AT_TIMESTAMP': {
        const ts = Number(input.Timestamp);
        if (!Number.isFinite(ts)) throw new ApiError('InvalidArgumentException', 'Timestamp is required for AT_TIMESTAMP');
        index = bound(s.arrivals, ts * 1000, true);
        break;
      }
      case 'AT_SEQUENCE_NUMBER':
      case 'AFTER_SEQUENCE_NUMBER': {
        const seq = input.StartingSequenceNumber;
        if (typeof seq !== 'string' || !/^\d{1,128}$/.test(seq)) throw new ApiError('InvalidArgumentException', `StartingSequenceNumber is required for ${type}`);
        const padded = seq.padStart(56, '0');
        if (padded.length !== 56 || padded.slice(0, 18) !== `49${instance}` || Number(padded.slice(18, 24)) !== s.index) {
          throw new ApiError('InvalidArgumentException', `Invalid StartingSequenceNumber. It encodes a different stream or shard than ${s.id} of ${streamName}.`);
        }
        const counter = Number(padded.slice(24));
        index = Math.min(s.count, type === 'AT_SEQUENCE_NUMBER' ? Math.max(0, counter - 1) : counter);
        break;
      }
      default:
        throw new ApiError('ValidationException', `1 validation error detected: Value '${String(type)}' at 'shardIteratorType' failed to satisfy constraint`);
    }
    return { ShardIterator: iteratorFor(s, index) };
  }

  const CLOSE_WITH_ITERATOR = Buffer.from('],"NextShardIterator":"');
  const HEAD = Buffer.from('{"Records":[');

  /** Writes a GetRecords response straight to the socket: head, a slice of the shard's body, tail. */
  /** A shard's records as CBOR maps, back to back, with their offsets (made once). */
  function cborRecords(s: Shard): { body: Buffer; offsets: Float64Array } {
    if (s.cbor) return s.cbor;
    const key = (k: string) => cborText(k);
    const [kSeq, kTs, kData, kPk] = [key('SequenceNumber'), key('ApproximateArrivalTimestamp'), key('Data'), key('PartitionKey')];
    const offsets = new Float64Array(s.count + 1);
    const parts: Uint8Array[] = [];
    let at = 0;
    for (let i = 0; i < s.count; i++) {
      const r = s.record(i);
      const item = [cborHead(5, 4), kSeq, cborText(sequenceNumber(s.index, i)), kTs, Uint8Array.of(0xc1), cborFloat(s.arrivals[i]! / 1000), kData, cborHead(2, r.data.length), r.data, kPk, cborText(r.partitionKey)];
      offsets[i] = at;
      for (const p of item) {
        parts.push(p);
        at += p.length;
      }
    }
    offsets[s.count] = at;
    s.cbor = { body: Buffer.concat(parts, at), offsets };
    return s.cbor;
  }

  function getRecords(input: Record<string, unknown>, res: ServerResponse, cbor: boolean): void {
    const { shard: s, index } = parseIterator(input.ShardIterator);
    const limit = input.Limit === undefined ? 10_000 : Number(input.Limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new ApiError('ValidationException', `1 validation error detected: Value '${String(input.Limit)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000`);
    }
    const t = now();
    if (limits) {
      while (s.recentCalls.length > 0 && t - s.recentCalls[0]! >= 1000) s.recentCalls.shift();
      if (s.recentCalls.length >= limits.callsPerSecond || t < s.readyAtMs) {
        stats.throttled++;
        throw new ApiError('ProvisionedThroughputExceededException', `Rate exceeded for shard ${s.id} in stream ${streamName} under account ${ACCOUNT}.`);
      }
      s.recentCalls.push(t);
    }
    const readable = visible(s, t);
    let end = Math.min(index + limit, readable);
    if (end < index) end = index;
    if (limits) {
      end = Math.min(end, index + limits.maxRecordsPerCall);
      // At most maxBytesPerCall (at least one record).
      const cap = s.cumBytes[index]! + limits.maxBytesPerCall;
      if (end > index + 1 && s.cumBytes[end]! > cap) end = Math.max(index + 1, Math.min(end, bound(s.cumBytes, cap, false) - 1));
    }
    const bytes = s.cumBytes[end]! - s.cumBytes[index]!;
    if (limits && bytes > 0) s.readyAtMs = Math.max(s.readyAtMs, t) + (bytes / limits.bytesPerSecond) * 1000;
    stats.getRecordsCalls++;
    const atEnd = s.spec.closed === true && index >= s.count;
    const childShards = (): unknown[] =>
      shards
        .filter((c) => c.spec.parentShardId === s.id || c.spec.adjacentParentShardId === s.id)
        .map((c) => ({
          ShardId: c.id,
          ParentShards: [c.spec.parentShardId, c.spec.adjacentParentShardId].filter((p) => p !== undefined),
          HashKeyRange: { StartingHashKey: c.hashKeyRange[0], EndingHashKey: c.hashKeyRange[1] },
        }));
    const behind = atEnd || end >= readable ? 0 : Math.max(0, Math.round(t - s.arrivals[end]!));
    // The response in pieces: head, the records' slice, tail.
    let pieces: Uint8Array[];
    if (cbor) {
      if (atEnd) pieces = [cborEncode({ Records: [], MillisBehindLatest: 0, ChildShards: childShards() })];
      else {
        const c = cborRecords(s);
        pieces = [
          Buffer.concat([cborHead(5, 3), cborText('Records'), cborHead(4, end - index)]),
          c.body.subarray(c.offsets[index]!, c.offsets[end]!),
          Buffer.concat([cborText('NextShardIterator'), cborText(iteratorFor(s, end)), cborText('MillisBehindLatest'), cborHead(0, behind)]),
        ];
      }
    } else {
      const slice = end > index ? s.body.subarray(s.offsets[index]!, s.offsets[end]! - 1) : Buffer.alloc(0);
      pieces = atEnd
        ? [HEAD, slice, Buffer.from(`],"MillisBehindLatest":0,"ChildShards":${JSON.stringify(childShards())}}`, 'latin1')]
        : [HEAD, slice, CLOSE_WITH_ITERATOR, Buffer.from(`${iteratorFor(s, end)}","MillisBehindLatest":${behind}}`, 'latin1')];
    }
    const length = pieces.reduce((a, p) => a + p.length, 0);
    stats.responseBytes += length;
    if (end > index) {
      stats.getRecordsWithRecords++;
      stats.recordsServed += end - index;
      stats.bytesServed += bytes;
      stats.firstRecordsAtMs ??= Date.now();
      stats.lastRecordsAtMs = Date.now();
      if (end > s.servedUpTo) {
        if (s.servedUpTo < s.count && end >= s.count && --unserved === 0) {
          stats.allServedAtMs = Date.now();
          for (const w of servedWaiters.splice(0)) w();
        }
        s.servedUpTo = end;
      }
    }
    res.writeHead(200, { 'Content-Type': cbor ? CBOR_TYPE : JSON_TYPE, 'Content-Length': length, 'x-amzn-RequestId': requestId() });
    res.cork();
    for (let i = 0; i < pieces.length - 1; i++) if (pieces[i]!.length > 0) res.write(pieces[i]);
    res.end(pieces[pieces.length - 1]);
  }

  function describeStreamSummary(input: Record<string, unknown>, cbor: boolean): unknown {
    checkStream(input);
    return {
      StreamDescriptionSummary: {
        StreamName: streamName,
        StreamARN: streamArn,
        StreamStatus: 'ACTIVE',
        StreamModeDetails: { StreamMode: 'PROVISIONED' },
        RetentionPeriodHours: 24,
        // Epoch seconds in JSON; a tag-1 date in CBOR.
        StreamCreationTimestamp: cbor ? new Date(startedAt - 3_600_000) : Number(epochSeconds(startedAt - 3_600_000)),
        EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
        EncryptionType: 'NONE',
        OpenShardCount: shards.filter((s) => !s.spec.closed).length,
        ConsumerCount: 0,
      },
    };
  }

  let requests = 0;
  const requestId = (): string => `${instance.slice(0, 8)}-0000-4000-8000-${pad(++requests, 12)}`;

  function send(res: ServerResponse, status: number, body: unknown, cbor: boolean): void {
    const bytes = cbor ? cborEncode(body) : Buffer.from(JSON.stringify(body), 'utf8');
    res.writeHead(status, { 'Content-Type': cbor ? CBOR_TYPE : JSON_TYPE, 'Content-Length': bytes.length, 'x-amzn-RequestId': requestId() });
    res.end(bytes);
  }

  function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): void {
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    stats.calls[op || '(none)'] = (stats.calls[op || '(none)'] ?? 0) + 1;
    const type = String(req.headers['content-type'] ?? '');
    const cbor = type.includes('cbor');
    try {
      if (req.method !== 'POST') throw new ApiError('UnknownOperationException', 'POST only', 404);
      if (!cbor && !type.includes('json')) throw new ApiError('SerializationException', `content type ${type} is not served here (JSON 1.1 or CBOR 1.1)`, 400);
      let input: Record<string, unknown>;
      try {
        input = raw.length === 0 ? {} : ((cbor ? cborDecode(raw) : JSON.parse(raw.toString('utf8'))) as Record<string, unknown>);
      } catch {
        throw new ApiError('SerializationException', 'Start of structure or map found where not expected.');
      }
      if (input === null || typeof input !== 'object') throw new ApiError('SerializationException', 'Expected a structure.');
      switch (op) {
        case 'GetRecords':
          getRecords(input, res, cbor);
          return;
        case 'GetShardIterator':
          send(res, 200, getShardIterator(input), cbor);
          return;
        case 'ListShards':
          send(res, 200, listShards(input), cbor);
          return;
        case 'DescribeStreamSummary':
          send(res, 200, describeStreamSummary(input, cbor), cbor);
          return;
        default:
          throw new ApiError('UnknownOperationException', `${op || target} is not served by this endpoint`);
      }
    } catch (e) {
      stats.errors++;
      if (e instanceof ApiError) send(res, e.status, { __type: e.type, message: e.message }, cbor);
      else send(res, 500, { __type: 'InternalFailure', message: (e as Error).message }, cbor);
    }
  }

  const server: Server = createServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    streamName,
    shardIds: shards.map((s) => s.id),
    sequenceNumber,
    stats: () => ({ ...stats, calls: { ...stats.calls } }),
    allServed: () => (stats.allServedAtMs !== undefined ? Promise.resolve() : new Promise<void>((resolve) => servedWaiters.push(resolve))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
