/**
 * `floe run --config <file>`: the long-running job. The config is validated before any work.
 * SIGINT/SIGTERM make a final commit and exit 0 (a second signal exits at once; the table stays
 * consistent either way). The log on stdout: JSON lines off a terminal, text on one; the live status
 * line on stderr when it is a terminal (`RunReporter`).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Catalog } from '../../catalog/catalog.js';
import { parseTableIdentifier } from '../../catalog/catalog.js';
import { openCatalog } from '../../catalog/open.js';
import { ValidationError } from '../../errors.js';
import { snapshotForRef } from '../../iceberg/snapshot.js';
import { readCheckpoint } from '../../pipeline/checkpoint.js';
import { loadConfig, type PipelineConfig } from '../../pipeline/config.js';
import type { PipelineStats } from '../../pipeline/pipeline.js';
import { openPipeline, openRoutedPipeline, type RunEvent } from '../../run/run-pipeline.js';
import { RunMetrics } from '../../run/run-metrics.js';
import { startMetricsServer, type MetricsServer } from '../../run/metrics-server.js';
import { DEFAULT_METRICS_HOST, defaultReadyCommitAgeMs, parsePort } from '../../pipeline/config-metrics.js';
import { kinesisClientFromEnv } from '../../source/kinesis/client.js';
import { efoClientFromEnv } from '../../source/kinesis/efo-consumer.js';
import { KinesisSource, type KinesisLeaseOptions } from '../../source/kinesis/kinesis-source.js';
import { dynamoDbClientFromEnv } from '../../source/kinesis/leases/dynamodb-client.js';
import { LeaseCoordinator } from '../../source/kinesis/leases/lease-coordinator.js';
import { LeaseTable } from '../../source/kinesis/leases/lease-table.js';
import { Table } from '../../table/table.js';
import type { Source, SourceLogger } from '../../source/source.js';
import { parse, str, UsageError } from '../args.js';
import { renderUsage, type CommandSpec } from '../help.js';
import type { CommandIO } from '../io.js';
import { restAuthFromEnv } from '../context.js';
import { DEFAULT_LOG_LEVEL, formatFor, LOG_FLAGS, Logger, logSettings, type LogLevel, type LogSettings } from '../log.js';

/** Where the config file's keys are documented (the README section). */
export const CONFIG_REFERENCE = 'README.md#configuration-of-floe-run';

/** `floe run`: what it parses and what its help says. */
export const RUN_SPEC: CommandSpec = {
  name: 'run',
  args: '--config FILE',
  summary:
    'Streams the configured Kinesis stream (or Kafka topics) into the configured Iceberg table until SIGINT/SIGTERM (a final commit, ' +
    'then exit 0; a second signal exits at once). Logs to stdout: one JSON object per line off a terminal, text on one; ' +
    'a live status line on stderr when it is a terminal.',
  flags: {
    config: {
      type: 'string',
      short: 'c',
      value: 'FILE',
      help: 'the pipeline config, YAML or JSON (required; may also be given as the only argument), validated before any work',
    },
    'metrics-port': {
      type: 'string',
      value: 'PORT',
      help: 'serve /metrics (Prometheus), /healthz and /readyz on this port (0: any free port, logged), on metrics.host (default 127.0.0.1); overrides metrics.port',
    },
    ...LOG_FLAGS,
  },
  notes: `Every key of the config (source, catalog, table, transform, commit, dead_letter, maintenance,
duckdb, metrics, deploy) is described in the configuration reference, the README's "Configuration of floe run":
  ${CONFIG_REFERENCE}
A complete example: examples/reference.yaml.`,
};

/** The usage text of `floe run`. */
export const RUN_USAGE = renderUsage(RUN_SPEC);

/**
 * The log and the live status line of `floe run`. Log lines go to stdout: one JSON object per line
 * off a terminal, text on one (`FLOE_LOG_FORMAT` forces; `cli/log.ts`), below the level dropped.
 * The status line is drawn on stderr, and only when stderr is a terminal: a pipe or a container's
 * log never gets carriage returns and escape sequences.
 */
