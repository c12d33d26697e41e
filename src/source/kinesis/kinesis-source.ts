/**
 * The Kinesis Data Streams source: discovers shards with ListShards (and keeps re-discovering them),
 * runs one {@link ShardReader} per readable shard, and hands records to the pipeline through
 * {@link KinesisSource.poll}.
 *
 * Resharding: a child shard is started only once every parent still in the stream has been read to
 * its end and that end (SHARD_END) has been committed through {@link KinesisSource.markCommitted}.
 * All records of a key range in the parents are therefore committed before any record of the
 * child, and a crash in between resumes the parents, never the child first. See `lineage.ts`.
 *
 * Records: `partitionId` is the shard id; `position` is the sequence number, or
 * `<sequenceNumber>:<subSequence>` inside a KPL aggregate (see `position.ts`); `meta` holds
 * `stream`, `shardId`, `sequenceNumber`, and when they apply `subSequenceNumber`,
 * `aggregated` ("true"), `explicitHashKey`, `encryptionType`.
 *
 * The SDK client's own retries (maxAttempts, default 3) happen inside one call; build the reading
 * client with `maxAttempts: 1` to leave pacing and throttle counting entirely to the readers.
 *
 * Leases (`leases` option, `source.application`): several processes share the stream. This source
 * then reads only the shards whose lease its {@link LeaseCoordinator} holds. A gained shard
 * starts from the TABLE's committed position, read at that moment (the lease's checkpoint is only
 * a mirror for tooling), and is reported through `SourceBatch.restarted` so that the pipeline
 * fences its commits with that position; a lost shard's reader stops and its buffered records
 * are dropped. After each commit the committed positions are mirrored into the leases. A child
 * shard is read only once the table holds its parents' ends (the lease taker already waits for
 * the parents' leases to be finished; the table decides). `close` (after the last commit)
 * releases the leases so other workers take them at once.
 */
import { setMaxListeners } from 'node:events';
import { ListShardsCommand, type KinesisClient, type ListShardsCommandInput, type Shard } from '@aws-sdk/client-kinesis';
import { FloeError, ValidationError } from '../../errors.js';
import type {
  InitialPosition,
  PartitionMetrics,
  PollOptions,
  RecordRun,
  Source,
  SourceBatch,
  SourceLogger,
  SourceMetrics,
  SourceRecord,
} from '../source.js';
import { partitionMetrics, SHARD_END } from '../source.js';
import { Backoff, sleep } from '../../retry.js';
import { DEFAULT_KINESIS_BACKOFF, type KinesisBackoff } from './pacing.js';
import {
  classifyKinesisError,
  describeError,
  describeKinesisEndpoint,
  isUnreachableError,
  streamNameFromArn,
  streamParams,
  UNREACHABLE_GRACE_MS,
  unreachableMessage,
  type StreamTarget,
} from './client.js';
import { listedParents, planShards, type ShardDecision, type ShardNode } from './lineage.js';
import { compareKinesisPositions, parseKinesisPosition } from './position.js';
import { ShardReader, type ShardReaderContext } from './shard-reader.js';
import { getRecordsCaller } from './get-records-http.js';
import { agentProbe, ReadStats, type ReadStatsSnapshot } from './read-stats.js';
import { ByteBudget, Notifier } from './signal.js';
import type { LeaseCoordinator, LeaseEvent, ShardLeaseInfo } from './leases/lease-coordinator.js';
import { checkpointOfPosition } from './leases/lease.js';
import { EfoShardReader, type EfoReaderContext } from './efo-reader.js';
import { ensureConsumer } from './efo-consumer.js';

/** Enhanced fan-out (`source.consumer`): shards are read by SubscribeToShard instead of GetRecords. */
export interface KinesisConsumerOptions {
  /** The consumer's name (registered on the stream when missing, waited for until ACTIVE). */
  name: string;
  /** A client with the HTTP/2 handler (`efoClientFromEnv`); the source destroys it at close. */
  client: KinesisClient;
  /** The stream's ARN when known (else read once with DescribeStreamSummary). */
  streamArn?: string;
  /** How long to wait for the consumer to become ACTIVE. Default 2 minutes. */
  activeTimeoutMs?: number;
}

/** A shard's reader: GetRecords (polling) or SubscribeToShard (enhanced fan-out). */
type Reader = ShardReader | EfoShardReader;

