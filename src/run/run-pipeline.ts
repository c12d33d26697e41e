/**
 * A pipeline with the maintenance of its config: what `floe run` runs, and what the library gives
 * for a `floe run` config (`openPipeline`). `pipeline/` and `maintenance/` know nothing of each
 * other; this module composes them: the config's `maintenance` and `duckdb` sections become the
 * scheduler's own policy and settings, and the scheduler runs beside ingestion through the
 * pipeline's `alongside` hook (started after the `started` event, stopped after the last commit,
 * before the source closes), its events going to the same listener as the pipeline's.
 */
import { formatTableIdentifier, type TableIdentifier } from '../catalog/catalog.js';
import type { MaintenanceDuckDBSettings, MaintenancePolicy } from '../maintenance/policy.js';
import { MaintenanceScheduler, type MaintenanceEvent } from '../maintenance/scheduler.js';
import { DEFAULT_DUCKDB_MEMORY_LIMIT, type DuckDBConfig, type MaintenanceConfig } from '../pipeline/config.js';
import { Pipeline, type AlongsideContext, type PipelineEvent, type PipelineOptions } from '../pipeline/pipeline.js';
import { RoutedPipeline } from '../pipeline/routed-pipeline.js';

/** What a run reports: the pipeline's events and its maintenance's. */
export type RunEvent = PipelineEvent | MaintenanceEvent;

/** Options of {@link openPipeline}: those of `Pipeline.open`, with a listener for both kinds of event. */
export interface RunPipelineOptions extends Omit<PipelineOptions, 'onEvent' | 'alongside'> {
  /** Receives the pipeline's and maintenance's events; must not throw. */
  onEvent?: (event: RunEvent) => void;
}

/** The config's `maintenance` section as the scheduler's policy (the same settings, maintenance's type). */
export function maintenancePolicy(config: MaintenanceConfig): MaintenancePolicy {
  const { compact: c, expireSnapshots: e, removeOrphans: o, rewriteManifests: r } = config;
  return {
    compact: {
      enabled: c.enabled,
      intervalMs: c.intervalMs,
      minFiles: c.minFiles,
      targetFileSizeBytes: c.targetFileSizeBytes,
      ...(c.deleteFiles ? { deleteFiles: { ...c.deleteFiles } } : {}),
    },
    expireSnapshots: { enabled: e.enabled, intervalMs: e.intervalMs, olderThanMs: e.olderThanMs, retainLast: e.retainLast },
    removeOrphans: { enabled: o.enabled, intervalMs: o.intervalMs, olderThanMs: o.olderThanMs, allowShortOlderThan: o.allowShortOlderThan },
    rewriteManifests: { enabled: r.enabled, intervalMs: r.intervalMs, minManifests: r.minManifests },
    ...(config.convertDeletes ? { convertDeletes: { ...config.convertDeletes } } : {}),
  };
}

/** The config's `duckdb` section as the settings of maintenance's DuckDB instance (the writer's defaults). */
export function maintenanceDuckDB(config: DuckDBConfig | undefined): MaintenanceDuckDBSettings {
  return {
    memoryLimitBytes: config?.memoryLimitBytes ?? DEFAULT_DUCKDB_MEMORY_LIMIT,
    ...(config?.tempDirectory ? { tempDirectory: config.tempDirectory } : {}),
  };
}

/**
 * Opens a pipeline (as `Pipeline.open`) that also runs `config.maintenance` on its table and
 * dead-letter table while it runs: each enabled task on its interval, in the background, with its
 * own DuckDB instance (`config.duckdb`'s limits). `run()` and `stop()` as the pipeline's: a stop
 * makes the final commit, then stops maintenance (waiting for its running operation), then closes
 * the source. No `maintenance` section (a config built by hand), or nothing enabled: no scheduler.
 */
export function openPipeline(options: RunPipelineOptions): Promise<Pipeline> {
  const alongside = maintenanceAlongside(options);
  return Pipeline.open({ ...options, ...(alongside ? { alongside } : {}) });
}

/**
 * {@link openPipeline} for a config with `tables:` (`pipeline/routed-pipeline.ts`): every table's
 * pipeline runs the config's maintenance on its table and dead-letter table.
 */
export function openRoutedPipeline(options: RunPipelineOptions): Promise<RoutedPipeline> {
  const alongside = maintenanceAlongside(options);
  return RoutedPipeline.open({ ...options, ...(alongside ? { alongside } : {}) });
}

/** The `alongside` hook that runs `config.maintenance` on a pipeline's tables (undefined: none). */
function maintenanceAlongside(options: RunPipelineOptions): PipelineOptions['alongside'] {
  const { config, catalog, onEvent } = options;
  const policy = config.maintenance;
  return policy
    ? (tables: TableIdentifier[], context: AlongsideContext): MaintenanceScheduler | undefined => {
        const scheduler = new MaintenanceScheduler({
          ...(context.upsertVectors && tables[0] ? { upsertVectors: new Map([[formatTableIdentifier(tables[0]), context.upsertVectors]]) } : {}),
          catalog,
          tables,
          policy: maintenancePolicy(policy),
          onEvent: (e) => onEvent?.(e),
          duckdb: maintenanceDuckDB(config.duckdb),
        });
        return scheduler.hasWork ? scheduler : undefined;
      }
    : undefined;
}
