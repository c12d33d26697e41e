/**
 * The records of one GetRecords response as a {@link RecordBlock}: what a shard reader buffers and
 * hands out, without an object per record. A response without KPL aggregates is its page as it
 * is (record i = Kinesis record i); one with aggregates gets a map from user records to their
 * Kinesis record, sub-record and bytes inside the page's data (the sub-records' data are views of
 * the aggregate, never copies). Fields match what `ShardReader` made per record before (see the
 * source's module comment): position `<seq>` or `<seq>:<sub>` (a bare `<seq>` for an aggregate's
 * last sub-record), partition key '' when absent, arrival time the response's receipt when absent,
 * `meta` with `stream`, `shardId`, `sequenceNumber` and, as they apply, `subSequenceNumber`,
 * `aggregated`, `explicitHashKey`, `encryptionType`.
 */
import type { RecordBlock, SourceRecord } from '../source.js';
import { deaggregate, KPL_MAGIC } from './kpl.js';
import type { RecordsPage } from './records-page.js';

/** The map of a block with aggregates: per user record. */
interface Expansion {
  kinesis: Int32Array;
  /** Sub-record index, -1 for a plain record. */
  sub: Int32Array;
  /** Sub-records of the aggregate (0 for a plain record). */
  subCount: Int32Array;
  start: Int32Array;
  end: Int32Array;
  /** Partition keys of sub-records (undefined: the Kinesis record's). */
  keys: (string | undefined)[];
  hashKeys: (string | undefined)[];
}

/** How to read a page into a block. */
export interface BlockOptions {
  shardId: string;
  stream: string;
  deaggregate: boolean;
  /** Resuming inside an aggregate: skip its sub-records up to and including `subSequence`. */
  skip: { sequenceNumber: string; subSequence: number } | undefined;
  /** Arrival time of records without one (when the response came). */
  nowMs: number;
  /** Told once per block when a record looks like an aggregate but is not one. */
  onNotAggregate?: (sequenceNumber: string, reason: string) => void;
}

/** A shard's records of one response. */
export class ShardBlock implements RecordBlock {
  readonly partitionId: string;
  readonly length: number;
  readonly data: Uint8Array;
  private readonly page: RecordsPage;
  private readonly stream: string;
  private readonly nowMs: number;
  private readonly x: Expansion | undefined;
  /** The last position asked for (the batch's position is asked for again and again). */
  private lastPositionOf = -1;
  private lastPosition = '';

  constructor(page: RecordsPage, options: BlockOptions) {
    this.page = page;
    this.partitionId = options.shardId;
    this.stream = options.stream;
    this.nowMs = options.nowMs;
    this.data = page.data;
    this.x = options.deaggregate ? expand(page, options) : undefined;
    this.length = this.x ? this.x.kinesis.length : page.count;
  }

  dataStart(i: number): number {
    return this.x ? this.x.start[i]! : this.page.dataStart(i);
  }

  release(): void {
    this.page.release();
  }

  ranges(): { ends: Int32Array; starts: Int32Array | null } {
    const x = this.x;
    return x ? { ends: x.end, starts: x.start } : { ends: this.page.dataEnd, starts: null };
  }

  dataEnd(i: number): number {
    return this.x ? this.x.end[i]! : this.page.dataEnd[i]!;
  }

  /** Bytes a record counts for in buffers and budgets: its data and its partition key. */
  size(i: number): number {
    const x = this.x;
    if (x === undefined) return this.page.dataEnd[i]! - this.page.dataStart(i) + this.page.partitionKeyBytes(i);
    const key = x.keys[i];
    return x.end[i]! - x.start[i]! + (key !== undefined ? key.length : this.page.partitionKeyBytes(x.kinesis[i]!));
  }

  position(i: number): string {
    if (i === this.lastPositionOf) return this.lastPosition;
    const x = this.x;
    const k = x ? x.kinesis[i]! : i;
    const seq = this.page.sequenceNumber(k)!;
    const sub = x ? x.sub[i]! : -1;
    // The last sub-record completes the Kinesis record: a bare sequence number.
    const position = sub < 0 || sub === x!.subCount[i]! - 1 ? seq : `${seq}:${sub}`;
    this.lastPositionOf = i;
    this.lastPosition = position;
    return position;
  }