/** The lease side of a {@link KinesisSource} shared by several processes. */
export interface KinesisLeaseOptions {
  /** Not started: the source starts it (after the first listing) and stops it at close (releasing). */
  coordinator: LeaseCoordinator;
  /** The positions committed in the table now: where a gained shard starts (the table is the truth). */
  tablePositions: () => Promise<ReadonlyMap<string, string>>;
}

/** Options of {@link KinesisSource}. Limits default to the Kinesis per-shard limits. */
export interface KinesisSourceOptions extends StreamTarget {
  client: KinesisClient;
  /** How often to re-list shards. Default 10 s (the KCL uses 60 s; shorter finds children sooner). */
  discoveryIntervalMs?: number;
  /** GetRecords `Limit` ceiling. Default 10,000 (the Kinesis maximum). */
  maxRecordsPerCall?: number;
  /** Minimum time between GetRecords calls of one shard. Default 200 ms (5 calls/s). */
  minCallIntervalMs?: number;
  /** Read throughput allowed per shard. Default 2,000,000 bytes/s. */
  maxBytesPerSecond?: number;
  /** Wait after an empty GetRecords. Default 250 ms. */
  idleDelayMs?: number;
  /** Records buffered per shard before its reader pauses. Default 10,000. */
  maxBufferedRecordsPerShard?: number;
  /** Bytes buffered per shard before its reader pauses. Default 8 MiB. */
  maxBufferedBytesPerShard?: number;
  /**
   * Bytes buffered across all shards, plus the response bytes of the calls in flight, before
   * readers pause. Default 64 MiB. Shared fairly between the shards that are reading.
   */
  maxBufferedBytes?: number;
  /**
   * Records buffered (or asked for by calls in flight) across all shards before readers pause.
   * Default 65,536: it also sizes calls with many shards (each reader's share of it). A buffered
   * record costs about 90 bytes beside its data (its sequence number and offsets in its block).
   */
  maxBufferedRecords?: number;
  /** Retry delays after throttling and transient errors. Default 200 ms doubling to 10 s. */
  backoff?: Partial<KinesisBackoff>;
  /** Split KPL aggregates into their user records. Default true. */
  deaggregate?: boolean;
  /**
   * Read GetRecords bodies with the native reader (`native/records_page.c`) when it was built,
   * the JavaScript parser taking what it declines. Default true; false: the JavaScript parser
   * only (`FLOE_JSON_SCANNER=javascript`). The same records either way.
   */
  nativeParser?: boolean;
  /** Share the stream with other processes through a lease table (see the module comment). */
  leases?: KinesisLeaseOptions;
  /** Read through enhanced fan-out instead of GetRecords (same positions, same exactly-once). */
  consumer?: KinesisConsumerOptions;
  log?: SourceLogger;
}

const MIB = 1024 * 1024;

function positiveOption(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new ValidationError(`kinesis: option ${name} must be a positive number, got ${String(value)}`);
  return v;
}

function toLeaseInfo(s: Shard): ShardLeaseInfo {
  const parents = [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => typeof p === 'string' && p.length > 0);
  const range = s.HashKeyRange;
  return {
    shardId: s.ShardId as string,
    parentShardIds: parents,
    ...(range?.StartingHashKey !== undefined && range.EndingHashKey !== undefined ? { startingHashKey: range.StartingHashKey, endingHashKey: range.EndingHashKey } : {}),
  };
}

function toNode(s: Shard): ShardNode {
  if (!s.ShardId) throw new FloeError('SOURCE_READ_FAILED', 'kinesis: ListShards returned a shard without ShardId');
  const node: ShardNode = { shardId: s.ShardId, closed: s.SequenceNumberRange?.EndingSequenceNumber != null };
  if (s.ParentShardId) node.parentShardId = s.ParentShardId;
  if (s.AdjacentParentShardId) node.adjacentParentShardId = s.AdjacentParentShardId;
  return node;
}

/** Reads one Kinesis stream. See the module comment and {@link Source}. */
export class KinesisSource implements Source {
  readonly id: string;
  private readonly client: KinesisClient;
  private readonly stream: { StreamName: string } | { StreamARN: string };
  private readonly discoveryIntervalMs: number;
  private readonly readerCtx: ShardReaderContext;
  private readonly log: SourceLogger;

  private readonly abort = new AbortController();
  private readonly dataReady = new Notifier();
  private readonly budget: ByteBudget;
  private readonly stats = new ReadStats();
  private statsTimer: NodeJS.Timeout | undefined;

