/**
 * The Source interface: a stream made of partitions (Kinesis shards, later Kafka partitions),
 * each an ordered sequence of records with opaque, string-serializable positions.
 *
 * Contract with the pipeline (the exactly-once design rests on it):
 * - Positions are strings so they can be stored verbatim in the Iceberg snapshot summary
 *   (`floe.checkpoint.<source id>.<partition id>`) and handed back to {@link Source.start}.
 *   A position means "everything up to and including this point has been consumed".
 * - {@link Source.poll} is a pull: nothing is buffered beyond the bounds the source was built
 *   with, so a slow consumer slows the readers down instead of growing memory.
 * - The end of a partition that will never receive more records (a closed Kinesis shard after a
 *   split or merge) is reported as the position {@link SHARD_END}. The pipeline commits it like any
 *   other position and then calls {@link Source.markCommitted}; only then does the source start the
 *   partitions that continue it (child shards), so their records are never committed before their
 *   parents' records.
 */

/**
 * The position of a partition that has been read to its end and will never have more records.
 * Committed like any position; on restart, a partition at SHARD_END is not read again.
 */
export const SHARD_END = 'SHARD_END';

/**
 * Where to start a partition the table has never seen (no committed position). Names follow
 * Kinesis; a Kafka source maps TRIM_HORIZON to `earliest` and LATEST to `latest`.
 */
export type InitialPosition =
  | { type: 'TRIM_HORIZON' }
  | { type: 'LATEST' }
  | { type: 'AT_TIMESTAMP'; timestampMs: number };

/** One record as read from a partition. */
export interface SourceRecord {
  /** The partition (Kinesis shard id) the record was read from. */
  partitionId: string;
  /**
   * Opaque position of this record; committing it means this record and everything before it in
   * the partition are consumed. Kinesis: `<sequenceNumber>` or `<sequenceNumber>:<subSequence>`.
   */
  position: string;
  /** The record's payload. */
  data: Uint8Array;
  /** The key the producer chose (Kinesis partition key, Kafka key as UTF-8). */
  partitionKey: string;
  /** When the stream accepted the record, epoch milliseconds (approximate for Kinesis). */
  arrivalTimeMs: number;
  /** Source-specific metadata, e.g. `sequenceNumber`, `subSequenceNumber`, `shardId`. */
  meta: Readonly<Record<string, string>>;
}

/**
 * Records of one partition laid out in columns: what a source reading in bulk (Kinesis GetRecords)
 * hands out without an object per record. Record `i` (0 ≤ i < length) has the fields of a
 * {@link SourceRecord}; its payload is `data[dataStart(i), dataEnd(i))`. A block is immutable once
 * handed out, and `data` holds only its records' payloads (consumers may keep views of it).
 */
export interface RecordBlock {
  readonly partitionId: string;
  readonly length: number;
  /** The payloads of the block's records. */
  readonly data: Uint8Array;
  dataStart(i: number): number;
  dataEnd(i: number): number;
  position(i: number): string;
  partitionKey(i: number): string;
  arrivalTimeMs(i: number): number;
  meta(i: number): Readonly<Record<string, string>>;
  /** Record `i` as an object of its own (for the rare paths that keep a record). */
  record(i: number): SourceRecord;
  /**
   * The records' payload bounds as arrays, when the block keeps them so: record i is
   * `data[starts[i], ends[i])`, or without `starts` `data[ends[i - 1], ends[i])` (from 0 for the
   * first). Lets a consumer read a run of records in one native call.
   */
  ranges?(): { ends: Int32Array; starts: Int32Array | null };
  /**
   * Says that the consumer is done with the block: nothing reads it, its `data` or any view of it
   * again. Its memory may then be reused for later blocks. Optional for a consumer (a block never
   * released is left to the garbage collector); the pipeline calls it for blocks whose records are
   * all in columns.
   */
  release?(): void;
}

/** Records `from` (inclusive) to `to` (exclusive) of a {@link RecordBlock}. */
export interface RecordRun {
  readonly block: RecordBlock;
  readonly from: number;
  readonly to: number;
}

/** What one {@link Source.poll} returns. */
export interface SourceBatch {
  /** Records in partition order (records of one partition keep their relative order). */
  records: SourceRecord[];
  /**
   * More records, in columns: only when the poll asked for them ({@link PollOptions.runs}) and
   * the source has them. A partition's records in one batch are all in `records` or all in
   * `runs` (in order); positions cover both. Absent: none.
   */
  runs?: RecordRun[];
  /**
   * The position each partition reached with this batch: the last record's position, or
   * {@link SHARD_END} when the batch also drained the partition's end. May be non-empty while
   * `records` is empty (a partition ended without further records): commit it all the same.
   */
  positions: Map<string, string>;
  /**
   * Partitions the source (re)started since the last poll, with the committed position each
   * started from (undefined: none, the initial position). A source that hands partitions over
   * between processes (Kinesis leases) starts a gained shard from the table's position: the
   * pipeline takes it as that shard's fencing token (see `pipeline.ts`). Absent: none.
   */
  restarted?: Map<string, string | undefined>;
}

/** Bounds of one {@link Source.poll}. */
export interface PollOptions {
  /** At most this many records (at least 1). */
  maxRecords: number;
  /** At most this many payload bytes; a single larger record is still returned on its own. */
  maxBytes: number;
  /** Wait up to this long for the first record when nothing is buffered. Default 1000 ms. */
  waitMs?: number;
  /** Aborts the wait (the poll then returns what it has, possibly nothing). */
  signal?: AbortSignal;
  /**
   * The caller reads {@link SourceBatch.runs}: a source that reads in bulk may hand records out
   * as runs of blocks instead of objects (no object per record). Default false: `records` only.
   */
  runs?: boolean;
}

