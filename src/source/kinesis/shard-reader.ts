/**
 * One shard's read loop: GetShardIterator, then GetRecords within the shard's limits into a bounded
 * buffer that the consumer drains through {@link ShardReader.take}.
 *
 * Backpressure: the loop only calls GetRecords while its buffer (and the source-wide byte budget)
 * has room, and sizes the call's `Limit` from the room left and the record sizes seen so far, so a
 * slow consumer stops the fetching instead of growing memory. Plain records never exceed the
 * record bound; bytes (and aggregated records, which expand after the call) can exceed the bounds
 * only by records larger than the running average. With many shards each reader's `Limit` is
 * capped by its fair share of the source-wide budget (`ByteBudget.share`), a call reserves the
 * response bytes it may bring (measured per shard), and a shard idle at the tip is polled less
 * and less often, down to once a second (bench/notes.md item 26).
 *
 * A response is buffered as one block (`shard-block.ts` over the lean parser's `RecordsPage`):
 * its records' data in one buffer, strings made only when read, no object per record. `take`
 * hands out runs of blocks to a poll that asks for them (`PollOptions.runs`), records otherwise
 * (bench/notes.md item 28).
 */
import { GetShardIteratorCommand, type GetShardIteratorCommandInput, type KinesisClient } from '@aws-sdk/client-kinesis';
import { FloeError } from '../../errors.js';
import type { PartitionMetrics, PartitionState, RecordRun, SourceLogger, SourceRecord } from '../source.js';
import { partitionMetrics, SHARD_END } from '../source.js';
import { Backoff, sleep } from '../../retry.js';
import { nextCallTime, type KinesisBackoff, type PacingOptions } from './pacing.js';
import { classifyKinesisError, describeError } from './client.js';
import type { GetRecordsCaller } from './get-records-http.js';
import { RecordsPage } from './records-page.js';
import { ShardBlock } from './shard-block.js';
import type { ReaderStart } from './lineage.js';
import type { ReadStats } from './read-stats.js';
import { ByteBudget, Notifier } from './signal.js';

/** Settings and hooks a reader gets from its source. */
export interface ShardReaderContext {
  client: KinesisClient;
  /** GetRecords (the lean path of `get-records-http.ts`, or the SDK's for other clients). */
  getRecords: GetRecordsCaller;
  /** `{ StreamName }` or `{ StreamARN }`. */
  stream: { StreamName: string } | { StreamARN: string };
  /** Stream name, for record metadata and messages. */
  streamName: string;
  pacing: PacingOptions;
  backoff: KinesisBackoff;
  /** GetRecords `Limit` ceiling (Kinesis: 10,000). */
  maxRecordsPerCall: number;
  maxBufferedRecords: number;
  maxBufferedBytes: number;
  /** Source-wide byte budget shared by all readers. */
  budget: ByteBudget;
  /** Source-wide read counters (bench/notes.md item 26). */
  stats: ReadStats;
  /** Sockets open and requests queued in the client's HTTP agent, when readable. */
  probeAgent(): { sockets: number; queued: number } | undefined;
  deaggregate: boolean;
  /** Records were buffered: wake the consumer. */
  onData(): void;
  /** The shard reached its end: re-list shards to find its children. */
  onShardEnd(shardId: string): void;
  /** Reading failed for good. */
  onFatal(error: FloeError): void;
  log: SourceLogger;
}

/**
 * A buffered response: its records in one block (no object per record, bench/notes.md item 28),
 * and the next one to hand out.
 */
interface Buffered {
  block: ShardBlock;
  next: number;
}

/** Marker queued after the last record of a closed shard. */
const END = Symbol('SHARD_END');

/** Why the record size estimate starts at 1 KiB: Kinesis bills records in 1 KiB units. */
const INITIAL_RECORD_BYTES = 1024;

/**
 * A record's JSON in a GetRecords response beyond its base64 data: the 56-digit sequence number,
 * the arrival time, the partition key and the member names (about 150 bytes; 170 to be safe).
 */
const RESPONSE_BYTES_PER_RECORD = 170;

