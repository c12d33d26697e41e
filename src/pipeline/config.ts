/**
 * The `floe run` configuration: parsed from YAML or JSON and validated completely before any work
 * starts. Every error names the offending key (`commit.interval: ...`); unknown keys are errors
 * too, because a typo silently ignored is a setting silently lost.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '../errors.js';
import type { InitialPosition } from '../source/source.js';
import { LEASE_DEFAULTS, type LeaseSettings } from '../source/kinesis/leases/lease-coordinator.js';
import { checkLeaseTableName } from '../source/kinesis/leases/lease.js';
import { checkConsumerName } from '../source/kinesis/efo-consumer.js';
import { parsePartitionArg } from '../iceberg/notation.js';
import { checkOrphanWindow } from '../table/orphan-window.js';
import { parseMetricsConfig, type MetricsConfig } from './config-metrics.js';
import { DELETE_FILES_DEFAULTS, parseDeleteFilesConfig, type DeleteFilesConfig } from './config-delete-files.js';
import { parseDeployConfig, type DeployConfig } from '../deploy/deploy-config.js';
import { parseTimestampMicros } from '../iceberg/timestamp-text.js';
import { parseKafkaSource, type KafkaSourceConfig } from './config-kafka.js';
import { parseRoutedConfig, type RoutingConfig } from './config-routing.js';
import { parseUpsertConfig, type UpsertConfig } from './config-upsert.js';
import {
  compileTransform,
  DERIVED_VALUES,
  parseColumnType,
  schemaForTransform,
  type ColumnMapping,
  type DerivedValue,
  type TimeFormat,
  type TransformSpec,
  type UnmappedPolicy,
  UNMAPPED_POLICIES,
} from './transform.js';

/** Dead-letter policy for records that cannot become rows. */
export type DeadLetterPolicy = 'dlq' | 'fail' | 'skip';

/** A validated pipeline configuration. */
export interface PipelineConfig {
  source: {
    /** `kafka`: `kafka` holds the Kafka settings; `stream` is then the checkpoint id `kafka`. */
    type: 'kinesis' | 'kafka';
    stream: string;
    streamArn?: string;
    region?: string;
    endpoint?: string;
    initialPosition: InitialPosition;
    discoveryIntervalMs: number;
    /**
     * `source.application`: the name workers sharing the stream through a DynamoDB lease table
     * (named after it) have in common; absent: one process reads every shard, no DynamoDB.
     */
    application?: string;
    /** `source.lease` (only with `application`): lease timing; defaults in `LEASE_DEFAULTS`. */
    lease?: LeaseSettings;
    /** `source.consumer`: read through this enhanced fan-out consumer (SubscribeToShard) instead of GetRecords. */
    consumer?: string;
    /** `source.type: kafka` (`config-kafka.ts`). */
    kafka?: KafkaSourceConfig;
  };
  catalog: { uri?: string; warehouse?: string; name?: string };
  table: {
    name: string;
    create: boolean;
    /**
     * `table.evolve` (default true): on an existing table, columns of the mapping it lacks are
     * added, widenable types widened, `partition_by` and `properties` applied (`table-evolution.ts`);
     * false refuses to start instead, naming the `floe table alter` commands.
     */
    evolve: boolean;
    partitionBy?: string;
    properties: Record<string, string>;
    /** `table.upsert` (`config-upsert.ts`): rows replace the rows of their key; absent: append only. */
    upsert?: UpsertConfig;
  };
  transform: TransformSpec;
  commit: {
    intervalMs: number;
    maxRecords: number;
    maxBytes: number;
    targetFileSizeBytes: number;
    /**
     * How long one commit rides out an unavailable catalog (`commit.retry_budget`, default 2m);
     * absent: the default of `table/commit-policy.ts`.
     */
    retryBudgetMs?: number;
  };
  deadLetter: { policy: DeadLetterPolicy; table: string };
  /**
   * Automatic table maintenance, run beside the pipeline by `openPipeline` (`run/run-pipeline.ts`;
   * `Pipeline` alone does none); absent (a config built by hand) means none.
   */
  maintenance?: MaintenanceConfig;
  /** The `duckdb` section: settings of the writer's and maintenance's DuckDB instances. */
  duckdb?: DuckDBConfig;
  /** The `metrics` section (`config-metrics.ts`): the Prometheus and health endpoint of `floe run`; absent: none. */
  metrics?: MetricsConfig;
  /** The `deploy` section (`deploy/deploy-config.ts`): used by `floe deploy` only; absent: none. */
  deploy?: DeployConfig;
  /**
   * `tables:` (`config-routing.ts`): one source routed to several tables; `table`, `transform` and
   * `deadLetter` above are then the first entry's. Absent: the single table above.
   */
  routing?: RoutingConfig;
}