  private started = false;
  private closed = false;
  private failure: FloeError | undefined;
  private initial: InitialPosition = { type: 'TRIM_HORIZON' };
  private checkpoints = new Map<string, string>();
  private readonly shards = new Map<string, ShardNode>();
  private readonly decisions = new Map<string, ShardDecision>();
  private readonly endedCommitted = new Set<string>();
  private readonly committed = new Map<string, string>();
  /** Readers whose records or end marker are not all handed out yet, in start order. */
  private readonly readers = new Map<string, Reader>();
  /** Metrics of readers that finished, kept for reporting. */
  private readonly finished = new Map<string, PartitionMetrics>();
  private readonly runs = new Set<Promise<void>>();
  private rotate = 0;
  private discoveries = 0;
  /** True once the endpoint has answered (see UNREACHABLE_GRACE_MS in client.ts). */
  private reached = false;
  private discovering: Promise<void> | undefined;
  private discoveryAgain = false;
  private timer: NodeJS.Timeout | undefined;
  /** Each reader's own stop (a lost lease stops one reader; close stops all). */
  private readonly readerAborts = new Map<string, AbortController>();
  private readonly readerRuns = new Map<Reader, Promise<void>>();
  private readonly consumer: KinesisConsumerOptions | undefined;
  /** The consumer's ARN once ACTIVE (enhanced fan-out). */
  private consumerArn: string | undefined;
  private readonly leases: KinesisLeaseOptions | undefined;
  /** Lease mode: readers started and not yet taken from, with the position each started after. */
  private readonly restartBases = new Map<string, string | undefined>();
  /** Lease mode: shards being stopped (lost), awaited by rewind and close. */
  private readonly stopping = new Set<Promise<void>>();
  /** Lease mode: one table read at a time; `refreshAgain` asks for another after it. */
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private unsubscribe: (() => void) | undefined;
  /** See {@link Source.rewind}: only in lease mode (without leases a fenced commit stops the run). */
  readonly rewind?: (positions: ReadonlyMap<string, string>) => Promise<void>;

  constructor(options: KinesisSourceOptions) {
    // Every reader listens for this one abort (sleeps, waits, SDK calls): no listener cap.
    setMaxListeners(0, this.abort.signal);
    this.client = options.client;
    this.stream = streamParams(options);
    this.id = options.streamName ?? streamNameFromArn(options.streamArn as string);
    this.discoveryIntervalMs = positiveOption(options.discoveryIntervalMs, 10_000, 'discoveryIntervalMs');
    this.log = options.log ?? (() => {});
    this.leases = options.leases;
    this.consumer = options.consumer;
    if (this.leases) this.rewind = (positions) => this.rewindTo(positions);
    this.budget = new ByteBudget(
      positiveOption(options.maxBufferedBytes, 64 * MIB, 'maxBufferedBytes'),
      positiveOption(options.maxBufferedRecords, 65_536, 'maxBufferedRecords'),
    );
    const maxRecordsPerCall = positiveOption(options.maxRecordsPerCall, 10_000, 'maxRecordsPerCall');
    if (!Number.isInteger(maxRecordsPerCall) || maxRecordsPerCall > 10_000) {
      throw new ValidationError(`kinesis: option maxRecordsPerCall must be an integer in 1..10000, got ${maxRecordsPerCall}`);
    }
    this.readerCtx = {
      client: this.client,
      getRecords: getRecordsCaller(this.client, this.stream, options.nativeParser ?? true),
      stream: this.stream,
      streamName: this.id,
      pacing: {
        minCallIntervalMs: positiveOption(options.minCallIntervalMs, 200, 'minCallIntervalMs'),
        maxBytesPerSecond: positiveOption(options.maxBytesPerSecond, 2_000_000, 'maxBytesPerSecond'),
        idleDelayMs: positiveOption(options.idleDelayMs, 250, 'idleDelayMs'),
      },
      backoff: {
        baseDelayMs: positiveOption(options.backoff?.baseDelayMs, DEFAULT_KINESIS_BACKOFF.baseDelayMs, 'backoff.baseDelayMs'),
        maxDelayMs: positiveOption(options.backoff?.maxDelayMs, DEFAULT_KINESIS_BACKOFF.maxDelayMs, 'backoff.maxDelayMs'),
      },
      maxRecordsPerCall,
      maxBufferedRecords: positiveOption(options.maxBufferedRecordsPerShard, 10_000, 'maxBufferedRecordsPerShard'),
      maxBufferedBytes: positiveOption(options.maxBufferedBytesPerShard, 8 * MIB, 'maxBufferedBytesPerShard'),
      budget: this.budget,
      stats: this.stats,
      probeAgent: agentProbe(this.client),
      deaggregate: options.deaggregate ?? true,
      onData: () => this.dataReady.notifyAll(),
      onShardEnd: (shardId) => {
        this.log('info', `kinesis: shard ${shardId} reached its end`, { shardId });
        this.requestDiscovery();
      },
      onFatal: (e) => this.fail(e),
      log: this.log,
    };
  }