/** State of one partition as seen by the source. */
export type PartitionState =
  /** Waiting for its parents to be read to their end and committed. */
  | 'waiting'
  /** Being read. */
  | 'reading'
  /** Read to its end; SHARD_END handed out, waiting for it to be committed. */
  | 'ended'
  /** Fully consumed and committed (or committed at SHARD_END before this run). */
  | 'done'
  /** Closed before this run started with LATEST: nothing to read. */
  | 'skipped'
  /** Reading failed with an error that retrying cannot fix (see the source's error). */
  | 'failed';

/** Per-partition metrics. */
export interface PartitionMetrics {
  partitionId: string;
  state: PartitionState;
  /** Parent partitions (Kinesis resharding lineage), empty when none. */
  parents: string[];
  /** How far the last read was behind the tip of the partition (Kinesis MillisBehindLatest). */
  millisBehindLatest: number | undefined;
  recordsRead: number;
  bytesRead: number;
  /** Fetches refused for exceeding throughput limits. */
  throttles: number;
  /** Other retried failures (5xx, network). */
  retries: number;
  /** Fetch calls made (Kinesis GetRecords). */
  fetches: number;
  /** Expired read cursors renewed (Kinesis iterators). */
  iteratorRenewals: number;
  bufferedRecords: number;
  bufferedBytes: number;
  /** High-water marks of the buffer since the partition started. */
  peakBufferedRecords: number;
  peakBufferedBytes: number;
  /** Position of the last record handed out by poll. */
  lastPosition: string | undefined;
  /** Last position reported through markCommitted. */
  committedPosition: string | undefined;
}

/**
 * A partition's metrics with nothing counted yet: no parents, zero counts, no positions; `known`
 * sets what the source knows (every source builds its partitions' metrics from this one shape).
 */
export function partitionMetrics(partitionId: string, state: PartitionState, known: Partial<Omit<PartitionMetrics, 'partitionId' | 'state'>> = {}): PartitionMetrics {
  return {
    partitionId,
    state,
    parents: [],
    millisBehindLatest: undefined,
    recordsRead: 0,
    bytesRead: 0,
    throttles: 0,
    retries: 0,
    fetches: 0,
    iteratorRenewals: 0,
    bufferedRecords: 0,
    bufferedBytes: 0,
    peakBufferedRecords: 0,
    peakBufferedBytes: 0,
    lastPosition: undefined,
    committedPosition: undefined,
    ...known,
  };
}

/** Source-wide metrics (sums over partitions; `millisBehindLatest` is the maximum). */
export interface SourceMetrics {
  recordsRead: number;
  bytesRead: number;
  throttles: number;
  retries: number;
  bufferedRecords: number;
  bufferedBytes: number;
  /** Highest number of bytes buffered at once across all partitions. */
  peakBufferedBytes: number;
  millisBehindLatest: number | undefined;
  /** Partition discoveries made (Kinesis ListShards rounds). */
  discoveries: number;
  partitions: PartitionMetrics[];
}

/** Where a source reports what it does (retries, warnings); the pipeline turns it into logs. */
export type SourceLogger = (
  level: 'debug' | 'info' | 'warn' | 'error',
  message: string,
  fields?: Readonly<Record<string, unknown>>,
) => void;

/** A partitioned, replayable stream that the pipeline pulls from. */
export interface Source {
  /**
   * Stable name used in checkpoint keys (`floe.checkpoint.<id>.<partition id>`), e.g. the Kinesis
   * stream name.
   */
  readonly id: string;
  /**
   * Discovers the partitions and starts reading. `startPositions` holds the committed position of
   * every partition the table has seen (from the current snapshot); the others start at
   * `initial`. Rejects when the stream cannot be reached or a position is malformed.
   */
  start(startPositions: ReadonlyMap<string, string>, initial: InitialPosition): Promise<void>;
  /**
   * Takes buffered records, waiting up to `waitMs` when none are buffered. Resolves with an empty
   * batch on timeout or after close. Rejects when a partition failed for good.
   */
  poll(options: PollOptions): Promise<SourceBatch>;
  /**
   * Tells the source which positions are durably committed. Committing SHARD_END of every parent
   * releases the child partitions.
   */
  markCommitted(positions: ReadonlyMap<string, string>): void;
  /**
   * Partitions among `committed` whose positions the table no longer needs: the source derives
   * them from the other positions when it starts again. The pipeline drops their checkpoint keys
   * in its next commit, so snapshot summaries do not grow with every reshard of a long-lived
   * stream. Optional; a source without it keeps every position.
   */
  retiredPartitions?(committed: ReadonlyMap<string, string>): string[];
  /**
   * Forgets every record not yet committed (buffered or handed out) and reads again from
   * `positions`, the table's (partitions without one: the initial position), reporting the
   * restarts through {@link SourceBatch.restarted} like any other. The pipeline calls it after a
   * commit was fenced on some partitions (another process moved them: see `pipeline.ts`); a
   * source that shares partitions with other processes restarts only the partitions it still
   * owns. Optional; without it a fenced commit stops the pipeline.
   */
  rewind?(positions: ReadonlyMap<string, string>): Promise<void>;
  /**
   * Orders two positions of the same partition: negative when `a` is before `b`. SHARD_END is after
   * every other position. Throws on a malformed position.
   */
  comparePositions(a: string, b: string): number;
  /** Current metrics (a snapshot; cheap enough to call once a second). */
  metrics(): SourceMetrics;
  /** Stops every reader and timer; pending polls resolve empty. Idempotent. */
  close(): Promise<void>;
}
