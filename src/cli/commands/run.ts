/**
 * `floe run --config <file>`: the long-running job. The config is validated before any work.
 * SIGINT/SIGTERM make a final commit and exit 0 (a second signal exits at once; the table stays
 * consistent either way). On a TTY a live status line; otherwise one JSON object per event.
 */
import { openCatalog } from '../../catalog/open.js';
import { ValidationError } from '../../errors.js';
import { loadConfig, type PipelineConfig } from '../../pipeline/config.js';
import type { PipelineStats } from '../../pipeline/pipeline.js';
import { openPipeline, type RunEvent } from '../../run/run-pipeline.js';
import { kinesisClientFromEnv } from '../../source/kinesis/client.js';
import { KinesisSource } from '../../source/kinesis/kinesis-source.js';
import type { SourceLogger } from '../../source/source.js';
import { parse, str, UsageError } from '../args.js';
import { renderUsage, type CommandSpec } from '../help.js';
import type { CommandIO } from '../io.js';
import { restAuthFromEnv } from '../context.js';

/** Where the config file's keys are documented (the README section). */
export const CONFIG_REFERENCE = 'README.md#configuration-of-floe-run';

/** `floe run`: what it parses and what its help says. */
export const RUN_SPEC: CommandSpec = {
  name: 'run',
  args: '--config FILE',
  summary:
    'Streams the configured Kinesis stream into the configured Iceberg table until SIGINT/SIGTERM (a final commit, ' +
    'then exit 0; a second signal exits at once). On a terminal a live status line, otherwise one JSON object per event.',
  flags: {
    config: {
      type: 'string',
      short: 'c',
      value: 'FILE',
      help: 'the pipeline config, YAML or JSON (required; may also be given as the only argument), validated before any work',
    },
  },
  notes: `Every key of the config (source, catalog, table, transform, commit, dead_letter, maintenance,
duckdb) is described in the configuration reference, the README's "Configuration of floe run":
  ${CONFIG_REFERENCE}
A complete example: examples/reference.yaml.`,
};

/** The usage text of `floe run`. */
export const RUN_USAGE = renderUsage(RUN_SPEC);

/** A logger writing JSON lines (non-TTY) or human lines above the status line (TTY). */
export class RunReporter {
  private statusShown = false;
  private lastRecords = 0;
  private lastTick = Date.now();
  private rate = 0;
  private lastCommitLine = 'no commit yet';
  private lastMaintenanceLine: string | undefined;

  constructor(private readonly io: CommandIO) {}

  private clearStatus(): void {
    if (this.statusShown) {
      this.io.stdout('\r\x1b[2K');
      this.statusShown = false;
    }
  }

  /** One structured log line (JSON) or a human line. */
  log(level: string, message: string, fields: Record<string, unknown> = {}): void {
    if (this.io.isTTY) {
      if (level === 'debug') return;
      this.clearStatus();
      const extra = Object.keys(fields).length ? ' ' + JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) : '';
      this.io.stdout(`${new Date().toISOString().slice(11, 19)} ${level.padEnd(5)} ${message}${extra}\n`);
    } else {
      this.io.stdout(
        JSON.stringify({ ts: new Date().toISOString(), level, msg: message, ...fields }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n',
      );
    }
  }

  /** Handles an event of the pipeline or its maintenance. */
  event(e: RunEvent): void {
    switch (e.type) {
      case 'commit':
        this.lastCommitLine = `${new Date().toISOString().slice(11, 19)} (${e.records} rows, ${e.durationMs} ms)`;
        if (!this.io.isTTY) this.log('info', 'commit', { ...e });
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
      case 'started':
        this.log('info', `started: writing ${e.table}`, {
          positions: e.positions,
          ...(e.deadLetterTable ? { deadLetterTable: e.deadLetterTable } : {}),
          jsonFastPath: e.jsonFastPath,
        });
        break;
      case 'stopped':
        this.log('info', 'stopped', { records: e.records, deadLetters: e.deadLetters, commits: e.commits });
        break;
      case 'error':
        this.log('error', e.error, { code: e.code });
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
    if (!this.io.isTTY) return;
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
    this.io.stdout(`\r\x1b[2K${line}`);
    this.statusShown = true;
  }

  /** Ends the status line. */
  finish(): void {
    if (this.statusShown) this.io.stdout('\n');
    this.statusShown = false;
  }
}

/**
 * `FLOE_JSON_SCANNER`: how usual JSON records are read. `native` (default: the C scanner when it
 * was built, else the JavaScript one), `javascript` (the JavaScript scanner, e.g. to rule the
 * native one out), `off` (every record through JSON.parse and the transform). The same rows
 * every way; only the speed differs.
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

/** Builds the Kinesis source a config asks for. */
export function kinesisSourceFor(config: PipelineConfig, log: SourceLogger, env: NodeJS.ProcessEnv): KinesisSource {
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
  const source = kinesisSourceFor(config, (level, message, fields) => reporter.log(level, message, { ...fields }), io.env);
  const catalog = await openCatalog({ ...config.catalog, ...(auth ? { auth } : {}) });
  try {
    const pipeline = await openPipeline({ config, catalog, source, onEvent: (e) => reporter.event(e), ...scanner, ...crashPointFromEnv(io.env) });
    const unsubscribe = signals.onStop(() => pipeline.stop());
    const timer = setInterval(() => reporter.status(pipeline.stats()), 1000);
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
}

/** Subscribes to SIGINT/SIGTERM: the first asks for a clean stop, the second exits at once. */
export function processSignals(io: CommandIO): { onStop: (stop: () => void) => () => void } {
  return {
    onStop(stop) {
      let count = 0;
      const handler = (sig: NodeJS.Signals) => {
        count++;
        if (count === 1) {
          io.stderr(`floe: ${sig}: committing and stopping (send again to exit at once)\n`);
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
  if (config.source.application !== undefined) {
    // The lease layer exists (src/source/kinesis/leases/) but floe run does not use it yet: refuse
    // rather than run one process that silently ignores the key (nothing in a config is ignored).
    throw new UsageError(
      'config: source.application: several workers sharing a stream through a lease table are not wired into floe run yet (issue #14); remove source.application and source.lease to run one process',
    );
  }
  const reporter = new RunReporter(io);
  await runPipeline(config, io, reporter, processSignals(io));
  return 0;
}
