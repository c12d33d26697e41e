/**
 * The Kafka source: the partitions of one or more topics (or a topic regex), read through a
 * consumer group (kafkajs), handed to the pipeline by `poll` from a bounded buffer.
 *
 * Exactly once rests on the table, not on the group:
 * - Partition ids are `<topic>:<partition>`, positions the last offset consumed
 *   (`kafka-position.ts`). When the group assigns a partition, this source pauses it, finds where
 *   the table stands (the positions given to `start`, or the table's current ones through
 *   `tablePositions` after a rebalance), seeks there and only then resumes it: the group's
 *   committed offset is never the start. Partitions the table has never seen start at
 *   `initial` (earliest, latest, or the first offset at a timestamp).
 * - Records below the next expected offset of a partition are dropped (a batch fetched before a
 *   seek), so nothing is handed out twice in one process.
 * - Offsets are committed to the group in `markCommitted`, after the table commit, for lag tools
 *   only (`kafka-consumer-groups`, Burrow, the MSK console), and only for partitions this member
 *   owns.
 * - Rebalance (kafkajs uses the eager protocol: a rebalance revokes every partition): the records
 *   buffered here and not yet handed out are dropped; a revoked partition with rows handed out
 *   and not committed, and every partition assigned again, is reported in the next poll's
 *   `restarted` (with the table position it restarts from). The pipeline then drops its
 *   uncommitted rows and calls {@link KafkaSource.rewind}, which reads the partitions this
 *   member owns again from the table's positions. A commit racing the rebalance is caught by
 *   the pipeline's per-partition fencing (the other member moved the position): rewound the
 *   same way. Nothing twice, nothing lost.
 * - kafkajs gives up on some group errors (a refused SyncGroup): the source joins again as a new
 *   member, as a rebalance would.
 * - Metadata is re-read every `metadataMaxAgeMs` (Kafka's `metadata.max.age.ms`): partitions added
 *   to a topic make kafkajs join the group again (its stale-assignment check on fetch), and with
 *   a topic pattern, topics created since that match it join: kafkajs resolves a pattern only
 *   when it subscribes, so the source leaves the group and joins again as a new member
 *   subscribed to the new list, every partition revoked first exactly as in a rebalance.
 *
 * Back-pressure: `eachBatch` waits while the buffer is full (heartbeating, so the group keeps the
 * member), and kafkajs fetches nothing while it waits.
 */
import kafkajs, { type Admin, type Consumer, type EachBatchPayload, type KafkaMessage } from 'kafkajs';
import { FloeError, ValidationError } from '../../errors.js';
import type {
  InitialPosition,
  PartitionMetrics,
  PollOptions,
  Source,
  SourceBatch,
  SourceLogger,
  SourceMetrics,
  SourceRecord,
} from '../source.js';
import { partitionMetrics } from '../source.js';
import { kafkaClientConfig, kafkaClientError, type KafkaConnectionSettings } from './kafka-client.js';
import { kafkaCodec, lz4Decompress, snappyDecompress, zstdDecompressBatch } from './codecs.js';
import { compareKafkaOffsets, KAFKA_SOURCE_ID, kafkaPartitionId, parseKafkaOffset, parseKafkaPartitionId } from './kafka-position.js';