  /** See {@link Source.start}. */
  async start(startPositions: ReadonlyMap<string, string>, initial: InitialPosition): Promise<void> {
    if (this.started) throw new FloeError('SOURCE_STATE', `kinesis: source for stream ${this.id} was already started`);
    if (initial.type === 'AT_TIMESTAMP' && !Number.isFinite(initial.timestampMs)) {
      throw new ValidationError(`kinesis: AT_TIMESTAMP needs a finite timestampMs, got ${String(initial.timestampMs)}`);
    }
    for (const [shardId, pos] of startPositions) parseKinesisPosition(pos, `start position of shard ${shardId}`);
    this.started = true;
    this.initial = initial;
    this.checkpoints = new Map(startPositions);
    for (const [id, pos] of startPositions) this.committed.set(id, pos);
    if (this.consumer) {
      this.consumerArn = await ensureConsumer({
        client: this.client,
        ...(this.consumer.streamArn !== undefined ? { streamArn: this.consumer.streamArn } : 'StreamARN' in this.stream ? { streamArn: this.stream.StreamARN } : { streamName: this.id }),
        consumerName: this.consumer.name,
        ...(this.consumer.activeTimeoutMs !== undefined ? { timeoutMs: this.consumer.activeTimeoutMs } : {}),
        signal: this.abort.signal,
        log: (m) => this.log('info', m, {}),
      });
      this.log('info', `kinesis: reading stream ${this.id} through enhanced fan-out consumer ${this.consumerArn}`, {});
    }
    await this.discover(true);
    if (this.leases) {
      // Shards are read once gained; the first take pass happens inside start.
      this.unsubscribe = this.leases.coordinator.subscribe((e) => this.onLease(e));
      await this.leases.coordinator.start();
    }
    this.scheduleDiscovery();
    // What the read path did, every 10 s at debug level (and once at close).
    this.statsTimer = setInterval(() => this.logStats(), 10_000);
    this.statsTimer.unref();
  }

  /** Counters of the read path: calls, records per call, budget waits, sockets (bench/notes.md item 26). */
  readStats(): ReadStatsSnapshot {
    return this.stats.snapshot();
  }

  private logStats(): void {
    this.log('debug', 'kinesis: read stats', { ...this.stats.snapshot(), busyShards: this.budget.busy, readers: this.readers.size });
  }

  /** See {@link Source.poll}. */
  async poll(options: PollOptions): Promise<SourceBatch> {
    if (!this.started) throw new FloeError('SOURCE_STATE', `kinesis: poll before start (stream ${this.id})`);
    const maxRecords = Math.max(1, Math.floor(options.maxRecords));
    const maxBytes = Math.max(0, options.maxBytes);
    const deadline = Date.now() + (options.waitMs ?? 1000);
    for (;;) {
      if (this.failure) throw this.failure;
      const batch = this.drain(maxRecords, maxBytes, options.runs === true);
      if (batch.records.length > 0 || batch.positions.size > 0) return batch;
      const left = deadline - Date.now();
      if (this.closed || left <= 0 || options.signal?.aborted) return batch;
      await this.dataReady.wait(options.signal, left);
    }
  }