/**
 * The `duckdb` section. `memory_limit` bounds each of `floe run`'s DuckDB instances (the writer's
 * and maintenance's; DuckDB's own default is 80% of RAM); `temp_directory` is where they spill
 * beyond it (each in a directory of its own, removed at exit).
 */
export interface DuckDBConfig {
  /** Bytes (`memory_limit`, default 256MB, at least 64MB, at most the size bound of every size). */
  memoryLimitBytes: number;
  /** Default: the OS temp directory. */
  tempDirectory?: string;
}

/** Default of `duckdb.memory_limit` (bytes); see {@link DuckDBConfig}. */
export const DEFAULT_DUCKDB_MEMORY_LIMIT = 256 * 1024 * 1024;
/** Least `duckdb.memory_limit`: a compaction's COPY needs about 40MB (16MB fails). */
const DUCKDB_MEMORY_LIMIT_MIN = 64 * 1024 * 1024;

function parseDuckDB(raw: Obj): DuckDBConfig {
  checkKeys(raw, ['memory_limit', 'temp_directory'], 'duckdb');
  const memoryLimitBytes = raw.memory_limit === undefined ? DEFAULT_DUCKDB_MEMORY_LIMIT : parseSize(raw.memory_limit, 'duckdb.memory_limit');
  if (memoryLimitBytes < DUCKDB_MEMORY_LIMIT_MIN) {
    throw new ValidationError(`config: duckdb.memory_limit: must be at least 64MB, got ${JSON.stringify(raw.memory_limit)}`);
  }
  const tempDirectory = optString(raw, 'temp_directory', 'duckdb');
  return { memoryLimitBytes, ...(tempDirectory ? { tempDirectory } : {}) };
}

/** Defaults, documented in the README. */
export const DEFAULTS = {
  commitIntervalMs: 1000,
  maxRecords: 250_000,
  maxBytes: 128 * 1024 * 1024,
  targetFileSizeBytes: 128 * 1024 * 1024,
  discoveryIntervalMs: 10_000,
} as const;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(o: Obj, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new ValidationError(`config: ${where ? where + '.' : ''}${k}: unknown key (allowed: ${allowed.join(', ')})`);
    }
  }
}

function section(root: Obj, key: string, required: boolean): Obj {
  const v = root[key];
  if (v === undefined || v === null) {
    if (required) throw new ValidationError(`config: ${key}: missing section`);
    return {};
  }
  if (!isObj(v)) throw new ValidationError(`config: ${key}: must be a mapping`);
  return v;
}

function optString(o: Obj, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new ValidationError(`config: ${where}.${key}: must be a non-empty string`);
  return v;
}

function reqString(o: Obj, key: string, where: string): string {
  const v = optString(o, key, where);
  if (v === undefined) throw new ValidationError(`config: ${where}.${key}: required`);
  return v;
}

/**
 * The longest interval (anything a timer waits for): 24 days. Node's timers hold at most
 * 2^31-1 ms (about 24.8 days); a longer delay fires after 1 ms, so a loop fed from it would spin.
 */
export const MAX_INTERVAL_MS = 24 * 86_400_000;
/** The longest age (`older_than`, a cutoff, never a timer): 3650 days. */
export const MAX_AGE_MS = 3650 * 86_400_000;
/** The largest file or buffer size (`commit.max_bytes`, `*.target_file_size`): 16 GiB. */
export const MAX_FILE_SIZE_BYTES = 16 * 1024 ** 3;
/** The largest size any size key takes unless it states its own bound: 1 TiB. */
export const MAX_SIZE_BYTES = 1024 ** 4;