/** Response bytes of a record of `bytes` data bytes, when no response was measured yet. */
function responseBytesFor(bytes: number): number {
  return Math.ceil((bytes * 4) / 3) + RESPONSE_BYTES_PER_RECORD;
}

/**
 * An idle shard (empty responses, not behind the tip) waits twice as long after each empty
 * response in a row, up to this many times the idle delay: 250 ms → 1 s by default, the wait the
 * Kinesis documentation advises after an empty answer at the tip, so quiet shards do not burn
 * calls (each costs the reader 0.2–0.3 ms of CPU, bench/notes.md item 20). A shard that just went
 * quiet is still polled after the first idle delay.
 */
const IDLE_BACKOFF_FACTOR = 4;

/** What {@link ShardReader.take} handed out. */
export interface TakeResult {
  records: number;
  bytes: number;
  /** Position reached: last record's, or SHARD_END; undefined when nothing was taken. */
  position: string | undefined;
}

/** Reads one shard. Create, then {@link run}; stop with the abort signal given to the constructor. */
export class ShardReader {
  state: PartitionState = 'reading';
  private readonly queue: (Buffered | typeof END)[] = [];
  private head = 0;
  private bufferedRecords = 0;
  private bufferedBytes = 0;
  private readonly space = new Notifier();
  private readonly backoffState: Backoff;

  /** Sequence number of the last Kinesis record fetched (the renewal point after expiry). */
  private lastFetchedSeq: string | undefined;
  /** Resuming inside an aggregate: skip its sub-records up to and including `subSequence`. */
  private skip: { sequenceNumber: string; subSequence: number } | undefined;
  /** When a LATEST iterator was obtained, for renewing it without losing records. */
  private latestObtainedAtMs: number | undefined;
  /** Running averages that size GetRecords calls. */
  private avgKinesisRecordBytes = INITIAL_RECORD_BYTES;
  /** Running average of response (JSON) bytes per Kinesis record: what a call reserves per record. */
  private avgResponseBytesPerRecord = responseBytesFor(INITIAL_RECORD_BYTES);
  /** Counted among the budget's busy readers (see ByteBudget.share). */
  private busy = false;
  /** Empty responses at the tip in a row (see IDLE_BACKOFF_FACTOR). */
  private emptyStreak = 0;
  private avgUserRecordsPerKinesisRecord = 1;
  private warnedDeaggregation = false;

  readonly metrics: PartitionMetrics;

  constructor(
    readonly shardId: string,
    private readonly start: ReaderStart,
    private readonly ctx: ShardReaderContext,
    private readonly signal: AbortSignal,
    parents: string[],
  ) {
    this.backoffState = new Backoff(ctx.backoff);
    signal.addEventListener('abort', this.wakeOnAbort, { once: true });
    if (start.type === 'AFTER' && start.position.subSequence !== undefined) {
      this.skip = { sequenceNumber: start.position.sequenceNumber, subSequence: start.position.subSequence };
    }
    this.metrics = partitionMetrics(shardId, 'reading', { parents });
  }

  /** Blocks (with records left) plus end markers waiting in the buffer: 0 when nothing waits. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** The read loop; resolves when the shard ended, the reader was stopped, or it failed. */
  async run(): Promise<void> {
    this.ctx.budget.readers++;
    this.setBusy(true);
    try {
      await this.loop();
    } catch (e) {
      if (this.signal.aborted) return;
      this.state = 'failed';
      const err =
        e instanceof FloeError
          ? e
          : new FloeError('SOURCE_READ_FAILED', `kinesis: reading shard ${this.shardId} of stream ${this.ctx.streamName} failed: ${describeError(e)}`, { cause: e });
      this.ctx.onFatal(err);
    } finally {
      this.setBusy(false);
      this.ctx.budget.readers--;
      this.signal.removeEventListener('abort', this.wakeOnAbort);
    }
  }

  /** Wakes this reader's waits on abort (removed when the reader ends, so none is left behind). */
  private readonly wakeOnAbort = (): void => this.space.notifyAll();