  /** Takes from the readers round-robin (rotating the first one) so no shard starves. */
  private drain(maxRecords: number, maxBytes: number, asRuns = false): SourceBatch {
    const records: SourceRecord[] = [];
    // Runs of the readers' blocks when the caller takes them (no object per record).
    const runs: RecordRun[] | undefined = asRuns ? [] : undefined;
    let taken = 0;
    const positions = new Map<string, string>();
    let restarted: Map<string, string | undefined> | undefined;
    const readers = [...this.readers.values()];
    let bytes = 0;
    const n = readers.length;
    const first = n === 0 ? 0 : this.rotate++ % n;
    for (let k = 0; k < n; k++) {
      const reader = readers[(first + k) % n] as Reader;
      if (reader.pending === 0) continue;
      const full = taken >= maxRecords || (taken > 0 && bytes >= maxBytes);
      // When the batch is full, still collect end markers that are next in line (they cost nothing).
      const got = full
        ? reader.take(0, 0, false, records, runs)
        : reader.take(maxRecords - taken, maxBytes - bytes, taken === 0, records, runs);
      bytes += got.bytes;
      taken += got.records;
      if (got.position !== undefined) {
        positions.set(reader.shardId, got.position);
        if (this.restartBases.has(reader.shardId)) {
          (restarted ??= new Map()).set(reader.shardId, this.restartBases.get(reader.shardId));
          this.restartBases.delete(reader.shardId);
        }
      }
      if (reader.state === 'ended') {
        this.readers.delete(reader.shardId);
        this.finished.set(reader.shardId, { ...reader.metrics });
        this.readerAborts.delete(reader.shardId);
      }
    }
    const batch: SourceBatch = restarted ? { records, positions, restarted } : { records, positions };
    if (runs !== undefined && runs.length > 0) batch.runs = runs;
    return batch;
  }

  /** See {@link Source.markCommitted}. */
  markCommitted(positions: ReadonlyMap<string, string>): void {
    let ends = false;
    for (const [shardId, pos] of positions) {
      parseKinesisPosition(pos, `committed position of shard ${shardId}`);
      this.committed.set(shardId, pos);
      if (pos === SHARD_END && !this.endedCommitted.has(shardId)) {
        this.endedCommitted.add(shardId);
        ends = true;
      }
      // The lease mirrors the table (for tooling; SHARD_END also hands the shard back).
      if (this.leases && !this.closed && this.leases.coordinator.holds(shardId)) {
        this.leases.coordinator.checkpoint(shardId, pos).catch((e: unknown) =>
          this.log('warn', `kinesis: mirroring the position of shard ${shardId} into its lease failed: ${describeError(e)}`, { shardId }),
        );
      }
    }
    if (ends && this.started && !this.closed) {
      try {
        this.applyPlan(false);
      } catch (e) {
        this.fail(e instanceof FloeError ? e : new FloeError('SOURCE_READ_FAILED', `kinesis: ${describeError(e)}`, { cause: e }));
      }
    }
  }

  /**
   * See {@link Source.retiredPartitions}: a shard whose SHARD_END is committed once a child of it
   * has a committed position. On a start without its key, the child's position makes it done
   * (rule 2 of `lineage.ts`), and a child still without a position finds its parent done and
   * starts at TRIM_HORIZON, as it would have with the key.
   */
  retiredPartitions(committed: ReadonlyMap<string, string>): string[] {
    const retired = new Set<string>();
    for (const node of this.shards.values()) {
      if (!committed.has(node.shardId)) continue;
      for (const parent of [node.parentShardId, node.adjacentParentShardId]) {
        if (parent !== undefined && committed.get(parent) === SHARD_END) retired.add(parent);
      }
    }
    return [...retired];
  }

  /** See {@link Source.comparePositions}. */
  comparePositions(a: string, b: string): number {
    return compareKinesisPositions(a, b);
  }

  /** See {@link Source.metrics}. */
  metrics(): SourceMetrics {
    const partitions: PartitionMetrics[] = [];
    for (const [shardId, node] of this.shards) {
      const d = this.decisions.get(shardId);
      const reader = this.readers.get(shardId);
      const base = reader ? { ...reader.metrics, state: reader.state } : this.finished.get(shardId);
      const m: PartitionMetrics = base
        ? { ...base }
        : partitionMetrics(shardId, 'waiting', { parents: listedParents(node, this.shards) });
      if (d?.kind === 'done') m.state = 'done';
      else if (d?.kind === 'skip') m.state = 'skipped';
      else if (d?.kind === 'wait') m.state = 'waiting';
      if (this.endedCommitted.has(shardId)) m.state = 'done';
      m.committedPosition = this.committed.get(shardId);
      partitions.push(m);
    }
    let behind: number | undefined;
    for (const p of partitions) {
      if ((p.state === 'reading' || p.state === 'ended') && p.millisBehindLatest !== undefined) {
        behind = Math.max(behind ?? 0, p.millisBehindLatest);
      }
    }
    const sum = (f: (p: PartitionMetrics) => number): number => partitions.reduce((a, p) => a + f(p), 0);
    return {
      recordsRead: sum((p) => p.recordsRead),
      bytesRead: sum((p) => p.bytesRead),
      throttles: sum((p) => p.throttles),
      retries: sum((p) => p.retries),
      bufferedRecords: sum((p) => p.bufferedRecords),
      bufferedBytes: sum((p) => p.bufferedBytes),
      peakBufferedBytes: this.budget.peak,
      millisBehindLatest: behind,
      discoveries: this.discoveries,
      partitions,
    };
  }