export class RunReporter {
  private statusShown = false;
  private lastRecords = 0;
  private lastTick = Date.now();
  private rate = 0;
  private lastCommitLine = 'no commit yet';
  private lastMaintenanceLine: string | undefined;
  private readonly logger: Logger;
  private readonly statusLine: boolean;

  constructor(
    private readonly io: CommandIO,
    settings: LogSettings = { level: DEFAULT_LOG_LEVEL, format: undefined },
  ) {
    this.statusLine = io.stderrIsTTY ?? io.isTTY;
    this.logger = new Logger({
      level: settings.level,
      format: formatFor(settings.format, io.isTTY),
      write: (t) => io.stdout(t),
      beforeWrite: () => this.clearStatus(),
    });
  }

  private clearStatus(): void {
    if (this.statusShown) {
      this.io.stderr('\r\x1b[2K');
      this.statusShown = false;
    }
  }

  /** One log line (dropped below the level). */
  log(level: LogLevel, message: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.logger.log(level, message, fields);
  }

  /** Handles an event of the pipeline or its maintenance. */
  event(e: RunEvent): void {
    switch (e.type) {
      case 'commit':
        this.lastCommitLine = `${new Date().toISOString().slice(11, 19)} (${e.records} rows, ${e.durationMs} ms)`;
        // The status line shows the last commit; a line per commit would scroll it away.
        this.log(this.statusLine ? 'debug' : 'info', 'commit', { ...e });
        break;
      case 'commit-retry':
        // One line per retry (the waits grow to 5 s): what failed, how long the catalog has been out.
        this.log('warn', `commit: catalog unavailable (${e.reason}), retry ${e.retry} in ${e.waitMs} ms`, {
          table: e.table,
          outageMs: e.outageMs,
          error: e.error,
        });
        break;
      case 'dead-letter':
        this.log('warn', 'dead letter', { shard: e.shard, position: e.position, error: e.error });
        break;
      case 'rewound':
        this.log('warn', `rewound: ${e.reason}`, { fenced: e.fenced, dropped: e.dropped, positions: e.positions });
        break;
      case 'started':
        this.log('info', `started: writing ${e.table}`, {
          positions: e.positions,
          ...(e.deadLetterTable ? { deadLetterTable: e.deadLetterTable } : {}),
          jsonFastPath: e.jsonFastPath,
        });
        break;
      case 'evolved':
        this.log('info', `evolved ${e.table}: ${e.changes.join('; ')}`, e.snapshotId ? { snapshotId: e.snapshotId } : {});
        break;
      case 'upsert-deletes':
        if (e.deletes === 'deletion-vectors') {
          this.log('info', `upserts: ${e.table}: older rows deleted by position (deletion vectors)`, { keys: e.keys, memoryBytes: e.memoryBytes, durationMs: e.durationMs });
        } else {
          this.log('info', `upserts: ${e.table}: older rows deleted by equality (equality deletes): ${e.reason ?? ''}`);
        }
        break;
      case 'stopped':
        this.log('info', 'stopped', { records: e.records, deadLetters: e.deadLetters, commits: e.commits });
        break;
      case 'error':
        // The error that ends the run: `main` writes its one line as the command fails (in the
        // log's format); a line here too would print it twice.
        break;
      case 'maintenance':
        if (e.error !== undefined) {
          this.log('warn', `maintenance: ${e.operation} ${e.table} failed: ${e.error}`, { code: e.code, durationMs: e.durationMs });
        } else {
          this.lastMaintenanceLine = `${e.operation} ${new Date().toISOString().slice(11, 19)}`;
          this.log('info', `maintenance: ${e.operation} ${e.table}`, { ...e.details, durationMs: e.durationMs });
        }
        break;
    }
  }