  private setBusy(busy: boolean): void {
    if (busy === this.busy) return;
    this.busy = busy;
    this.ctx.budget.busy += busy ? 1 : -1;
  }

  /** Waits until the buffer and the budget have room for a call; false when stopped. */
  private async waitForRoom(): Promise<boolean> {
    let since: number | undefined;
    while (!this.hasRoom() && !this.signal.aborted) {
      if (since === undefined && this.ownRoom()) {
        since = Date.now();
        this.ctx.stats.budgetWaits++;
      }
      // No abort listener per wait (one per reader and wake-up was O(shards²) list work with 256
      // shards): the constructor's listener wakes `space` on abort.
      await Notifier.waitAny([this.space, this.ctx.budget.freed]);
    }
    if (since !== undefined) this.ctx.stats.budgetWaitMs += Date.now() - since;
    return !this.signal.aborted;
  }

  private async loop(): Promise<void> {
    let iterator: string | undefined = await this.getIterator(this.start);
    let nextCallAt = 0;
    while (!this.signal.aborted) {
      // Pacing first, room last: room found before a pacing sleep was often taken by other
      // readers during it (with 256 shards, most waits were such lost races).
      const delay = nextCallAt - Date.now();
      if (delay > 0 && !(await sleep(delay, this.signal))) return;
      if (iterator === undefined) iterator = await this.getIterator(this.renewalStart());
      if (!(await this.waitForRoom())) return;
      // Readers woken together resume one after the other: check again, then reserve without
      // awaiting in between.
      if (!this.hasRoom()) continue;

      const limit = this.callLimit();
      // The response body, its parse and the records it brings all fit in the reservation:
      // the budget bounds what calls in flight hold, not only what is buffered.
      const reservation = Math.min(limit * this.avgResponseBytesPerRecord, this.ctx.budget.available);
      this.ctx.budget.reserve(reservation);
      this.ctx.budget.reserveRecords(limit);
      const stats = this.ctx.stats;
      const agent = this.ctx.probeAgent();
      if (agent) {
        stats.peakSockets = Math.max(stats.peakSockets, agent.sockets);
        stats.peakQueuedRequests = Math.max(stats.peakQueuedRequests, agent.queued);
      }
      stats.peakInFlight = Math.max(stats.peakInFlight, ++stats.inFlight);
      stats.peakReservedBytes = this.ctx.budget.peakReserved;
      let settled = false;
      const settle = (actual: number, actualRecords = 0): void => {
        if (settled) return;
        settled = true;
        stats.inFlight--;
        this.ctx.budget.settleRecords(limit, actualRecords);
        this.ctx.budget.settle(reservation, actual);
        stats.peakBudgetBytes = this.ctx.budget.peakTaken;
      };
      let bodyBytes: number | undefined;
      let res;
      try {
        res = await this.ctx.getRecords(
          { ShardIterator: iterator, Limit: limit, ...('StreamARN' in this.ctx.stream ? this.ctx.stream : {}) },
          (n) => {
            bodyBytes = n;
          },
          this.signal,
        );
      } catch (e) {
        settle(0);
        const kind = classifyKinesisError(e);
        if (kind === 'aborted' || this.signal.aborted) return;
        if (kind === 'expired-iterator') {
          this.metrics.iteratorRenewals++;
          this.ctx.log('info', `kinesis: iterator of shard ${this.shardId} expired; renewing`, { shardId: this.shardId });
          iterator = undefined;
          continue;
        }
        if (kind === 'throttle' || kind === 'transient') {
          if (kind === 'throttle') this.metrics.throttles++;
          else this.metrics.retries++;
          const wait = this.backoffState.next();
          this.ctx.log(kind === 'throttle' ? 'debug' : 'warn', `kinesis: GetRecords on shard ${this.shardId} failed (${describeError(e)}); retrying in ${wait} ms`, {
            shardId: this.shardId,
            failures: this.backoffState.failures,
          });
          nextCallAt = Date.now() + Math.max(wait, this.ctx.pacing.minCallIntervalMs);
          continue;
        }
        throw new FloeError('SOURCE_READ_FAILED', `kinesis: GetRecords on shard ${this.shardId} of stream ${this.ctx.streamName} failed: ${describeError(e)}`, {
          cause: e,
        });
      }
      this.backoffState.reset();
      this.metrics.fetches++;
      if (res.MillisBehindLatest !== undefined) this.metrics.millisBehindLatest = res.MillisBehindLatest;
      // The lean parser's page; a response another deserializer read (not JSON) becomes one.
      const page = res.floePage ?? RecordsPage.fromRecords(res.Records ?? []);
      let bytes: number;
      try {
        bytes = this.accept(page, settle);
      } finally {
        settle(0); // no-op when accept settled; otherwise frees the reservation
      }
      this.observeCall(limit, page.count, bytes, bodyBytes);
      nextCallAt = nextCallTime(Date.now(), bytes, page.count, this.ctx.pacing);
      if (page.count > 0 || (res.MillisBehindLatest ?? 0) > 0) {
        this.emptyStreak = 0;
        this.setBusy(true);
      } else {
        // At the tip with nothing new: idle, out of the budget's sharing, and polled less often.
        this.setBusy(false);
        this.emptyStreak++;
        if (this.emptyStreak > 1) {
          const base = this.ctx.pacing.idleDelayMs;
          const idle = Math.min(base * 2 ** (this.emptyStreak - 1), base * IDLE_BACKOFF_FACTOR);
          nextCallAt = Math.max(nextCallAt, Date.now() + idle);
          this.ctx.stats.idleBackoffs++;
        }
      }
      if (res.NextShardIterator === undefined || res.NextShardIterator === null) {
        this.queue.push(END);
        this.ctx.onData();
        this.ctx.onShardEnd(this.shardId);
        return;
      }
      iterator = res.NextShardIterator;
    }
  }

