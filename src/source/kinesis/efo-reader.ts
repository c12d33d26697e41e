/**
 * One shard read through enhanced fan-out (`source.consumer`): SubscribeToShard over HTTP/2, the
 * records pushed as event-stream events, the subscription renewed when it ends (Kinesis ends each
 * after 5 minutes) from the last continuation sequence number, the shard's end reached when an
 * event brings ChildShards and no continuation.
 *
 * Built beside the GetRecords reader (`shard-reader.ts`), sharing only the positions and record
 * shape: a record's position is its sequence number, or `<seq>:<sub>` inside a KPL aggregate
 * (`position.ts`), so the table's positions mean the same in both modes and a pipeline may switch
 * modes between runs. Records are handed out as objects (no blocks): `take` ignores `runs`.
 *
 * Backpressure: the next event is only pulled from the stream once this shard's buffer and the
 * source's budget have room; until then HTTP/2 flow control holds Kinesis back.
 */
import { SubscribeToShardCommand, type KinesisClient, type StartingPosition, type SubscribeToShardEvent } from '@aws-sdk/client-kinesis';
import { FloeError } from '../../errors.js';
import { Backoff, sleep } from '../../retry.js';
import type { PartitionMetrics, PartitionState, RecordRun, SourceLogger, SourceRecord } from '../source.js';
import { partitionMetrics, SHARD_END } from '../source.js';
import { classifyKinesisError, describeError } from './client.js';
import { deaggregate, hasKplMagic } from './kpl.js';
import type { ReaderStart } from './lineage.js';
import type { KinesisBackoff } from './pacing.js';
import { formatKinesisPosition } from './position.js';
import { Notifier, type ByteBudget } from './signal.js';
import type { TakeResult } from './shard-reader.js';

/** What an enhanced fan-out reader gets from its source. */
export interface EfoReaderContext {
  /** A client with the HTTP/2 handler (SubscribeToShard needs it). */
  client: KinesisClient;
  consumerArn: string;
  streamName: string;
  backoff: KinesisBackoff;
  maxBufferedRecords: number;
  maxBufferedBytes: number;
  budget: ByteBudget;
  deaggregate: boolean;
  onData(): void;
  onShardEnd(shardId: string): void;
  onFatal(error: FloeError): void;
  log: SourceLogger;
}

const END = Symbol('SHARD_END');

/** Subscribing failures in a row (other than the expected ones) before the reader gives up. */
const MAX_FAILURES = 10;

/** Reads one shard by SubscribeToShard. Same surface as `ShardReader` for the source. */
export class EfoShardReader {
  state: PartitionState = 'reading';
  readonly metrics: PartitionMetrics;
  private readonly queue: (SourceRecord | typeof END)[] = [];
  private head = 0;
  private bufferedRecords = 0;
  private bufferedBytes = 0;
  private readonly space = new Notifier();
  /** Where the next subscription starts: the last continuation (or record) seen, else the start. */
  private continuation: string | undefined;
  /** Resuming inside an aggregate: skip its sub-records up to and including `subSequence`. */
  private skip: { sequenceNumber: string; subSequence: number } | undefined;
  private avgEventBytes = 64 * 1024;
  /** Subscriptions made (the first and every renewal). */
  subscriptions = 0;

  constructor(
    readonly shardId: string,
    private readonly start: ReaderStart,
    private readonly ctx: EfoReaderContext,
    private readonly signal: AbortSignal,
    parents: string[],
  ) {
    if (start.type === 'AFTER' && start.position.subSequence !== undefined) {
      this.skip = { sequenceNumber: start.position.sequenceNumber, subSequence: start.position.subSequence };
    }
    signal.addEventListener('abort', this.wake, { once: true });
    this.metrics = partitionMetrics(shardId, 'reading', { parents });
  }

  private readonly wake = (): void => this.space.notifyAll();

  /** Records and end markers waiting: 0 when nothing waits. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Subscribes (again and again) until the shard's end, the stop signal, or a failure. */
  async run(): Promise<void> {
    this.ctx.budget.readers++;
    this.ctx.budget.busy++;
    try {
      await this.loop();
    } catch (e) {
      if (this.signal.aborted) return;
      this.state = 'failed';
      this.ctx.onFatal(
        e instanceof FloeError
          ? e
          : new FloeError('SOURCE_READ_FAILED', `kinesis: enhanced fan-out on shard ${this.shardId} of stream ${this.ctx.streamName} failed: ${describeError(e)}`, { cause: e }),
      );
    } finally {
      this.ctx.budget.busy--;
      this.ctx.budget.readers--;
      this.signal.removeEventListener('abort', this.wake);
    }
  }