  /** Redraws the TTY status line. */
  status(stats: PipelineStats): void {
    if (!this.statusLine) return;
    const now = Date.now();
    const dt = (now - this.lastTick) / 1000;
    if (dt > 0) this.rate = (stats.records - this.lastRecords) / dt;
    this.lastRecords = stats.records;
    this.lastTick = now;
    const behind = stats.source.millisBehindLatest;
    const line =
      `${Math.round(this.rate).toLocaleString('en-US')} rec/s | ${stats.records.toLocaleString('en-US')} rows | ` +
      `behind ${behind === undefined ? '?' : `${behind} ms`} | last commit ${this.lastCommitLine} | ` +
      `${stats.commits} commits | dead letters ${stats.deadLetters + stats.skipped}` +
      (this.lastMaintenanceLine ? ` | maintenance ${this.lastMaintenanceLine}` : '');
    this.io.stderr(`\r\x1b[2K${line}`);
    this.statusShown = true;
  }

  /** Ends the status line. */
  finish(): void {
    if (this.statusShown) this.io.stderr('\n');
    this.statusShown = false;
  }
}

/**
 * `FLOE_JSON_SCANNER`: how usual JSON records are read. `native` (default: the C scanner when it
 * was built, else the JavaScript one), `javascript` (the JavaScript scanner, e.g. to rule the
 * native one out; Kinesis GetRecords bodies then read by the JavaScript parser too), `off`
 * (every record through JSON.parse and the transform). The same rows every way; only the speed
 * differs.
 */
export function jsonScannerFromEnv(env: NodeJS.ProcessEnv): { jsonFastPath?: false; nativeScanner?: false } {
  const v = env.FLOE_JSON_SCANNER?.trim().toLowerCase();
  if (v === undefined || v === '' || v === 'native') return {};
  if (v === 'javascript' || v === 'js') return { nativeScanner: false };
  if (v === 'off') return { jsonFastPath: false };
  throw new ValidationError(`config: FLOE_JSON_SCANNER: expected native, javascript or off, got ${JSON.stringify(env.FLOE_JSON_SCANNER)}`);
}

/**
 * Crash testing aid: `FLOE_CRASH_POINT=afterWrite:0.2,afterCommit:0.1` makes the process kill
 * itself with SIGKILL at those commit points with those probabilities.
 */
function crashPointFromEnv(env: NodeJS.ProcessEnv): { crashPoint?: (p: string) => void } {
  const spec = env.FLOE_CRASH_POINT;
  if (!spec) return {};
  const odds = new Map<string, number>();
  for (const part of spec.split(',')) {
    const [name, p] = part.split(':');
    if (name) odds.set(name.trim(), p === undefined ? 1 : Number(p));
  }
  return {
    crashPoint: (point) => {
      const p = odds.get(point);
      if (p !== undefined && Math.random() < p) process.kill(process.pid, 'SIGKILL');
    },
  };
}

/** This process's lease owner name: `<hostname>:<pid>:<random>` (unique even for a reused pid). */
export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/**
 * The lease side of a config with `source.application`: the lease table named after the
 * application (DynamoDB by the SDK's conventions: AWS_REGION or source.region,
 * AWS_ENDPOINT_URL_DYNAMODB, the default credentials), and the table's positions read through
 * `catalog()` (the catalog is opened after the source is built). Take passes every third of the
 * failover time, so that the shards of a killed worker are read again within two failover times.
 */
export function leaseOptionsFor(config: PipelineConfig, log: SourceLogger, env: NodeJS.ProcessEnv, catalog: () => Catalog): KinesisLeaseOptions | undefined {
  const application = config.source.application;
  if (application === undefined) return undefined;
  const settings = config.source.lease ?? { failoverTimeMs: 10_000 };
  const client = dynamoDbClientFromEnv({ ...(config.source.region ? { region: config.source.region } : {}), env });
  const coordinator = new LeaseCoordinator({
    table: new LeaseTable({ client, tableName: application }),
    workerId: env.FLOE_WORKER_ID?.trim() || defaultWorkerId(),
    failoverTimeMs: settings.failoverTimeMs,
    ...(settings.renewIntervalMs !== undefined ? { renewIntervalMs: settings.renewIntervalMs } : {}),
    takeIntervalMs: settings.failoverTimeMs / 3,
    ...(settings.maxLeasesPerWorker !== undefined ? { maxLeasesPerWorker: settings.maxLeasesPerWorker } : {}),
    initialCheckpoint: config.source.initialPosition.type,
    log,
  });
  const id = parseTableIdentifier(config.table.name);
  const stream = config.source.stream;
  return {
    coordinator,
    tablePositions: async () => {
      const c = catalog();
      if (!(await c.tableExists(id))) return new Map();
      return readCheckpoint(snapshotForRef((await Table.load(c, id)).metadata, 'main'), stream);
    },
  };
}

