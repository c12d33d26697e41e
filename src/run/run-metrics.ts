/**
 * The figures of a running `floe run` as Prometheus metrics (`prom-client`, names prefixed
 * `floe_`), and its liveness and readiness. Nothing here touches the record path: counters move
 * on events (one per commit, dead letter, retry, maintenance run) and the gauges and per-partition
 * counters are read from `Pipeline.stats()` when scraped (`collect`) or on the run's 1 s tick.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PipelineStats } from '../pipeline/pipeline.js';
import type { RunEvent } from './run-pipeline.js';

/** Options of {@link RunMetrics}. */
export interface RunMetricsOptions {
  /** `/readyz` fails when records wait and no commit has landed for this long. */
  readyCommitAgeMs: number;
  /** Clock (tests). */
  now?: () => number;
  /** Also collect process metrics (memory, CPU, event loop, GC); default true. */
  processMetrics?: boolean;
}

/** Where the run is: only `running` can be ready. */
export type RunState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** An answer of a health endpoint. */
export interface HealthAnswer {
  ok: boolean;
  /** One line saying why (the body of the response). */
  reason: string;
}

/**
 * A counter fed from a running total kept elsewhere (the source's per-partition counts): each
 * collect adds what the total grew by since the last one, so Prometheus sees a real counter.
 */
class TotalTracker {
  private readonly last = new Map<string, number>();
  constructor(private readonly counter: Counter<string>, private readonly label?: string) {}
  update(total: number, labelValue = ''): void {
    const before = this.last.get(labelValue) ?? 0;
    if (total > before) {
      if (this.label) this.counter.inc({ [this.label]: labelValue }, total - before);
      else this.counter.inc(total - before);
    }
    this.last.set(labelValue, Math.max(before, total));
  }
}

/** A run's metrics registry and health state. */
export class RunMetrics {
  /** The registry served on `/metrics` (its own: a library user's global registry is left alone). */
  readonly registry = new Registry();
  private state: RunState = 'starting';
  private stateReason = 'starting: the source has not started yet';
  private stats: (() => PipelineStats) | undefined;
  private startedMs: number | undefined;
  private lastCommitMs: number | undefined;
  /** Last time the tick saw nothing waiting to be committed. */
  private lastIdleMs: number | undefined;
  private committedRecords = 0;
  private committedDeadLetters = 0;
  private readonly now: () => number;

  private readonly recordsWritten: Counter<string>;
  private readonly deadLettersWritten: Counter<string>;
  private readonly commits: Counter<string>;
  private readonly commitDuration: Histogram<string>;
  private readonly commitConflicts: Counter<string>;
  private readonly commitRetries: Counter<string>;
  private readonly filesWritten: Counter<string>;
  private readonly bytesWritten: Counter<string>;
  private readonly maintenanceRuns: Counter<string>;
  private readonly maintenanceDuration: Histogram<string>;
  private readonly errors: Counter<string>;