  /** See {@link Source.close}. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.statsTimer) {
      clearInterval(this.statsTimer);
      this.logStats();
    }
    this.abort.abort();
    for (const c of this.readerAborts.values()) c.abort();
    this.dataReady.notifyAll();
    await Promise.allSettled([...this.runs, ...this.stopping, ...(this.discovering ? [this.discovering] : []), ...(this.refreshing ? [this.refreshing] : [])]);
    if (this.leases) {
      this.unsubscribe?.();
      // After the last commit (the pipeline closes its source last): others take them at once.
      await this.leases.coordinator.stop({ release: true });
    }
    this.consumer?.client.destroy();
  }

  private fail(e: FloeError): void {
    if (this.failure || this.closed) return;
    this.failure = e;
    // Not logged here: poll() throws it and the caller reports it once.
    this.dataReady.notifyAll();
  }

  private scheduleDiscovery(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.requestDiscovery(), this.discoveryIntervalMs);
  }

  /** Re-lists shards soon (coalescing requests while one listing runs). */
  private requestDiscovery(): void {
    if (this.closed) return;
    if (this.discovering) {
      this.discoveryAgain = true;
      return;
    }
    this.discovering = this.discover(false)
      .catch((e: unknown) => {
        const err = e instanceof FloeError ? e : new FloeError('SOURCE_READ_FAILED', `kinesis: ${describeError(e)}`, { cause: e });
        if (classifyKinesisError(err.cause) === 'fatal') this.fail(err);
        else this.log('warn', `kinesis: shard discovery failed, retrying later: ${err.message}`, {});
      })
      .finally(() => {
        this.discovering = undefined;
        this.scheduleDiscovery();
        if (this.discoveryAgain) {
          this.discoveryAgain = false;
          this.requestDiscovery();
        }
      });
  }

  /** Lists every shard (all pages), retrying throttling and transient failures. */
  private async listShards(): Promise<Shard[]> {
    const out: Shard[] = [];
    let nextToken: string | undefined;
    const backoff = new Backoff(this.readerCtx.backoff);
    let unreachableSince: number | undefined;
    // A for loop, not do/while: `continue` after a retry must not re-test the loop condition.
    for (;;) {
      if (this.abort.signal.aborted) return out;
      // With a NextToken the stream must not be named again (the API refuses both at once).
      const input: ListShardsCommandInput = nextToken !== undefined ? { NextToken: nextToken } : { ...this.stream };
      try {
        const res = await this.client.send(new ListShardsCommand(input), { abortSignal: this.abort.signal });
        this.reached = true;
        out.push(...(res.Shards ?? []));
        nextToken = res.NextToken ?? undefined;
        backoff.reset();
        if (nextToken === undefined) return out;
      } catch (e) {
        const kind = classifyKinesisError(e);
        if (!this.reached && isUnreachableError(e) && !this.abort.signal.aborted) {
          // Nothing has ever answered there: a wrong or closed address, or a server still starting.
          unreachableSince ??= Date.now();
          const left = unreachableSince + UNREACHABLE_GRACE_MS - Date.now();
          if (left > 0) {
            await sleep(Math.min(backoff.next(), left), this.abort.signal);
            continue;
          }
          const endpoint = await describeKinesisEndpoint(this.client);
          throw new FloeError('SOURCE_READ_FAILED', unreachableMessage(endpoint, `ListShards on stream ${this.id}`, e), { cause: e, retriable: true });
        }
        if ((kind === 'throttle' || kind === 'transient') && backoff.failures < 8 && !this.abort.signal.aborted) {
          await sleep(backoff.next(), this.abort.signal);
          continue;
        }
        const what = (e as { name?: string }).name === 'ResourceNotFoundException' ? `stream ${this.id} not found` : `ListShards on stream ${this.id} failed`;
        throw new FloeError('SOURCE_READ_FAILED', `kinesis: ${what}: ${describeError(e)}`, { cause: e, retriable: kind !== 'fatal' });
      }
    }
  }

