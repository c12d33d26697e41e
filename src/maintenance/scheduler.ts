/**
 * Runs the maintenance policy of `floe run` in the background: each enabled task on its own
 * interval, one operation at a time, for each of the pipeline's tables. Compaction, manifest
 * merging and expiry commit through the same catalog commit path as the pipeline (conflicts are
 * retried on both sides, checkpoint positions carried forward), so ingestion never waits for
 * maintenance and is never fenced by it.
 *
 * Order when several tasks are due together: compact, rewrite-manifests (drops the manifests a
 * compaction left with only deleted entries), expire-snapshots (deletes the replaced files once
 * their snapshots age out), remove-orphans. The orphan sweep first runs after at most an hour;
 * the other tasks one interval after start. The delete-file trigger (`compact.deleteFiles`) is a
 * second compaction task on its own, shorter interval that rewrites only partitions whose delete
 * files reach its thresholds, so an upsert table's deletes are compacted soon after they appear.
 * Before all of them, on its own interval, `convertDeletes` (off unless configured) turns live
 * equality deletes into position deletes (one join, no rewrite), so equality deletes live only seconds.
 *
 * A failed operation is reported (an event with `error`) and retried at its next interval; it
 * never stops the pipeline. `stop()` cancels between steps and waits for the running operation,
 * which either commits or leaves the table unchanged. The signal reaches the commits too: one
 * waiting for an unavailable catalog (up to the 2-minute outage budget) gives up at once.
 */
import type { Catalog, TableIdentifier } from '../catalog/catalog.js';
import { formatTableIdentifier } from '../catalog/catalog.js';
import { FloeError } from '../errors.js';
import { DuckDB } from '../duckdb/instance.js';
import { Table } from '../table/table.js';
import type { UpsertVectors } from '../table/upsert-vectors.js';
import { compactTable } from './compact.js';
import { convertEqualityDeletes } from './convert-deletes.js';
import { expireSnapshots } from './expire-snapshots.js';
import { DEFAULT_MAINTENANCE_MEMORY_LIMIT, type MaintenanceDuckDBSettings, type MaintenancePolicy } from './policy.js';
import { removeOrphanFiles } from './remove-orphans.js';
import { rewriteManifests } from './rewrite-manifests.js';

/** The maintenance operations. */
export type MaintenanceOperation = 'convert-deletes' | 'compact' | 'rewrite-manifests' | 'expire-snapshots' | 'remove-orphans';

/** A maintenance operation that changed something, or failed. */
export interface MaintenanceEvent {
  type: 'maintenance';
  operation: MaintenanceOperation;
  table: string;
  durationMs: number;
  /** What it did (counts; snapshot ids as strings). */
  details: Record<string, number | string | null>;
  /** Set when it failed; the pipeline keeps running and the task runs again at its next interval. */
  error?: string;
  code?: string;
}

/** Options of {@link MaintenanceScheduler}. */
export interface MaintenanceSchedulerOptions {
  catalog: Catalog;
  tables: TableIdentifier[];
  policy: MaintenancePolicy;
  /** Receives events; must not throw. */
  onEvent: (event: MaintenanceEvent) => void;
  /** Also report operations that found nothing to do. Default false. */
  reportIdle?: boolean;
  /** DuckDB threads for compaction (its own instance, so ingestion's writer keeps its CPU). Default 1. */
  threads?: number;
  /** Memory limit and spill directory of that instance (config `duckdb`); default 256MB. */
  duckdb?: MaintenanceDuckDBSettings;
  /**
   * The key index of an upsert writer of a table in this process (`table/upsert-vectors.ts`), by
   * the table's name: its compactions commit through it (`CompactOptions.upsertVectors`).
   */
  upsertVectors?: ReadonlyMap<string, UpsertVectors>;
}

interface Task {
  operation: MaintenanceOperation;
  intervalMs: number;
  next: number;
  /** The compaction of partitions holding delete files (`compact.deleteFiles`), on its own interval. */
  forDeletes?: boolean;
}

/** The longest delay a Node timer holds: 2^31-1 ms (about 24.8 days). */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** The longest wait before the first orphan sweep. */
const FIRST_SWEEP_MAX_DELAY_MS = 3_600_000;