/**
 * Builds the Kafka source a config asks for (`source.type: kafka`). kafkajs is loaded only here,
 * so other commands do not pay for it. After a rebalance the source reads where the table stands
 * now, through `catalog()` (opened after the source is built).
 */
export async function kafkaSourceFor(config: PipelineConfig, log: SourceLogger, env: NodeJS.ProcessEnv, catalog: () => Catalog): Promise<Source> {
  const k = config.source.kafka;
  if (!k) throw new ValidationError('config: source.kafka: missing (source.type is kafka)');
  const { KafkaSource } = await import('../../source/kafka/kafka-source.js');
  const id = parseTableIdentifier(config.table.name);
  const stream = config.source.stream;
  return new KafkaSource({
    brokers: k.brokers,
    ...(k.topics ? { topics: k.topics } : {}),
    ...(k.topicPattern !== undefined ? { topicPattern: new RegExp(k.topicPattern) } : {}),
    group: k.group,
    ...(k.tls ? { tls: k.tls } : {}),
    ...(k.sasl ? { sasl: k.sasl } : {}),
    ...(k.clientId ? { clientId: k.clientId } : {}),
    sessionTimeoutMs: k.sessionTimeoutMs,
    heartbeatIntervalMs: Math.max(100, Math.floor(k.sessionTimeoutMs / 3)),
    metadataMaxAgeMs: k.metadataMaxAgeMs,
    id: stream,
    tablePositions: async () => {
      const c = catalog();
      if (!(await c.tableExists(id))) return new Map();
      return readCheckpoint(snapshotForRef((await Table.load(c, id)).metadata, 'main'), stream);
    },
    log,
    env,
  });
}

/** Builds the Kinesis source a config asks for (with `leases` when `source.application` is set). */
export function kinesisSourceFor(config: PipelineConfig, log: SourceLogger, env: NodeJS.ProcessEnv, leases?: KinesisLeaseOptions): KinesisSource {
  const client = kinesisClientFromEnv({
    ...(config.source.region ? { region: config.source.region } : {}),
    ...(config.source.endpoint ? { endpoint: config.source.endpoint } : {}),
    // floe's shard readers pace and retry themselves: one SDK attempt keeps throttle counts exact.
    maxAttempts: 1,
    env,
  });
  return new KinesisSource({
    client,
    ...(config.source.streamArn ? { streamArn: config.source.streamArn } : { streamName: config.source.stream }),
    discoveryIntervalMs: config.source.discoveryIntervalMs,
    // FLOE_JSON_SCANNER=javascript: GetRecords bodies by the JavaScript parser too.
    nativeParser: jsonScannerFromEnv(env).nativeScanner !== false,
    ...(leases ? { leases } : {}),
    ...(config.source.consumer !== undefined
      ? {
          consumer: {
            name: config.source.consumer,
            client: efoClientFromEnv({
              ...(config.source.region ? { region: config.source.region } : {}),
              ...(config.source.endpoint ? { endpoint: config.source.endpoint } : {}),
              env,
            }),
          },
        }
      : {}),
    log,
  });
}

/**
 * Runs a pipeline until a stop signal, reporting through `reporter`. Shared by `floe run` and the
 * quickstart.
 */