  partitionKey(i: number): string {
    const x = this.x;
    if (x === undefined) return this.page.partitionKey(i);
    return x.keys[i] ?? this.page.partitionKey(x.kinesis[i]!);
  }

  arrivalTimeMs(i: number): number {
    const t = this.page.arrivalMs[this.x ? this.x.kinesis[i]! : i]!;
    return Number.isNaN(t) ? this.nowMs : t;
  }

  meta(i: number): Readonly<Record<string, string>> {
    const x = this.x;
    const k = x ? x.kinesis[i]! : i;
    const meta: Record<string, string> = { stream: this.stream, shardId: this.partitionId, sequenceNumber: this.page.sequenceNumber(k)! };
    const sub = x ? x.sub[i]! : -1;
    if (sub >= 0) {
      meta.subSequenceNumber = String(sub);
      meta.aggregated = 'true';
      const h = x!.hashKeys[i];
      if (h !== undefined) meta.explicitHashKey = h;
    } else {
      const e = this.page.encryptionType(k);
      if (e !== undefined) meta.encryptionType = e;
    }
    return meta;
  }

  record(i: number): SourceRecord {
    return {
      partitionId: this.partitionId,
      position: this.position(i),
      data: this.data.subarray(this.dataStart(i), this.dataEnd(i)),
      partitionKey: this.partitionKey(i),
      arrivalTimeMs: this.arrivalTimeMs(i),
      meta: this.meta(i),
    };
  }
}

/** The map of user records when the page has an aggregate; undefined when it has none. */
function expand(page: RecordsPage, options: BlockOptions): Expansion | undefined {
  const data = page.data;
  // The magic, checked in place (no view per record): most pages have no aggregate.
  let any = false;
  for (let k = 0; k < page.count && !any; k++) {
    const s = page.dataStart(k);
    any = page.dataEnd[k]! - s >= 4 && data[s] === KPL_MAGIC[0] && data[s + 1] === KPL_MAGIC[1] && data[s + 2] === KPL_MAGIC[2] && data[s + 3] === KPL_MAGIC[3];
  }
  if (!any) return undefined;
  const kinesis: number[] = [];
  const sub: number[] = [];
  const subCount: number[] = [];
  const start: number[] = [];
  const end: number[] = [];
  const keys: (string | undefined)[] = [];
  const hashKeys: (string | undefined)[] = [];
  let warned = false;
  for (let k = 0; k < page.count; k++) {
    const s = page.dataStart(k);
    const e = page.dataEnd[k]!;
    // Only the first record after a resume can be the partly consumed aggregate.
    const skipUpTo = k === 0 && options.skip !== undefined && options.skip.sequenceNumber === page.sequenceNumber(0) ? options.skip.subSequence : -1;
    const d = deaggregate(data.subarray(s, e));
    if (d.aggregated) {
      const n = d.records.length;
      for (let i = skipUpTo + 1; i < n; i++) {
        const u = d.records[i]!;
        kinesis.push(k);
        sub.push(i);
        subCount.push(n);
        start.push(u.data.byteOffset - data.byteOffset);
        end.push(u.data.byteOffset - data.byteOffset + u.data.byteLength);
        keys.push(u.partitionKey);
        hashKeys.push(u.explicitHashKey);
      }
      continue;
    }
    if (d.reason !== undefined && !warned) {
      warned = true;
      options.onNotAggregate?.(page.sequenceNumber(k) ?? '?', d.reason);
    }
    kinesis.push(k);
    sub.push(-1);
    subCount.push(0);
    start.push(s);
    end.push(e);
    keys.push(undefined);
    hashKeys.push(undefined);
  }
  return {
    kinesis: Int32Array.from(kinesis),
    sub: Int32Array.from(sub),
    subCount: Int32Array.from(subCount),
    start: Int32Array.from(start),
    end: Int32Array.from(end),
    keys,
    hashKeys,
  };
}