  /** Gets an iterator, retrying throttling and transient failures. */
  private async getIterator(start: ReaderStart): Promise<string | undefined> {
    const input: GetShardIteratorCommandInput = { ...this.ctx.stream, ShardId: this.shardId, ShardIteratorType: 'TRIM_HORIZON' };
    switch (start.type) {
      case 'TRIM_HORIZON':
        break;
      case 'LATEST':
        input.ShardIteratorType = 'LATEST';
        break;
      case 'AT_TIMESTAMP':
        input.ShardIteratorType = 'AT_TIMESTAMP';
        input.Timestamp = new Date(start.timestampMs);
        break;
      case 'AFTER':
        // Inside an aggregate the record itself must be read again to reach its remaining sub-records.
        input.ShardIteratorType = start.position.subSequence === undefined ? 'AFTER_SEQUENCE_NUMBER' : 'AT_SEQUENCE_NUMBER';
        input.StartingSequenceNumber = start.position.sequenceNumber;
        break;
    }
    const backoff = new Backoff(this.ctx.backoff);
    for (;;) {
      if (this.signal.aborted) return undefined;
      try {
        const requestedAt = Date.now();
        const res = await this.ctx.client.send(new GetShardIteratorCommand(input), { abortSignal: this.signal });
        if (!res.ShardIterator) {
          throw new FloeError('SOURCE_READ_FAILED', `kinesis: GetShardIterator returned no iterator for shard ${this.shardId}`);
        }
        if (start.type === 'LATEST') this.latestObtainedAtMs = requestedAt;
        return res.ShardIterator;
      } catch (e) {
        if (e instanceof FloeError) throw e;
        const kind = classifyKinesisError(e);
        if (kind === 'aborted' || this.signal.aborted) return undefined;
        if (kind === 'throttle' || kind === 'transient') {
          if (kind === 'throttle') this.metrics.throttles++;
          else this.metrics.retries++;
          await sleep(backoff.next(), this.signal);
          continue;
        }
        const where =
          input.StartingSequenceNumber !== undefined
            ? ` at sequence number ${input.StartingSequenceNumber} (a checkpoint from another stream, or a stream deleted and re-created?)`
            : '';
        throw new FloeError(
          'SOURCE_READ_FAILED',
          `kinesis: GetShardIterator ${input.ShardIteratorType} for shard ${this.shardId} of stream ${this.ctx.streamName}${where} failed: ${describeError(e)}`,
          { cause: e },
        );
      }
    }
  }