/** Background maintenance of a set of tables. */
export class MaintenanceScheduler {
  private readonly abort = new AbortController();
  private readonly tasks: Task[];
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private duckdb: DuckDB | undefined;

  constructor(private readonly options: MaintenanceSchedulerOptions) {
    const p = options.policy;
    const now = Date.now();
    const tasks: Task[] = [];
    const add = (operation: MaintenanceOperation, enabled: boolean, intervalMs: number, firstDelay = intervalMs, forDeletes = false) => {
      if (enabled) tasks.push({ operation, intervalMs, next: now + firstDelay, ...(forDeletes ? { forDeletes } : {}) });
    };
    // First when several are due: the delete-file trigger then sees position deletes, and a
    // compaction rewriting the same files finds fewer deletes to apply.
    const conv = p.convertDeletes;
    if (conv) add('convert-deletes', conv.enabled, conv.intervalMs);
    add('compact', p.compact.enabled, p.compact.intervalMs);
    const del = p.compact.deleteFiles;
    // After the regular compaction when both are due (it takes deletes too); a cheap check otherwise.
    if (del) add('compact', p.compact.enabled && del.enabled, del.intervalMs, del.intervalMs, true);
    add('rewrite-manifests', p.rewriteManifests.enabled, p.rewriteManifests.intervalMs);
    add('expire-snapshots', p.expireSnapshots.enabled, p.expireSnapshots.intervalMs);
    add('remove-orphans', p.removeOrphans.enabled, p.removeOrphans.intervalMs, Math.min(p.removeOrphans.intervalMs, FIRST_SWEEP_MAX_DELAY_MS));
    this.tasks = tasks;
  }

  /** True when the policy enables at least one task. */
  get hasWork(): boolean {
    return this.tasks.length > 0 && this.options.tables.length > 0;
  }

  /** Starts the background loop. */
  start(): void {
    if (!this.loop) this.loop = this.run();
  }

  /** Cancels what is running (between steps), waits for it, and releases DuckDB. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
    this.duckdb?.close();
    this.duckdb = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      // Never beyond what a timer holds (2^31-1 ms): a longer wait would fire at once and spin.
      // The loop wakes, finds nothing due and sleeps again.
      const timer = setTimeout(done, Math.min(Math.max(0, ms), MAX_TIMER_DELAY_MS));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const now = Date.now();
      for (const task of this.tasks) {
        if (signal.aborted || task.next > now) continue;
        for (const id of this.options.tables) {
          if (signal.aborted) break;
          await this.runOne(task.operation, id, task.forDeletes === true);
        }
        task.next = Date.now() + task.intervalMs;
      }
      if (signal.aborted) break;
      await this.sleep(Math.min(...this.tasks.map((t) => t.next)) - Date.now());
    }
  }

  /** The scheduler's own DuckDB instance (compaction, conversion), opened at first use. */
  private async db(): Promise<DuckDB> {
    this.duckdb ??= await DuckDB.open({
      threads: this.options.threads ?? 1,
      memoryLimit: this.options.duckdb?.memoryLimitBytes ?? DEFAULT_MAINTENANCE_MEMORY_LIMIT,
      ...(this.options.duckdb?.tempDirectory ? { tempDirectory: this.options.duckdb.tempDirectory } : {}),
    });
    return this.duckdb;
  }

  private emit(e: MaintenanceEvent): void {
    try {
      this.options.onEvent(e);
    } catch {
      // A broken listener must not stop maintenance.
    }
  }