  private async discover(first: boolean): Promise<void> {
    const listed = await this.listShards();
    if (this.closed) return;
    this.discoveries++;
    for (const s of listed) {
      const node = toNode(s);
      const known = this.shards.get(node.shardId);
      if (!known) this.log('debug', `kinesis: discovered shard ${node.shardId}`, { shardId: node.shardId });
      this.shards.set(node.shardId, node);
    }
    // Shards no longer listed (trimmed after retention) are forgotten unless still being read.
    const listedIds = new Set(listed.map((s) => s.ShardId));
    for (const id of [...this.shards.keys()]) {
      if (!listedIds.has(id) && !this.readers.has(id)) this.shards.delete(id);
    }
    if (this.leases) {
      // Every worker creates the leases of shards it lists first (conditional: one wins).
      await this.leases.coordinator.syncShards(listed.filter((s) => s.ShardId).map(toLeaseInfo));
      if (this.closed) return;
      // A held shard not read yet (its parents' ends not yet in the table): look at the table again.
      if (!first && this.leases.coordinator.heldShards().some((id) => !this.readers.has(id) && this.decisions.get(id)?.kind !== 'done')) {
        this.requestRefresh();
      }
    }
    this.applyPlan(first);
  }

  /** Decides new and waiting shards and starts the readable ones. */
  private applyPlan(firstDiscovery: boolean): void {
    const plan = planShards({
      shards: this.shards,
      checkpoints: this.checkpoints,
      decided: this.decisions,
      endedCommitted: this.endedCommitted,
      initial: this.initial,
      // With leases, shards are decided again whenever they are gained: a shard without a
      // position starts where the configured initial position says, as at the first listing.
      firstDiscovery: firstDiscovery || this.leases !== undefined,
    });
    for (const [shardId, d] of plan) this.decisions.set(shardId, d);
    // Read decisions stay (a lost shard's is dropped): start every one not running (leases: held).
    for (const [shardId, d] of this.decisions) {
      if (d.kind !== 'read' || this.readers.has(shardId) || this.finished.has(shardId)) continue;
      if (this.leases && !this.leases.coordinator.holds(shardId)) continue;
      this.startReader(shardId, d);
    }
  }

  private startReader(shardId: string, d: Extract<ShardDecision, { kind: 'read' }>): void {
    const node = this.shards.get(shardId);
    const parents = node ? listedParents(node, this.shards) : [];
    const stop = new AbortController();
    setMaxListeners(0, stop.signal);
    this.readerAborts.set(shardId, stop);
    const reader: Reader =
      this.consumer && this.consumerArn !== undefined
        ? new EfoShardReader(shardId, d.start, this.efoContext(), stop.signal, parents)
        : new ShardReader(shardId, d.start, this.readerCtx, stop.signal, parents);
    this.readers.set(shardId, reader);
    if (this.leases) this.restartBases.set(shardId, this.checkpoints.get(shardId));
    this.log('info', `kinesis: reading shard ${shardId} from ${d.start.type === 'AFTER' ? `after ${d.start.position.sequenceNumber}` : d.start.type}`, { shardId });
    const run = reader.run();
    this.runs.add(run);
    this.readerRuns.set(reader, run);
    void run.finally(() => {
      this.runs.delete(run);
      this.readerRuns.delete(reader);
    });
  }

  private efoCtx: EfoReaderContext | undefined;
  /** What enhanced fan-out readers share (the GetRecords readers' hooks and budget). */
  private efoContext(): EfoReaderContext {
    const c = this.readerCtx;
    this.efoCtx ??= {
      client: (this.consumer as KinesisConsumerOptions).client,
      consumerArn: this.consumerArn as string,
      streamName: this.id,
      backoff: c.backoff,
      maxBufferedRecords: c.maxBufferedRecords,
      maxBufferedBytes: c.maxBufferedBytes,
      budget: c.budget,
      deaggregate: c.deaggregate,
      onData: c.onData,
      onShardEnd: c.onShardEnd,
      onFatal: c.onFatal,
      log: c.log,
    };
    return this.efoCtx;
  }