/** `86400000` → `1d`, `1500` → `1500ms`: a duration as the config would write it. */
function formatDuration(ms: number): string {
  for (const [unit, n] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= n && ms % n === 0) return `${ms / n}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Parses `500ms`, `1s`, `2.5s`, `5m`, `1h`, `1d`, or a number of milliseconds.
 * @param max the largest value allowed (default {@link MAX_INTERVAL_MS}: the value may feed a timer)
 */
export function parseDuration(v: unknown, where: string, max: number = MAX_INTERVAL_MS): number {
  let ms: number | undefined;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) ms = v;
  else if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(v);
    if (m) {
      const n = Number(m[1]);
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
      ms = Math.round(n * unit);
    }
  }
  if (ms === undefined) throw new ValidationError(`config: ${where}: invalid duration ${JSON.stringify(v)} (e.g. 500ms, 1s, 5m)`);
  if (!(ms <= max)) {
    const why = max === MAX_INTERVAL_MS ? ' (timers wait at most 2^31-1 ms, about 24.8 days)' : '';
    throw new ValidationError(`config: ${where}: must be at most ${formatDuration(max)}${why}, got ${JSON.stringify(v)}`);
  }
  return ms;
}

/**
 * Parses `64MB`, `1GiB`, `512KB`, or a number of bytes.
 * @param max the largest value allowed (default {@link MAX_SIZE_BYTES})
 */
export function parseSize(v: unknown, where: string, max: number = MAX_SIZE_BYTES): number {
  let n: number | undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) n = v;
  else if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$/i.exec(v);
    if (m) {
      const unit = (m[2] ?? 'b').toLowerCase();
      const mult = unit === 'b' ? 1 : unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : 1024 ** 3;
      const r = Math.round(Number(m[1]) * mult);
      if (r > 0) n = r;
    }
  }
  if (n === undefined) throw new ValidationError(`config: ${where}: invalid size ${JSON.stringify(v)} (e.g. 64MB)`);
  if (!(n <= max)) {
    const text = max % 1024 ** 4 === 0 ? `${max / 1024 ** 4}TiB` : max % 1024 ** 3 === 0 ? `${max / 1024 ** 3}GiB` : `${max} bytes`;
    throw new ValidationError(`config: ${where}: must be at most ${text}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function positiveInt(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  throw new ValidationError(`config: ${where}: must be a positive integer, got ${JSON.stringify(v)}`);
}

function parseColumns(raw: unknown): ColumnMapping[] {
  const where = 'transform.columns';
  const entries: [string, unknown][] = Array.isArray(raw)
    ? raw.map((c, i) => {
        if (!isObj(c)) throw new ValidationError(`config: ${where}[${i}]: must be a mapping`);
        const name = c.name;
        if (typeof name !== 'string' || !name) throw new ValidationError(`config: ${where}[${i}].name: required`);
        return [name, c];
      })
    : isObj(raw)
      ? Object.entries(raw)
      : (() => {
          throw new ValidationError(`config: ${where}: must be a list or a mapping of columns`);
        })();
  if (entries.length === 0) throw new ValidationError(`config: ${where}: at least one column is required`);
  const seen = new Set<string>();
  return entries.map(([name, spec], i) => {
    const at = Array.isArray(raw) ? `${where}[${i}]` : `${where}.${name}`;
    if (seen.has(name)) throw new ValidationError(`config: ${at}: duplicate column '${name}'`);
    seen.add(name);
    if (typeof spec === 'string') return { name, type: spec };
    if (!isObj(spec)) throw new ValidationError(`config: ${at}: must be a type string or a mapping`);
    checkKeys(spec, ['name', 'type', 'path', 'value', 'constant', 'required', 'format', 'header'], at);
    const col: ColumnMapping = { name };
    const type = optString(spec, 'type', at);
    if (type) col.type = type;
    const path = optString(spec, 'path', at);
    if (path) col.path = path;
    const value = optString(spec, 'value', at);
    if (value) {
      if (!(DERIVED_VALUES as readonly string[]).includes(value)) {
        throw new ValidationError(`config: ${at}.value: unknown '${value}' (one of ${DERIVED_VALUES.join(', ')})`);
      }
      col.value = value as DerivedValue;
    }
    if ('constant' in spec) col.constant = spec.constant;
    const header = optString(spec, 'header', at);
    if (header) col.header = header;
    if (spec.required !== undefined) {
      if (typeof spec.required !== 'boolean') throw new ValidationError(`config: ${at}.required: must be true or false`);
      col.required = spec.required;
    }
    const format = optString(spec, 'format', at);
    if (format) {
      if (!['iso', 'epoch_s', 'epoch_ms', 'epoch_us'].includes(format)) {
        throw new ValidationError(`config: ${at}.format: must be iso, epoch_s, epoch_ms or epoch_us`);
      }
      col.format = format as TimeFormat;
    }
    return col;
  });
}

/**
 * The `maintenance` section: what `floe run` does to keep its tables healthy, each task on its
 * own interval, in the background (mapped to the scheduler's `MaintenancePolicy` by `run/run-pipeline.ts`).
 */
export interface MaintenanceConfig {
  /**
   * Bin-pack a partition's small files once it has `minFiles` of them; `deleteFiles`
   * (`delete_files`, `config-delete-files.ts`; absent: off) compacts partitions holding delete files.
   */
  compact: { enabled: boolean; intervalMs: number; minFiles: number; targetFileSizeBytes: number; deleteFiles?: DeleteFilesConfig };
  /** Expire snapshots older than `olderThanMs`, keeping at least `retainLast`, and their files. */
  expireSnapshots: { enabled: boolean; intervalMs: number; olderThanMs: number; retainLast: number };
  /** Delete unreferenced files older than `olderThanMs` (at least 24 h unless `allowShortOlderThan`). */
  removeOrphans: { enabled: boolean; intervalMs: number; olderThanMs: number; allowShortOlderThan: boolean };
  /** Merge manifests once the current snapshot has `minManifests` of them. */
  rewriteManifests: { enabled: boolean; intervalMs: number; minManifests: number };
  /**
   * `convert_deletes`: equality deletes become position deletes (one join, no rewrite) once
   * `minFiles` of them are live, checked every `intervalMs` (absent: off).
   */
  convertDeletes?: { enabled: boolean; intervalMs: number; minFiles: number };
}

/**
 * Maintenance defaults, documented in the README. Sized for a commit every second: a compaction
 * a minute keeps about 60 small files per partition at most; snapshots are kept 15 minutes (the
 * time-travel window), because every retained snapshot (about 1 KB) is carried in every metadata
 * file, which each commit reads and writes: 900 snapshots are about 1 MB.
 */
export const MAINTENANCE_DEFAULTS: MaintenanceConfig = {
  compact: { enabled: true, intervalMs: 60_000, minFiles: 20, targetFileSizeBytes: 128 * 1024 * 1024, deleteFiles: DELETE_FILES_DEFAULTS },
  expireSnapshots: { enabled: true, intervalMs: 300_000, olderThanMs: 900_000, retainLast: 100 },
  removeOrphans: { enabled: true, intervalMs: 86_400_000, olderThanMs: 3 * 86_400_000, allowShortOlderThan: false },
  rewriteManifests: { enabled: true, intervalMs: 60_000, minManifests: 100 },
  // Off unless asked for: at 3M rows under upserts it made reads slower, not faster (the
  // position anti-join costs what the key anti-join does, and the conversions take CPU; bench/notes.md).
  // When on, every 5 s: an upsert table's equality deletes (one file a commit) live about that long.
  convertDeletes: { enabled: false, intervalMs: 5_000, minFiles: 1 },
};

/** `maintenance.convert_deletes`'s defaults (the same object as in {@link MAINTENANCE_DEFAULTS}). */
const CONVERT_DELETES_DEFAULTS = MAINTENANCE_DEFAULTS.convertDeletes!;

/** A task's section: omitted or `true` (defaults), `false` (off), or a mapping. */
function task(raw: unknown, key: string, allowed: string[]): Obj | false {
  const where = `maintenance.${key}`;
  if (raw === undefined || raw === null || raw === true) return {};
  if (raw === false) return false;
  if (!isObj(raw)) throw new ValidationError(`config: ${where}: must be a mapping, true or false`);
  checkKeys(raw, ['enabled', ...allowed], where);
  if (raw.enabled !== undefined && typeof raw.enabled !== 'boolean') throw new ValidationError(`config: ${where}.enabled: must be true or false`);
  return raw.enabled === false ? false : raw;
}

function parseMaintenance(raw: unknown): MaintenanceConfig {
  const d = MAINTENANCE_DEFAULTS;
  if (raw === false) {
    return {
      compact: { ...d.compact, enabled: false },
      expireSnapshots: { ...d.expireSnapshots, enabled: false },
      removeOrphans: { ...d.removeOrphans, enabled: false },
      rewriteManifests: { ...d.rewriteManifests, enabled: false },
      convertDeletes: { ...CONVERT_DELETES_DEFAULTS, enabled: false },
    };
  }
  if (raw !== undefined && raw !== null && raw !== true && !isObj(raw)) {
    throw new ValidationError('config: maintenance: must be a mapping, true or false');
  }
  const m: Obj = isObj(raw) ? raw : {};
  checkKeys(m, ['enabled', 'compact', 'expire_snapshots', 'remove_orphans', 'rewrite_manifests', 'convert_deletes'], 'maintenance');
  if (m.enabled !== undefined && typeof m.enabled !== 'boolean') throw new ValidationError('config: maintenance.enabled: must be true or false');
  if (m.enabled === false) return parseMaintenance(false);
  const interval = (o: Obj, where: string, dflt: number): number => {
    if (o.interval === undefined) return dflt;
    const ms = parseDuration(o.interval, `${where}.interval`);
    if (ms < 100) throw new ValidationError(`config: ${where}.interval: must be at least 100ms`);
    return ms;
  };
  const age = (o: Obj, where: string, dflt: number): number =>
    o.older_than === undefined ? dflt : parseDuration(o.older_than, `${where}.older_than`, MAX_AGE_MS);

  const c = task(m.compact, 'compact', ['interval', 'min_files', 'target_file_size', 'delete_files']);
  const e = task(m.expire_snapshots, 'expire_snapshots', ['interval', 'older_than', 'retain_last']);
  const o = task(m.remove_orphans, 'remove_orphans', ['interval', 'older_than', 'allow_short_older_than']);
  const r = task(m.rewrite_manifests, 'rewrite_manifests', ['interval', 'min_manifests']);
  // Off when omitted (unlike the other tasks): `true` or a mapping turns it on.
  const cv = m.convert_deletes === undefined || m.convert_deletes === null ? false : task(m.convert_deletes, 'convert_deletes', ['interval', 'min_files']);
  return {
    convertDeletes: cv
      ? {
          enabled: true,
          intervalMs: interval(cv, 'maintenance.convert_deletes', CONVERT_DELETES_DEFAULTS.intervalMs),
          minFiles: cv.min_files === undefined ? CONVERT_DELETES_DEFAULTS.minFiles : positiveInt(cv.min_files, 'maintenance.convert_deletes.min_files'),
        }
      : { ...CONVERT_DELETES_DEFAULTS, enabled: false },
    compact: c
      ? {
          enabled: true,
          intervalMs: interval(c, 'maintenance.compact', d.compact.intervalMs),
          minFiles: c.min_files === undefined ? d.compact.minFiles : positiveInt(c.min_files, 'maintenance.compact.min_files'),
          targetFileSizeBytes:
            c.target_file_size === undefined
              ? d.compact.targetFileSizeBytes
              : parseSize(c.target_file_size, 'maintenance.compact.target_file_size', MAX_FILE_SIZE_BYTES),
          deleteFiles: parseDeleteFilesConfig(c.delete_files, parseDuration),
        }
      : { ...d.compact, enabled: false },
    expireSnapshots: e
      ? {
          enabled: true,
          intervalMs: interval(e, 'maintenance.expire_snapshots', d.expireSnapshots.intervalMs),
          olderThanMs: age(e, 'maintenance.expire_snapshots', d.expireSnapshots.olderThanMs),
          retainLast: e.retain_last === undefined ? d.expireSnapshots.retainLast : positiveInt(e.retain_last, 'maintenance.expire_snapshots.retain_last'),
        }
      : { ...d.expireSnapshots, enabled: false },
    removeOrphans: o ? parseRemoveOrphans(o, interval(o, 'maintenance.remove_orphans', d.removeOrphans.intervalMs), age(o, 'maintenance.remove_orphans', d.removeOrphans.olderThanMs)) : { ...d.removeOrphans, enabled: false },
    rewriteManifests: r
      ? {
          enabled: true,
          intervalMs: interval(r, 'maintenance.rewrite_manifests', d.rewriteManifests.intervalMs),
          minManifests:
            r.min_manifests === undefined ? d.rewriteManifests.minManifests : positiveInt(r.min_manifests, 'maintenance.rewrite_manifests.min_manifests'),
        }
      : { ...d.rewriteManifests, enabled: false },
  };
}

/** `maintenance.remove_orphans`: the window's 24-hour floor, unless `allow_short_older_than: true`. */
function parseRemoveOrphans(o: Obj, intervalMs: number, olderThanMs: number): MaintenanceConfig['removeOrphans'] {
  const where = 'maintenance.remove_orphans';
  const allow = o.allow_short_older_than;
  if (allow !== undefined && typeof allow !== 'boolean') throw new ValidationError(`config: ${where}.allow_short_older_than: must be true or false`);
  checkOrphanWindow(olderThanMs, allow === true, `config: ${where}.older_than`, `${where}.allow_short_older_than: true`);
  return { enabled: true, intervalMs, olderThanMs, allowShortOlderThan: allow === true };
}

/** `source.lease`: only with `source.application`; renewals at most every half failover time. */
function parseLease(raw: unknown, application: string | undefined): LeaseSettings {
  if (raw === undefined || raw === null) return { ...LEASE_DEFAULTS };
  if (application === undefined) throw new ValidationError('config: source.lease: only used with source.application (the lease table)');
  if (!isObj(raw)) throw new ValidationError('config: source.lease: must be a mapping');
  checkKeys(raw, ['failover_time', 'renew_interval', 'max_leases_per_worker'], 'source.lease');
  const failoverTimeMs = raw.failover_time === undefined ? LEASE_DEFAULTS.failoverTimeMs : parseDuration(raw.failover_time, 'source.lease.failover_time');
  if (failoverTimeMs < 100) throw new ValidationError('config: source.lease.failover_time: must be at least 100ms');
  const out: LeaseSettings = { failoverTimeMs };
  if (raw.renew_interval !== undefined) {
    const ms = parseDuration(raw.renew_interval, 'source.lease.renew_interval');
    if (ms < 10 || ms > failoverTimeMs / 2) {
      throw new ValidationError(`config: source.lease.renew_interval: must be between 10ms and half of failover_time (${failoverTimeMs / 2}ms), got ${JSON.stringify(raw.renew_interval)}`);
    }
    out.renewIntervalMs = ms;
  }
  if (raw.max_leases_per_worker !== undefined) out.maxLeasesPerWorker = positiveInt(raw.max_leases_per_worker, 'source.lease.max_leases_per_worker');
  return out;
}

/** `transform.unmapped` (ignore | add_columns | dead_letter), `transform.max_new_columns` and `transform.max_columns`. */
function parseUnmapped(tr: Obj): Pick<TransformSpec, 'unmapped' | 'maxNewColumns' | 'maxColumns'> {
  const unmapped = optString(tr, 'unmapped', 'transform') ?? 'ignore';
  if (!(UNMAPPED_POLICIES as readonly string[]).includes(unmapped)) {
    throw new ValidationError(`config: transform.unmapped: must be ${UNMAPPED_POLICIES.join(', ')}, got '${unmapped}'`);
  }
  if (tr.max_new_columns !== undefined && unmapped !== 'add_columns') {
    throw new ValidationError(`config: transform.max_new_columns: only used with transform.unmapped: add_columns (unmapped is ${unmapped})`);
  }
  if (tr.max_columns !== undefined && unmapped !== 'add_columns') {
    throw new ValidationError(`config: transform.max_columns: only used with transform.unmapped: add_columns (unmapped is ${unmapped})`);
  }
  const maxNewColumns = tr.max_new_columns === undefined ? undefined : positiveInt(tr.max_new_columns, 'transform.max_new_columns');
  const maxColumns = tr.max_columns === undefined ? undefined : positiveInt(tr.max_columns, 'transform.max_columns');
  return { unmapped: unmapped as UnmappedPolicy, ...(maxNewColumns !== undefined ? { maxNewColumns } : {}), ...(maxColumns !== undefined ? { maxColumns } : {}) };
}

/** Validates a parsed config object. */
export function validateConfig(raw: unknown): PipelineConfig {
  if (!isObj(raw)) throw new ValidationError('config: the document must be a mapping');
  if (raw.tables !== undefined) return parseRoutedConfig(raw, validateConfig);
  checkKeys(raw, ['source', 'catalog', 'table', 'transform', 'commit', 'dead_letter', 'maintenance', 'duckdb', 'metrics', 'deploy', 'tables'], '');

  const rawSource = section(raw, 'source', true);
  // A Kafka source is validated by config-kafka.ts; the keys below then read its shared view.
  const kafka = rawSource.type === 'kafka' ? parseKafkaSource(rawSource, parseDuration) : undefined;
  const src = kafka ? kafka.shared : rawSource;
  checkKeys(src, ['type', 'stream', 'stream_arn', 'region', 'endpoint', 'initial_position', 'initial_timestamp', 'discovery_interval', 'application', 'lease', 'consumer'], 'source');
  const type = optString(src, 'type', 'source') ?? 'kinesis';
  if (type !== 'kinesis') throw new ValidationError(`config: source.type: '${type}' is not supported (kinesis, kafka)`);
  const streamArn = optString(src, 'stream_arn', 'source');
  if (streamArn !== undefined && !/^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/[A-Za-z0-9_.-]+$/.test(streamArn)) {
    throw new ValidationError(`config: source.stream_arn: not a Kinesis stream ARN (arn:aws:kinesis:<region>:<account>:stream/<name>), got '${streamArn}'`);
  }
  const arnStream = streamArn?.split('/').pop();
  const stream = optString(src, 'stream', 'source') ?? arnStream;
  if (!stream) throw new ValidationError('config: source.stream: required (or source.stream_arn)');
  if (arnStream !== undefined && stream !== arnStream) {
    throw new ValidationError(`config: source.stream: '${stream}' differs from the stream of source.stream_arn ('${arnStream}')`);
  }
  const pos = (optString(src, 'initial_position', 'source') ?? 'TRIM_HORIZON').toUpperCase();
  let initialPosition: InitialPosition;
  if (pos === 'TRIM_HORIZON' || pos === 'LATEST') initialPosition = { type: pos };
  else if (pos === 'AT_TIMESTAMP') {
    const ts = optString(src, 'initial_timestamp', 'source');
    const us = ts === undefined ? undefined : parseTimestampMicros(ts);
    if (us === undefined) {
      throw new ValidationError(`config: source.initial_timestamp: required ISO-8601 time for AT_TIMESTAMP${ts === undefined ? '' : `, got '${ts}'`}`);
    }
    initialPosition = { type: 'AT_TIMESTAMP', timestampMs: Number(us / 1000n) };
  } else {
    throw new ValidationError(`config: source.initial_position: must be TRIM_HORIZON, LATEST or AT_TIMESTAMP, got '${pos}'`);
  }
  if (pos !== 'AT_TIMESTAMP' && src.initial_timestamp !== undefined) {
    throw new ValidationError(`config: source.initial_timestamp: only used with initial_position AT_TIMESTAMP (initial_position is ${pos})`);
  }
  const region = optString(src, 'region', 'source');
  const endpoint = optString(src, 'endpoint', 'source');
  if (endpoint && !/^https?:\/\/[^/?#\s]+/.test(endpoint)) throw new ValidationError(`config: source.endpoint: must be an http(s) URL, got '${endpoint}'`);

  const cat = section(raw, 'catalog', false);
  checkKeys(cat, ['uri', 'warehouse', 'name'], 'catalog');

  const tbl = section(raw, 'table', true);
  checkKeys(tbl, ['name', 'create', 'partition_by', 'properties', 'evolve', 'upsert'], 'table');
  if (tbl.evolve !== undefined && typeof tbl.evolve !== 'boolean') throw new ValidationError('config: table.evolve: must be true or false');
  const tableName = reqString(tbl, 'name', 'table');
  if (!/^[^.]+(\.[^.]+)+$/.test(tableName)) throw new ValidationError(`config: table.name: expected namespace.table, got '${tableName}'`);
  if (tbl.create !== undefined && typeof tbl.create !== 'boolean') throw new ValidationError('config: table.create: must be true or false');
  const props = tbl.properties ?? {};
  if (!isObj(props) || Object.values(props).some((v) => typeof v !== 'string')) {
    throw new ValidationError('config: table.properties: must map names to strings');
  }

  const tr = section(raw, 'transform', true);
  checkKeys(tr, ['columns', 'unmapped', 'max_new_columns', 'max_columns', 'operation', 'format'], 'transform');
  const columns = parseColumns(tr.columns);
  const unmapped = parseUnmapped(tr);
  const { upsert, operation, format } = parseUpsertConfig({ upsert: tbl.upsert, operation: tr.operation, format: tr.format }, columns, unmapped.unmapped);

  const com = section(raw, 'commit', false);
  checkKeys(com, ['interval', 'max_records', 'max_bytes', 'target_file_size', 'retry_budget'], 'commit');
  const retryBudgetMs = com.retry_budget === undefined ? undefined : parseDuration(com.retry_budget, 'commit.retry_budget');
  if (retryBudgetMs !== undefined && retryBudgetMs > 86_400_000) throw new ValidationError('config: commit.retry_budget: must be at most 24h');
  const intervalMs = com.interval === undefined ? DEFAULTS.commitIntervalMs : parseDuration(com.interval, 'commit.interval');
  if (intervalMs < 50) throw new ValidationError('config: commit.interval: must be at least 50ms');

  const dl = section(raw, 'dead_letter', false);
  checkKeys(dl, ['policy', 'table'], 'dead_letter');
  const policy = (optString(dl, 'policy', 'dead_letter') ?? 'dlq') as DeadLetterPolicy;
  if (!['dlq', 'fail', 'skip'].includes(policy)) throw new ValidationError(`config: dead_letter.policy: must be dlq, fail or skip, got '${policy}'`);
  const dlqTable = optString(dl, 'table', 'dead_letter') ?? `${tableName}_dead_letters`;
  if (!/^[^.]+(\.[^.]+)+$/.test(dlqTable)) throw new ValidationError(`config: dead_letter.table: expected namespace.table, got '${dlqTable}'`);
  if (dlqTable === tableName) throw new ValidationError('config: dead_letter.table: must differ from table.name');

  // What Pipeline.open would find wrong in the mapping, found now: column types, values for the
  // type, constants, and (for a table created from the mapping) the partition spec.
  columns.forEach((c, i) => {
    if (c.type !== undefined) parseColumnType(c.type, `config: transform.columns[${i}].type (${c.name})`);
  });
  const partitionBy = optString(tbl, 'partition_by', 'table');
  if (columns.every((c) => c.type !== undefined)) {
    const schema = schemaForTransform({ columns }, 'config: transform');
    compileTransform({ columns }, schema, 'config: transform');
    if (partitionBy && tbl.create !== false) parsePartitionArg(partitionBy, schema, 'config: table.partition_by');
  }
  const discoveryIntervalMs =
    src.discovery_interval === undefined ? DEFAULTS.discoveryIntervalMs : parseDuration(src.discovery_interval, 'source.discovery_interval');
  if (discoveryIntervalMs < 100) throw new ValidationError('config: source.discovery_interval: must be at least 100ms');
  const application = optString(src, 'application', 'source');
  if (application !== undefined) checkLeaseTableName(application, 'config: source.application');
  const lease = parseLease(src.lease, application);
  const consumer = optString(src, 'consumer', 'source');
  if (consumer !== undefined) checkConsumerName(consumer, 'config: source.consumer');

  return {
    source: {
      type: kafka ? 'kafka' : 'kinesis',
      stream,
      ...(streamArn ? { streamArn } : {}),
      ...(region ? { region } : {}),
      ...(endpoint ? { endpoint } : {}),
      initialPosition,
      discoveryIntervalMs,
      ...(application ? { application, lease } : {}),
      ...(consumer !== undefined ? { consumer } : {}),
      ...(kafka ? { kafka: kafka.settings } : {}),
    },
    catalog: {
      ...(optString(cat, 'uri', 'catalog') ? { uri: optString(cat, 'uri', 'catalog')! } : {}),
      ...(optString(cat, 'warehouse', 'catalog') ? { warehouse: optString(cat, 'warehouse', 'catalog')! } : {}),
      ...(optString(cat, 'name', 'catalog') ? { name: optString(cat, 'name', 'catalog')! } : {}),
    },
    table: {
      name: tableName,
      create: tbl.create !== false,
      evolve: tbl.evolve !== false,
      ...(partitionBy ? { partitionBy } : {}),
      properties: props as Record<string, string>,
      ...(upsert ? { upsert } : {}),
    },
    transform: { columns, ...unmapped, ...(operation ? { operation } : {}), ...(format ? { format } : {}) },
    commit: {
      intervalMs,
      maxRecords: com.max_records === undefined ? DEFAULTS.maxRecords : positiveInt(com.max_records, 'commit.max_records'),
      maxBytes: com.max_bytes === undefined ? DEFAULTS.maxBytes : parseSize(com.max_bytes, 'commit.max_bytes', MAX_FILE_SIZE_BYTES),
      targetFileSizeBytes:
        com.target_file_size === undefined
          ? DEFAULTS.targetFileSizeBytes
          : parseSize(com.target_file_size, 'commit.target_file_size', MAX_FILE_SIZE_BYTES),
      ...(retryBudgetMs !== undefined ? { retryBudgetMs } : {}),
    },
    deadLetter: { policy, table: dlqTable },
    maintenance: parseMaintenance(raw.maintenance),
    duckdb: parseDuckDB(section(raw, 'duckdb', false)),
    ...withMetrics(parseMetricsConfig(raw.metrics, intervalMs, parseDuration)),
    ...withDeploy(parseDeployConfig(raw.deploy, tableName.split('.').pop() ?? tableName, parseDuration)),
  };
}

function withMetrics(m: MetricsConfig | undefined): { metrics?: MetricsConfig } {
  return m ? { metrics: m } : {};
}

function withDeploy(d: DeployConfig | undefined): { deploy?: DeployConfig } {
  return d ? { deploy: d } : {};
}

/** Parses config text (YAML, which includes JSON). */
export function parseConfig(text: string, what = 'config'): PipelineConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ValidationError(`config: ${what}: not valid YAML/JSON: ${(e as Error).message}`);
  }
  return validateConfig(raw);
}

/** Reads and validates a config file. */
export async function loadConfig(path: string): Promise<PipelineConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ValidationError(`config: cannot read ${path}: ${(e as Error).message}`);
  }
  return parseConfig(text, path);
}