  /** The StartingPosition of the next subscription. */
  private startingPosition(): StartingPosition {
    if (this.continuation !== undefined) return { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: this.continuation };
    const s = this.start;
    switch (s.type) {
      case 'TRIM_HORIZON':
      case 'LATEST':
        return { Type: s.type };
      case 'AT_TIMESTAMP':
        return { Type: 'AT_TIMESTAMP', Timestamp: new Date(s.timestampMs) };
      case 'AFTER':
        // Inside an aggregate the record itself must be read again for its remaining sub-records.
        return s.position.subSequence === undefined
          ? { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: s.position.sequenceNumber }
          : { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: s.position.sequenceNumber };
    }
  }

  private async loop(): Promise<void> {
    const backoff = new Backoff(this.ctx.backoff);
    while (!this.signal.aborted) {
      const position = this.startingPosition();
      let events: AsyncIterable<{ SubscribeToShardEvent?: SubscribeToShardEvent }> | undefined;
      try {
        const res = await this.ctx.client.send(
          new SubscribeToShardCommand({ ConsumerARN: this.ctx.consumerArn, ShardId: this.shardId, StartingPosition: position }),
          { abortSignal: this.signal },
        );
        events = res.EventStream as AsyncIterable<{ SubscribeToShardEvent?: SubscribeToShardEvent }> | undefined;
        this.subscriptions++;
        if (this.subscriptions > 1) this.metrics.iteratorRenewals++;
        this.ctx.log('debug', `kinesis: subscribed to shard ${this.shardId} (${position.Type}${position.SequenceNumber ? ` ${position.SequenceNumber}` : ''})`, { shardId: this.shardId });
        if (events === undefined) throw new FloeError('SOURCE_READ_FAILED', `kinesis: SubscribeToShard on shard ${this.shardId} returned no event stream`);
        for await (const ev of events) {
          const e = ev.SubscribeToShardEvent;
          if (e === undefined) continue;
          backoff.reset();
          if (this.accept(e)) return; // the shard's end
          if (!(await this.waitForRoom())) return;
        }
        // The subscription ended (its 5 minutes are over): subscribe again from the continuation.
        continue;
      } catch (e) {
        if (this.signal.aborted) return;
        if (e instanceof FloeError) throw e;
        const name = (e as { name?: string }).name;
        const kind = classifyKinesisError(e);
        // ResourceInUse: the previous subscription of this consumer and shard is still closing
        // (a renewal racing its end, a lease handed over): it goes away within seconds.
        const retry = name === 'ResourceInUseException' || kind === 'throttle' || kind === 'transient' || kind === 'expired-iterator' || isStreamBreak(e);
        if (!retry || backoff.failures >= MAX_FAILURES) {
          throw new FloeError('SOURCE_READ_FAILED', `kinesis: SubscribeToShard on shard ${this.shardId} of stream ${this.ctx.streamName} (consumer ${this.ctx.consumerArn}) failed: ${describeError(e)}`, {
            cause: e,
            retriable: retry,
          });
        }
        if (kind === 'throttle' || name === 'LimitExceededException') this.metrics.throttles++;
        else this.metrics.retries++;
        const wait = backoff.next();
        this.ctx.log('debug', `kinesis: SubscribeToShard on shard ${this.shardId} failed (${describeError(e)}); again in ${wait} ms`, { shardId: this.shardId });
        if (!(await sleep(wait, this.signal))) return;
      }
    }
  }