  /**
   * Runs one operation on one table, reporting the outcome. Never throws. `forDeletes`: the
   * compaction of partitions holding delete files only (the policy's `compact.deleteFiles`).
   */
  async runOne(operation: MaintenanceOperation, id: TableIdentifier, forDeletes = false): Promise<void> {
    const started = Date.now();
    const name = formatTableIdentifier(id);
    const signal = this.abort.signal;
    const p = this.options.policy;
    try {
      const table = await Table.load(this.options.catalog, id);
      let changed: boolean;
      let details: MaintenanceEvent['details'];
      switch (operation) {
        case 'convert-deletes': {
          const r = await convertEqualityDeletes(table, { minFiles: p.convertDeletes?.minFiles ?? 1, duckdb: await this.db(), signal });
          changed = r.snapshotId !== undefined;
          details = {
            snapshotId: r.snapshotId?.toString() ?? null,
            removedEqualityDeleteFiles: r.removedEqualityDeleteFiles,
            removedEqualityDeletes: r.removedEqualityDeletes,
            addedPositionDeleteFiles: r.addedPositionDeleteFiles,
            addedDeletionVectors: r.addedDeletionVectors,
            replacedDeletionVectors: r.replacedDeletionVectors,
            positions: r.positions,
            attempts: r.attempts,
          };
          break;
        }
        case 'compact': {
          const duckdb = await this.db();
          const trigger = forDeletes ? p.compact.deleteFiles : undefined;
          const r = await compactTable(table, {
            minInputFiles: p.compact.minFiles,
            targetFileSizeBytes: p.compact.targetFileSizeBytes,
            duckdb,
            signal,
            ...(this.options.upsertVectors?.has(name) ? { upsertVectors: this.options.upsertVectors.get(name)! } : {}),
            ...(trigger ? { deleteTrigger: { minDeleteFiles: trigger.minFiles, minDeleteRatio: trigger.minRatio, minVectorRatio: trigger.minVectorRatio } } : {}),
          });
          changed = r.snapshotId !== undefined;
          details = {
            snapshotId: r.snapshotId?.toString() ?? null,
            trigger: trigger ? 'delete-files' : 'small-files',
            partitions: r.partitions,
            rewrittenFiles: r.rewrittenDataFiles,
            addedFiles: r.addedDataFiles,
            removedDeleteFiles: r.removedDeleteFiles,
            records: r.records,
            rewrittenBytes: r.rewrittenBytes,
            addedBytes: r.addedBytes,
            attempts: r.attempts,
          };
          break;
        }
        case 'rewrite-manifests': {
          const r = await rewriteManifests(table, { minManifests: p.rewriteManifests.minManifests, signal });
          changed = r.snapshotId !== undefined;
          details = { snapshotId: r.snapshotId?.toString() ?? null, manifestsBefore: r.manifestsBefore, manifestsAfter: r.manifestsAfter, attempts: r.attempts };
          break;
        }
        case 'expire-snapshots': {
          const r = await expireSnapshots(table, { olderThanMs: p.expireSnapshots.olderThanMs, retainLast: p.expireSnapshots.retainLast, signal });
          changed = r.expiredSnapshots > 0 || r.removedRefs.length > 0 || r.deletedMetadataFiles > 0;
          details = {
            expiredSnapshots: r.expiredSnapshots,
            retainedSnapshots: r.retainedSnapshots,
            deletedDataFiles: r.deletedDataFiles,
            deletedDeleteFiles: r.deletedDeleteFiles,
            deletedManifests: r.deletedManifests,
            deletedManifestLists: r.deletedManifestLists,
            deletedMetadataFiles: r.deletedMetadataFiles,
            failedDeletes: r.failedDeletes,
          };
          break;
        }
        case 'remove-orphans': {
          const r = await removeOrphanFiles(table, {
            olderThanMs: p.removeOrphans.olderThanMs,
            allowShortOlderThan: p.removeOrphans.allowShortOlderThan,
            signal,
          });
          changed = r.orphans.length > 0;
          details = { listedFiles: r.listedFiles, orphans: r.orphans.length, deleted: r.deleted, failed: r.failed };
          break;
        }
      }
      if (changed || this.options.reportIdle) {
        this.emit({ type: 'maintenance', operation, table: name, durationMs: Date.now() - started, details });
      }
    } catch (e) {
      if (e instanceof FloeError && e.code === 'ABORTED') return;
      this.emit({
        type: 'maintenance',
        operation,
        table: name,
        durationMs: Date.now() - started,
        details: {},
        error: e instanceof Error ? e.message : String(e),
        code: e instanceof FloeError ? e.code : 'UNEXPECTED',
      });
    }
  }
}