  /** Where to get a fresh iterator after expiry: right after the last record fetched. */
  private renewalStart(): ReaderStart {
    if (this.lastFetchedSeq !== undefined) return { type: 'AFTER', position: { sequenceNumber: this.lastFetchedSeq } };
    if (this.start.type === 'LATEST' && this.latestObtainedAtMs !== undefined) {
      // Nothing read yet: LATEST again could skip records that arrived while we were stalled.
      // Go back to a little before the first LATEST iterator (margin for clock skew).
      return { type: 'AT_TIMESTAMP', timestampMs: this.latestObtainedAtMs - 5_000 };
    }
    return this.start;
  }

  /** True when the shard's own buffer has room for at least one more record. */
  private ownRoom(): boolean {
    if (this.bufferedRecords >= this.ctx.maxBufferedRecords) return false;
    return !(this.bufferedRecords > 0 && this.bufferedBytes + this.avgKinesisRecordBytes > this.ctx.maxBufferedBytes);
  }

  /**
   * True when the buffer has room for one more record and the shared budget room for this
   * reader's next call: its fair share, or what its buffer can still take when that is less (at
   * most a quarter of the budget, so a lone reader never waits for all of it). Waiting for a
   * call's worth instead of one record's keeps readers from making calls of a few records out of
   * the crumbs others left (bench/notes.md item 26).
   */
  private hasRoom(): boolean {
    if (!this.ownRoom()) return false;
    const wanted = this.wantedLimit();
    const need = Math.min(wanted * this.avgResponseBytesPerRecord, this.ctx.budget.limit / 4);
    if (!this.ctx.budget.hasRecordRoom(Math.min(wanted, this.ctx.budget.recordLimit / 4))) return false;
    return this.ctx.budget.hasRoom(Math.max(this.avgResponseBytesPerRecord, need));
  }

  /** The `Limit` this reader would like: its buffer's room left, within its share of the budget. */
  private wantedLimit(): number {
    const recordsLeft = (this.ctx.maxBufferedRecords - this.bufferedRecords) / this.avgUserRecordsPerKinesisRecord;
    const byOwnBytes = (this.ctx.maxBufferedBytes - this.bufferedBytes) / this.avgKinesisRecordBytes;
    return Math.max(1, Math.floor(Math.min(this.ctx.maxRecordsPerCall, recordsLeft, byOwnBytes, this.byShare())));
  }

  /** Records of this reader's share of the budget (bytes and records). */
  private byShare(): number {
    const b = this.ctx.budget;
    const bytes = (this.busy ? b.share : b.idleShare) / this.avgResponseBytesPerRecord;
    return Math.min(bytes, (this.busy ? b.recordShare : b.idleRecordShare) / this.avgUserRecordsPerKinesisRecord);
  }

  /** GetRecords `Limit` that fills the room left without (on average) overshooting it. */
  private callLimit(): number {
    const wanted = this.wantedLimit();
    const byBudget = Math.max(1, Math.floor(Math.min(this.ctx.budget.available / this.avgResponseBytesPerRecord, this.ctx.budget.recordsAvailable)));
    if (byBudget < wanted) return byBudget;
    if (wanted < this.ctx.maxRecordsPerCall && wanted === Math.max(1, Math.floor(this.byShare()))) this.ctx.stats.shareCapped++;
    return wanted;
  }

  /** Counts a call and updates the response size estimate from the body the parser saw. */
  private observeCall(limit: number, records: number, bytes: number, bodyBytes: number | undefined): void {
    const stats = this.ctx.stats;
    stats.calls++;
    stats.limitSum += limit;
    stats.records += records;
    if (records === 0) stats.emptyCalls++;
    if (bodyBytes !== undefined) {
      stats.responseBytes += bodyBytes;
      stats.largestResponseBytes = Math.max(stats.largestResponseBytes, bodyBytes);
    }
    if (records === 0) return;
    // Measured when the lean parser read the body; otherwise from the data bytes (other protocols).
    const perRecord = bodyBytes !== undefined ? bodyBytes / records : responseBytesFor(bytes / records);
    this.avgResponseBytesPerRecord = Math.max(64, (this.avgResponseBytesPerRecord + perRecord) / 2);
  }