  constructor(private readonly options: RunMetricsOptions) {
    this.now = options.now ?? Date.now;
    const registers = [this.registry];
    this.recordsWritten = new Counter({ name: 'floe_records_written_total', help: 'Rows committed to the table', registers });
    this.deadLettersWritten = new Counter({ name: 'floe_dead_letters_written_total', help: 'Dead letters committed to the dead-letter table', registers });
    this.commits = new Counter({ name: 'floe_commits_total', help: 'Commits of the table', registers });
    this.commitDuration = new Histogram({
      name: 'floe_commit_duration_seconds',
      help: 'From a unit sealed to its commit landed (files written, catalog commit)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.commitConflicts = new Counter({ name: 'floe_commit_conflicts_total', help: 'Commit attempts lost to a concurrent change of the table, then retried', registers });
    this.commitRetries = new Counter({
      name: 'floe_commit_retries_total',
      help: 'Commit waits for an unavailable catalog, by reason (unreachable, unknown-outcome, reload-failed)',
      labelNames: ['reason'],
      registers,
    });
    this.filesWritten = new Counter({ name: 'floe_files_written_total', help: 'Data files committed', registers });
    this.bytesWritten = new Counter({ name: 'floe_file_bytes_written_total', help: 'Bytes of the data files committed', registers });
    this.maintenanceRuns = new Counter({
      name: 'floe_maintenance_runs_total',
      help: 'Maintenance operations run, by operation and outcome (ok, failed)',
      labelNames: ['operation', 'outcome'],
      registers,
    });
    this.maintenanceDuration = new Histogram({
      name: 'floe_maintenance_duration_seconds',
      help: 'Duration of maintenance operations',
      labelNames: ['operation'],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
      registers,
    });
    this.errors = new Counter({ name: 'floe_fatal_errors_total', help: 'Errors that stopped the run, by code', labelNames: ['code'], registers });

    // Read from the pipeline's running totals at scrape time: prom-client calls each metric's
    // `collect`; the first of a scrape reads the stats and fills them all, the others find it done.
    let filledAt: number | undefined;
    const collect = (): void => {
      const at = this.now();
      if (filledAt !== undefined && at - filledAt < 100) return;
      filledAt = at;
      const s = this.stats?.();
      if (s) fill(s);
    };
    const read = new Counter({ name: 'floe_records_read_total', help: 'Records read from the source, by partition (Kinesis shard)', labelNames: ['partition'], registers, collect });
    const readBytes = new Counter({ name: 'floe_bytes_read_total', help: 'Record bytes read from the source, by partition', labelNames: ['partition'], registers, collect });
    const throttles = new Counter({ name: 'floe_source_throttles_total', help: 'Reads refused for exceeding the partition read limits, by partition', labelNames: ['partition'], registers, collect });
    const retries = new Counter({ name: 'floe_source_retries_total', help: 'Reads retried after other failures (5xx, network), by partition', labelNames: ['partition'], registers, collect });
    const ingested = new Counter({ name: 'floe_records_ingested_total', help: 'Records turned into rows (buffered for the next commit)', registers, collect });
    const deadLetters = new Counter({ name: 'floe_dead_letters_total', help: 'Records that could not become rows, by policy action (dlq, skip)', labelNames: ['action'], registers, collect });
    const behind = new Gauge({
      name: 'floe_millis_behind_latest',
      help: 'How far the last read of each partition was behind its tip (Kinesis MillisBehindLatest), ms',
      labelNames: ['partition'],
      registers,
      collect,
    });
    const behindMax = new Gauge({ name: 'floe_millis_behind_latest_max', help: 'The largest floe_millis_behind_latest of the partitions being read, ms', registers, collect });
    const bufferedRecords = new Gauge({ name: 'floe_source_buffered_records', help: 'Records read ahead and not yet taken by the pipeline', registers, collect });
    const bufferedBytes = new Gauge({ name: 'floe_source_buffered_bytes', help: 'Bytes read ahead and not yet taken by the pipeline', registers, collect });
    const uncommitted = new Gauge({ name: 'floe_uncommitted_records', help: 'Rows and dead letters taken by the pipeline and not yet committed', registers, collect });
    const partitions = new Gauge({ name: 'floe_source_partitions', help: 'Partitions (shards) known to the source, by state', labelNames: ['state'], registers, collect });
    const trackers = {
      read: new TotalTracker(read, 'partition'),
      readBytes: new TotalTracker(readBytes, 'partition'),
      throttles: new TotalTracker(throttles, 'partition'),
      retries: new TotalTracker(retries, 'partition'),
      ingested: new TotalTracker(ingested),
      deadLetters: new TotalTracker(deadLetters, 'action'),
    };
    const fill = (s: PipelineStats): void => {
      trackers.ingested.update(s.records);
      trackers.deadLetters.update(s.deadLetters, 'dlq');
      trackers.deadLetters.update(s.skipped, 'skip');
      const states = new Map<string, number>();
      let max = 0;
      for (const p of s.source.partitions) {
        trackers.read.update(p.recordsRead, p.partitionId);
        trackers.readBytes.update(p.bytesRead, p.partitionId);
        trackers.throttles.update(p.throttles, p.partitionId);
        trackers.retries.update(p.retries, p.partitionId);
        if (p.millisBehindLatest !== undefined) {
          behind.set({ partition: p.partitionId }, p.millisBehindLatest);
          if (p.state === 'reading' || p.state === 'ended') max = Math.max(max, p.millisBehindLatest);
        }
        states.set(p.state, (states.get(p.state) ?? 0) + 1);
      }
      behindMax.set(max);
      partitions.reset();
      for (const [state, n] of states) partitions.set({ state }, n);
      bufferedRecords.set(s.source.bufferedRecords);
      bufferedBytes.set(s.source.bufferedBytes);
      uncommitted.set(this.uncommitted(s));
    };
    const sinceCommit: Gauge<string> = new Gauge({
      name: 'floe_seconds_since_last_commit',
      help: 'Seconds since the last commit landed (since the start before the first)',
      registers,
      collect: () => {
        const from = this.lastCommitMs ?? this.startedMs;
        sinceCommit.set(from === undefined ? 0 : (this.now() - from) / 1000);
      },
    });
    const lastCommit: Gauge<string> = new Gauge({
      name: 'floe_last_commit_timestamp_seconds',
      help: 'Unix time of the last commit landed (0: none yet)',
      registers,
      collect: () => lastCommit.set(this.lastCommitMs === undefined ? 0 : this.lastCommitMs / 1000),
    });
    const ready: Gauge<string> = new Gauge({ name: 'floe_ready', help: '1 when /readyz answers 200', registers, collect: () => ready.set(this.readiness().ok ? 1 : 0) });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'floe_' });
  }