  /** Lease mode: a gained shard is read from the table's position; a lost one stops at once. */
  private onLease(e: LeaseEvent): void {
    if (this.closed) return;
    if (e.type === 'gained') {
      this.requestRefresh();
      return;
    }
    this.stopShard(e.shardId);
  }

  /**
   * Stops reading a shard and drops what its reader buffered (records handed out stay with the
   * pipeline: it commits them only if the table's position of the shard has not moved).
   */
  private stopShard(shardId: string): void {
    const reader = this.readers.get(shardId);
    // A shard whose end is committed stays done (its lease was handed back because of it).
    if (this.endedCommitted.has(shardId)) this.decisions.set(shardId, { kind: 'done' });
    else {
      this.decisions.delete(shardId);
      this.finished.delete(shardId);
    }
    this.restartBases.delete(shardId);
    if (reader === undefined) return;
    this.readers.delete(shardId);
    this.readerAborts.get(shardId)?.abort();
    this.readerAborts.delete(shardId);
    const run = this.readerRuns.get(reader);
    const done = (async () => {
      await run?.catch(() => undefined);
      reader.take(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true, []); // releases its budget
    })();
    this.stopping.add(done);
    void done.finally(() => this.stopping.delete(done));
  }

  /** Reads the table's positions again (coalesced), then starts the held shards that can be read. */
  private requestRefresh(): void {
    if (this.closed || !this.leases) return;
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = this.refreshFromTable()
      .catch((e: unknown) => this.log('warn', `kinesis: reading the table's positions failed, retrying at the next listing: ${describeError(e)}`, {}))
      .finally(() => {
        this.refreshing = undefined;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          this.requestRefresh();
        }
      });
  }

  /**
   * Takes the table's positions for every shard not being read here (the table is the truth:
   * another worker may have moved them, or ended a parent), decides those shards again and starts
   * the held ones.
   */
  private async refreshFromTable(): Promise<void> {
    const positions = await this.leases!.tablePositions();
    if (this.closed) return;
    for (const id of this.shards.keys()) {
      // Being read, or read to its end with the end not yet committed: what this run has is newer.
      if (this.readers.has(id) || (this.finished.has(id) && !this.endedCommitted.has(id))) continue;
      const pos = this.endedCommitted.has(id) ? SHARD_END : positions.get(id);
      if (pos !== undefined) this.checkpoints.set(id, pos);
      else this.checkpoints.delete(id);
      if (pos === SHARD_END) this.endedCommitted.add(id);
      this.decisions.delete(id);
      this.finished.delete(id);
    }
    this.mirrorHeld(positions);
    this.applyPlan(false);
  }

  /**
   * Writes the table's position into each held lease that shows another one: a previous owner's
   * commit after it lost the lease, or a crash between a commit and its mirror. A parent whose
   * end is in the table thereby gets its SHARD_END lease (which releases it) and its children
   * can be taken.
   */
  private mirrorHeld(positions: ReadonlyMap<string, string>): void {
    const coordinator = this.leases!.coordinator;
    const leases = coordinator.leases();
    for (const id of coordinator.heldShards()) {
      const pos = positions.get(id);
      if (pos === undefined || this.readers.has(id)) continue;
      const lease = leases.get(id);
      const cp = checkpointOfPosition(pos, id);
      if (lease !== undefined && lease.checkpoint === cp.checkpoint && lease.checkpointSubSequenceNumber === cp.subSequenceNumber) continue;
      coordinator.checkpoint(id, pos).catch((e: unknown) => this.log('warn', `kinesis: mirroring the position of shard ${id} into its lease failed: ${describeError(e)}`, { shardId: id }));
    }
  }

  /** See {@link Source.rewind} (lease mode). */
  private async rewindTo(positions: ReadonlyMap<string, string>): Promise<void> {
    // A table read in flight may start readers meanwhile (from older positions): stop those too.
    do {
      for (const id of [...this.readers.keys()]) this.stopShard(id);
      await Promise.allSettled([...this.stopping, ...(this.refreshing ? [this.refreshing] : [])]);
    } while (this.readers.size > 0 && !this.closed);
    if (this.closed) return;
    // Handed-out ends not committed are read again (a shard at SHARD_END in the table is done).
    this.checkpoints = new Map(positions);
    this.decisions.clear();
    this.finished.clear();
    this.restartBases.clear();
    for (const [id, pos] of positions) if (pos === SHARD_END) this.endedCommitted.add(id);
    this.applyPlan(false);
  }
}