  /** Buffers one event's records; true when it was the shard's end. */
  private accept(e: SubscribeToShardEvent): boolean {
    this.metrics.fetches++;
    if (e.MillisBehindLatest !== undefined) this.metrics.millisBehindLatest = e.MillisBehindLatest;
    let bytes = 0;
    let n = 0;
    for (const r of e.Records ?? []) {
      const seq = r.SequenceNumber;
      if (seq === undefined) throw new FloeError('SOURCE_READ_FAILED', `kinesis: record without SequenceNumber in shard ${this.shardId}`);
      const data = r.Data ?? new Uint8Array(0);
      const pk = r.PartitionKey ?? '';
      const arrival = r.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
      bytes += data.byteLength + Buffer.byteLength(pk);
      const base: Record<string, string> = { stream: this.ctx.streamName, shardId: this.shardId, sequenceNumber: seq };
      if (r.EncryptionType !== undefined) base.encryptionType = r.EncryptionType;
      const skip = this.skip?.sequenceNumber === seq ? this.skip.subSequence : undefined;
      this.skip = undefined;
      const agg = this.ctx.deaggregate && hasKplMagic(data) ? deaggregate(data) : undefined;
      if (agg?.aggregated === true) {
        const last = agg.records.length - 1;
        agg.records.forEach((u, sub) => {
          if (skip !== undefined && sub <= skip) return;
          const meta: Record<string, string> = { ...base, subSequenceNumber: String(sub), aggregated: 'true' };
          if (u.explicitHashKey !== undefined) meta.explicitHashKey = u.explicitHashKey;
          // The last sub-record consumes the whole Kinesis record (see position.ts).
          const position = formatKinesisPosition(sub === last ? { sequenceNumber: seq } : { sequenceNumber: seq, subSequence: sub });
          this.push({ partitionId: this.shardId, position, data: u.data, partitionKey: u.partitionKey, arrivalTimeMs: arrival, meta });
          n++;
        });
      } else {
        if (agg !== undefined && agg.aggregated === false && agg.reason !== undefined) {
          this.ctx.log('warn', `kinesis: record ${seq} of shard ${this.shardId} starts like a KPL aggregate but is not one (${agg.reason}); passed on as a plain record`, { shardId: this.shardId });
        }
        this.push({ partitionId: this.shardId, position: seq, data, partitionKey: pk, arrivalTimeMs: arrival, meta: base });
        n++;
      }
      this.continuation = seq;
    }
    this.metrics.bytesRead += bytes;
    this.avgEventBytes = Math.max(1024, (this.avgEventBytes + bytes) / 2);
    // A later continuation (no records since) moves the renewal point on: nothing is skipped, the
    // records between are none.
    if (e.ContinuationSequenceNumber) this.continuation = e.ContinuationSequenceNumber;
    const ended = (e.ContinuationSequenceNumber === undefined || e.ContinuationSequenceNumber === null) && (e.ChildShards?.length ?? 0) > 0;
    if (ended) this.queue.push(END);
    if (n > 0 || ended) this.ctx.onData();
    if (ended) {
      this.ctx.onShardEnd(this.shardId);
      return true;
    }
    return false;
  }

  private push(r: SourceRecord): void {
    const size = r.data.byteLength;
    this.queue.push(r);
    this.bufferedRecords++;
    this.bufferedBytes += size;
    this.ctx.budget.add(size);
    this.ctx.budget.settleRecords(0, 1);
    const m = this.metrics;
    m.recordsRead++;
    m.bufferedRecords = this.bufferedRecords;
    m.bufferedBytes = this.bufferedBytes;
    m.peakBufferedRecords = Math.max(m.peakBufferedRecords, this.bufferedRecords);
    m.peakBufferedBytes = Math.max(m.peakBufferedBytes, this.bufferedBytes);
  }

  /** Waits until this shard's buffer and the shared budget have room for another event. */
  private async waitForRoom(): Promise<boolean> {
    const room = (): boolean =>
      this.bufferedRecords < this.ctx.maxBufferedRecords &&
      (this.bufferedRecords === 0 || this.bufferedBytes + this.avgEventBytes <= this.ctx.maxBufferedBytes) &&
      this.ctx.budget.hasRoom(Math.min(this.avgEventBytes, this.ctx.budget.limit / 4)) &&
      this.ctx.budget.hasRecordRoom(1);
    while (!room() && !this.signal.aborted) await Notifier.waitAny([this.space, this.ctx.budget.freed]);
    return !this.signal.aborted;
  }

  /** As `ShardReader.take`; records only (`runs` is not used: no blocks here). */
  take(maxRecords: number, maxBytes: number, allowOversize: boolean, out: SourceRecord[], _runs?: RecordRun[]): TakeResult {
    let records = 0;
    let bytes = 0;
    let position: string | undefined;
    while (this.head < this.queue.length) {
      const item = this.queue[this.head] as SourceRecord | typeof END;
      if (item === END) {
        this.head++;
        this.state = 'ended';
        position = SHARD_END;
        break;
      }
      if (records >= maxRecords) break;
      const size = item.data.byteLength;
      if (bytes + size > maxBytes && !(records === 0 && allowOversize)) break;
      out.push(item);
      bytes += size;
      records++;
      position = item.position;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (records > 0) {
      this.bufferedRecords -= records;
      this.bufferedBytes -= bytes;
      this.metrics.bufferedRecords = this.bufferedRecords;
      this.metrics.bufferedBytes = this.bufferedBytes;
      this.ctx.budget.release(bytes);
      this.ctx.budget.releaseRecords(records);
      this.space.notifyAll();
    }
    if (position !== undefined) this.metrics.lastPosition = position;
    this.metrics.state = this.state;
    return { records, bytes, position };
  }
}

/** The HTTP/2 stream broke mid-subscription (a reset, a closed session): subscribe again. */
function isStreamBreak(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('ERR_HTTP2') || code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'EPIPE');
}