/** Options of {@link KafkaSource}. */
export interface KafkaSourceOptions extends KafkaConnectionSettings {
  /** Topics to read; or {@link topicPattern}. */
  topics?: string[];
  /**
   * A regex over topic names: the topics matching it when the source starts, and those created
   * later (listed again every {@link metadataMaxAgeMs}).
   */
  topicPattern?: RegExp;
  /**
   * How often metadata is read again (Kafka's `metadata.max.age.ms`), ms: topics matching
   * {@link topicPattern} and partitions added to a topic are seen within this time. Default 30 s.
   */
  metadataMaxAgeMs?: number;
  /** The consumer group (`source.group`). */
  group: string;
  /**
   * The positions the table holds now (`floe.checkpoint.<id>.*` of its current snapshot): read
   * when partitions are assigned after a rebalance, since another member may have committed them
   * meanwhile. Absent: the positions given to `start` and those committed since (one member).
   */
  tablePositions?: () => Promise<ReadonlyMap<string, string>>;
  /** Checkpoint id (`floe.checkpoint.<id>.<topic>:<partition>`); default `kafka`. */
  id?: string;
  /** Buffered records (all partitions) before fetching pauses; default 20,000. */
  maxBufferedRecords?: number;
  /** Buffered payload bytes before fetching pauses; default 64 MiB. */
  maxBufferedBytes?: number;
  /** Group session timeout, ms (default 30 s; kafkajs's default). */
  sessionTimeoutMs?: number;
  /** Heartbeat interval, ms (default 3 s). */
  heartbeatIntervalMs?: number;
  log?: SourceLogger;
  /** The environment for AWS credentials/region (MSK IAM); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

interface PartitionState {
  id: string;
  topic: string;
  partition: number;
  /** Assigned to this member in the current generation. */
  owned: boolean;
  /** Sought to its start; records are accepted. */
  ready: boolean;
  /** Next offset expected; records below it are dropped. -1: any (a special seek: earliest/latest). */
  next: bigint;
  /** Last offset handed out by poll. */
  handedOut: bigint | undefined;
  /** Last offset the pipeline reported committed (or the table's at start). */
  committed: bigint | undefined;
  buffer: SourceRecord[];
  head: number;
  bufferedBytes: number;
  recordsRead: number;
  bytesRead: number;
  fetches: number;
  peakBufferedRecords: number;
  peakBufferedBytes: number;
  /** Offset lag of the last batch (high watermark − last offset − 1). */
  lag: bigint | undefined;
}

/** Group errors after which a new member joins instead of the source failing (at most this many times in a row). */
const MAX_GROUP_RESTARTS = 20;