  /**
   * Buffers a response's records as one block; returns the bytes fetched (data and partition
   * keys of the Kinesis records). `settle` hands the buffered byte count to the shared budget in
   * place of the reservation.
   */
  private accept(page: RecordsPage, settle: (actual: number, actualRecords: number) => void): number {
    const count = page.count;
    if (count === 0) {
      settle(0, 0);
      return 0;
    }
    for (let k = 0; k < count; k++) {
      if (!page.hasSequenceNumber(k)) throw new FloeError('SOURCE_READ_FAILED', `kinesis: record without SequenceNumber in shard ${this.shardId}`);
    }
    const kinesisBytes = page.data.byteLength + page.partitionKeyBytesTotal();
    const block = new ShardBlock(page, {
      shardId: this.shardId,
      stream: this.ctx.streamName,
      deaggregate: this.ctx.deaggregate,
      skip: this.skip,
      nowMs: Date.now(),
      onNotAggregate: (seq, reason) => {
        if (this.warnedDeaggregation) return;
        this.warnedDeaggregation = true;
        this.ctx.log('warn', `kinesis: record ${seq} of shard ${this.shardId} starts like a KPL aggregate but is not one (${reason}); passed on as a plain record`, {
          shardId: this.shardId,
        });
      },
    });
    this.skip = undefined; // only the first record after a resume can be the partly consumed one
    this.lastFetchedSeq = page.sequenceNumber(count - 1);
    let size = 0;
    for (let i = 0; i < block.length; i++) size += block.size(i);
    const n = block.length;
    if (n > 0) {
      this.queue.push({ block, next: 0 });
      this.bufferedRecords += n;
      this.bufferedBytes += size;
      const m = this.metrics;
      m.recordsRead += n;
      m.bufferedRecords = this.bufferedRecords;
      m.bufferedBytes = this.bufferedBytes;
      m.peakBufferedRecords = Math.max(m.peakBufferedRecords, this.bufferedRecords);
      m.peakBufferedBytes = Math.max(m.peakBufferedBytes, this.bufferedBytes);
    }
    this.avgKinesisRecordBytes = Math.max(1, (this.avgKinesisRecordBytes + kinesisBytes / count) / 2);
    this.avgUserRecordsPerKinesisRecord = Math.max(1, (this.avgUserRecordsPerKinesisRecord + n / count) / 2);
    this.metrics.bytesRead += kinesisBytes;
    settle(size, n);
    if (n > 0) this.ctx.onData();
    return kinesisBytes;
  }

  /**
   * Moves up to `maxRecords` records / `maxBytes` bytes out (the first record even when larger
   * than `maxBytes` if `allowOversize`), then the end marker when it is next: into `runs` as
   * runs of blocks when given, else into `out` as records.
   */
  take(maxRecords: number, maxBytes: number, allowOversize: boolean, out: SourceRecord[], runs?: RecordRun[]): TakeResult {
    let records = 0;
    let bytes = 0;
    let position: string | undefined;
    while (this.head < this.queue.length) {
      const item = this.queue[this.head] as Buffered | typeof END;
      if (item === END) {
        this.head++;
        this.state = 'ended';
        position = SHARD_END;
        break;
      }
      if (records >= maxRecords) break;
      const block = item.block;
      const from = item.next;
      let i = from;
      while (i < block.length && records < maxRecords) {
        const size = block.size(i);
        if (bytes + size > maxBytes && !(records === 0 && allowOversize)) break;
        bytes += size;
        records++;
        i++;
      }
      if (i === from) break;
      if (runs !== undefined) runs.push({ block, from, to: i });
      else for (let j = from; j < i; j++) out.push(block.record(j));
      position = block.position(i - 1);
      item.next = i;
      if (i < block.length) break; // the bounds stopped inside this block
      this.queue[this.head] = END; // drop the reference early; the slot is never read again
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