  /** Where the gauges read the pipeline's totals from (`Pipeline.stats`), once the pipeline is open. */
  attach(stats: () => PipelineStats): void {
    this.stats = stats;
  }

  /** Rows and dead letters the pipeline has taken and not yet committed. */
  private uncommitted(s: PipelineStats): number {
    return Math.max(0, s.records - this.committedRecords) + Math.max(0, s.deadLetters - this.committedDeadLetters);
  }

  /**
   * The run's 1 s tick: notes whether anything waits to be committed, so that a worker idle for
   * hours is not called stalled by the first record after the silence.
   */
  tick(s: PipelineStats): void {
    if (this.uncommitted(s) === 0 && s.source.bufferedRecords === 0) this.lastIdleMs = this.now();
  }

  /** Takes an event of the pipeline or its maintenance (cheap: one per commit, dead letter, retry). */
  observe(e: RunEvent): void {
    switch (e.type) {
      case 'started':
        this.state = 'running';
        this.startedMs = this.now();
        break;
      case 'commit':
        this.lastCommitMs = this.now();
        this.committedRecords += e.records;
        this.committedDeadLetters += e.deadLetters;
        this.commits.inc();
        this.recordsWritten.inc(e.records);
        this.deadLettersWritten.inc(e.deadLetters);
        this.filesWritten.inc(e.files);
        this.bytesWritten.inc(e.bytes);
        this.commitDuration.observe(e.durationMs / 1000);
        if (e.attempts > 1) this.commitConflicts.inc(e.attempts - 1);
        break;
      case 'commit-retry':
        this.commitRetries.inc({ reason: e.reason });
        break;
      case 'maintenance':
        this.maintenanceRuns.inc({ operation: e.operation, outcome: e.error === undefined ? 'ok' : 'failed' });
        this.maintenanceDuration.observe({ operation: e.operation }, e.durationMs / 1000);
        break;
      case 'error':
        this.state = 'failed';
        this.stateReason = `failed: ${e.code}: ${e.error}`;
        this.errors.inc({ code: e.code });
        break;
      case 'stopped':
        if (this.state !== 'failed') this.state = 'stopped';
        break;
      case 'dead-letter':
        break; // counted from the totals at scrape time
    }
  }

  /** The run was asked to stop (a signal): no longer ready, still alive while it commits. */
  stopping(): void {
    if (this.state === 'starting' || this.state === 'running') this.state = 'stopping';
  }

  /** The run ended with an exception that no `error` event reported (e.g. opening the table). */
  failed(message: string): void {
    this.state = 'failed';
    this.stateReason = `failed: ${message}`;
  }

  /** Liveness (`/healthz`): the process answers and its run has not failed. */
  liveness(): HealthAnswer {
    if (this.state === 'failed') return { ok: false, reason: this.stateReason };
    return { ok: true, reason: `alive: ${this.state}` };
  }

  /**
   * Readiness (`/readyz`): the source has started, and either nothing waits to be committed or a
   * commit has landed within `readyCommitAgeMs` (of the start, or of the last idle moment).
   */
  readiness(): HealthAnswer {
    if (this.state === 'starting') return { ok: false, reason: this.stateReason };
    if (this.state === 'failed') return { ok: false, reason: this.stateReason };
    if (this.state !== 'running') return { ok: false, reason: `${this.state}: not taking records` };
    const s = this.stats?.();
    const waiting = s ? this.uncommitted(s) + s.source.bufferedRecords : 0;
    const now = this.now();
    if (waiting === 0) return { ok: true, reason: 'ready: idle, nothing waits to be committed' };
    const since = Math.max(this.lastCommitMs ?? 0, this.lastIdleMs ?? 0, this.startedMs ?? 0);
    const age = now - since;
    if (age > this.options.readyCommitAgeMs) {
      const what = this.lastCommitMs === undefined ? 'no commit since the start' : `last commit ${Math.round((now - this.lastCommitMs) / 1000)} s ago`;
      return { ok: false, reason: `stalled: ${waiting} records wait, ${what} (bound ${this.options.readyCommitAgeMs} ms)` };
    }
    return { ok: true, reason: `ready: ${waiting} records wait, committing` };
  }

  /** The Prometheus text exposition. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Its content type. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