/** An error of the group protocol that joining again resolves. */
function isGroupError(e: unknown): boolean {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur; i++) {
    const type = (cur as { type?: unknown }).type;
    if (type === 'INVALID_REQUEST' || type === 'ILLEGAL_GENERATION' || type === 'UNKNOWN_MEMBER_ID' || type === 'REBALANCE_IN_PROGRESS') return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

// kafkajs is CommonJS: its named exports come through the default import.
const { Kafka, logLevel, CompressionCodecs, CompressionTypes } = kafkajs;

/**
 * The codecs kafkajs lacks (it decompresses gzip only): snappy, lz4 and zstd from pure-JavaScript
 * decoders (`codecs.ts`), registered once in kafkajs's process-wide table.
 */
function registerCodecs(): void {
  const codecs = CompressionCodecs as unknown as Record<number, unknown>;
  codecs[CompressionTypes.Snappy] = kafkaCodec('snappy', snappyDecompress);
  codecs[CompressionTypes.LZ4] = kafkaCodec('lz4', lz4Decompress);
  codecs[CompressionTypes.ZSTD] = kafkaCodec('zstd', zstdDecompressBatch);
}

const utf8 = new TextDecoder('utf-8');

/** A record of this source (a class: see `memory.ts`'s MemoryRecord on V8 and literals). */
class KafkaRecord implements SourceRecord {
  constructor(
    readonly partitionId: string,
    readonly position: string,
    readonly data: Uint8Array,
    readonly partitionKey: string,
    readonly arrivalTimeMs: number,
    readonly meta: Readonly<Record<string, string>>,
  ) {}
}

/** A Source over Kafka topics through a consumer group. */
export class KafkaSource implements Source {
  readonly id: string;
  private readonly kafka: InstanceType<typeof Kafka>;
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private readonly parts = new Map<string, PartitionState>();
  private startPositions = new Map<string, string>();
  private initial: InitialPosition = { type: 'TRIM_HORIZON' };
  private failure: Error | undefined;
  private closed = false;
  private started = false;
  /** Bumped by every rebalance and join: a batch taken under an older one is dropped. */
  private generation = 0;
  /** Joins seen (the first uses the start positions, later ones the table's). */
  private joins = 0;
  /** The topics read (listed, or matched by the pattern at start). */
  private topics: string[] = [];
  /** Consecutive times this member joined again after a group error (see startConsumer). */
  private groupRestarts = 0;
  /** A new member is being started (a group error, a new topic list): no other restart meanwhile. */
  private restarting = false;
  /** The next listing of the topics matching `topicPattern`. */
  private topicTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly metadataMaxAgeMs: number;
  /** The first join's positioning (awaited by `start`, so reading has begun when it resolves). */
  private firstPositioning: Promise<void> | undefined;
  private bufferedRecords = 0;
  private bufferedBytes = 0;
  private peakBufferedBytes = 0;
  private discoveries = 0;
  private rotate = 0;
  /**
   * Partitions (re)started or revoked since the last poll, with the table position each starts
   * from (the pipeline's fencing token; see `SourceBatch.restarted`).
   */
  private restarted = new Map<string, string | undefined>();
  /** Wakes a waiting poll (records arrived, failure, close). */
  private wakePoll: (() => void) | undefined;
  /** Wakes fetching waiting for room in the buffer. */
  private wakeRoom: (() => void) | undefined;
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly log: SourceLogger;

  constructor(private readonly options: KafkaSourceOptions) {
    if (!options.topics?.length && !options.topicPattern) throw new ValidationError('kafka: topics or a topic pattern is required');
    if (!options.group) throw new ValidationError('kafka: a consumer group is required');
    this.id = options.id ?? KAFKA_SOURCE_ID;
    this.maxRecords = options.maxBufferedRecords ?? 20_000;
    this.maxBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.metadataMaxAgeMs = options.metadataMaxAgeMs ?? 30_000;
    this.log = options.log ?? (() => {});
    registerCodecs();
    this.kafka = new Kafka({
      ...kafkaClientConfig(options, options.env ?? process.env),
      logLevel: logLevel.ERROR,
      logCreator: () => (entry) => {
        // kafkajs logs errors it then retries; they reach floe's log as warnings, with the
        // broker's error (its message alone names only the request: "Response SyncGroup(…)").
        const error = typeof entry.log.error === 'string' ? entry.log.error : undefined;
        this.log('warn', `kafka: ${entry.log.message}${error ? `: ${error}` : ''}`, { namespace: entry.namespace });
      },
    });
  }

  /** The partitions this member is assigned in the current generation (ids). */
  ownedPartitions(): ReadonlySet<string> {
    const out = new Set<string>();
    for (const p of this.parts.values()) if (p.owned) out.add(p.id);
    return out;
  }

  async start(startPositions: ReadonlyMap<string, string>, initial: InitialPosition): Promise<void> {
    if (this.started) throw new FloeError('SOURCE_STATE', 'kafka: start called twice');
    this.started = true;
    for (const [id, pos] of startPositions) {
      if (!parseKafkaPartitionId(id)) throw new ValidationError(`kafka: checkpoint key ${this.id}.${id} is not a Kafka partition (<topic>:<partition>)`);
      parseKafkaOffset(pos, `position of ${id}`);
    }
    this.startPositions = new Map(startPositions);
    this.initial = initial;
    try {
      this.admin = this.kafka.admin();
      await this.admin.connect();
      this.topics = this.options.topics?.length ? this.options.topics : await this.matchingTopics();
      this.discoveries++;
      await this.startConsumer();
      await this.firstPositioning;
      if (this.failure) throw this.failure;
      this.scheduleTopicListing();
    } catch (e) {
      await this.close();
      if (e instanceof FloeError) throw e;
      // SASL and TLS refusals are named as such and not retriable (kafka-client.ts).
      throw kafkaClientError(e, `kafka: cannot start the consumer of group ${this.options.group} on ${this.options.brokers.join(',')}`, true);
    }
  }

  /** Joins the group as a new member and starts fetching (at start, and after a group error). */
  private async startConsumer(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.options.group,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: this.options.heartbeatIntervalMs ?? 3000,
      // Positions live in the table: the group's offsets are never read to start from.
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 1024 * 1024,
      maxWaitTimeInMs: 250,
      // Partitions added to a subscribed topic are seen (and the group joined again) within this.
      metadataMaxAge: this.metadataMaxAgeMs,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
    });
    this.consumer = consumer;
    // Events of a member this source has left (a restart) change nothing.
    consumer.on(consumer.events.REBALANCING, () => {
      if (this.consumer === consumer) this.onRebalancing();
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      if (this.consumer !== consumer) return;
      this.groupRestarts = 0;
      this.onJoin(e.payload.memberAssignment);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      const err = e.payload.error;
      if (e.payload.restart) {
        this.log('warn', `kafka: consumer failed, restarting: ${err.message}`);
        return;
      }
      if (this.closed || this.consumer !== consumer) return;
      if (isGroupError(err) && this.groupRestarts < MAX_GROUP_RESTARTS) {
        // kafkajs gives up on these (a SyncGroup refused, a member forgotten); joining again as
        // a new member is what a rebalance does anyway. librdkafka's mock cluster refuses the
        // SyncGroup of a member that sends it after the leader's (its group is then already up).
        this.groupRestarts++;
        this.log('warn', `kafka: the group refused this member (${err.message}); joining again (${this.groupRestarts}/${MAX_GROUP_RESTARTS})`);
        this.onRebalancing();
        this.restarting = true;
        setTimeout(() => {
          if (this.closed) return;
          this.startConsumer()
            .catch((e2: unknown) => this.fail(new FloeError('SOURCE_READ_FAILED', `kafka: cannot join group ${this.options.group} again: ${(e2 as Error).message}`, { cause: e2, retriable: true })))
            .finally(() => {
              this.restarting = false;
            });
        }, 200 * this.groupRestarts);
        return;
      }
      this.fail(kafkaClientError(err, 'kafka: the consumer stopped', false));
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: this.initial.type !== 'LATEST' });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    // Closed while joining: close() disconnected the consumer it knew, maybe not this one.
    if (this.closed) await consumer.disconnect().catch(() => undefined);
  }

  /** Topics matching `topicPattern` (at least one, unless `allowNone`). */
  private async matchingTopics(allowNone = false): Promise<string[]> {
    const all = await this.admin!.listTopics();
    const re = this.options.topicPattern!;
    const topics = all.filter((t) => !t.startsWith('__') && re.test(t)).sort();
    if (topics.length === 0 && !allowNone) throw new ValidationError(`kafka: no topic matches source.topic_pattern ${re.source} (topics: ${all.filter((t) => !t.startsWith('__')).slice(0, 20).join(', ')})`);
    return topics;
  }

  /** With a topic pattern: lists the matching topics again in `metadataMaxAgeMs`, and so on. */
  private scheduleTopicListing(): void {
    if (!this.options.topicPattern || this.closed) return;
    this.topicTimer = setTimeout(() => {
      this.topicTimer = undefined;
      this.listTopicsAgain()
        .catch((e: unknown) => {
          // The next listing tries again; reading the topics already known goes on meanwhile.
          if (!this.closed) this.log('warn', `kafka: cannot list the topics matching source.topic_pattern: ${(e as Error).message}`);
        })
        .finally(() => this.scheduleTopicListing());
    }, this.metadataMaxAgeMs);
    this.topicTimer.unref?.();
  }

  /**
   * Lists the topics matching the pattern; when new ones match, joins the group again
   * subscribed to them all. A topic that disappeared is kept in the list (its partitions were
   * deleted: nothing to read; the next start leaves it).
   */
  private async listTopicsAgain(): Promise<void> {
    if (this.closed || this.restarting || this.failure) return;
    const topics = await this.matchingTopics(true);
    const added = topics.filter((t) => !this.topics.includes(t));
    if (added.length === 0 || this.closed || this.restarting || this.failure) return;
    this.discoveries++;
    this.topics = [...this.topics, ...added].sort();
    this.log('info', `kafka: new topics match source.topic_pattern: ${added.join(', ')}; joining the group again subscribed to ${this.topics.length} topics`, { topics: added });
    await this.restartConsumer();
  }

  /**
   * Leaves the group and joins again as a new member subscribed to `this.topics`. Every
   * partition is revoked first as in a rebalance (buffered records dropped, rows handed out and
   * not committed reported restarted, so the pipeline drops them and its fencing holds); the new
   * member's assignment starts each partition from the table's position.
   */
  private async restartConsumer(): Promise<void> {
    this.restarting = true;
    try {
      const old = this.consumer;
      this.consumer = undefined;
      this.onRebalancing();
      try {
        await old?.disconnect();
      } catch (e) {
        this.log('debug', `kafka: disconnect before joining again: ${(e as Error).message}`);
      }
      if (this.closed) return;
      await this.startConsumer();
    } catch (e) {
      this.fail(e instanceof FloeError ? e : new FloeError('SOURCE_READ_FAILED', `kafka: cannot join group ${this.options.group} again with the new topics: ${(e as Error).message}`, { cause: e, retriable: true }));
    } finally {
      this.restarting = false;
    }
  }

  private state(topic: string, partition: number): PartitionState {
    const id = kafkaPartitionId(topic, partition);
    let s = this.parts.get(id);
    if (!s) {
      s = {
        id,
        topic,
        partition,
        owned: false,
        ready: false,
        next: -1n,
        handedOut: undefined,
        committed: undefined,
        buffer: [],
        head: 0,
        bufferedBytes: 0,
        recordsRead: 0,
        bytesRead: 0,
        fetches: 0,
        peakBufferedRecords: 0,
        peakBufferedBytes: 0,
        lag: undefined,
      };
      const start = this.startPositions.get(id);
      if (start !== undefined) s.committed = parseKafkaOffset(start);
      this.parts.set(id, s);
    }
    return s;
  }

  /** Drops what a partition buffered and has not handed out (read again from the table's position by its next owner). */
  private dropBuffer(s: PartitionState): void {
    const n = s.buffer.length - s.head;
    if (n > 0) this.log('info', `kafka: ${s.id}: dropping ${n} buffered records not yet handed out (rebalance)`);
    this.bufferedRecords -= n;
    this.bufferedBytes -= s.bufferedBytes;
    s.buffer = [];
    s.head = 0;
    s.bufferedBytes = 0;
    this.wakeRoom?.();
  }

  /**
   * A partition this member no longer reads: its buffer is dropped, and if rows of it were
   * handed out and not committed, it is reported restarted (at the position the table had from
   * this member), so the pipeline drops those rows instead of committing them.
   */
  private revoke(s: PartitionState): void {
    s.owned = false;
    s.ready = false;
    this.dropBuffer(s);
    if (s.handedOut !== undefined && (s.committed === undefined || s.handedOut > s.committed)) {
      this.restarted.set(s.id, s.committed?.toString());
      this.wakePoll?.();
    }
    s.handedOut = undefined;
  }

  private onRebalancing(): void {
    this.generation++;
    for (const s of this.parts.values()) this.revoke(s);
    this.log('info', 'kafka: the group is rebalancing: every partition revoked');
  }

  private onJoin(assignment: Record<string, number[]>): void {
    this.generation++;
    const gen = this.generation;
    const first = this.joins++ === 0;
    const assigned = new Set<string>();
    const list: { topic: string; partitions: number[] }[] = [];
    for (const [topic, partitions] of Object.entries(assignment)) {
      list.push({ topic, partitions: [...partitions] });
      for (const p of partitions) assigned.add(kafkaPartitionId(topic, p));
    }
    for (const s of this.parts.values()) if (!assigned.has(s.id) && s.owned) this.revoke(s);
    const states = list.flatMap(({ topic, partitions }) => partitions.map((p) => this.state(topic, p)));
    for (const s of states) {
      s.owned = true;
      s.ready = false;
      this.dropBuffer(s);
    }
    this.log('info', `kafka: assigned ${states.length} partitions`, { partitions: states.map((s) => s.id) });
    if (states.length === 0) return;
    // Nothing is fetched until each partition is sought to the table's position.
    this.consumer!.pause(list);
    const positioning = this.seekAssigned(states, gen, first, list).catch((e: unknown) => {
      this.fail(e instanceof FloeError ? e : new FloeError('SOURCE_READ_FAILED', `kafka: cannot position the assigned partitions: ${(e as Error).message}`, { cause: e, retriable: true }));
    });
    if (first) this.firstPositioning = positioning;
  }

  /**
   * Seeks assigned partitions to where the table stands (see the file comment), reports them
   * restarted from there, then resumes them. `fresh`: read the table's positions now (after a
   * rebalance another member may have committed); otherwise the start positions and those this
   * member committed since.
   */
  private async seekAssigned(states: PartitionState[], gen: number, first: boolean, list: { topic: string; partitions: number[] }[], given?: ReadonlyMap<string, string>): Promise<void> {
    let table: ReadonlyMap<string, string> | undefined = given;
    if (table === undefined && !first && this.options.tablePositions) table = await this.options.tablePositions();
    if (gen !== this.generation || this.closed) return;
    const fromInitial: PartitionState[] = [];
    for (const s of states) {
      const t = table?.get(s.id);
      const tablePos = table !== undefined ? (t !== undefined ? parseKafkaOffset(t, `table position of ${s.id}`) : undefined) : s.committed;
      s.committed = tablePos;
      s.handedOut = undefined;
      this.dropBuffer(s);
      if (tablePos === undefined) fromInitial.push(s);
      else s.next = tablePos + 1n;
    }
    if (fromInitial.length > 0) await this.initialOffsets(fromInitial);
    if (gen !== this.generation || this.closed) return;
    for (const s of states) {
      this.consumer!.seek({ topic: s.topic, partition: s.partition, offset: s.next.toString() });
      s.ready = true;
      this.restarted.set(s.id, s.committed?.toString());
    }
    this.consumer!.resume(list);
    this.wakePoll?.();
  }

  /**
   * Forgets every record not committed and reads the partitions this member owns again from
   * `positions` (the table's; the others from the initial position): the pipeline's answer to a
   * fenced commit or a restart that overlapped rows it held.
   */
  async rewind(positions: ReadonlyMap<string, string>): Promise<void> {
    if (this.closed || !this.consumer) return;
    const consumer = this.consumer;
    this.generation++;
    const gen = this.generation;
    const owned: PartitionState[] = [];
    for (const s of this.parts.values()) {
      s.ready = false;
      this.dropBuffer(s);
      s.handedOut = undefined;
      if (s.owned) owned.push(s);
    }
    if (owned.length === 0) return;
    const byTopic = new Map<string, number[]>();
    for (const s of owned) byTopic.set(s.topic, [...(byTopic.get(s.topic) ?? []), s.partition]);
    const list = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
    consumer.pause(list);
    this.log('info', `kafka: rewinding ${owned.length} partitions to the table's positions`);
    await this.seekAssigned(owned, gen, false, list, positions);
  }

  /** Sets `next` of partitions the table has never seen from the initial position. */
  private async initialOffsets(states: PartitionState[]): Promise<void> {
    const byTopic = new Map<string, PartitionState[]>();
    for (const s of states) {
      let l = byTopic.get(s.topic);
      if (!l) byTopic.set(s.topic, (l = []));
      l.push(s);
    }
    for (const [topic, list] of byTopic) {
      let offsets: { partition: number; offset: string }[];
      if (this.initial.type === 'AT_TIMESTAMP') {
        offsets = await this.admin!.fetchTopicOffsetsByTimestamp(topic, this.initial.timestampMs);
      } else {
        const all = await this.admin!.fetchTopicOffsets(topic);
        offsets = all.map((o) => ({ partition: o.partition, offset: this.initial.type === 'LATEST' ? o.high : o.low }));
      }
      for (const s of list) {
        const o = offsets.find((x) => x.partition === s.partition);
        if (!o) throw new FloeError('SOURCE_READ_FAILED', `kafka: no offsets for ${s.id}`, { retriable: true });
        const v = BigInt(o.offset);
        // -1 from a timestamp past the end: start at the end.
        s.next = v >= 0n ? v : BigInt((await this.admin!.fetchTopicOffsets(topic)).find((x) => x.partition === s.partition)?.high ?? '0');
        this.log('info', `kafka: ${s.id}: not in the table, starting at offset ${s.next} (${this.initial.type})`);
      }
    }
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    // Not logged here: poll() throws it and the caller reports it once.
    this.wakePoll?.();
    this.wakeRoom?.();
  }

  /** Buffers a fetched batch, waiting for room; resolves offsets so kafkajs fetches on. */
  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, isStale, isRunning, resolveOffset } = payload;
    const s = this.state(batch.topic, batch.partition);
    const gen = this.generation;
    if (!s.owned || !s.ready || isStale()) return;
    s.fetches++;
    const hw = BigInt(batch.highWatermark);
    let lastHeartbeat = Date.now();
    for (const m of batch.messages) {
      if (this.closed || this.failure || !isRunning() || isStale() || gen !== this.generation || !s.owned) return;
      const offset = BigInt(m.offset);
      if (s.next >= 0n && offset < s.next) continue; // already handed out or in the table
      while (this.bufferedRecords >= this.maxRecords || this.bufferedBytes >= this.maxBytes) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            this.wakeRoom = undefined;
            resolve();
          }, 1000);
          this.wakeRoom = () => {
            clearTimeout(t);
            this.wakeRoom = undefined;
            resolve();
          };
        });
        if (this.closed || this.failure || gen !== this.generation || !s.owned) return;
        if (Date.now() - lastHeartbeat >= 1000) {
          // Keeps the membership while the pipeline catches up; a rebalance throws here and
          // kafkajs rejoins (onRebalancing drops what is buffered).
          await heartbeat();
          lastHeartbeat = Date.now();
        }
      }
      if (gen !== this.generation || !s.owned) return;
      this.push(s, m, offset);
      s.next = offset + 1n;
      resolveOffset(m.offset);
    }
    s.lag = hw - s.next;
    if (batch.messages.length > 0 && gen === this.generation && s.owned) resolveOffset(batch.lastOffset());
  }

  private push(s: PartitionState, m: KafkaMessage, offset: bigint): void {
    const data = m.value ?? new Uint8Array(0);
    const key = m.key === null ? undefined : utf8.decode(m.key);
    const meta: Record<string, string> = { topic: s.topic, partition: String(s.partition), offset: m.offset };
    if (key !== undefined) meta.key = key;
    if (m.headers) {
      for (const [name, v] of Object.entries(m.headers)) {
        const one = Array.isArray(v) ? v[0] : v;
        if (one === undefined || one === null) continue;
        meta[`header:${name}`] = typeof one === 'string' ? one : utf8.decode(one);
      }
    }
    const r = new KafkaRecord(s.id, offset.toString(), data, key ?? '', Number(m.timestamp), meta);
    s.buffer.push(r);
    s.bufferedBytes += data.length;
    s.recordsRead++;
    s.bytesRead += data.length;
    this.bufferedRecords++;
    this.bufferedBytes += data.length;
    const n = s.buffer.length - s.head;
    if (n > s.peakBufferedRecords) s.peakBufferedRecords = n;
    if (s.bufferedBytes > s.peakBufferedBytes) s.peakBufferedBytes = s.bufferedBytes;
    if (this.bufferedBytes > this.peakBufferedBytes) this.peakBufferedBytes = this.bufferedBytes;
    this.wakePoll?.();
  }

  async poll(options: PollOptions): Promise<SourceBatch> {
    const records: SourceRecord[] = [];
    const positions = new Map<string, string>();
    if (this.failure) throw this.failure;
    if (this.closed) return { records, positions };
    if (this.bufferedRecords === 0 && this.restarted.size === 0 && (options.waitMs ?? 1000) > 0 && !options.signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(t);
          options.signal?.removeEventListener('abort', done);
          this.wakePoll = undefined;
          resolve();
        };
        const t = setTimeout(done, options.waitMs ?? 1000);
        options.signal?.addEventListener('abort', done, { once: true });
        this.wakePoll = done;
      });
      if (this.failure) throw this.failure;
      if (this.closed) return { records, positions };
    }
    const states = [...this.parts.values()].filter((s) => s.buffer.length > s.head);
    const n = states.length;
    let bytes = 0;
    for (let k = 0; k < n && records.length < options.maxRecords; k++) {
      const s = states[(this.rotate + k) % n]!;
      const share = Math.max(1, Math.ceil((options.maxRecords - records.length) / (n - k)));
      let taken = 0;
      while (s.head < s.buffer.length && taken < share && records.length < options.maxRecords) {
        const r = s.buffer[s.head]!;
        if (bytes > 0 && bytes + r.data.length > options.maxBytes) break;
        records.push(r);
        s.head++;
        bytes += r.data.length;
        s.bufferedBytes -= r.data.length;
        taken++;
      }
      if (taken > 0) {
        const last = records[records.length - 1]!;
        positions.set(s.id, last.position);
        s.handedOut = BigInt(last.position);
        if (s.head === s.buffer.length) {
          s.buffer = [];
          s.head = 0;
        } else if (s.head > 4096 && s.head * 2 > s.buffer.length) {
          s.buffer = s.buffer.slice(s.head);
          s.head = 0;
        }
      }
    }
    this.rotate = (this.rotate + 1) % Math.max(1, n);
    this.bufferedRecords -= records.length;
    this.bufferedBytes -= bytes;
    if (records.length > 0) this.wakeRoom?.();
    if (this.restarted.size === 0) return { records, positions };
    // Restarts go out with the records read after them (a restart drops what was buffered before).
    const restarted = this.restarted;
    this.restarted = new Map();
    return { records, positions, restarted };
  }

  markCommitted(positions: ReadonlyMap<string, string>): void {
    const offsets: { topic: string; partition: number; offset: string }[] = [];
    for (const [id, pos] of positions) {
      const s = this.parts.get(id);
      if (!s) continue;
      const v = parseKafkaOffset(pos, `committed position of ${id}`);
      if (s.committed === undefined || v > s.committed) s.committed = v;
      // The group's offset is the next record to read; only a member that owns the partition moves it.
      if (s.owned) offsets.push({ topic: s.topic, partition: s.partition, offset: (v + 1n).toString() });
    }
    if (offsets.length === 0 || !this.consumer || this.closed) return;
    this.consumer.commitOffsets(offsets).catch((e: unknown) => {
      // For lag tools only: a failure (a rebalance in progress) changes nothing floe relies on.
      this.log('debug', `kafka: committing offsets to group ${this.options.group} failed: ${(e as Error).message}`);
    });
  }

  comparePositions(a: string, b: string): number {
    return compareKafkaOffsets(a, b);
  }

  metrics(): SourceMetrics {
    const partitions: PartitionMetrics[] = [...this.parts.values()].map((s) =>
      partitionMetrics(s.id, this.failure ? 'failed' : s.owned ? 'reading' : 'done', {
        recordsRead: s.recordsRead,
        bytesRead: s.bytesRead,
        fetches: s.fetches,
        bufferedRecords: s.buffer.length - s.head,
        bufferedBytes: s.bufferedBytes,
        peakBufferedRecords: s.peakBufferedRecords,
        peakBufferedBytes: s.peakBufferedBytes,
        lastPosition: s.handedOut?.toString(),
        committedPosition: s.committed?.toString(),
      }),
    );
    return {
      recordsRead: partitions.reduce((a, p) => a + p.recordsRead, 0),
      bytesRead: partitions.reduce((a, p) => a + p.bytesRead, 0),
      throttles: 0,
      retries: 0,
      bufferedRecords: this.bufferedRecords,
      bufferedBytes: this.bufferedBytes,
      peakBufferedBytes: this.peakBufferedBytes,
      millisBehindLatest: undefined,
      discoveries: this.discoveries,
      partitions,
    };
  }

  /** Offset lag per owned partition (high watermark minus the next offset), for status lines. */
  offsetLag(): Map<string, bigint> {
    const out = new Map<string, bigint>();
    for (const s of this.parts.values()) if (s.owned && s.lag !== undefined) out.set(s.id, s.lag);
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.topicTimer !== undefined) clearTimeout(this.topicTimer);
    this.wakePoll?.();
    this.wakeRoom?.();
    // Leaving the group hands the partitions to the other members at once.
    try {
      await this.consumer?.disconnect();
    } catch (e) {
      this.log('debug', `kafka: disconnect: ${(e as Error).message}`);
    }
    try {
      await this.admin?.disconnect();
    } catch {
      // nothing to do
    }
  }
}