export async function runPipeline(
  config: PipelineConfig,
  io: CommandIO,
  reporter: RunReporter,
  signals: { onStop: (stop: () => void) => () => void },
): Promise<PipelineStats> {
  const auth = restAuthFromEnv(io.env);
  const scanner = jsonScannerFromEnv(io.env); // a bad value fails before any work
  // Before the catalog: no region and no endpoint fails here, before anything is created.
  const log: SourceLogger = (level, message, fields) => reporter.log(level, message, { ...fields });
  let opened: Catalog | undefined;
  const leases = leaseOptionsFor(config, log, io.env, () => {
    if (!opened) throw new ValidationError('run: the catalog is not open yet');
    return opened;
  });
  const source =
    config.source.type === 'kafka'
      ? await kafkaSourceFor(config, log, io.env, () => {
          if (!opened) throw new ValidationError('run: the catalog is not open yet');
          return opened;
        })
      : kinesisSourceFor(config, log, io.env, leases);
  // The health endpoint answers from the start (alive, not ready): a port that cannot be had fails
  // here, before the catalog is opened.
  const metrics = config.metrics ? new RunMetrics({ readyCommitAgeMs: config.metrics.readyCommitAgeMs }) : undefined;
  let server: MetricsServer | undefined;
  if (metrics && config.metrics) {
    server = await startMetricsServer(metrics, config.metrics);
    reporter.log('info', `metrics: listening on ${server.url}`, { url: server.url, paths: ['/metrics', '/healthz', '/readyz'] });
  }
  try {
    const catalog = await openCatalog({ ...config.catalog, ...(auth ? { auth } : {}) });
    opened = catalog;
    try {
      const onEvent = (e: RunEvent): void => {
        metrics?.observe(e);
        reporter.event(e);
      };
      const options = { config, catalog, source, onEvent, ...scanner, ...crashPointFromEnv(io.env) };
      // `tables:` routes the source to several tables (pipeline/routed-pipeline.ts).
      const pipeline = config.routing ? await openRoutedPipeline(options) : await openPipeline(options);
      metrics?.attach(() => pipeline.stats());
      const unsubscribe = signals.onStop(() => {
        metrics?.stopping();
        pipeline.stop();
      });
      const timer = setInterval(() => {
        const stats = pipeline.stats();
        reporter.status(stats);
        metrics?.tick(stats);
      }, 1000);
      try {
        return await pipeline.run();
      } finally {
        clearInterval(timer);
        unsubscribe();
        reporter.finish();
      }
    } finally {
      await catalog.close();
    }
  } catch (e) {
    metrics?.failed(e instanceof Error ? e.message : String(e));
    throw e;
  } finally {
    await server?.close();
  }
}

/**
 * Subscribes to SIGINT/SIGTERM: the first asks for a clean stop (said in the log, through
 * `notify`), the second exits at once.
 */
export function processSignals(notify: (signal: NodeJS.Signals) => void): { onStop: (stop: () => void) => () => void } {
  return {
    onStop(stop) {
      let count = 0;
      const handler = (sig: NodeJS.Signals) => {
        count++;
        if (count === 1) {
          notify(sig);
          stop();
        } else {
          process.exit(130);
        }
      };
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
  };
}

/** Runs `floe run`. */
export async function runCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(RUN_SPEC, argv);
  const logging = logSettings(values, io.env); // a bad level or format fails before any work
  const path = str(values, 'config') ?? positionals[0];
  if (!path) throw new UsageError(`cli: run needs --config <file>\n${RUN_USAGE}`);
  let config: PipelineConfig;
  try {
    config = await loadConfig(path); // everything validated before any work
  } catch (e) {
    // A bad config is bad usage (exit 2), like a bad flag; failures once running exit 1.
    if (e instanceof ValidationError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
  const metricsPort = str(values, 'metrics-port');
  if (metricsPort !== undefined) {
    let port: number;
    try {
      port = parsePort(metricsPort, '--metrics-port');
    } catch (e) {
      throw new UsageError((e as Error).message.replace(/^config: /, 'cli: '), { cause: e });
    }
    config = {
      ...config,
      metrics: config.metrics
        ? { ...config.metrics, port }
        : { port, host: DEFAULT_METRICS_HOST, readyCommitAgeMs: defaultReadyCommitAgeMs(config.commit.intervalMs) },
    };
  }
  const reporter = new RunReporter(io, logging);
  const notify = (signal: NodeJS.Signals) => reporter.log('info', `${signal}: committing and stopping (send again to exit at once)`, { signal });
  await runPipeline(config, io, reporter, processSignals(notify));
  return 0;
}
